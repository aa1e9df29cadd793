//! Admin pages for accounts, organisational units and assignments. They call the same
//! services as the admin API.

use super::admin::{PageResult, error_text, with_status};
use super::home::NoticeQuery;
use super::{AdminUser, Layout, PortalForm, render, see_other};
use crate::access::accounts::{self as service, AccountInput, OuInput};
use crate::access::assignments;
use crate::access::model::{Account, Assignment, OrgUnit, PermissionSet, PrincipalType, ROOT_OU_ID, tags_from_json};
use crate::access::store::AssignmentFilter;
use crate::app::AppState;
use crate::error::Error;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use serde::Deserialize;
use std::collections::BTreeMap;
use uuid::Uuid;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/accounts", get(list_accounts).post(create_account))
        .route("/admin/accounts/{id}", get(show_account).post(update_account))
        .route("/admin/accounts/{id}/delete", post(delete_account))
        .route("/admin/accounts/{id}/assignments", post(create_assignment))
        .route("/admin/assignments/{id}/delete", post(delete_assignment))
        .route("/admin/org-units", post(create_ou))
        .route("/admin/org-units/{id}/delete", post(delete_ou))
}

/// An OU as a select option or tree row: indented by depth.
pub struct OuRow {
    pub id: Uuid,
    pub label: String,
    pub depth: usize,
    pub description: String,
    pub is_root: bool,
}

/// The OU tree in depth-first order.
pub fn ou_rows(ous: &[OrgUnit]) -> Vec<OuRow> {
    type Children<'a> = BTreeMap<Option<Uuid>, Vec<&'a OrgUnit>>;
    fn walk(children: &Children<'_>, parent: Option<Uuid>, depth: usize, out: &mut Vec<OuRow>) {
        if depth > crate::access::model::MAX_OU_DEPTH + 1 {
            return;
        }
        for o in children.get(&parent).into_iter().flatten() {
            out.push(OuRow {
                id: o.id,
                label: format!("{}{}", "— ".repeat(depth), o.name),
                depth,
                description: o.description.clone(),
                is_root: o.id == ROOT_OU_ID,
            });
            walk(children, Some(o.id), depth + 1, out);
        }
    }
    let mut children: Children<'_> = BTreeMap::new();
    for o in ous {
        children.entry(o.parent_id).or_default().push(o);
    }
    let mut out = Vec::new();
    walk(&children, None, 0, &mut out);
    out
}

/// Tags from `key=value` lines.
pub fn parse_tag_lines(s: &str) -> Result<BTreeMap<String, String>, Error> {
    let mut tags = BTreeMap::new();
    for line in s.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once('=').ok_or_else(|| Error::invalid("tags", "write one key=value per line"))?;
        tags.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(tags)
}

fn tag_lines(json: &str) -> String {
    tags_from_json(json).iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

#[derive(Template)]
#[template(path = "admin/accounts.html")]
struct AccountsPage {
    layout: Layout,
    /// Each account with the name of its OU.
    accounts: Vec<(Account, String)>,
    ous: Vec<OuRow>,
    q: String,
    next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    next: Option<String>,
    notice: Option<String>,
}

async fn accounts_page(app: &AppState, me: &AdminUser, q: &ListQuery, error: Option<String>) -> PageResult {
    let query = q.q.clone().unwrap_or_default();
    let page =
        service::list_accounts(app, Some(&query), None, q.next.as_deref(), 50).await.map_err(|e| me.0.fail(e))?;
    let ous = service::list_ous(app).await.map_err(|e| me.0.fail(e))?;
    let ou_names: BTreeMap<Uuid, String> = ous.iter().map(|o| (o.id, o.name.clone())).collect();
    let accounts = page
        .items
        .into_iter()
        .map(|a| {
            let ou = ou_names.get(&a.ou_id).cloned().unwrap_or_default();
            (a, ou)
        })
        .collect();
    let layout = Layout::new("Accounts", Some(&me.0), &me.0.csrf).with_notice(q.notice.as_deref()).with_error(error);
    Ok(render(&AccountsPage { layout, accounts, ous: ou_rows(&ous), q: query, next: page.next }))
}

async fn list_accounts(State(app): State<AppState>, me: AdminUser, Query(q): Query<ListQuery>) -> PageResult {
    accounts_page(&app, &me, &q, None).await
}

#[derive(Debug, Default, Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    owner_email: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    ou_id: Option<String>,
    #[serde(default)]
    tags: String,
}

impl AccountForm {
    fn input(&self) -> Result<AccountInput, Error> {
        let ou_id = match self.ou_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => Some(Uuid::parse_str(s).map_err(|_| Error::invalid("ou_id", "choose an organisational unit"))?),
        };
        Ok(AccountInput {
            name: Some(self.name.clone()),
            description: Some(self.description.clone()),
            owner_email: Some(self.owner_email.clone()),
            status: self.status.clone(),
            ou_id,
            tags: Some(parse_tag_lines(&self.tags)?),
        })
    }
}

async fn create_account(
    State(app): State<AppState>,
    me: AdminUser,
    PortalForm(form): PortalForm<AccountForm>,
) -> PageResult {
    let result = match form.input() {
        Ok(input) => service::create_account(&app, &me.0.ctx(), input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(a) => Ok(see_other(&format!("/admin/accounts/{}?notice=account_created", a.id))),
        Err(e) => {
            Ok(with_status(e.status(), accounts_page(&app, &me, &ListQuery::default(), Some(error_text(&e))).await?))
        }
    }
}

#[derive(Template)]
#[template(path = "admin/account.html")]
struct AccountPage {
    layout: Layout,
    a: Account,
    tags: String,
    ous: Vec<OuRow>,
    assignments: Vec<Assignment>,
    permission_sets: Vec<PermissionSet>,
}

async fn account_page(
    app: &AppState,
    me: &AdminUser,
    id: &str,
    notice: Option<&str>,
    error: Option<String>,
) -> PageResult {
    let a = service::get_account(app, id).await.map_err(|e| me.0.fail(e))?;
    let ous = service::list_ous(app).await.map_err(|e| me.0.fail(e))?;
    let f = AssignmentFilter { account_id: Some(a.id.clone()), ..Default::default() };
    let list = assignments::list_assignments(app, &f, None, 1000).await.map_err(|e| me.0.fail(e))?;
    let permission_sets = crate::access::permission_sets::list_permission_sets(app).await.map_err(|e| me.0.fail(e))?;
    let layout =
        Layout::new(format!("Account {}", a.name), Some(&me.0), &me.0.csrf).with_notice(notice).with_error(error);
    Ok(render(&AccountPage {
        layout,
        tags: tag_lines(&a.tags),
        a,
        ous: ou_rows(&ous),
        assignments: list.items,
        permission_sets,
    }))
}

async fn show_account(
    State(app): State<AppState>,
    me: AdminUser,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    account_page(&app, &me, &id, q.notice.as_deref(), None).await
}

async fn update_account(
    State(app): State<AppState>,
    me: AdminUser,
    Path(id): Path<String>,
    PortalForm(form): PortalForm<AccountForm>,
) -> PageResult {
    let result = match form.input() {
        Ok(input) => service::update_account(&app, &me.0.ctx(), &id, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(see_other(&format!("/admin/accounts/{id}?notice=account_updated"))),
        Err(e) => Ok(with_status(e.status(), account_page(&app, &me, &id, None, Some(error_text(&e))).await?)),
    }
}

async fn delete_account(State(app): State<AppState>, me: AdminUser, Path(id): Path<String>) -> PageResult {
    match service::delete_account(&app, &me.0.ctx(), &id).await {
        Ok(()) => Ok(see_other("/admin/accounts?notice=account_deleted")),
        Err(e) => Ok(with_status(e.status(), account_page(&app, &me, &id, None, Some(error_text(&e))).await?)),
    }
}

#[derive(Debug, Deserialize)]
pub struct AssignmentForm {
    #[serde(default)]
    principal_type: String,
    #[serde(default)]
    principal: String,
    #[serde(default)]
    permission_set_id: String,
}

async fn create_assignment(
    State(app): State<AppState>,
    me: AdminUser,
    Path(id): Path<String>,
    PortalForm(form): PortalForm<AssignmentForm>,
) -> PageResult {
    let result: Result<(), Error> = async {
        let kind = PrincipalType::parse(&form.principal_type)?;
        let name = form.principal.trim();
        let principal = match kind {
            PrincipalType::User => {
                crate::directory::service::find_user_by_username(&app, name)
                    .await?
                    .ok_or_else(|| Error::invalid("principal", format!("there is no user named {name:?}")))?
                    .id
            }
            PrincipalType::Group => {
                let mut tx = app.db.conn().await?;
                crate::directory::store::find_group_by_name(&mut tx, &name.to_lowercase())
                    .await?
                    .ok_or_else(|| Error::invalid("principal", format!("there is no group named {name:?}")))?
                    .id
            }
        };
        let ps = Uuid::parse_str(form.permission_set_id.trim())
            .map_err(|_| Error::invalid("permission_set", "choose a permission set"))?;
        assignments::create_assignment(&app, &me.0.ctx(), &id, ps, kind, principal).await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Ok(see_other(&format!("/admin/accounts/{id}?notice=assignment_created"))),
        Err(e) => Ok(with_status(e.status(), account_page(&app, &me, &id, None, Some(error_text(&e))).await?)),
    }
}

async fn delete_assignment(State(app): State<AppState>, me: AdminUser, Path(id): Path<Uuid>) -> PageResult {
    let a = assignments::get_assignment(&app, id).await.map_err(|e| me.0.fail(e))?;
    assignments::delete_assignment(&app, &me.0.ctx(), id).await.map_err(|e| me.0.fail(e))?;
    Ok(see_other(&format!("/admin/accounts/{}?notice=assignment_deleted", a.account_id)))
}

#[derive(Debug, Deserialize)]
pub struct OuForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    parent_id: String,
}

async fn create_ou(State(app): State<AppState>, me: AdminUser, PortalForm(form): PortalForm<OuForm>) -> PageResult {
    let parent = match form.parent_id.trim() {
        "" => Ok(None),
        p => Uuid::parse_str(p).map(Some).map_err(|_| Error::invalid("parent_id", "choose an organisational unit")),
    };
    let result = match parent {
        Ok(parent_id) => {
            let input = OuInput { parent_id, name: Some(form.name), description: Some(form.description), tags: None };
            service::create_ou(&app, &me.0.ctx(), input).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(see_other("/admin/accounts?notice=ou_created")),
        Err(e) => {
            Ok(with_status(e.status(), accounts_page(&app, &me, &ListQuery::default(), Some(error_text(&e))).await?))
        }
    }
}

async fn delete_ou(State(app): State<AppState>, me: AdminUser, Path(id): Path<Uuid>) -> PageResult {
    match service::delete_ou(&app, &me.0.ctx(), id).await {
        Ok(()) => Ok(see_other("/admin/accounts?notice=ou_deleted")),
        Err(e) => {
            Ok(with_status(e.status(), accounts_page(&app, &me, &ListQuery::default(), Some(error_text(&e))).await?))
        }
    }
}
