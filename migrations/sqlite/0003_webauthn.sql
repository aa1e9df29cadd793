-- WebAuthn credentials: passkeys (discoverable, usable without a password) and security keys.

CREATE TABLE webauthn_credentials (
    id              BLOB PRIMARY KEY,
    user_id         BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id   BLOB NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    -- 'passkey' (discoverable) or 'security_key' (second step only).
    kind            TEXT NOT NULL CHECK (kind IN ('passkey', 'security_key')),
    -- The webauthn-rs Passkey (public key, counter, flags) as JSON; no secret material.
    passkey         TEXT NOT NULL,
    sign_count      BIGINT NOT NULL,
    backup_eligible INTEGER NOT NULL,
    backup_state    INTEGER NOT NULL,
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT
);
CREATE INDEX webauthn_credentials_user ON webauthn_credentials (user_id);
