-- Foundation schema. Timestamps are Unix seconds (BIGINT) on both backends; key columns use
-- the "C" collation in PostgreSQL; SQLite compares bytewise already. UUIDs are BLOBs here.

CREATE TABLE users (
    id                   BLOB PRIMARY KEY,
    username             TEXT NOT NULL,
    username_key         TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    email                TEXT NOT NULL,
    email_key            TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    password_hash        TEXT,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    password_changed_at  BIGINT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE INDEX users_email_key ON users (email_key);

CREATE TABLE user_groups (
    id          BLOB PRIMARY KEY,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE group_members (
    group_id BLOB NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id  BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

-- The built-in administrators group: its members administer Lanyard.
INSERT INTO user_groups (id, name, name_key, description, created_at, updated_at)
VALUES (X'00000000000070008000000000000001', 'administrators', 'administrators',
        'Built-in: members administer Lanyard', 0, 0);

-- Portal sessions. The row key is the SHA-256 of the session id, so a database dump holds no
-- usable cookie; public_id is what pages show and revoke by.
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    public_id    BLOB NOT NULL UNIQUE,
    user_id      BLOB REFERENCES users (id) ON DELETE CASCADE,
    data         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Sign-in failure counters per username and per client IP.
CREATE TABLE signin_throttle (
    key           TEXT PRIMARY KEY,
    failures      BIGINT NOT NULL,
    window_start  BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id           BLOB PRIMARY KEY,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    hint         TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

-- Envelope encryption: data keys wrapped by the master key.
CREATE TABLE data_keys (
    id            BLOB PRIMARY KEY,
    wrapped       BLOB NOT NULL,
    master_key_id TEXT NOT NULL,
    is_active     INTEGER NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE signing_keys (
    id             BLOB PRIMARY KEY,
    alg            TEXT NOT NULL CHECK (alg IN ('ES256', 'RS256')),
    state          TEXT NOT NULL CHECK (state IN ('pending', 'active', 'retired')),
    public_key     BLOB NOT NULL,
    private_sealed BLOB NOT NULL,
    created_at     BIGINT NOT NULL,
    activated_at   BIGINT,
    retired_at     BIGINT
);

-- The audit log: append-only, each row hash-chained to the one before.
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    ip          TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    details     TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor_name);
CREATE INDEX audit_log_action ON audit_log (action);

-- The chain head; updating it serializes appends so the chain never forks.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
