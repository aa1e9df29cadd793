use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

/// The current code for a base32 secret, computed with totp-rs directly (as an app would).
pub fn code(secret_b32: &str, t: &TestApp, offset_secs: i64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret_b32).expect("base32");
    let totp = totp_rs::Builder::new().with_secret(secret).build().expect("totp");
    let at = lanyard::clock::Clock::unix(&t.clock) + offset_secs;
    totp.generate(u64::try_from(at).expect("time")).to_string()
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let i = html.find(start).expect("start marker") + start.len();
    let j = html[i..].find(end).expect("end marker") + i;
    &html[i..j]
}

/// Enrols an authenticator app for a signed-in client; returns (secret, recovery codes).
pub async fn enrol(t: &TestApp, c: &reqwest::Client) -> (String, Vec<String>) {
    let token = t.csrf(c, "/profile/mfa").await;
    let r = c
        .post(t.url("/profile/mfa/totp"))
        .form(&[("name", "Phone"), ("csrf_token", token.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page_path = r.headers()["location"].to_str().expect("loc").to_string();
    let page = c.get(t.url(&page_path)).send().await.expect("get").text().await.expect("body");
    assert!(page.contains("<svg"), "the QR code is rendered server-side");
    let secret: String = between(&page, "id=\"totp-secret\">", "<").chars().filter(|c| !c.is_whitespace()).collect();
    let r = c
        .post(t.url(&format!("{page_path}/confirm")))
        .form(&[("code", code(&secret, t, 0).as_str()), ("csrf_token", csrf_in(&page).as_str())])
        .send()
        .await
        .expect("confirm");
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.expect("body");
    let list = between(&body, "id=\"recovery-codes\">", "</ul>");
    let codes: Vec<String> =
        list.split("<code>").skip(1).map(|s| s.split('<').next().unwrap_or_default().to_string()).collect();
    (secret, codes)
}

pub async fn post_code(t: &TestApp, c: &reqwest::Client, method: &str, value: &str) -> reqwest::Response {
    let token = t.csrf(c, "/signin/mfa").await;
    c.post(t.url("/signin/mfa"))
        .form(&[("method", method), ("code", value), ("csrf_token", token.as_str())])
        .send()
        .await
        .expect("post")
}

#[tokio::test]
async fn totp_enrolment_then_sign_in_asks_for_a_code_once() {
    let t = spawn_app().await;
    t.user("tina", PASSWORD, false).await;
    let c = t.signed_in("tina", PASSWORD).await;
    let (secret, codes) = enrol(&t, &c).await;
    assert_eq!(codes.len(), 10, "ten recovery codes on first enrolment");
    let c = client();
    let r = t.sign_in(&c, "tina", PASSWORD).await;
    assert_eq!(r.headers()["location"], "/signin/mfa");
    assert_eq!(
        c.get(t.url("/")).send().await.expect("get").status(),
        StatusCode::SEE_OTHER,
        "not signed in before the code"
    );
    // The code confirmed at enrolment was used: the same time step is refused (replay).
    let replay = post_code(&t, &c, "totp", &code(&secret, &t, 0)).await;
    assert_eq!(replay.status(), StatusCode::UNPROCESSABLE_ENTITY);
    t.clock.advance(time::Duration::seconds(30));
    let ok = post_code(&t, &c, "totp", &code(&secret, &t, 0)).await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(ok.headers()["location"], "/");
    assert_eq!(c.get(t.url("/")).send().await.expect("get").status(), StatusCode::OK);
    let audit = lanyard::audit::list(
        &t.app.db,
        &lanyard::audit::Filter { action: Some("mfa.verify".into()), limit: 10, ..Default::default() },
    )
    .await
    .expect("audit");
    assert_eq!(audit.iter().filter(|e| e.outcome == "failure").count(), 1);
    assert_eq!(audit.iter().filter(|e| e.outcome == "success").count(), 1);
}

#[tokio::test]
async fn codes_are_accepted_one_step_either_side_and_not_beyond() {
    let t = spawn_app_with(|c| c.signin.delay_after = 100).await;
    t.user("walt", PASSWORD, false).await;
    let c = t.signed_in("walt", PASSWORD).await;
    let (secret, _) = enrol(&t, &c).await;
    t.clock.advance(time::Duration::minutes(5));
    let c = client();
    t.sign_in(&c, "walt", PASSWORD).await;
    for offset in [-60, 60, 90] {
        assert_eq!(
            post_code(&t, &c, "totp", &code(&secret, &t, offset)).await.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "offset {offset}"
        );
    }
    assert_eq!(
        post_code(&t, &c, "totp", &code(&secret, &t, -30)).await.status(),
        StatusCode::SEE_OTHER,
        "previous step accepted"
    );
    let c = client();
    t.sign_in(&c, "walt", PASSWORD).await;
    assert_eq!(
        post_code(&t, &c, "totp", &code(&secret, &t, -30)).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "older step after a newer one"
    );
    assert_eq!(
        post_code(&t, &c, "totp", &code(&secret, &t, 30)).await.status(),
        StatusCode::SEE_OTHER,
        "next step accepted"
    );
}

#[tokio::test]
async fn recovery_codes_work_once_and_say_how_many_remain() {
    let t = spawn_app().await;
    t.user("rita", PASSWORD, false).await;
    let c = t.signed_in("rita", PASSWORD).await;
    let (_, codes) = enrol(&t, &c).await;
    let c = client();
    t.sign_in(&c, "rita", PASSWORD).await;
    let r = post_code(&t, &c, "recovery", &codes[0].to_uppercase()).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let loc = r.headers()["location"].to_str().expect("loc").to_string();
    assert_eq!(loc, "/profile/mfa?recovery_left=9");
    let page = c.get(t.url(&loc)).send().await.expect("get").text().await.expect("body");
    assert!(page.contains("9 recovery codes left"));
    let c = client();
    t.sign_in(&c, "rita", PASSWORD).await;
    assert_eq!(post_code(&t, &c, "recovery", &codes[0]).await.status(), StatusCode::UNPROCESSABLE_ENTITY, "single use");
    assert_eq!(post_code(&t, &c, "recovery", &codes[1]).await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn wrong_codes_count_towards_the_lockout() {
    let t = spawn_app_with(|c| {
        c.signin.max_failures = 3;
        c.signin.delay_after = 100;
    })
    .await;
    t.user("lou", PASSWORD, false).await;
    let c = t.signed_in("lou", PASSWORD).await;
    let (secret, _) = enrol(&t, &c).await;
    t.clock.advance(time::Duration::seconds(30));
    let c = client();
    t.sign_in(&c, "lou", PASSWORD).await;
    for _ in 0..3 {
        post_code(&t, &c, "totp", "000000").await;
    }
    assert_eq!(post_code(&t, &c, "totp", &code(&secret, &t, 0)).await.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_required_policy_sends_users_without_a_factor_to_enrol() {
    let t = spawn_app().await;
    let token = t.token().await;
    let api = reqwest::Client::new();
    let r = api
        .put(t.url("/api/v1/mfa-policy"))
        .bearer_auth(&token)
        .json(&json!({"mode": "required"}))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), StatusCode::OK);
    t.user("nia", PASSWORD, false).await;
    let c = client();
    let r = t.sign_in(&c, "nia", PASSWORD).await;
    assert_eq!(r.headers()["location"], "/profile/mfa");
    assert_eq!(c.get(t.url("/")).send().await.expect("get").headers()["location"], "/profile/mfa");
    enrol(&t, &c).await;
    assert_eq!(c.get(t.url("/")).send().await.expect("get").status(), StatusCode::OK);
}

#[tokio::test]
async fn a_group_policy_applies_to_members_only() {
    let t = spawn_app().await;
    let token = t.token().await;
    let api = reqwest::Client::new();
    let ctx = lanyard::directory::Ctx { actor: lanyard::audit::Actor::cli("test"), origin: Default::default() };
    let g = lanyard::directory::service::create_group(&t.app, &ctx, "finance", "").await.expect("group");
    let member = t.user("fran", PASSWORD, false).await;
    t.user("otto", PASSWORD, false).await;
    lanyard::directory::service::add_member(&t.app, &ctx, g.id, member.id).await.expect("member");
    for (body, status) in [
        (json!({"mode": "groups"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"mode": "sometimes"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"mode": "groups", "groups": [uuid::Uuid::now_v7()]}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"mode": "groups", "groups": [g.id]}), StatusCode::OK),
    ] {
        let r = api.put(t.url("/api/v1/mfa-policy")).bearer_auth(&token).json(&body).send().await.expect("put");
        assert_eq!(r.status(), status, "{body}");
    }
    assert_eq!(t.sign_in(&client(), "fran", PASSWORD).await.headers()["location"], "/profile/mfa");
    assert_eq!(t.sign_in(&client(), "otto", PASSWORD).await.headers()["location"], "/");
}

#[tokio::test]
async fn an_admin_reset_removes_factors_and_ends_sessions() {
    let t = spawn_app().await;
    let u = t.user("rex", PASSWORD, false).await;
    let c = t.signed_in("rex", PASSWORD).await;
    let (secret, _) = enrol(&t, &c).await;
    let token = t.token().await;
    let api = reqwest::Client::new();
    let listed: serde_json::Value = api
        .get(t.url(&format!("/api/v1/users/{}/factors", u.id)))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(listed["factors"][0]["kind"], "totp");
    assert_eq!(listed["recovery_codes_remaining"], 10);
    assert!(!listed.to_string().contains(&secret), "no secrets listed");
    let r =
        api.delete(t.url(&format!("/api/v1/users/{}/factors", u.id))).bearer_auth(&token).send().await.expect("delete");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(c.get(t.url("/")).send().await.expect("get").status(), StatusCode::SEE_OTHER, "sessions ended");
    assert_eq!(t.sign_in(&client(), "rex", PASSWORD).await.headers()["location"], "/", "no second factor any more");
}

#[tokio::test]
async fn removing_an_authenticator_needs_a_fresh_code() {
    let t = spawn_app().await;
    t.user("ada", PASSWORD, false).await;
    let c = t.signed_in("ada", PASSWORD).await;
    let (secret, _) = enrol(&t, &c).await;
    let page = c.get(t.url("/profile/mfa")).send().await.expect("get").text().await.expect("body");
    let id = between(&page, "/profile/mfa/totp/", "/delete").to_string();
    let token = csrf_in(&page);
    let r = c
        .post(t.url(&format!("/profile/mfa/totp/{id}/delete")))
        .form(&[("method", "totp"), ("code", "123456"), ("csrf_token", token.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    t.clock.advance(time::Duration::seconds(30));
    let fresh = code(&secret, &t, 0);
    let r = c
        .post(t.url(&format!("/profile/mfa/totp/{id}/delete")))
        .form(&[("method", "totp"), ("code", fresh.as_str()), ("csrf_token", token.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(t.sign_in(&client(), "ada", PASSWORD).await.headers()["location"], "/");
}

#[tokio::test]
async fn admin_pages_demand_a_recent_second_factor_when_step_up_is_on() {
    let t = spawn_app().await;
    t.user("root", PASSWORD, true).await;
    let c = t.signed_in("root", PASSWORD).await;
    let (secret, _) = enrol(&t, &c).await;
    let policy = lanyard::authn::mfa::MfaPolicy { mode: "optional".into(), groups: vec![], step_up_minutes: 5 };
    lanyard::authn::mfa::set_policy(&t.app, &lanyard::audit::Actor::cli("test"), &Default::default(), policy)
        .await
        .expect("policy");
    assert_eq!(
        c.get(t.url("/admin/users")).send().await.expect("get").status(),
        StatusCode::OK,
        "enrolment counted as a recent factor"
    );
    t.clock.advance(time::Duration::minutes(6));
    let r = c.get(t.url("/admin/users")).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers()["location"].to_str().expect("loc").starts_with("/signin/mfa?next=%2Fadmin%2Fusers"));
    let page = c.get(t.url("/signin/mfa?next=/admin/users")).send().await.expect("get").text().await.expect("body");
    let r = c
        .post(t.url("/signin/mfa"))
        .form(&[
            ("method", "totp"),
            ("code", code(&secret, &t, 0).as_str()),
            ("next", "/admin/users"),
            ("csrf_token", csrf_in(&page).as_str()),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.headers()["location"], "/admin/users");
    assert_eq!(c.get(t.url("/admin/users")).send().await.expect("get").status(), StatusCode::OK);
}

#[tokio::test]
async fn totp_seeds_are_sealed_at_rest() {
    let t = spawn_app().await;
    let u = t.user("sam", PASSWORD, false).await;
    let c = t.signed_in("sam", PASSWORD).await;
    let (secret, _) = enrol(&t, &c).await;
    let raw = base32_decode(&secret);
    assert_eq!(raw.len(), 20, "160-bit seed");
    let mut tx = t.app.db.read().await.expect("tx");
    let stored: Vec<u8> = lanyard::db_run!(&mut tx, c => sqlx::query_scalar("SELECT secret_sealed FROM totp_authenticators WHERE user_id = $1").bind(u.id).fetch_one(c).await)
        .expect("row");
    assert!(!stored.windows(raw.len()).any(|w| w == raw.as_slice()));
}

/// RFC 4648 base32 (no padding), written out here so the test does not trust the code under test.
fn base32_decode(s: &str) -> Vec<u8> {
    let mut bits = 0u64;
    let mut n = 0;
    let mut out = Vec::new();
    for ch in s.bytes().filter(|b| *b != b'=') {
        let v = match ch {
            b'A'..=b'Z' => ch - b'A',
            b'2'..=b'7' => ch - b'2' + 26,
            _ => panic!("not base32: {ch}"),
        };
        bits = (bits << 5) | u64::from(v);
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    out
}

#[tokio::test]
async fn a_second_sign_in_waiting_for_its_code_signs_out_the_first_user() {
    let t = spawn_app().await;
    t.user("amy", PASSWORD, false).await;
    t.user("bea", PASSWORD, false).await;
    let b = t.signed_in("bea", PASSWORD).await;
    enrol(&t, &b).await;
    let c = t.signed_in("amy", PASSWORD).await;
    let token = t.csrf(&c, "/profile").await;
    let r = c
        .post(t.url("/signin"))
        .form(&[("username", "bea"), ("password", PASSWORD), ("csrf_token", token.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(r.headers()["location"], "/signin/mfa");
    assert_eq!(
        c.get(t.url("/")).send().await.expect("home").status(),
        StatusCode::SEE_OTHER,
        "neither amy nor bea is signed in"
    );
}
