-- Multi-account access: organisational units, accounts, managed policies (versioned), permission
-- sets, assignments of permission sets to users or groups in accounts, and the roles that
-- provisioning materialises per (account, permission set).

-- A tree of organisational units under one built-in root (parent_id NULL only for the root).
CREATE TABLE org_units (
    id          BLOB PRIMARY KEY,
    parent_id   BLOB REFERENCES org_units (id),
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    description TEXT NOT NULL,
    tags        TEXT NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (parent_id, name_key)
);
INSERT INTO org_units (id, parent_id, name, name_key, description, tags, created_at, updated_at)
VALUES (X'00000000000070008000000000000002', NULL, 'Root', 'root', 'Built-in: the top of the organisation', '{}', 0, 0);

-- Accounts: 12-digit ids, like AWS accounts.
CREATE TABLE accounts (
    id          TEXT PRIMARY KEY CHECK (length(id) = 12),
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    owner_email TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    ou_id       BLOB NOT NULL REFERENCES org_units (id),
    tags        TEXT NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX accounts_ou ON accounts (ou_id);

-- Managed policies: named, reusable documents; every change is a new version, the newest is
-- the default (older ones are kept, up to five, for review and rollback).
CREATE TABLE managed_policies (
    id              BLOB PRIMARY KEY,
    name            TEXT NOT NULL,
    name_key        TEXT NOT NULL UNIQUE,
    description     TEXT NOT NULL,
    default_version BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE TABLE managed_policy_versions (
    policy_id  BLOB NOT NULL REFERENCES managed_policies (id) ON DELETE CASCADE,
    version    BIGINT NOT NULL,
    document   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (policy_id, version)
);

-- Permission sets. `revision` grows with every change that alters what the set grants.
CREATE TABLE permission_sets (
    id                 BLOB PRIMARY KEY,
    name               TEXT NOT NULL,
    name_key           TEXT NOT NULL UNIQUE,
    description        TEXT NOT NULL,
    session_duration   BIGINT NOT NULL CHECK (session_duration BETWEEN 900 AND 43200),
    relay_state        TEXT NOT NULL,
    inline_policy      TEXT,
    boundary_policy_id BLOB REFERENCES managed_policies (id),
    revision           BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX permission_sets_boundary ON permission_sets (boundary_policy_id);
CREATE TABLE permission_set_policies (
    permission_set_id BLOB NOT NULL REFERENCES permission_sets (id) ON DELETE CASCADE,
    policy_id         BLOB NOT NULL REFERENCES managed_policies (id),
    PRIMARY KEY (permission_set_id, policy_id)
);
CREATE INDEX permission_set_policies_policy ON permission_set_policies (policy_id);

-- Assignments: a user or a group (exactly one) gets a permission set in an account.
CREATE TABLE assignments (
    id                BLOB PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    permission_set_id BLOB NOT NULL REFERENCES permission_sets (id),
    user_id           BLOB REFERENCES users (id) ON DELETE CASCADE,
    group_id          BLOB REFERENCES user_groups (id) ON DELETE CASCADE,
    created_at        BIGINT NOT NULL,
    CHECK ((user_id IS NULL) <> (group_id IS NULL))
);
CREATE UNIQUE INDEX assignments_user ON assignments (user_id, account_id, permission_set_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX assignments_group ON assignments (group_id, account_id, permission_set_id) WHERE group_id IS NOT NULL;
CREATE INDEX assignments_target ON assignments (account_id, permission_set_id);
CREATE INDEX assignments_permission_set ON assignments (permission_set_id);

-- A permission set as it was at a revision, policies resolved to documents: what decisions
-- evaluate. Written once per revision, kept while a role still carries it.
CREATE TABLE permission_set_snapshots (
    permission_set_id BLOB NOT NULL REFERENCES permission_sets (id) ON DELETE CASCADE,
    revision          BIGINT NOT NULL,
    snapshot          TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    PRIMARY KEY (permission_set_id, revision)
);

-- Provisioned roles: one per (account, permission set) that has assignments, carrying one
-- revision of the permission set. What an account grants changes exactly when provisioning
-- moves its role to a new revision.
CREATE TABLE account_roles (
    account_id        TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    permission_set_id BLOB NOT NULL REFERENCES permission_sets (id) ON DELETE CASCADE,
    revision          BIGINT NOT NULL,
    provisioned_at    BIGINT NOT NULL,
    PRIMARY KEY (account_id, permission_set_id)
);
CREATE INDEX account_roles_permission_set ON account_roles (permission_set_id);

-- What an admin API token may do: `admin` (everything) or `authorize` (only ask for decisions,
-- for resource services: least privilege).
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin';

-- The administrator who created a token (NULL for tokens made with `lanyard admin token create`
-- on the server itself). Such a token works only while its creator is an active administrator,
-- and goes when they are deleted.
ALTER TABLE api_tokens ADD COLUMN created_by_id BLOB REFERENCES users (id) ON DELETE CASCADE;
