//! Regression tests for the security review: second-factor rules on the admin API, factor
//! enrolment, revoked sessions, forwarded IPs, parallel guessing, redirects and CSRF.

use crate::helpers::*;
use crate::mfa::{code, enrol, post_code};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tower_sessions::SessionStore;

async fn step_up_policy(t: &TestApp, minutes: u32) {
    let policy = lanyard::authn::mfa::MfaPolicy { mode: "optional".into(), groups: vec![], step_up_minutes: minutes };
    lanyard::authn::mfa::set_policy(&t.app, &lanyard::audit::Actor::cli("test"), &Default::default(), policy)
        .await
        .expect("policy");
}

/// An administrator with an authenticator app, signed in with both factors.
async fn admin_with_totp(t: &TestApp) -> (reqwest::Client, String) {
    t.user("root", PASSWORD, true).await;
    let c = t.signed_in("root", PASSWORD).await;
    let (secret, _) = enrol(t, &c).await;
    (c, secret)
}

async fn api_get_with_session(t: &TestApp, c: &reqwest::Client, path: &str) -> (StatusCode, Value) {
    let r = c.get(t.url(path)).send().await.expect("get");
    let st = r.status();
    (st, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_admin_api_demands_the_same_step_up_as_the_admin_pages() {
    let t = spawn_app().await;
    let (c, secret) = admin_with_totp(&t).await;
    step_up_policy(&t, 5).await;
    let (st, _) = api_get_with_session(&t, &c, "/api/v1/users").await;
    assert_eq!(st, StatusCode::OK, "the factor was just used");
    t.clock.advance(time::Duration::minutes(6));
    let (st, e) = api_get_with_session(&t, &c, "/api/v1/users").await;
    assert_eq!((st, e["error"].clone()), (StatusCode::FORBIDDEN, json!("step_up_required")), "{e}");
    t.clock.advance(time::Duration::seconds(30));
    let r = post_code(&t, &c, "totp", &code(&secret, &t, 0)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (st, _) = api_get_with_session(&t, &c, "/api/v1/users").await;
    assert_eq!(st, StatusCode::OK, "after the step-up");
}

#[tokio::test]
async fn a_session_that_must_enrol_a_factor_cannot_use_the_admin_api() {
    let t = spawn_app().await;
    t.user("root", PASSWORD, true).await;
    let policy = lanyard::authn::mfa::MfaPolicy { mode: "required".into(), groups: vec![], step_up_minutes: 0 };
    lanyard::authn::mfa::set_policy(&t.app, &lanyard::audit::Actor::cli("test"), &Default::default(), policy)
        .await
        .expect("policy");
    let c = t.signed_in("root", PASSWORD).await;
    let (st, e) = api_get_with_session(&t, &c, "/api/v1/users").await;
    assert_eq!((st, e["error"].clone()), (StatusCode::FORBIDDEN, json!("mfa_enrolment_required")), "{e}");
}

#[tokio::test]
async fn adding_a_factor_next_to_one_needs_a_recent_use_and_does_not_count_as_one() {
    let t = spawn_app().await;
    let (c, _) = admin_with_totp(&t).await;
    step_up_policy(&t, 5).await;
    t.clock.advance(time::Duration::minutes(10));
    let token = t.csrf(&c, "/profile/mfa").await;
    let r = c
        .post(t.url("/profile/mfa/totp"))
        .form(&[("name", "Second"), ("csrf_token", token.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        r.headers()["location"].to_str().expect("loc").starts_with("/signin/mfa"),
        "sent to use the existing factor"
    );
    let r = c
        .post(t.url("/profile/webauthn/register/start"))
        .header("x-csrf-token", token.as_str())
        .json(&json!({"name": "Key", "kind": "security-key"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no passkey registration either");
    assert_eq!(c.get(t.url("/admin/users")).send().await.expect("get").status(), StatusCode::SEE_OTHER, "still stale");
}

#[tokio::test]
async fn a_revoked_session_is_not_written_back() {
    let t = spawn_app().await;
    let store = lanyard::authn::sessions::DbSessionStore::new(t.app.db.clone(), t.app.clock.clone(), 1800, 36000);
    let mut record = tower_sessions::session::Record {
        id: Default::default(),
        data: Default::default(),
        expiry_date: start_time() + time::Duration::hours(1),
    };
    store.create(&mut record).await.expect("create");
    assert!(store.load(&record.id).await.expect("load").is_some());
    store.delete(&record.id).await.expect("revoke");
    store.save(&record).await.expect("a late save of a running request");
    assert!(store.load(&record.id).await.expect("load").is_none(), "the revoked session stays gone");
}

#[tokio::test]
async fn only_the_proxys_own_forwarded_for_entry_is_trusted() {
    let t = spawn_app_with(|c| c.http.trust_forwarded_for = true).await;
    t.user("fred", PASSWORD, false).await;
    let c = client();
    let token = t.csrf(&c, "/signin").await;
    let r = c
        .post(t.url("/signin"))
        .header("x-forwarded-for", "6.6.6.6, 10.9.8.7")
        .form(&[("username", "fred"), ("password", "wrong password entirely"), ("csrf_token", token.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let rows = lanyard::audit::list(
        &t.app.db,
        &lanyard::audit::Filter { action: Some("signin.failure".into()), limit: 10, ..Default::default() },
    )
    .await
    .expect("audit");
    assert_eq!(rows[0].ip, "10.9.8.7", "the client-chosen first entry is ignored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_guesses_cannot_all_pass_one_throttle_check() {
    let t = spawn_app().await;
    t.user("gwen", PASSWORD, false).await;
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let c = client();
        let token = t.csrf(&c, "/signin").await;
        let url = t.url("/signin");
        tasks.push(tokio::spawn(async move {
            c.post(url)
                .form(&[("username", "gwen"), ("password", "wrong password entirely"), ("csrf_token", token.as_str())])
                .send()
                .await
                .expect("post")
                .status()
        }));
    }
    let mut checked = 0;
    for task in tasks {
        match task.await.expect("join") {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    // delay_after = 3: the third failure imposes a wait, and the test clock does not move.
    assert!(checked <= 3, "{checked} passwords were checked; the throttle allows 3 before a wait");
}

#[tokio::test]
async fn re_entering_a_known_password_does_not_reset_wrong_codes() {
    let t = spawn_app().await;
    t.user("hana", PASSWORD, false).await;
    let c = t.signed_in("hana", PASSWORD).await;
    enrol(&t, &c).await;
    let mut refused_at = None;
    for round in 0..4 {
        let c = client();
        let r = t.sign_in(&c, "hana", PASSWORD).await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            refused_at = Some(round);
            break;
        }
        assert_eq!(r.headers()["location"], "/signin/mfa");
        let r = post_code(&t, &c, "totp", "000000").await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            refused_at = Some(round);
            break;
        }
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert!(refused_at.is_some_and(|r| r <= 3), "wrong codes keep counting across password sign-ins: {refused_at:?}");
}

#[tokio::test]
async fn a_tab_in_next_does_not_redirect_elsewhere() {
    let t = spawn_app().await;
    t.user("ian", PASSWORD, false).await;
    let c = client();
    let token = t.csrf(&c, "/signin").await;
    let r = c
        .post(t.url("/signin"))
        .form(&[
            ("username", "ian"),
            ("password", PASSWORD),
            ("csrf_token", token.as_str()),
            ("next", "/\t/evil.example"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/", "an unsafe next falls back to home");
}

#[tokio::test]
async fn a_basic_authorization_header_does_not_skip_the_csrf_check() {
    let t = spawn_app().await;
    t.user("jo", PASSWORD, false).await;
    let c = t.signed_in("jo", PASSWORD).await;
    let r = c
        .post(t.url("/signout"))
        .header("authorization", "Basic am86cGFzcw==")
        .form(&[("x", "y")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_persons_token_dies_when_they_stop_being_an_active_administrator() {
    let t = spawn_app().await;
    let root = t.token().await;
    t.user("bob", PASSWORD, true).await;
    let alice = t.user("alice", PASSWORD, true).await;
    let c = t.signed_in("alice", PASSWORD).await;
    let csrf = t.csrf(&c, "/profile").await;
    let r = c
        .post(t.url("/api/v1/tokens"))
        .header("x-csrf-token", csrf.as_str())
        .json(&json!({"name": "alice's automation"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::CREATED);
    let secret = r.json::<Value>().await.expect("json")["secret"].as_str().expect("secret").to_string();
    // A token made with alice's token is hers too.
    let r = reqwest::Client::new()
        .post(t.url("/api/v1/tokens"))
        .bearer_auth(&secret)
        .json(&json!({"name": "child"}))
        .send()
        .await
        .expect("post");
    let child = r.json::<Value>().await.expect("json")["secret"].as_str().expect("secret").to_string();
    let http = reqwest::Client::new();
    let status = |token: String| {
        let http = http.clone();
        let url = t.url("/api/v1/users");
        async move { http.get(url).bearer_auth(token).send().await.expect("get").status() }
    };
    assert_eq!(status(secret.clone()).await, StatusCode::OK);
    let r = http
        .delete(t.url(&format!("/api/v1/groups/{}/members/{}", lanyard::directory::ADMIN_GROUP_ID, alice.id)))
        .bearer_auth(&root)
        .send()
        .await
        .expect("demote");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(status(secret.clone()).await, StatusCode::UNAUTHORIZED, "no longer an administrator");
    assert_eq!(status(child.clone()).await, StatusCode::UNAUTHORIZED, "nor its child token");
    http.put(t.url(&format!("/api/v1/groups/{}/members/{}", lanyard::directory::ADMIN_GROUP_ID, alice.id)))
        .bearer_auth(&root)
        .send()
        .await
        .expect("promote");
    assert_eq!(status(secret.clone()).await, StatusCode::OK);
    let r = http
        .patch(t.url(&format!("/api/v1/users/{}", alice.id)))
        .bearer_auth(&root)
        .json(&json!({"status": "disabled"}))
        .send()
        .await
        .expect("disable");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(status(secret).await, StatusCode::UNAUTHORIZED, "a disabled administrator's token stops");
    assert_eq!(status(root).await, StatusCode::OK, "tokens made on the server itself have no person behind them");
}

#[tokio::test]
async fn sign_in_requests_are_rate_limited_per_client_address() {
    let t = spawn_app_with(|c| {
        c.signin.rate_per_ip = 1;
        c.signin.rate_burst = 3;
        c.http.trust_forwarded_for = true;
    })
    .await;
    let c = client();
    let token = t.csrf(&c, "/signin").await;
    // A different username each time, so only the request rate, not the failure count, limits.
    let n = std::sync::atomic::AtomicU32::new(0);
    let post = |ip: &'static str| {
        let c = c.clone();
        let token = token.clone();
        let url = t.url("/signin");
        let who = format!("user{}", n.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        async move {
            c.post(url)
                .header("x-forwarded-for", ip)
                .form(&[
                    ("username", who.as_str()),
                    ("password", "wrong password entirely"),
                    ("csrf_token", token.as_str()),
                ])
                .send()
                .await
                .expect("post")
        }
    };
    for _ in 0..3 {
        assert_ne!(post("10.0.0.1").await.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    let limited = post("10.0.0.1").await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers()["retry-after"], "1");
    assert!(limited.text().await.expect("body").contains("Too many sign-in requests"));
    assert_ne!(post("10.0.0.2").await.status(), StatusCode::TOO_MANY_REQUESTS, "another address has its own budget");
    t.clock.advance(time::Duration::seconds(1));
    assert_ne!(post("10.0.0.1").await.status(), StatusCode::TOO_MANY_REQUESTS, "the bucket refills");
    let r = c
        .post(t.url("/signin/webauthn/start"))
        .header("x-forwarded-for", "10.0.0.1")
        .header("x-csrf-token", token.as_str())
        .json(&json!({}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "the passkey steps count too");
    assert_eq!(r.json::<Value>().await.expect("json")["error"], "too_many_requests");
}
