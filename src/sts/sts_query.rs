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
    let ctx = crate::directory::Ctx {
        actor: crate::audit::Actor::user(caller.user_id, &caller.username),
        origin: origin.clone(),
    };
    let q = crate::access::decision::Question {
        user: caller.user_id,
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
    tctx.set("lanyard:username", vec![caller.username.clone()]);
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
            user: caller.user_id,
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

/// AssumeRoleWithWebIdentity: an ID token this Lanyard issued, for a role whose trust policy
/// trusts this issuer (`Federated`) under its conditions on the token's claims
/// (`<issuer host>:sub`, `:aud`, `:amr`).
async fn assume_role_with_web_identity(
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
    let invalid = || {
        AwsError::new(
            Protocol::Sts,
            StatusCode::BAD_REQUEST,
            "InvalidIdentityToken",
            "the web identity token is not a valid, unexpired ID token issued by this Lanyard",
        )
    };
    let claims = crate::oidc::tokens::verify_id_token(app, token).await.ok_or_else(invalid)?;
    let user =
        claims.get("sub").and_then(|s| s.as_str()).and_then(|s| uuid::Uuid::parse_str(s).ok()).ok_or_else(invalid)?;
    // An ID token of a sign-in that has ended (signed out, everywhere, or reset) buys nothing.
    if let Some(sid) = claims.get("sid").and_then(|s| s.as_str()).filter(|s| !s.is_empty())
        && !crate::oidc::grants::sign_in_alive(app, sid).await.map_err(|e| AwsError::from_error(Protocol::Sts, e))?
    {
        return Err(AwsError::new(
            Protocol::Sts,
            StatusCode::BAD_REQUEST,
            "InvalidIdentityToken",
            "the sign-in behind the web identity token has ended",
        ));
    }
    let issuer = crate::oidc::tokens::issuer(app);
    let host = issuer.split("://").nth(1).unwrap_or(&issuer).to_string();
    let strings = |v: Option<&serde_json::Value>| -> Vec<String> {
        match v {
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        }
    };
    let aud = strings(claims.get("aud"));
    let amr = strings(claims.get("amr"));
    let mut tctx = crate::access::policy::Context::new();
    tctx.set(&format!("{host}:sub"), vec![user.to_string()]);
    tctx.set(&format!("{host}:aud"), aud.clone());
    tctx.set(&format!("{host}:amr"), amr.clone());
    tctx.set("sts:RoleSessionName", vec![a.session.clone()]);
    let denied = || access_denied(format!("Not authorized to perform sts:AssumeRoleWithWebIdentity on {}", a.arn));
    let role = crate::access::permission_sets::provisioned_role(app, &a.account, &a.role)
        .await
        .map_err(|e| AwsError::from_error(Protocol::Sts, e))?
        .ok_or_else(denied)?;
    let trust = trust_of(&role)?;
    if !trust.allows(
        &crate::access::policy::trust::Principal::Federated { issuer: &issuer },
        "sts:AssumeRoleWithWebIdentity",
        &tctx,
    ) {
        return Err(denied());
    }
    let mfa_at =
        amr.iter().any(|m| m == "mfa").then(|| claims.get("auth_time").and_then(|t| t.as_i64()).unwrap_or(app.now()));
    let issued = credentials::issue(
        app,
        credentials::Issue {
            user,
            account: a.account.as_str(),
            role: &role.role_name,
            source: super::model::Source::WebIdentity,
            session_name: Some(a.session),
            duration: Some(a.duration.unwrap_or_else(|| 3600.min(role.session_duration))),
            not_after: app.config.sts.bound_to_session.then(|| claims.get("exp").and_then(|e| e.as_i64()).unwrap_or(0)),
            mfa_at,
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
        user,
        xml_escape(&issuer),
        xml_escape(&aud.join(","))
    );
    Ok(result("AssumeRoleWithWebIdentity", &inner))
}
