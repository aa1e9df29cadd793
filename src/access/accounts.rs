//! Accounts and organisational units: validation, uniqueness, the OU tree's rules (one root,
//! bounded depth, only empty OUs are deleted), and an audit record with every change.

use super::model::{self, Account, AccountId, AccountStatus, MAX_OU_DEPTH, OrgUnit, ROOT_OU_ID};
use super::store;
use crate::app::App;
use crate::audit;
use crate::db::{Tx, is_unique_violation};
use crate::directory::Ctx;
use crate::directory::model::{Email, Page, clamp_limit, decode_cursor, encode_cursor, parse_description};
use crate::error::{Error, Result};
use serde_json::json;
use std::collections::BTreeMap;
use uuid::Uuid;

fn ou_json(o: &OrgUnit) -> serde_json::Value {
    json!({"id": o.id, "parent_id": o.parent_id, "name": o.name, "description": o.description, "tags": model::tags_from_json(&o.tags)})
}

fn account_json(a: &Account) -> serde_json::Value {
    json!({"id": a.id, "name": a.name, "description": a.description, "owner_email": a.owner_email, "status": a.status,
           "ou_id": a.ou_id, "tags": model::tags_from_json(&a.tags)})
}

/// Input for a new or changed OU; `None` keeps a field as it is.
#[derive(Debug, Clone, Default)]
pub struct OuInput {
    pub parent_id: Option<Uuid>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
}

/// How deep `id` sits below the root (the root is 0).
async fn depth(tx: &mut Tx, id: Uuid) -> Result<usize> {
    let mut d = 0;
    let mut cur = store::find_ou(tx, id).await?.ok_or(Error::NotFound("organisational unit"))?;
    while let Some(p) = cur.parent_id {
        d += 1;
        if d > MAX_OU_DEPTH + 1 {
            break;
        }
        cur = store::find_ou(tx, p).await?.ok_or(Error::NotFound("organisational unit"))?;
    }
    Ok(d)
}

pub async fn create_ou(app: &App, ctx: &Ctx, input: OuInput) -> Result<OrgUnit> {
    let (name, key) = model::parse_name("name", input.name.as_deref().unwrap_or(""))?;
    let description = parse_description(input.description.as_deref().unwrap_or(""))?;
    let tags = model::tags_to_json(&model::parse_tags(&input.tags.unwrap_or_default())?);
    let parent = input.parent_id.unwrap_or(ROOT_OU_ID);
    let now = app.now();
    let id = Uuid::now_v7();
    let mut tx = app.db.begin().await?;
    if depth(&mut tx, parent).await? >= MAX_OU_DEPTH {
        return Err(Error::invalid(
            "parent_id",
            format!("organisational units nest at most {MAX_OU_DEPTH} levels deep"),
        ));
    }
    let row =
        store::NewOu { id, parent_id: parent, name: &name, key: &key, description: &description, tags: &tags, now };
    match store::insert_ou(&mut tx, &row).await {
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::Conflict(format!("the parent already has an organisational unit named {name:?}")));
        }
        r => r?,
    }
    let ou = store::find_ou(&mut tx, id).await?.ok_or(Error::NotFound("organisational unit"))?;
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "ou.create", "ou", id).details(json!({"after": ou_json(&ou)})),
    )
    .await?;
    tx.commit().await?;
    Ok(ou)
}

pub async fn get_ou(app: &App, id: Uuid) -> Result<OrgUnit> {
    let mut tx = app.db.conn().await?;
    store::find_ou(&mut tx, id).await?.ok_or(Error::NotFound("organisational unit"))
}

pub async fn list_ous(app: &App) -> Result<Vec<OrgUnit>> {
    let mut tx = app.db.conn().await?;
    Ok(store::list_ous(&mut tx).await?)
}

/// Renames, describes or re-tags an OU (OUs are not moved: accounts are).
pub async fn update_ou(app: &App, ctx: &Ctx, id: Uuid, input: OuInput) -> Result<OrgUnit> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let before = store::find_ou(&mut tx, id).await?.ok_or(Error::NotFound("organisational unit"))?;
    if input.parent_id.is_some_and(|p| Some(p) != before.parent_id) {
        return Err(Error::invalid("parent_id", "organisational units cannot be moved; move their accounts instead"));
    }
    let (name, key) = model::parse_name("name", input.name.as_deref().unwrap_or(&before.name))?;
    if id == ROOT_OU_ID && name != before.name {
        return Err(Error::Conflict("the root cannot be renamed".into()));
    }
    let description = parse_description(input.description.as_deref().unwrap_or(&before.description))?;
    let tags = match &input.tags {
        Some(t) => model::tags_to_json(&model::parse_tags(t)?),
        None => before.tags.clone(),
    };
    match store::update_ou(&mut tx, id, &name, &key, &description, &tags, now).await {
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::Conflict(format!("the parent already has an organisational unit named {name:?}")));
        }
        r => r?,
    }
    let after = store::find_ou(&mut tx, id).await?.ok_or(Error::NotFound("organisational unit"))?;
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "ou.update", "ou", id)
            .details(json!({"before": ou_json(&before), "after": ou_json(&after)})),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Deletes an empty OU (no accounts, no child OUs); the root stays.
pub async fn delete_ou(app: &App, ctx: &Ctx, id: Uuid) -> Result<()> {
    if id == ROOT_OU_ID {
        return Err(Error::Conflict("the root cannot be deleted".into()));
    }
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let before = store::find_ou(&mut tx, id).await?.ok_or(Error::NotFound("organisational unit"))?;
    let (children, accounts) = store::ou_contents(&mut tx, id).await?;
    if children > 0 || accounts > 0 {
        return Err(Error::Conflict(format!(
            "the organisational unit holds {children} organisational units and {accounts} accounts; move or delete them first"
        )));
    }
    match store::delete_ou(&mut tx, id).await {
        Err(e) if crate::db::is_foreign_key_violation(&e) => {
            return Err(Error::Conflict(
                "an account or unit was just put in this organisational unit; try again".into(),
            ));
        }
        r => r?,
    };
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "ou.delete", "ou", id).details(json!({"before": ou_json(&before)})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Input for a new or changed account; `None` keeps a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AccountInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub owner_email: Option<String>,
    pub status: Option<String>,
    pub ou_id: Option<Uuid>,
    pub tags: Option<BTreeMap<String, String>>,
}

struct AccountFields {
    name: String,
    key: String,
    description: String,
    owner_email: String,
    status: AccountStatus,
    ou_id: Uuid,
    tags: String,
}

fn account_fields(input: &AccountInput, before: Option<&Account>) -> Result<AccountFields> {
    let (name, key) =
        model::parse_name("name", input.name.as_deref().or(before.map(|b| b.name.as_str())).unwrap_or(""))?;
    let description =
        parse_description(input.description.as_deref().or(before.map(|b| b.description.as_str())).unwrap_or(""))?;
    let email = input.owner_email.as_deref().or(before.map(|b| b.owner_email.as_str())).unwrap_or("");
    let owner_email = Email::parse(email).map_err(|_| Error::invalid("owner_email", "is not a valid email address"))?;
    if owner_email.as_str().is_empty() {
        return Err(Error::invalid("owner_email", "is required: the person responsible for the account"));
    }
    let status =
        AccountStatus::parse(input.status.as_deref().or(before.map(|b| b.status.as_str())).unwrap_or("active"))?;
    let tags = match (&input.tags, before) {
        (Some(t), _) => model::tags_to_json(&model::parse_tags(t)?),
        (None, Some(b)) => b.tags.clone(),
        (None, None) => "{}".into(),
    };
    Ok(AccountFields {
        name,
        key,
        description,
        owner_email: owner_email.as_str().to_string(),
        status,
        ou_id: input.ou_id.or(before.map(|b| b.ou_id)).unwrap_or(ROOT_OU_ID),
        tags,
    })
}

fn account_row<'a>(id: &'a str, f: &'a AccountFields, now: i64) -> store::AccountRow<'a> {
    store::AccountRow {
        id,
        name: &f.name,
        key: &f.key,
        description: &f.description,
        owner_email: &f.owner_email,
        status: f.status.as_str(),
        ou_id: f.ou_id,
        tags: &f.tags,
        now,
    }
}

/// Creates an account with a fresh 12-digit id.
pub async fn create_account(app: &App, ctx: &Ctx, input: AccountInput) -> Result<Account> {
    let f = account_fields(&input, None)?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    store::find_ou(&mut tx, f.ou_id).await?.ok_or_else(|| Error::invalid("ou_id", "no such organisational unit"))?;
    if store::find_account_by_name(&mut tx, &f.key).await?.is_some() {
        return Err(Error::Conflict(format!("an account named {:?} exists", f.name)));
    }
    let mut id = AccountId::generate();
    for _ in 0..8 {
        if store::find_account(&mut tx, id.as_str()).await?.is_none() {
            break;
        }
        id = AccountId::generate();
    }
    let row = account_row(id.as_str(), &f, now);
    match store::insert_account(&mut tx, &row).await {
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::Conflict(format!("an account named {:?} exists", f.name)));
        }
        r => r?,
    }
    let account = store::find_account(&mut tx, id.as_str()).await?.ok_or(Error::NotFound("account"))?;
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "account.create", "account", id.as_str())
            .details(json!({"after": account_json(&account)})),
    )
    .await?;
    tx.commit().await?;
    Ok(account)
}

pub async fn get_account(app: &App, id: &str) -> Result<Account> {
    let id = AccountId::parse(id)?;
    let mut tx = app.db.conn().await?;
    store::find_account(&mut tx, id.as_str()).await?.ok_or(Error::NotFound("account"))
}

/// An account by id or by name (case-insensitive), for the CLI and forms.
pub async fn find_account(app: &App, id_or_name: &str) -> Result<Account> {
    let mut tx = app.db.conn().await?;
    if let Ok(id) = AccountId::parse(id_or_name)
        && let Some(a) = store::find_account(&mut tx, id.as_str()).await?
    {
        return Ok(a);
    }
    store::find_account_by_name(&mut tx, &id_or_name.trim().to_lowercase()).await?.ok_or(Error::NotFound("account"))
}

/// A page of accounts by name; `prefix` matches the start of the name or of the id.
pub async fn list_accounts(
    app: &App,
    prefix: Option<&str>,
    ou: Option<Uuid>,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<Account>> {
    let after = match after {
        Some(c) => decode_cursor(c)?,
        None => String::new(),
    };
    let limit = clamp_limit(limit);
    let prefix = prefix.map(|p| p.trim().to_lowercase()).filter(|p| !p.is_empty());
    let mut tx = app.db.conn().await?;
    let rows = store::list_accounts(&mut tx, &after, prefix.as_deref(), ou, limit + 1).await?;
    Ok(Page::cut(rows, limit, |(_, k)| encode_cursor(k)).map(|(a, _)| a))
}

/// Changes an account; suspending it stops every role in it at once (decisions check status).
pub async fn update_account(app: &App, ctx: &Ctx, id: &str, input: AccountInput) -> Result<Account> {
    let id = AccountId::parse(id)?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let before = store::find_account(&mut tx, id.as_str()).await?.ok_or(Error::NotFound("account"))?;
    let f = account_fields(&input, Some(&before))?;
    store::find_ou(&mut tx, f.ou_id).await?.ok_or_else(|| Error::invalid("ou_id", "no such organisational unit"))?;
    let row = account_row(id.as_str(), &f, now);
    match store::update_account(&mut tx, &row).await {
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::Conflict(format!("an account named {:?} exists", f.name)));
        }
        r => r?,
    }
    let after = store::find_account(&mut tx, id.as_str()).await?.ok_or(Error::NotFound("account"))?;
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "account.update", "account", id.as_str())
            .details(json!({"before": account_json(&before), "after": account_json(&after)})),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Deletes an account with its assignments and roles (all recorded in the audit event).
pub async fn delete_account(app: &App, ctx: &Ctx, id: &str) -> Result<()> {
    let id = AccountId::parse(id)?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let before = store::find_account(&mut tx, id.as_str()).await?.ok_or(Error::NotFound("account"))?;
    let assignments = store::count_account_assignments(&mut tx, id.as_str()).await?;
    store::delete_account(&mut tx, id.as_str()).await?;
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "account.delete", "account", id.as_str())
            .details(json!({"before": account_json(&before), "assignments_removed": assignments})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
