-- Trusted external OIDC issuers for STS AssumeRoleWithWebIdentity (IAM's "OpenID Connect
-- identity providers": CI systems, Kubernetes service accounts …), and credentials held by the
-- workloads they vouch for, which are no Lanyard user.

CREATE TABLE web_identity_providers (
    id         BLOB PRIMARY KEY,
    -- The tokens' `iss`, exactly (https, or http on a loopback address).
    issuer     TEXT NOT NULL UNIQUE,
    -- JSON list of the `aud` values accepted (IAM's client id list).
    audiences  TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- role_credentials gains the workload principal: either a user or a provider's subject. SQLite
-- cannot drop a NOT NULL in place, so the table is rebuilt (nothing references it).
CREATE TABLE role_credentials_new (
    access_key_id      TEXT PRIMARY KEY CHECK (length(access_key_id) = 20),
    secret_sealed      BLOB NOT NULL,
    session_token_hash TEXT NOT NULL UNIQUE,
    user_id            BLOB REFERENCES users (id) ON DELETE CASCADE,
    -- A workload's credentials: the provider that vouched for it (removing the provider ends
    -- them) and the token's `sub`.
    provider_id        BLOB REFERENCES web_identity_providers (id) ON DELETE CASCADE,
    subject            TEXT,
    account_id         TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    permission_set_id  BLOB NOT NULL REFERENCES permission_sets (id) ON DELETE CASCADE,
    role_name          TEXT NOT NULL,
    session_name       TEXT NOT NULL,
    source             TEXT NOT NULL,
    parent_key         TEXT,
    grant_id           BLOB,
    mfa_at             BIGINT,
    issued_at          BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    revoked_at         BIGINT,
    ip                 TEXT NOT NULL,
    user_agent         TEXT NOT NULL,
    CHECK ((user_id IS NULL) <> (provider_id IS NULL)),
    CHECK ((provider_id IS NULL) = (subject IS NULL))
);
INSERT INTO role_credentials_new (access_key_id, secret_sealed, session_token_hash, user_id, account_id,
    permission_set_id, role_name, session_name, source, parent_key, grant_id, mfa_at, issued_at, expires_at,
    revoked_at, ip, user_agent)
SELECT access_key_id, secret_sealed, session_token_hash, user_id, account_id, permission_set_id, role_name,
    session_name, source, parent_key, grant_id, mfa_at, issued_at, expires_at, revoked_at, ip, user_agent
FROM role_credentials;
DROP TABLE role_credentials;
ALTER TABLE role_credentials_new RENAME TO role_credentials;
CREATE INDEX role_credentials_user ON role_credentials (user_id);
CREATE INDEX role_credentials_expiry ON role_credentials (expires_at);
CREATE INDEX role_credentials_parent ON role_credentials (parent_key) WHERE parent_key IS NOT NULL;
CREATE INDEX role_credentials_provider ON role_credentials (provider_id) WHERE provider_id IS NOT NULL;
