//! SSO1: OpenID Connect sign-in as a relying party, with the
//! `openidconnect` crate doing the protocol (discovery, authorization code
//! with PKCE, ID-token signature and claim checks against the provider's
//! JWKS). What is Tracker's own: the `state` is a one-time row bound to a
//! short-lived cookie, the provider's metadata and keys are cached and
//! fetched again once when a token names a key we do not have (rotation),
//! the token's times are judged by our clock with a small skew, and the
//! signed-in user is found and admitted by `domain::sso`'s rules in one
//! write transaction that also opens the session and writes the audit entry.
//!
//! Every refusal writes `user.sign_in_failed` with `method: oidc` and the
//! reason; none opens a session. The client secret lives in the settings
//! row and in the crate's `ClientSecret`, whose `Debug` hides it; it is
//! never a tracing field, an audit value or part of an answer.
//!
//! `provider`: the provider's metadata, keys and token checks.

mod provider;

use crate::audit::record;
use crate::auth::NewSession;
use crate::{App, AppError, AppResult, Ctx};
use domain::audit::AuditAction;
use domain::lockout::Decision;
use domain::secret::{hash_token, new_token};
use domain::sso::{SsoSettings, ATTEMPT_TTL_MS};
use domain::UserId;
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, CsrfToken, Nonce, PkceCodeChallenge, PkceCodeVerifier, RequestTokenError, Scope,
    SignatureVerificationError, TokenResponse,
};
use provider::{client, failure_of, verify, IdClaims};
pub use provider::{DiscoveryProblem, ExtraClaims, Rp};
use serde_json::json;
use store::{SsoAttempt, SsoClaim};

/// What the callback receives from the browser: the query the provider
/// redirected with, and the state our cookie held.
#[derive(Debug, Clone, Default)]
pub struct Callback {
    pub cookie_state: Option<String>,
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
}

/// A started sign-in: where to send the browser, and the state to put in
/// the short-lived cookie.
pub struct Started {
    pub authorize_url: String,
    pub state: String,
}

/// Why an OpenID Connect sign-in failed: the audit log's `reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    IdpUnreachable,
    IdpError(String),
    MissingState,
    StateMismatch,
    ReplayedState,
    ExpiredState,
    UnknownState,
    TokenRequestFailed,
    NoIdToken,
    BadSignature,
    WrongAudience,
    WrongIssuer,
    Expired,
    WrongNonce,
    InvalidToken,
}

impl Failure {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::IdpUnreachable => "idp_unreachable",
            Self::IdpError(_) => "idp_error",
            Self::MissingState => "missing_state",
            Self::StateMismatch => "state_mismatch",
            Self::ReplayedState => "replayed_state",
            Self::ExpiredState => "expired_state",
            Self::UnknownState => "unknown_state",
            Self::TokenRequestFailed => "token_request_failed",
            Self::NoIdToken => "no_id_token",
            Self::BadSignature => "bad_signature",
            Self::WrongAudience => "wrong_audience",
            Self::WrongIssuer => "wrong_issuer",
            Self::Expired => "token_expired",
            Self::WrongNonce => "wrong_nonce",
            Self::InvalidToken => "invalid_token",
        }
    }

    /// The answer a person sees: what happened and what to do, never a
    /// token or a secret.
    fn error(&self) -> AppError {
        match self {
            Self::IdpUnreachable => AppError::Unavailable {
                code: "sso_unavailable",
                message: "the identity provider could not be reached; try again later, or ask your Tracker administrator".into(),
                retry_after_seconds: 30,
            },
            Self::IdpError(code) => AppError::unauthorized(
                "sso_refused",
                format!("the identity provider did not sign you in ({code}); sign in again"),
            ),
            Self::MissingState | Self::StateMismatch | Self::ReplayedState | Self::ExpiredState | Self::UnknownState => {
                AppError::bad_request(
                    "sso_state_invalid",
                    "this sign-in was already completed, has expired or was started in another browser; sign in again",
                )
            }
            Self::TokenRequestFailed | Self::NoIdToken => {
                AppError::unauthorized("sso_refused", "the identity provider did not complete the sign-in; sign in again")
            }
            Self::BadSignature | Self::WrongAudience | Self::WrongIssuer | Self::Expired | Self::WrongNonce | Self::InvalidToken => {
                AppError::unauthorized(
                    "sso_token_invalid",
                    "the identity provider's answer could not be verified, so you are not signed in; sign in again",
                )
            }
        }
    }
}

impl App {
    /// Where the provider sends the browser back (register it there).
    pub fn sso_redirect_uri(&self) -> String {
        format!("{}/sso/callback", self.config.public_url)
    }

    /// The configured identity provider, if any (the sign-in page's button).
    pub async fn sso_configured(&self) -> AppResult<Option<SsoSettings>> {
        Ok(self.current_settings().await?.sso)
    }

    /// What the sign-in page offers: the company's name for the *Sign in
    /// with* button, and whether company users must use it.
    pub async fn sso_offer(&self) -> AppResult<Option<(String, bool)>> {
        let s = self.current_settings().await?;
        Ok(s.sso.map(|sso| (s.company_name.into_string(), sso.only_sso_for_company_users)))
    }

    /// Starts a sign-in: PKCE, `state` and `nonce` made fresh; the state is
    /// kept hashed with the nonce and verifier and returned for the cookie.
    #[tracing::instrument(name = "sso_start", skip_all)]
    pub async fn sso_start(&self, next: &str, source_ip: Option<String>) -> AppResult<Started> {
        let sso = self.sso_configured().await?.ok_or_else(|| AppError::not_found("single sign-on"))?;
        let m = match self.sso.metadata(&sso.issuer).await {
            Ok(m) => m,
            Err(f) => return Err(self.sso_refused(f, None, source_ip).await),
        };
        let client = client(m, &sso, &self.sso_redirect_uri()).map_err(|f| f.error())?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        let now = self.now();
        let attempt = SsoAttempt {
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            next_path: next.to_owned(),
        };
        let mut tx = self.db.write().await?;
        tx.insert_sso_attempt(&hash_token(state.secret()), &attempt, now, now - 6 * ATTEMPT_TTL_MS)
            .await?;
        tx.commit().await?;
        Ok(Started {
            authorize_url: url.to_string(),
            state: state.secret().clone(),
        })
    }

    /// The callback: the state is used once, the code redeemed with the
    /// PKCE verifier, the ID token checked, and the user found and admitted
    /// (SSO1, S2, S4, S9). Returns the session and the path to go to.
    #[tracing::instrument(name = "sso_callback", skip_all)]
    pub async fn sso_callback(&self, cb: Callback, source_ip: Option<String>) -> AppResult<(NewSession, String)> {
        let sso = self.sso_configured().await?.ok_or_else(|| AppError::not_found("single sign-on"))?;
        let attempt = match self.claim_state(&cb).await? {
            Ok(a) => a,
            Err(f) => return Err(self.sso_refused(f, None, source_ip).await),
        };
        let claims = match self.redeem(&sso, &cb, &attempt).await {
            Ok(c) => c,
            Err(f) => return Err(self.sso_refused(f, None, source_ip).await),
        };
        let session = self.admit(&sso, &claims, source_ip).await?;
        Ok((session, attempt.next_path))
    }

    async fn claim_state(&self, cb: &Callback) -> AppResult<Result<SsoAttempt, Failure>> {
        let Some(state) = cb.state.as_deref().filter(|s| !s.is_empty()) else {
            return Ok(Err(Failure::MissingState));
        };
        let bound = cb
            .cookie_state
            .as_deref()
            .is_some_and(|c| subtle::ConstantTimeEq::ct_eq(c.as_bytes(), state.as_bytes()).into());
        if !bound {
            return Ok(Err(Failure::StateMismatch));
        }
        let now = self.now();
        let mut tx = self.db.write().await?;
        let claim = tx.claim_sso_attempt(&hash_token(state), now, ATTEMPT_TTL_MS).await?;
        tx.commit().await?;
        Ok(match claim {
            SsoClaim::Claimed(a) => Ok(a),
            SsoClaim::Replayed => Err(Failure::ReplayedState),
            SsoClaim::Expired => Err(Failure::ExpiredState),
            SsoClaim::Unknown => Err(Failure::UnknownState),
        })
    }

    async fn redeem(&self, sso: &SsoSettings, cb: &Callback, attempt: &SsoAttempt) -> Result<IdClaims, Failure> {
        if let Some(error) = &cb.error {
            let code: String = error.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect();
            return Err(Failure::IdpError(code));
        }
        let code = cb.code.clone().filter(|c| !c.is_empty()).ok_or(Failure::TokenRequestFailed)?;
        let m = self.sso.metadata(&sso.issuer).await?;
        let redirect = self.sso_redirect_uri();
        let rp = client(m, sso, &redirect)?;
        let response = rp
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|_| Failure::TokenRequestFailed)?
            .set_pkce_verifier(PkceCodeVerifier::new(attempt.pkce_verifier.clone()))
            .request_async(&self.sso.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::Request(_) => Failure::IdpUnreachable,
                RequestTokenError::ServerResponse(r) => Failure::IdpError(r.error().as_ref().to_owned()),
                _ => Failure::TokenRequestFailed,
            })?;
        let token = response.id_token().ok_or(Failure::NoIdToken)?;
        let now = self.now();
        match verify(&rp, token, &attempt.nonce, now) {
            Ok(c) => Ok(c),
            // Key rotation: a key we have not seen yet. Fetch the keys once
            // more and check again; a token still unmatched is refused.
            Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)) => {
                let fresh = self.sso.discover(&sso.issuer).await.map_err(|p| match p {
                    DiscoveryProblem::Unreachable => Failure::IdpUnreachable,
                    _ => Failure::BadSignature,
                })?;
                let rp = client(fresh, sso, &redirect)?;
                verify(&rp, token, &attempt.nonce, now).map_err(|e| failure_of(&e))
            }
            Err(e) => Err(failure_of(&e)),
        }
    }

    /// Finds and admits the token's user in one write transaction.
    async fn admit(&self, sso: &SsoSettings, claims: &IdClaims, source_ip: Option<String>) -> AppResult<NewSession> {
        let subject = claims.subject().as_str().to_owned();
        let email = claims.email().map(|e| e.as_str().to_owned());
        let email_verified = claims.email_verified().unwrap_or(false) || claims.additional_claims().email_domain_verified();
        let now = self.now();
        let mut tx = self.db.write().await?;
        let by_subject = tx.sso_subject_user(&sso.issuer, &subject).await?;
        let by_email = match (&by_subject, &email) {
            (None, Some(e)) => match tx.user_by_email(e).await? {
                Some(u) => {
                    let bound = tx.sso_user_bound(&u.id, &sso.issuer).await?;
                    Some((u.id, bound))
                }
                None => None,
            },
            _ => None,
        };
        let found = domain::sso::Found {
            by_subject,
            by_email,
            email_verified,
        };
        let ctx = Ctx {
            label: email.clone().unwrap_or_else(|| format!("oidc:{subject}")),
            ..Ctx::anonymous(source_ip.clone())
        };
        let detail = |reason: &str| json!({"method": "oidc", "reason": reason, "email": email, "subject": subject});
        let (id, bind) = match domain::sso::match_user(&found) {
            domain::sso::Match::Bound(id) => (id, false),
            domain::sso::Match::ByEmail(id) => (id, true),
            domain::sso::Match::Nobody(reason) => {
                record(&mut tx, &ctx, now, AuditAction::UserSignInFailed, None, None, Some(detail(reason))).await?;
                tx.commit().await?;
                return Err(crate::auth::invalid_credentials());
            }
        };
        let Some(c) = tx.credentials_for_update(&id).await? else {
            return Err(crate::auth::invalid_credentials());
        };
        let lockout = tx.settings().await?.lockout;
        let account = crate::auth::account(&c);
        match domain::sso::decide(&account, now, &lockout) {
            Decision::Refused { reason, after } => {
                let uid = id.to_string();
                record(
                    &mut tx,
                    &ctx,
                    now,
                    AuditAction::UserSignInFailed,
                    Some(&uid),
                    None,
                    Some(detail(reason)),
                )
                .await?;
                if let Some((until, why)) = after.new_lock {
                    tx.lock_user(&id, until, why).await?;
                    record(
                        &mut tx,
                        &ctx,
                        now,
                        AuditAction::UserLocked,
                        Some(&uid),
                        None,
                        Some(json!({"reason": why, "locked_until": until})),
                    )
                    .await?;
                }
                tx.commit().await?;
                Err(crate::auth::invalid_credentials())
            }
            Decision::SignedIn => {
                if bind {
                    tx.bind_sso_subject(&sso.issuer, &subject, &id, now).await?;
                }
                let limits = tx.settings().await?.sessions;
                let (token, token_hash) = new_token();
                let expires_at = now + limits.lifetime_ms();
                tx.insert_session(&token_hash, &id, now, expires_at, source_ip.as_deref()).await?;
                tx.set_session_method(&token_hash, "oidc").await?;
                tx.record_sign_in(&id, now).await?;
                let user = tx.user(&id).await?.ok_or_else(|| AppError::not_found("user"))?;
                let ctx = Ctx::user(&user, source_ip);
                record(
                    &mut tx,
                    &ctx,
                    now,
                    AuditAction::UserSignedIn,
                    Some(user.id.as_str()),
                    None,
                    Some(json!({"method": "oidc", "subject_bound": bind})),
                )
                .await?;
                tx.commit().await?;
                metrics::counter!("tracker_sign_ins_total", "outcome" => "succeeded").increment(1);
                Ok(NewSession { token, user, expires_at })
            }
        }
    }

    /// Records a failed sign-in through the provider and gives its answer.
    async fn sso_refused(&self, f: Failure, user: Option<&UserId>, source_ip: Option<String>) -> AppError {
        tracing::info!(reason = f.reason(), "OpenID Connect sign-in refused");
        let ctx = Ctx {
            label: "oidc".into(),
            ..Ctx::anonymous(source_ip)
        };
        let mut detail = json!({"method": "oidc", "reason": f.reason()});
        if let Failure::IdpError(code) = &f {
            detail["idp_error"] = json!(code);
        }
        let written = async {
            let mut tx = self.db.write().await?;
            let target = user.map(|u| u.to_string());
            record(
                &mut tx,
                &ctx,
                self.now(),
                AuditAction::UserSignInFailed,
                target.as_deref(),
                None,
                Some(detail),
            )
            .await?;
            tx.commit().await?;
            AppResult::Ok(())
        }
        .await;
        match written {
            Ok(()) => f.error(),
            Err(e) => e,
        }
    }

    /// Where sign-out sends the browser after ending a session made through
    /// the provider: its `end_session_endpoint`, when it offers one.
    pub async fn sso_end_session_url(&self, method: Option<&str>) -> Option<String> {
        if method != Some("oidc") {
            return None;
        }
        let sso = self.sso_configured().await.ok().flatten()?;
        let m = self.sso.metadata(&sso.issuer).await.ok()?;
        let end = m.additional_metadata().end_session_endpoint.clone()?;
        let mut url = end.url().clone();
        url.query_pairs_mut()
            .append_pair("client_id", &sso.client_id)
            .append_pair("post_logout_redirect_uri", &format!("{}/sign-in", self.config.public_url));
        Some(url.to_string())
    }

    /// How the session behind `token_hash` was made (`password`, `oidc`).
    pub async fn session_method(&self, token_hash: &str) -> AppResult<Option<String>> {
        let mut tx = self.db.read().await?;
        Ok(tx.session_method(token_hash).await?)
    }
}
