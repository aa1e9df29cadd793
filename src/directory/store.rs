//! SQL for users, groups and memberships. Functions take the caller's transaction.

use super::model::{Group, User};
use crate::db::{Tx, prefix_end};
use crate::db_run;
use uuid::Uuid;

const USER_COLS: &str =
    "id, username, display_name, email, status, password_hash, must_change_password, created_at, updated_at";

pub struct NewUser<'a> {
    pub id: Uuid,
    pub username: &'a str,
    pub username_key: &'a str,
    pub display_name: &'a str,
    pub email: &'a str,
    pub status: &'a str,
    pub password_hash: Option<&'a str>,
    pub must_change_password: bool,
    pub now: i64,
}

pub async fn insert_user(tx: &mut Tx, u: &NewUser<'_>) -> Result<(), sqlx::Error> {
    db_run!(tx, c => sqlx::query(
        "INSERT INTO users (id, username, username_key, display_name, email, email_key, status, password_hash, must_change_password, password_changed_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)")
        .bind(u.id).bind(u.username).bind(u.username_key).bind(u.display_name).bind(u.email).bind(u.email.to_lowercase())
        .bind(u.status).bind(u.password_hash).bind(u.must_change_password).bind(u.password_hash.map(|_| u.now)).bind(u.now)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn find_user(tx: &mut Tx, id: Uuid) -> Result<Option<User>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {USER_COLS} FROM users WHERE id = $1"));
    db_run!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await)
}

pub async fn find_user_by_username(tx: &mut Tx, username_key: &str) -> Result<Option<User>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {USER_COLS} FROM users WHERE username_key = $1"));
    db_run!(tx, c => sqlx::query_as(sql).bind(username_key).fetch_optional(c).await)
}

/// Users ordered by username key, after `after_key`, optionally within prefix ranges.
pub async fn list_users(
    tx: &mut Tx,
    after_key: &str,
    username_prefix: Option<&str>,
    email_prefix: Option<&str>,
    limit: i64,
) -> Result<Vec<User>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLS} FROM users WHERE username_key > $1 \
         AND ($2 IS NULL OR (username_key >= $2 AND username_key < $3)) \
         AND ($4 IS NULL OR (email_key >= $4 AND email_key < $5)) \
         ORDER BY username_key LIMIT $6"
    ));
    db_run!(tx, c => sqlx::query_as(sql)
        .bind(after_key)
        .bind(username_prefix).bind(username_prefix.map(prefix_end))
        .bind(email_prefix).bind(email_prefix.map(prefix_end))
        .bind(limit)
        .fetch_all(c).await)
}

pub async fn count_users(tx: &mut Tx) -> Result<i64, sqlx::Error> {
    db_run!(tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(c).await)
}

pub struct UserChange<'a> {
    pub username: &'a str,
    pub username_key: &'a str,
    pub display_name: &'a str,
    pub email: &'a str,
    pub status: &'a str,
    pub now: i64,
}

pub async fn update_user(tx: &mut Tx, id: Uuid, u: &UserChange<'_>) -> Result<(), sqlx::Error> {
    db_run!(tx, c => sqlx::query(
        "UPDATE users SET username = $1, username_key = $2, display_name = $3, email = $4, email_key = $5, status = $6, updated_at = $7 WHERE id = $8")
        .bind(u.username).bind(u.username_key).bind(u.display_name).bind(u.email).bind(u.email.to_lowercase())
        .bind(u.status).bind(u.now).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn set_password_hash(
    tx: &mut Tx,
    id: Uuid,
    hash: &str,
    must_change: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    db_run!(tx, c => sqlx::query(
        "UPDATE users SET password_hash = $1, must_change_password = $2, password_changed_at = $3, updated_at = $3 WHERE id = $4")
        .bind(hash).bind(must_change).bind(now).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Replaces a hash only if it is still the one we verified (a re-hash must not undo a change).
pub async fn upgrade_password_hash(tx: &mut Tx, id: Uuid, old: &str, new: &str) -> Result<(), sqlx::Error> {
    db_run!(tx, c => sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3")
        .bind(new).bind(id).bind(old).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn delete_user(tx: &mut Tx, id: Uuid) -> Result<u64, sqlx::Error> {
    db_run!(tx, c => sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(c).await.map(|r| r.rows_affected()))
}

const GROUP_COLS: &str = "id, name, description, created_at, updated_at";

pub async fn insert_group(
    tx: &mut Tx,
    id: Uuid,
    name: &str,
    key: &str,
    description: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    db_run!(tx, c => sqlx::query("INSERT INTO user_groups (id, name, name_key, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)")
        .bind(id).bind(name).bind(key).bind(description).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn find_group(tx: &mut Tx, id: Uuid) -> Result<Option<Group>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {GROUP_COLS} FROM user_groups WHERE id = $1"));
    db_run!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await)
}

pub async fn find_group_by_name(tx: &mut Tx, key: &str) -> Result<Option<Group>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {GROUP_COLS} FROM user_groups WHERE name_key = $1"));
    db_run!(tx, c => sqlx::query_as(sql).bind(key).fetch_optional(c).await)
}

pub async fn list_groups(
    tx: &mut Tx,
    after_key: &str,
    prefix: Option<&str>,
    limit: i64,
) -> Result<Vec<(Group, String)>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        group: Group,
        name_key: String,
    }
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {GROUP_COLS}, name_key FROM user_groups WHERE name_key > $1 AND ($2 IS NULL OR (name_key >= $2 AND name_key < $3)) ORDER BY name_key LIMIT $4"
    ));
    let rows: Vec<Row> = db_run!(tx, c => sqlx::query_as(sql).bind(after_key).bind(prefix).bind(prefix.map(prefix_end)).bind(limit).fetch_all(c).await)?;
    Ok(rows.into_iter().map(|r| (r.group, r.name_key)).collect())
}

pub async fn update_group(
    tx: &mut Tx,
    id: Uuid,
    name: &str,
    key: &str,
    description: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    db_run!(tx, c => sqlx::query("UPDATE user_groups SET name = $1, name_key = $2, description = $3, updated_at = $4 WHERE id = $5")
        .bind(name).bind(key).bind(description).bind(now).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn delete_group(tx: &mut Tx, id: Uuid) -> Result<u64, sqlx::Error> {
    db_run!(tx, c => sqlx::query("DELETE FROM user_groups WHERE id = $1").bind(id).execute(c).await.map(|r| r.rows_affected()))
}

/// Adds a member; returns false if already a member.
pub async fn insert_member(tx: &mut Tx, group: Uuid, user: Uuid, now: i64) -> Result<bool, sqlx::Error> {
    db_run!(tx, c => sqlx::query("INSERT INTO group_members (group_id, user_id, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(group).bind(user).bind(now).execute(c).await.map(|r| r.rows_affected() == 1))
}

pub async fn delete_member(tx: &mut Tx, group: Uuid, user: Uuid) -> Result<bool, sqlx::Error> {
    db_run!(tx, c => sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
        .bind(group).bind(user).execute(c).await.map(|r| r.rows_affected() == 1))
}

pub async fn is_member(tx: &mut Tx, group: Uuid, user: Uuid) -> Result<bool, sqlx::Error> {
    let n: i64 = db_run!(tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM group_members WHERE group_id = $1 AND user_id = $2")
        .bind(group).bind(user).fetch_one(c).await)?;
    Ok(n > 0)
}

/// Members of a group (active or not), by username, after `after_key`.
pub async fn list_members(tx: &mut Tx, group: Uuid, after_key: &str, limit: i64) -> Result<Vec<User>, sqlx::Error> {
    let cols = USER_COLS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ");
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {cols} FROM users u JOIN group_members m ON m.user_id = u.id WHERE m.group_id = $1 AND u.username_key > $2 ORDER BY u.username_key LIMIT $3"
    ));
    db_run!(tx, c => sqlx::query_as(sql).bind(group).bind(after_key).bind(limit).fetch_all(c).await)
}

pub async fn count_members(tx: &mut Tx, group: Uuid) -> Result<i64, sqlx::Error> {
    db_run!(tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM group_members WHERE group_id = $1").bind(group).fetch_one(c).await)
}

/// Active members of a group other than `except` (to keep at least one administrator).
pub async fn count_other_active_members(tx: &mut Tx, group: Uuid, except: Uuid) -> Result<i64, sqlx::Error> {
    db_run!(tx, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = $1 AND u.id <> $2 AND u.status = 'active'")
        .bind(group).bind(except).fetch_one(c).await)
}

/// The groups a user belongs to, by name.
pub async fn groups_of(tx: &mut Tx, user: Uuid) -> Result<Vec<Group>, sqlx::Error> {
    let cols = GROUP_COLS.split(", ").map(|c| format!("g.{c}")).collect::<Vec<_>>().join(", ");
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {cols} FROM user_groups g JOIN group_members m ON m.group_id = g.id WHERE m.user_id = $1 ORDER BY g.name_key"
    ));
    db_run!(tx, c => sqlx::query_as(sql).bind(user).fetch_all(c).await)
}
