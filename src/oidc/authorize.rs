//! The authorization endpoint (OIDC Core §3.1.2, RFC 6749 §4.1, RFC 7636) and its consent step.
//!
//! Order matters for safety: the client and the redirect URI are checked first and failures
//! there are shown as a page, never redirected (RFC 6749 §4.1.2.1: an unverified redirect URI is
//! an open redirector); every later error goes back to the verified redirect URI with `state`.

use super::model::{self, Client};
use super::store::{self, Authn};
use crate::app::AppState;
use crate::audit::{Actor, Origin};
use crate::authn::sessions::{AUTH_KEY, AuthState};
use crate::crypto::token::PlainToken;
use crate::error::Error;
use crate::portal::{Layout, error_page, origin_of, render};
use askama::Template;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_sessions::Session;

/// Authorization codes: `lyd_ac_` + 256 random bits.
const CODE_PREFIX: &str = "lyd_ac";

/// The request parameters Lanyard reads; others are ignored (OIDC Core §3.1.2.1).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Params {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub response_mode: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
}

impl Params {
    /// The GET URL of this request (to come back to after signing in).
    fn url(&self) -> String {
        let q = serde_urlencoded::to_string(self).unwrap_or_default();
        format!("/authorize?{q}")
    }
    fn hidden_fields(&self) -> Vec<(String, String)> {
        serde_urlencoded::to_string(self)
            .ok()
            .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default()
    }
}

/// Where the answer goes once the client and redirect URI are verified.
struct Reply {
    redirect_uri: String,
    state: Option<String>,
    form_post: bool,
    issuer: String,
}

#[derive(Template)]
#[template(path = "oidc/form_post.html")]
struct FormPost {
    layout: Layout,
    action: String,
    fields: Vec<(String, String)>,
}

impl Reply {
    fn send(&self, mut fields: Vec<(&str, String)>) -> Response {
        if let Some(s) = &self.state {
            fields.push(("state", s.clone()));
        }
        // RFC 9207: say who answers, against mix-up attacks.
        fields.push(("iss", self.issuer.clone()));
        if self.form_post {
            let page = FormPost {
                layout: Layout::new("Signing you in", None, ""),
                action: self.redirect_uri.clone(),
                fields: fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            };
            return render(&page);
        }
        let Ok(mut url) = url::Url::parse(&self.redirect_uri) else {
            return error_page(StatusCode::BAD_REQUEST, "Invalid redirect", "The redirect address is not a URL.", "");
        };
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in &fields {
                q.append_pair(k, v);
            }
        }
        (StatusCode::SEE_OTHER, [(header::LOCATION, url.to_string())]).into_response()
    }

    fn error(&self, error: &str, description: &str) -> Response {
        self.send(vec![("error", error.to_string()), ("error_description", description.to_string())])
    }
}

#[derive(Template)]
#[template(path = "oidc/consent.html")]
struct ConsentPage {
    layout: Layout,
    app_name: String,
    scopes: Vec<(String, &'static str)>,
    fields: Vec<(String, String)>,
}

fn scope_text(s: &str) -> &'static str {
    match s {
        "openid" => "Know who you are (your Lanyard user id)",
        "profile" => "See your name and username",
        "email" => "See your email address",
        "groups" => "See the names of your groups",
        "offline_access" => "Stay signed in when you are away (refresh access without you)",
        _ => "Use this application's own permission",
    }
}

async fn authorize_get(
    State(app): State<AppState>,
    session: Session,
    Query(p): Query<Params>,
    req: Request,
) -> Response {
    let (parts, _) = req.into_parts();
    let origin = origin_of(&app, &parts);
    run(&app, &session, p, &origin, None, &crate::portal::csrf_of(&parts)).await
}

async fn authorize_post(State(app): State<AppState>, session: Session, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let origin = origin_of(&app, &parts);
    let csrf = crate::portal::csrf_of(&parts);
    match axum::Form::<Params>::from_request(Request::from_parts(parts, body), &()).await {
        Ok(f) => run(&app, &session, f.0, &origin, None, &csrf).await,
        Err(e) => {
            error_page(StatusCode::BAD_REQUEST, "The request could not be read", &e.body_text(), &origin.request_id)
        }
    }
}

#[derive(Debug, Deserialize)]
struct ConsentForm {
    #[serde(flatten)]
    params: Params,
    decision: Option<String>,
}

async fn consent_post(State(app): State<AppState>, session: Session, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let origin = origin_of(&app, &parts);
    let csrf = crate::portal::csrf_of(&parts);
    match axum::Form::<ConsentForm>::from_request(Request::from_parts(parts, body), &()).await {
        Ok(f) => {
            let allow = f.0.decision.as_deref() == Some("allow");
            run(&app, &session, f.0.params, &origin, Some(allow), &csrf).await
        }
        Err(e) => {
            error_page(StatusCode::BAD_REQUEST, "The request could not be read", &e.body_text(), &origin.request_id)
        }
    }
}

pub fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/authorize", get(authorize_get).post(authorize_post))
        .route("/authorize/consent", post(consent_post))
}

/// The whole authorization request; `consent` is the person's answer on the consent page.
async fn run(
    app: &AppState,
    session: &Session,
    p: Params,
    origin: &Origin,
    consent: Option<bool>,
    csrf: &str,
) -> Response {
    let rid = &origin.request_id;
    if let Err(wait) = app.oidc_ip_rate.check(&origin.ip, app.now()) {
        return error_page(
            StatusCode::TOO_MANY_REQUESTS,
            "Slow down",
            &format!("Too many requests from your address. Try again in {wait} seconds."),
            rid,
        );
    }
    // 1. The client and its redirect URI: failures are pages, never redirects.
    let client = match super::clients::find_enabled(app, p.client_id.as_deref().unwrap_or("")).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Unknown application",
                "The application that sent you here is not registered with Lanyard, or it is disabled. Tell its owner.",
                rid,
            );
        }
        Err(e) => return crate::portal::PageError(e, rid.clone()).into_response(),
    };
    let Some(redirect_uri) = p.redirect_uri.clone().filter(|r| model::redirect_matches(&client.redirect_uris(), r))
    else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Redirect address not registered",
            "The application asked Lanyard to send you to an address that is not registered for it, so Lanyard stopped here. Tell the application's owner.",
            rid,
        );
    };
    let reply = Reply {
        redirect_uri,
        state: p.state.clone(),
        form_post: p.response_mode.as_deref() == Some("form_post"),
        issuer: super::tokens::issuer(app),
    };
    // 2. The request itself: errors go back to the application.
    if !matches!(p.response_mode.as_deref(), None | Some("query") | Some("form_post")) {
        return reply.error("invalid_request", "response_mode must be query or form_post");
    }
    if p.request.is_some() {
        return reply.error("request_not_supported", "request objects are not supported");
    }
    if p.request_uri.is_some() {
        return reply.error("request_uri_not_supported", "request_uri is not supported");
    }
    if p.response_type.as_deref() != Some("code") {
        return reply.error("unsupported_response_type", "only response_type=code is supported");
    }
    if !client.has_grant(model::GRANT_CODE) {
        return reply.error("unauthorized_client", "this application may not use the authorization code flow");
    }
    let scopes = match model::parse_scope(p.scope.as_deref().unwrap_or("")) {
        Ok(s) if s.is_empty() => return reply.error("invalid_scope", "scope is required"),
        Ok(s) => s,
        Err(e) => return reply.error("invalid_scope", &e.to_string()),
    };
    if !client.allows_scopes(&scopes) {
        return reply.error("invalid_scope", "a requested scope is not allowed for this application");
    }
    let challenge = match (p.code_challenge.as_deref(), p.code_challenge_method.as_deref()) {
        (Some(c), Some("S256"))
            if c.len() == 43 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Some(c.to_string())
        }
        (Some(_), Some("S256")) => {
            return reply.error("invalid_request", "code_challenge must be 43 base64url characters");
        }
        (Some(_), _) => {
            return reply.error("invalid_request", "code_challenge_method must be S256 (plain is not allowed)");
        }
        (None, Some(_)) => return reply.error("invalid_request", "code_challenge_method without code_challenge"),
        (None, None) if client.is_public() => {
            return reply.error("invalid_request", "PKCE (code_challenge with S256) is required for this application");
        }
        (None, None) => None,
    };
    let prompts: Vec<&str> = p.prompt.as_deref().unwrap_or("").split(' ').filter(|s| !s.is_empty()).collect();
    let prompt_none = prompts.contains(&"none");
    if prompt_none && prompts.len() > 1 {
        return reply.error("invalid_request", "prompt=none cannot be combined with other values");
    }
    let max_age = match p.max_age.as_deref().map(str::parse::<i64>) {
        None => None,
        Some(Ok(m)) if m >= 0 => Some(m),
        Some(_) => return reply.error("invalid_request", "max_age must be a non-negative number of seconds"),
    };
    if p.nonce.as_deref().is_some_and(|n| n.len() > 512) || p.state.as_deref().is_some_and(|s| s.len() > 2048) {
        return reply.error("invalid_request", "nonce or state is too long");
    }

    // 3. Who is signed in, and recently enough.
    let now = app.now();
    let state: Option<AuthState> = session.get(AUTH_KEY).await.ok().flatten();
    let user = match &state {
        Some(s) => match crate::directory::service::get_user(app, s.user_id).await {
            Ok(u) if u.is_active() => Some(u),
            Ok(_) | Err(Error::NotFound(_)) => None,
            Err(e) => return crate::portal::PageError(e, rid.clone()).into_response(),
        },
        None => None,
    };
    let too_old = |s: &AuthState| max_age.is_some_and(|m| now - s.auth_time > m);
    let (Some(state), Some(user)) = (state, user) else {
        if prompt_none {
            return reply.error("login_required", "the user is not signed in");
        }
        return to_signin(&p, false);
    };
    if prompts.contains(&"login") || too_old(&state) {
        if prompt_none {
            return reply.error("login_required", "the sign-in is older than max_age");
        }
        // Sign in again: this session ends, and the request resumes without prompt=login.
        let _ = session.flush().await;
        let mut again = p.clone();
        again.prompt = Some(prompts.iter().filter(|x| **x != "login").copied().collect::<Vec<_>>().join(" "))
            .filter(|s| !s.is_empty());
        return to_signin(&again, true);
    }
    if state.must_change_password || state.must_enrol_mfa || user.must_change_password {
        if prompt_none {
            return reply.error("interaction_required", "the user must finish setting up their account");
        }
        return Redirect::to(if state.must_enrol_mfa { "/profile/mfa" } else { "/profile/password" }).into_response();
    }

    // 4. Assigned to this application?
    let assigned = match super::clients::is_assigned(app, &client, user.id).await {
        Ok(a) => a,
        Err(e) => return crate::portal::PageError(e, rid.clone()).into_response(),
    };
    if !assigned {
        super::grants::audit(
            app,
            Actor::user(user.id, &user.username),
            "oidc.authorize",
            &client,
            origin,
            false,
            json!({"reason": "not_assigned"}),
        )
        .await;
        if prompt_none {
            return reply.error("access_denied", "the user is not assigned to this application");
        }
        return not_assigned(&client, rid);
    }

    // 5. Consent, when the application asks for it.
    let scope = scopes.join(" ");
    if client.consent_required {
        match consent {
            Some(false) => {
                super::grants::audit(
                    app,
                    Actor::user(user.id, &user.username),
                    "oidc.authorize",
                    &client,
                    origin,
                    false,
                    json!({"reason": "consent_denied"}),
                )
                .await;
                return reply.error("access_denied", "the user declined");
            }
            Some(true) => {
                if let Err(e) = save_consent(app, user.id, &client, &scope).await {
                    return crate::portal::PageError(e, rid.clone()).into_response();
                }
            }
            None => {
                let given = match stored_consent(app, user.id, &client).await {
                    Ok(g) => g,
                    Err(e) => return crate::portal::PageError(e, rid.clone()).into_response(),
                };
                let covered = given.is_some_and(|g| scopes.iter().all(|s| g.split(' ').any(|x| x == s)));
                if prompt_none && !covered {
                    return reply.error("consent_required", "the user has not consented to this application");
                }
                if !covered || prompts.contains(&"consent") {
                    let mut layout = Layout::new(format!("Allow {}?", client.name), None, csrf);
                    layout.user = Some(crate::portal::NavUser {
                        username: user.username.clone(),
                        display_name: user.display_name.clone(),
                        is_admin: false,
                    });
                    let page = ConsentPage {
                        layout,
                        app_name: client.name.clone(),
                        scopes: scopes.iter().map(|s| (s.clone(), scope_text(s))).collect(),
                        fields: p.hidden_fields(),
                    };
                    return render(&page);
                }
            }
        }
    }

    // 6. The code.
    let authn = Authn::of_session(&app.db, session, &state).await;
    match issue_code(app, &client, &reply.redirect_uri, &scope, p.nonce.as_deref(), challenge.as_deref(), &authn).await
    {
        Ok(code) => {
            super::grants::audit(
                app,
                Actor::user(user.id, &user.username),
                "oidc.authorize",
                &client,
                origin,
                true,
                json!({"scope": scope}),
            )
            .await;
            reply.send(vec![("code", code)])
        }
        Err(e) => {
            let _ = e.public_message();
            reply.error("server_error", "the authorization could not be completed")
        }
    }
}

fn to_signin(p: &Params, again: bool) -> Response {
    let next = url::form_urlencoded::byte_serialize(p.url().as_bytes()).collect::<String>();
    let notice = if again { "&notice=reauth" } else { "" };
    Redirect::to(&format!("/signin?next={next}{notice}")).into_response()
}

/// The page for people whose administrator has not assigned them the app (as IAM Identity
/// Center shows): it says what to do, and does not go back to the app.
fn not_assigned(client: &Client, rid: &str) -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "You are not assigned to this application",
        &format!(
            "Your Lanyard administrator has not given you access to {}. Ask them to assign it to you or to one of your groups.",
            client.name
        ),
        rid,
    )
}

async fn stored_consent(app: &AppState, user: uuid::Uuid, client: &Client) -> Result<Option<String>, Error> {
    let mut tx = app.db.conn().await?;
    Ok(store::find_consent(&mut tx, user, client.id).await?)
}

async fn save_consent(app: &AppState, user: uuid::Uuid, client: &Client, scope: &str) -> Result<(), Error> {
    let mut tx = app.db.begin().await?;
    store::save_consent(&mut tx, user, client.id, scope, app.now()).await?;
    tx.commit().await?;
    Ok(())
}

async fn issue_code(
    app: &AppState,
    client: &Client,
    redirect_uri: &str,
    scope: &str,
    nonce: Option<&str>,
    challenge: Option<&str>,
    authn: &Authn,
) -> Result<String, Error> {
    let code = PlainToken::generate(CODE_PREFIX)?;
    let hash = code.hash();
    let mut tx = app.db.begin().await?;
    store::insert_code(
        &mut tx,
        &store::NewCode {
            hash: &hash,
            client: client.id,
            redirect_uri,
            scope,
            nonce,
            code_challenge: challenge,
            authn,
            now: app.now(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(code.expose().to_string())
}
