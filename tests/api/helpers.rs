//! Test harness: each test gets its own database (a SQLite file, or a fresh PostgreSQL database
//! when LANYARD_TEST_DATABASE_URL is set), the real server on port 0, and a FixedClock.

use lanyard::app::App;
use lanyard::clock::FixedClock;
use lanyard::config::{Config, Secret};
use lanyard::crypto::MasterKey;
use reqwest::StatusCode;
use serde_json::Value;
use std::sync::Arc;

pub struct TestApp {
    pub base: String,
    pub app: Arc<App>,
    pub clock: FixedClock,
    pub config: Config,
    pub dir: Arc<tempfile::TempDir>,
}

pub fn start_time() -> time::OffsetDateTime {
    time::macros::datetime!(2026-11-23 12:00 UTC)
}

/// A server whose (fixed) clock starts at the machine's real time, for clients that sign or
/// cache by their own clock (boto3, the `lanyard` CLI).
pub async fn spawn_app_at_real_time() -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = test_config(&dir).await;
    let now = lanyard::clock::Clock::now(&lanyard::clock::SystemClock);
    spawn_on(config, Arc::new(dir), FixedClock::new(now)).await
}

/// A config for a fresh database in a fresh directory.
pub async fn test_config(dir: &tempfile::TempDir) -> Config {
    let mut config = Config { data_dir: dir.path().to_path_buf(), ..Default::default() };
    let url = lanyard::db::testing::fresh_database_url(dir.path()).await.expect("test database");
    config.database.url = Some(lanyard::config::DatabaseUrl::new(url));
    config.database.max_connections = 5;
    config.master_key = Some(Secret::new(MasterKey::generate().expect("key").to_base64()));
    config
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = test_config(&dir).await;
    tweak(&mut config);
    spawn_on(config, Arc::new(dir), FixedClock::new(start_time())).await
}

/// Starts a server on an existing configuration (e.g. a second instance on the same database).
pub async fn spawn_on(mut config: Config, dir: Arc<tempfile::TempDir>, clock: FixedClock) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    config.listen = addr;
    // `localhost`, not the IP: WebAuthn needs a host name (tests still connect to 127.0.0.1).
    config.public_url = Some(url::Url::parse(&format!("http://localhost:{}", addr.port())).expect("url"));
    let app = Arc::new(App::open(config.clone(), Arc::new(clock.clone()), false).await.expect("app opens"));
    lanyard::server::launch(app.clone(), listener, std::future::pending()).await.expect("launch");
    TestApp { base: format!("http://127.0.0.1:{}", addr.port()), app, clock, config, dir }
}

/// A browser-like client: cookie jar, no redirect following.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// The CSRF token in a page's forms.
pub fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).map(|i| i + marker.len()).expect("page has a CSRF token");
    html[start..].split('"').next().unwrap_or_default().to_string()
}

pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Creates a user directly through the service; optionally an administrator.
    pub async fn user(&self, username: &str, password: &str, admin: bool) -> lanyard::directory::User {
        let ctx = lanyard::directory::Ctx { actor: lanyard::audit::Actor::cli("test"), origin: Default::default() };
        let user = lanyard::directory::service::create_user(
            &self.app,
            &ctx,
            lanyard::directory::service::NewUser {
                username: username.into(),
                display_name: format!("{username} Example"),
                email: format!("{username}@example.com"),
                password: Some(password.into()),
                must_change_password: false,
                disabled: false,
            },
        )
        .await
        .expect("user created");
        if admin {
            lanyard::directory::service::add_member(&self.app, &ctx, lanyard::directory::ADMIN_GROUP_ID, user.id)
                .await
                .expect("made admin");
        }
        user
    }

    /// An admin API token.
    pub async fn token(&self) -> String {
        let (_, secret) = lanyard::authn::api_tokens::create(
            &self.app,
            &lanyard::audit::Actor::cli("test"),
            &Default::default(),
            "test",
            None,
        )
        .await
        .expect("token");
        secret.expose().to_string()
    }

    /// GETs a page and returns its CSRF token.
    pub async fn csrf(&self, c: &reqwest::Client, path: &str) -> String {
        let html = c.get(self.url(path)).send().await.expect("get").text().await.expect("body");
        csrf_in(&html)
    }

    /// Signs in through the form; returns the response to the POST.
    pub async fn sign_in(&self, c: &reqwest::Client, username: &str, password: &str) -> reqwest::Response {
        let token = self.csrf(c, "/signin").await;
        c.post(self.url("/signin"))
            .form(&[("username", username), ("password", password), ("csrf_token", token.as_str()), ("next", "/")])
            .send()
            .await
            .expect("post signin")
    }

    /// A signed-in client.
    pub async fn signed_in(&self, username: &str, password: &str) -> reqwest::Client {
        let c = client();
        let r = self.sign_in(&c, username, password).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "sign-in should redirect");
        c
    }
}

/// The value of a cookie set by a response.
pub fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers().get_all(reqwest::header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        let first = v.split(';').next()?;
        let (k, val) = first.split_once('=')?;
        (k.trim() == name).then(|| val.to_string())
    })
}

/// An admin API client with a bearer token, on its own fresh server.
pub struct Api {
    pub t: TestApp,
    pub token: String,
    pub http: reqwest::Client,
}

impl Api {
    pub async fn new() -> Self {
        Self::on(spawn_app().await).await
    }
    /// An admin API client for a server started some other way.
    pub async fn on(t: TestApp) -> Self {
        let token = t.token().await;
        Self { t, token, http: reqwest::Client::new() }
    }
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.t.url(&format!("/api/v1{path}"))).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("send");
        let status = r.status();
        let text = r.text().await.expect("body");
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
    }
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::PATCH, path, Some(body)).await
    }
    pub async fn put(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::PUT, path, None).await
    }
    pub async fn put_json(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::DELETE, path, None).await
    }
    /// POSTs and insists on 201, returning the created object.
    pub async fn create(&self, path: &str, body: Value) -> Value {
        let (s, v) = self.post(path, body).await;
        assert_eq!(s, StatusCode::CREATED, "POST {path}: {v}");
        v
    }
}
