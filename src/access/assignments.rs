//! Assignments (a user or a group gets a permission set in an account) and what they add up
//! to: a person's roles are their direct assignments plus those of their groups, resolved in
//! the database on every request, so a removed membership takes effect at once.

use super::model::{AccessRow, AccountId, Assignment, PrincipalType};
use super::permission_sets::provision_in;
use super::store::{self, AssignmentFilter};
use crate::app::App;
use crate::audit;
use crate::db::{is_foreign_key_violation, is_unique_violation};
use crate::directory::Ctx;
use crate::directory::model::{Page, clamp_limit};
use crate::error::{Error, Result};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

fn assignment_json(a: &Assignment) -> serde_json::Value {
    json!({"id": a.id, "account_id": a.account_id, "account": a.account_name, "permission_set_id": a.permission_set_id,
           "permission_set": a.permission_set_name, "principal_type": a.principal_type().as_str(),
           "principal_id": a.principal_id(), "principal": a.principal_name})
}

/// Assigns a permission set to a user or group in an account and provisions the role there
/// in the same transaction, so the assignment works as soon as it is answered.
pub async fn create_assignment(
    app: &App,
    ctx: &Ctx,
    account_id: &str,
    permission_set: Uuid,
    principal_type: PrincipalType,
    principal_id: Uuid,
) -> Result<Assignment> {
    let account = AccountId::parse(account_id)?;
    let now = app.now();
    let id = Uuid::now_v7();
    let mut tx = app.db.begin().await?;
    store::find_account(&mut tx, account.as_str()).await?.ok_or(Error::NotFound("account"))?;
    store::find_permission_set(&mut tx, permission_set).await?.ok_or(Error::NotFound("permission set"))?;
    let (user_id, group_id) = match principal_type {
        PrincipalType::User => (Some(principal_id), None),
        PrincipalType::Group => (None, Some(principal_id)),
    };
    let row = store::NewAssignment {
        id,
        account_id: account.as_str(),
        permission_set_id: permission_set,
        user_id,
        group_id,
        now,
    };
    match store::insert_assignment(&mut tx, &row).await {
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::Conflict("that principal already has this permission set in this account".into()));
        }
        Err(e) if is_foreign_key_violation(&e) => {
            // The account and permission set were found above: the principal is missing, or
            // one of them was deleted a moment ago.
            return Err(Error::NotFound(if user_id.is_some() { "user" } else { "group" }));
        }
        r => r?,
    }
    provision_in(&mut tx, permission_set, Some(account.as_str()), now).await?;
    let a = store::find_assignment(&mut tx, id).await?.ok_or(Error::NotFound("assignment"))?;
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "assignment.create", "assignment", id)
            .details(json!({"after": assignment_json(&a)})),
    )
    .await?;
    tx.commit().await?;
    Ok(a)
}

pub async fn get_assignment(app: &App, id: Uuid) -> Result<Assignment> {
    let mut tx = app.db.conn().await?;
    store::find_assignment(&mut tx, id).await?.ok_or(Error::NotFound("assignment"))
}

/// Removes an assignment; the role goes from the account when nothing else assigns it there.
/// Access that depended on it ends with the next decision.
pub async fn delete_assignment(app: &App, ctx: &Ctx, id: Uuid) -> Result<()> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let before = store::find_assignment(&mut tx, id).await?.ok_or(Error::NotFound("assignment"))?;
    store::delete_assignment(&mut tx, id).await?;
    let roles_removed = store::delete_unassigned_roles(&mut tx, before.permission_set_id).await?;
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "assignment.delete", "assignment", id)
            .details(json!({"before": assignment_json(&before), "roles_removed": roles_removed})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A page of assignments matching `f`, oldest first.
pub async fn list_assignments(
    app: &App,
    f: &AssignmentFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<Assignment>> {
    let after = match after {
        Some(c) => {
            Some(Uuid::parse_str(c).map_err(|_| Error::invalid("next", "is not a cursor returned by this API"))?)
        }
        None => None,
    };
    let limit = clamp_limit(limit);
    let mut tx = app.db.conn().await?;
    let items = store::list_assignments(&mut tx, f, after, limit + 1).await?;
    Ok(Page::cut(items, limit, |a| a.id.to_string()))
}

/// One account a person can use, with the roles they have there.
#[derive(Debug, Clone, Serialize)]
pub struct AccountAccess {
    pub account_id: String,
    pub account_name: String,
    pub account_email: String,
    pub roles: Vec<AccessRow>,
}

/// A page of the accounts a person can use.
#[derive(Debug, Clone, Serialize)]
pub struct AccessPage {
    pub accounts: Vec<AccountAccess>,
    /// Opaque cursor of the next page.
    pub next: Option<String>,
    /// Accounts in all pages.
    pub total: i64,
}

/// The accounts and roles a person can use (direct assignments and those of their groups, in
/// active accounts), by account name, `limit` accounts a page (at most 1000); `filter` narrows
/// by account name, id prefix or role name.
pub async fn access_of(
    app: &App,
    user: Uuid,
    filter: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<AccessPage> {
    let filter = filter.map(|f| f.trim().to_lowercase()).filter(|f| !f.is_empty());
    let after = match after {
        Some(c) => crate::directory::model::decode_cursor(c)?,
        None => String::new(),
    };
    let limit = clamp_limit(limit);
    let mut tx = app.db.read().await?;
    let accounts = store::access_accounts(&mut tx, user, filter.as_deref(), &after, limit + 1).await?;
    let total = match accounts.first() {
        Some(a) => a.4,
        // Past the last page: count on its own.
        None if !after.is_empty() => store::count_access_accounts(&mut tx, user, filter.as_deref()).await?,
        None => 0,
    };
    let Page { items: accounts, next } = Page::cut(accounts, limit, |a| crate::directory::model::encode_cursor(&a.3));
    let Some(last) = accounts.last().map(|a| a.3.clone()) else {
        return Ok(AccessPage { accounts: Vec::new(), next: None, total });
    };
    let rows = store::access_roles(&mut tx, user, filter.as_deref(), &after, &last).await?;
    let mut out: Vec<AccountAccess> = accounts
        .into_iter()
        .map(|(id, name, email, _, _)| AccountAccess {
            account_id: id,
            account_name: name,
            account_email: email,
            roles: Vec::new(),
        })
        .collect();
    let index: std::collections::HashMap<String, usize> =
        out.iter().enumerate().map(|(i, a)| (a.account_id.clone(), i)).collect();
    // A role of an account that appeared between the two queries is left for the next look.
    for r in rows {
        if let Some(&i) = index.get(&r.account_id) {
            out[i].roles.push(r);
        }
    }
    out.retain(|a| !a.roles.is_empty());
    Ok(AccessPage { accounts: out, next, total })
}

/// The user's roles in one account (none when the account is suspended or unknown).
pub async fn roles_in_account(app: &App, user: Uuid, account: &AccountId) -> Result<Vec<AccessRow>> {
    let mut tx = app.db.read().await?;
    Ok(store::roles_in_account(&mut tx, user, account.as_str()).await?)
}

/// The role `user` may use as `role` (a permission set name, any case) in `account`: the
/// account and the user are active and the permission set is assigned to the user there,
/// directly or through a group. Checked on every use of role credentials.
pub async fn usable_role(app: &App, account: &AccountId, role: &str, user: Uuid) -> Result<Option<store::UsableRole>> {
    let (_, key) = super::model::parse_iam_name("permission_set", role, 32)?;
    let mut tx = app.db.conn().await?;
    Ok(store::usable_role(&mut tx, account.as_str(), &key, user).await?)
}
