use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn user_crud_round_trip() {
    let api = Api::new().await;
    let (s, u) = api
        .post(
            "/users",
            json!({"username": "Alice", "display_name": "Alice A", "email": "alice@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    assert_eq!(u["username"], "Alice");
    assert_eq!(u["must_change_password"], true, "an admin-set password is temporary by default");
    assert!(u.get("password_hash").is_none() && !u.to_string().contains("argon2"));
    let id = u["id"].as_str().expect("id").to_string();
    let (s, got) = api.get(&format!("/users/{id}")).await;
    assert_eq!((s, got["email"].clone()), (StatusCode::OK, json!("alice@example.com")));
    let (s, patched) =
        api.call(reqwest::Method::PATCH, &format!("/users/{id}"), Some(json!({"display_name": "Alice B"}))).await;
    assert_eq!(
        (s, patched["display_name"].clone(), patched["email"].clone()),
        (StatusCode::OK, json!("Alice B"), json!("alice@example.com"))
    );
    let (s, _) = api.call(reqwest::Method::DELETE, &format!("/users/{id}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, e) = api.get(&format!("/users/{id}")).await;
    assert_eq!((s, e["error"].clone()), (StatusCode::NOT_FOUND, json!("not_found")));
}

#[tokio::test]
async fn listing_paginates_and_filters() {
    let api = Api::new().await;
    for i in 0..25 {
        let (s, _) = api.post("/users", json!({"username": format!("user{i:02}"), "email": format!("u{i:02}@{}.example.com", if i % 2 == 0 { "even" } else { "odd" })})).await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let path = match &next {
            Some(n) => format!("/users?limit=10&username=user&next={n}"),
            None => "/users?limit=10&username=user".to_string(),
        };
        let (s, page) = api.get(&path).await;
        assert_eq!(s, StatusCode::OK);
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 10);
        seen.extend(items.iter().map(|u| u["username"].as_str().expect("name").to_string()));
        next = page.get("next").and_then(Value::as_str).map(str::to_string);
        if next.is_none() {
            break;
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen.len(), 25);
    assert_eq!(seen, sorted);
    let (_, page) = api.get("/users?username=USER1").await;
    assert_eq!(page["items"].as_array().expect("items").len(), 10, "prefix match is case-insensitive");
    let (_, page) = api.get("/users?email=u0").await;
    assert_eq!(page["items"].as_array().expect("items").len(), 10);
    let (_, page) = api.get("/users?username=%25").await;
    assert_eq!(page["items"].as_array().expect("items").len(), 0, "LIKE wildcards are literal");
}

#[tokio::test]
async fn each_bad_field_gets_a_clear_error() {
    let api = Api::new().await;
    let cases = [
        (json!({"username": ""}), "username"),
        (json!({"username": "bad name"}), "username"),
        (json!({"username": "ok", "email": "not-an-email"}), "email"),
        (json!({"username": "ok", "password": "short"}), "password"),
        (json!({"username": "ok", "password": "1qaz2wsx3edc"}), "password"),
        (json!({"username": "ok", "display_name": "x".repeat(201)}), "display_name"),
        (json!({"username": "ok", "status": "sleeping"}), "status"),
    ];
    for (body, field) in cases {
        let (s, e) = api.post("/users", body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {e}");
        assert_eq!(e["error"], "invalid");
        assert_eq!(e["field"], field, "{body}: {e}");
        assert!(!e["message"].as_str().expect("message").is_empty());
    }
    let (s, e) = api.post("/users", json!({"username": "ok", "unknown": 1})).await;
    assert_eq!((s, e["error"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("invalid")));
    let (s, e) = api.post("/users", json!({"username": 5})).await;
    assert_eq!((s, e["error"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("invalid")));
    let r = api
        .http
        .post(api.t.url("/api/v1/users"))
        .bearer_auth(&api.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = api
        .http
        .post(api.t.url("/api/v1/users"))
        .bearer_auth(&api.token)
        .body("username=x")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (s, _) = api.get("/users/not-a-uuid").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, e) = api.get("/users?limit=0").await;
    assert_eq!((s, e["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("limit")));
    let (s, e) = api.get("/users?next=%%%").await;
    assert!(s == StatusCode::BAD_REQUEST || s == StatusCode::UNPROCESSABLE_ENTITY, "{s} {e}");
    api.post("/users", json!({"username": "dup"})).await;
    let (s, e) = api.post("/users", json!({"username": "DUP"})).await;
    assert_eq!(
        (s, e["error"].clone()),
        (StatusCode::CONFLICT, json!("conflict")),
        "usernames are unique regardless of case"
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let api = Api::new().await;
    let big = "x".repeat(300 * 1024);
    let r = api
        .http
        .post(api.t.url("/api/v1/users"))
        .bearer_auth(&api.token)
        .json(&json!({"username": big}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let e: Value = r.json().await.expect("json");
    assert_eq!(e["error"], "payload_too_large");
}

#[tokio::test]
async fn callers_must_be_administrators() {
    let api = Api::new().await;
    let r = api.http.get(api.t.url("/api/v1/users")).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get("www-authenticate").is_some());
    let r = api.http.get(api.t.url("/api/v1/users")).bearer_auth("lyd_at_forged").send().await.expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A signed-in non-admin gets 403.
    api.t.user("pleb", PASSWORD, false).await;
    let c = api.t.signed_in("pleb", PASSWORD).await;
    assert_eq!(c.get(api.t.url("/api/v1/users")).send().await.expect("send").status(), StatusCode::FORBIDDEN);
    assert_eq!(c.get(api.t.url("/admin/users")).send().await.expect("send").status(), StatusCode::FORBIDDEN);
    // An admin's session works, and its writes need the CSRF header.
    api.t.user("boss", PASSWORD, true).await;
    let c = api.t.signed_in("boss", PASSWORD).await;
    assert_eq!(c.get(api.t.url("/api/v1/users")).send().await.expect("send").status(), StatusCode::OK);
    let r = c.post(api.t.url("/api/v1/groups")).json(&json!({"name": "eng"})).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let token = api.t.csrf(&c, "/").await;
    let r = c
        .post(api.t.url("/api/v1/groups"))
        .header("x-csrf-token", token)
        .json(&json!({"name": "eng"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn groups_and_memberships() {
    let api = Api::new().await;
    let (_, u) = api.post("/users", json!({"username": "mia"})).await;
    let uid = u["id"].as_str().expect("id").to_string();
    let (s, g) = api.post("/groups", json!({"name": "Engineering", "description": "builders"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let gid = g["id"].as_str().expect("id").to_string();
    let (s, e) = api.post("/groups", json!({"name": "engineering"})).await;
    assert_eq!((s, e["error"].clone()), (StatusCode::CONFLICT, json!("conflict")));
    let (s, _) = api.call(reqwest::Method::PUT, &format!("/groups/{gid}/members/{uid}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = api.call(reqwest::Method::PUT, &format!("/groups/{gid}/members/{uid}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "adding twice is harmless");
    let (_, members) = api.get(&format!("/groups/{gid}/members")).await;
    assert_eq!(members["items"][0]["username"], "mia");
    let (_, groups) = api.get(&format!("/users/{uid}/groups")).await;
    assert_eq!(groups["items"][0]["name"], "Engineering");
    let (s, _) = api.call(reqwest::Method::PUT, &format!("/groups/{gid}/members/{}", uuid::Uuid::now_v7()), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = api.call(reqwest::Method::DELETE, &format!("/groups/{gid}/members/{uid}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, g2) = api.call(reqwest::Method::PATCH, &format!("/groups/{gid}"), Some(json!({"name": "Eng"}))).await;
    assert_eq!((s, g2["name"].clone()), (StatusCode::OK, json!("Eng")));
    let (s, _) = api.call(reqwest::Method::DELETE, &format!("/groups/{gid}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn the_last_administrator_and_the_admin_group_are_protected() {
    let api = Api::new().await;
    let admin = api.t.user("root", PASSWORD, true).await;
    let admins = lanyard::directory::ADMIN_GROUP_ID;
    let (s, e) = api.call(reqwest::Method::DELETE, &format!("/groups/{admins}"), None).await;
    assert_eq!((s, e["error"].clone()), (StatusCode::CONFLICT, json!("conflict")));
    let (s, _) = api.call(reqwest::Method::DELETE, &format!("/groups/{admins}/members/{}", admin.id), None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) =
        api.call(reqwest::Method::PATCH, &format!("/users/{}", admin.id), Some(json!({"status": "disabled"}))).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = api.call(reqwest::Method::DELETE, &format!("/users/{}", admin.id), None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let second = api.t.user("root2", PASSWORD, true).await;
    let (s, _) = api.call(reqwest::Method::DELETE, &format!("/groups/{admins}/members/{}", admin.id), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "with another admin, removal is fine");
    let _ = second;
}

#[tokio::test]
async fn tokens_are_shown_once_and_die_when_revoked() {
    let api = Api::new().await;
    let (s, created) = api.post("/tokens", json!({"name": "ci"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let secret = created["secret"].as_str().expect("secret").to_string();
    assert!(secret.starts_with("lyd_at_"));
    let (_, list) = api.get("/tokens").await;
    assert!(!list.to_string().contains(&secret), "listing never shows secrets");
    let r = api.http.get(api.t.url("/api/v1/users")).bearer_auth(&secret).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let id = created["id"].as_str().expect("id");
    let (s, _) = api.call(reqwest::Method::DELETE, &format!("/tokens/{id}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let r = api.http.get(api.t.url("/api/v1/users")).bearer_auth(&secret).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn openapi_document_describes_the_api() {
    let api = Api::new().await;
    let doc: Value = reqwest::get(api.t.url("/api/v1/openapi.json")).await.expect("get").json().await.expect("json");
    assert!(doc["openapi"].as_str().expect("version").starts_with("3.1"));
    for p in [
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/api/v1/groups/{id}/members/{user_id}",
        "/api/v1/tokens",
        "/api/v1/audit",
        "/api/v1/accounts/{id}",
        "/api/v1/org-units",
        "/api/v1/policies/{id}/versions",
        "/api/v1/permission-sets/{id}/policies/{policy_id}",
        "/api/v1/assignments",
        "/api/v1/users/{id}/access",
        "/api/v1/authorize",
        "/api/v1/simulate",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} documented");
    }
}

#[tokio::test]
async fn audit_api_filters_events() {
    let api = Api::new().await;
    api.post("/users", json!({"username": "zed"})).await;
    api.t.sign_in(&client(), "zed", "wrong password entirely").await;
    let (s, page) = api.get("/audit?action=signin.*").await;
    assert_eq!(s, StatusCode::OK);
    let items = page["items"].as_array().expect("items");
    assert!(!items.is_empty() && items.iter().all(|e| e["action"].as_str().expect("a").starts_with("signin.")));
    assert_eq!(items[0]["details"]["reason"], "no_password");
    let (_, page) = api.get("/audit?actor=test&action=user.create").await;
    let create = &page["items"][0];
    assert_eq!(create["details"]["after"]["username"], "zed", "admin changes record before/after");
    let (s, e) = api.get("/audit?since=yesterday").await;
    assert_eq!((s, e["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("since")));
}
