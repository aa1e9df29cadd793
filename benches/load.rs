//! Load benchmark for the foundation (run with `cargo bench --bench load`; PostgreSQL with
//! `LANYARD_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres`). It starts the real
//! server in-process on a random port and drives it over HTTP from the same process, so client
//! and server share the machine's cores, as they would on a 2-core box.
//!
//! It measures:
//! 1. raw argon2id verification throughput at OWASP parameters, one hash per core at once;
//! 2. sign-in throughput and latency through HTTP (form post, CSRF, throttle, audit, session);
//! 3. peak resident memory while 200 sign-ins arrive at once;
//! 4. admin API read latency with 100,000 users in the directory.

use lanyard::app::App;
use lanyard::clock::SystemClock;
use lanyard::config::{Config, DatabaseUrl, Secret};
use lanyard::crypto::MasterKey;
use lanyard::crypto::password::PasswordHasher;
use std::sync::Arc;
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery staple";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    html.find(marker)
        .map(|i| html[i + marker.len()..].split('"').next().unwrap_or_default().to_string())
        .unwrap_or_default()
}

async fn sign_in(base: &str) -> Duration {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let html = c.get(format!("{base}/signin")).send().await.expect("get").text().await.expect("body");
    let token = csrf_in(&html);
    let start = Instant::now();
    let r = c
        .post(format!("{base}/signin"))
        .form(&[("username", "bench"), ("password", PASSWORD), ("csrf_token", token.as_str())])
        .send()
        .await
        .expect("post");
    let took = start.elapsed();
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER, "sign-in must succeed");
    took
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let dir = tempfile::tempdir().expect("tmp");
    let mut config = Config { data_dir: dir.path().to_path_buf(), ..Default::default() };
    let url = lanyard::db::testing::fresh_database_url(dir.path()).await.expect("db");
    let backend = if url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" };
    config.database.url = Some(DatabaseUrl::new(url));
    config.master_key = Some(Secret::new(MasterKey::generate().expect("key").to_base64()));
    // The benchmark signs in one user many times: keep the throttle out of the way.
    config.signin.ip_max_failures = 1_000_000;
    // … and let several sign-ins of that one user be checked at once (normally at most as many
    // as it may still fail before a delay, three).
    config.signin.delay_after = 1_000_000;
    config.signin.max_failures = 1_000_000;
    // The whole benchmark comes from one address: no per-IP request rate either.
    config.signin.rate_per_ip = 0;
    config.signin.max_queued_hashes = 1024;
    println!("backend: {backend}, cores: {cores}");

    // 1. Raw argon2id, one verification per core at a time (the server's own concurrency).
    let hasher = Arc::new(PasswordHasher::new(19456, 2, 1, cores, 1024).expect("hasher"));
    let phc = hasher.hash(PASSWORD.into()).await.expect("hash");
    let n = 40;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..n {
        let h = hasher.clone();
        let p = phc.clone();
        tasks.push(tokio::spawn(async move { h.verify(PASSWORD.into(), Some(p)).await.expect("verify") }));
    }
    for t in tasks {
        assert!(t.await.expect("join").matches);
    }
    let raw_rate = n as f64 / start.elapsed().as_secs_f64();
    println!(
        "raw argon2id verify (m=19456 KiB, t=2, p=1), {cores} at a time: {raw_rate:.1}/s, {:.1} ms each",
        1000.0 * cores as f64 / raw_rate
    );

    // 2. Sign-in over HTTP.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    config.listen = addr;
    let app = Arc::new(App::open(config, Arc::new(SystemClock), false).await.expect("app"));
    lanyard::server::launch(app.clone(), listener, std::future::pending()).await.expect("launch");
    let base = format!("http://127.0.0.1:{}", addr.port());
    let ctx = lanyard::directory::Ctx { actor: lanyard::audit::Actor::cli("bench"), origin: Default::default() };
    let bench_user = lanyard::directory::service::create_user(
        &app,
        &ctx,
        lanyard::directory::service::NewUser {
            username: "bench".into(),
            password: Some(PASSWORD.into()),
            ..Default::default()
        },
    )
    .await
    .expect("user");
    lanyard::directory::service::add_member(&app, &ctx, lanyard::directory::ADMIN_GROUP_ID, bench_user.id)
        .await
        .expect("admin");
    for _ in 0..2 {
        sign_in(&base).await;
    }
    // One at a time, interleaved so that drift in CPU speed hits all three alike: a raw
    // verification, the sign-in service (throttle check, lookup, verify, audit, commit), and a
    // sign-in POST over HTTP (plus CSRF check, session creation and the redirect).
    let rounds = 100;
    let (mut raw, mut service, mut http_lat) = (Vec::new(), Vec::new(), Vec::new());
    let origin = lanyard::audit::Origin { ip: "127.0.0.2".into(), ..Default::default() };
    for _ in 0..rounds {
        let start = Instant::now();
        assert!(hasher.verify(PASSWORD.into(), Some(phc.clone())).await.expect("verify").matches);
        raw.push(start.elapsed());
        let start = Instant::now();
        lanyard::authn::service::sign_in(&app, "bench", PASSWORD, &origin).await.expect("sign in");
        service.push(start.elapsed());
        http_lat.push(sign_in(&base).await);
    }
    for v in [&mut raw, &mut service, &mut http_lat] {
        v.sort();
    }
    let ms = |v: &[Duration], p: f64| percentile(v, p).as_secs_f64() * 1000.0;
    let r50 = ms(&raw, 0.5);
    println!(
        "one at a time: raw verify p50 {r50:.2} ms; sign-in service p50 {:.2} ms (+{:.1}%); HTTP sign-in POST p50 {:.2} ms (+{:.1}%), p99 {:.2} ms",
        ms(&service, 0.5),
        (ms(&service, 0.5) / r50 - 1.0) * 100.0,
        ms(&http_lat, 0.5),
        (ms(&http_lat, 0.5) / r50 - 1.0) * 100.0,
        ms(&http_lat, 0.99)
    );
    let n = 60;
    let concurrency = cores * 2;
    let start = Instant::now();
    let mut lat = Vec::new();
    for chunk in 0..(n / concurrency) {
        let _ = chunk;
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let b = base.clone();
            tasks.push(tokio::spawn(async move { sign_in(&b).await }));
        }
        for t in tasks {
            lat.push(t.await.expect("join"));
        }
    }
    let rate = lat.len() as f64 / start.elapsed().as_secs_f64();
    lat.sort();
    println!(
        "sign-in over HTTP ({concurrency} clients): {rate:.1}/s, p50 {:.1} ms, p99 {:.1} ms; overhead vs raw hash throughput: {:.1}%",
        percentile(&lat, 0.5).as_secs_f64() * 1000.0,
        percentile(&lat, 0.99).as_secs_f64() * 1000.0,
        (raw_rate / rate - 1.0) * 100.0
    );

    // 3. 200 sign-ins at once: memory stays bounded by the hashing semaphore.
    let before = peak_rss_mib();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let b = base.clone();
        tasks.push(tokio::spawn(async move { sign_in(&b).await }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.push(t.await.expect("join"));
    }
    lat.sort();
    println!(
        "200 concurrent sign-ins: all done in {:.1} s, p50 {:.0} ms, p99 {:.0} ms; peak RSS {before:.0} MiB before, {:.0} MiB after",
        start.elapsed().as_secs_f64(),
        percentile(&lat, 0.5).as_secs_f64() * 1000.0,
        percentile(&lat, 0.99).as_secs_f64() * 1000.0,
        peak_rss_mib()
    );

    // 4. Admin API reads with 100,000 users.
    let start = Instant::now();
    let mut tx = app.db.begin().await.expect("tx");
    for i in 0..100_000u32 {
        let name = format!("user{i:06}");
        lanyard::directory::store::insert_user(
            &mut tx,
            &lanyard::directory::store::NewUser {
                id: uuid::Uuid::now_v7(),
                username: &name,
                username_key: &name,
                display_name: &name,
                email: &format!("{name}@example.com"),
                status: "active",
                password_hash: None,
                must_change_password: false,
                now: 0,
            },
        )
        .await
        .expect("insert");
    }
    tx.commit().await.expect("commit");
    println!("inserted 100,000 users in {:.1} s", start.elapsed().as_secs_f64());
    let (_, token) = lanyard::authn::api_tokens::create(
        &app,
        &lanyard::audit::Actor::cli("bench"),
        &Default::default(),
        "bench",
        None,
    )
    .await
    .expect("token");
    let token = token.expose().to_string();
    let http = reqwest::Client::new();
    for (label, path) in [
        ("first page of 100", "/api/v1/users?limit=100".to_string()),
        ("username prefix, 100", "/api/v1/users?limit=100&username=user05".to_string()),
        (
            "deep page (cursor)",
            format!("/api/v1/users?limit=100&next={}", lanyard::directory::model::encode_cursor("user090000")),
        ),
        ("email prefix, 100", "/api/v1/users?limit=100&email=user0777".to_string()),
    ] {
        let mut lat = Vec::new();
        for _ in 0..300 {
            let start = Instant::now();
            let r = http.get(format!("{base}{path}")).bearer_auth(&token).send().await.expect("get");
            assert!(r.status().is_success());
            let _ = r.bytes().await.expect("body");
            lat.push(start.elapsed());
        }
        lat.sort();
        println!(
            "admin API GET users, {label}: p50 {:.2} ms, p99 {:.2} ms",
            percentile(&lat, 0.5).as_secs_f64() * 1000.0,
            percentile(&lat, 0.99).as_secs_f64() * 1000.0
        );
    }
}
