//! The HTTP server: the router, the middleware stack, and graceful shutdown.
//!
//! Request path: request id → trace → metrics → panic guard → timeout → body limit → security
//! headers → session → CSRF → the capability's routes → its service.

use crate::app::{App, AppState};
use crate::authn::csrf;
use crate::authn::sessions::{AUTH_KEY, AuthState, DbSessionStore};
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::PrometheusHandle;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::{Expiry, Session, SessionManagerLayer};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "lanyard_session";

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide Prometheus recorder (metrics are global by nature; installed once).
pub fn prometheus() -> &'static PrometheusHandle {
    PROMETHEUS.get_or_init(|| {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
            .set_buckets(&[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
            .map(|b| b.build_recorder())
            .unwrap_or_else(|_| metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// A running server.
#[derive(Debug)]
pub struct Handle {
    /// The address actually bound (tests bind port 0).
    pub addr: SocketAddr,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Serves `app` on `listener` until `shutdown` completes; in-flight requests then finish.
pub async fn launch(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Handle> {
    let addr = listener.local_addr()?;
    // The provider's default signing key exists before the first request needs it.
    crate::oidc::keys::ensure_active(&app, "ES256")
        .await
        .map_err(|e| anyhow::anyhow!("signing key: {}", e.public_message()))?;
    crate::oidc::clients::ensure_aws_client(&app)
        .await
        .map_err(|e| anyhow::anyhow!("the built-in AWS application: {}", e.public_message()))?;
    let router = router(AppState(app.clone()));
    crate::jobs::spawn(app.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await
    });
    tracing::info!(%addr, public_url = %app.config.public_url(), backend = ?app.db.backend(), "lanyard is listening");
    Ok(Handle { addr, task })
}

/// The full router with its middleware.
pub fn router(state: AppState) -> Router {
    let _ = prometheus();
    let config = &state.config;
    let store = DbSessionStore::new(
        state.db.clone(),
        state.clock.clone(),
        config.session.idle_timeout.secs(),
        config.session.absolute_timeout.secs(),
    );
    let sessions = SessionManagerLayer::new(store)
        .with_name(SESSION_COOKIE)
        .with_secure(config.is_https())
        .with_http_only(true)
        .with_same_site(tower_sessions::cookie::SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnSessionEnd);

    let hsts = config.is_https().then(|| HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    let body_limit = config.http.max_body_bytes as usize;
    let timeout = config.http.request_timeout.0;

    Router::new()
        .merge(crate::portal::routes())
        .merge(crate::oidc::routes::routes())
        .merge(crate::sts::routes::routes())
        .nest("/api/v1", crate::api::routes())
        .route("/healthz", axum::routing::get(healthz))
        .route("/readyz", axum::routing::get(readyz))
        .route("/metrics", axum::routing::get(metrics_page))
        .route("/static/{*path}", axum::routing::get(crate::portal::assets::serve))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), csrf_guard))
        .layer(middleware::from_fn_with_state(state.clone(), signin_rate_limit))
        .layer(sessions)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
                    let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
                    tracing::info_span!("request", request.id = %id, http.method = %req.method(), http.path = %req.uri().path())
                }))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
                .layer(middleware::from_fn(track_metrics))
                .layer(CatchPanicLayer::custom(|_| {
                    crate::api::error::json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
                }))
                .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
                .layer(axum::extract::DefaultBodyLimit::max(body_limit))
                .layer(middleware::from_fn(limit_to_json))
                .layer(tower_http::limit::RequestBodyLimitLayer::new(body_limit))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(
                        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
                    ),
                ))
                .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
                .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
                .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
                .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
                .layer(SetResponseHeaderLayer::overriding(header::STRICT_TRANSPORT_SECURITY, hsts)),
        )
        .with_state(state)
}

/// Gives the body-limit layer's bare 413 the API's JSON error shape.
async fn limit_to_json(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let is_json =
        resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if resp.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return crate::api::error::json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "request body is too large",
        );
    }
    resp
}

async fn track_metrics(req: Request, next: Next) -> Response {
    let route =
        req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("lanyard_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("lanyard_http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    resp
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(app): State<AppState>) -> Response {
    match app.db.migrations_current().await {
        Ok(true) => (StatusCode::OK, "ready").into_response(),
        Ok(false) => (StatusCode::SERVICE_UNAVAILABLE, "database migrations are not current").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

async fn metrics_page() -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], prometheus().render()).into_response()
}

async fn not_found(req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        crate::api::error::json_error(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
    } else {
        crate::portal::error_page(
            StatusCode::NOT_FOUND,
            "Page not found",
            "There is nothing at this address.",
            &request_id(req.headers()),
        )
    }
}

/// The request id assigned by the middleware.
pub fn request_id(headers: &HeaderMap) -> String {
    headers.get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
}

/// The client IP: the peer address, or, when configured to trust the proxy in front, the last
/// `X-Forwarded-For` entry (the one that proxy appended; earlier entries are whatever the client
/// chose to send, so trusting them would let anyone pick their IP and dodge the IP throttle).
pub fn client_ip(app: &App, headers: &HeaderMap, peer: Option<&ConnectInfo<SocketAddr>>) -> String {
    if app.config.http.trust_forwarded_for
        && let Some(ip) = headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .and_then(|s| s.parse::<std::net::IpAddr>().ok())
    {
        return ip.to_string();
    }
    peer.map(|c| c.0.ip().to_string()).unwrap_or_default()
}

/// Builds the audit origin of a request.
pub fn origin(app: &App, headers: &HeaderMap, peer: Option<&ConnectInfo<SocketAddr>>) -> crate::audit::Origin {
    crate::audit::Origin {
        ip: client_ip(app, headers, peer),
        request_id: request_id(headers),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(512)
            .collect(),
    }
}

/// The CSRF token for the current request, for templates.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// What a CSRF token is bound to: the signed-in user and sign-in time, or `anon`.
pub async fn csrf_binding(session: Option<&Session>) -> String {
    match session {
        Some(s) => match s.get::<AuthState>(AUTH_KEY).await {
            Ok(Some(a)) => format!("{}:{}", a.user_id, a.auth_time),
            _ => "anon".into(),
        },
        None => "anon".into(),
    }
}

/// Refuses state-changing requests that carry the session cookie without a valid CSRF token,
/// and gives every request a token to put in its forms.
async fn csrf_guard(State(app): State<AppState>, req: Request, next: Next) -> Response {
    // API calls with a bearer token need neither a CSRF check nor a CSRF cookie: skip the work
    // (random token, HMAC, session read) on the hot decision path.
    if req.uri().path().starts_with("/api/")
        && req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer "))
    {
        return next.run(req).await;
    }
    // The OAuth back-channel endpoints authenticate the client itself (secret, assertion or
    // bearer token); a browser's cookies give them no authority, so CSRF does not apply.
    if crate::oidc::routes::is_back_channel(req.uri().path()) || crate::sts::routes::is_aws_api(req.uri().path()) {
        return next.run(req).await;
    }
    let headers = req.headers().clone();
    let existing = cookie_value(&headers, csrf::COOKIE)
        .filter(|v| v.len() == 43 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    let (cookie, is_new) = match existing {
        Some(v) => (v, false),
        None => match crate::crypto::random_token::<32>() {
            Ok(v) => (v, true),
            Err(_) => {
                return crate::api::error::json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error");
            }
        },
    };
    let session = req.extensions().get::<Session>().cloned();
    let binding = csrf_binding(session.as_ref()).await;
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    // Only a bearer token exempts a request: browsers attach Basic or Negotiate credentials to
    // cross-site form posts by themselves, but never a bearer token.
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer "));
    let mut req = req;
    if unsafe_method && !bearer {
        let cross_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site");
        let mut presented = headers.get(csrf::HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if presented.is_none() && is_form {
            let (parts, body) = req.into_parts();
            let bytes = match axum::body::to_bytes(body, app.config.http.max_body_bytes as usize).await {
                Ok(b) => b,
                Err(_) => {
                    return crate::api::error::json_error(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        "request body is too large",
                    );
                }
            };
            presented = form_urlencoded_field(&bytes, csrf::FIELD);
            req = Request::from_parts(parts, Body::from(bytes));
        }
        let ok = !cross_site && presented.is_some_and(|p| csrf::verify(&app.csrf_key, &cookie, &binding, &p));
        if !ok {
            tracing::warn!(path = %req.uri().path(), "refused a request without a valid CSRF token");
            return if req.uri().path().starts_with("/api/") {
                crate::api::error::json_error(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "missing or invalid CSRF token (send X-CSRF-Token)",
                )
            } else {
                crate::portal::error_page(
                    StatusCode::FORBIDDEN,
                    "This form has expired",
                    "The form was sent without a valid security token, perhaps from another site or an old page. Go back, reload the page and try again.",
                    &request_id(&headers),
                )
            };
        }
    }
    req.extensions_mut().insert(CsrfToken(csrf::token(&app.csrf_key, &cookie, &binding)));
    let mut resp = next.run(req).await;
    if is_new {
        let secure = if app.config.is_https() { "; Secure" } else { "" };
        if let Ok(v) =
            HeaderValue::from_str(&format!("{}={cookie}; Path=/; HttpOnly; SameSite=Lax{secure}", csrf::COOKIE))
        {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// Limits the sign-in steps (anyone may call them; each costs a hash, a code check or a session
/// row) per client IP, before any of that work is done.
async fn signin_rate_limit(State(app): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() == Method::POST && req.uri().path().starts_with("/signin") {
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().cloned();
        let ip = client_ip(&app, req.headers(), peer.as_ref());
        if let Err(wait) = app.signin_rate.check(&ip, app.now()) {
            metrics::counter!("lanyard_signins_total", "outcome" => "rate_limited").increment(1);
            let rid = request_id(req.headers());
            let msg = format!("Too many sign-in requests from your address. Try again in {wait} seconds.");
            let mut resp = if req.uri().path().starts_with("/signin/webauthn") {
                crate::api::error::json_error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", &msg)
            } else {
                crate::portal::error_page(StatusCode::TOO_MANY_REQUESTS, "Slow down", &msg, &rid)
            };
            if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return resp;
        }
    }
    next.run(req).await
}

fn form_urlencoded_field(body: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(body).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// Waits for SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// How long a graceful shutdown waits before giving up on stuck connections.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Re-exported for handlers that read the request id.
pub type ReqId = RequestId;

/// The audit origin (client IP, request id, user agent) of a request, as an extractor.
#[derive(Debug, Clone)]
pub struct RequestOrigin(pub crate::audit::Origin);

impl axum::extract::FromRequestParts<AppState> for RequestOrigin {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().cloned();
        Ok(RequestOrigin(origin(app, &parts.headers, peer.as_ref())))
    }
}
