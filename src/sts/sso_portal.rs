//! The SSO portal API (`sso`, rest-json) under `/aws`: ListAccounts, ListAccountRoles,
//! GetRoleCredentials and Logout, authenticated by the access token of an SSO OIDC sign-in in
//! the `x-amz-sso_bearer_token` header. What it lists and issues is the user's own assignments.

use super::credentials::{self, Issue};
use super::error::{AwsError, Protocol};
use super::model::Source;
use crate::access::model::AccountId;
use crate::app::{App, AppState};
use crate::oidc::clients::AWS_CLIENT_ID;
use crate::oidc::tokens::AccessClaims;
use crate::server::RequestOrigin;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;

/// The header the SDKs carry the token in (with an underscore: proxies must pass it).
pub const BEARER_HEADER: &str = "x-amz-sso_bearer_token";

/// The signed-in user behind a request's SSO access token.
pub struct SsoUser {
    pub id: Uuid,
    pub claims: AccessClaims,
}

/// Checks the bearer token: a live access token of the built-in AWS application with the
/// `sso:account:access` scope, whose user is still active.
pub async fn sso_user(app: &App, headers: &HeaderMap) -> Result<SsoUser, AwsError> {
    let token = headers
        .get(BEARER_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| AwsError::sso_unauthorized("the x-amz-sso_bearer_token header is missing: sign in first"))?;
    let expired = || AwsError::sso_unauthorized("the session token is invalid or has expired: sign in again");
    let claims = crate::oidc::tokens::verify_access(app, token).await.ok_or_else(expired)?;
    if claims.client_id != AWS_CLIENT_ID || !claims.scope.split(' ').any(|s| s == "sso:account:access") {
        return Err(expired());
    }
    if !crate::oidc::grants::access_token_live(app, &claims).await.map_err(AwsError::from)? {
        return Err(expired());
    }
    let id = Uuid::parse_str(&claims.sub).map_err(|_| expired())?;
    Ok(SsoUser { id, claims })
}

fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::invalid_request(Protocol::Sso, message)
}

/// `max_result` (1–100), default 100.
fn page_size(q: &HashMap<String, String>) -> Result<i64, AwsError> {
    match q.get("max_result") {
        None => Ok(100),
        Some(v) => {
            v.parse::<i64>().ok().filter(|n| (1..=100).contains(n)).ok_or_else(|| invalid("max_result must be 1–100"))
        }
    }
}

fn respond(r: Result<Value, AwsError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /aws/assignment/accounts`.
pub async fn list_accounts(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    respond(accounts(&app, &headers, &q).await)
}

async fn accounts(app: &App, headers: &HeaderMap, q: &HashMap<String, String>) -> Result<Value, AwsError> {
    let user = sso_user(app, headers).await?;
    let limit = page_size(q)?;
    let page =
        crate::access::assignments::access_of(app, user.id, None, q.get("next_token").map(String::as_str), limit)
            .await
            .map_err(|e| match e {
                crate::error::Error::Invalid(_) => invalid("next_token is not a token this API returned"),
                other => other.into(),
            })?;
    let list: Vec<Value> = page
        .accounts
        .iter()
        .map(|a| json!({"accountId": a.account_id, "accountName": a.account_name, "emailAddress": a.account_email}))
        .collect();
    let mut out = json!({"accountList": list});
    if let Some(n) = page.next {
        out["nextToken"] = json!(n);
    }
    Ok(out)
}

/// `GET /aws/assignment/roles?account_id=…`.
pub async fn list_account_roles(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    respond(roles(&app, &headers, &q).await)
}

async fn roles(app: &App, headers: &HeaderMap, q: &HashMap<String, String>) -> Result<Value, AwsError> {
    let user = sso_user(app, headers).await?;
    let limit = page_size(q)? as usize;
    let account = AccountId::parse(q.get("account_id").map(String::as_str).unwrap_or(""))
        .map_err(|_| invalid("account_id is required: a 12-digit account id"))?;
    // Roles are few per account: the token is the last role name of the previous page.
    let after = match q.get("next_token") {
        Some(t) => Some(
            crate::directory::model::decode_cursor(t)
                .map_err(|_| invalid("next_token is not a token this API returned"))?,
        ),
        None => None,
    };
    let rows = crate::access::assignments::roles_in_account(app, user.id, &account).await?;
    let rest: Vec<_> = rows
        .iter()
        .filter(|r| after.as_deref().is_none_or(|a| r.permission_set_name.to_lowercase().as_str() > a))
        .collect();
    let list: Vec<Value> = rest
        .iter()
        .take(limit)
        .map(|r| json!({"roleName": r.permission_set_name, "accountId": r.account_id}))
        .collect();
    let mut out = json!({"roleList": list});
    if rest.len() > limit
        && let Some(last) = rest.get(limit - 1)
    {
        out["nextToken"] = json!(crate::directory::model::encode_cursor(&last.permission_set_name.to_lowercase()));
    }
    Ok(out)
}

/// `GET /aws/federation/credentials?role_name=…&account_id=…`.
pub async fn get_role_credentials(
    State(app): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    respond(role_credentials(&app, &headers, &q, &origin).await)
}

async fn role_credentials(
    app: &App,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    origin: &crate::audit::Origin,
) -> Result<Value, AwsError> {
    let user = sso_user(app, headers).await?;
    let (Some(role), Some(account)) = (q.get("role_name").map(String::as_str), q.get("account_id").map(String::as_str))
    else {
        return Err(invalid("role_name and account_id are required"));
    };
    if AccountId::parse(account).is_err() {
        return Err(invalid("account_id must be a 12-digit account id"));
    }
    let mfa_at = user
        .claims
        .amr
        .as_ref()
        .is_some_and(|a| a.iter().any(|m| m == "mfa"))
        .then_some(user.claims.auth_time.unwrap_or(user.claims.iat));
    let grant = user.claims.gid.as_deref().and_then(|g| Uuid::parse_str(g).ok());
    // Bound to the sign-in: no live grant, no credentials.
    let not_after = if app.config.sts.bound_to_session {
        let end = match grant {
            Some(g) => crate::oidc::grants::grant_end(app, g).await.map_err(AwsError::from)?,
            None => None,
        };
        Some(end.ok_or_else(|| AwsError::sso_unauthorized("your sign-in has ended: sign in again"))?)
    } else {
        None
    };
    let issued = credentials::issue(
        app,
        Issue {
            holder: crate::sts::model::Holder::User(user.id),
            account,
            role,
            source: Source::Sso,
            session_name: None,
            duration: None,
            not_after,
            mfa_at,
            parent: None,
            grant,
            trusted: false,
        },
        origin,
    )
    .await
    .map_err(|e| match e {
        // IAM Identity Center answers an unassigned role with ForbiddenException (403).
        crate::error::Error::Forbidden(m) => {
            AwsError::new(Protocol::Sso, StatusCode::FORBIDDEN, "ForbiddenException", m)
        }
        other => other.into(),
    })?;
    let c = issued.credentials;
    Ok(json!({"roleCredentials": {
        "accessKeyId": c.access_key_id,
        "secretAccessKey": c.secret_access_key,
        "sessionToken": c.session_token,
        // Epoch milliseconds: seconds would read as 1970.
        "expiration": c.expiration * 1000,
    }}))
}

/// `POST /aws/logout`: ends the SSO sign-in (its refresh tokens stop working). Role credentials
/// already issued stay valid until they expire, as with AWS.
pub async fn logout(State(app): State<AppState>, headers: HeaderMap) -> Response {
    match sso_user(&app, &headers).await {
        Ok(u) => match crate::oidc::grants::end_grant_of(&app, &u.claims).await {
            Ok(()) => StatusCode::OK.into_response(),
            Err(e) => AwsError::from(e).into_response(),
        },
        Err(e) => e.into_response(),
    }
}
