//! Admin pages: users, groups and memberships, tokens, the audit log. They call the same
//! services as the admin API, so both surfaces follow one set of rules.

use super::home::NoticeQuery;
use super::profile::{SessionRow, session_rows};
use super::{AdminUser, Layout, PortalForm, render, see_other, when};
use crate::app::AppState;
use crate::directory::model::ListQuery;
use crate::directory::service::{self, NewUser, UserPatch};
use crate::directory::{Group, User};
use crate::error::Error;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(|| async { see_other("/admin/users") }))
        .route("/admin/users", get(list_users).post(create_user))
        .route("/admin/users/{id}", get(show_user).post(update_user))
        .route("/admin/users/{id}/password", post(set_password))
        .route("/admin/users/{id}/delete", post(delete_user))
        .route("/admin/users/{id}/unlock", post(unlock_user))
        .route("/admin/users/{id}/sessions/revoke", post(revoke_sessions))
        .route("/admin/users/{id}/groups", post(add_user_to_group))
        .route("/admin/groups", get(list_groups).post(create_group))
        .route("/admin/groups/{id}", get(show_group).post(update_group))
        .route("/admin/groups/{id}/delete", post(delete_group))
        .route("/admin/groups/{id}/members", post(add_member))
        .route("/admin/groups/{id}/members/{user_id}/remove", post(remove_member))
        .route("/admin/tokens", get(list_tokens).post(create_token))
        .route("/admin/tokens/{id}/revoke", post(revoke_token))
        .route("/admin/audit", get(show_audit))
        .route("/admin/users/{id}/factors/reset", post(reset_factors))
        .route("/admin/mfa", get(show_mfa_policy).post(save_mfa_policy))
}

pub(crate) type PageResult = Result<Response, super::PageError>;

/// Re-renders a page with an error message and the error's status.
pub(crate) fn with_status(status: StatusCode, resp: Response) -> Response {
    let mut resp = resp;
    *resp.status_mut() = status;
    resp
}

pub(crate) fn error_text(e: &Error) -> String {
    match e {
        Error::Invalid(i) => format!("{}: {}", i.field.replace('_', " "), i.reason),
        other => other.public_message(),
    }
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<User>,
    q: String,
    next: Option<String>,
    form: UserForm,
}

#[derive(Debug, Default, Deserialize)]
pub struct UsersQuery {
    q: Option<String>,
    next: Option<String>,
    notice: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    must_change_password: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

async fn users_page(
    app: &AppState,
    me: &AdminUser,
    q: &UsersQuery,
    form: UserForm,
    error: Option<String>,
) -> PageResult {
    let query = q.q.clone().unwrap_or_default();
    let (uprefix, eprefix) =
        if query.contains('@') { (None, Some(query.clone())) } else { (Some(query.clone()), None) };
    let page = service::list_users(
        app,
        &ListQuery { username_prefix: uprefix, email_prefix: eprefix, after: q.next.clone(), limit: 50 },
    )
    .await
    .map_err(|e| me.0.fail(e))?;
    let layout = Layout::new("Users", Some(&me.0), &me.0.csrf).with_notice(q.notice.as_deref()).with_error(error);
    Ok(render(&UsersPage { layout, users: page.items, q: query, next: page.next, form }))
}

async fn list_users(State(app): State<AppState>, me: AdminUser, Query(q): Query<UsersQuery>) -> PageResult {
    users_page(&app, &me, &q, UserForm { must_change_password: Some("on".into()), ..Default::default() }, None).await
}

async fn create_user(State(app): State<AppState>, me: AdminUser, PortalForm(form): PortalForm<UserForm>) -> PageResult {
    let input = NewUser {
        username: form.username.clone(),
        display_name: form.display_name.clone(),
        email: form.email.clone(),
        password: (!form.password.is_empty()).then(|| form.password.clone()),
        must_change_password: form.must_change_password.is_some(),
        disabled: false,
    };
    match service::create_user(&app, &me.0.ctx(), input).await {
        Ok(u) => Ok(see_other(&format!("/admin/users/{}?notice=user_created", u.id))),
        Err(e) => {
            let status = e.status();
            let mut kept = form;
            kept.password.clear();
            Ok(with_status(status, users_page(&app, &me, &UsersQuery::default(), kept, Some(error_text(&e))).await?))
        }
    }
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage {
    layout: Layout,
    u: User,
    groups: Vec<Group>,
    sessions: Vec<SessionRow>,
    factors: crate::authn::mfa::Factors,
}

async fn user_page(
    app: &AppState,
    me: &AdminUser,
    id: Uuid,
    notice: Option<&str>,
    error: Option<String>,
) -> PageResult {
    let u = service::get_user(app, id).await.map_err(|e| me.0.fail(e))?;
    let groups = service::groups_of(app, id).await.map_err(|e| me.0.fail(e))?;
    let list = crate::authn::sessions::list_for_user(&app.db, id, app.now(), app.config.session.idle_timeout.secs())
        .await
        .map_err(|e| me.0.fail(e))?;
    let factors = crate::authn::mfa::factors(app, id).await.map_err(|e| me.0.fail(e))?;
    let layout =
        Layout::new(format!("User {}", u.username), Some(&me.0), &me.0.csrf).with_notice(notice).with_error(error);
    Ok(render(&UserPage { layout, u, groups, sessions: session_rows(list, ""), factors }))
}

async fn show_user(
    State(app): State<AppState>,
    me: AdminUser,
    Path(id): Path<Uuid>,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    user_page(&app, &me, id, q.notice.as_deref(), None).await
}

async fn update_user(
    State(app): State<AppState>,
    me: AdminUser,
    Path(id): Path<Uuid>,
    PortalForm(form): PortalForm<UserForm>,
) -> PageResult {
    let patch = UserPatch {
        username: Some(form.username),
        display_name: Some(form.display_name),
        email: Some(form.email),
        status: form.status,
    };
    match service::update_user(&app, &me.0.ctx(), id, patch).await {
        Ok(_) => Ok(see_other(&format!("/admin/users/{id}?notice=user_updated"))),
        Err(e) => Ok(with_status(e.status(), user_page(&app, &me, id, None, Some(error_text(&e))).await?)),
    }
}

async fn set_password(
    State(app): State<AppState>,
    me: AdminUser,
    Path(id): Path<Uuid>,
    PortalForm(form): PortalForm<UserForm>,
) -> PageResult {
    match service::set_password(&app, &me.0.ctx(), id, &form.password, form.must_change_password.is_some()).await {
        Ok(()) => Ok(see_other(&format!("/admin/users/{id}?notice=password_set"))),
        Err(e) => Ok(with_status(e.status(), user_page(&app, &me, id, None, Some(error_text(&e))).await?)),
    }
}

async fn delete_user(State(app): State<AppState>, me: AdminUser, Path(id): Path<Uuid>) -> PageResult {
    match service::delete_user(&app, &me.0.ctx(), id).await {
        Ok(()) => Ok(see_other("/admin/users?notice=user_deleted")),
        Err(e) => Ok(with_status(e.status(), user_page(&app, &me, id, None, Some(error_text(&e))).await?)),
    }
}

async fn unlock_user(State(app): State<AppState>, me: AdminUser, Path(id): Path<Uuid>) -> PageResult {
    crate::authn::service::unlock(&app, &me.0.ctx().actor, &me.0.origin, id).await.map_err(|e| me.0.fail(e))?;
    Ok(see_other(&format!("/admin/users/{id}?notice=user_unlocked")))
}

async fn revoke_sessions(State(app): State<AppState>, me: AdminUser, Path(id): Path<Uuid>) -> PageResult {
    crate::authn::service::revoke_all_sessions(&app, &me.0.ctx().actor, &me.0.origin, id)
        .await
        .map_err(|e| me.0.fail(e))?;
    Ok(see_other(&format!("/admin/users/{id}?notice=sessions_revoked")))
}

#[derive(Debug, Deserialize)]
pub struct NameForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

async fn add_user_to_group(
    State(app): State<AppState>,
    me: AdminUser,
    Path(id): Path<Uuid>,
    PortalForm(form): PortalForm<NameForm>,
) -> PageResult {
    let key = form.name.trim().to_lowercase();
    let group = {
        let mut tx = app.db.read().await.map_err(|e| me.0.fail(e))?;
        crate::directory::store::find_group_by_name(&mut tx, &key).await.map_err(|e| me.0.fail(e))?
    };
    let Some(group) = group else {
        return Ok(with_status(
            StatusCode::NOT_FOUND,
            user_page(&app, &me, id, None, Some(format!("There is no group named {:?}.", form.name.trim()))).await?,
        ));
    };
    match service::add_member(&app, &me.0.ctx(), group.id, id).await {
        Ok(_) => Ok(see_other(&format!("/admin/users/{id}?notice=member_added"))),
        Err(e) => Ok(with_status(e.status(), user_page(&app, &me, id, None, Some(error_text(&e))).await?)),
    }
}

#[derive(Template)]
#[template(path = "admin/groups.html")]
struct GroupsPage {
    layout: Layout,
    groups: Vec<Group>,
    next: Option<String>,
    q: String,
}

async fn groups_page(app: &AppState, me: &AdminUser, q: &UsersQuery, error: Option<String>) -> PageResult {
    let query = q.q.clone().unwrap_or_default();
    let page = service::list_groups(app, Some(&query), q.next.as_deref(), 50).await.map_err(|e| me.0.fail(e))?;
    let layout = Layout::new("Groups", Some(&me.0), &me.0.csrf).with_notice(q.notice.as_deref()).with_error(error);
    Ok(render(&GroupsPage { layout, groups: page.items, next: page.next, q: query }))
}

async fn list_groups(State(app): State<AppState>, me: AdminUser, Query(q): Query<UsersQuery>) -> PageResult {
    groups_page(&app, &me, &q, None).await
}

async fn create_group(
    State(app): State<AppState>,
    me: AdminUser,
    PortalForm(form): PortalForm<NameForm>,
) -> PageResult {
    match service::create_group(&app, &me.0.ctx(), &form.name, &form.description).await {
        Ok(g) => Ok(see_other(&format!("/admin/groups/{}?notice=group_created", g.id))),
        Err(e) => {
            Ok(with_status(e.status(), groups_page(&app, &me, &UsersQuery::default(), Some(error_text(&e))).await?))
        }
    }
}

#[derive(Template)]
#[template(path = "admin/group.html")]
struct GroupPage {
    layout: Layout,
    g: Group,
    members: Vec<User>,
    next: Option<String>,
    is_builtin: bool,
}

async fn group_page(
    app: &AppState,
    me: &AdminUser,
    id: Uuid,
    after: Option<&str>,
    notice: Option<&str>,
    error: Option<String>,
) -> PageResult {
    let g = service::get_group(app, id).await.map_err(|e| me.0.fail(e))?;
    let page = service::list_members(app, id, after, 100).await.map_err(|e| me.0.fail(e))?;
    let layout =
        Layout::new(format!("Group {}", g.name), Some(&me.0), &me.0.csrf).with_notice(notice).with_error(error);
    let is_builtin = g.id == crate::directory::ADMIN_GROUP_ID;
    Ok(render(&GroupPage { layout, g, members: page.items, next: page.next, is_builtin }))
}

async fn show_group(
    State(app): State<AppState>,
    me: AdminUser,
    Path(id): Path<Uuid>,
    Query(q): Query<UsersQuery>,
) -> PageResult {
    group_page(&app, &me, id, q.next.as_deref(), q.notice.as_deref(), None).await
}

async fn update_group(
    State(app): State<AppState>,
    me: AdminUser,
    Path(id): Path<Uuid>,
    PortalForm(form): PortalForm<NameForm>,
) -> PageResult {
    match service::update_group(&app, &me.0.ctx(), id, Some(&form.name), Some(&form.description)).await {
        Ok(_) => Ok(see_other(&format!("/admin/groups/{id}?notice=group_updated"))),
        Err(e) => Ok(with_status(e.status(), group_page(&app, &me, id, None, None, Some(error_text(&e))).await?)),
    }
}

async fn delete_group(State(app): State<AppState>, me: AdminUser, Path(id): Path<Uuid>) -> PageResult {
    match service::delete_group(&app, &me.0.ctx(), id).await {
        Ok(()) => Ok(see_other("/admin/groups?notice=group_deleted")),
        Err(e) => Ok(with_status(e.status(), group_page(&app, &me, id, None, None, Some(error_text(&e))).await?)),
    }
}

#[derive(Debug, Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    username: String,
}

async fn add_member(
    State(app): State<AppState>,
    me: AdminUser,
    Path(id): Path<Uuid>,
    PortalForm(form): PortalForm<MemberForm>,
) -> PageResult {
    let user = service::find_user_by_username(&app, &form.username).await.map_err(|e| me.0.fail(e))?;
    let Some(user) = user else {
        return Ok(with_status(
            StatusCode::NOT_FOUND,
            group_page(&app, &me, id, None, None, Some(format!("There is no user named {:?}.", form.username.trim())))
                .await?,
        ));
    };
    match service::add_member(&app, &me.0.ctx(), id, user.id).await {
        Ok(_) => Ok(see_other(&format!("/admin/groups/{id}?notice=member_added"))),
        Err(e) => Ok(with_status(e.status(), group_page(&app, &me, id, None, None, Some(error_text(&e))).await?)),
    }
}

async fn remove_member(State(app): State<AppState>, me: AdminUser, Path((id, user)): Path<(Uuid, Uuid)>) -> PageResult {
    match service::remove_member(&app, &me.0.ctx(), id, user).await {
        Ok(()) => Ok(see_other(&format!("/admin/groups/{id}?notice=member_removed"))),
        Err(e) => Ok(with_status(e.status(), group_page(&app, &me, id, None, None, Some(error_text(&e))).await?)),
    }
}

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    layout: Layout,
    tokens: Vec<crate::authn::api_tokens::ApiToken>,
    secret: Option<String>,
}

async fn tokens_page(
    app: &AppState,
    me: &AdminUser,
    notice: Option<&str>,
    secret: Option<String>,
    error: Option<String>,
) -> PageResult {
    let tokens = crate::authn::api_tokens::list(app).await.map_err(|e| me.0.fail(e))?;
    let layout = Layout::new("API tokens", Some(&me.0), &me.0.csrf).with_notice(notice).with_error(error);
    Ok(render(&TokensPage { layout, tokens, secret }))
}

async fn list_tokens(State(app): State<AppState>, me: AdminUser, Query(q): Query<NoticeQuery>) -> PageResult {
    tokens_page(&app, &me, q.notice.as_deref(), None, None).await
}

async fn create_token(
    State(app): State<AppState>,
    me: AdminUser,
    PortalForm(form): PortalForm<NameForm>,
) -> PageResult {
    let ctx = me.0.ctx();
    match crate::authn::api_tokens::create(&app, &ctx.actor, &ctx.origin, &form.name, None).await {
        Ok((_, secret)) => tokens_page(&app, &me, None, Some(secret.expose().to_string()), None).await,
        Err(e) => Ok(with_status(e.status(), tokens_page(&app, &me, None, None, Some(error_text(&e))).await?)),
    }
}

async fn revoke_token(State(app): State<AppState>, me: AdminUser, Path(id): Path<Uuid>) -> PageResult {
    let ctx = me.0.ctx();
    crate::authn::api_tokens::revoke(&app, &ctx.actor, &ctx.origin, id).await.map_err(|e| me.0.fail(e))?;
    Ok(see_other("/admin/tokens?notice=token_revoked"))
}

pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub ip: String,
    pub details: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    layout: Layout,
    rows: Vec<AuditRow>,
    actor: String,
    action: String,
    since: String,
    until: String,
    next_query: Option<String>,
}

async fn show_audit(
    State(app): State<AppState>,
    me: AdminUser,
    Query(q): Query<crate::api::audit::AuditParams>,
) -> Response {
    let filter = match crate::api::audit::filter_from(&q) {
        Ok(f) => f,
        Err(e) => return me.0.fail(e).into_response(),
    };
    let rows = match crate::audit::list(&app.db, &filter).await {
        Ok(r) => r,
        Err(e) => return me.0.fail(e).into_response(),
    };
    let next_query = (rows.len() as i64 == filter.limit).then(|| rows.last().map(|r| r.seq)).flatten().map(|seq| {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("actor", q.actor.as_deref().unwrap_or(""))
            .append_pair("action", q.action.as_deref().unwrap_or(""))
            .append_pair("since", q.since.as_deref().unwrap_or(""))
            .append_pair("until", q.until.as_deref().unwrap_or(""))
            .append_pair("next", &seq.to_string())
            .finish()
    });
    let rows = rows
        .into_iter()
        .map(|r| AuditRow {
            at: when(&r.at),
            actor: if r.actor_name.is_empty() {
                r.actor_kind.clone()
            } else {
                format!("{} ({})", r.actor_name, r.actor_kind)
            },
            action: r.action,
            target: if r.target_id.is_empty() { r.target_kind } else { format!("{} {}", r.target_kind, r.target_id) },
            outcome: r.outcome,
            ip: r.ip,
            details: r.details,
        })
        .collect();
    let layout = Layout::new("Audit log", Some(&me.0), &me.0.csrf);
    render(&AuditPage {
        layout,
        rows,
        actor: q.actor.unwrap_or_default(),
        action: q.action.unwrap_or_default(),
        since: q.since.unwrap_or_default(),
        until: q.until.unwrap_or_default(),
        next_query,
    })
}

/// `when` for templates that hold raw timestamps.
pub fn fmt_time(ts: &i64) -> String {
    when(ts)
}

async fn reset_factors(State(app): State<AppState>, me: AdminUser, Path(id): Path<Uuid>) -> PageResult {
    crate::authn::mfa::reset(&app, &me.0.ctx().actor, &me.0.origin, id).await.map_err(|e| me.0.fail(e))?;
    Ok(see_other(&format!("/admin/users/{id}?notice=mfa_reset")))
}

#[derive(Template)]
#[template(path = "admin/mfa.html")]
struct MfaPolicyPage {
    layout: Layout,
    mode: String,
    groups: String,
    step_up_minutes: u32,
}

async fn mfa_policy_page(app: &AppState, me: &AdminUser, notice: Option<&str>, error: Option<String>) -> PageResult {
    let p = crate::authn::mfa::policy(app).await.map_err(|e| me.0.fail(e))?;
    let mut names = Vec::new();
    for g in &p.groups {
        if let Ok(group) = service::get_group(app, *g).await {
            names.push(group.name);
        }
    }
    let layout = Layout::new("MFA policy", Some(&me.0), &me.0.csrf).with_notice(notice).with_error(error);
    Ok(render(&MfaPolicyPage { layout, mode: p.mode, groups: names.join(", "), step_up_minutes: p.step_up_minutes }))
}

async fn show_mfa_policy(State(app): State<AppState>, me: AdminUser, Query(q): Query<NoticeQuery>) -> PageResult {
    mfa_policy_page(&app, &me, q.notice.as_deref(), None).await
}

#[derive(Debug, Deserialize)]
pub struct PolicyForm {
    #[serde(default)]
    mode: String,
    #[serde(default)]
    groups: String,
    #[serde(default)]
    step_up_minutes: String,
}

async fn save_mfa_policy(
    State(app): State<AppState>,
    me: AdminUser,
    PortalForm(form): PortalForm<PolicyForm>,
) -> PageResult {
    let result: Result<(), Error> = async {
        let mut ids = Vec::new();
        for name in form.groups.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let mut tx = app.db.conn().await?;
            let g = crate::directory::store::find_group_by_name(&mut tx, &name.to_lowercase()).await?;
            ids.push(g.ok_or_else(|| Error::invalid("groups", format!("there is no group named {name:?}")))?.id);
        }
        let minutes = if form.step_up_minutes.trim().is_empty() {
            0
        } else {
            form.step_up_minutes
                .trim()
                .parse::<u32>()
                .map_err(|_| Error::invalid("step_up_minutes", "must be a whole number of minutes"))?
        };
        let policy = crate::authn::mfa::MfaPolicy { mode: form.mode.clone(), groups: ids, step_up_minutes: minutes };
        crate::authn::mfa::set_policy(&app, &me.0.ctx().actor, &me.0.origin, policy).await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Ok(see_other("/admin/mfa?notice=policy_saved")),
        Err(e) => Ok(with_status(e.status(), mfa_policy_page(&app, &me, None, Some(error_text(&e))).await?)),
    }
}
