//! Role credentials: SigV4 verification in-process (one core), credential issuance through the
//! SSO portal API (GetRoleCredentials: peak with 32 connections for 10 s, then p50/p99 at half of
//! that rate) and signed STS GetCallerIdentity calls over HTTP (the whole verification path:
//! key lookup, unsealing, signature, live assignment check).
//!
//! `cargo bench --bench sts` runs Lanyard in-process on SQLite; on PostgreSQL with
//! LANYARD_TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres).

mod common;

use common::percentile;
use lanyard::sts::sigv4;
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CONNECTIONS: usize = 32;
const SECONDS: u64 = 10;

/// The request botocore sends for GetCallerIdentity, signed with `creds` at `amz_date`.
fn signed_headers(host: &str, key: &str, secret: &str, token: &str, amz_date: &str, body: &[u8]) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("host", host.parse().expect("host"));
    h.insert("content-type", "application/x-www-form-urlencoded; charset=utf-8".parse().expect("ct"));
    h.insert("x-amz-date", amz_date.parse().expect("date"));
    h.insert("x-amz-security-token", token.parse().expect("token"));
    let req = sigv4::Request { method: "POST", path: "/aws", query: "", headers: &h, body };
    let auth = sigv4::authorization_header(
        &req,
        key,
        secret,
        "us-east-1",
        "sts",
        &["content-type", "host", "x-amz-date", "x-amz-security-token"],
    )
    .expect("sign");
    h.insert("authorization", auth.parse().expect("auth"));
    h
}

/// Pure SigV4 verification on this thread: parse + canonical request + key derivation + HMAC.
fn sigv4_in_process() {
    let body = b"Action=GetCallerIdentity&Version=2011-06-15";
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let h = signed_headers("127.0.0.1:18080", "ASIAEXAMPLEEXAMPLE01", secret, "lyd_st_token", "20240101T000000Z", body);
    let req = sigv4::Request { method: "POST", path: "/aws", query: "", headers: &h, body };
    let n = 200_000;
    // Warm up.
    for _ in 0..10_000 {
        let c = sigv4::parse(&req, &["sts"]).expect("parse");
        sigv4::verify(&req, &c, secret).expect("verify");
    }
    let start = Instant::now();
    for _ in 0..n {
        let c = sigv4::parse(std::hint::black_box(&req), &["sts"]).expect("parse");
        sigv4::verify(&req, &c, std::hint::black_box(secret)).expect("verify");
    }
    let el = start.elapsed();
    println!(
        "SigV4 verification in-process (parse + verify, botocore-shaped STS request, one core): {:.0} verifications/s ({:.2} µs each)",
        n as f64 / el.as_secs_f64(),
        el.as_secs_f64() * 1e6 / n as f64
    );
}

type Call = Arc<dyn Fn(reqwest::Client) -> futures_like::BoxFut + Send + Sync>;

mod futures_like {
    pub type BoxFut = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
}

async fn peak(call: &Call) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (call, stop, done) = (call.clone(), stop.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            while !stop.load(Ordering::Relaxed) {
                call(http.clone()).await;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(SECONDS)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.expect("worker");
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

async fn at_rate(call: &Call, rate: f64) -> Vec<Duration> {
    let per_worker = Duration::from_secs_f64(CONNECTIONS as f64 / rate);
    let mut tasks = Vec::new();
    for i in 0..CONNECTIONS {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut lat = Vec::new();
            let start = Instant::now() + per_worker.mul_f64(i as f64 / CONNECTIONS as f64);
            let mut next = start;
            while next < start + Duration::from_secs(SECONDS) {
                tokio::time::sleep_until(next.into()).await;
                let sent = Instant::now();
                call(http.clone()).await;
                lat.push(sent.elapsed());
                next += per_worker;
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("worker"));
    }
    all.sort();
    all
}

async fn report(label: &str, call: Call) {
    let _ = at_rate(&call, 100.0).await;
    let rps = peak(&call).await;
    let lat = at_rate(&call, rps / 2.0).await;
    println!(
        "{label}: peak {rps:.0}/s ({CONNECTIONS} connections, {SECONDS} s); at half of peak ({:.0}/s): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        rps / 2.0,
        percentile(&lat, 0.5).as_secs_f64() * 1000.0,
        percentile(&lat, 0.99).as_secs_f64() * 1000.0,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1000.0
    );
}

#[tokio::main]
async fn main() {
    sigv4_in_process();

    let server = common::start(|config| {
        config.oidc.rate_per_ip = 0;
        config.oidc.rate_per_client = 0;
        config.signin.rate_per_ip = 0;
    })
    .await;
    let (app, addr, backend) = (server.app.clone(), server.addr, server.backend);
    println!("backend: {backend}");

    // A user assigned one role in one account, signed in through the built-in AWS app.
    let ctx = lanyard::directory::Ctx { actor: lanyard::audit::Actor::cli("bench"), origin: Default::default() };
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
    let account = lanyard::access::accounts::create_account(
        &app,
        &ctx,
        lanyard::access::accounts::AccountInput {
            name: Some("Production".into()),
            owner_email: Some("ops@example.com".into()),
            ..Default::default()
        },
    )
    .await
    .expect("account");
    let ps = lanyard::access::permission_sets::create_permission_set(
        &app,
        &ctx,
        lanyard::access::permission_sets::PermissionSetInput { name: Some("ReadOnly".into()), ..Default::default() },
    )
    .await
    .expect("permission set");
    lanyard::access::assignments::create_assignment(
        &app,
        &ctx,
        &account.id,
        ps.id,
        lanyard::access::model::PrincipalType::User,
        user.id,
    )
    .await
    .expect("assignment");
    let client = lanyard::oidc::clients::find_enabled(&app, lanyard::oidc::clients::AWS_CLIENT_ID)
        .await
        .expect("lookup")
        .expect("built-in client");
    let authn = lanyard::oidc::store::Authn {
        user_id: user.id,
        sid: String::new(),
        auth_time: app.now(),
        amr: "[\"pwd\"]".into(),
        acr: "pwd".into(),
    };
    let issued = lanyard::oidc::grants::open_device_grant(
        &app,
        &client,
        &authn,
        "openid offline_access sso:account:access",
        &Default::default(),
    )
    .await
    .expect("grant");
    let base = format!("http://{addr}");
    let token = Arc::new(issued.access_token);

    // Issuance: GetRoleCredentials.
    let creds_url = Arc::new(format!("{base}/aws/federation/credentials?role_name=ReadOnly&account_id={}", account.id));
    let last: Arc<std::sync::Mutex<Option<Value>>> = Arc::default();
    let (u, tk, l) = (creds_url.clone(), token.clone(), last.clone());
    let get_creds: Call = Arc::new(move |http: reqwest::Client| {
        let (u, tk, l) = (u.clone(), tk.clone(), l.clone());
        Box::pin(async move {
            let r = http.get(u.as_str()).header("x-amz-sso_bearer_token", tk.as_str()).send().await.expect("send");
            assert!(r.status().is_success(), "GetRoleCredentials failed: {}", r.status());
            let v: Value = r.json().await.expect("json");
            if let Ok(mut g) = l.lock() {
                *g = Some(v["roleCredentials"].clone());
            }
        })
    });
    report("GetRoleCredentials (issue: role check, seal, insert)", get_creds).await;

    // Verification over HTTP: GetCallerIdentity signed like botocore, re-signed each second.
    let c = last.lock().ok().and_then(|g| g.clone()).expect("credentials");
    let host = addr.to_string();
    let body: &'static [u8] = b"Action=GetCallerIdentity&Version=2011-06-15";
    let key = c["accessKeyId"].as_str().expect("key").to_string();
    let secret = c["secretAccessKey"].as_str().expect("secret").to_string();
    let st = c["sessionToken"].as_str().expect("token").to_string();
    let sts_url = Arc::new(format!("{base}/aws"));
    let call_app = app.clone();
    let caller: Call = Arc::new(move |http: reqwest::Client| {
        let amz_date = sigv4::format_amz_date(call_app.now());
        let mut h = signed_headers(&host, &key, &secret, &st, &amz_date, body);
        h.remove("host");
        let u = sts_url.clone();
        Box::pin(async move {
            let r = http.post(u.as_str()).headers(h).body(body).send().await.expect("send");
            assert!(r.status().is_success(), "GetCallerIdentity failed: {}", r.status());
            let _ = r.bytes().await.expect("body");
        })
    });
    report("GetCallerIdentity (SigV4 verify: lookup, unseal, signature, live role check)", caller).await;
    app.audit_batch.flush().await;
}
