use crate::helpers::*;
use reqwest::StatusCode;

async fn home_status(t: &TestApp, c: &reqwest::Client) -> StatusCode {
    c.get(t.url("/")).send().await.expect("home").status()
}

#[tokio::test]
async fn signing_in_rotates_the_session_id() {
    let t = spawn_app().await;
    t.user("ann", PASSWORD, false).await;
    let c = client();
    let first = set_cookie(&t.sign_in(&c, "ann", PASSWORD).await, "lanyard_session").expect("cookie");
    // Signing in again from a signed-in browser (the token comes from a signed-in page).
    let token = t.csrf(&c, "/profile").await;
    let again = c
        .post(t.url("/signin"))
        .form(&[("username", "ann"), ("password", PASSWORD), ("csrf_token", token.as_str())])
        .send()
        .await
        .expect("post");
    let second = set_cookie(&again, "lanyard_session").expect("cookie");
    assert_ne!(first, second, "a new id at every sign-in");
    // The old id is dead: a client presenting it is sent to sign in.
    let stale = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let r = stale.get(t.url("/")).header("cookie", format!("lanyard_session={first}")).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = stale.get(t.url("/")).header("cookie", format!("lanyard_session={second}")).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let t = spawn_app().await;
    t.user("ben", PASSWORD, false).await;
    let c = t.signed_in("ben", PASSWORD).await;
    let token = t.csrf(&c, "/").await;
    let r = c.post(t.url("/signout")).form(&[("csrf_token", token.as_str())]).send().await.expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(home_status(&t, &c).await, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn idle_and_absolute_timeouts_end_sessions() {
    let t = spawn_app_with(|c| {
        c.session.idle_timeout = lanyard::config::Dur::from_secs(600);
        c.session.absolute_timeout = lanyard::config::Dur::from_secs(3600);
    })
    .await;
    t.user("cat", PASSWORD, false).await;
    let c = t.signed_in("cat", PASSWORD).await;
    // Activity keeps it alive past the idle timeout...
    for _ in 0..5 {
        t.clock.advance(time::Duration::seconds(500));
        assert_eq!(home_status(&t, &c).await, StatusCode::OK);
    }
    // ...but not past the absolute timeout.
    t.clock.advance(time::Duration::seconds(1200));
    let r = c.get(t.url("/")).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // And ten idle minutes end a fresh one.
    let c = t.signed_in("cat", PASSWORD).await;
    t.clock.advance(time::Duration::seconds(601));
    assert_eq!(home_status(&t, &c).await, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_user_lists_and_revokes_their_other_sessions() {
    let t = spawn_app().await;
    t.user("dan", PASSWORD, false).await;
    let laptop = t.signed_in("dan", PASSWORD).await;
    let phone = t.signed_in("dan", PASSWORD).await;
    let page = laptop.get(t.url("/profile")).send().await.expect("profile").text().await.expect("body");
    assert_eq!(page.matches("/revoke\"").count(), 1, "one other session has a sign-out button");
    assert!(page.contains("This session"));
    let start = page.find("/profile/sessions/").expect("revoke form") + "/profile/sessions/".len();
    let id = &page[start..start + 36];
    let token = csrf_in(&page);
    let r = laptop
        .post(t.url(&format!("/profile/sessions/{id}/revoke")))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(home_status(&t, &phone).await, StatusCode::SEE_OTHER);
    assert_eq!(home_status(&t, &laptop).await, StatusCode::OK);
}

#[tokio::test]
async fn an_admin_revokes_every_session_of_a_user() {
    let t = spawn_app().await;
    let u = t.user("eve", PASSWORD, false).await;
    let a = t.signed_in("eve", PASSWORD).await;
    let b = t.signed_in("eve", PASSWORD).await;
    let token = t.token().await;
    let api = reqwest::Client::new();
    let list: serde_json::Value = api
        .get(t.url(&format!("/api/v1/users/{}/sessions", u.id)))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(list["items"].as_array().expect("items").len(), 2);
    let r = api
        .delete(t.url(&format!("/api/v1/users/{}/sessions", u.id)))
        .bearer_auth(&token)
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(home_status(&t, &a).await, StatusCode::SEE_OTHER);
    assert_eq!(home_status(&t, &b).await, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions() {
    let t = spawn_app().await;
    let u = t.user("fin", PASSWORD, false).await;
    let c = t.signed_in("fin", PASSWORD).await;
    let token = t.token().await;
    let r = reqwest::Client::new()
        .patch(t.url(&format!("/api/v1/users/{}", u.id)))
        .bearer_auth(&token)
        .json(&serde_json::json!({"status": "disabled"}))
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(home_status(&t, &c).await, StatusCode::SEE_OTHER);
}
