//! Role credentials and the AWS-compatible API under `/aws`: the SSO OIDC device login, the SSO
//! portal API, credentials signed with SigV4 (GetCallerIdentity), their expiry on the injected
//! clock, and every way they end (assignment removed, group membership removed, user disabled,
//! sign-out everywhere), with AWS's error shapes.

use crate::helpers::*;
use lanyard::sts::sigv4;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// An account, a permission set of two hours, a group `engineers` holding `alice`, and `alice`
/// assigned the permission set directly.
pub struct Org {
    pub api: Api,
    pub account: String,
    pub ps: String,
    pub group: String,
    pub alice: lanyard::directory::User,
    pub assignment: String,
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_else(|| panic!("{k} in {v}")).to_string()
}

impl Org {
    pub async fn new() -> Self {
        Self::on(Api::new().await).await
    }

    pub async fn on(api: Api) -> Self {
        let account = api.create("/accounts", json!({"name": "Production", "owner_email": "ops@example.com"})).await;
        let ps = api.create("/permission-sets", json!({"name": "ReadOnly", "session_duration": "PT2H"})).await;
        let group = api.create("/groups", json!({"name": "engineers"})).await;
        let alice = api.t.user("alice", PASSWORD, false).await;
        let (st, _) = api.put(&format!("/groups/{}/members/{}", s(&group, "id"), alice.id)).await;
        assert_eq!(st, StatusCode::NO_CONTENT);
        let a = api
            .create(
                "/assignments",
                json!({"account_id": account["id"], "permission_set_id": ps["id"], "principal_type": "user", "principal_id": alice.id}),
            )
            .await;
        Org {
            account: s(&account, "id"),
            ps: s(&ps, "id"),
            group: s(&group, "id"),
            assignment: s(&a, "id"),
            api,
            alice,
        }
    }
}

/// POSTs JSON to `/aws…`, returning status, the `x-amzn-ErrorType` header and the body.
pub async fn aws_json(t: &TestApp, path: &str, body: Value) -> (StatusCode, String, Value) {
    let r = reqwest::Client::new().post(t.url(path)).json(&body).send().await.expect("send");
    split(r).await
}

async fn split(r: reqwest::Response) -> (StatusCode, String, Value) {
    let st = r.status();
    let kind = r.headers().get("x-amzn-errortype").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let text = r.text().await.expect("body");
    (st, kind, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Approves a device code on the portal as `username`.
pub async fn approve(t: &TestApp, username: &str, user_code: &str) {
    let browser = t.signed_in(username, PASSWORD).await;
    let page = browser.get(t.url(&format!("/device?user_code={user_code}"))).send().await.expect("page");
    let page = page.text().await.expect("body");
    let r = browser
        .post(t.url("/device"))
        .form(&[("user_code", user_code), ("csrf_token", csrf_in(&page).as_str())])
        .send()
        .await
        .expect("post");
    let confirm = r.text().await.expect("body");
    let r = browser
        .post(t.url("/device"))
        .form(&[("user_code", user_code), ("decision", "allow"), ("csrf_token", csrf_in(&confirm).as_str())])
        .send()
        .await
        .expect("approve");
    assert_eq!(r.headers()["location"], "/device?notice=device_approved");
}

/// The SSO OIDC device login of an SDK, approved by `username`: (registration, tokens).
pub async fn sso_login(t: &TestApp, username: &str) -> (Value, Value) {
    let (st, _, reg) =
        aws_json(t, "/aws/client/register", json!({"clientName": "test-sdk", "clientType": "public"})).await;
    assert_eq!(st, StatusCode::OK, "{reg}");
    let creds = json!({"clientId": reg["clientId"], "clientSecret": reg["clientSecret"]});
    let mut start = creds.clone();
    start["startUrl"] = json!(t.url("/"));
    let (st, _, dev) = aws_json(t, "/aws/device_authorization", start).await;
    assert_eq!(st, StatusCode::OK, "{dev}");
    let mut poll = creds.clone();
    poll["grantType"] = json!("urn:ietf:params:oauth:grant-type:device_code");
    poll["deviceCode"] = dev["deviceCode"].clone();
    let (st, kind, e) = aws_json(t, "/aws/token", poll.clone()).await;
    assert_eq!(
        (st, kind.as_str(), e["error"].as_str()),
        (StatusCode::BAD_REQUEST, "AuthorizationPendingException", Some("authorization_pending"))
    );
    approve(t, username, dev["userCode"].as_str().expect("userCode")).await;
    t.clock.advance(time::Duration::seconds(6));
    let (st, _, tokens) = aws_json(t, "/aws/token", poll).await;
    assert_eq!(st, StatusCode::OK, "{tokens}");
    (reg, tokens)
}

/// GETs an SSO portal path with the bearer header.
pub async fn sso_get(t: &TestApp, path: &str, token: &str) -> (StatusCode, String, Value) {
    let r = reqwest::Client::new().get(t.url(path)).header("x-amz-sso_bearer_token", token).send().await.expect("send");
    split(r).await
}

/// Fresh role credentials for `alice` in the org's role, through the SSO portal API.
pub async fn role_credentials(org: &Org) -> Value {
    let t = &org.api.t;
    let (_, tokens) = sso_login(t, "alice").await;
    let at = tokens["accessToken"].as_str().expect("accessToken");
    let (st, _, c) =
        sso_get(t, &format!("/aws/federation/credentials?role_name=ReadOnly&account_id={}", org.account), at).await;
    assert_eq!(st, StatusCode::OK, "{c}");
    c["roleCredentials"].clone()
}

/// The headers and body of an STS GetCallerIdentity call signed with `creds` at `at`, as botocore
/// signs it.
pub fn signed_sts(t: &TestApp, creds: &Value, at: i64) -> (reqwest::header::HeaderMap, String) {
    signed_sts_body(t, creds, at, "Action=GetCallerIdentity&Version=2011-06-15")
}

/// Any STS call signed with `creds`: the headers and the body.
pub fn signed_sts_body(t: &TestApp, creds: &Value, at: i64, body: &str) -> (reqwest::header::HeaderMap, String) {
    signed_for(t.base.trim_start_matches("http://"), creds, at, body)
}

/// An STS call signed with `creds` for `host`.
pub fn signed_for(host: &str, creds: &Value, at: i64, body: &str) -> (reqwest::header::HeaderMap, String) {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert("host", host.parse().expect("host"));
    h.insert("content-type", "application/x-www-form-urlencoded; charset=utf-8".parse().expect("ct"));
    h.insert("x-amz-date", sigv4::format_amz_date(at).parse().expect("date"));
    h.insert("x-amz-security-token", creds["sessionToken"].as_str().expect("token").parse().expect("token"));
    let body = body.to_string();
    let req = sigv4::Request { method: "POST", path: "/aws", query: "", headers: &h, body: body.as_bytes() };
    let auth = sigv4::authorization_header(
        &req,
        creds["accessKeyId"].as_str().expect("key"),
        creds["secretAccessKey"].as_str().expect("secret"),
        "us-east-1",
        "sts",
        &["content-type", "host", "x-amz-date", "x-amz-security-token"],
    )
    .expect("sign");
    h.insert("authorization", auth.parse().expect("auth"));
    (h, body)
}

/// Calls STS GetCallerIdentity signed with `creds`; `tweak` may spoil the request after
/// signing. Returns status and body text.
pub async fn caller_identity(
    t: &TestApp,
    creds: &Value,
    at: i64,
    tweak: impl FnOnce(&mut reqwest::header::HeaderMap, &mut String),
) -> (StatusCode, String) {
    let (mut h, mut body) = signed_sts(t, creds, at);
    tweak(&mut h, &mut body);
    h.remove("host");
    let r = reqwest::Client::new().post(t.url("/aws")).headers(h).body(body).send().await.expect("send");
    (r.status(), r.text().await.expect("body"))
}

pub fn now(t: &TestApp) -> i64 {
    lanyard::clock::Clock::unix(&t.clock)
}

pub fn error_code(xml: &str) -> &str {
    xml.split("<Code>").nth(1).and_then(|r| r.split("</Code>").next()).unwrap_or("")
}

#[tokio::test]
async fn an_sso_device_login_lists_accounts_and_roles_and_issues_credentials_that_sign_requests() {
    let org = Org::new().await;
    let t = &org.api.t;
    let (reg, tokens) = sso_login(t, "alice").await;
    assert_eq!(reg["clientId"], "lanyard-aws");
    assert!(reg["clientSecretExpiresAt"].as_i64().expect("expiry") > now(t) + 80 * 86_400);
    assert_eq!(tokens["tokenType"], "Bearer");
    let at = tokens["accessToken"].as_str().expect("accessToken");

    let (st, _, accounts) = sso_get(t, "/aws/assignment/accounts?max_result=10", at).await;
    assert_eq!(st, StatusCode::OK, "{accounts}");
    assert_eq!(
        accounts["accountList"],
        json!([{"accountId": org.account, "accountName": "Production", "emailAddress": "ops@example.com"}])
    );
    assert!(accounts.get("nextToken").is_none(), "no nextToken on the last page");
    let (st, _, roles) = sso_get(t, &format!("/aws/assignment/roles?account_id={}", org.account), at).await;
    assert_eq!(
        (st, roles["roleList"].clone()),
        (StatusCode::OK, json!([{"roleName": "ReadOnly", "accountId": org.account}]))
    );

    let (st, _, c) =
        sso_get(t, &format!("/aws/federation/credentials?role_name=readonly&account_id={}", org.account), at).await;
    assert_eq!(st, StatusCode::OK, "{c}");
    let creds = &c["roleCredentials"];
    let key = creds["accessKeyId"].as_str().expect("key");
    assert!(key.len() == 20 && key.starts_with("ASIA"), "{key}");
    assert_eq!(creds["secretAccessKey"].as_str().map(str::len), Some(40));
    assert_eq!(creds["expiration"].as_i64(), Some((now(t) + 7200) * 1000), "the permission set's two hours, in ms");

    let (st, xml) = caller_identity(t, creds, now(t), |_, _| {}).await;
    assert_eq!(st, StatusCode::OK, "{xml}");
    assert!(xml.contains(&format!("<Arn>arn:lanyard:sts::{}:assumed-role/ReadOnly/alice</Arn>", org.account)), "{xml}");
    assert!(xml.contains(&format!("<Account>{}</Account>", org.account)));
    assert!(xml.contains("<UserId>AROA") && xml.contains(":alice</UserId>"), "{xml}");

    // Issue and use are in the audit log, with the caller's address.
    lanyard::audit::batch::Batcher::flush(&t.app.audit_batch).await;
    let (_, log) = org.api.get("/audit?action=sts.credentials.issue").await;
    assert_eq!(log["items"][0]["details"]["access_key_id"], key, "{log}");
    assert_eq!(log["items"][0]["ip"], "127.0.0.1");
    assert!(log["items"][0]["details"]["user_agent"].is_string(), "{log}");
    let (_, log) = org.api.get("/audit?action=sts.credentials.use").await;
    assert_eq!(log["items"][0]["details"]["action"], "sts:GetCallerIdentity", "{log}");

    // Refresh rotates; the spent refresh token is refused and ends the family.
    let refresh = json!({"clientId": reg["clientId"], "clientSecret": reg["clientSecret"], "grantType": "refresh_token",
                         "refreshToken": tokens["refreshToken"]});
    let (st, _, fresh) = aws_json(t, "/aws/token", refresh.clone()).await;
    assert_eq!(st, StatusCode::OK, "{fresh}");
    assert!(fresh["refreshToken"].is_string() && fresh["refreshToken"] != tokens["refreshToken"]);
    let (st, kind, _) = aws_json(t, "/aws/token", refresh).await;
    assert_eq!((st, kind.as_str()), (StatusCode::BAD_REQUEST, "InvalidGrantException"));
    let (st, kind, _) = sso_get(t, "/aws/assignment/accounts", fresh["accessToken"].as_str().expect("at")).await;
    assert_eq!((st, kind.as_str()), (StatusCode::UNAUTHORIZED, "UnauthorizedException"), "reuse revoked the family");
}

#[tokio::test]
async fn the_sso_apis_refuse_bad_clients_tokens_and_roles_with_aws_error_shapes() {
    let org = Org::new().await;
    let t = &org.api.t;
    let (st, kind, e) =
        aws_json(t, "/aws/client/register", json!({"clientName": "x", "clientType": "confidential"})).await;
    assert_eq!(
        (st, kind.as_str(), e["error"].as_str()),
        (StatusCode::BAD_REQUEST, "InvalidClientMetadataException", Some("invalid_client_metadata"))
    );
    let (st, kind, _) = aws_json(t, "/aws/client/register", json!({"clientType": "public"})).await;
    assert_eq!((st, kind.as_str()), (StatusCode::BAD_REQUEST, "InvalidRequestException"));
    let (st, kind, e) = aws_json(
        t,
        "/aws/device_authorization",
        json!({"clientId": "lanyard-aws", "clientSecret": "lyd_sso_wrong", "startUrl": t.url("/")}),
    )
    .await;
    assert_eq!(
        (st, kind.as_str(), e["error"].as_str()),
        (StatusCode::UNAUTHORIZED, "InvalidClientException", Some("invalid_client"))
    );
    let (reg, tokens) = sso_login(t, "alice").await;
    let (st, kind, _) = aws_json(
        t,
        "/aws/token",
        json!({"clientId": reg["clientId"], "clientSecret": reg["clientSecret"], "grantType": "password"}),
    )
    .await;
    assert_eq!((st, kind.as_str()), (StatusCode::BAD_REQUEST, "UnsupportedGrantTypeException"));

    let (st, kind, e) = sso_get(t, "/aws/assignment/accounts", "not-a-token").await;
    assert_eq!((st, kind.as_str()), (StatusCode::UNAUTHORIZED, "UnauthorizedException"), "{e}");
    assert!(e["message"].is_string());
    let r = reqwest::Client::new().get(t.url("/aws/assignment/accounts")).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let at = tokens["accessToken"].as_str().expect("at");
    let (st, kind, _) = sso_get(t, "/aws/assignment/roles", at).await;
    assert_eq!((st, kind.as_str()), (StatusCode::BAD_REQUEST, "InvalidRequestException"), "account_id is required");
    let (st, kind, _) =
        sso_get(t, &format!("/aws/federation/credentials?role_name=Admin&account_id={}", org.account), at).await;
    assert_eq!((st, kind.as_str()), (StatusCode::FORBIDDEN, "ForbiddenException"), "no such assignment");
    let (st, kind, _) = sso_get(t, "/aws/federation/credentials?role_name=ReadOnly&account_id=12", at).await;
    assert_eq!((st, kind.as_str()), (StatusCode::BAD_REQUEST, "InvalidRequestException"));

    // Another user's token lists only their own (no) accounts.
    org.api.t.user("bob", PASSWORD, false).await;
    let (_, bob) = sso_login(t, "bob").await;
    let (st, _, accounts) = sso_get(t, "/aws/assignment/accounts", bob["accessToken"].as_str().expect("at")).await;
    assert_eq!((st, accounts["accountList"].clone()), (StatusCode::OK, json!([])));

    // Logout ends the sign-in: the token and its refresh token stop working.
    let r = reqwest::Client::new()
        .post(t.url("/aws/logout"))
        .header("x-amz-sso_bearer_token", at)
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), StatusCode::OK);
    let (st, _, _) = sso_get(t, "/aws/assignment/accounts", at).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, kind, _) = aws_json(
        t,
        "/aws/token",
        json!({"clientId": reg["clientId"], "clientSecret": reg["clientSecret"], "grantType": "refresh_token", "refreshToken": tokens["refreshToken"]}),
    )
    .await;
    assert_eq!((st, kind.as_str()), (StatusCode::BAD_REQUEST, "InvalidGrantException"));
}

#[tokio::test]
async fn signatures_are_checked_for_tampering_wrong_tokens_and_clock_skew() {
    let org = Org::new().await;
    let t = &org.api.t;
    let creds = role_credentials(&org).await;
    let n = now(t);
    let (st, xml) = caller_identity(t, &creds, n, |_, body| body.push_str("&x=1")).await;
    assert_eq!((st, error_code(&xml)), (StatusCode::FORBIDDEN, "SignatureDoesNotMatch"), "{xml}");
    let (st, xml) = caller_identity(t, &creds, n, |h, _| {
        h.insert("x-amz-security-token", "lyd_st_forged".parse().expect("v"));
    })
    .await;
    assert_eq!(error_code(&xml), "SignatureDoesNotMatch", "the token is signed: {st} {xml}");
    let mut other = creds.clone();
    other["sessionToken"] = json!("lyd_st_forged");
    let (st, xml) = caller_identity(t, &other, n, |_, _| {}).await;
    assert_eq!((st, error_code(&xml)), (StatusCode::FORBIDDEN, "InvalidClientTokenId"), "a wrong token: {xml}");
    let mut other = creds.clone();
    other["accessKeyId"] = json!("ASIAAAAAAAAAAAAAAAAA");
    let (_, xml) = caller_identity(t, &other, n, |_, _| {}).await;
    assert_eq!(error_code(&xml), "InvalidClientTokenId", "an unknown key");
    let mut other = creds.clone();
    other["secretAccessKey"] = json!("A".repeat(40));
    let (_, xml) = caller_identity(t, &other, n, |_, _| {}).await;
    assert_eq!(error_code(&xml), "SignatureDoesNotMatch", "a wrong secret");
    for skew in [-301, 301] {
        let (st, xml) = caller_identity(t, &creds, n + skew, |_, _| {}).await;
        assert_eq!((st, error_code(&xml)), (StatusCode::FORBIDDEN, "RequestExpired"), "{skew}: {xml}");
    }
    let (st, _) = caller_identity(t, &creds, n - 299, |_, _| {}).await;
    assert_eq!(st, StatusCode::OK, "within five minutes");
    let r =
        reqwest::Client::new().post(t.url("/aws")).form(&[("Action", "GetCallerIdentity")]).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.headers()["content-type"], "text/xml");
    assert_eq!(error_code(&r.text().await.expect("body")), "MissingAuthenticationToken");
    let r =
        reqwest::Client::new().post(t.url("/aws")).form(&[("Action", "DeleteEverything")]).send().await.expect("send");
    assert_eq!(error_code(&r.text().await.expect("body")), "InvalidAction");
}

#[tokio::test]
async fn credentials_expire_on_the_clock() {
    let org = Org::new().await;
    let t = &org.api.t;
    let creds = role_credentials(&org).await;
    t.clock.advance(time::Duration::seconds(7199));
    assert_eq!(caller_identity(t, &creds, now(t), |_, _| {}).await.0, StatusCode::OK);
    t.clock.advance(time::Duration::seconds(1));
    let (st, xml) = caller_identity(t, &creds, now(t), |_, _| {}).await;
    assert_eq!((st, error_code(&xml)), (StatusCode::FORBIDDEN, "ExpiredToken"), "{xml}");
}

#[tokio::test]
async fn credentials_end_with_the_assignment_the_group_membership_or_the_user() {
    let org = Org::new().await;
    let t = &org.api.t;
    // Through the direct assignment: removing it ends the credentials at once.
    let direct = role_credentials(&org).await;
    // Through the group as well.
    org.api
        .create(
            "/assignments",
            json!({"account_id": org.account, "permission_set_id": org.ps, "principal_type": "group", "principal_id": org.group}),
        )
        .await;
    let (st, _) = org.api.delete(&format!("/assignments/{}", org.assignment)).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(
        caller_identity(t, &direct, now(t), |_, _| {}).await.0,
        StatusCode::OK,
        "still assigned through the group"
    );
    let via_group = role_credentials(&org).await;
    let (st, _) = org.api.delete(&format!("/groups/{}/members/{}", org.group, org.alice.id)).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    for c in [&direct, &via_group] {
        let (st, xml) = caller_identity(t, c, now(t), |_, _| {}).await;
        assert_eq!((st, error_code(&xml)), (StatusCode::FORBIDDEN, "InvalidClientTokenId"), "{xml}");
    }
    // Back in the group: valid again (the check is live, the credentials were not revoked)…
    let (st, _) = org.api.put(&format!("/groups/{}/members/{}", org.group, org.alice.id)).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(caller_identity(t, &via_group, now(t), |_, _| {}).await.0, StatusCode::OK);
    // … until the user is disabled, which revokes them for good.
    let (st, _) = org.api.patch(&format!("/users/{}", org.alice.id), json!({"status": "disabled"})).await;
    assert_eq!(st, StatusCode::OK);
    let (_, xml) = caller_identity(t, &via_group, now(t), |_, _| {}).await;
    assert_eq!(error_code(&xml), "InvalidClientTokenId");
    let (st, _) = org.api.patch(&format!("/users/{}", org.alice.id), json!({"status": "active"})).await;
    assert_eq!(st, StatusCode::OK);
    let (_, xml) = caller_identity(t, &via_group, now(t), |_, _| {}).await;
    assert_eq!(error_code(&xml), "InvalidClientTokenId", "revoked, not just suspended");
}

#[tokio::test]
async fn signing_out_everywhere_revokes_role_credentials() {
    let org = Org::new().await;
    let t = &org.api.t;
    let creds = role_credentials(&org).await;
    let (st, _) = org.api.delete(&format!("/users/{}/sessions", org.alice.id)).await;
    assert!(st.is_success(), "{st}");
    let (_, xml) = caller_identity(t, &creds, now(t), |_, _| {}).await;
    assert_eq!(error_code(&xml), "InvalidClientTokenId");
}

#[tokio::test]
async fn the_mfa_policy_governs_issuance() {
    let org = Org::new().await;
    let t = &org.api.t;
    let (_, tokens) = sso_login(t, "alice").await;
    let (st, _) = org.api.call(reqwest::Method::PUT, "/mfa-policy", Some(json!({"mode": "required"}))).await;
    assert_eq!(st, StatusCode::OK);
    let (st, kind, e) = sso_get(
        t,
        &format!("/aws/federation/credentials?role_name=ReadOnly&account_id={}", org.account),
        tokens["accessToken"].as_str().expect("at"),
    )
    .await;
    // 401 UnauthorizedException: botocore then tells the user to log in again (with MFA).
    assert_eq!((st, kind.as_str()), (StatusCode::UNAUTHORIZED, "UnauthorizedException"), "{e}");
    assert!(e["message"].as_str().expect("message").contains("second factor"), "{e}");
}

/// The values between `marker` and the next `"` on the credentials page.
fn page_value(page: &str, marker: &str) -> Value {
    let start = page.find(marker).unwrap_or_else(|| panic!("{marker} on the page")) + marker.len();
    json!(page[start..].split('"').next().expect("value"))
}

#[tokio::test]
async fn the_portal_gives_command_line_access_and_the_console_link_for_each_role() {
    let org = Org::new().await;
    let t = &org.api.t;
    let (st, _) = org
        .api
        .patch(&format!("/permission-sets/{}", org.ps), json!({"relay_state": "https://console.example.com/home"}))
        .await;
    assert_eq!(st, StatusCode::OK);
    let browser = t.signed_in("alice", PASSWORD).await;
    let home = browser.get(t.url("/")).send().await.expect("home").text().await.expect("body");
    let action = format!("/accounts/{}/roles/ReadOnly/credentials", org.account);
    assert!(home.contains(&format!("action=\"{action}\"")), "{home}");
    assert!(home.contains("href=\"https://console.example.com/home\""), "the console link");
    let r = browser.post(t.url(&action)).form(&[("csrf_token", "forged")]).send().await.expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "CSRF applies");
    let r = browser.post(t.url(&action)).form(&[("csrf_token", csrf_in(&home).as_str())]).send().await.expect("post");
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.expect("page");
    assert!(
        page.contains(&format!(
            "credential_process = lanyard creds --url {} --account {} --role ReadOnly --format credential-process",
            t.config.public_url().as_str().trim_end_matches('/'),
            org.account
        )),
        "{page}"
    );
    let creds = json!({
        "accessKeyId": page_value(&page, "export AWS_ACCESS_KEY_ID=\""),
        "secretAccessKey": page_value(&page, "export AWS_SECRET_ACCESS_KEY=\""),
        "sessionToken": page_value(&page, "export AWS_SESSION_TOKEN=\""),
    });
    let (st, xml) = caller_identity(t, &creds, now(t), |_, _| {}).await;
    assert_eq!(st, StatusCode::OK, "{xml}");
    // A role the user does not have: a page that says so, nothing issued.
    let r = browser
        .post(t.url(&format!("/accounts/{}/roles/Admin/credentials", org.account)))
        .form(&[("csrf_token", csrf_in(&home).as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.expect("page").contains("no assignment gives you the role Admin"));
}

#[tokio::test]
async fn credentials_can_be_bound_to_the_sign_in_session() {
    let t = spawn_app_with(|c| {
        c.sts.bound_to_session = true;
        c.session.absolute_timeout = lanyard::config::Dur::from_secs(3600);
    })
    .await;
    let org = Org::on(Api::on(t).await).await;
    let t = &org.api.t;
    let browser = t.signed_in("alice", PASSWORD).await;
    let home = browser.get(t.url("/")).send().await.expect("home").text().await.expect("body");
    let action = format!("/accounts/{}/roles/ReadOnly/credentials", org.account);
    let page = browser
        .post(t.url(&action))
        .form(&[("csrf_token", csrf_in(&home).as_str())])
        .send()
        .await
        .expect("post")
        .text()
        .await
        .expect("page");
    let creds = json!({
        "accessKeyId": page_value(&page, "export AWS_ACCESS_KEY_ID=\""),
        "secretAccessKey": page_value(&page, "export AWS_SECRET_ACCESS_KEY=\""),
        "sessionToken": page_value(&page, "export AWS_SESSION_TOKEN=\""),
    });
    t.clock.advance(time::Duration::seconds(3599));
    assert_eq!(caller_identity(t, &creds, now(t), |_, _| {}).await.0, StatusCode::OK);
    t.clock.advance(time::Duration::seconds(1));
    let (_, xml) = caller_identity(t, &creds, now(t), |_, _| {}).await;
    assert_eq!(error_code(&xml), "ExpiredToken", "the session's hour, not the permission set's two");
}

#[tokio::test]
async fn the_decision_api_takes_a_principal_proved_by_a_forwarded_signature() {
    use base64::Engine;
    let org = Org::new().await;
    let t = &org.api.t;
    let allow =
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}"#;
    let (st, e) = org.api.patch(&format!("/permission-sets/{}", org.ps), json!({"inline_policy": allow})).await;
    assert_eq!(st, StatusCode::OK, "{e}");
    let creds = role_credentials(&org).await;
    // Signed for Lanyard's public host, as a client calling it would.
    let public_host = t.config.public_url().as_str().trim_start_matches("http://").trim_end_matches('/').to_string();
    let (wrong_host, _) = signed_sts(t, &creds, now(t));
    let (h, body) = signed_for(&public_host, &creds, now(t), "Action=GetCallerIdentity&Version=2011-06-15");
    let headers: serde_json::Map<String, Value> =
        h.iter().map(|(k, v)| (k.to_string(), json!(v.to_str().expect("ascii")))).collect();
    let forwarded = |headers: &serde_json::Map<String, Value>, body: &str| {
        json!({"principal": {"signed_request": {"method": "POST", "url": t.url("/aws"), "headers": headers,
                   "body": base64::engine::general_purpose::STANDARD.encode(body)}},
               "action": "s3:GetObject", "resource": "arn:aws:s3:::reports/q3.pdf"})
    };
    let (st, d) = org.api.post("/authorize", forwarded(&headers, &body)).await;
    assert_eq!(st, StatusCode::OK, "{d}");
    assert_eq!(d["decision"], "allow", "{d}");
    assert_eq!(d["principal_arn"], format!("arn:lanyard:iam::{}:role/ReadOnly", org.account));
    let mut spoiled = forwarded(&headers, &body);
    spoiled["action"] = json!("s3:DeleteObject");
    let (_, d) = org.api.post("/authorize", spoiled).await;
    assert_eq!(d["decision"], "deny", "the policy decides for the signer: {d}");
    let (st, e) =
        org.api.post("/authorize", forwarded(&headers, "Action=GetCallerIdentity&Version=2011-06-15&x=1")).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{e}");
    assert!(e["message"].as_str().expect("message").contains("SignatureDoesNotMatch"), "{e}");
    let other: serde_json::Map<String, Value> =
        wrong_host.iter().map(|(k, v)| (k.to_string(), json!(v.to_str().expect("ascii")))).collect();
    let (st, e) = org.api.post("/authorize", forwarded(&other, &body)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "signed for another host: {e}");
    let mut with_user = forwarded(&headers, &body);
    with_user["principal"]["user_id"] = json!(org.alice.id);
    let (st, _) = org.api.post("/authorize", with_user).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "proof and a claimed user do not mix");
    // After the assignment goes, the signature proves nobody.
    let (st, _) = org.api.delete(&format!("/assignments/{}", org.assignment)).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, e) = org.api.post("/authorize", forwarded(&headers, &body)).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{e}");
}

/// Sends a signed STS call; returns status and XML.
pub async fn sts_call(t: &TestApp, creds: &Value, body: &str) -> (StatusCode, String) {
    let (mut h, body) = signed_sts_body(t, creds, now(t), body);
    h.remove("host");
    let r = reqwest::Client::new().post(t.url("/aws")).headers(h).body(body).send().await.expect("send");
    (r.status(), r.text().await.expect("body"))
}

pub fn xml_field(xml: &str, tag: &str) -> String {
    xml.split(&format!("<{tag}>")).nth(1).and_then(|r| r.split(&format!("</{tag}>")).next()).unwrap_or("").to_string()
}

pub fn credentials_from(xml: &str) -> Value {
    json!({"accessKeyId": xml_field(xml, "AccessKeyId"), "secretAccessKey": xml_field(xml, "SecretAccessKey"),
           "sessionToken": xml_field(xml, "SessionToken")})
}

/// A second account, Staging, where the role Deployer is provisioned (assigned to an empty
/// group, so nobody has it through an assignment).
pub async fn staging(org: &Org) -> (String, String) {
    let account = org.api.create("/accounts", json!({"name": "Staging", "owner_email": "ops@example.com"})).await;
    let ps = org.api.create("/permission-sets", json!({"name": "Deployer", "session_duration": "PT4H"})).await;
    let ci = org.api.create("/groups", json!({"name": "ci"})).await;
    org.api
        .create("/assignments", json!({"account_id": account["id"], "permission_set_id": ps["id"], "principal_type": "group", "principal_id": ci["id"]}))
        .await;
    (s(&account, "id"), s(&ps, "id"))
}

#[tokio::test]
async fn assume_role_chains_into_a_role_that_trusts_the_caller_for_at_most_an_hour() {
    let org = Org::new().await;
    let t = &org.api.t;
    let (staging, deployer) = staging(&org).await;
    let creds = role_credentials(&org).await;
    let target = format!("arn:lanyard:iam::{staging}:role/Deployer");
    let call = format!("Action=AssumeRole&Version=2011-06-15&RoleArn={}&RoleSessionName=deploy-1", urlencode(&target));
    let (st, xml) = sts_call(t, &creds, &call).await;
    assert_eq!((st, error_code(&xml)), (StatusCode::FORBIDDEN, "AccessDenied"), "ReadOnly may not assume roles: {xml}");
    let allow = r#"{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:lanyard:iam::*:role/Deployer"}]}"#;
    let (st, _) = org.api.patch(&format!("/permission-sets/{}", org.ps), json!({"inline_policy": allow})).await;
    assert_eq!(st, StatusCode::OK);
    let (st, xml) = sts_call(t, &creds, &call).await;
    assert_eq!((st, error_code(&xml)), (StatusCode::FORBIDDEN, "AccessDenied"), "Deployer trusts nobody yet: {xml}");
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"AWS": format!("arn:lanyard:iam::{}:role/ReadOnly", org.account)}}]});
    let (st, e) =
        org.api.put_json(&format!("/permission-sets/{deployer}/trust-policy"), json!({"trust_policy": trust})).await;
    assert_eq!(st, StatusCode::OK, "{e}");
    let (st, e) = org
        .api
        .put_json(
            &format!("/permission-sets/{deployer}/trust-policy"),
            json!({"trust_policy": {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}}),
        )
        .await;
    assert_eq!(
        (st, e["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("trust_policy")),
        "a statement without a Principal: {e}"
    );
    let (st, xml) = sts_call(t, &creds, &format!("{call}&DurationSeconds=7200")).await;
    assert_eq!((st, error_code(&xml)), (StatusCode::BAD_REQUEST, "ValidationError"), "{xml}");
    assert!(xml.contains("1 hour session limit"), "{xml}");
    let (st, xml) = sts_call(t, &creds, &format!("{call}&Policy=%7B%7D")).await;
    assert_eq!(
        (st, error_code(&xml)),
        (StatusCode::BAD_REQUEST, "ValidationError"),
        "session policies are refused: {xml}"
    );

    // A trust condition on the external id: refused without it, accepted with it.
    let guarded = json!({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"AWS": format!("arn:lanyard:iam::{}:role/ReadOnly", org.account)},
        "Condition": {"StringEquals": {"sts:ExternalId": "ticket-42"}}}]});
    let (st, _) =
        org.api.put_json(&format!("/permission-sets/{deployer}/trust-policy"), json!({"trust_policy": guarded})).await;
    assert_eq!(st, StatusCode::OK);
    let (st, xml) = sts_call(t, &creds, &call).await;
    assert_eq!((st, error_code(&xml)), (StatusCode::FORBIDDEN, "AccessDenied"), "no external id: {xml}");
    let (st, xml) = sts_call(t, &creds, &format!("{call}&ExternalId=ticket-42")).await;
    assert_eq!(st, StatusCode::OK, "{xml}");

    let (st, _) =
        org.api.put_json(&format!("/permission-sets/{deployer}/trust-policy"), json!({"trust_policy": trust})).await;
    assert_eq!(st, StatusCode::OK);
    let (st, xml) = sts_call(t, &creds, &call).await;
    assert_eq!(st, StatusCode::OK, "{xml}");
    assert_eq!(xml_field(&xml, "Expiration"), lanyard::clock::format_unix(now(t) + 3600));
    let arn = format!("arn:lanyard:sts::{staging}:assumed-role/Deployer/deploy-1");
    assert_eq!(xml_field(&xml, "Arn"), arn);
    let chained = credentials_from(&xml);
    let (st, who) = caller_identity(t, &chained, now(t), |_, _| {}).await;
    assert_eq!((st, xml_field(&who, "Arn")), (StatusCode::OK, arn), "{who}");
    // The chain ends with the assignment it started from.
    let (st, _) = org.api.delete(&format!("/assignments/{}", org.assignment)).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, who) = caller_identity(t, &chained, now(t), |_, _| {}).await;
    assert_eq!(error_code(&who), "InvalidClientTokenId", "{who}");
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn a_lanyard_id_token_becomes_role_credentials_where_the_trust_policy_allows() {
    let org = Org::new().await;
    let t = &org.api.t;
    let (staging, deployer) = staging(&org).await;
    let (_, tokens) = sso_login(t, "alice").await;
    let id_token = tokens["idToken"].as_str().expect("idToken").to_string();
    let issuer = t.config.public_url().as_str().trim_end_matches('/').to_string();
    let host = issuer.trim_start_matches("http://").to_string();
    let target = format!("arn:lanyard:iam::{staging}:role/Deployer");
    let exchange = |token: &str| {
        let form = [
            ("Action", "AssumeRoleWithWebIdentity"),
            ("Version", "2011-06-15"),
            ("RoleArn", target.as_str()),
            ("RoleSessionName", "ci-run"),
            ("WebIdentityToken", token),
        ];
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        async move {
            let r = reqwest::Client::new()
                .post(t.url("/aws"))
                .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
                .body(body)
                .send()
                .await
                .expect("send");
            (r.status(), r.text().await.expect("body"))
        }
    };
    let with_newline = format!("{id_token}\n");
    let (st, xml) = exchange(&with_newline).await;
    assert_eq!((st, error_code(&xml)), (StatusCode::FORBIDDEN, "AccessDenied"), "no trust policy: {xml}");
    let trust = |aud: &str| {
        json!({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": issuer}, "Condition": {"StringEquals": {format!("{host}:aud"): aud}}}]})
    };
    let (st, e) = org
        .api
        .put_json(&format!("/permission-sets/{deployer}/trust-policy"), json!({"trust_policy": trust("another-app")}))
        .await;
    assert_eq!(st, StatusCode::OK, "{e}");
    let (st, xml) = exchange(&with_newline).await;
    assert_eq!((st, error_code(&xml)), (StatusCode::FORBIDDEN, "AccessDenied"), "the audience does not match: {xml}");
    let (st, _) = org
        .api
        .put_json(&format!("/permission-sets/{deployer}/trust-policy"), json!({"trust_policy": trust("lanyard-aws")}))
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, xml) = exchange(&with_newline).await;
    assert_eq!(st, StatusCode::OK, "{xml}");
    assert_eq!(xml_field(&xml, "SubjectFromWebIdentityToken"), org.alice.id.to_string());
    assert_eq!(xml_field(&xml, "Audience"), "lanyard-aws");
    let creds = credentials_from(&xml);
    let (st, who) = caller_identity(t, &creds, now(t), |_, _| {}).await;
    assert_eq!(
        (st, xml_field(&who, "Arn")),
        (StatusCode::OK, format!("arn:lanyard:sts::{staging}:assumed-role/Deployer/ci-run"))
    );
    let (st, xml) = exchange("not.a.token").await;
    assert_eq!((st, error_code(&xml)), (StatusCode::BAD_REQUEST, "InvalidIdentityToken"), "{xml}");
    t.clock.advance(time::Duration::seconds(3601));
    let (_, xml) = exchange(&id_token).await;
    assert_eq!(error_code(&xml), "InvalidIdentityToken", "an expired token: {xml}");
    let (_, who) = caller_identity(t, &creds, now(t), |_, _| {}).await;
    assert_eq!(error_code(&who), "ExpiredToken", "an hour by default");
}

#[tokio::test]
async fn disabling_the_user_ends_credentials_from_a_web_identity() {
    let org = Org::new().await;
    let t = &org.api.t;
    let (staging, deployer) = staging(&org).await;
    let (_, tokens) = sso_login(t, "alice").await;
    let issuer = t.config.public_url().as_str().trim_end_matches('/').to_string();
    let host = issuer.trim_start_matches("http://").to_string();
    let unpinned = json!({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity", "Principal": {"Federated": issuer}}]});
    let (st, e) =
        org.api.put_json(&format!("/permission-sets/{deployer}/trust-policy"), json!({"trust_policy": unpinned})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "a federated statement must name the audience: {e}");
    let trust = json!({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity", "Principal": {"Federated": issuer},
        "Condition": {"StringEquals": {format!("{host}:aud"): "lanyard-aws"}}}]});
    let (st, _) =
        org.api.put_json(&format!("/permission-sets/{deployer}/trust-policy"), json!({"trust_policy": trust})).await;
    assert_eq!(st, StatusCode::OK);
    let (st, got) = org.api.get(&format!("/permission-sets/{deployer}/trust-policy")).await;
    assert_eq!(
        (st, got["trust_policy"]["Statement"][0]["Principal"]["Federated"].clone()),
        (StatusCode::OK, json!(issuer))
    );
    let r = reqwest::Client::new()
        .post(t.url("/aws"))
        .form(&[
            ("Action", "AssumeRoleWithWebIdentity"),
            ("RoleArn", &format!("arn:lanyard:iam::{staging}:role/Deployer")),
            ("RoleSessionName", "ci"),
            ("WebIdentityToken", tokens["idToken"].as_str().expect("id token")),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let creds = credentials_from(&r.text().await.expect("xml"));
    assert_eq!(caller_identity(t, &creds, now(t), |_, _| {}).await.0, StatusCode::OK);
    let (st, _) = org.api.patch(&format!("/users/{}", org.alice.id), json!({"status": "disabled"})).await;
    assert_eq!(st, StatusCode::OK);
    let (_, who) = caller_identity(t, &creds, now(t), |_, _| {}).await;
    assert_eq!(error_code(&who), "InvalidClientTokenId");
}

#[tokio::test]
async fn admins_list_a_users_credentials_and_revoke_one_set() {
    let org = Org::new().await;
    let t = &org.api.t;
    let kept = role_credentials(&org).await;
    let revoked = role_credentials(&org).await;
    let (st, list) = org.api.get(&format!("/users/{}/credentials", org.alice.id)).await;
    assert_eq!(st, StatusCode::OK, "{list}");
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["source"], "sso");
    assert!(items[0].get("secret_access_key").is_none() && !list.to_string().contains("lyd_st_"), "no secrets listed");
    let key = revoked["accessKeyId"].as_str().expect("key");
    let (st, _) = org.api.delete(&format!("/credentials/{key}")).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, xml) = caller_identity(t, &revoked, now(t), |_, _| {}).await;
    assert_eq!(error_code(&xml), "InvalidClientTokenId");
    assert_eq!(caller_identity(t, &kept, now(t), |_, _| {}).await.0, StatusCode::OK, "only that set ends");
    let (_, list) = org.api.get(&format!("/users/{}/credentials", org.alice.id)).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    let (st, _) = org.api.delete("/credentials/ASIAAAAAAAAAAAAAAAAA").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = org.api.delete("/credentials/nonsense").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn admins_edit_a_roles_trust_policy_in_the_portal() {
    let org = Org::new().await;
    let t = &org.api.t;
    t.user("root", PASSWORD, true).await;
    let admin = t.signed_in("root", PASSWORD).await;
    let path = format!("/admin/permission-sets/{}", org.ps);
    let page = admin.get(t.url(&path)).send().await.expect("page").text().await.expect("body");
    assert!(page.contains("Trust policy"), "{page}");
    let doc = format!(
        r#"{{"Statement": [{{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {{"AWS": "arn:lanyard:iam::{}:role/Admin"}}}}]}}"#,
        org.account
    );
    let r = admin
        .post(t.url(&format!("{path}/trust-policy")))
        .form(&[("csrf_token", csrf_in(&page).as_str()), ("trust_policy", doc.as_str())])
        .send()
        .await
        .expect("save");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, got) = org.api.get(&format!("/permission-sets/{}/trust-policy", org.ps)).await;
    assert_eq!(got["trust_policy"]["Statement"][0]["Action"], "sts:AssumeRole");
    let bad = r#"{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}"#;
    let r = admin
        .post(t.url(&format!("{path}/trust-policy")))
        .form(&[("csrf_token", csrf_in(&page).as_str()), ("trust_policy", bad)])
        .send()
        .await
        .expect("save");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.expect("page");
    // The error names the missing Principal; the typed text (one line, unlike the stored pretty JSON) is kept.
    assert!(body.contains("Principal") && body.contains("sts:AssumeRole") && body.contains("}]}"), "{body}");
    let r = admin
        .post(t.url(&format!("{path}/trust-policy")))
        .form(&[("csrf_token", csrf_in(&page).as_str()), ("trust_policy", "")])
        .send()
        .await
        .expect("clear");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, got) = org.api.get(&format!("/permission-sets/{}/trust-policy", org.ps)).await;
    assert_eq!(got["trust_policy"], Value::Null);
}

#[tokio::test]
async fn a_chained_session_can_chain_again_and_be_decided_for() {
    use base64::Engine;
    let org = Org::new().await;
    let t = &org.api.t;
    let (staging, deployer) = staging(&org).await;
    let auditor = org.api.create("/permission-sets", json!({"name": "Auditor"})).await;
    let ci = org.api.get("/groups?limit=100").await.1["items"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["name"] == "ci")
        .expect("ci")
        .clone();
    org.api
        .create("/assignments", json!({"account_id": staging, "permission_set_id": auditor["id"], "principal_type": "group", "principal_id": ci["id"]}))
        .await;
    let chain =
        r#"{"Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole", "s3:GetObject"], "Resource": "*"}]}"#;
    for ps in [org.ps.as_str(), deployer.as_str()] {
        let (st, _) = org.api.patch(&format!("/permission-sets/{ps}"), json!({"inline_policy": chain})).await;
        assert_eq!(st, StatusCode::OK);
    }
    let trust = |role: &str, account: &str| {
        json!({"trust_policy": {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"AWS": format!("arn:lanyard:iam::{account}:role/{role}")}}]}})
    };
    let (st, _) =
        org.api.put_json(&format!("/permission-sets/{deployer}/trust-policy"), trust("ReadOnly", &org.account)).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = org
        .api
        .put_json(&format!("/permission-sets/{}/trust-policy", s(&auditor, "id")), trust("Deployer", &staging))
        .await;
    assert_eq!(st, StatusCode::OK);
    let creds = role_credentials(&org).await;
    let assume = |role: &str| {
        format!(
            "Action=AssumeRole&Version=2011-06-15&RoleArn={}&RoleSessionName=hop",
            urlencode(&format!("arn:lanyard:iam::{staging}:role/{role}"))
        )
    };
    let (st, xml) = sts_call(t, &creds, &assume("Deployer")).await;
    assert_eq!(st, StatusCode::OK, "{xml}");
    let first = credentials_from(&xml);
    // The chained Deployer session (no assignment gives alice Deployer) chains on to Auditor…
    let (st, xml) = sts_call(t, &first, &assume("Auditor")).await;
    assert_eq!(st, StatusCode::OK, "{xml}");
    let second = credentials_from(&xml);
    assert_eq!(caller_identity(t, &second, now(t), |_, _| {}).await.0, StatusCode::OK);
    // … and the decision API decides for it, by Deployer's policy.
    let public_host = t.config.public_url().as_str().trim_start_matches("http://").trim_end_matches('/').to_string();
    let (h, body) = signed_for(&public_host, &first, now(t), "Action=GetCallerIdentity&Version=2011-06-15");
    let headers: serde_json::Map<String, Value> =
        h.iter().map(|(k, v)| (k.to_string(), json!(v.to_str().expect("ascii")))).collect();
    let (st, d) = org
        .api
        .post(
            "/authorize",
            json!({"principal": {"signed_request": {"url": t.url("/aws"), "headers": headers,
                       "body": base64::engine::general_purpose::STANDARD.encode(&body)}},
                   "action": "s3:GetObject", "resource": "*"}),
        )
        .await;
    assert_eq!((st, d["decision"].clone()), (StatusCode::OK, json!("allow")), "{d}");
    assert_eq!(d["principal_arn"], format!("arn:lanyard:iam::{staging}:role/Deployer"));
    // The whole chain ends with alice's assignment.
    let (st, _) = org.api.delete(&format!("/assignments/{}", org.assignment)).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, who) = caller_identity(t, &second, now(t), |_, _| {}).await;
    assert_eq!(error_code(&who), "InvalidClientTokenId");
}
