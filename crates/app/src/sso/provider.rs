//! SSO1: the provider as the relying party sees it — discovery, cached
//! metadata and keys (fetched again once for an unknown key), the client,
//! and the ID token's checks against our clock.

use super::Failure;
use domain::sso::{SsoSettings, CLOCK_SKEW_MS};
use domain::Millis;
use openidconnect::core::{CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm};
use openidconnect::{
    ClaimsVerificationError, ClientId, ClientSecret, DiscoveryError, IssuerUrl, Nonce, ProviderMetadataWithLogout, RedirectUrl,
};
use std::time::Duration;

pub(super) type Metadata = ProviderMetadataWithLogout;

/// The relying party's cache of the provider's metadata and keys, and its
/// HTTP client (no redirects followed, bounded time).
pub struct Rp {
    pub(super) http: openidconnect::reqwest::Client,
    cached: tokio::sync::Mutex<Option<(String, Metadata)>>,
}

impl Default for Rp {
    fn default() -> Self {
        let http = openidconnect::reqwest::Client::builder()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            http,
            cached: tokio::sync::Mutex::new(None),
        }
    }
}

/// Why discovery of an issuer failed, for the settings' 422.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscoveryProblem {
    Unreachable,
    Mismatch,
    Invalid,
}

impl Rp {
    /// Fetches the issuer's discovery document and keys. The crate checks
    /// that the document names the very issuer asked for.
    pub async fn discover(&self, issuer: &str) -> Result<Metadata, DiscoveryProblem> {
        let url = IssuerUrl::new(issuer.to_owned()).map_err(|_| DiscoveryProblem::Invalid)?;
        match Metadata::discover_async(url, &self.http).await {
            Ok(m) => {
                *self.cached.lock().await = Some((issuer.to_owned(), m.clone()));
                Ok(m)
            }
            Err(DiscoveryError::Validation(_)) => Err(DiscoveryProblem::Mismatch),
            Err(DiscoveryError::Request(_)) => Err(DiscoveryProblem::Unreachable),
            Err(DiscoveryError::Response(status, _, _)) if status.is_server_error() => Err(DiscoveryProblem::Unreachable),
            Err(e) => {
                tracing::info!(error = %e, "OpenID Connect discovery failed");
                Err(DiscoveryProblem::Invalid)
            }
        }
    }

    /// The cached metadata of `issuer`, discovered when not cached yet.
    pub(super) async fn metadata(&self, issuer: &str) -> Result<Metadata, Failure> {
        if let Some((cached_for, m)) = self.cached.lock().await.as_ref() {
            if cached_for == issuer {
                return Ok(m.clone());
            }
        }
        self.discover(issuer).await.map_err(|p| match p {
            DiscoveryProblem::Unreachable => Failure::IdpUnreachable,
            _ => Failure::InvalidToken,
        })
    }
}

/// Claims beyond the standard ones that Tracker reads: Microsoft Entra
/// ID's `xms_edov` ("email domain owner verified"), its word for a
/// verified email, since it sends no `email_verified`.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ExtraClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    xms_edov: Option<serde_json::Value>,
}

impl openidconnect::AdditionalClaims for ExtraClaims {}

impl ExtraClaims {
    pub(super) fn email_domain_verified(&self) -> bool {
        match &self.xms_edov {
            Some(serde_json::Value::Bool(b)) => *b,
            Some(serde_json::Value::String(s)) => s == "1" || s.eq_ignore_ascii_case("true"),
            Some(serde_json::Value::Number(n)) => n.as_i64() == Some(1),
            _ => false,
        }
    }
}

pub(super) type IdClaims = openidconnect::IdTokenClaims<ExtraClaims, CoreGenderClaim>;
type IdToken = openidconnect::IdToken<ExtraClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;
type TokenFields = openidconnect::IdTokenFields<
    ExtraClaims,
    openidconnect::EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

type ClientOf = openidconnect::Client<
    ExtraClaims,
    openidconnect::core::CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    openidconnect::core::CoreJsonWebKey,
    openidconnect::core::CoreAuthPrompt,
    openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    openidconnect::StandardTokenResponse<TokenFields, openidconnect::core::CoreTokenType>,
    openidconnect::core::CoreTokenIntrospectionResponse,
    openidconnect::core::CoreRevocableToken,
    openidconnect::core::CoreRevocationErrorResponse,
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

pub(super) fn client(m: Metadata, sso: &SsoSettings, redirect: &str) -> Result<ClientOf, Failure> {
    let redirect = RedirectUrl::new(redirect.to_owned()).map_err(|_| Failure::InvalidToken)?;
    Ok(ClientOf::from_provider_metadata(
        m,
        ClientId::new(sso.client_id.clone()),
        Some(ClientSecret::new(sso.client_secret.clone())),
    )
    .set_redirect_uri(redirect))
}

fn at(ms: Millis) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// The ID token's claims, checked against `m`'s keys and our clock.
pub(super) fn verify(client: &ClientOf, token: &IdToken, nonce: &str, now: Millis) -> Result<IdClaims, ClaimsVerificationError> {
    let verifier = client
        .id_token_verifier()
        .set_time_fn(move || at(now - CLOCK_SKEW_MS))
        .set_issue_time_verifier_fn(move |iat| domain::sso::check_issued_at(iat.timestamp_millis(), now));
    token.claims(&verifier, &Nonce::new(nonce.to_owned())).cloned()
}

pub(super) fn failure_of(e: &ClaimsVerificationError) -> Failure {
    match e {
        ClaimsVerificationError::SignatureVerification(_) => Failure::BadSignature,
        ClaimsVerificationError::InvalidAudience(_) => Failure::WrongAudience,
        ClaimsVerificationError::InvalidIssuer(_) => Failure::WrongIssuer,
        ClaimsVerificationError::Expired(_) => Failure::Expired,
        ClaimsVerificationError::InvalidNonce(_) => Failure::WrongNonce,
        _ => Failure::InvalidToken,
    }
}
