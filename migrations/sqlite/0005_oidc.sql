-- The OpenID Connect provider: applications (OAuth clients) with their secrets and assignments,
-- consents, authorization codes, grants (one per sign-in of a user to an app: the refresh-token
-- family), refresh tokens, device codes and revoked access-token ids. Every credential is kept
-- as a SHA-256 digest only.

-- Signing keys may now also be Ed25519 (EdDSA); one active key per algorithm, enforced here so
-- that concurrent instances rotating at once cannot both activate one.
CREATE TABLE signing_keys_v2 (
    id             BLOB PRIMARY KEY,
    alg            TEXT NOT NULL CHECK (alg IN ('ES256', 'RS256', 'EdDSA')),
    state          TEXT NOT NULL CHECK (state IN ('pending', 'active', 'retired')),
    public_key     BLOB NOT NULL,
    private_sealed BLOB NOT NULL,
    created_at     BIGINT NOT NULL,
    activated_at   BIGINT,
    retired_at     BIGINT
);
INSERT INTO signing_keys_v2 SELECT id, alg, state, public_key, private_sealed, created_at, activated_at, retired_at FROM signing_keys;
DROP TABLE signing_keys;
ALTER TABLE signing_keys_v2 RENAME TO signing_keys;
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (alg) WHERE state = 'active';

CREATE TABLE oauth_clients (
    id                        BLOB PRIMARY KEY,
    client_id                 TEXT NOT NULL UNIQUE,
    name                      TEXT NOT NULL,
    name_key                  TEXT NOT NULL UNIQUE,
    description               TEXT NOT NULL,
    auth_method               TEXT NOT NULL CHECK (auth_method IN ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none')),
    redirect_uris             TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    grant_types               TEXT NOT NULL,
    scopes                    TEXT NOT NULL,
    jwks                      TEXT,
    signing_alg               TEXT NOT NULL CHECK (signing_alg IN ('ES256', 'RS256', 'EdDSA')),
    access_token_ttl          BIGINT NOT NULL,
    id_token_ttl              BIGINT NOT NULL,
    refresh_token_ttl         BIGINT NOT NULL,
    consent_required          INTEGER NOT NULL,
    launch_url                TEXT,
    enabled                   INTEGER NOT NULL,
    created_at                BIGINT NOT NULL,
    updated_at                BIGINT NOT NULL
);

CREATE TABLE oauth_client_secrets (
    id          BLOB PRIMARY KEY,
    client_id   BLOB NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL UNIQUE,
    hint        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT
);
CREATE INDEX oauth_client_secrets_client ON oauth_client_secrets (client_id);

CREATE TABLE oauth_client_assignments (
    id         BLOB PRIMARY KEY,
    client_id  BLOB NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id    BLOB REFERENCES users (id) ON DELETE CASCADE,
    group_id   BLOB REFERENCES user_groups (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    CHECK ((user_id IS NULL) <> (group_id IS NULL))
);
CREATE UNIQUE INDEX oauth_client_assignments_user ON oauth_client_assignments (user_id, client_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX oauth_client_assignments_group ON oauth_client_assignments (group_id, client_id) WHERE group_id IS NOT NULL;
CREATE INDEX oauth_client_assignments_client ON oauth_client_assignments (client_id);

CREATE TABLE oauth_consents (
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  BLOB NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- A sign-in of a user to an app, and what it was granted: the family of its refresh tokens and
-- the access tokens they mint. Revoking the grant ends them all.
CREATE TABLE oauth_grants (
    id         BLOB PRIMARY KEY,
    client_id  BLOB NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sid        TEXT NOT NULL,
    scope      TEXT NOT NULL,
    auth_time  BIGINT NOT NULL,
    amr        TEXT NOT NULL,
    acr        TEXT NOT NULL,
    is_offline INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX oauth_grants_user ON oauth_grants (user_id);
CREATE INDEX oauth_grants_sid ON oauth_grants (sid);
CREATE INDEX oauth_grants_expires ON oauth_grants (expires_at);

CREATE TABLE oauth_refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id   BLOB NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX oauth_refresh_tokens_grant ON oauth_refresh_tokens (grant_id);

-- Authorization codes: single use (used_at set by one conditional UPDATE), bound to the client,
-- the redirect URI and the PKCE challenge; grant_id names what the first use issued.
CREATE TABLE oauth_codes (
    code_hash      TEXT PRIMARY KEY,
    client_id      BLOB NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id        BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    nonce          TEXT,
    code_challenge TEXT,
    sid            TEXT NOT NULL,
    auth_time      BIGINT NOT NULL,
    amr            TEXT NOT NULL,
    acr            TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    grant_id       BLOB
);
CREATE INDEX oauth_codes_expires ON oauth_codes (expires_at);

-- RFC 8628 device authorizations: the device polls with device_code, the person types user_code.
CREATE TABLE oauth_device_codes (
    device_hash    TEXT PRIMARY KEY,
    user_code      TEXT NOT NULL UNIQUE,
    client_id      BLOB NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    scope          TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
    poll_interval  BIGINT NOT NULL,
    last_polled_at BIGINT,
    user_id        BLOB REFERENCES users (id) ON DELETE CASCADE,
    sid            TEXT,
    auth_time      BIGINT,
    amr            TEXT,
    acr            TEXT,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX oauth_device_codes_expires ON oauth_device_codes (expires_at);

-- Access tokens revoked before their expiry (RFC 7009); rows go when the token would have expired.
CREATE TABLE oauth_revoked_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

-- Client assertions (private_key_jwt) already used: each jti once (RFC 7523 §3).
CREATE TABLE oauth_used_assertions (
    jti        TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
