-- Temporary role credentials (STS) and the AWS-SDK client registrations of the SSO OIDC API.
-- The secret access key is sealed (the verifier needs it back to recompute signatures); the
-- session token and registration secrets are kept as SHA-256 digests only.

CREATE TABLE sso_registrations (
    id          BLOB PRIMARY KEY,
    secret_hash TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX sso_registrations_expiry ON sso_registrations (expires_at);

CREATE TABLE role_credentials (
    access_key_id      TEXT PRIMARY KEY CHECK (length(access_key_id) = 20),
    secret_sealed      BLOB NOT NULL,
    session_token_hash TEXT NOT NULL UNIQUE,
    user_id            BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id         TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    permission_set_id  BLOB NOT NULL REFERENCES permission_sets (id) ON DELETE CASCADE,
    role_name          TEXT NOT NULL,
    session_name       TEXT NOT NULL,
    -- How they were obtained: portal, sso (GetRoleCredentials), assume_role, web_identity.
    source             TEXT NOT NULL,
    -- Role chaining: the credentials that called AssumeRole.
    parent_key         TEXT,
    -- The OIDC grant (an SSO sign-in) they came from.
    grant_id           BLOB,
    -- When a second factor was last used in the sign-in behind them (NULL: none).
    mfa_at             BIGINT,
    issued_at          BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    revoked_at         BIGINT,
    ip                 TEXT NOT NULL,
    user_agent         TEXT NOT NULL
);
CREATE INDEX role_credentials_user ON role_credentials (user_id);
CREATE INDEX role_credentials_expiry ON role_credentials (expires_at);
CREATE INDEX role_credentials_parent ON role_credentials (parent_key) WHERE parent_key IS NOT NULL;

-- A role's trust policy: who may become it through STS AssumeRole (role chaining) and
-- AssumeRoleWithWebIdentity. NULL: nobody (assignments alone give access).
ALTER TABLE permission_sets ADD COLUMN trust_policy TEXT;
