//! Directory rules: validation, uniqueness, the last-administrator guard, and an audit record
//! in the same transaction as every change.

use super::model::{self, ADMIN_GROUP_ID, Email, Group, ListQuery, Page, Status, User, Username, clamp_limit};
use super::store;
use crate::app::App;
use crate::audit::{self, Actor, Origin};
use crate::db::is_unique_violation;
use crate::error::{Error, Result};
use serde_json::json;
use uuid::Uuid;

/// Who is acting, and from where; every change is audited with it.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub actor: Actor,
    pub origin: Origin,
}

/// Input for a new user.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub password: Option<String>,
    pub must_change_password: bool,
    pub disabled: bool,
}

/// A partial update; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub status: Option<String>,
}

/// The audit view of a user (never the password hash).
pub fn user_json(u: &User) -> serde_json::Value {
    json!({"id": u.id, "username": u.username, "display_name": u.display_name, "email": u.email, "status": u.status})
}

fn group_json(g: &Group) -> serde_json::Value {
    json!({"id": g.id, "name": g.name, "description": g.description})
}

/// Creates a user, hashing the password if one is given (it must pass the password policy).
pub async fn create_user(app: &App, ctx: &Ctx, input: NewUser) -> Result<User> {
    let username = Username::parse(&input.username)?;
    let email = Email::parse(&input.email)?;
    let display_name = model::parse_display_name(&input.display_name, username.as_str())?;
    let hash = match &input.password {
        Some(pw) => {
            app.passwords.check(pw, username.as_str())?;
            Some(app.hasher.hash(pw.clone()).await?)
        }
        None => None,
    };
    let now = app.now();
    let id = Uuid::now_v7();
    let status = if input.disabled { Status::Disabled } else { Status::Active };
    let mut tx = app.db.begin().await?;
    let res = store::insert_user(
        &mut tx,
        &store::NewUser {
            id,
            username: username.as_str(),
            username_key: &username.key(),
            display_name: &display_name,
            email: email.as_str(),
            status: status.as_str(),
            password_hash: hash.as_deref(),
            must_change_password: input.must_change_password,
            now,
        },
    )
    .await;
    match res {
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::Conflict(format!("username {:?} is taken", username.as_str())));
        }
        r => r?,
    }
    let user = store::find_user(&mut tx, id).await?.ok_or(Error::NotFound("user"))?;
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "user.create", "user", id.to_string())
            .details(json!({"after": user_json(&user), "password_set": hash.is_some()})),
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

pub async fn get_user(app: &App, id: Uuid) -> Result<User> {
    let mut tx = app.db.conn().await?;
    store::find_user(&mut tx, id).await?.ok_or(Error::NotFound("user"))
}

pub async fn find_user_by_username(app: &App, username: &str) -> Result<Option<User>> {
    let mut tx = app.db.conn().await?;
    Ok(store::find_user_by_username(&mut tx, &username.trim().to_ascii_lowercase()).await?)
}

/// A page of users ordered by username, with optional prefix filters.
pub async fn list_users(app: &App, q: &ListQuery) -> Result<Page<User>> {
    let after = match &q.after {
        Some(c) => model::decode_cursor(c)?,
        None => String::new(),
    };
    let limit = clamp_limit(q.limit);
    let uprefix = q.username_prefix.as_ref().map(|p| p.trim().to_ascii_lowercase()).filter(|p| !p.is_empty());
    let eprefix = q.email_prefix.as_ref().map(|p| p.trim().to_lowercase()).filter(|p| !p.is_empty());
    let mut tx = app.db.read().await?;
    let items = store::list_users(&mut tx, &after, uprefix.as_deref(), eprefix.as_deref(), limit + 1).await?;
    Ok(Page::cut(items, limit, |u| model::encode_cursor(&u.username.to_ascii_lowercase())))
}

async fn guard_last_admin(tx: &mut crate::db::Tx, user: Uuid) -> Result<()> {
    if store::is_member(tx, ADMIN_GROUP_ID, user).await?
        && store::count_other_active_members(tx, ADMIN_GROUP_ID, user).await? == 0
    {
        return Err(Error::Conflict(
            "this is the last active administrator; make someone else an administrator first".into(),
        ));
    }
    Ok(())
}

/// Updates a user. Disabling one ends their sessions at once.
pub async fn update_user(app: &App, ctx: &Ctx, id: Uuid, patch: UserPatch) -> Result<User> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let before = store::find_user(&mut tx, id).await?.ok_or(Error::NotFound("user"))?;
    let username = Username::parse(patch.username.as_deref().unwrap_or(&before.username))?;
    let email = Email::parse(patch.email.as_deref().unwrap_or(&before.email))?;
    let display_name =
        model::parse_display_name(patch.display_name.as_deref().unwrap_or(&before.display_name), username.as_str())?;
    let status = Status::parse(patch.status.as_deref().unwrap_or(&before.status))?;
    if status == Status::Disabled && before.is_active() {
        guard_last_admin(&mut tx, id).await?;
    }
    let res = store::update_user(
        &mut tx,
        id,
        &store::UserChange {
            username: username.as_str(),
            username_key: &username.key(),
            display_name: &display_name,
            email: email.as_str(),
            status: status.as_str(),
            now,
        },
    )
    .await;
    match res {
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::Conflict(format!("username {:?} is taken", username.as_str())));
        }
        r => r?,
    }
    let after = store::find_user(&mut tx, id).await?.ok_or(Error::NotFound("user"))?;
    let revoked =
        if status == Status::Disabled { crate::authn::sessions::revoke_all_in(&mut tx, id).await? } else { 0 };
    if status == Status::Disabled {
        crate::oidc::grants::revoke_user_in(&mut tx, id, now).await?;
        crate::sts::credentials::revoke_user_in(&mut tx, id, now).await?;
    }
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "user.update", "user", id.to_string())
            .details(json!({"before": user_json(&before), "after": user_json(&after), "sessions_revoked": revoked})),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Deletes a user, with their memberships and sessions.
pub async fn delete_user(app: &App, ctx: &Ctx, id: Uuid) -> Result<()> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let before = store::find_user(&mut tx, id).await?.ok_or(Error::NotFound("user"))?;
    guard_last_admin(&mut tx, id).await?;
    store::delete_user(&mut tx, id).await?;
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "user.delete", "user", id.to_string())
            .details(json!({"before": user_json(&before)})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sets a user's password as an administrator (policy applies), optionally forcing a change at
/// next sign-in. The user's sessions end.
pub async fn set_password(app: &App, ctx: &Ctx, id: Uuid, password: &str, must_change: bool) -> Result<()> {
    let user = get_user(app, id).await?;
    app.passwords.check(password, &user.username)?;
    let hash = app.hasher.hash(password.to_string()).await?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    store::set_password_hash(&mut tx, id, &hash, must_change, now).await?;
    let revoked = crate::authn::sessions::revoke_all_in(&mut tx, id).await?;
    crate::oidc::grants::revoke_user_in(&mut tx, id, now).await?;
    crate::sts::credentials::revoke_user_in(&mut tx, id, now).await?;
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "user.password_reset", "user", id.to_string())
            .details(json!({"must_change_password": must_change, "sessions_revoked": revoked})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether the user administers Lanyard (is in the built-in administrators group and active).
pub async fn is_admin(app: &App, user: Uuid) -> Result<bool> {
    let mut tx = app.db.conn().await?;
    Ok(store::is_member(&mut tx, ADMIN_GROUP_ID, user).await?)
}

pub async fn create_group(app: &App, ctx: &Ctx, name: &str, description: &str) -> Result<Group> {
    let (name, key) = model::parse_group_name(name)?;
    let description = model::parse_description(description)?;
    let now = app.now();
    let id = Uuid::now_v7();
    let mut tx = app.db.begin().await?;
    match store::insert_group(&mut tx, id, &name, &key, &description, now).await {
        Err(e) if is_unique_violation(&e) => return Err(Error::Conflict(format!("a group named {name:?} exists"))),
        r => r?,
    }
    let group = store::find_group(&mut tx, id).await?.ok_or(Error::NotFound("group"))?;
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "group.create", "group", id.to_string())
            .details(json!({"after": group_json(&group)})),
    )
    .await?;
    tx.commit().await?;
    Ok(group)
}

pub async fn get_group(app: &App, id: Uuid) -> Result<Group> {
    let mut tx = app.db.read().await?;
    store::find_group(&mut tx, id).await?.ok_or(Error::NotFound("group"))
}

pub async fn list_groups(app: &App, prefix: Option<&str>, after: Option<&str>, limit: i64) -> Result<Page<Group>> {
    let after = match after {
        Some(c) => model::decode_cursor(c)?,
        None => String::new(),
    };
    let limit = clamp_limit(limit);
    let prefix = prefix.map(|p| p.trim().to_lowercase()).filter(|p| !p.is_empty());
    let mut tx = app.db.read().await?;
    let rows = store::list_groups(&mut tx, &after, prefix.as_deref(), limit + 1).await?;
    Ok(Page::cut(rows, limit, |(_, k)| model::encode_cursor(k)).map(|(g, _)| g))
}

pub async fn update_group(
    app: &App,
    ctx: &Ctx,
    id: Uuid,
    name: Option<&str>,
    description: Option<&str>,
) -> Result<Group> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let before = store::find_group(&mut tx, id).await?.ok_or(Error::NotFound("group"))?;
    let (name, key) = model::parse_group_name(name.unwrap_or(&before.name))?;
    if id == ADMIN_GROUP_ID && name != before.name {
        return Err(Error::Conflict("the built-in administrators group cannot be renamed".into()));
    }
    let description = model::parse_description(description.unwrap_or(&before.description))?;
    match store::update_group(&mut tx, id, &name, &key, &description, now).await {
        Err(e) if is_unique_violation(&e) => return Err(Error::Conflict(format!("a group named {name:?} exists"))),
        r => r?,
    }
    let after = store::find_group(&mut tx, id).await?.ok_or(Error::NotFound("group"))?;
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "group.update", "group", id.to_string())
            .details(json!({"before": group_json(&before), "after": group_json(&after)})),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn delete_group(app: &App, ctx: &Ctx, id: Uuid) -> Result<()> {
    if id == ADMIN_GROUP_ID {
        return Err(Error::Conflict("the built-in administrators group cannot be deleted".into()));
    }
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let before = store::find_group(&mut tx, id).await?.ok_or(Error::NotFound("group"))?;
    let members = store::count_members(&mut tx, id).await?;
    store::delete_group(&mut tx, id).await?;
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "group.delete", "group", id.to_string())
            .details(json!({"before": group_json(&before), "members": members})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Adds a user to a group; adding an existing member is not an error (idempotent PUT).
pub async fn add_member(app: &App, ctx: &Ctx, group: Uuid, user: Uuid) -> Result<bool> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let g = store::find_group(&mut tx, group).await?.ok_or(Error::NotFound("group"))?;
    let u = store::find_user(&mut tx, user).await?.ok_or(Error::NotFound("user"))?;
    let added = store::insert_member(&mut tx, group, user, now).await?;
    if added {
        audit::record(
            &mut tx,
            now,
            &ctx.origin,
            audit::Event::new(&ctx.actor, "group.member_add", "group", group.to_string())
                .details(json!({"group": g.name, "user_id": u.id, "username": u.username})),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(added)
}

pub async fn remove_member(app: &App, ctx: &Ctx, group: Uuid, user: Uuid) -> Result<()> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let g = store::find_group(&mut tx, group).await?.ok_or(Error::NotFound("group"))?;
    if group == ADMIN_GROUP_ID {
        guard_last_admin(&mut tx, user).await?;
    }
    if !store::delete_member(&mut tx, group, user).await? {
        return Err(Error::NotFound("membership"));
    }
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "group.member_remove", "group", group.to_string())
            .details(json!({"group": g.name, "user_id": user})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn list_members(app: &App, group: Uuid, after: Option<&str>, limit: i64) -> Result<Page<User>> {
    let after = match after {
        Some(c) => model::decode_cursor(c)?,
        None => String::new(),
    };
    let limit = clamp_limit(limit);
    let mut tx = app.db.read().await?;
    store::find_group(&mut tx, group).await?.ok_or(Error::NotFound("group"))?;
    let items = store::list_members(&mut tx, group, &after, limit + 1).await?;
    Ok(Page::cut(items, limit, |u| model::encode_cursor(&u.username.to_ascii_lowercase())))
}

pub async fn groups_of(app: &App, user: Uuid) -> Result<Vec<Group>> {
    let mut tx = app.db.read().await?;
    store::find_user(&mut tx, user).await?.ok_or(Error::NotFound("user"))?;
    Ok(store::groups_of(&mut tx, user).await?)
}

/// Creates the first administrator (or, with `force_reset`, resets an existing one's password).
/// Runs directly on the database; used by `lanyard bootstrap`.
pub async fn bootstrap_admin(app: &App, username: &str, password: &str, force_reset: bool) -> Result<User> {
    let ctx = Ctx { actor: Actor::cli("bootstrap"), origin: Origin::default() };
    let uname = Username::parse(username)?;
    {
        let mut tx = app.db.read().await?;
        let admins = store::count_members(&mut tx, ADMIN_GROUP_ID).await?;
        if admins > 0 && !force_reset {
            return Err(Error::Conflict(
                "an administrator already exists; sign in as them, or pass --force-reset to reset this user's password"
                    .into(),
            ));
        }
    }
    let existing = find_user_by_username(app, uname.as_str()).await?;
    let user = match existing {
        Some(u) => {
            set_password(app, &ctx, u.id, password, true).await?;
            if !u.is_active() {
                update_user(app, &ctx, u.id, UserPatch { status: Some("active".into()), ..Default::default() }).await?;
            }
            u
        }
        None => {
            create_user(
                app,
                &ctx,
                NewUser {
                    username: uname.as_str().to_string(),
                    display_name: String::new(),
                    email: String::new(),
                    password: Some(password.to_string()),
                    must_change_password: true,
                    disabled: false,
                },
            )
            .await?
        }
    };
    add_member(app, &ctx, ADMIN_GROUP_ID, user.id).await?;
    get_user(app, user.id).await
}

/// Whether any administrator exists.
pub async fn is_admin_configured(app: &App) -> Result<bool> {
    let mut tx = app.db.read().await?;
    Ok(store::count_members(&mut tx, ADMIN_GROUP_ID).await? > 0)
}
