//! Token endpoint load: client_credentials throughput (ES256 JWT access tokens) with 32
//! connections for 10 s, latency at half of that rate, and authorization-code exchange latency.
//!
//! `cargo bench --bench oidc` runs Lanyard in-process (SQLite; PostgreSQL with
//! LANYARD_TEST_DATABASE_URL). With `OIDC_BENCH_TOKEN_URL`, `OIDC_BENCH_CLIENT_ID` and
//! `OIDC_BENCH_CLIENT_SECRET` it drives another provider's token endpoint the same way
//! (benches/oidc-provider/ runs Node's oidc-provider for the side-by-side in the README).

mod common;

use common::percentile;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CONNECTIONS: usize = 32;
const SECONDS: u64 = 10;

struct Target {
    token_url: String,
    client_id: String,
    secret: String,
}

/// Closed loop: `CONNECTIONS` workers, each sending the next request when the last answers.
async fn peak(t: &Arc<Target>) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (t, stop, done) = (t.clone(), stop.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            while !stop.load(Ordering::Relaxed) {
                let r = http
                    .post(&t.token_url)
                    .basic_auth(&t.client_id, Some(&t.secret))
                    .form(&[("grant_type", "client_credentials"), ("scope", "api.read")])
                    .send()
                    .await
                    .expect("send");
                assert!(r.status().is_success(), "token request failed: {}", r.status());
                let _ = r.bytes().await.expect("body");
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(SECONDS)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("worker");
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

/// Open loop at `rate` requests/s spread over the workers; returns the sorted latencies.
async fn at_rate(t: &Arc<Target>, rate: f64) -> Vec<Duration> {
    let per_worker = Duration::from_secs_f64(CONNECTIONS as f64 / rate);
    let mut tasks = Vec::new();
    for i in 0..CONNECTIONS {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut lat = Vec::new();
            let offset = per_worker.mul_f64(i as f64 / CONNECTIONS as f64);
            let start = Instant::now() + offset;
            let mut next = start;
            while next < start + Duration::from_secs(SECONDS) {
                tokio::time::sleep_until(next.into()).await;
                let sent = Instant::now();
                let r = http
                    .post(&t.token_url)
                    .basic_auth(&t.client_id, Some(&t.secret))
                    .form(&[("grant_type", "client_credentials"), ("scope", "api.read")])
                    .send()
                    .await
                    .expect("send");
                assert!(r.status().is_success());
                let _ = r.bytes().await.expect("body");
                // Measured from when the request was due, so a stall counts (no coordinated omission).
                lat.push(Instant::now() - next.min(sent));
                next += per_worker;
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("worker"));
    }
    all.sort();
    all
}

async fn report(label: &str, t: Arc<Target>) -> f64 {
    // Warm up (connections, caches).
    let _ = at_rate(&t, 200.0).await;
    let rps = peak(&t).await;
    println!("{label}: client_credentials peak {rps:.0} grants/s ({CONNECTIONS} connections, {SECONDS} s)");
    let lat = at_rate(&t, rps / 2.0).await;
    println!(
        "{label}: at half of peak ({:.0}/s): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        rps / 2.0,
        percentile(&lat, 0.5).as_secs_f64() * 1000.0,
        percentile(&lat, 0.99).as_secs_f64() * 1000.0,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1000.0
    );
    rps
}

#[tokio::main]
async fn main() {
    if let Ok(token_url) = std::env::var("OIDC_BENCH_TOKEN_URL") {
        let t = Target {
            token_url,
            client_id: std::env::var("OIDC_BENCH_CLIENT_ID").expect("OIDC_BENCH_CLIENT_ID"),
            secret: std::env::var("OIDC_BENCH_CLIENT_SECRET").expect("OIDC_BENCH_CLIENT_SECRET"),
        };
        let label = std::env::var("OIDC_BENCH_LABEL").unwrap_or_else(|_| "other provider".into());
        report(&label, Arc::new(t)).await;
        return;
    }
    let server = common::start(|config| {
        config.oidc.rate_per_ip = 0;
        config.oidc.rate_per_client = 0;
        config.signin.rate_per_ip = 0;
    })
    .await;
    let (app, addr, backend) = (server.app.clone(), server.addr, server.backend);
    let ctx = lanyard::directory::Ctx { actor: lanyard::audit::Actor::cli("bench"), origin: Default::default() };
    let (client, secret) = lanyard::oidc::clients::create(
        &app,
        &ctx,
        lanyard::oidc::clients::ClientInput {
            name: Some("bench".into()),
            grant_types: Some(vec!["client_credentials".into()]),
            scopes: Some(vec!["api.read".into()]),
            ..Default::default()
        },
    )
    .await
    .expect("client");
    let base = format!("http://{addr}");
    println!("backend: {backend}");
    let t = Target {
        token_url: format!("{base}/oauth2/token"),
        client_id: client.client_id,
        secret: secret.expect("secret"),
    };
    report("Lanyard", Arc::new(t)).await;

    // Authorization-code exchange latency: a signed-in browser gets a code, the app redeems it.
    let user = lanyard::directory::service::create_user(
        &app,
        &ctx,
        lanyard::directory::service::NewUser {
            username: "bench".into(),
            display_name: "Bench".into(),
            email: "bench@example.com".into(),
            password: Some("correct horse battery staple".into()),
            must_change_password: false,
            disabled: false,
        },
    )
    .await
    .expect("user");
    let (web, web_secret) = lanyard::oidc::clients::create(
        &app,
        &ctx,
        lanyard::oidc::clients::ClientInput {
            name: Some("web".into()),
            redirect_uris: Some(vec!["http://127.0.0.1/cb".into()]),
            ..Default::default()
        },
    )
    .await
    .expect("web client");
    lanyard::oidc::clients::assign(&app, &ctx, web.id, Some(user.id), None).await.expect("assign");
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http");
    let page = browser.get(format!("{base}/signin")).send().await.expect("get").text().await.expect("body");
    let marker = "name=\"csrf_token\" value=\"";
    let i = page.find(marker).expect("csrf") + marker.len();
    let csrf = page[i..].split('"').next().expect("csrf").to_string();
    let r = browser
        .post(format!("{base}/signin"))
        .form(&[
            ("username", "bench"),
            ("password", "correct horse battery staple"),
            ("csrf_token", &csrf),
            ("next", "/"),
        ])
        .send()
        .await
        .expect("sign in");
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    let http = reqwest::Client::new();
    let verifier = "v".repeat(50);
    let challenge = lanyard::oidc::model::s256(&verifier);
    let mut lat = Vec::new();
    for _ in 0..500 {
        let r = browser
            .get(format!("{base}/authorize?response_type=code&client_id={}&redirect_uri=http://127.0.0.1/cb&scope=openid%20profile&code_challenge={challenge}&code_challenge_method=S256", web.client_id))
            .send()
            .await
            .expect("authorize");
        let loc = r.headers()["location"].to_str().expect("loc").to_string();
        let code = url::Url::parse(&loc)
            .expect("url")
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .expect("code");
        let start = Instant::now();
        let r = http
            .post(format!("{base}/oauth2/token"))
            .basic_auth(&web.client_id, web_secret.as_ref())
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1/cb"),
                ("code_verifier", &verifier),
            ])
            .send()
            .await
            .expect("token");
        assert!(r.status().is_success());
        let _ = r.bytes().await.expect("body");
        lat.push(start.elapsed());
    }
    lat.sort();
    println!(
        "Lanyard: authorization_code exchange (ID + access + refresh token, one transaction): p50 {:.2} ms, p99 {:.2} ms",
        percentile(&lat, 0.5).as_secs_f64() * 1000.0,
        percentile(&lat, 0.99).as_secs_f64() * 1000.0
    );
    app.audit_batch.flush().await;
}
