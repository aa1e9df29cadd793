-- The OpenID Connect provider: applications (OAuth clients) with their secrets and assignments,
-- consents, authorization codes, grants (one per sign-in of a user to an app: the refresh-token
-- family), refresh tokens, device codes and revoked access-token ids. Every credential is kept
-- as a SHA-256 digest only.

-- Signing keys may now also be Ed25519 (EdDSA); one active key per algorithm, enforced here so
-- that concurrent instances rotating at once cannot both activate one.
ALTER TABLE signing_keys DROP CONSTRAINT IF EXISTS signing_keys_alg_check;
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_alg_check CHECK (alg IN ('ES256', 'RS256', 'EdDSA'));
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (alg) WHERE state = 'active';

CREATE TABLE oauth_clients (
    id                        UUID PRIMARY KEY,
    client_id                 TEXT COLLATE "C" NOT NULL UNIQUE,
    name                      TEXT NOT NULL,
    name_key                  TEXT COLLATE "C" NOT NULL UNIQUE,
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
    consent_required          BOOLEAN NOT NULL,
    launch_url                TEXT,
    enabled                   BOOLEAN NOT NULL,
    created_at                BIGINT NOT NULL,
    updated_at                BIGINT NOT NULL
);

CREATE TABLE oauth_client_secrets (
    id          UUID PRIMARY KEY,
    client_id   UUID NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    secret_hash TEXT COLLATE "C" NOT NULL UNIQUE,
    hint        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT
);
CREATE INDEX oauth_client_secrets_client ON oauth_client_secrets (client_id);

CREATE TABLE oauth_client_assignments (
    id         UUID PRIMARY KEY,
    client_id  UUID NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id    UUID REFERENCES users (id) ON DELETE CASCADE,
    group_id   UUID REFERENCES user_groups (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    CHECK ((user_id IS NULL) <> (group_id IS NULL))
);
CREATE UNIQUE INDEX oauth_client_assignments_user ON oauth_client_assignments (user_id, client_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX oauth_client_assignments_group ON oauth_client_assignments (group_id, client_id) WHERE group_id IS NOT NULL;
CREATE INDEX oauth_client_assignments_client ON oauth_client_assignments (client_id);

CREATE TABLE oauth_consents (
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  UUID NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- A sign-in of a user to an app, and what it was granted: the family of its refresh tokens and
-- the access tokens they mint. Revoking the grant ends them all.
CREATE TABLE oauth_grants (
    id         UUID PRIMARY KEY,
    client_id  UUID NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sid        TEXT COLLATE "C" NOT NULL,
    scope      TEXT NOT NULL,
    auth_time  BIGINT NOT NULL,
    amr        TEXT NOT NULL,
    acr        TEXT NOT NULL,
    is_offline BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX oauth_grants_user ON oauth_grants (user_id);
CREATE INDEX oauth_grants_sid ON oauth_grants (sid);
CREATE INDEX oauth_grants_expires ON oauth_grants (expires_at);

CREATE TABLE oauth_refresh_tokens (
    token_hash TEXT COLLATE "C" PRIMARY KEY,
    grant_id   UUID NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX oauth_refresh_tokens_grant ON oauth_refresh_tokens (grant_id);

-- Authorization codes: single use (used_at set by one conditional UPDATE), bound to the client,
-- the redirect URI and the PKCE challenge; grant_id names what the first use issued.
CREATE TABLE oauth_codes (
    code_hash      TEXT COLLATE "C" PRIMARY KEY,
    client_id      UUID NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id        UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    nonce          TEXT,
    code_challenge TEXT,
    sid            TEXT COLLATE "C" NOT NULL,
    auth_time      BIGINT NOT NULL,
    amr            TEXT NOT NULL,
    acr            TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    grant_id       UUID
);
CREATE INDEX oauth_codes_expires ON oauth_codes (expires_at);

-- RFC 8628 device authorizations: the device polls with device_code, the person types user_code.
CREATE TABLE oauth_device_codes (
    device_hash    TEXT COLLATE "C" PRIMARY KEY,
    user_code      TEXT COLLATE "C" NOT NULL UNIQUE,
    client_id      UUID NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    scope          TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
    poll_interval  BIGINT NOT NULL,
    last_polled_at BIGINT,
    user_id        UUID REFERENCES users (id) ON DELETE CASCADE,
    sid            TEXT COLLATE "C",
    auth_time      BIGINT,
    amr            TEXT,
    acr            TEXT,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX oauth_device_codes_expires ON oauth_device_codes (expires_at);

-- Access tokens revoked before their expiry (RFC 7009); rows go when the token would have expired.
CREATE TABLE oauth_revoked_tokens (
    jti        TEXT COLLATE "C" PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

-- Client assertions (private_key_jwt) already used: each jti once (RFC 7523 §3).
CREATE TABLE oauth_used_assertions (
    jti        TEXT COLLATE "C" PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
