//! SQL for organisational units, accounts, managed policies, permission sets, assignments and
//! provisioned roles. Functions take the caller's transaction.

use super::model::{AccessRow, Account, Assignment, ManagedPolicy, OrgUnit, PermissionSet, RoleStatus};
use crate::db::{Tx, prefix_end};
use crate::db_run;
use uuid::Uuid;

// ---- organisational units ----

const OU_COLS: &str = "id, parent_id, name, description, tags, created_at, updated_at";

pub struct NewOu<'a> {
    pub id: Uuid,
    pub parent_id: Uuid,
    pub name: &'a str,
    pub key: &'a str,
    pub description: &'a str,
    pub tags: &'a str,
    pub now: i64,
}

pub async fn insert_ou(tx: &mut Tx, o: &NewOu<'_>) -> Result<(), sqlx::Error> {
    db_run!(tx, c => sqlx::query(
        "INSERT INTO org_units (id, parent_id, name, name_key, description, tags, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)")
        .bind(o.id).bind(o.parent_id).bind(o.name).bind(o.key).bind(o.description).bind(o.tags).bind(o.now)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn find_ou(tx: &mut Tx, id: Uuid) -> Result<Option<OrgUnit>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {OU_COLS} FROM org_units WHERE id = $1"));
    db_run!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await)
}

/// Every OU (trees are small: admins create them by hand), by name.
pub async fn list_ous(tx: &mut Tx) -> Result<Vec<OrgUnit>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {OU_COLS} FROM org_units ORDER BY name_key, id LIMIT 10000"));
    db_run!(tx, c => sqlx::query_as(sql).fetch_all(c).await)
}

pub async fn update_ou(
    tx: &mut Tx,
    id: Uuid,
    name: &str,
    key: &str,
    description: &str,
    tags: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    db_run!(tx, c => sqlx::query("UPDATE org_units SET name = $1, name_key = $2, description = $3, tags = $4, updated_at = $5 WHERE id = $6")
        .bind(name).bind(key).bind(description).bind(tags).bind(now).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn delete_ou(tx: &mut Tx, id: Uuid) -> Result<u64, sqlx::Error> {
    db_run!(tx, c => sqlx::query("DELETE FROM org_units WHERE id = $1").bind(id).execute(c).await.map(|r| r.rows_affected()))
}

/// (child OUs, accounts) directly under an OU.
pub async fn ou_contents(tx: &mut Tx, id: Uuid) -> Result<(i64, i64), sqlx::Error> {
    db_run!(tx, c => sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM org_units WHERE parent_id = $1), (SELECT COUNT(*) FROM accounts WHERE ou_id = $1)")
        .bind(id).fetch_one(c).await)
}

// ---- accounts ----

const ACCOUNT_COLS: &str = "id, name, description, owner_email, status, ou_id, tags, created_at, updated_at";

pub struct AccountRow<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub key: &'a str,
    pub description: &'a str,
    pub owner_email: &'a str,
    pub status: &'a str,
    pub ou_id: Uuid,
    pub tags: &'a str,
    pub now: i64,
}

pub async fn insert_account(tx: &mut Tx, a: &AccountRow<'_>) -> Result<(), sqlx::Error> {
    db_run!(tx, c => sqlx::query(
        "INSERT INTO accounts (id, name, name_key, description, owner_email, status, ou_id, tags, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)")
        .bind(a.id).bind(a.name).bind(a.key).bind(a.description).bind(a.owner_email).bind(a.status).bind(a.ou_id).bind(a.tags).bind(a.now)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn update_account(tx: &mut Tx, a: &AccountRow<'_>) -> Result<(), sqlx::Error> {
    db_run!(tx, c => sqlx::query(
        "UPDATE accounts SET name = $2, name_key = $3, description = $4, owner_email = $5, status = $6, ou_id = $7, tags = $8, updated_at = $9 WHERE id = $1")
        .bind(a.id).bind(a.name).bind(a.key).bind(a.description).bind(a.owner_email).bind(a.status).bind(a.ou_id).bind(a.tags).bind(a.now)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn find_account(tx: &mut Tx, id: &str) -> Result<Option<Account>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE id = $1"));
    db_run!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await)
}

pub async fn find_account_by_name(tx: &mut Tx, key: &str) -> Result<Option<Account>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE name_key = $1"));
    db_run!(tx, c => sqlx::query_as(sql).bind(key).fetch_optional(c).await)
}

/// Accounts by name after `after_key`; `prefix` matches the name or the id; `ou` limits to one OU.
pub async fn list_accounts(
    tx: &mut Tx,
    after_key: &str,
    prefix: Option<&str>,
    ou: Option<Uuid>,
    limit: i64,
) -> Result<Vec<(Account, String)>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        account: Account,
        name_key: String,
    }
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {ACCOUNT_COLS}, name_key FROM accounts WHERE name_key > $1 \
         AND ($2 IS NULL OR (name_key >= $2 AND name_key < $3) OR (id >= $2 AND id < $3)) \
         AND ($4 IS NULL OR ou_id = $4) ORDER BY name_key LIMIT $5"
    ));
    let rows: Vec<Row> = db_run!(tx, c => sqlx::query_as(sql).bind(after_key).bind(prefix).bind(prefix.map(prefix_end)).bind(ou).bind(limit).fetch_all(c).await)?;
    Ok(rows.into_iter().map(|r| (r.account, r.name_key)).collect())
}

pub async fn delete_account(tx: &mut Tx, id: &str) -> Result<u64, sqlx::Error> {
    db_run!(tx, c => sqlx::query("DELETE FROM accounts WHERE id = $1").bind(id).execute(c).await.map(|r| r.rows_affected()))
}

// ---- managed policies ----

const POLICY_SELECT: &str = "SELECT p.id, p.name, p.description, p.default_version, v.document, p.created_at, p.updated_at \
     FROM managed_policies p JOIN managed_policy_versions v ON v.policy_id = p.id AND v.version = p.default_version";

pub async fn insert_policy(
    tx: &mut Tx,
    id: Uuid,
    name: &str,
    key: &str,
    description: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    db_run!(tx, c => sqlx::query(
        "INSERT INTO managed_policies (id, name, name_key, description, default_version, created_at, updated_at) VALUES ($1, $2, $3, $4, 1, $5, $5)")
        .bind(id).bind(name).bind(key).bind(description).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn insert_policy_version(
    tx: &mut Tx,
    id: Uuid,
    version: i64,
    document: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    db_run!(tx, c => sqlx::query("INSERT INTO managed_policy_versions (policy_id, version, document, created_at) VALUES ($1, $2, $3, $4)")
        .bind(id).bind(version).bind(document).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A policy's new name, description and default version.
pub struct PolicyChange<'a> {
    pub name: &'a str,
    pub key: &'a str,
    pub description: &'a str,
    pub version: i64,
    pub now: i64,
}

/// Applies a change and drops versions beyond the newest `keep`.
pub async fn update_policy(tx: &mut Tx, id: Uuid, p: &PolicyChange<'_>, keep: i64) -> Result<(), sqlx::Error> {
    db_run!(tx, c => sqlx::query("UPDATE managed_policies SET name = $1, name_key = $2, description = $3, default_version = $4, updated_at = $5 WHERE id = $6")
        .bind(p.name).bind(p.key).bind(p.description).bind(p.version).bind(p.now).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    db_run!(tx, c => sqlx::query("DELETE FROM managed_policy_versions WHERE policy_id = $1 AND version <= $2")
        .bind(id).bind(p.version - keep).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn latest_policy_version(tx: &mut Tx, id: Uuid) -> Result<i64, sqlx::Error> {
    let v: Option<i64> = db_run!(tx, c => sqlx::query_scalar("SELECT MAX(version) FROM managed_policy_versions WHERE policy_id = $1")
        .bind(id).fetch_one(c).await)?;
    Ok(v.unwrap_or(0))
}

/// (version, created_at) of a policy's kept versions, newest first.
pub async fn policy_versions(tx: &mut Tx, id: Uuid) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    db_run!(tx, c => sqlx::query_as("SELECT version, created_at FROM managed_policy_versions WHERE policy_id = $1 ORDER BY version DESC")
        .bind(id).fetch_all(c).await)
}

pub async fn find_policy(tx: &mut Tx, id: Uuid) -> Result<Option<ManagedPolicy>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("{POLICY_SELECT} WHERE p.id = $1"));
    db_run!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await)
}

pub async fn find_policy_by_name(tx: &mut Tx, key: &str) -> Result<Option<ManagedPolicy>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("{POLICY_SELECT} WHERE p.name_key = $1"));
    db_run!(tx, c => sqlx::query_as(sql).bind(key).fetch_optional(c).await)
}

pub async fn list_policies(tx: &mut Tx, limit: i64) -> Result<Vec<ManagedPolicy>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("{POLICY_SELECT} ORDER BY p.name_key LIMIT $1"));
    db_run!(tx, c => sqlx::query_as(sql).bind(limit).fetch_all(c).await)
}

/// Takes the policy's row lock for the rest of the transaction, so that a change to the policy
/// and an attachment of it to a permission set happen one after the other (on PostgreSQL a
/// foreign-key check alone does not wait for a concurrent update of the row).
pub async fn lock_policy(tx: &mut Tx, id: Uuid) -> Result<bool, sqlx::Error> {
    db_run!(tx, c => sqlx::query("UPDATE managed_policies SET updated_at = updated_at WHERE id = $1")
        .bind(id).execute(c).await.map(|r| r.rows_affected() == 1))
}

/// Takes the permission set's row lock for the rest of the transaction.
pub async fn lock_permission_set(tx: &mut Tx, id: Uuid) -> Result<bool, sqlx::Error> {
    db_run!(tx, c => sqlx::query("UPDATE permission_sets SET updated_at = updated_at WHERE id = $1")
        .bind(id).execute(c).await.map(|r| r.rows_affected() == 1))
}

pub async fn delete_policy(tx: &mut Tx, id: Uuid) -> Result<u64, sqlx::Error> {
    db_run!(tx, c => sqlx::query("DELETE FROM managed_policies WHERE id = $1").bind(id).execute(c).await.map(|r| r.rows_affected()))
}

/// Permission sets that attach a policy or use it as their boundary.
pub async fn permission_sets_using(tx: &mut Tx, policy: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
    db_run!(tx, c => sqlx::query_scalar(
        "SELECT permission_set_id FROM permission_set_policies WHERE policy_id = $1 \
         UNION SELECT id FROM permission_sets WHERE boundary_policy_id = $1")
        .bind(policy).fetch_all(c).await)
}

// ---- permission sets ----

const PS_COLS: &str = "id, name, description, session_duration, relay_state, inline_policy, boundary_policy_id, revision, created_at, updated_at";

pub struct PermissionSetRow<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub key: &'a str,
    pub description: &'a str,
    pub session_duration: i64,
    pub relay_state: &'a str,
    pub inline_policy: Option<&'a str>,
    pub boundary_policy_id: Option<Uuid>,
    pub now: i64,
}

pub async fn insert_permission_set(tx: &mut Tx, p: &PermissionSetRow<'_>) -> Result<(), sqlx::Error> {
    db_run!(tx, c => sqlx::query(
        "INSERT INTO permission_sets (id, name, name_key, description, session_duration, relay_state, inline_policy, boundary_policy_id, revision, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9)")
        .bind(p.id).bind(p.name).bind(p.key).bind(p.description).bind(p.session_duration).bind(p.relay_state).bind(p.inline_policy).bind(p.boundary_policy_id).bind(p.now)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Updates a permission set and moves it to its next revision.
pub async fn update_permission_set(tx: &mut Tx, p: &PermissionSetRow<'_>) -> Result<(), sqlx::Error> {
    db_run!(tx, c => sqlx::query(
        "UPDATE permission_sets SET name = $2, name_key = $3, description = $4, session_duration = $5, relay_state = $6, inline_policy = $7, \
         boundary_policy_id = $8, revision = revision + 1, updated_at = $9 WHERE id = $1")
        .bind(p.id).bind(p.name).bind(p.key).bind(p.description).bind(p.session_duration).bind(p.relay_state).bind(p.inline_policy).bind(p.boundary_policy_id).bind(p.now)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Moves a permission set to its next revision (a policy it uses changed).
pub async fn bump_revision(tx: &mut Tx, id: Uuid, now: i64) -> Result<(), sqlx::Error> {
    db_run!(tx, c => sqlx::query("UPDATE permission_sets SET revision = revision + 1, updated_at = $1 WHERE id = $2")
        .bind(now).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn find_permission_set(tx: &mut Tx, id: Uuid) -> Result<Option<PermissionSet>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {PS_COLS} FROM permission_sets WHERE id = $1"));
    db_run!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await)
}

pub async fn find_permission_set_by_name(tx: &mut Tx, key: &str) -> Result<Option<PermissionSet>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {PS_COLS} FROM permission_sets WHERE name_key = $1"));
    db_run!(tx, c => sqlx::query_as(sql).bind(key).fetch_optional(c).await)
}

pub async fn list_permission_sets(tx: &mut Tx, limit: i64) -> Result<Vec<PermissionSet>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {PS_COLS} FROM permission_sets ORDER BY name_key LIMIT $1"));
    db_run!(tx, c => sqlx::query_as(sql).bind(limit).fetch_all(c).await)
}

pub async fn delete_permission_set(tx: &mut Tx, id: Uuid) -> Result<u64, sqlx::Error> {
    db_run!(tx, c => sqlx::query("DELETE FROM permission_sets WHERE id = $1").bind(id).execute(c).await.map(|r| r.rows_affected()))
}

/// The managed policies attached to a permission set, by name.
pub async fn attached_policies(tx: &mut Tx, ps: Uuid) -> Result<Vec<ManagedPolicy>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{POLICY_SELECT} JOIN permission_set_policies a ON a.policy_id = p.id WHERE a.permission_set_id = $1 ORDER BY p.name_key"
    ));
    db_run!(tx, c => sqlx::query_as(sql).bind(ps).fetch_all(c).await)
}

/// (permission set, policy id, policy name) of every attachment, by policy name.
pub async fn all_attachments(tx: &mut Tx) -> Result<Vec<(Uuid, Uuid, String)>, sqlx::Error> {
    db_run!(tx, c => sqlx::query_as(
        "SELECT a.permission_set_id, p.id, p.name FROM permission_set_policies a JOIN managed_policies p ON p.id = a.policy_id ORDER BY p.name_key")
        .fetch_all(c).await)
}

/// (permission set, roles, roles at its current revision) of every provisioned permission set.
pub async fn provisioning_summary(tx: &mut Tx) -> Result<Vec<(Uuid, i64, i64)>, sqlx::Error> {
    db_run!(tx, c => sqlx::query_as(
        "SELECT r.permission_set_id, COUNT(*), COALESCE(SUM(CASE WHEN r.revision >= p.revision THEN 1 ELSE 0 END), 0) \
         FROM account_roles r JOIN permission_sets p ON p.id = r.permission_set_id GROUP BY r.permission_set_id")
        .fetch_all(c).await)
}

/// Attaches a policy; false if it was attached already.
pub async fn attach_policy(tx: &mut Tx, ps: Uuid, policy: Uuid) -> Result<bool, sqlx::Error> {
    db_run!(tx, c => sqlx::query("INSERT INTO permission_set_policies (permission_set_id, policy_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(ps).bind(policy).execute(c).await.map(|r| r.rows_affected() == 1))
}

pub async fn detach_policy(tx: &mut Tx, ps: Uuid, policy: Uuid) -> Result<bool, sqlx::Error> {
    db_run!(tx, c => sqlx::query("DELETE FROM permission_set_policies WHERE permission_set_id = $1 AND policy_id = $2")
        .bind(ps).bind(policy).execute(c).await.map(|r| r.rows_affected() == 1))
}

// ---- assignments ----

const ASSIGNMENT_SELECT: &str = "SELECT a.id, a.account_id, acc.name AS account_name, a.permission_set_id, ps.name AS permission_set_name, \
     a.user_id, a.group_id, COALESCE(u.username, g.name, '') AS principal_name, a.created_at \
     FROM assignments a JOIN accounts acc ON acc.id = a.account_id JOIN permission_sets ps ON ps.id = a.permission_set_id \
     LEFT JOIN users u ON u.id = a.user_id LEFT JOIN user_groups g ON g.id = a.group_id";

pub struct NewAssignment<'a> {
    pub id: Uuid,
    pub account_id: &'a str,
    pub permission_set_id: Uuid,
    pub user_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    pub now: i64,
}

pub async fn insert_assignment(tx: &mut Tx, a: &NewAssignment<'_>) -> Result<(), sqlx::Error> {
    db_run!(tx, c => sqlx::query(
        "INSERT INTO assignments (id, account_id, permission_set_id, user_id, group_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(a.id).bind(a.account_id).bind(a.permission_set_id).bind(a.user_id).bind(a.group_id).bind(a.now)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn find_assignment(tx: &mut Tx, id: Uuid) -> Result<Option<Assignment>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("{ASSIGNMENT_SELECT} WHERE a.id = $1"));
    db_run!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await)
}

pub async fn delete_assignment(tx: &mut Tx, id: Uuid) -> Result<u64, sqlx::Error> {
    db_run!(tx, c => sqlx::query("DELETE FROM assignments WHERE id = $1").bind(id).execute(c).await.map(|r| r.rows_affected()))
}

/// Filters for listing assignments; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct AssignmentFilter {
    pub account_id: Option<String>,
    pub permission_set_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
}

/// Assignments matching `f`, in id order (UUIDv7: creation order) after `after`.
pub async fn list_assignments(
    tx: &mut Tx,
    f: &AssignmentFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Assignment>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{ASSIGNMENT_SELECT} WHERE ($1 IS NULL OR a.account_id = $1) AND ($2 IS NULL OR a.permission_set_id = $2) \
         AND ($3 IS NULL OR a.user_id = $3) AND ($4 IS NULL OR a.group_id = $4) AND ($5 IS NULL OR a.id > $5) ORDER BY a.id LIMIT $6"
    ));
    db_run!(tx, c => sqlx::query_as(sql)
        .bind(f.account_id.as_deref()).bind(f.permission_set_id).bind(f.user_id).bind(f.group_id).bind(after).bind(limit)
        .fetch_all(c).await)
}

pub async fn count_assignments(tx: &mut Tx, ps: Uuid) -> Result<i64, sqlx::Error> {
    db_run!(tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM assignments WHERE permission_set_id = $1").bind(ps).fetch_one(c).await)
}

pub async fn count_account_assignments(tx: &mut Tx, account: &str) -> Result<i64, sqlx::Error> {
    db_run!(tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM assignments WHERE account_id = $1").bind(account).fetch_one(c).await)
}

// ---- provisioned roles ----

/// Stores the snapshot of a permission set at `revision` (once; a second write is a no-op).
pub async fn insert_snapshot(
    tx: &mut Tx,
    ps: Uuid,
    revision: i64,
    snapshot: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    db_run!(tx, c => sqlx::query(
        "INSERT INTO permission_set_snapshots (permission_set_id, revision, snapshot, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (permission_set_id, revision) DO NOTHING")
        .bind(ps).bind(revision).bind(snapshot).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Moves the permission set's role to `revision` in `only` (one account) or in every account
/// where it is assigned, creating roles that are missing; never moves a role back to an older
/// revision (two instances may provision at once). Returns the roles written.
pub async fn upsert_roles(
    tx: &mut Tx,
    ps: Uuid,
    revision: i64,
    only: Option<&str>,
    now: i64,
) -> Result<u64, sqlx::Error> {
    db_run!(tx, c => sqlx::query(
        "INSERT INTO account_roles (account_id, permission_set_id, revision, provisioned_at) \
         SELECT DISTINCT account_id, $1, $2, $3 FROM assignments WHERE permission_set_id = $1 AND ($4 IS NULL OR account_id = $4) \
         ON CONFLICT (account_id, permission_set_id) DO UPDATE SET revision = excluded.revision, \
         provisioned_at = excluded.provisioned_at WHERE account_roles.revision < excluded.revision")
        .bind(ps).bind(revision).bind(now).bind(only).execute(c).await.map(|r| r.rows_affected()))
}

/// Drops the snapshots of a permission set that no role carries any more (the current
/// revision's is kept).
pub async fn delete_unused_snapshots(tx: &mut Tx, ps: Uuid, current: i64) -> Result<u64, sqlx::Error> {
    db_run!(tx, c => sqlx::query(
        "DELETE FROM permission_set_snapshots WHERE permission_set_id = $1 AND revision <> $2 \
         AND revision NOT IN (SELECT revision FROM account_roles WHERE permission_set_id = $1)")
        .bind(ps).bind(current).execute(c).await.map(|r| r.rows_affected()))
}

/// Removes the roles of a permission set in accounts where it is no longer assigned.
pub async fn delete_unassigned_roles(tx: &mut Tx, ps: Uuid) -> Result<u64, sqlx::Error> {
    db_run!(tx, c => sqlx::query(
        "DELETE FROM account_roles WHERE permission_set_id = $1 AND NOT EXISTS \
         (SELECT 1 FROM assignments a WHERE a.account_id = account_roles.account_id AND a.permission_set_id = $1)")
        .bind(ps).execute(c).await.map(|r| r.rows_affected()))
}

/// Removes every role no assignment needs any more (its last assignment went with a deleted
/// user or group).
pub async fn delete_orphan_roles(tx: &mut Tx) -> Result<u64, sqlx::Error> {
    db_run!(tx, c => sqlx::query(
        "DELETE FROM account_roles WHERE NOT EXISTS (SELECT 1 FROM assignments a \
         WHERE a.account_id = account_roles.account_id AND a.permission_set_id = account_roles.permission_set_id)")
        .execute(c).await.map(|r| r.rows_affected()))
}

/// Where a permission set is provisioned, and at which revision.
pub async fn role_statuses(tx: &mut Tx, ps: Uuid) -> Result<Vec<RoleStatus>, sqlx::Error> {
    db_run!(tx, c => sqlx::query_as(
        "SELECT r.account_id, acc.name AS account_name, r.revision, r.provisioned_at FROM account_roles r \
         JOIN accounts acc ON acc.id = r.account_id WHERE r.permission_set_id = $1 ORDER BY acc.name_key")
        .bind(ps).fetch_all(c).await)
}

/// Permission sets whose roles lag behind (an older revision, or an assignment with no role).
pub async fn stale_permission_sets(tx: &mut Tx) -> Result<Vec<Uuid>, sqlx::Error> {
    db_run!(tx, c => sqlx::query_scalar(
        "SELECT r.permission_set_id FROM account_roles r JOIN permission_sets p ON p.id = r.permission_set_id WHERE r.revision < p.revision \
         UNION SELECT a.permission_set_id FROM assignments a LEFT JOIN account_roles r \
           ON r.account_id = a.account_id AND r.permission_set_id = a.permission_set_id WHERE r.account_id IS NULL")
        .fetch_all(c).await)
}

/// A role a user may use, as a decision needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UsableRole {
    pub permission_set_id: Uuid,
    pub revision: i64,
    /// The permission set's name as stored (the caller may have typed another case).
    pub role_name: String,
    pub username: String,
    /// The permission set's session duration (seconds), for role credentials.
    pub session_duration: i64,
}

/// The revision of a role that `user` may use: the account is active, the user is active and
/// assigned the permission set there directly or through a group. One statement, so a removed
/// membership or assignment takes effect on the next decision.
pub async fn usable_role(
    tx: &mut Tx,
    account: &str,
    ps_key: &str,
    user: Uuid,
) -> Result<Option<UsableRole>, sqlx::Error> {
    db_run!(tx, c => sqlx::query_as(
        "SELECT r.permission_set_id, r.revision, ps.name AS role_name, u.username, ps.session_duration FROM account_roles r \
         JOIN permission_sets ps ON ps.id = r.permission_set_id \
         JOIN accounts acc ON acc.id = r.account_id \
         JOIN users u ON u.id = $3 \
         WHERE r.account_id = $1 AND ps.name_key = $2 AND acc.status = 'active' AND u.status = 'active' \
         AND EXISTS (SELECT 1 FROM assignments a WHERE a.account_id = r.account_id AND a.permission_set_id = r.permission_set_id \
           AND (a.user_id = $3 OR a.group_id IN (SELECT m.group_id FROM group_members m WHERE m.user_id = $3)))")
        .bind(account).bind(ps_key).bind(user).fetch_optional(c).await)
}

/// The snapshot of a permission set at a revision.
pub async fn find_snapshot(tx: &mut Tx, ps: Uuid, revision: i64) -> Result<Option<String>, sqlx::Error> {
    db_run!(tx, c => sqlx::query_scalar("SELECT snapshot FROM permission_set_snapshots WHERE permission_set_id = $1 AND revision = $2")
        .bind(ps).bind(revision).fetch_optional(c).await)
}

/// The (account, permission set) pairs a user is assigned, directly or through their groups.
const REACHABLE: &str = "SELECT account_id, permission_set_id FROM assignments WHERE user_id = $1 \
     UNION SELECT a.account_id, a.permission_set_id FROM group_members m JOIN assignments a ON a.group_id = m.group_id WHERE m.user_id = $1";

/// The accounts a user can use that match the filter, as a derived table `m(account_id)`:
/// `$2` is `%filter%` (account or role name contains), `$3` is `filter%` (account id starts
/// with); both NULL for no filter. The reachable pairs are computed once.
fn matching_accounts() -> String {
    format!(
        "(SELECT DISTINCT r.account_id FROM ({REACHABLE}) r \
           JOIN permission_sets ps ON ps.id = r.permission_set_id JOIN accounts a2 ON a2.id = r.account_id \
           WHERE $2 IS NULL OR a2.name_key LIKE $2 ESCAPE '\\' OR a2.id LIKE $3 ESCAPE '\\' OR ps.name_key LIKE $2 ESCAPE '\\') m"
    )
}

fn like_patterns(filter: Option<&str>) -> (Option<String>, Option<String>) {
    let like = filter.map(|f| format!("%{}%", crate::db::like_escape(f)));
    let prefix = filter.map(|f| format!("{}%", crate::db::like_escape(f)));
    (like, prefix)
}

/// One page of the active accounts a user can use, by name after `after_key`; `filter` (lower
/// case) keeps accounts whose name contains it, whose id starts with it, or where one of the
/// user's roles has a name containing it. Returns (id, name, owner email, name key, how many
/// accounts match in all pages), the total computed in the same pass.
pub async fn access_accounts(
    tx: &mut Tx,
    user: Uuid,
    filter: Option<&str>,
    after_key: &str,
    limit: i64,
) -> Result<Vec<(String, String, String, String, i64)>, sqlx::Error> {
    let (like, prefix) = like_patterns(filter);
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT id, name, owner_email, name_key, total FROM \
         (SELECT acc.id, acc.name, acc.owner_email, acc.name_key, COUNT(*) OVER () AS total FROM accounts acc \
          JOIN {} ON m.account_id = acc.id WHERE acc.status = 'active') t \
         WHERE name_key > $4 ORDER BY name_key LIMIT $5",
        matching_accounts()
    ));
    db_run!(tx, c => sqlx::query_as(sql).bind(user).bind(like).bind(prefix).bind(after_key).bind(limit).fetch_all(c).await)
}

/// How many accounts [`access_accounts`] would list in all.
pub async fn count_access_accounts(tx: &mut Tx, user: Uuid, filter: Option<&str>) -> Result<i64, sqlx::Error> {
    let (like, prefix) = like_patterns(filter);
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM accounts acc JOIN {} ON m.account_id = acc.id WHERE acc.status = 'active'",
        matching_accounts()
    ));
    db_run!(tx, c => sqlx::query_scalar(sql).bind(user).bind(like).bind(prefix).fetch_one(c).await)
}

/// The user's roles in one active account, by role name.
pub async fn roles_in_account(tx: &mut Tx, user: Uuid, account: &str) -> Result<Vec<AccessRow>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT acc.id AS account_id, acc.name AS account_name, acc.owner_email AS account_email, ps.id AS permission_set_id, \
         ps.name AS permission_set_name, ps.description AS permission_set_description, ps.session_duration, ps.relay_state \
         FROM ({REACHABLE}) x JOIN accounts acc ON acc.id = x.account_id JOIN permission_sets ps ON ps.id = x.permission_set_id \
         WHERE acc.status = 'active' AND acc.id = $2 ORDER BY ps.name_key LIMIT 1000"
    ));
    db_run!(tx, c => sqlx::query_as(sql).bind(user).bind(account).fetch_all(c).await)
}

/// The user's roles in the accounts whose name keys lie in (`after_key`, `last_key`] (one page
/// of [`access_accounts`]), by account then role name. With a filter, accounts matched by a
/// role name show only the matching roles.
pub async fn access_roles(
    tx: &mut Tx,
    user: Uuid,
    filter: Option<&str>,
    after_key: &str,
    last_key: &str,
) -> Result<Vec<AccessRow>, sqlx::Error> {
    let (like, prefix) = like_patterns(filter);
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT acc.id AS account_id, acc.name AS account_name, acc.owner_email AS account_email, ps.id AS permission_set_id, \
         ps.name AS permission_set_name, ps.description AS permission_set_description, ps.session_duration, ps.relay_state \
         FROM ({REACHABLE}) x JOIN accounts acc ON acc.id = x.account_id JOIN permission_sets ps ON ps.id = x.permission_set_id \
         WHERE acc.status = 'active' AND acc.name_key > $4 AND acc.name_key <= $5 \
         AND ($2 IS NULL OR acc.name_key LIKE $2 ESCAPE '\\' OR acc.id LIKE $3 ESCAPE '\\' OR ps.name_key LIKE $2 ESCAPE '\\') \
         ORDER BY acc.name_key, ps.name_key"
    ));
    db_run!(tx, c => sqlx::query_as(sql).bind(user).bind(like).bind(prefix).bind(after_key).bind(last_key).fetch_all(c).await)
}

/// A permission set's trust policy (`Some(None)`: it has none; `None`: no such permission set).
pub async fn find_trust_policy(tx: &mut Tx, ps: Uuid) -> Result<Option<Option<String>>, sqlx::Error> {
    let row: Option<(Option<String>,)> = db_run!(tx, c => sqlx::query_as("SELECT trust_policy FROM permission_sets WHERE id = $1")
        .bind(ps).fetch_optional(c).await)?;
    Ok(row.map(|r| r.0))
}

pub async fn set_trust_policy(tx: &mut Tx, ps: Uuid, doc: Option<&str>, now: i64) -> Result<u64, sqlx::Error> {
    db_run!(tx, c => sqlx::query("UPDATE permission_sets SET trust_policy = $2, updated_at = $3 WHERE id = $1")
        .bind(ps).bind(doc).bind(now).execute(c).await.map(|r| r.rows_affected()))
}

/// A role as provisioned in an account, whoever is assigned it: what STS needs to let someone
/// the role trusts become it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProvisionedRole {
    pub permission_set_id: Uuid,
    pub role_name: String,
    pub session_duration: i64,
    pub trust_policy: Option<String>,
}

/// The role named `ps_key` (lower-case) in an active account, if provisioned there.
pub async fn provisioned_role(
    tx: &mut Tx,
    account: &str,
    ps_key: &str,
) -> Result<Option<ProvisionedRole>, sqlx::Error> {
    db_run!(tx, c => sqlx::query_as(
        "SELECT ps.id AS permission_set_id, ps.name AS role_name, ps.session_duration, ps.trust_policy FROM account_roles r \
         JOIN permission_sets ps ON ps.id = r.permission_set_id JOIN accounts acc ON acc.id = r.account_id \
         WHERE r.account_id = $1 AND ps.name_key = $2 AND acc.status = 'active'")
        .bind(account).bind(ps_key).fetch_optional(c).await)
}

/// A role as provisioned in an active account, for a workload (no user) that holds it through
/// a trust policy; `username` is empty.
pub async fn provisioned_for_workload(
    tx: &mut Tx,
    account: &str,
    ps_key: &str,
) -> Result<Option<UsableRole>, sqlx::Error> {
    db_run!(tx, c => sqlx::query_as(
        "SELECT r.permission_set_id, r.revision, ps.name AS role_name, CAST('' AS TEXT) AS username, ps.session_duration \
         FROM account_roles r \
         JOIN permission_sets ps ON ps.id = r.permission_set_id \
         JOIN accounts acc ON acc.id = r.account_id \
         WHERE r.account_id = $1 AND ps.name_key = $2 AND acc.status = 'active'")
        .bind(account).bind(ps_key).fetch_optional(c).await)
}

/// Like [`usable_role`] without the assignment: the role provisioned in an active account, for
/// an active user who holds it through a trust policy (checked by STS).
pub async fn provisioned_usable(
    tx: &mut Tx,
    account: &str,
    ps_key: &str,
    user: Uuid,
) -> Result<Option<UsableRole>, sqlx::Error> {
    db_run!(tx, c => sqlx::query_as(
        "SELECT r.permission_set_id, r.revision, ps.name AS role_name, u.username, ps.session_duration FROM account_roles r \
         JOIN permission_sets ps ON ps.id = r.permission_set_id \
         JOIN accounts acc ON acc.id = r.account_id \
         JOIN users u ON u.id = $3 \
         WHERE r.account_id = $1 AND ps.name_key = $2 AND acc.status = 'active' AND u.status = 'active'")
        .bind(account).bind(ps_key).bind(user).fetch_optional(c).await)
}
