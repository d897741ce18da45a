-- Issue 14 (SPEC §5a SSO1): OpenID Connect sign-in.
-- Keep in step with ../postgres/0007_sso.sql.

-- The relying party's registration at the company's identity provider.
-- The client secret has to be usable to redeem codes, so it is stored as
-- given; it is never logged, audited or answered by the API.
ALTER TABLE settings ADD COLUMN sso_issuer TEXT;
ALTER TABLE settings ADD COLUMN sso_client_id TEXT;
ALTER TABLE settings ADD COLUMN sso_client_secret TEXT;
ALTER TABLE settings ADD COLUMN sso_only_for_company_users BOOLEAN NOT NULL DEFAULT FALSE;

-- A user's subject at an issuer, bound on the first sign-in that matched
-- them by verified email; afterwards the subject alone finds them.
CREATE TABLE sso_identities (
    issuer      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE UNIQUE INDEX sso_identities_by_user ON sso_identities (user_id, issuer);

-- A sign-in under way: `state` (stored as SHA-256, and held by the
-- browser in a short-lived cookie), the nonce and PKCE verifier it needs at
-- the callback. `used_at` makes each state good for one callback only.
CREATE TABLE sso_attempts (
    state_hash     TEXT PRIMARY KEY,
    nonce          TEXT NOT NULL,
    pkce_verifier  TEXT NOT NULL,
    next_path      TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    used_at        BIGINT
);
CREATE INDEX sso_attempts_by_created ON sso_attempts (created_at);

-- How a session was made: 'password' or 'oidc' (sign-out ends an oidc
-- session at the identity provider too).
ALTER TABLE sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password';
