//! Property test: no request content, however malformed, makes the server answer 5xx.

use crate::helpers::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

#[test]
fn no_request_content_produces_a_server_error() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (t, token, csrf_client, csrf) = rt.block_on(async {
        let t = spawn_app().await;
        let token = t.token().await;
        let c = client();
        let csrf = t.csrf(&c, "/signin").await;
        (t, token, c, csrf)
    });
    let http = reqwest::Client::new();
    let text = "\\PC{0,120}";
    let fields = (text, text, text, text, text);
    let strategy = (0u8..8, text, "[ -~]{0,80}", fields);
    let mut runner = TestRunner::new(Config { cases: 160, failure_persistence: None, ..Config::default() });
    let result = runner.run(&strategy, |(kind, raw, query, (username, email, password, status, display))| {
        let structured = serde_json::json!({
            "username": username, "email": email, "password": password, "status": status, "display_name": display,
        })
        .to_string();
        let status = rt.block_on(async {
            let id = uuid::Uuid::now_v7();
            let req = match kind {
                0 => http.post(t.url("/api/v1/users")).header("content-type", "application/json").body(raw.clone()),
                1 => http
                    .post(t.url("/api/v1/users"))
                    .header("content-type", "application/json")
                    .body(structured.clone()),
                2 => http
                    .patch(t.url(&format!("/api/v1/users/{id}")))
                    .header("content-type", "application/json")
                    .body(structured.clone()),
                3 => http.get(t.url(&format!("/api/v1/users?{query}"))),
                4 => http.get(t.url(&format!("/api/v1/audit?{query}"))),
                5 => http.post(t.url("/api/v1/groups")).header("content-type", "application/json").body(raw.clone()),
                6 => {
                    let form = serde_urlencoded::to_string([
                        ("username", username.as_str()),
                        ("password", password.as_str()),
                        ("csrf_token", csrf.as_str()),
                    ])
                    .unwrap_or_default();
                    return csrf_client
                        .post(t.url("/signin"))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(form)
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                        .unwrap_or(0);
                }
                _ => http.get(t.url(&format!("/api/v1/users/{}", raw.replace(['/', '?', '#'], "")))),
            };
            match req.bearer_auth(&token).send().await {
                Ok(r) => r.status().as_u16(),
                Err(_) => 0,
            }
        });
        prop_assert!(status < 500, "kind {} answered {}", kind, status);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn no_access_request_produces_a_server_error() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (t, token, account, ps) = rt.block_on(async {
        let t = spawn_app().await;
        let token = t.token().await;
        let http = reqwest::Client::new();
        let account: serde_json::Value = http
            .post(t.url("/api/v1/accounts"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"name": "A", "owner_email": "a@example.com"}))
            .send()
            .await
            .expect("account")
            .json()
            .await
            .expect("json");
        let ps: serde_json::Value = http
            .post(t.url("/api/v1/permission-sets"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"name": "P"}))
            .send()
            .await
            .expect("ps")
            .json()
            .await
            .expect("json");
        (
            t,
            token,
            account["id"].as_str().unwrap_or_default().to_string(),
            ps["id"].as_str().unwrap_or_default().to_string(),
        )
    });
    let http = reqwest::Client::new();
    let text = "\\PC{0,120}";
    let strategy = (0u8..10, text, "[ -~]{0,80}", (text, text, text, text));
    let mut runner = TestRunner::new(Config { cases: 200, failure_persistence: None, ..Config::default() });
    let result = runner.run(&strategy, |(kind, raw, query, (a, b, c, d))| {
        let status = rt.block_on(async {
            let json = |v: serde_json::Value| v.to_string();
            let (method, path, body) = match kind {
                0 => ("POST", "/api/v1/accounts".to_string(), raw.clone()),
                1 => ("POST", "/api/v1/accounts".into(), json(serde_json::json!({"name": a, "owner_email": b, "status": c, "tags": {d.clone(): a}}))),
                2 => ("PATCH", format!("/api/v1/accounts/{account}"), json(serde_json::json!({"name": a, "ou_id": b, "status": c}))),
                3 => ("POST", "/api/v1/policies".into(), json(serde_json::json!({"name": a, "document": raw}))),
                4 => ("POST", "/api/v1/permission-sets".into(), json(serde_json::json!({"name": a, "session_duration": b, "relay_state": c, "inline_policy": d}))),
                5 => ("POST", "/api/v1/authorize".into(), json(serde_json::json!({"principal": {"username": a, "account_id": account, "permission_set": b}, "action": c, "resource": d, "context": {raw.clone(): a}}))),
                6 => ("POST", "/api/v1/simulate".into(), json(serde_json::json!({"policies": [raw], "actions": [a, b], "resources": [c], "context": {d.clone(): a}}))),
                7 => ("POST", "/api/v1/assignments".into(), json(serde_json::json!({"account_id": a, "permission_set_id": ps, "principal_type": b, "principal_id": c}))),
                8 => ("GET", format!("/api/v1/accounts?{query}"), String::new()),
                _ => ("GET", format!("/api/v1/accounts/{}", raw.replace(['/', '?', '#'], "")), String::new()),
            };
            let req = match method {
                "POST" => http.post(t.url(&path)),
                "PATCH" => http.patch(t.url(&path)),
                _ => http.get(t.url(&path)),
            };
            let req = if body.is_empty() { req } else { req.header("content-type", "application/json").body(body) };
            match req.bearer_auth(&token).send().await {
                Ok(r) => r.status().as_u16(),
                Err(_) => 0,
            }
        });
        prop_assert!(status < 500, "kind {} answered {}", kind, status);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
