use crate::helpers::*;
use reqwest::StatusCode;

#[tokio::test]
async fn two_instances_on_one_database_share_sessions() {
    let a = spawn_app().await;
    let b = spawn_on(a.config.clone(), a.dir.clone(), a.clock.clone()).await;
    a.user("gil", PASSWORD, false).await;
    let c = client();
    let r = a.sign_in(&c, "gil", PASSWORD).await;
    let cookie = set_cookie(&r, "lanyard_session").expect("cookie");
    let plain = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let on_b = plain.get(b.url("/")).header("cookie", format!("lanyard_session={cookie}")).send().await.expect("get");
    assert_eq!(on_b.status(), StatusCode::OK, "instance B honours a session made on A");
    // A form rendered by A is accepted by B (the CSRF key derives from the shared master key).
    let csrf_cookie =
        set_cookie(&plain.get(a.url("/signin")).send().await.expect("get"), "lanyard_csrf").expect("csrf cookie");
    let page = plain
        .get(a.url("/"))
        .header("cookie", format!("lanyard_session={cookie}; lanyard_csrf={csrf_cookie}"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    let token = csrf_in(&page);
    let out = plain
        .post(b.url("/signout"))
        .header("cookie", format!("lanyard_session={cookie}; lanyard_csrf={csrf_cookie}"))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    // Signed out on B means signed out on A.
    let on_a = plain.get(a.url("/")).header("cookie", format!("lanyard_session={cookie}")).send().await.expect("get");
    assert_eq!(on_a.status(), StatusCode::SEE_OTHER);
}
