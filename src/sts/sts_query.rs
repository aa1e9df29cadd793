//! The STS query API (`sts`, awsquery: form in, XML out) at `/aws`: GetCallerIdentity and
//! AssumeRole (role chaining), signed with Lanyard role credentials (header or presigned URL),
//! and AssumeRoleWithWebIdentity (unsigned: the ID token is the proof). Becoming a role through
//! STS takes the role's trust policy; chaining also takes `sts:AssumeRole` in the caller's own
//! permissions.

use super::credentials;
use super::error::{AwsError, Protocol, STS_NS, xml_escape};
use super::model::Caller;
use super::sigv4;
use crate::app::AppState;
use crate::audit::Origin;
use crate::server::RequestOrigin;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

/// The STS API version the SDKs send.
pub const VERSION: &str = "2011-06-15";

/// `POST /aws` (and `GET` for presigned URLs): dispatches on `Action`.
pub async fn query(
    State(app): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match dispatch(&app, &method, &uri, &headers, &body, &origin).await {
        Ok(xml) => (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml")], xml).into_response(),
        Err(e) => e.into_response(),
    }
}

fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::invalid_request(Protocol::Sts, message)
}

/// The request's parameters: the query's, then the form body's (a name may appear once).
fn params(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<HashMap<String, String>, AwsError> {
    let mut out = HashMap::new();
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let query = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes());
    let form = url::form_urlencoded::parse(if is_form { body } else { b"" });
    for (k, v) in query.chain(form) {
        if out.len() >= 200 {
            return Err(invalid("too many parameters"));
        }
        if out.insert(k.into_owned(), v.into_owned()).is_some() {
            return Err(invalid("a parameter appears twice"));
        }
    }
    Ok(out)
}

/// An awsquery success document.
fn result(action: &str, inner: &str) -> String {
    let rid = uuid::Uuid::new_v4();
    format!(
        "<{action}Response xmlns=\"{STS_NS}\"><{action}Result>{inner}</{action}Result><ResponseMetadata><RequestId>{rid}</RequestId></ResponseMetadata></{action}Response>"
    )
}

async fn dispatch(
    app: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    origin: &Origin,
) -> Result<String, AwsError> {
    let p = params(uri, headers, body)?;
    if let Some(v) = p.get("Version")
        && v != VERSION
    {
        return Err(invalid(format!("Version must be {VERSION}")));
    }
    let action = p.get("Action").map(String::as_str).unwrap_or("");
    let req =
        sigv4::Request { method: method.as_str(), path: uri.path(), query: uri.query().unwrap_or(""), headers, body };
    match action {
        "GetCallerIdentity" => {
            let caller = signed(app, &req, "sts:GetCallerIdentity", origin).await?;
            Ok(result("GetCallerIdentity", &caller_identity(&caller)))
        }
        "AssumeRole" => {
            let caller = signed(app, &req, "sts:AssumeRole", origin).await?;
            assume_role(app, &caller, &p, origin).await
        }
        "AssumeRoleWithWebIdentity" => assume_role_with_web_identity(app, &p, origin).await,
        "" => Err(AwsError::new(Protocol::Sts, StatusCode::BAD_REQUEST, "MissingAction", "Action is required")),
        other => Err(AwsError::new(
            Protocol::Sts,
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            format!("{} is not an action this endpoint serves", other.chars().take(64).collect::<String>()),
        )),
    }
}

/// The caller behind a SigV4 signature for the `sts` service.
async fn signed(app: &AppState, req: &sigv4::Request<'_>, action: &str, origin: &Origin) -> Result<Caller, AwsError> {
    credentials::authenticate(app, req, &["sts"], action, origin)
        .await
        .map_err(|e| AwsError::from_sig(Protocol::Sts, e))
}

fn caller_identity(c: &Caller) -> String {
    format!(
        "<Arn>{}</Arn><UserId>{}</UserId><Account>{}</Account>",
        xml_escape(&c.arn()),
        xml_escape(&c.user_id_string()),
        xml_escape(&c.account_id)
    )
}

fn access_denied(message: impl Into<String>) -> AwsError {
    AwsError::new(Protocol::Sts, StatusCode::FORBIDDEN, "AccessDenied", message)
}

fn validation(message: impl Into<String>) -> AwsError {
    AwsError::new(Protocol::Sts, StatusCode::BAD_REQUEST, "ValidationError", message)
}

/// The parameters every AssumeRole* call shares: the target role, the session name and the
/// lifetime; session policies are refused rather than ignored (they would only narrow, and
/// silently widening what a caller asked for is not an option).
struct Assume {
    account: crate::access::model::AccountId,
    role: String,
    arn: String,
    session: String,
    duration: Option<i64>,
}

fn assume_params(p: &HashMap<String, String>) -> Result<Assume, AwsError> {
    let arn = p.get("RoleArn").ok_or_else(|| validation("RoleArn is required"))?;
    if arn.len() < 20 || arn.len() > 2048 {
        return Err(validation("RoleArn must be 20–2048 characters"));
    }
    let (account, role) = crate::access::model::parse_role_arn(arn).map_err(|e| validation(e.to_string()))?;
    let session = p.get("RoleSessionName").ok_or_else(|| validation("RoleSessionName is required"))?;
    let session = super::model::parse_session_name(session).map_err(|e| validation(e.to_string()))?;
    if p.contains_key("Policy") || p.keys().any(|k| k.starts_with("PolicyArns.")) {
        return Err(validation("session policies (Policy, PolicyArns) are not supported by Lanyard"));
    }
    let duration = match p.get("DurationSeconds") {
        None => None,
        Some(d) => Some(
            d.parse::<i64>()
                .ok()
                .filter(|d| (super::model::MIN_DURATION..=super::model::MAX_DURATION).contains(d))
                .ok_or_else(|| validation("DurationSeconds must be 900–43200"))?,
        ),
    };
    Ok(Assume { arn: crate::access::model::role_arn(account.as_str(), &role), account, role, session, duration })
}

fn credentials_xml(issued: &credentials::Issued) -> String {
    let c = &issued.credentials;
    format!(
        "<Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey><SessionToken>{}</SessionToken><Expiration>{}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>{}</AssumedRoleId><Arn>{}</Arn></AssumedRoleUser>",
        xml_escape(&c.access_key_id),
        xml_escape(&c.secret_access_key),
        xml_escape(&c.session_token),
        crate::clock::format_unix(c.expiration),
        xml_escape(&issued.caller.user_id_string()),
        xml_escape(&issued.caller.arn())
    )
}

fn trust_of(
    role: &crate::access::store::ProvisionedRole,
) -> Result<crate::access::policy::trust::TrustPolicy, AwsError> {
    let text = role
        .trust_policy
        .as_deref()
        .ok_or_else(|| access_denied(format!("the role {} trusts nobody: it has no trust policy", role.role_name)))?;
    crate::access::policy::trust::parse(text).map_err(|e| {
        AwsError::from_error(Protocol::Sts, crate::error::Error::internal(anyhow::anyhow!("stored trust policy: {e}")))
    })
}

/// AssumeRole: role chaining. The caller's role must allow `sts:AssumeRole` on the target, the
/// target's trust policy must trust the caller's role, and a chained session lasts at most an
/// hour.
async fn assume_role(
    app: &AppState,
    caller: &Caller,
    p: &HashMap<String, String>,
    origin: &Origin,
) -> Result<String, AwsError> {
    let a = assume_params(p)?;
    if a.duration.is_some_and(|d| d > super::model::MAX_CHAINED_DURATION) {
        return Err(validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        ));
    }
    let caller_account = crate::access::model::AccountId::parse(&caller.account_id)
        .map_err(|e| AwsError::from_error(Protocol::Sts, e.into()))?;
    let ctx = crate::directory::Ctx { actor: caller.actor(), origin: origin.clone() };
    let q = crate::access::decision::Question {
        user: caller.user_id(),
        account: &caller_account,
        role: &caller.role_name,
        action: "sts:AssumeRole",
        resource: &a.arn,
        context: &Default::default(),
        trusted: caller.trusted,
    };
    let d =
        crate::access::decision::authorize(app, &ctx, &q).await.map_err(|e| AwsError::from_error(Protocol::Sts, e))?;
    let caller_role_arn = crate::access::model::role_arn(&caller.account_id, &caller.role_name);
    let denied = || {
        access_denied(format!(
            "User: {} is not authorized to perform: sts:AssumeRole on resource: {}",
            caller.arn(),
            a.arn
        ))
    };
    if d.outcome.decision != crate::access::policy::Decision::Allow {
        return Err(denied());
    }
    let role = crate::access::permission_sets::provisioned_role(app, &a.account, &a.role)
        .await
        .map_err(|e| AwsError::from_error(Protocol::Sts, e))?
        .ok_or_else(denied)?;
    let trust = trust_of(&role)?;
    let mut tctx = crate::access::policy::Context::new();
    tctx.set("lanyard:PrincipalArn", vec![caller_role_arn.clone()]);
    tctx.set("lanyard:PrincipalAccount", vec![caller.account_id.clone()]);
    if caller.user_id().is_some() {
        tctx.set("lanyard:username", vec![caller.username.clone()]);
    }
    tctx.set("lanyard:MultiFactorAuthPresent", vec![caller.mfa_at.is_some().to_string()]);
    tctx.set("sts:RoleSessionName", vec![a.session.clone()]);
    // For trust conditions such as {"StringEquals": {"sts:ExternalId": "…"}} (AWS: 2–1224 chars).
    if let Some(ext) = p.get("ExternalId") {
        if !(2..=1224).contains(&ext.len()) {
            return Err(validation("ExternalId must be 2–1224 characters"));
        }
        tctx.set("sts:ExternalId", vec![ext.clone()]);
    }
    let who = crate::access::policy::trust::Principal::Role { arn: &caller_role_arn, account: &caller.account_id };
    if !trust.allows(&who, "sts:AssumeRole", &tctx) {
        return Err(denied());
    }
    let issued = credentials::issue(
        app,
        credentials::Issue {
            holder: caller.holder.clone(),
            account: a.account.as_str(),
            role: &role.role_name,
            source: super::model::Source::AssumeRole,
            session_name: Some(a.session),
            // Default and cap: the role's duration, at most an hour when chained.
            duration: a.duration,
            // Bound to the sign-in: a chained session ends no later than the one it came from.
            not_after: app.config.sts.bound_to_session.then_some(caller.expires_at),
            mfa_at: caller.mfa_at,
            parent: Some(&caller.access_key_id),
            grant: None,
            trusted: true,
        },
        origin,
    )
    .await
    .map_err(|e| AwsError::from_error(Protocol::Sts, e))?;
    Ok(result("AssumeRole", &credentials_xml(&issued)))
}

/// Who a web identity token proved, and the claims its trust conditions see.
struct WebIdentity {
    holder: super::model::Holder,
    /// The token's `iss`, which the trust policy's `Federated` names.
    issuer: String,
    subject: String,
    audiences: Vec<String>,
    /// `<issuer host>:<claim>` keys for the trust policy's conditions.
    context: crate::access::policy::Context,
    mfa_at: Option<i64>,
    /// The token's `exp`.
    expires_at: i64,
}

fn invalid_token(message: impl Into<String>) -> AwsError {
    AwsError::new(Protocol::Sts, StatusCode::BAD_REQUEST, "InvalidIdentityToken", message)
}

fn claim_strings(v: Option<&serde_json::Value>) -> Vec<String> {
    match v {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(a)) => a.iter().take(50).filter_map(|x| x.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

/// The condition keys of a token's claims (`sub`, `aud`, `azp`, `amr`, `email`), prefixed with
/// the issuer's host and path as IAM does.
fn claim_context(prefix: &str, claims: &serde_json::Map<String, serde_json::Value>) -> crate::access::policy::Context {
    let mut ctx = crate::access::policy::Context::new();
    for claim in ["sub", "aud", "azp", "amr", "email"] {
        let values = claim_strings(claims.get(claim));
        if !values.is_empty() {
            ctx.set(&format!("{prefix}:{claim}"), values);
        }
    }
    ctx
}

/// An ID token this Lanyard issued, whose sign-in is still alive: the user it names.
async fn own_identity(app: &AppState, token: &str) -> Result<WebIdentity, AwsError> {
    let invalid = || invalid_token("the web identity token is not a valid, unexpired ID token issued by this Lanyard");
    let claims = crate::oidc::tokens::verify_id_token(app, token).await.ok_or_else(invalid)?;
    let user =
        claims.get("sub").and_then(|s| s.as_str()).and_then(|s| uuid::Uuid::parse_str(s).ok()).ok_or_else(invalid)?;
    // An ID token of a sign-in that has ended (signed out, everywhere, or reset) buys nothing.
    if let Some(sid) = claims.get("sid").and_then(|s| s.as_str()).filter(|s| !s.is_empty())
        && !crate::oidc::grants::sign_in_alive(app, sid).await.map_err(|e| AwsError::from_error(Protocol::Sts, e))?
    {
        return Err(invalid_token("the sign-in behind the web identity token has ended"));
    }
    let issuer = crate::oidc::tokens::issuer(app);
    let amr = claim_strings(claims.get("amr"));
    let mfa_at =
        amr.iter().any(|m| m == "mfa").then(|| claims.get("auth_time").and_then(|t| t.as_i64()).unwrap_or(app.now()));
    Ok(WebIdentity {
        holder: super::model::Holder::User(user),
        context: claim_context(super::web_identity::condition_prefix(&issuer), &claims),
        issuer,
        subject: user.to_string(),
        audiences: claim_strings(claims.get("aud")),
        mfa_at,
        expires_at: claims.get("exp").and_then(|e| e.as_i64()).unwrap_or(0),
    })
}

/// A token from a registered web identity provider: the workload it names.
async fn external_identity(app: &AppState, token: &str) -> Result<WebIdentity, AwsError> {
    use super::web_identity::TokenError;
    let v = super::web_identity::verify(app, token).await.map_err(|e| match e {
        TokenError::Invalid(m) => invalid_token(m),
        TokenError::Expired => {
            AwsError::new(Protocol::Sts, StatusCode::BAD_REQUEST, "ExpiredTokenException", e.to_string())
        }
        TokenError::Unreachable(m) => AwsError::new(Protocol::Sts, StatusCode::BAD_REQUEST, "IDPCommunicationError", m),
        TokenError::Internal(e) => AwsError::from_error(Protocol::Sts, e),
    })?;
    let subject = v.claims.get("sub").and_then(|s| s.as_str()).unwrap_or_default().to_string();
    Ok(WebIdentity {
        holder: super::model::Holder::Workload { provider: v.provider.id, subject: subject.clone() },
        context: claim_context(v.provider.host(), &v.claims),
        audiences: claim_strings(v.claims.get("aud")),
        issuer: v.provider.issuer,
        subject,
        mfa_at: None,
        expires_at: v.claims.get("exp").and_then(|e| e.as_i64()).unwrap_or(0),
    })
}

/// AssumeRoleWithWebIdentity: an ID token this Lanyard issued (the user it names gets the
/// role), or one from a registered web identity provider (a workload gets it), for a role whose
/// trust policy trusts the issuer (`Federated`) under its conditions on the token's claims
/// (`<issuer host>:sub`, `:aud`, `:azp`, `:amr`, `:email`). Refusals are audited.
async fn assume_role_with_web_identity(
    app: &AppState,
    p: &HashMap<String, String>,
    origin: &Origin,
) -> Result<String, AwsError> {
    let r = web_identity_exchange(app, p, origin).await;
    if let Err(e) = &r {
        let role = p.get("RoleArn").map(|a| a.chars().take(2048).collect::<String>()).unwrap_or_default();
        let claimed =
            p.get("WebIdentityToken").and_then(|t| super::web_identity::peek_issuer(t.trim())).unwrap_or_default();
        app.audit_batch
            .submit(crate::audit::batch::OwnedEvent {
                at: app.now(),
                actor: crate::audit::Actor::anonymous(&claimed),
                action: "sts.credentials.issue".into(),
                target_kind: "role".into(),
                target_id: role,
                outcome: "failure",
                details: serde_json::json!({"source": "web_identity", "error": e.code, "message": e.message,
                    "user_agent": origin.user_agent}),
                origin: origin.clone(),
            })
            .await;
    }
    r
}

async fn web_identity_exchange(
    app: &AppState,
    p: &HashMap<String, String>,
    origin: &Origin,
) -> Result<String, AwsError> {
    let a = assume_params(p)?;
    // botocore sends the token file with its trailing newline.
    let token = p.get("WebIdentityToken").map(|t| t.trim()).unwrap_or("");
    if !(4..=20_000).contains(&token.len()) {
        return Err(validation("WebIdentityToken must be 4–20000 characters"));
    }
    let own = crate::oidc::tokens::issuer(app);
    let claimed = super::web_identity::peek_issuer(token);
    let mut id = if claimed.as_deref().is_none_or(|i| i.trim_end_matches('/') == own.trim_end_matches('/')) {
        own_identity(app, token).await?
    } else {
        external_identity(app, token).await?
    };
    id.context.set("sts:RoleSessionName", vec![a.session.clone()]);
    let denied = || access_denied(format!("Not authorized to perform sts:AssumeRoleWithWebIdentity on {}", a.arn));
    let role = crate::access::permission_sets::provisioned_role(app, &a.account, &a.role)
        .await
        .map_err(|e| AwsError::from_error(Protocol::Sts, e))?
        .ok_or_else(denied)?;
    let trust = trust_of(&role)?;
    if !trust.allows(
        &crate::access::policy::trust::Principal::Federated { issuer: &id.issuer },
        "sts:AssumeRoleWithWebIdentity",
        &id.context,
    ) {
        return Err(denied());
    }
    let person = matches!(id.holder, super::model::Holder::User(_));
    let issued = credentials::issue(
        app,
        credentials::Issue {
            holder: id.holder.clone(),
            account: a.account.as_str(),
            role: &role.role_name,
            source: super::model::Source::WebIdentity,
            session_name: Some(a.session),
            duration: Some(a.duration.unwrap_or_else(|| 3600.min(role.session_duration))),
            // A person's credentials may be bound to their sign-in (the ID token's life); a
            // workload has no sign-in to end.
            not_after: (person && app.config.sts.bound_to_session).then_some(id.expires_at),
            mfa_at: id.mfa_at,
            parent: None,
            grant: None,
            trusted: true,
        },
        origin,
    )
    .await
    .map_err(|e| match e {
        crate::error::Error::Forbidden(m) => access_denied(m),
        e => AwsError::from_error(Protocol::Sts, e),
    })?;
    let inner = format!(
        "{}<SubjectFromWebIdentityToken>{}</SubjectFromWebIdentityToken><Provider>{}</Provider><Audience>{}</Audience>",
        credentials_xml(&issued),
        xml_escape(&id.subject),
        xml_escape(&id.issuer),
        xml_escape(&id.audiences.join(","))
    );
    Ok(result("AssumeRoleWithWebIdentity", &inner))
}
