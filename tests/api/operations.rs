use crate::helpers::*;
use reqwest::StatusCode;

#[tokio::test]
async fn health_readiness_and_metrics() {
    let t = spawn_app().await;
    assert_eq!(reqwest::get(t.url("/healthz")).await.expect("get").status(), StatusCode::OK);
    let ready = reqwest::get(t.url("/readyz")).await.expect("get");
    assert_eq!(ready.status(), StatusCode::OK);
    t.user("mo", PASSWORD, false).await;
    t.signed_in("mo", PASSWORD).await;
    let metrics = reqwest::get(t.url("/metrics")).await.expect("get").text().await.expect("body");
    assert!(metrics.contains("lanyard_http_requests_total"), "{metrics}");
    assert!(metrics.contains("lanyard_http_request_duration_seconds"));
    assert!(metrics.contains("lanyard_signins_total"));
}

#[tokio::test]
async fn unknown_paths_get_a_page_or_json_404() {
    let t = spawn_app().await;
    let r = reqwest::get(t.url("/nope")).await.expect("get");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.expect("body").contains("Request id"));
    let r = reqwest::get(t.url("/api/v1/nope")).await.expect("get");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let e: serde_json::Value = r.json().await.expect("json");
    assert_eq!(e["error"], "not_found");
}

#[tokio::test]
async fn static_assets_are_embedded() {
    let t = spawn_app().await;
    let r = reqwest::get(t.url("/static/lanyard.css")).await.expect("get");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"].to_str().expect("ct").starts_with("text/css"));
}

#[tokio::test]
async fn admin_pages_work_without_javascript() {
    let t = spawn_app().await;
    t.user("root", PASSWORD, true).await;
    let c = t.signed_in("root", PASSWORD).await;
    let token = t.csrf(&c, "/admin/users").await;
    let r = c
        .post(t.url("/admin/users"))
        .form(&[
            ("username", "newbie"),
            ("display_name", "New Bie"),
            ("email", "newbie@example.com"),
            ("password", ""),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let user_page = r.headers()["location"].to_str().expect("loc").to_string();
    let page = c.get(t.url(&user_page)).send().await.expect("get").text().await.expect("body");
    assert!(page.contains("User was created") || page.contains("The user was created."));
    let bad = c
        .post(t.url("/admin/users"))
        .form(&[("username", "bad name"), ("csrf_token", token.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.expect("body").contains("username: may contain only"));
    let r = c
        .post(t.url("/admin/groups"))
        .form(&[("name", "Sales"), ("csrf_token", token.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let group_page = r.headers()["location"].to_str().expect("loc").split('?').next().expect("path").to_string();
    let r = c
        .post(t.url(&format!("{group_page}/members")))
        .form(&[("username", "newbie"), ("csrf_token", token.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = c.get(t.url(&group_page)).send().await.expect("get").text().await.expect("body");
    assert!(page.contains("newbie"));
    for p in ["/admin/groups", "/admin/audit", "/admin/tokens", "/profile"] {
        let r = c.get(t.url(p)).send().await.expect("get");
        assert_eq!(r.status(), StatusCode::OK, "{p}");
        assert!(!r.text().await.expect("body").contains("<script"), "{p} needs no script");
    }
    let audit = c.get(t.url("/admin/audit?action=group.*")).send().await.expect("get").text().await.expect("body");
    assert!(audit.contains("group.member_add") && audit.contains("group.create"));
}
