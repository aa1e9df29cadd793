use crate::helpers::*;
use reqwest::StatusCode;

#[tokio::test]
async fn signin_page_has_a_csrf_token_and_security_headers() {
    let t = spawn_app().await;
    let r = client().get(t.url("/signin")).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    let csp = h.get("content-security-policy").expect("csp").to_str().expect("str");
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'") && !csp.contains("unsafe-inline")
    );
    assert_eq!(h.get("x-content-type-options").expect("nosniff"), "nosniff");
    assert!(h.get("referrer-policy").is_some());
    assert!(h.get("strict-transport-security").is_none(), "no HSTS over plain http");
    assert!(h.get("x-request-id").is_some());
    let body = r.text().await.expect("body");
    assert!(!csrf_in(&body).is_empty());
    assert!(body.contains("<label for=\"username\">"));
}

#[tokio::test]
async fn sign_in_with_the_right_password_reaches_home() {
    let t = spawn_app().await;
    t.user("alice", PASSWORD, false).await;
    let c = client();
    let r = t.sign_in(&c, "ALICE", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers().get("location").expect("location"), "/");
    let cookie = set_cookie(&r, "lanyard_session").expect("session cookie");
    assert!(!cookie.is_empty());
    let set = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap_or("").to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"), "{set}");
    let home = c.get(t.url("/")).send().await.expect("home");
    assert_eq!(home.status(), StatusCode::OK);
    assert!(home.text().await.expect("body").contains("Welcome, alice Example"));
}

#[tokio::test]
async fn unknown_user_and_wrong_password_look_the_same() {
    let t = spawn_app().await;
    t.user("bob", PASSWORD, false).await;
    let c = client();
    let wrong = t.sign_in(&c, "bob", "not the password at all").await;
    let wrong_status = wrong.status();
    let wrong_body = wrong.text().await.expect("body");
    let unknown = t.sign_in(&c, "nobody", "not the password at all").await;
    let unknown_status = unknown.status();
    let unknown_body = unknown.text().await.expect("body");
    assert_eq!(wrong_status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_status, unknown_status);
    let msg = "The username or password is incorrect.";
    assert!(wrong_body.contains(msg) && unknown_body.contains(msg));
    // Apart from the echoed username and the per-request token, the pages are identical.
    let strip = |b: &str, u: &str| b.replace(&format!("value=\"{u}\""), "").replace(&csrf_in(b), "");
    assert_eq!(strip(&wrong_body, "bob"), strip(&unknown_body, "nobody"));
}

#[tokio::test]
async fn disabled_user_cannot_sign_in() {
    let t = spawn_app().await;
    let u = t.user("carol", PASSWORD, false).await;
    let ctx = lanyard::directory::Ctx { actor: lanyard::audit::Actor::cli("test"), origin: Default::default() };
    lanyard::directory::service::update_user(
        &t.app,
        &ctx,
        u.id,
        lanyard::directory::service::UserPatch { status: Some("disabled".into()), ..Default::default() },
    )
    .await
    .expect("disabled");
    let r = t.sign_in(&client(), "carol", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.expect("body").contains("disabled"));
    // A wrong password for a disabled user still says only "incorrect".
    let r = t.sign_in(&client(), "carol", "wrong password entirely").await;
    assert!(r.text().await.expect("body").contains("incorrect"));
}

#[tokio::test]
async fn lockout_after_repeated_failures_and_release_after_the_window() {
    let t = spawn_app_with(|c| {
        c.signin.max_failures = 3;
        c.signin.delay_after = 100;
        c.signin.lockout = lanyard::config::Dur::from_secs(900);
    })
    .await;
    t.user("dave", PASSWORD, false).await;
    let c = client();
    for _ in 0..3 {
        assert_eq!(t.sign_in(&c, "dave", "wrong password entirely").await.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = t.sign_in(&c, "dave", PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password is refused while locked");
    assert!(locked.text().await.expect("body").contains("Too many failed attempts"));
    // An unknown username locks the same way: lockout reveals nothing.
    for _ in 0..3 {
        t.sign_in(&c, "ghost", "wrong password entirely").await;
    }
    assert_eq!(t.sign_in(&c, "ghost", "wrong password entirely").await.status(), StatusCode::TOO_MANY_REQUESTS);
    t.clock.advance(time::Duration::minutes(16));
    assert_eq!(t.sign_in(&c, "dave", PASSWORD).await.status(), StatusCode::SEE_OTHER);
    let audit = lanyard::audit::list(
        &t.app.db,
        &lanyard::audit::Filter { action: Some("signin.lockout".into()), limit: 10, ..Default::default() },
    )
    .await
    .expect("audit");
    assert_eq!(audit.len(), 2, "one lockout event per locked username");
}

#[tokio::test]
async fn failures_grow_a_delay_before_the_next_attempt() {
    let t = spawn_app_with(|c| c.signin.delay_after = 2).await;
    t.user("erin", PASSWORD, false).await;
    let c = client();
    for _ in 0..2 {
        t.sign_in(&c, "erin", "wrong password entirely").await;
    }
    assert_eq!(t.sign_in(&c, "erin", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);
    t.clock.advance(time::Duration::seconds(2));
    assert_eq!(t.sign_in(&c, "erin", PASSWORD).await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn per_ip_throttle_blocks_a_spraying_client() {
    let t = spawn_app_with(|c| {
        c.signin.ip_max_failures = 4;
        c.signin.delay_after = 100;
    })
    .await;
    t.user("fay", PASSWORD, false).await;
    let c = client();
    for i in 0..4 {
        t.sign_in(&c, &format!("user{i}"), "wrong password entirely").await;
    }
    assert_eq!(t.sign_in(&c, "fay", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn forms_without_a_valid_csrf_token_are_refused() {
    let t = spawn_app().await;
    t.user("gus", PASSWORD, false).await;
    let c = client();
    c.get(t.url("/signin")).send().await.expect("get");
    let none =
        c.post(t.url("/signin")).form(&[("username", "gus"), ("password", PASSWORD)]).send().await.expect("post");
    assert_eq!(none.status(), StatusCode::FORBIDDEN);
    let bad = c
        .post(t.url("/signin"))
        .form(&[("username", "gus"), ("password", PASSWORD), ("csrf_token", "forged")])
        .send()
        .await
        .expect("post");
    assert_eq!(bad.status(), StatusCode::FORBIDDEN);
    // A token minted for another browser (another CSRF cookie) does not work either.
    let other = client();
    let foreign = t.csrf(&other, "/signin").await;
    let r = c
        .post(t.url("/signin"))
        .form(&[("username", "gus"), ("password", PASSWORD), ("csrf_token", foreign.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Signed in, a state-changing form without the token is refused too.
    let c = t.signed_in("gus", PASSWORD).await;
    assert_eq!(c.post(t.url("/signout")).send().await.expect("post").status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn password_hashes_with_old_parameters_are_upgraded_at_sign_in() {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let t = spawn_app().await;
    let u = t.user("hal", PASSWORD, false).await;
    let weak = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(8192, 1, 1, None).expect("params"),
    );
    let old = weak
        .hash_password(PASSWORD.as_bytes(), &SaltString::encode_b64(b"0123456789abcdef").expect("salt"))
        .expect("hash")
        .to_string();
    let mut tx = t.app.db.begin().await.expect("tx");
    lanyard::directory::store::set_password_hash(&mut tx, u.id, &old, false, 0).await.expect("set");
    tx.commit().await.expect("commit");
    t.signed_in("hal", PASSWORD).await;
    let after = lanyard::directory::service::get_user(&t.app, u.id).await.expect("user").password_hash.expect("hash");
    assert!(after.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{after}");
}

#[tokio::test]
async fn a_forced_password_change_comes_before_anything_else() {
    let t = spawn_app().await;
    let ctx = lanyard::directory::Ctx { actor: lanyard::audit::Actor::cli("test"), origin: Default::default() };
    lanyard::directory::service::create_user(
        &t.app,
        &ctx,
        lanyard::directory::service::NewUser {
            username: "ivy".into(),
            password: Some(PASSWORD.into()),
            must_change_password: true,
            ..Default::default()
        },
    )
    .await
    .expect("user");
    let c = client();
    let r = t.sign_in(&c, "ivy", PASSWORD).await;
    assert_eq!(r.headers().get("location").expect("location"), "/profile/password");
    let home = c.get(t.url("/")).send().await.expect("home");
    assert_eq!(home.headers().get("location").expect("location"), "/profile/password");
    let token = t.csrf(&c, "/profile/password").await;
    // Policy: too short, and too common, are refused with a clear message.
    for (pw, expect) in [("short", "at least 12"), ("ivy-is-my-password", "username"), ("password", "at least 12")] {
        let r = c
            .post(t.url("/profile/password"))
            .form(&[
                ("current_password", PASSWORD),
                ("new_password", pw),
                ("confirm_password", pw),
                ("csrf_token", token.as_str()),
            ])
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.expect("body").contains(expect));
    }
    let new = "a brand new passphrase here";
    let r = c
        .post(t.url("/profile/password"))
        .form(&[
            ("current_password", PASSWORD),
            ("new_password", new),
            ("confirm_password", new),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(c.get(t.url("/")).send().await.expect("home").status(), StatusCode::OK);
    assert_eq!(t.sign_in(&client(), "ivy", new).await.status(), StatusCode::SEE_OTHER);
}
