//! `/api/v1/policies` (managed policies, versioned) and `/api/v1/permission-sets` (their
//! attachments, inline policy, boundary and provisioning status).

use super::auth::Admin;
use super::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use super::views::List;
use crate::access::model::{ManagedPolicy, PermissionSet, iso_duration, role_arn};
use crate::access::permission_sets::{self as service, PermissionSetInput, Summary};
use crate::app::AppState;
use crate::clock::format_unix;
use crate::error::Error;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// A policy document given as a JSON object or as its text.
fn document_text(field: &'static str, v: &Value) -> Result<String, Error> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Object(_) => serde_json::to_string_pretty(v).map_err(Error::internal),
        _ => Err(Error::invalid(field, "must be a policy document (a JSON object, or its text)")),
    }
}

/// The document as JSON when it parses (it always does: it was validated on save).
fn document_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PolicyView {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    /// The default (current) version.
    pub version: i64,
    #[schema(value_type = Object)]
    pub document: Value,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&ManagedPolicy> for PolicyView {
    fn from(p: &ManagedPolicy) -> Self {
        Self {
            id: p.id,
            name: p.name.clone(),
            description: p.description.clone(),
            version: p.default_version,
            document: document_value(&p.document),
            created_at: format_unix(p.created_at),
            updated_at: format_unix(p.updated_at),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PolicyVersionView {
    pub version: i64,
    pub created_at: String,
    pub is_default: bool,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    pub name: Option<String>,
    pub description: Option<String>,
    /// An IAM-style policy document; a change becomes the new default version.
    #[schema(value_type = Object)]
    pub document: Option<Value>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PolicyRef {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProvisioningView {
    /// `provisioned` (every role is current), `updating`, or `not_assigned`.
    pub status: String,
    pub accounts: i64,
    pub current: i64,
    /// Each account's role (in `GET /permission-sets/{id}`; lists give only the counts).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<RoleView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RoleView {
    pub account_id: String,
    pub account_name: String,
    pub role_arn: String,
    /// The permission set revision this role carries.
    pub revision: i64,
    pub current: bool,
    pub provisioned_at: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PermissionSetView {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    /// ISO 8601, e.g. `PT1H`.
    pub session_duration: String,
    pub session_duration_secs: i64,
    pub relay_state: String,
    pub managed_policies: Vec<PolicyRef>,
    #[schema(value_type = Object)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inline_policy: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<PolicyRef>,
    pub revision: i64,
    pub provisioning: ProvisioningView,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionSetBody {
    /// Becomes the role name in every account: letters, digits and `_+=,.@-`, at most 32.
    pub name: Option<String>,
    pub description: Option<String>,
    /// 15 minutes to 12 hours: `PT1H`, `8h` or seconds (default 1 hour).
    #[schema(value_type = Option<String>)]
    pub session_duration: Option<Value>,
    /// Where the console link lands (an https URL); empty for none.
    pub relay_state: Option<String>,
    /// A policy document; `null` or `""` removes it.
    #[schema(value_type = Option<Object>)]
    #[serde(default, deserialize_with = "some_value")]
    pub inline_policy: Option<Value>,
    /// A managed policy (id or name) as the permissions boundary; `null` or `""` removes it.
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "some_value")]
    pub permissions_boundary: Option<Value>,
}

/// Keeps an explicit `null` as `Some(Value::Null)` (remove), distinct from an absent field.
fn some_value<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

impl PermissionSetBody {
    fn into_input(self) -> Result<PermissionSetInput, Error> {
        let session_duration = match self.session_duration {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => return Err(Error::invalid("session_duration", "must be a duration such as PT1H or seconds")),
        };
        let inline_policy = match self.inline_policy {
            None => None,
            Some(Value::Null) => Some(String::new()),
            Some(v) => Some(document_text("inline_policy", &v)?),
        };
        let boundary = match self.permissions_boundary {
            None => None,
            Some(Value::Null) => Some(String::new()),
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(Error::invalid("boundary", "name a managed policy (its name or id)")),
        };
        Ok(PermissionSetInput {
            name: self.name,
            description: self.description,
            session_duration,
            relay_state: self.relay_state,
            inline_policy,
            boundary,
        })
    }
}

/// The view of a permission set; `roles` lists where it is provisioned (empty in lists, which
/// give only the counts).
fn view(s: Summary, roles: Vec<RoleView>) -> PermissionSetView {
    let ps = s.ps;
    PermissionSetView {
        id: ps.id,
        session_duration: iso_duration(ps.session_duration),
        session_duration_secs: ps.session_duration,
        managed_policies: s.policies.into_iter().map(|(id, name)| PolicyRef { id, name }).collect(),
        inline_policy: ps.inline_policy.as_deref().map(document_value),
        permissions_boundary: s.boundary.map(|(id, name)| PolicyRef { id, name }),
        revision: ps.revision,
        provisioning: ProvisioningView {
            status: service::provisioning_status(s.roles, s.current).into(),
            accounts: s.roles,
            current: s.current,
            roles,
        },
        created_at: format_unix(ps.created_at),
        updated_at: format_unix(ps.updated_at),
        name: ps.name,
        description: ps.description,
        relay_state: ps.relay_state,
    }
}

async fn ps_view(app: &AppState, ps: &PermissionSet) -> Result<PermissionSetView, Error> {
    let attached = service::attached_policies(app, ps.id).await?;
    let roles = service::provisioning(app, ps.id).await?;
    let boundary = match ps.boundary_policy_id {
        Some(b) => Some(service::get_policy(app, b).await?),
        None => None,
    };
    let current = roles.iter().filter(|r| r.revision >= ps.revision).count() as i64;
    let role_views = roles
        .iter()
        .map(|r| RoleView {
            account_id: r.account_id.clone(),
            account_name: r.account_name.clone(),
            role_arn: role_arn(&r.account_id, &ps.name),
            revision: r.revision,
            current: r.revision >= ps.revision,
            provisioned_at: format_unix(r.provisioned_at),
        })
        .collect();
    let summary = Summary {
        ps: ps.clone(),
        policies: attached.into_iter().map(|p| (p.id, p.name)).collect(),
        boundary: boundary.map(|p| (p.id, p.name)),
        roles: roles.len() as i64,
        current,
    };
    Ok(view(summary, role_views))
}

/// List managed policies by name.
#[utoipa::path(get, path = "/api/v1/policies", tag = "permission sets",
    responses((status = 200, body = List<PolicyView>), (status = 401, body = ErrorBody)))]
pub async fn list_policies(State(app): State<AppState>, _: Admin) -> ApiResult<Json<List<PolicyView>>> {
    let ps = service::list_policies(&app).await?;
    Ok(Json(List { items: ps.iter().map(PolicyView::from).collect(), next: None }))
}

/// Create a managed policy; an invalid document is refused with the JSON path of the fault.
#[utoipa::path(post, path = "/api/v1/policies", tag = "permission sets", request_body = PolicyBody,
    responses((status = 201, body = PolicyView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_policy(
    State(app): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<PolicyBody>,
) -> ApiResult<(StatusCode, Json<PolicyView>)> {
    let doc = match &body.document {
        Some(v) => document_text("document", v)?,
        None => return Err(Error::invalid("document", "is required").into()),
    };
    let p = service::create_policy(
        &app,
        &admin.ctx,
        body.name.as_deref().unwrap_or(""),
        body.description.as_deref().unwrap_or(""),
        &doc,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(PolicyView::from(&p))))
}

/// Get a managed policy (its default version).
#[utoipa::path(get, path = "/api/v1/policies/{id}", tag = "permission sets", params(("id" = Uuid, Path)),
    responses((status = 200, body = PolicyView), (status = 404, body = ErrorBody)))]
pub async fn get_policy(
    State(app): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<PolicyView>> {
    Ok(Json(PolicyView::from(&service::get_policy(&app, id).await?)))
}

/// The kept versions of a managed policy, newest first.
#[utoipa::path(get, path = "/api/v1/policies/{id}/versions", tag = "permission sets", params(("id" = Uuid, Path)),
    responses((status = 200, body = List<PolicyVersionView>), (status = 404, body = ErrorBody)))]
pub async fn list_policy_versions(
    State(app): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<List<PolicyVersionView>>> {
    let p = service::get_policy(&app, id).await?;
    let versions = service::policy_versions(&app, id).await?;
    Ok(Json(List {
        items: versions
            .into_iter()
            .map(|(v, at)| PolicyVersionView {
                version: v,
                created_at: format_unix(at),
                is_default: v == p.default_version,
            })
            .collect(),
        next: None,
    }))
}

/// Change a managed policy; a new document becomes the default version and every permission
/// set using the policy is re-provisioned.
#[utoipa::path(patch, path = "/api/v1/policies/{id}", tag = "permission sets", params(("id" = Uuid, Path)), request_body = PolicyBody,
    responses((status = 200, body = PolicyView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_policy(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<PolicyBody>,
) -> ApiResult<Json<PolicyView>> {
    let doc = body.document.as_ref().map(|v| document_text("document", v)).transpose()?;
    let p =
        service::update_policy(&app, &admin.ctx, id, body.name.as_deref(), body.description.as_deref(), doc.as_deref())
            .await?;
    Ok(Json(PolicyView::from(&p)))
}

/// Delete a managed policy that no permission set uses.
#[utoipa::path(delete, path = "/api/v1/policies/{id}", tag = "permission sets", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_policy(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    service::delete_policy(&app, &admin.ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List permission sets by name.
#[utoipa::path(get, path = "/api/v1/permission-sets", tag = "permission sets",
    responses((status = 200, body = List<PermissionSetView>), (status = 401, body = ErrorBody)))]
pub async fn list_permission_sets(State(app): State<AppState>, _: Admin) -> ApiResult<Json<List<PermissionSetView>>> {
    let items = service::list_summaries(&app).await?.into_iter().map(|s| view(s, Vec::new())).collect();
    Ok(Json(List { items, next: None }))
}

/// Create a permission set.
#[utoipa::path(post, path = "/api/v1/permission-sets", tag = "permission sets", request_body = PermissionSetBody,
    responses((status = 201, body = PermissionSetView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_permission_set(
    State(app): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<PermissionSetBody>,
) -> ApiResult<(StatusCode, Json<PermissionSetView>)> {
    let ps = service::create_permission_set(&app, &admin.ctx, body.into_input()?).await?;
    Ok((StatusCode::CREATED, Json(ps_view(&app, &ps).await?)))
}

/// Get a permission set with its policies and provisioning status.
#[utoipa::path(get, path = "/api/v1/permission-sets/{id}", tag = "permission sets", params(("id" = Uuid, Path)),
    responses((status = 200, body = PermissionSetView), (status = 404, body = ErrorBody)))]
pub async fn get_permission_set(
    State(app): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<PermissionSetView>> {
    let ps = service::get_permission_set(&app, id).await?;
    Ok(Json(ps_view(&app, &ps).await?))
}

/// Change a permission set; it is re-provisioned in every account where it is assigned.
#[utoipa::path(patch, path = "/api/v1/permission-sets/{id}", tag = "permission sets", params(("id" = Uuid, Path)), request_body = PermissionSetBody,
    responses((status = 200, body = PermissionSetView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_permission_set(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<PermissionSetBody>,
) -> ApiResult<Json<PermissionSetView>> {
    let ps = service::update_permission_set(&app, &admin.ctx, id, body.into_input()?).await?;
    Ok(Json(ps_view(&app, &ps).await?))
}

/// Delete a permission set that is assigned nowhere.
#[utoipa::path(delete, path = "/api/v1/permission-sets/{id}", tag = "permission sets", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_permission_set(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    service::delete_permission_set(&app, &admin.ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Attach a managed policy (idempotent).
#[utoipa::path(put, path = "/api/v1/permission-sets/{id}/policies/{policy_id}", tag = "permission sets",
    params(("id" = Uuid, Path), ("policy_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn attach_policy(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath((id, policy)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    service::set_attachment(&app, &admin.ctx, id, policy, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Detach a managed policy.
#[utoipa::path(delete, path = "/api/v1/permission-sets/{id}/policies/{policy_id}", tag = "permission sets",
    params(("id" = Uuid, Path), ("policy_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn detach_policy(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath((id, policy)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    service::set_attachment(&app, &admin.ctx, id, policy, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Provision the permission set again in every account where it is assigned.
#[utoipa::path(post, path = "/api/v1/permission-sets/{id}/provision", tag = "permission sets", params(("id" = Uuid, Path)),
    responses((status = 200, body = PermissionSetView), (status = 404, body = ErrorBody)))]
pub async fn provision(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<PermissionSetView>> {
    let ps = service::get_permission_set(&app, id).await?;
    service::provision(&app, &admin.ctx, id).await?;
    Ok(Json(ps_view(&app, &ps).await?))
}

/// A role trust policy: who may become the role through STS.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrustPolicyBody {
    /// The document (object or text), or null for none.
    #[schema(value_type = Option<Object>)]
    pub trust_policy: Option<Value>,
}

/// Get a permission set's trust policy (`null`: nobody may assume the role through STS).
#[utoipa::path(get, path = "/api/v1/permission-sets/{id}/trust-policy", tag = "permission sets", params(("id" = Uuid, Path)),
    responses((status = 200, body = TrustPolicyBody), (status = 404, body = ErrorBody)))]
pub async fn get_trust_policy(
    State(app): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<TrustPolicyBody>> {
    let doc = service::trust_policy(&app, id).await?;
    Ok(Json(TrustPolicyBody { trust_policy: doc.as_deref().map(document_value) }))
}

/// Set or remove a permission set's trust policy: which roles may chain into it
/// (`sts:AssumeRole`) and which token issuers may federate into it
/// (`sts:AssumeRoleWithWebIdentity`).
#[utoipa::path(put, path = "/api/v1/permission-sets/{id}/trust-policy", tag = "permission sets", params(("id" = Uuid, Path)),
    request_body = TrustPolicyBody,
    responses((status = 200, body = TrustPolicyBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_trust_policy(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<TrustPolicyBody>,
) -> ApiResult<Json<TrustPolicyBody>> {
    let doc = match &body.trust_policy {
        None | Some(Value::Null) => None,
        Some(v) => Some(document_text("trust_policy", v)?),
    };
    service::set_trust_policy(&app, &admin.ctx, id, doc.clone()).await?;
    Ok(Json(TrustPolicyBody { trust_policy: doc.as_deref().map(document_value) }))
}
