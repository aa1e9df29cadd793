//! Multi-account access benchmark (`cargo bench --bench access`; PostgreSQL with
//! `LANYARD_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres`). It starts the real
//! server in-process on a random port and drives it over HTTP from the same process (client and
//! server share the machine's cores).
//!
//! The organisation: 1,000 accounts, 200 groups, 10 permission sets each carrying a realistic
//! 10-statement policy (wildcards, NotAction, conditions, a policy variable), 20,000 group
//! assignments (100 per group); the measured user is in 50 of the groups (5,000 assignments,
//! every account reachable).
//!
//! It measures:
//! 1. `POST /api/v1/authorize`: latency one at a time, then throughput and latency with 16
//!    clients, and latency at about half of that throughput;
//! 2. the decision service in-process (one database statement + cached compiled policies);
//! 3. the user's account and role listing: `GET /api/v1/users/{id}/access` and the portal home;
//! 4. editing a permission set, which re-provisions its role in every account in one transaction.

mod common;

use lanyard::access::model::{AccountId, ROOT_OU_ID};
use lanyard::access::{permission_sets, store};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery staple";

/// The permission set of the policy bench (`benches/permission_set.json`).
const SET: &str = include_str!("permission_set.json");

const REQUESTS: [(&str, &str); 6] = [
    ("s3:GetObject", "arn:aws:s3:::reports/2026/q3.csv"),
    ("s3:PutObject", "arn:aws:s3:::home/bench/notes.txt"),
    ("ec2:StopInstances", "arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc"),
    ("dynamodb:Query", "arn:aws:dynamodb:eu-west-1:111122223333:table/orders-2026"),
    ("iam:CreateUser", "*"),
    ("s3:PutObject", "arn:aws:s3:::reports/x"),
];

/// The `p` quantile of sorted latencies, in milliseconds.
fn percentile(sorted: &[Duration], p: f64) -> f64 {
    common::percentile(sorted, p).as_secs_f64() * 1000.0
}

fn report(what: &str, mut lat: Vec<Duration>) {
    lat.sort();
    println!(
        "{what}: n={}, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        lat.len(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0)
    );
}

fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    html.find(marker)
        .map(|i| html[i + marker.len()..].split('"').next().unwrap_or_default().to_string())
        .unwrap_or_default()
}

struct Load {
    base: String,
    token: String,
    body: Vec<serde_json::Value>,
}

impl Load {
    async fn one(&self, http: &reqwest::Client, i: usize) -> Duration {
        let start = Instant::now();
        let r = http
            .post(format!("{}/api/v1/authorize", self.base))
            .bearer_auth(&self.token)
            .json(&self.body[i % self.body.len()])
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), reqwest::StatusCode::OK);
        let _ = r.bytes().await.expect("body");
        start.elapsed()
    }

    /// `clients` loops for `secs`, each either asking back to back or once per `period` (an
    /// open-loop pace: a slow answer does not slow the next question); (rate/s, latencies).
    async fn run(self: &Arc<Self>, clients: usize, secs: u64, period: Option<Duration>) -> (f64, Vec<Duration>) {
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        let start = Instant::now();
        for c in 0..clients {
            let me = self.clone();
            let stop = stop.clone();
            tasks.push(tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut lat = Vec::new();
                let mut i = c;
                let mut tick = period.map(|p| {
                    let mut t = tokio::time::interval(p);
                    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                    t
                });
                while !stop.load(Ordering::Relaxed) {
                    if let Some(t) = tick.as_mut() {
                        t.tick().await;
                    }
                    lat.push(me.one(&http, i).await);
                    i += 1;
                }
                lat
            }));
        }
        tokio::time::sleep(Duration::from_secs(secs)).await;
        stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("join"));
        }
        (all.len() as f64 / start.elapsed().as_secs_f64(), all)
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // `LANYARD_AUDIT_DECISIONS=none` measures decisions without their audit events.
    let server = common::start(|config| {
        if let Ok(v) = std::env::var("LANYARD_AUDIT_DECISIONS") {
            config.audit.decisions = v;
        }
    })
    .await;
    let (app, addr, backend) = (server.app.clone(), server.addr, server.backend);
    let base = format!("http://127.0.0.1:{}", addr.port());
    println!("backend: {backend}, decisions audited: {}", app.config.audit.decisions);

    // The organisation.
    let start = Instant::now();
    let ctx = lanyard::directory::Ctx { actor: lanyard::audit::Actor::cli("bench"), origin: Default::default() };
    let user = lanyard::directory::service::create_user(
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
    let mut groups = Vec::new();
    for g in 0..200 {
        let group =
            lanyard::directory::service::create_group(&app, &ctx, &format!("team-{g:03}"), "").await.expect("group");
        if g < 50 {
            lanyard::directory::service::add_member(&app, &ctx, group.id, user.id).await.expect("member");
        }
        groups.push(group.id);
    }
    let mut sets = Vec::new();
    for p in 0..10 {
        let input = permission_sets::PermissionSetInput {
            name: Some(format!("Role{p}")),
            inline_policy: Some(SET.into()),
            session_duration: Some("PT4H".into()),
            ..Default::default()
        };
        sets.push(permission_sets::create_permission_set(&app, &ctx, input).await.expect("permission set").id);
    }
    let now = app.now();
    let mut accounts = Vec::new();
    let mut tx = app.db.begin().await.expect("tx");
    for a in 0..1000 {
        let id = AccountId::generate();
        let (name, key) = (format!("Account {a:04}"), format!("account {a:04}"));
        let row = store::AccountRow {
            id: id.as_str(),
            name: &name,
            key: &key,
            description: "",
            owner_email: "owner@example.com",
            status: "active",
            ou_id: ROOT_OU_ID,
            tags: "{}",
            now,
        };
        store::insert_account(&mut tx, &row).await.expect("account");
        accounts.push(id.as_str().to_string());
    }
    for (g, group) in groups.iter().enumerate() {
        for k in 0..100 {
            let row = store::NewAssignment {
                id: uuid::Uuid::now_v7(),
                account_id: &accounts[(g * 37 + k * 10) % 1000],
                permission_set_id: sets[(g + k) % 10],
                user_id: None,
                group_id: Some(*group),
                now,
            };
            store::insert_assignment(&mut tx, &row).await.expect("assignment");
        }
    }
    tx.commit().await.expect("commit");
    for ps in &sets {
        permission_sets::provision(&app, &ctx, *ps).await.expect("provision");
    }
    // A bulk load leaves PostgreSQL without statistics until autovacuum's next ANALYZE; a
    // running installation has them, so take them now (SQLite plans without).
    if let lanyard::db::Db::Postgres(pool) = &app.db {
        sqlx::query("ANALYZE").execute(pool).await.expect("analyze");
    }
    println!(
        "seeded 1,000 accounts, 200 groups, 10 permission sets, 20,000 assignments in {:.1} s",
        start.elapsed().as_secs_f64()
    );

    // 4. Editing a permission set re-provisions it in its own transaction: how long for one
    //    assigned in every account of the bench?
    let mut took = Vec::new();
    for i in 0..5 {
        let t = Instant::now();
        let input = permission_sets::PermissionSetInput {
            description: Some(format!("edit {i}")),
            session_duration: Some(if i % 2 == 0 { "PT4H".into() } else { "PT3H".into() }),
            ..Default::default()
        };
        permission_sets::update_permission_set(&app, &ctx, sets[0], input).await.expect("update");
        took.push(t.elapsed());
    }
    let roles = permission_sets::provisioning(&app, sets[0]).await.expect("roles").len();
    report(&format!("edit a permission set and re-provision its {roles} roles"), took);

    // The user's roles, to ask about.
    let access =
        lanyard::access::assignments::access_of(&app, user.id, None, None, 1000).await.expect("access").accounts;
    let roles: usize = access.iter().map(|a| a.roles.len()).sum();
    println!("the user reaches {} accounts, {roles} roles", access.len());
    let targets: Vec<(String, String)> = access
        .iter()
        .flat_map(|a| a.roles.iter().map(|r| (r.account_id.clone(), r.permission_set_name.clone())))
        .collect();
    let mut bodies = Vec::new();
    for (i, (account, role)) in targets.iter().enumerate().take(600) {
        let (action, resource) = REQUESTS[i % REQUESTS.len()];
        bodies.push(json!({"principal": {"user_id": user.id, "account_id": account, "permission_set": role},
                           "action": action, "resource": resource,
                           "context": {"aws:SourceIp": "10.1.2.3", "aws:SecureTransport": true, "aws:ResourceTag/team": "eng"}}));
    }
    let (_, secret) = lanyard::authn::api_tokens::create_scoped(
        &app,
        &ctx.actor,
        &Default::default(),
        "bench",
        None,
        lanyard::authn::api_tokens::SCOPE_AUTHORIZE,
    )
    .await
    .expect("token");
    let load = Arc::new(Load { base: base.clone(), token: secret.expose().to_string(), body: bodies });

    // 2. In-process decision service (warms the compiled-role cache too).
    let mut context = BTreeMap::new();
    context.insert("aws:SourceIp".to_string(), json!("10.1.2.3"));
    let mut lat = Vec::new();
    for i in 0..20_000 {
        let (account, role) = &targets[i % targets.len().min(600)];
        let (action, resource) = REQUESTS[i % REQUESTS.len()];
        let account = AccountId::parse(account).expect("id");
        let t = Instant::now();
        let q = lanyard::access::decision::Question {
            user: Some(user.id),
            account: &account,
            role,
            action,
            resource,
            context: &context,
            trusted: false,
        };
        let d = lanyard::access::decision::authorize(&app, &ctx, &q).await.expect("decide");
        lat.push(t.elapsed());
        std::hint::black_box(d);
    }
    let total: Duration = lat.iter().sum();
    println!("decision service in-process, one at a time: {:.0}/s", lat.len() as f64 / total.as_secs_f64());
    report("decision service in-process", lat);

    // 1. Over HTTP.
    let http = reqwest::Client::new();
    for i in 0..500 {
        load.one(&http, i).await;
    }
    let mut lat = Vec::new();
    for i in 0..5000 {
        lat.push(load.one(&http, i).await);
    }
    report("POST /api/v1/authorize, one client, sequential", lat);
    let (peak, lat) = load.run(16, 8, None).await;
    println!("POST /api/v1/authorize, 16 clients: {peak:.0} decisions/s");
    report("POST /api/v1/authorize, 16 clients", lat);
    // Half of the peak: clients asking every 2 ms each (the timer's resolution is 1 ms), as many
    // as make peak/2 per second.
    let clients = ((peak / 2.0) / 500.0).round().max(1.0) as usize;
    let (rate, lat) = load.run(clients, 8, Some(Duration::from_millis(2))).await;
    println!("POST /api/v1/authorize at half load: {rate:.0} decisions/s from {clients} clients paced at one per 2 ms");
    report("POST /api/v1/authorize at half load", lat);

    // 3. Listing.
    let (_, admin) =
        lanyard::authn::api_tokens::create(&app, &ctx.actor, &Default::default(), "list", None).await.expect("t");
    let mut lat = Vec::new();
    for i in 0..220 {
        let t = Instant::now();
        let r = http
            .get(format!("{base}/api/v1/users/{}/access", user.id))
            .bearer_auth(admin.expose())
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), reqwest::StatusCode::OK);
        let _ = r.bytes().await.expect("body");
        if i >= 20 {
            lat.push(t.elapsed());
        }
    }
    report("GET /api/v1/users/{id}/access, first page of 100 accounts (of 1,000; 5,000 roles through 50 groups)", lat);
    let mut lat = Vec::new();
    for i in 0..220 {
        let t = Instant::now();
        let a = lanyard::access::assignments::access_of(&app, user.id, None, None, 100).await.expect("access");
        if i >= 20 {
            lat.push(t.elapsed());
        }
        std::hint::black_box(a);
    }
    report("access listing service in-process (first page of 100 accounts)", lat);
    let c =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().expect("c");
    let html = c.get(format!("{base}/signin")).send().await.expect("get").text().await.expect("body");
    let token = csrf_in(&html);
    let r = c
        .post(format!("{base}/signin"))
        .form(&[("username", "bench"), ("password", PASSWORD), ("csrf_token", token.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    let mut lat = Vec::new();
    for i in 0..220 {
        let t = Instant::now();
        let r = c.get(format!("{base}/")).send().await.expect("home");
        assert_eq!(r.status(), reqwest::StatusCode::OK);
        let _ = r.bytes().await.expect("body");
        if i >= 20 {
            lat.push(t.elapsed());
        }
    }
    report("portal home (first page of 50 accounts)", lat);
    let mut lat = Vec::new();
    for i in 0..220 {
        let t = Instant::now();
        let r = c.get(format!("{base}/?q=account%2009")).send().await.expect("home");
        assert_eq!(r.status(), reqwest::StatusCode::OK);
        let _ = r.bytes().await.expect("body");
        if i >= 20 {
            lat.push(t.elapsed());
        }
    }
    report("portal home search (?q=account 09)", lat);
}
