//! The OpenID Connect provider, driven by the `openidconnect` crate as the relying party (a
//! strict, independent client), plus the negative cases with their RFC error codes.

use crate::helpers::*;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, DeviceAuthorizationUrl, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, RefreshToken, Scope, TokenResponse,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

const REDIRECT: &str = "http://127.0.0.1/callback";

/// An RP's HTTP client: no redirects (as the openidconnect docs require).
fn rp_http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .expect("http")
}

pub struct Setup {
    pub api: Api,
    pub user: lanyard::directory::User,
    pub app_id: String,
    pub client_id: String,
    pub secret: Option<String>,
}

/// A server, a user `olga` assigned to an application created through the admin API.
pub async fn setup(body: Value) -> Setup {
    let api = Api::new().await;
    let user = api.t.user("olga", PASSWORD, false).await;
    let created = api.create("/applications", body).await;
    let app_id = created["id"].as_str().expect("id").to_string();
    api.create(&format!("/applications/{app_id}/assignments"), json!({"user_id": user.id})).await;
    Setup {
        client_id: created["client_id"].as_str().expect("client_id").to_string(),
        secret: created["client_secret"].as_str().map(str::to_string),
        api,
        user,
        app_id,
    }
}

fn web_app() -> Value {
    json!({"name": "Wiki", "redirect_uris": [REDIRECT], "post_logout_redirect_uris": ["http://127.0.0.1/bye"],
           "grant_types": ["authorization_code", "refresh_token"]})
}

async fn rp(
    s: &Setup,
) -> CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
> {
    let meta = CoreProviderMetadata::discover_async(
        IssuerUrl::new(s.api.t.config.public_url().as_str().trim_end_matches('/').to_string()).expect("issuer"),
        &rp_http(),
    )
    .await
    .expect("discovery");
    CoreClient::from_provider_metadata(
        meta,
        ClientId::new(s.client_id.clone()),
        s.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).expect("redirect"))
}

/// The server's clock for the RP's ID token checks (tests run on an injected clock).
fn clock_of(t: &TestApp) -> impl Fn() -> chrono::DateTime<chrono::Utc> + use<> {
    let clock = t.clock.clone();
    move || {
        let secs = lanyard::clock::Clock::unix(&clock);
        chrono::DateTime::from_timestamp(secs, 0).expect("time")
    }
}

/// Follows the browser part: GET the authorization URL with a signed-in client and return the
/// redirect's query.
async fn browser_authorize(
    t: &TestApp,
    browser: &reqwest::Client,
    url: &str,
) -> std::collections::HashMap<String, String> {
    let url = url.replace(t.config.public_url().as_str().trim_end_matches('/'), &t.base);
    let r = browser.get(&url).send().await.expect("authorize");
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "authorize should redirect: {}", r.text().await.unwrap_or_default());
    let loc = r.headers()["location"].to_str().expect("location").to_string();
    let u = url::Url::parse(&loc).expect("redirect url");
    u.query_pairs().into_owned().collect()
}

#[tokio::test]
async fn code_flow_with_pkce_through_the_portal_sign_in() {
    let s = setup(web_app()).await;
    let rp_client = rp(&s).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = rp_client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    // Not signed in: the portal's sign-in page, which comes back to the request.
    let browser = client();
    let direct = url.as_str().replace(s.api.t.config.public_url().as_str().trim_end_matches('/'), &s.api.t.base);
    let r = browser.get(&direct).send().await.expect("authorize");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let loc = r.headers()["location"].to_str().expect("loc").to_string();
    assert!(loc.starts_with("/signin?next=%2Fauthorize%3F"), "{loc}");
    let token = s.api.t.csrf(&browser, &loc).await;
    let next = url::Url::parse(&format!("http://x{loc}"))
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
        .expect("next");
    let r = browser
        .post(s.api.t.url("/signin"))
        .form(&[("username", "olga"), ("password", PASSWORD), ("csrf_token", token.as_str()), ("next", next.as_str())])
        .send()
        .await
        .expect("sign in");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let back = r.headers()["location"].to_str().expect("loc").to_string();
    assert!(back.starts_with("/authorize?"), "{back}");
    let q = browser_authorize(&s.api.t, &browser, &s.api.t.url(&back)).await;
    assert_eq!(q.get("state").map(String::as_str), Some(state.secret().as_str()));
    assert_eq!(q.get("iss").map(String::as_str), Some(s.api.t.config.public_url().as_str().trim_end_matches('/')));
    let code = q.get("code").expect("code").clone();

    let tokens = rp_client
        .exchange_code(AuthorizationCode::new(code))
        .expect("exchange")
        .set_pkce_verifier(verifier)
        .request_async(&rp_http())
        .await
        .expect("token response");
    let id_token = tokens.id_token().expect("id token");
    let verifier = rp_client.id_token_verifier().set_time_fn(clock_of(&s.api.t));
    let claims = id_token.claims(&verifier, &nonce).expect("a valid ID token");
    assert_eq!(claims.subject().as_str(), s.user.id.to_string(), "sub is the user id, never the username");
    assert_eq!(claims.preferred_username().map(|u| u.as_str()), Some("olga"));
    let amr: Vec<String> = claims.auth_method_refs().expect("amr").iter().map(|a| a.as_str().to_string()).collect();
    assert_eq!(amr, vec!["pwd"]);
    assert_eq!(claims.auth_context_ref().map(|a| a.as_str()), Some("pwd"));
    let header: Value =
        serde_json::from_slice(&base64_url(id_token.to_string().split('.').next().expect("header"))).expect("json");
    assert_eq!(header["alg"], "ES256");
    assert!(tokens.refresh_token().is_some());

    // The access token is an RFC 9068 JWT and opens userinfo.
    let at = tokens.access_token().secret();
    let at_header: Value = serde_json::from_slice(&base64_url(at.split('.').next().expect("h"))).expect("json");
    assert_eq!(at_header["typ"], "at+jwt");
    let info: CoreUserInfoClaims = rp_client
        .user_info(tokens.access_token().clone(), None)
        .expect("userinfo url")
        .request_async(&rp_http())
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), s.user.id.to_string());
    assert_eq!(info.email().map(|e| e.as_str()), Some("olga@example.com"));
    // POST form too.
    let r = reqwest::Client::new()
        .post(s.api.t.url("/oauth2/userinfo"))
        .form(&[("access_token", at.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::OK);
}

fn base64_url(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).expect("base64url")
}

/// Runs the code flow for a signed-in browser; returns the token response as JSON.
async fn code_flow(s: &Setup, browser: &reqwest::Client, scope: &str) -> Value {
    let verifier = "v".repeat(50);
    let challenge = lanyard::oidc::model::s256(&verifier);
    let q = browser_authorize(
        &s.api.t,
        browser,
        &s.api.t.url(&format!(
            "/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT}&scope={}&state=st&nonce=n1&code_challenge={challenge}&code_challenge_method=S256",
            s.client_id,
            scope.replace(' ', "%20")
        )),
    )
    .await;
    let code = q.get("code").unwrap_or_else(|| panic!("code in {q:?}")).clone();
    let r = token_request(
        s,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    r.1
}

async fn token_request(s: &Setup, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new().post(s.api.t.url("/oauth2/token")).form(form);
    if let Some(secret) = &s.secret {
        req = req.basic_auth(&s.client_id, Some(secret));
    } else {
        let mut f: Vec<(&str, &str)> = form.to_vec();
        f.push(("client_id", &s.client_id));
        req = reqwest::Client::new().post(s.api.t.url("/oauth2/token")).form(&f);
    }
    let r = req.send().await.expect("token");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn mfa_sign_in_shows_in_amr_and_acr() {
    let s = setup(web_app()).await;
    let t = &s.api.t;
    let c = t.signed_in("olga", PASSWORD).await;
    let (secret, _) = crate::mfa::enrol(t, &c).await;
    t.clock.advance(time::Duration::seconds(31));
    let browser = client();
    let r = t.sign_in(&browser, "olga", PASSWORD).await;
    assert_eq!(r.headers()["location"], "/signin/mfa");
    let r = crate::mfa::post_code(t, &browser, "totp", &crate::mfa::code(&secret, t, 0)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let tokens = code_flow(&s, &browser, "openid").await;
    let claims: Value =
        serde_json::from_slice(&base64_url(tokens["id_token"].as_str().expect("id").split('.').nth(1).expect("p")))
            .expect("json");
    let amr: Vec<&str> = claims["amr"].as_array().expect("amr").iter().filter_map(Value::as_str).collect();
    assert!(amr.contains(&"pwd") && amr.contains(&"otp") && amr.contains(&"mfa"), "{amr:?}");
    assert_eq!(claims["acr"], "mfa");
    assert_eq!(claims["nonce"], "n1");
    assert!(claims["sid"].as_str().is_some_and(|s| !s.is_empty()));
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_family() {
    let s = setup(web_app()).await;
    let client = rp(&s).await;
    let browser = s.api.t.signed_in("olga", PASSWORD).await;
    let first = code_flow(&s, &browser, "openid offline_access").await;
    let rt1 = RefreshToken::new(first["refresh_token"].as_str().expect("rt").to_string());
    let second =
        client.exchange_refresh_token(&rt1).expect("req").request_async(&rp_http()).await.expect("refresh works");
    let rt2 = second.refresh_token().expect("rotated").clone();
    assert_ne!(rt2.secret(), rt1.secret(), "a new refresh token every time");
    // Replaying the spent one: refused, and the whole family dies, including rt2.
    let (status, body) = token_request(&s, &[("grant_type", "refresh_token"), ("refresh_token", rt1.secret())]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let (status, body) = token_request(&s, &[("grant_type", "refresh_token"), ("refresh_token", rt2.secret())]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "the family is revoked"
    );
    // And the access token from it no longer opens userinfo.
    let r = reqwest::Client::new()
        .get(s.api.t.url("/oauth2/userinfo"))
        .bearer_auth(second.access_token().secret())
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refresh_tokens_die_when_the_user_is_disabled_or_signs_out_everywhere() {
    let s = setup(web_app()).await;
    let browser = s.api.t.signed_in("olga", PASSWORD).await;
    let a = code_flow(&s, &browser, "openid offline_access").await;
    let (st, _) = s.api.delete(&format!("/users/{}/sessions", s.user.id)).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (status, body) = token_request(
        &s,
        &[("grant_type", "refresh_token"), ("refresh_token", a["refresh_token"].as_str().expect("rt"))],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let browser = s.api.t.signed_in("olga", PASSWORD).await;
    let b = code_flow(&s, &browser, "openid offline_access").await;
    let (st, _) = s.api.patch(&format!("/users/{}", s.user.id), json!({"status": "disabled"})).await;
    assert_eq!(st, StatusCode::OK);
    let (status, _) = token_request(
        &s,
        &[("grant_type", "refresh_token"), ("refresh_token", b["refresh_token"].as_str().expect("rt"))],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn client_credentials_introspection_and_revocation() {
    let s = setup(json!({"name": "Billing job", "grant_types": ["client_credentials"], "scopes": ["billing.read", "billing.write"]})).await;
    let client = rp(&s).await;
    let tokens = client
        .exchange_client_credentials()
        .expect("req")
        .add_scope(Scope::new("billing.read".into()))
        .request_async(&rp_http())
        .await
        .expect("client_credentials");
    assert_eq!(
        tokens.scopes().map(|s| s.iter().map(|x| x.as_str().to_string()).collect::<Vec<_>>()),
        Some(vec!["billing.read".to_string()])
    );
    let at = tokens.access_token().secret().clone();
    let introspect = |tok: String| {
        let s = &s;
        async move {
            let r = reqwest::Client::new()
                .post(s.api.t.url("/oauth2/introspect"))
                .basic_auth(&s.client_id, s.secret.as_ref())
                .form(&[("token", tok.as_str())])
                .send()
                .await
                .expect("introspect");
            assert_eq!(r.status(), StatusCode::OK);
            r.json::<Value>().await.expect("json")
        }
    };
    let v = introspect(at.clone()).await;
    assert_eq!(v["active"], true);
    assert_eq!(v["client_id"], s.client_id.as_str());
    assert_eq!(v["scope"], "billing.read");
    // (openidconnect refuses a revocation URL over http, so this one goes by hand.)
    let r = reqwest::Client::new()
        .post(s.api.t.url("/oauth2/revoke"))
        .basic_auth(&s.client_id, s.secret.as_ref())
        .form(&[("token", at.as_str()), ("token_type_hint", "access_token")])
        .send()
        .await
        .expect("revoke");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(introspect(at).await["active"], false);
    // An identity scope is not for machines.
    let (status, body) = token_request(&s, &[("grant_type", "client_credentials"), ("scope", "openid")]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_scope")));
}

#[tokio::test]
async fn refresh_token_introspection_and_revocation() {
    let s = setup(web_app()).await;
    let browser = s.api.t.signed_in("olga", PASSWORD).await;
    let t = code_flow(&s, &browser, "openid").await;
    let rt = t["refresh_token"].as_str().expect("rt");
    let intro = |tok: &str| {
        reqwest::Client::new()
            .post(s.api.t.url("/oauth2/introspect"))
            .basic_auth(&s.client_id, s.secret.as_ref())
            .form(&[("token", tok)])
            .send()
    };
    let v: Value = intro(rt).await.expect("i").json().await.expect("json");
    assert_eq!(v["active"], true);
    assert_eq!(v["sub"], s.user.id.to_string());
    let r = reqwest::Client::new()
        .post(s.api.t.url("/oauth2/revoke"))
        .basic_auth(&s.client_id, s.secret.as_ref())
        .form(&[("token", rt)])
        .send()
        .await
        .expect("revoke");
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = intro(rt).await.expect("i").json().await.expect("json");
    assert_eq!(v["active"], false);
    let v: Value = intro(t["access_token"].as_str().expect("at")).await.expect("i").json().await.expect("json");
    assert_eq!(v["active"], false, "revoking the refresh token ends the grant's access tokens too");
    // Unknown tokens: still 200 (RFC 7009 §2.2).
    let r = reqwest::Client::new()
        .post(s.api.t.url("/oauth2/revoke"))
        .basic_auth(&s.client_id, s.secret.as_ref())
        .form(&[("token", "nonsense")])
        .send()
        .await
        .expect("revoke");
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn device_flow_polls_pending_slow_down_then_tokens_and_denied_and_expired() {
    let s = setup(json!({"name": "CLI", "token_endpoint_auth_method": "none",
                         "grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"]}))
    .await;
    let t = &s.api.t;
    let client = rp(&s)
        .await
        .set_device_authorization_url(DeviceAuthorizationUrl::new(t.url("/oauth2/device_authorization")).expect("url"));
    let details: openidconnect::core::CoreDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("profile".into()))
        .request_async(&rp_http())
        .await
        .expect("device authorization");
    let user_code = details.user_code().secret().clone();
    assert_eq!(user_code.len(), 9, "XXXX-XXXX");
    let s = &s;
    let poll = |dc: String| async move {
        token_request(s, &[("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("device_code", &dc)]).await
    };
    let dc = details.device_code().secret().clone();
    assert_eq!(poll(dc.clone()).await.1["error"], "authorization_pending");
    assert_eq!(poll(dc.clone()).await.1["error"], "slow_down", "polled again at once");
    // The person approves on the portal.
    let browser = t.signed_in("olga", PASSWORD).await;
    let page = browser
        .get(t.url(&format!("/device?user_code={user_code}")))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    assert!(page.contains(&user_code));
    let r = browser
        .post(t.url("/device"))
        .form(&[("user_code", user_code.as_str()), ("csrf_token", csrf_in(&page).as_str())])
        .send()
        .await
        .expect("post");
    let confirm = r.text().await.expect("body");
    assert!(confirm.contains("CLI"), "the confirmation names the app");
    let r = browser
        .post(t.url("/device"))
        .form(&[("user_code", user_code.as_str()), ("decision", "allow"), ("csrf_token", csrf_in(&confirm).as_str())])
        .send()
        .await
        .expect("approve");
    assert_eq!(r.headers()["location"], "/device?notice=device_approved");
    t.clock.advance(time::Duration::seconds(11));
    let (status, tokens) = poll(dc.clone()).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(tokens["id_token"].is_string() && tokens["refresh_token"].is_string());
    assert_eq!(poll(dc).await.1["error"], "invalid_grant", "a device code is redeemed once");

    // Denied.
    let d2: openidconnect::core::CoreDeviceAuthorizationResponse =
        client.exchange_device_code().request_async(&rp_http()).await.expect("device");
    let page = browser.get(t.url("/device")).send().await.expect("page").text().await.expect("body");
    let r = browser
        .post(t.url("/device"))
        .form(&[
            ("user_code", d2.user_code().secret().as_str()),
            ("decision", "deny"),
            ("csrf_token", csrf_in(&page).as_str()),
        ])
        .send()
        .await
        .expect("deny");
    assert_eq!(r.headers()["location"], "/device?notice=device_denied");
    t.clock.advance(time::Duration::seconds(11));
    assert_eq!(poll(d2.device_code().secret().clone()).await.1["error"], "access_denied");

    // Expired.
    let d3: openidconnect::core::CoreDeviceAuthorizationResponse =
        client.exchange_device_code().request_async(&rp_http()).await.expect("device");
    t.clock.advance(time::Duration::seconds(601));
    assert_eq!(poll(d3.device_code().secret().clone()).await.1["error"], "expired_token");
}

#[tokio::test]
async fn rp_initiated_logout_ends_the_session_and_returns_only_to_registered_uris() {
    let s = setup(web_app()).await;
    let t = &s.api.t;
    let browser = t.signed_in("olga", PASSWORD).await;
    let tokens = code_flow(&s, &browser, "openid").await;
    let id_token = tokens["id_token"].as_str().expect("id");
    // An unregistered target: a page, no redirect.
    let r = browser
        .get(t.url(&format!("/oauth2/logout?id_token_hint={id_token}&post_logout_redirect_uri=https://evil.example/")))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = browser
        .get(t.url(&format!(
            "/oauth2/logout?id_token_hint={id_token}&post_logout_redirect_uri=http://127.0.0.1/bye&state=s9"
        )))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "http://127.0.0.1/bye?state=s9");
    // The portal session is over, and so is the grant it made.
    let r = browser.get(t.url("/")).send().await.expect("home");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (status, _) = token_request(
        &s,
        &[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().expect("rt"))],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn key_rotation_publishes_first_then_signs_and_old_tokens_still_verify() {
    let s = setup(web_app()).await;
    let t = &s.api.t;
    let browser = t.signed_in("olga", PASSWORD).await;
    let old = code_flow(&s, &browser, "openid").await;
    let kid = |jwt: &str| -> String {
        let h: Value = serde_json::from_slice(&base64_url(jwt.split('.').next().expect("h"))).expect("json");
        h["kid"].as_str().expect("kid").to_string()
    };
    let old_kid = kid(old["id_token"].as_str().expect("id"));
    let rotation = s.api.create("/signing-keys/rotate", json!({})).await;
    let new_kid = rotation["key_id"].as_str().expect("kid").to_string();
    let jwks: Value = reqwest::get(t.url("/oauth2/jwks")).await.expect("jwks").json().await.expect("json");
    let kids: Vec<&str> = jwks["keys"].as_array().expect("keys").iter().filter_map(|k| k["kid"].as_str()).collect();
    assert!(kids.contains(&new_kid.as_str()) && kids.contains(&old_kid.as_str()), "published before it signs");
    let still_old = code_flow(&s, &browser, "openid").await;
    assert_eq!(kid(still_old["id_token"].as_str().expect("id")), old_kid, "the new key does not sign yet");
    // An emergency rotation signs at once; tokens signed before still verify.
    let urgent = s.api.create("/signing-keys/rotate", json!({"immediately": true})).await;
    let urgent_kid = urgent["key_id"].as_str().expect("kid").to_string();
    let new = code_flow(&s, &browser, "openid").await;
    assert_eq!(kid(new["id_token"].as_str().expect("id")), urgent_kid);
    let client = rp(&s).await;
    let verifier = client.id_token_verifier().set_time_fn(clock_of(t));
    for token in [&old, &new] {
        let parsed: openidconnect::core::CoreIdToken = token["id_token"].as_str().expect("id").parse().expect("parse");
        parsed.claims(&verifier, |_: Option<&Nonce>| Ok(())).expect("verifies with the published keys");
        let intro: Value = reqwest::Client::new()
            .post(t.url("/oauth2/introspect"))
            .basic_auth(&s.client_id, s.secret.as_ref())
            .form(&[("token", token["access_token"].as_str().expect("at"))])
            .send()
            .await
            .expect("i")
            .json()
            .await
            .expect("json");
        assert_eq!(intro["active"], true, "live tokens of the old and new key both pass");
    }
    // After the pre-publish period the schedule activates the first new key.
    t.clock.advance(time::Duration::days(1) + time::Duration::seconds(1));
    lanyard::oidc::keys::run_schedule(&t.app).await.expect("schedule");
    let browser = t.signed_in("olga", PASSWORD).await;
    let later = code_flow(&s, &browser, "openid").await;
    assert_eq!(kid(later["id_token"].as_str().expect("id")), new_kid);
    // Retired keys leave the JWKS once nothing they signed can still be valid.
    t.clock.advance(time::Duration::days(3));
    lanyard::oidc::keys::run_schedule(&t.app).await.expect("schedule");
    let jwks: Value = reqwest::get(t.url("/oauth2/jwks")).await.expect("jwks").json().await.expect("json");
    let kids: Vec<&str> = jwks["keys"].as_array().expect("keys").iter().filter_map(|k| k["kid"].as_str()).collect();
    assert!(!kids.contains(&old_kid.as_str()) && kids.contains(&new_kid.as_str()), "{kids:?}");
}

// ---- Negative cases, each with the RFC's error code. ----

fn authorize_url(s: &Setup, extra: &str) -> String {
    let challenge = lanyard::oidc::model::s256(&"v".repeat(50));
    s.api.t.url(&format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT}&scope=openid&state=st&code_challenge={challenge}&code_challenge_method=S256{extra}",
        s.client_id
    ))
}

async fn redirect_error(browser: &reqwest::Client, url: &str) -> String {
    let r = browser.get(url).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "an error redirect");
    let loc = r.headers()["location"].to_str().expect("loc").to_string();
    assert!(loc.starts_with(REDIRECT), "{loc}");
    let u = url::Url::parse(&loc).expect("url");
    let q: std::collections::HashMap<String, String> = u.query_pairs().into_owned().collect();
    assert_eq!(q.get("state").map(String::as_str), Some("st"));
    q.get("error").cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_redirect_uri_mismatch_shows_an_error_page_and_never_redirects() {
    let s = setup(web_app()).await;
    let browser = s.api.t.signed_in("olga", PASSWORD).await;
    let url = authorize_url(&s, "")
        .replace("redirect_uri=http://127.0.0.1/callback", "redirect_uri=https://evil.example/callback");
    let r = browser.get(&url).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    assert!(r.text().await.expect("body").contains("not registered"));
    // A loopback redirect may use any port (RFC 8252 §7.3).
    let url = authorize_url(&s, "")
        .replace("redirect_uri=http://127.0.0.1/callback", "redirect_uri=http://127.0.0.1:49152/callback");
    let r = browser.get(&url).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers()["location"].to_str().expect("loc").starts_with("http://127.0.0.1:49152/callback?code="));
}

#[tokio::test]
async fn an_unknown_client_gets_an_error_page_and_invalid_client() {
    let s = setup(web_app()).await;
    let browser = s.api.t.signed_in("olga", PASSWORD).await;
    let r = browser.get(authorize_url(&s, "").replace(&s.client_id, "nobody")).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    let r = reqwest::Client::new()
        .post(s.api.t.url("/oauth2/token"))
        .basic_auth("nobody", Some("x"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key("www-authenticate"));
    assert_eq!(r.json::<Value>().await.expect("json")["error"], "invalid_client");
}

#[tokio::test]
async fn a_wrong_client_secret_is_invalid_client() {
    let s = setup(web_app()).await;
    let r = reqwest::Client::new()
        .post(s.api.t.url("/oauth2/token"))
        .basic_auth(&s.client_id, Some("lyd_cs_wrong"))
        .form(&[("grant_type", "authorization_code"), ("code", "x")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.json::<Value>().await.expect("json")["error"], "invalid_client");
}

#[tokio::test]
async fn pkce_is_required_for_public_clients_and_plain_is_refused() {
    let s = setup(json!({"name": "SPA", "token_endpoint_auth_method": "none", "redirect_uris": [REDIRECT], "grant_types": ["authorization_code"]})).await;
    let browser = s.api.t.signed_in("olga", PASSWORD).await;
    let base = s.api.t.url(&format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT}&scope=openid&state=st",
        s.client_id
    ));
    assert_eq!(redirect_error(&browser, &base).await, "invalid_request", "PKCE missing");
    let plain = format!("{base}&code_challenge={}&code_challenge_method=plain", "a".repeat(43));
    assert_eq!(redirect_error(&browser, &plain).await, "invalid_request", "plain refused");
    let no_method = format!("{base}&code_challenge={}", "a".repeat(43));
    assert_eq!(redirect_error(&browser, &no_method).await, "invalid_request", "the default method is plain: refused");
}

#[tokio::test]
async fn a_pkce_mismatch_is_invalid_grant() {
    let s = setup(web_app()).await;
    let browser = s.api.t.signed_in("olga", PASSWORD).await;
    let q = browser_authorize(&s.api.t, &browser, &authorize_url(&s, "")).await;
    let (status, body) = token_request(
        &s,
        &[
            ("grant_type", "authorization_code"),
            ("code", &q["code"]),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &"w".repeat(50)),
        ],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
}

#[tokio::test]
async fn a_reused_code_is_invalid_grant_and_revokes_what_it_issued() {
    let s = setup(web_app()).await;
    let browser = s.api.t.signed_in("olga", PASSWORD).await;
    let q = browser_authorize(&s.api.t, &browser, &authorize_url(&s, "")).await;
    let v = "v".repeat(50);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", q["code"].as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", v.as_str()),
    ];
    let (status, first) = token_request(&s, &form).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = token_request(&s, &form).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let (status, _) = token_request(
        &s,
        &[("grant_type", "refresh_token"), ("refresh_token", first["refresh_token"].as_str().expect("rt"))],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the first use's refresh token is revoked");
    let r = reqwest::Client::new()
        .get(s.api.t.url("/oauth2/userinfo"))
        .bearer_auth(first["access_token"].as_str().expect("at"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "and its access token");
}

#[tokio::test]
async fn an_expired_code_is_invalid_grant() {
    let s = setup(web_app()).await;
    let browser = s.api.t.signed_in("olga", PASSWORD).await;
    let q = browser_authorize(&s.api.t, &browser, &authorize_url(&s, "")).await;
    s.api.t.clock.advance(time::Duration::seconds(61));
    let (status, body) = token_request(
        &s,
        &[
            ("grant_type", "authorization_code"),
            ("code", &q["code"]),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &"v".repeat(50)),
        ],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
}

#[tokio::test]
async fn a_scope_not_allowed_is_invalid_scope() {
    let s = setup(json!({"name": "Narrow", "redirect_uris": [REDIRECT], "grant_types": ["authorization_code"], "scopes": ["openid"]})).await;
    let browser = s.api.t.signed_in("olga", PASSWORD).await;
    let url = authorize_url(&s, "").replace("scope=openid", "scope=openid%20email");
    assert_eq!(redirect_error(&browser, &url).await, "invalid_scope");
}

#[tokio::test]
async fn an_unassigned_user_sees_the_not_assigned_page() {
    let s = setup(web_app()).await;
    s.api.t.user("pavel", PASSWORD, false).await;
    let browser = s.api.t.signed_in("pavel", PASSWORD).await;
    let r = browser.get(authorize_url(&s, "")).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.expect("body").contains("not assigned to this application"));
    assert_eq!(redirect_error(&browser, &authorize_url(&s, "&prompt=none")).await, "access_denied");
    // Through a group, they are.
    let (_, g) = s.api.post("/groups", json!({"name": "wiki-users"})).await;
    let gid = g["id"].as_str().expect("gid");
    let pavel =
        lanyard::directory::service::find_user_by_username(&s.api.t.app, "pavel").await.expect("find").expect("pavel");
    s.api.put(&format!("/groups/{gid}/members/{}", pavel.id)).await;
    s.api.create(&format!("/applications/{}/assignments", s.app_id), json!({"group_id": gid})).await;
    let r = browser.get(authorize_url(&s, "")).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let s = setup(web_app()).await;
    assert_eq!(redirect_error(&client(), &authorize_url(&s, "&prompt=none")).await, "login_required");
}

#[tokio::test]
async fn a_grant_type_the_client_may_not_use_is_unauthorized_client() {
    let s = setup(web_app()).await;
    let (status, body) = token_request(&s, &[("grant_type", "client_credentials")]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unauthorized_client")));
    let (status, body) = token_request(&s, &[("grant_type", "password"), ("username", "x")]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupported_grant_type")));
}

#[tokio::test]
async fn consent_is_asked_once_when_the_app_requires_it() {
    let mut body = web_app();
    body["consent_required"] = json!(true);
    let s = setup(body).await;
    let browser = s.api.t.signed_in("olga", PASSWORD).await;
    let r = browser.get(authorize_url(&s, "")).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.expect("page");
    assert!(page.contains("Allow Wiki?"));
    assert_eq!(redirect_error(&browser, &authorize_url(&s, "&prompt=none")).await, "consent_required");
    let mut form: Vec<(String, String)> = Vec::new();
    for part in page.split("<input type=\"hidden\" name=\"").skip(1) {
        let name = part.split('"').next().unwrap_or_default().to_string();
        let value = part
            .split("value=\"")
            .nth(1)
            .and_then(|v| v.split('"').next())
            .unwrap_or_default()
            .replace("&#x2f;", "/")
            .replace("&#x3a;", ":");
        form.push((name, value));
    }
    form.push(("decision".into(), "allow".into()));
    let r = browser.post(s.api.t.url("/authorize/consent")).form(&form).send().await.expect("consent");
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap_or_default());
    let r = browser.get(authorize_url(&s, "")).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "consent is remembered");
}

#[tokio::test]
async fn admins_register_assign_and_rotate_applications_in_the_portal() {
    let t = spawn_app().await;
    t.user("root", PASSWORD, true).await;
    t.user("olga", PASSWORD, false).await;
    let admin = t.signed_in("root", PASSWORD).await;
    let token = t.csrf(&admin, "/admin/applications").await;
    let r = admin
        .post(t.url("/admin/applications"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("name", "Wiki"),
            ("kind", "client_secret_basic"),
            ("redirect_uris", "https://wiki.example/cb\nhttp://127.0.0.1/cb"),
            ("grant_code", "on"),
            ("grant_refresh", "on"),
            ("launch_url", "https://wiki.example/"),
        ])
        .send()
        .await
        .expect("create");
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.expect("page");
    assert!(page.contains("id=\"client-secret\">lyd_cs_"), "the secret is shown once");
    let bad = admin
        .post(t.url("/admin/applications"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("name", "Bad"),
            ("redirect_uris", "http://evil.example/cb"),
            ("grant_code", "on"),
        ])
        .send()
        .await
        .expect("create");
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.expect("page").contains("loopback"));
    let list = admin.get(t.url("/admin/applications")).send().await.expect("list").text().await.expect("body");
    // The built-in "AWS CLI and SDKs" app is listed too: take Wiki's link.
    let before_name = list.split(">Wiki<").next().expect("Wiki is listed");
    let id =
        before_name.rsplit("/admin/applications/").next().and_then(|s| s.split('"').next()).expect("link").to_string();
    let page =
        admin.get(t.url(&format!("/admin/applications/{id}"))).send().await.expect("show").text().await.expect("body");
    assert!(!page.contains("id=\"client-secret\""), "never shown again");
    let token = csrf_in(&page);
    let r = admin
        .post(t.url(&format!("/admin/applications/{id}/assignments")))
        .form(&[("csrf_token", token.as_str()), ("kind", "user"), ("principal", "olga")])
        .send()
        .await
        .expect("assign");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = admin
        .post(t.url(&format!("/admin/applications/{id}/secret")))
        .form(&[("csrf_token", token.as_str()), ("overlap_hours", "1")])
        .send()
        .await
        .expect("rotate");
    assert!(r.text().await.expect("page").contains("id=\"client-secret\">lyd_cs_"));
    let home =
        t.signed_in("olga", PASSWORD).await.get(t.url("/")).send().await.expect("home").text().await.expect("body");
    assert!(home.contains("https://wiki.example/"), "the launcher lists the assigned app");
}

/// Tokens signed with each algorithm verify against the published JWKS (jsonwebtoken's
/// verifier, reading the JWKS the way relying parties do) and at introspection.
#[tokio::test]
async fn rs256_and_eddsa_apps_get_tokens_that_verify_against_the_jwks() {
    for alg in ["RS256", "EdDSA", "ES256"] {
        let s =
            setup(json!({"name": format!("Job {alg}"), "grant_types": ["client_credentials"], "scopes": ["jobs.run"],
                             "id_token_signed_response_alg": alg}))
            .await;
        let t = &s.api.t;
        let r = reqwest::Client::new()
            .post(t.url("/oauth2/token"))
            .basic_auth(&s.client_id, s.secret.as_ref())
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token");
        assert_eq!(r.status(), StatusCode::OK, "{alg}");
        let at = r.json::<Value>().await.expect("json")["access_token"].as_str().expect("at").to_string();
        let header = jsonwebtoken::decode_header(&at).expect("header");
        assert_eq!(format!("{:?}", header.alg), alg);
        let jwks: jsonwebtoken::jwk::JwkSet =
            reqwest::get(t.url("/oauth2/jwks")).await.expect("jwks").json().await.expect("json");
        let jwk = jwks.find(header.kid.as_deref().expect("kid")).expect("the kid is published");
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).expect("key");
        let mut v = jsonwebtoken::Validation::new(header.alg);
        v.validate_aud = false;
        v.validate_exp = false;
        let data = jsonwebtoken::decode::<Value>(&at, &key, &v).expect("the signature verifies");
        assert_eq!(data.claims["client_id"], s.client_id.as_str(), "{alg}");
        let mut tampered = at.clone();
        tampered.pop();
        tampered.push(if at.ends_with('A') { 'B' } else { 'A' });
        assert!(jsonwebtoken::decode::<Value>(&tampered, &key, &v).is_err(), "{alg}: a changed signature fails");
        let r = reqwest::Client::new()
            .post(t.url("/oauth2/introspect"))
            .basic_auth(&s.client_id, s.secret.as_ref())
            .form(&[("token", at.as_str())])
            .send()
            .await
            .expect("introspect");
        assert_eq!(r.json::<Value>().await.expect("json")["active"], true, "{alg}");
    }
}

#[tokio::test]
async fn a_disabled_clients_own_tokens_stop_introspecting_as_active() {
    let s = setup(json!({"name": "Cron", "grant_types": ["client_credentials"], "scopes": ["jobs.run"]})).await;
    let t = &s.api.t;
    let r = reqwest::Client::new()
        .post(t.url("/oauth2/token"))
        .basic_auth(&s.client_id, s.secret.as_ref())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token");
    let at = r.json::<Value>().await.expect("json")["access_token"].as_str().expect("at").to_string();
    // Introspection by another client (the disabled one can no longer authenticate).
    let other = s.api.create("/applications", json!({"name": "Gateway", "grant_types": ["client_credentials"]})).await;
    let introspect = |tok: String| {
        let other = other.clone();
        async move {
            let r = reqwest::Client::new()
                .post(t.url("/oauth2/introspect"))
                .basic_auth(other["client_id"].as_str().expect("id"), other["client_secret"].as_str())
                .form(&[("token", tok.as_str())])
                .send()
                .await
                .expect("introspect");
            r.json::<Value>().await.expect("json")["active"].clone()
        }
    };
    assert_eq!(introspect(at.clone()).await, true);
    let (st, _) = s.api.patch(&format!("/applications/{}", s.app_id), json!({"enabled": false})).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(introspect(at).await, false, "the client is disabled");
}
