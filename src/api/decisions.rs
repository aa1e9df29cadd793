//! `POST /api/v1/authorize` (decisions for resource services: an admin token, an administrator's
//! session, or a token with the `authorize` scope) and `POST /api/v1/simulate` (the policy
//! simulator, for administrators).

use super::auth::{Admin, Decider};
use super::error::{ApiJson, ApiResult, ErrorBody};
use crate::access::decision::{self, Authorized, Simulation};
use crate::access::model::{AccountId, parse_role_arn};
use crate::access::permission_sets::find_permission_set;
use crate::access::policy::{Decision, Outcome};
use crate::app::AppState;
use crate::error::Error;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Who is asking: a user acting in a role, named by its ARN or by account and permission set.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrincipalBody {
    /// The user's id.
    pub user_id: Option<Uuid>,
    /// Or the username.
    pub username: Option<String>,
    /// `arn:lanyard:iam::<account>:role/<permission set>`.
    pub role_arn: Option<String>,
    /// Or the account id …
    pub account_id: Option<String>,
    /// … and the permission set (role) name.
    pub permission_set: Option<String>,
    /// Or, instead of all of the above, proof: an STS GetCallerIdentity request the caller
    /// signed with their Lanyard role credentials, forwarded by the resource service (as
    /// Vault's AWS auth method does). Lanyard checks the signature and decides for its signer.
    pub signed_request: Option<SignedRequestBody>,
    /// Or a presigned GetCallerIdentity URL (`sts.generate_presigned_url('get_caller_identity')`).
    pub presigned_url: Option<String>,
    /// The method the presigned URL was signed for (botocore signs POST unless told GET).
    pub presigned_method: Option<String>,
}

/// A signed HTTP request, as the caller sent it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedRequestBody {
    /// `POST` (default) or `GET`.
    #[serde(default)]
    pub method: Option<String>,
    /// The URL it was sent to, e.g. `https://lanyard.example.com/aws`.
    pub url: String,
    /// Its headers: name to value (or list of values). `Authorization`, `X-Amz-Date`, `Host`
    /// and every other signed header must be present.
    #[schema(value_type = Object)]
    pub headers: BTreeMap<String, Value>,
    /// Its body, base64.
    #[serde(default)]
    pub body: String,
}

/// Who proved themselves with a forwarded signature, as (user, or None for a workload, account,
/// role, whether a trust policy rather than an assignment gave them the role).
async fn proved_principal(
    app: &AppState,
    p: &PrincipalBody,
    caller: &Decider,
) -> Result<(Option<Uuid>, AccountId, String, bool), Error> {
    use base64::Engine;
    let others = p.user_id.is_some()
        || p.username.is_some()
        || p.role_arn.is_some()
        || p.account_id.is_some()
        || p.permission_set.is_some();
    if others || (p.signed_request.is_some() && p.presigned_url.is_some()) {
        return Err(Error::invalid(
            "principal",
            "give a signed request or a presigned URL on its own, without user or role",
        ));
    }
    let (method, url, headers, body) = match (&p.signed_request, &p.presigned_url) {
        (Some(r), None) => {
            let mut h = axum::http::HeaderMap::new();
            if r.headers.len() > 50 {
                return Err(Error::invalid("principal.signed_request.headers", "at most 50 headers"));
            }
            for (k, v) in &r.headers {
                let name = axum::http::HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
                    Error::invalid("principal.signed_request.headers", format!("{k:?} is not a header name"))
                })?;
                let values = match v {
                    Value::String(s) => vec![s.clone()],
                    Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
                    _ => {
                        return Err(Error::invalid(
                            "principal.signed_request.headers",
                            "values are strings or lists of strings",
                        ));
                    }
                };
                for v in values {
                    let value = axum::http::HeaderValue::from_str(&v).map_err(|_| {
                        Error::invalid("principal.signed_request.headers", format!("the value of {k} is not valid"))
                    })?;
                    h.append(name.clone(), value);
                }
            }
            let body = base64::engine::general_purpose::STANDARD
                .decode(r.body.trim())
                .map_err(|_| Error::invalid("principal.signed_request.body", "must be base64"))?;
            (r.method.clone().unwrap_or_else(|| "POST".into()), r.url.clone(), h, body)
        }
        (None, Some(u)) => {
            let mut h = axum::http::HeaderMap::new();
            let host = url::Url::parse(u).ok().and_then(|x| {
                x.host_str().map(|hs| match x.port() {
                    Some(p) => format!("{hs}:{p}"),
                    None => hs.to_string(),
                })
            });
            if let Some(v) = host.and_then(|h| axum::http::HeaderValue::from_str(&h).ok()) {
                h.insert(axum::http::header::HOST, v);
            }
            (p.presigned_method.clone().unwrap_or_else(|| "POST".into()), u.clone(), h, Vec::new())
        }
        _ => return Err(Error::invalid("principal", "give a signed request or a presigned URL")),
    };
    let parsed =
        url::Url::parse(&url).map_err(|_| Error::invalid("principal", "the signed request's URL is not a URL"))?;
    // A proof is made for Lanyard: signed for its host, and short-lived (a presigned URL may
    // otherwise live a week), so a service holding one cannot pass it around for long.
    let public = app.config.public_url();
    let own_host = match public.port() {
        Some(p) => format!("{}:{p}", public.host_str().unwrap_or_default()),
        None => public.host_str().unwrap_or_default().to_string(),
    };
    let signed_host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if !signed_host.eq_ignore_ascii_case(&own_host) {
        return Err(Error::invalid(
            "principal",
            format!("the signed request must be signed for this Lanyard's host ({own_host})"),
        ));
    }
    let expires = url::form_urlencoded::parse(parsed.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "X-Amz-Expires")
        .and_then(|(_, v)| v.parse::<i64>().ok());
    if expires.is_some_and(|e| e > 900) {
        return Err(Error::invalid(
            "principal",
            "a presigned proof may be valid for at most 900 seconds (ExpiresIn=900)",
        ));
    }
    if !matches!(method.as_str(), "GET" | "POST") {
        return Err(Error::invalid("principal", "the signed request's method is GET or POST"));
    }
    // Only a GetCallerIdentity signature proves an identity: a signature made for anything
    // else is not accepted as one.
    let query = parsed.query().unwrap_or("");
    let action = url::form_urlencoded::parse(query.as_bytes())
        .chain(url::form_urlencoded::parse(&body))
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.into_owned());
    if action.as_deref() != Some("GetCallerIdentity") {
        return Err(Error::invalid("principal", "the signed request must be an STS GetCallerIdentity call"));
    }
    let req =
        crate::sts::sigv4::Request { method: &method, path: parsed.path(), query, headers: &headers, body: &body };
    let who = crate::sts::credentials::authenticate(app, &req, &["sts"], "lanyard:Authorize", &caller.ctx.origin)
        .await
        .map_err(|e| match e {
            crate::sts::sigv4::SigError::Internal => {
                Error::Unavailable("the signature could not be checked; try again".into())
            }
            e => Error::Forbidden(format!("the forwarded signature was refused: {} ({e})", e.code())),
        })?;
    Ok((who.user_id(), AccountId::parse(&who.account_id)?, who.role_name, who.trusted))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeBody {
    pub principal: PrincipalBody,
    /// e.g. `s3:GetObject`.
    pub action: String,
    /// An ARN, or `*`.
    pub resource: String,
    /// Condition keys: `{"aws:SourceIp": "10.1.2.3", "s3:prefix": ["a/", "b/"]}`. Keys about the
    /// principal and the time are set by Lanyard and cannot be supplied.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub context: BTreeMap<String, Value>,
}

/// A decision and what decided it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OutcomeView {
    /// `allow` or `deny`.
    pub decision: String,
    /// A Deny statement matched (rather than nothing allowing).
    pub explicit: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// For people: what decided, e.g. `explicitly denied by ReadOnly (DenyDelete)`.
    pub reason: String,
}

impl From<Outcome> for OutcomeView {
    fn from(o: Outcome) -> Self {
        Self {
            decision: if o.decision == Decision::Allow { "allow" } else { "deny" }.into(),
            explicit: o.explicit,
            policy: o.policy,
            sid: o.sid,
            reason: o.reason,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DecisionView {
    #[serde(flatten)]
    pub outcome: OutcomeView,
    pub principal_arn: String,
}

impl From<Authorized> for DecisionView {
    fn from(a: Authorized) -> Self {
        Self { outcome: a.outcome.into(), principal_arn: a.principal_arn }
    }
}

/// Ask whether a user acting in a role may perform an action on a resource.
#[utoipa::path(post, path = "/api/v1/authorize", tag = "decisions", request_body = AuthorizeBody,
    responses((status = 200, body = DecisionView), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn authorize(
    State(app): State<AppState>,
    caller: Decider,
    ApiJson(body): ApiJson<AuthorizeBody>,
) -> ApiResult<Json<DecisionView>> {
    let p = body.principal;
    let (user, account, role, trusted) = if p.signed_request.is_some() || p.presigned_url.is_some() {
        proved_principal(&app, &p, &caller).await?
    } else {
        let (account, role) = match (&p.role_arn, &p.account_id, &p.permission_set) {
            (Some(arn), None, None) => parse_role_arn(arn)?,
            (None, Some(a), Some(r)) => (AccountId::parse(a)?, r.trim().to_string()),
            _ => {
                return Err(Error::invalid("principal", "give role_arn, or account_id and permission_set").into());
            }
        };
        let user = match (p.user_id, &p.username) {
            (Some(id), None) => id,
            // An unknown username decides like an unassigned one: a deny.
            (None, Some(name)) => {
                crate::directory::service::find_user_by_username(&app, name).await?.map(|u| u.id).unwrap_or_default()
            }
            _ => return Err(Error::invalid("principal", "give user_id or username").into()),
        };
        (Some(user), account, role, false)
    };
    let q = decision::Question {
        user,
        account: &account,
        role: &role,
        action: body.action.trim(),
        resource: &body.resource,
        context: &body.context,
        trusted,
    };
    let d = decision::authorize(&app, &caller.ctx, &q).await?;
    Ok(Json(d.into()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateBody {
    /// A permission set (id or name), as currently defined, assigned or not.
    pub permission_set: Option<String>,
    /// Or policy documents (objects or their text).
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub policies: Vec<Value>,
    /// A permissions boundary document to apply with `policies`.
    #[schema(value_type = Option<Object>)]
    pub permissions_boundary: Option<Value>,
    /// A user (id or username) whose name and id fill policy variables.
    pub user: Option<String>,
    /// The account, for `${lanyard:PrincipalAccount}` and the principal ARN.
    pub account_id: Option<String>,
    pub actions: Vec<String>,
    /// Default `["*"]`.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Any condition keys, `lanyard:CurrentTime` included.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub context: BTreeMap<String, Value>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SimulatedView {
    pub action: String,
    pub resource: String,
    #[serde(flatten)]
    pub outcome: OutcomeView,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SimulationView {
    pub results: Vec<SimulatedView>,
}

fn doc_text(field: &'static str, v: &Value) -> Result<String, Error> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Object(_) => Ok(v.to_string()),
        _ => Err(Error::invalid(field, "policy documents are JSON objects or their text")),
    }
}

/// Builds a [`Simulation`] from the API body (shared with the portal's simulator page).
pub async fn simulation_from(app: &AppState, body: SimulateBody) -> Result<Simulation, Error> {
    let permission_set = match &body.permission_set {
        Some(p) if !p.trim().is_empty() => Some(find_permission_set(app, p).await?.id),
        _ => None,
    };
    let user = match &body.user {
        Some(u) if !u.trim().is_empty() => {
            let found = match Uuid::parse_str(u.trim()) {
                Ok(id) => crate::directory::service::get_user(app, id).await.ok(),
                Err(_) => crate::directory::service::find_user_by_username(app, u).await?,
            };
            let found = found.ok_or_else(|| Error::invalid("user", format!("there is no user {:?}", u.trim())))?;
            Some((found.id, found.username))
        }
        _ => None,
    };
    let account_id = match &body.account_id {
        Some(a) if !a.trim().is_empty() => Some(AccountId::parse(a)?),
        _ => None,
    };
    Ok(Simulation {
        permission_set,
        policies: body.policies.iter().map(|v| doc_text("policies", v)).collect::<Result<_, _>>()?,
        boundary: body.permissions_boundary.as_ref().map(|v| doc_text("permissions_boundary", v)).transpose()?,
        user,
        account_id,
        actions: body.actions.iter().map(|a| a.trim().to_string()).filter(|a| !a.is_empty()).collect(),
        resources: body.resources.iter().map(|r| r.trim().to_string()).filter(|r| !r.is_empty()).collect(),
        context: body.context,
    })
}

/// Simulate actions on resources against a permission set or policy documents.
#[utoipa::path(post, path = "/api/v1/simulate", tag = "decisions", request_body = SimulateBody,
    responses((status = 200, body = SimulationView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn simulate(
    State(app): State<AppState>,
    _: Admin,
    ApiJson(body): ApiJson<SimulateBody>,
) -> ApiResult<Json<SimulationView>> {
    let sim = simulation_from(&app, body).await?;
    let results = decision::simulate(&app, &sim).await?;
    Ok(Json(SimulationView {
        results: results
            .into_iter()
            .map(|r| SimulatedView { action: r.action, resource: r.resource, outcome: r.outcome.into() })
            .collect(),
    }))
}
