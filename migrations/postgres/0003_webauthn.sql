-- WebAuthn credentials: passkeys (discoverable, usable without a password) and security keys.

CREATE TABLE webauthn_credentials (
    id              UUID PRIMARY KEY,
    user_id         UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id   BYTEA NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    -- 'passkey' (discoverable) or 'security_key' (second step only).
    kind            TEXT NOT NULL CHECK (kind IN ('passkey', 'security_key')),
    -- The webauthn-rs Passkey (public key, counter, flags) as JSON; no secret material.
    passkey         TEXT NOT NULL,
    sign_count      BIGINT NOT NULL,
    backup_eligible BOOLEAN NOT NULL,
    backup_state    BOOLEAN NOT NULL,
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT
);
CREATE INDEX webauthn_credentials_user ON webauthn_credentials (user_id);
