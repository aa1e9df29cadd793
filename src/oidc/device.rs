//! The device authorization grant (RFC 8628): the device asks for a code pair, the person types
//! the user code on the portal's `/device` page and approves, the device polls the token
//! endpoint until then (authorization_pending, slow_down, access_denied, expired_token).

use super::error::OAuthError;
use super::grants::Issued;
use super::model::{self, Client};
use super::store::{self, Authn};
use crate::app::{App, AppState};
use crate::audit::{Actor, Origin};
use crate::crypto::token::PlainToken;
use crate::db::is_unique_violation;
use crate::error::Error;
use crate::portal::{CurrentUser, Layout, PortalForm, render, see_other};
use askama::Template;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

const DEVICE_PREFIX: &str = "lyd_dc";

fn new_user_code() -> Result<String, Error> {
    // Rejection sampling keeps every letter equally likely (256 is not a multiple of 20).
    let mut out = String::with_capacity(8);
    while out.len() < 8 {
        for b in crate::crypto::random_bytes::<16>()? {
            if b < 240 && out.len() < 8 {
                out.push(model::USER_CODE_ALPHABET[usize::from(b % 20)] as char);
            }
        }
    }
    Ok(out)
}

/// `POST /oauth2/device_authorization` (RFC 8628 §3.1–3.2).
pub async fn post_device_authorization(
    State(app): State<AppState>,
    crate::server::RequestOrigin(origin): crate::server::RequestOrigin,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match start(&app, &headers, &body, &origin).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn start(
    app: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    origin: &Origin,
) -> Result<serde_json::Value, OAuthError> {
    let (form, client) = super::token::back_channel(app, headers, body, origin, "/oauth2/device_authorization").await?;
    app.oidc_client_rate.check(&client.client_id, app.now()).map_err(OAuthError::slow_down)?;
    if !client.has_grant(model::GRANT_DEVICE) {
        return Err(OAuthError::unauthorized_client("this client may not use the device authorization grant"));
    }
    let scopes = model::parse_scope(form.get("scope").map(String::as_str).unwrap_or("openid"))
        .map_err(|e| OAuthError::invalid_scope(e.to_string()))?;
    let d = issue(app, &client, &scopes, origin).await?;
    Ok(json!({
        "device_code": d.device_code,
        "user_code": d.user_code,
        "verification_uri": d.verification_uri,
        "verification_uri_complete": d.verification_uri_complete,
        "expires_in": d.expires_in,
        "interval": d.interval,
    }))
}

/// A device authorization (RFC 8628 §3.2), for the OAuth endpoint and SSO OIDC's
/// StartDeviceAuthorization alike.
#[derive(Debug, Clone)]
pub struct DeviceAuthorization {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// Opens a device authorization for an authenticated client that may use the device grant.
pub async fn issue(
    app: &App,
    client: &Client,
    scopes: &[String],
    origin: &Origin,
) -> Result<DeviceAuthorization, OAuthError> {
    if !client.allows_scopes(scopes) {
        return Err(OAuthError::invalid_scope("a requested scope is not allowed for this client"));
    }
    let scope = scopes.join(" ");
    let device_code = PlainToken::generate(DEVICE_PREFIX).map_err(Error::from)?;
    let now = app.now();
    let mut user_code = new_user_code()?;
    for attempt in 0.. {
        let mut tx = app.db.begin().await?;
        match store::insert_device(&mut tx, &device_code.hash(), &user_code, client.id, &scope, now).await {
            Err(e) if is_unique_violation(&e) && attempt < 3 => user_code = new_user_code()?,
            r => {
                r?;
                tx.commit().await?;
                break;
            }
        }
    }
    let base = super::tokens::issuer(app);
    let shown = model::display_user_code(&user_code);
    super::grants::audit(
        app,
        Actor::client(client.id, &client.client_id),
        "oidc.device.start",
        client,
        origin,
        true,
        json!({"scope": scope}),
    )
    .await;
    Ok(DeviceAuthorization {
        device_code: device_code.expose().to_string(),
        verification_uri: format!("{base}/device"),
        verification_uri_complete: format!("{base}/device?user_code={shown}"),
        user_code: shown,
        expires_in: model::DEVICE_TTL,
        interval: model::DEVICE_INTERVAL,
    })
}

fn device_error(error: &'static str, d: &str) -> OAuthError {
    OAuthError::new(StatusCode::BAD_REQUEST, error, d)
}

/// The device's poll at the token endpoint (RFC 8628 §3.4–3.5).
pub async fn redeem(app: &AppState, client: &Client, code: &str, origin: &Origin) -> Result<Issued, OAuthError> {
    let now = app.now();
    let hash = PlainToken::from_presented(code).hash();
    let mut tx = app.db.begin().await?;
    let Some(d) = store::find_device(&mut tx, &hash).await? else {
        return Err(OAuthError::invalid_grant("the device code is invalid"));
    };
    if d.client_id != client.id {
        return Err(OAuthError::invalid_grant("the device code was issued to another client"));
    }
    if d.expires_at <= now {
        return Err(device_error("expired_token", "the device code has expired; start again"));
    }
    match d.status.as_str() {
        "pending" => {
            // Polling faster than the interval earns slow_down and a longer interval (§3.5).
            let early = d.last_polled_at.is_some_and(|t| now - t < d.poll_interval);
            let interval = if early { d.poll_interval + 5 } else { d.poll_interval };
            store::touch_device(&mut tx, &hash, now, interval).await?;
            tx.commit().await?;
            Err(if early {
                device_error("slow_down", &format!("poll at most every {interval} seconds"))
            } else {
                device_error("authorization_pending", "the user has not answered yet")
            })
        }
        "denied" => Err(device_error("access_denied", "the user denied the request")),
        "approved" => {
            if !store::consume_device(&mut tx, &hash).await? {
                return Err(OAuthError::invalid_grant("the device code was already used"));
            }
            tx.commit().await?;
            let authn = Authn {
                user_id: d.user_id.ok_or_else(|| OAuthError::invalid_grant("the device code has no user"))?,
                sid: d.sid.unwrap_or_default(),
                auth_time: d.auth_time.unwrap_or(now),
                amr: d.amr.unwrap_or_else(|| "[]".into()),
                acr: d.acr.unwrap_or_else(|| "pwd".into()),
            };
            super::grants::open_device_grant(app, client, &authn, &d.scope, origin).await
        }
        _ => Err(OAuthError::invalid_grant("the device code was already used")),
    }
}

#[derive(Template)]
#[template(path = "oidc/device.html")]
struct DevicePage {
    layout: Layout,
    user_code: String,
    /// Set once a valid code was entered: the app asking, and what for.
    app_name: Option<String>,
    scopes: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct DeviceQuery {
    user_code: Option<String>,
    notice: Option<String>,
}

async fn show_device(u: CurrentUser, Query(q): Query<DeviceQuery>) -> Response {
    let layout = Layout::new("Connect a device", Some(&u), &u.csrf).with_notice(q.notice.as_deref());
    let code = q.user_code.as_deref().map(model::normalise_user_code).unwrap_or_default();
    render(&DevicePage { layout, user_code: model::display_user_code(&code), app_name: None, scopes: vec![] })
}

#[derive(Debug, Deserialize)]
pub struct DeviceForm {
    #[serde(default)]
    user_code: String,
    decision: Option<String>,
}

async fn submit_device(State(app): State<AppState>, u: CurrentUser, PortalForm(f): PortalForm<DeviceForm>) -> Response {
    let code = model::normalise_user_code(&f.user_code);
    let again = |msg: &str| {
        let layout = Layout::new("Connect a device", Some(&u), &u.csrf).with_error(Some(msg.to_string()));
        let mut r =
            render(&DevicePage { layout, user_code: model::display_user_code(&code), app_name: None, scopes: vec![] });
        *r.status_mut() = StatusCode::BAD_REQUEST;
        r
    };
    // Guessing user codes is bounded per person (the codes are short by design).
    if app.signin_rate.check(&format!("device:{}", u.user.id), app.now()).is_err() {
        return again("Too many attempts. Wait a minute and try again.");
    }
    let found = async {
        let mut tx = app.db.conn().await?;
        let d = store::find_device_by_user_code(&mut tx, &code).await?;
        let client = match &d {
            Some(d) => store::find_client(&mut tx, d.client_id).await?,
            None => None,
        };
        Ok::<_, Error>(d.zip(client))
    }
    .await;
    let (d, client) = match found {
        Ok(Some((d, c))) if d.status == "pending" && d.expires_at > app.now() && c.enabled => (d, c),
        Ok(_) => return again("That code is not valid or has expired. Check the code on your device."),
        Err(e) => return u.fail(e).into_response(),
    };
    match super::clients::is_assigned(&app, &client, u.user.id).await {
        Ok(true) => {}
        Ok(false) => {
            super::grants::audit(
                &app,
                Actor::user(u.user.id, &u.user.username),
                "oidc.device.decide",
                &client,
                &u.origin,
                false,
                json!({"reason": "not_assigned"}),
            )
            .await;
            return crate::portal::error_page(
                StatusCode::FORBIDDEN,
                "You are not assigned to this application",
                &format!(
                    "Your Lanyard administrator has not given you access to {}. Ask them to assign it to you or to one of your groups.",
                    client.name
                ),
                &u.origin.request_id,
            );
        }
        Err(e) => return u.fail(e).into_response(),
    }
    let Some(decision) = f.decision.as_deref() else {
        let layout = Layout::new("Connect a device", Some(&u), &u.csrf);
        return render(&DevicePage {
            layout,
            user_code: model::display_user_code(&code),
            app_name: Some(client.name.clone()),
            scopes: d.scope.split(' ').map(str::to_string).collect(),
        });
    };
    let approved = decision == "allow";
    let authn = Authn::of_session(&app.db, &u.session, &u.state).await;
    let decided = async {
        let mut tx = app.db.begin().await?;
        let ok = store::decide_device(&mut tx, &d.device_hash, approved, approved.then_some(&authn)).await?;
        tx.commit().await?;
        Ok::<_, Error>(ok)
    }
    .await;
    match decided {
        Ok(true) => {
            super::grants::audit(
                &app,
                Actor::user(u.user.id, &u.user.username),
                "oidc.device.decide",
                &client,
                &u.origin,
                approved,
                json!({"approved": approved}),
            )
            .await;
            see_other(if approved { "/device?notice=device_approved" } else { "/device?notice=device_denied" })
        }
        Ok(false) => again("That code was already answered."),
        Err(e) => u.fail(e).into_response(),
    }
}

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new().route("/device", axum::routing::get(show_device).post(submit_device))
}
