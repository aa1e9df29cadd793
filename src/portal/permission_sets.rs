//! Admin pages for managed policies, permission sets (with their provisioning status) and the
//! policy simulator. Invalid documents come back with the JSON path of the fault and the text
//! as typed, so nothing is lost.

use super::admin::{PageResult, error_text, with_status};
use super::home::{NoticeQuery, duration_label};
use super::{AdminUser, Layout, PortalForm, render, see_other, when};
use crate::access::assignments;
use crate::access::model::{Assignment, ManagedPolicy, PermissionSet, iso_duration};
use crate::access::permission_sets::{self as service, PermissionSetInput};
use crate::access::store::AssignmentFilter;
use crate::api::decisions::{SimulateBody, simulation_from};
use crate::app::AppState;
use crate::error::Error;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use uuid::Uuid;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/policies", get(list_policies).post(create_policy))
        .route("/admin/policies/{id}", get(show_policy).post(update_policy))
        .route("/admin/policies/{id}/delete", post(delete_policy))
        .route("/admin/permission-sets", get(list_permission_sets).post(create_permission_set))
        .route("/admin/permission-sets/{id}", get(show_permission_set).post(update_permission_set))
        .route("/admin/permission-sets/{id}/delete", post(delete_permission_set))
        .route("/admin/permission-sets/{id}/policies", post(attach_policy))
        .route("/admin/permission-sets/{id}/policies/{policy_id}/detach", post(detach_policy))
        .route("/admin/permission-sets/{id}/provision", post(provision))
        .route("/admin/permission-sets/{id}/trust-policy", post(update_trust_policy))
        .route("/admin/simulator", get(show_simulator).post(run_simulator))
}

/// A policy document re-indented for reading (documents are valid JSON: they were validated).
fn pretty(doc: &str) -> String {
    serde_json::from_str::<Value>(doc).and_then(|v| serde_json::to_string_pretty(&v)).unwrap_or_else(|_| doc.into())
}

#[derive(Debug, Default, Deserialize)]
pub struct PolicyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    document: String,
}

#[derive(Template)]
#[template(path = "admin/policies.html")]
struct PoliciesPage {
    layout: Layout,
    policies: Vec<ManagedPolicy>,
    form: PolicyForm,
}

const EXAMPLE: &str = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Sid\": \"ReadReports\", \"Effect\": \"Allow\", \"Action\": [\"s3:Get*\", \"s3:List*\"], \"Resource\": \"arn:aws:s3:::reports/*\"}\n  ]\n}";

async fn policies_page(
    app: &AppState,
    me: &AdminUser,
    notice: Option<&str>,
    form: PolicyForm,
    error: Option<String>,
) -> PageResult {
    let policies = service::list_policies(app).await.map_err(|e| me.0.fail(e))?;
    let layout = Layout::new("Policies", Some(&me.0), &me.0.csrf).with_notice(notice).with_error(error);
    Ok(render(&PoliciesPage { layout, policies, form }))
}

async fn list_policies(State(app): State<AppState>, me: AdminUser, Query(q): Query<NoticeQuery>) -> PageResult {
    let form = PolicyForm { document: EXAMPLE.into(), ..Default::default() };
    policies_page(&app, &me, q.notice.as_deref(), form, None).await
}

async fn create_policy(
    State(app): State<AppState>,
    me: AdminUser,
    PortalForm(form): PortalForm<PolicyForm>,
) -> PageResult {
    match service::create_policy(&app, &me.0.ctx(), &form.name, &form.description, &form.document).await {
        Ok(p) => Ok(see_other(&format!("/admin/policies/{}?notice=policy_created", p.id))),
        Err(e) => Ok(with_status(e.status(), policies_page(&app, &me, None, form, Some(error_text(&e))).await?)),
    }
}

#[derive(Template)]
#[template(path = "admin/policy.html")]
struct PolicyPage {
    layout: Layout,
    p: ManagedPolicy,
    document: String,
    versions: Vec<(i64, String)>,
}

async fn policy_page(
    app: &AppState,
    me: &AdminUser,
    id: Uuid,
    notice: Option<&str>,
    typed: Option<PolicyForm>,
    error: Option<String>,
) -> PageResult {
    let mut p = service::get_policy(app, id).await.map_err(|e| me.0.fail(e))?;
    let versions = service::policy_versions(app, id).await.map_err(|e| me.0.fail(e))?;
    let document = match typed {
        Some(f) => {
            p.name = f.name;
            p.description = f.description;
            f.document
        }
        None => pretty(&p.document),
    };
    let layout =
        Layout::new(format!("Policy {}", p.name), Some(&me.0), &me.0.csrf).with_notice(notice).with_error(error);
    Ok(render(&PolicyPage {
        layout,
        p,
        document,
        versions: versions.into_iter().map(|(v, at)| (v, when(&at))).collect(),
    }))
}

async fn show_policy(
    State(app): State<AppState>,
    me: AdminUser,
    Path(id): Path<Uuid>,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    policy_page(&app, &me, id, q.notice.as_deref(), None, None).await
}

async fn update_policy(
    State(app): State<AppState>,
    me: AdminUser,
    Path(id): Path<Uuid>,
    PortalForm(form): PortalForm<PolicyForm>,
) -> PageResult {
    match service::update_policy(&app, &me.0.ctx(), id, Some(&form.name), Some(&form.description), Some(&form.document))
        .await
    {
        Ok(_) => Ok(see_other(&format!("/admin/policies/{id}?notice=policy_updated"))),
        Err(e) => {
            Ok(with_status(e.status(), policy_page(&app, &me, id, None, Some(form), Some(error_text(&e))).await?))
        }
    }
}

async fn delete_policy(State(app): State<AppState>, me: AdminUser, Path(id): Path<Uuid>) -> PageResult {
    match service::delete_policy(&app, &me.0.ctx(), id).await {
        Ok(()) => Ok(see_other("/admin/policies?notice=policy_deleted")),
        Err(e) => Ok(with_status(e.status(), policy_page(&app, &me, id, None, None, Some(error_text(&e))).await?)),
    }
}

/// A permission set row on the list page.
pub struct PsRow {
    pub ps: PermissionSet,
    pub duration: String,
    pub status: &'static str,
}

#[derive(Debug, Default, Deserialize)]
pub struct PermissionSetForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    session_duration: String,
    #[serde(default)]
    relay_state: String,
    #[serde(default)]
    inline_policy: String,
    #[serde(default)]
    boundary: String,
}

impl PermissionSetForm {
    fn input(&self) -> PermissionSetInput {
        PermissionSetInput {
            name: Some(self.name.clone()),
            description: Some(self.description.clone()),
            session_duration: Some(if self.session_duration.trim().is_empty() {
                "PT1H".into()
            } else {
                self.session_duration.clone()
            }),
            relay_state: Some(self.relay_state.clone()),
            inline_policy: Some(self.inline_policy.clone()),
            boundary: Some(self.boundary.clone()),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/permission_sets.html")]
struct PermissionSetsPage {
    layout: Layout,
    rows: Vec<PsRow>,
    form: PermissionSetForm,
}

async fn permission_sets_page(
    app: &AppState,
    me: &AdminUser,
    notice: Option<&str>,
    form: PermissionSetForm,
    error: Option<String>,
) -> PageResult {
    let rows = service::list_summaries(app)
        .await
        .map_err(|e| me.0.fail(e))?
        .into_iter()
        .map(|s| PsRow {
            duration: duration_label(s.ps.session_duration),
            status: service::provisioning_status(s.roles, s.current),
            ps: s.ps,
        })
        .collect();
    let layout = Layout::new("Permission sets", Some(&me.0), &me.0.csrf).with_notice(notice).with_error(error);
    Ok(render(&PermissionSetsPage { layout, rows, form }))
}

async fn list_permission_sets(State(app): State<AppState>, me: AdminUser, Query(q): Query<NoticeQuery>) -> PageResult {
    let form = PermissionSetForm { session_duration: "PT1H".into(), ..Default::default() };
    permission_sets_page(&app, &me, q.notice.as_deref(), form, None).await
}

async fn create_permission_set(
    State(app): State<AppState>,
    me: AdminUser,
    PortalForm(form): PortalForm<PermissionSetForm>,
) -> PageResult {
    match service::create_permission_set(&app, &me.0.ctx(), form.input()).await {
        Ok(ps) => Ok(see_other(&format!("/admin/permission-sets/{}?notice=permission_set_created", ps.id))),
        Err(e) => Ok(with_status(e.status(), permission_sets_page(&app, &me, None, form, Some(error_text(&e))).await?)),
    }
}

/// A role row: where the permission set is provisioned.
pub struct RoleRow {
    pub account_id: String,
    pub account_name: String,
    pub revision: i64,
    pub current: bool,
    pub at: String,
}

#[derive(Template)]
#[template(path = "admin/permission_set.html")]
struct PermissionSetPage {
    layout: Layout,
    ps: PermissionSet,
    form: PermissionSetForm,
    attached: Vec<ManagedPolicy>,
    available: Vec<ManagedPolicy>,
    roles: Vec<RoleRow>,
    status: &'static str,
    assignments: Vec<Assignment>,
    /// The trust policy (pretty JSON), as stored or as just typed.
    trust_policy: String,
}

async fn permission_set_page(
    app: &AppState,
    me: &AdminUser,
    id: Uuid,
    notice: Option<&str>,
    typed: Option<PermissionSetForm>,
    typed_trust: Option<String>,
    error: Option<String>,
) -> PageResult {
    let ps = service::get_permission_set(app, id).await.map_err(|e| me.0.fail(e))?;
    let attached = service::attached_policies(app, id).await.map_err(|e| me.0.fail(e))?;
    let all = service::list_policies(app).await.map_err(|e| me.0.fail(e))?;
    let roles = service::provisioning(app, id).await.map_err(|e| me.0.fail(e))?;
    let f = AssignmentFilter { permission_set_id: Some(id), ..Default::default() };
    let list = assignments::list_assignments(app, &f, None, 1000).await.map_err(|e| me.0.fail(e))?;
    let boundary_name =
        all.iter().find(|p| Some(p.id) == ps.boundary_policy_id).map(|p| p.name.clone()).unwrap_or_default();
    let form = typed.unwrap_or_else(|| PermissionSetForm {
        name: ps.name.clone(),
        description: ps.description.clone(),
        session_duration: iso_duration(ps.session_duration),
        relay_state: ps.relay_state.clone(),
        inline_policy: ps.inline_policy.as_deref().map(pretty).unwrap_or_default(),
        boundary: boundary_name,
    });
    let current = roles.iter().filter(|r| r.revision >= ps.revision).count() as i64;
    let status = service::provisioning_status(roles.len() as i64, current);
    let roles = roles
        .into_iter()
        .map(|r| RoleRow {
            current: r.revision >= ps.revision,
            account_id: r.account_id,
            account_name: r.account_name,
            revision: r.revision,
            at: when(&r.provisioned_at),
        })
        .collect();
    let available = all.into_iter().filter(|p| !attached.iter().any(|a| a.id == p.id)).collect();
    let trust_policy = match typed_trust {
        Some(t) => t,
        None => {
            service::trust_policy(app, id).await.map_err(|e| me.0.fail(e))?.as_deref().map(pretty).unwrap_or_default()
        }
    };
    let layout = Layout::new(format!("Permission set {}", ps.name), Some(&me.0), &me.0.csrf)
        .with_notice(notice)
        .with_error(error);
    Ok(render(&PermissionSetPage {
        layout,
        ps,
        form,
        attached,
        available,
        roles,
        status,
        assignments: list.items,
        trust_policy,
    }))
}

#[derive(Debug, Deserialize)]
pub struct TrustForm {
    #[serde(default)]
    trust_policy: String,
}

/// Sets (or, left empty, removes) the role's trust policy.
async fn update_trust_policy(
    State(app): State<AppState>,
    me: AdminUser,
    Path(id): Path<Uuid>,
    PortalForm(form): PortalForm<TrustForm>,
) -> PageResult {
    let doc = Some(form.trust_policy.trim().to_string()).filter(|d| !d.is_empty());
    match service::set_trust_policy(&app, &me.0.ctx(), id, doc).await {
        Ok(()) => Ok(see_other(&format!("/admin/permission-sets/{id}?notice=trust_policy_updated"))),
        Err(e) => Ok(with_status(
            e.status(),
            permission_set_page(&app, &me, id, None, None, Some(form.trust_policy), Some(error_text(&e))).await?,
        )),
    }
}

async fn show_permission_set(
    State(app): State<AppState>,
    me: AdminUser,
    Path(id): Path<Uuid>,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    permission_set_page(&app, &me, id, q.notice.as_deref(), None, None, None).await
}

async fn update_permission_set(
    State(app): State<AppState>,
    me: AdminUser,
    Path(id): Path<Uuid>,
    PortalForm(form): PortalForm<PermissionSetForm>,
) -> PageResult {
    match service::update_permission_set(&app, &me.0.ctx(), id, form.input()).await {
        Ok(_) => Ok(see_other(&format!("/admin/permission-sets/{id}?notice=permission_set_updated"))),
        Err(e) => Ok(with_status(
            e.status(),
            permission_set_page(&app, &me, id, None, Some(form), None, Some(error_text(&e))).await?,
        )),
    }
}

async fn delete_permission_set(State(app): State<AppState>, me: AdminUser, Path(id): Path<Uuid>) -> PageResult {
    match service::delete_permission_set(&app, &me.0.ctx(), id).await {
        Ok(()) => Ok(see_other("/admin/permission-sets?notice=permission_set_deleted")),
        Err(e) => Ok(with_status(
            e.status(),
            permission_set_page(&app, &me, id, None, None, None, Some(error_text(&e))).await?,
        )),
    }
}

#[derive(Debug, Deserialize)]
pub struct AttachForm {
    #[serde(default)]
    policy_id: String,
}

async fn attach_policy(
    State(app): State<AppState>,
    me: AdminUser,
    Path(id): Path<Uuid>,
    PortalForm(form): PortalForm<AttachForm>,
) -> PageResult {
    let result = match Uuid::parse_str(form.policy_id.trim()) {
        Ok(p) => service::set_attachment(&app, &me.0.ctx(), id, p, true).await,
        Err(_) => Err(Error::invalid("policy", "choose a policy")),
    };
    match result {
        Ok(()) => Ok(see_other(&format!("/admin/permission-sets/{id}?notice=policy_attached"))),
        Err(e) => Ok(with_status(
            e.status(),
            permission_set_page(&app, &me, id, None, None, None, Some(error_text(&e))).await?,
        )),
    }
}

async fn detach_policy(
    State(app): State<AppState>,
    me: AdminUser,
    Path((id, policy)): Path<(Uuid, Uuid)>,
) -> PageResult {
    service::set_attachment(&app, &me.0.ctx(), id, policy, false).await.map_err(|e| me.0.fail(e))?;
    Ok(see_other(&format!("/admin/permission-sets/{id}?notice=policy_detached")))
}

async fn provision(State(app): State<AppState>, me: AdminUser, Path(id): Path<Uuid>) -> PageResult {
    service::provision(&app, &me.0.ctx(), id).await.map_err(|e| me.0.fail(e))?;
    Ok(see_other(&format!("/admin/permission-sets/{id}?notice=provisioned")))
}

#[derive(Debug, Default, Deserialize)]
pub struct SimulatorForm {
    #[serde(default)]
    permission_set: String,
    #[serde(default)]
    policy: String,
    #[serde(default)]
    boundary: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    account_id: String,
    #[serde(default)]
    actions: String,
    #[serde(default)]
    resources: String,
    #[serde(default)]
    context: String,
}

/// One result row.
pub struct SimRow {
    pub action: String,
    pub resource: String,
    pub decision: &'static str,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "admin/simulator.html")]
struct SimulatorPage {
    layout: Layout,
    form: SimulatorForm,
    permission_sets: Vec<PermissionSet>,
    results: Vec<SimRow>,
}

async fn simulator_page(
    app: &AppState,
    me: &AdminUser,
    form: SimulatorForm,
    results: Vec<SimRow>,
    error: Option<String>,
) -> PageResult {
    let permission_sets = service::list_permission_sets(app).await.map_err(|e| me.0.fail(e))?;
    let layout = Layout::new("Policy simulator", Some(&me.0), &me.0.csrf).with_error(error);
    Ok(render(&SimulatorPage { layout, form, permission_sets, results }))
}

async fn show_simulator(State(app): State<AppState>, me: AdminUser) -> PageResult {
    let form = SimulatorForm { resources: "*".into(), ..Default::default() };
    simulator_page(&app, &me, form, Vec::new(), None).await
}

/// Context from `key=value` lines; a key given on several lines takes several values.
fn context_lines(s: &str) -> Result<BTreeMap<String, Value>, Error> {
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    for line in s.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once('=').ok_or_else(|| Error::invalid("context", "write one key=value per line"))?;
        let v = Value::String(v.trim().to_string());
        match out.get_mut(k.trim()) {
            Some(Value::Array(a)) => a.push(v),
            Some(prev) => *prev = Value::Array(vec![prev.clone(), v]),
            None => {
                out.insert(k.trim().to_string(), v);
            }
        }
    }
    Ok(out)
}

fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}

async fn run_simulator(
    State(app): State<AppState>,
    me: AdminUser,
    PortalForm(form): PortalForm<SimulatorForm>,
) -> PageResult {
    let result: Result<Vec<SimRow>, Error> = async {
        let body = SimulateBody {
            permission_set: Some(form.permission_set.clone()),
            policies: if form.policy.trim().is_empty() { Vec::new() } else { vec![Value::String(form.policy.clone())] },
            permissions_boundary: (!form.boundary.trim().is_empty()).then(|| Value::String(form.boundary.clone())),
            user: Some(form.user.clone()),
            account_id: Some(form.account_id.clone()),
            actions: lines(&form.actions),
            resources: lines(&form.resources),
            context: context_lines(&form.context)?,
        };
        let sim = simulation_from(&app, body).await?;
        let results = crate::access::decision::simulate(&app, &sim).await?;
        Ok(results
            .into_iter()
            .map(|r| SimRow {
                decision: if r.outcome.decision == crate::access::policy::Decision::Allow { "allow" } else { "deny" },
                reason: r.outcome.reason,
                action: r.action,
                resource: r.resource,
            })
            .collect())
    }
    .await;
    match result {
        Ok(rows) => simulator_page(&app, &me, form, rows, None).await,
        Err(e) => {
            let status = e.status();
            Ok(with_status(status, simulator_page(&app, &me, form, Vec::new(), Some(error_text(&e))).await?))
        }
    }
}
