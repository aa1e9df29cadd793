use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse};

fn origin(t: &TestApp) -> url::Url {
    t.config.public_url.clone().expect("public url")
}

async fn post_json(t: &TestApp, c: &reqwest::Client, path: &str, csrf: &str, body: &Value) -> (StatusCode, Value) {
    let r = c.post(t.url(path)).header("x-csrf-token", csrf).json(body).send().await.expect("post");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Registers a passkey for a signed-in client with a software authenticator; returns its
/// credential id (base64url) as the server sees it.
async fn register(t: &TestApp, c: &reqwest::Client, key: &mut SoftPasskey, kind: &str) -> Value {
    let csrf = t.csrf(c, "/profile/mfa").await;
    let (s, options) =
        post_json(t, c, "/profile/webauthn/register/start", &csrf, &json!({"name": "Laptop", "kind": kind})).await;
    assert_eq!(s, StatusCode::OK, "{options}");
    let resident = options["publicKey"]["authenticatorSelection"]["residentKey"].clone();
    assert_eq!(resident, if kind == "passkey" { json!("required") } else { json!("discouraged") });
    // The soft authenticator cannot hold resident keys; the browser test covers real ones.
    let mut options = options;
    options["publicKey"]["authenticatorSelection"]["residentKey"] = json!("discouraged");
    options["publicKey"]["authenticatorSelection"]["requireResidentKey"] = json!(false);
    let ccr: CreationChallengeResponse = serde_json::from_value(options).expect("options");
    let response = key.do_registration(origin(t), ccr).expect("authenticator registers");
    let (s, done) =
        post_json(t, c, "/profile/webauthn/register/finish", &csrf, &serde_json::to_value(&response).expect("json"))
            .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    serde_json::to_value(&response).expect("json")["id"].clone()
}

/// Runs an authentication ceremony; `discoverable_user` simulates a resident credential that
/// returns its user handle (the soft authenticator needs the credential id named).
async fn authenticate(
    t: &TestApp,
    c: &reqwest::Client,
    page: &str,
    key: &mut SoftPasskey,
    discoverable: Option<(&Value, uuid::Uuid)>,
) -> (StatusCode, Value, Value) {
    let csrf = t.csrf(c, page).await;
    let (s, mut options) = post_json(t, c, "/signin/webauthn/start", &csrf, &json!({})).await;
    assert_eq!(s, StatusCode::OK, "{options}");
    if let Some((cred_id, _)) = discoverable {
        assert_eq!(options["publicKey"]["allowCredentials"], json!([]), "discoverable: no credentials named");
        options["publicKey"]["allowCredentials"] = json!([{"type": "public-key", "id": cred_id}]);
    }
    let rcr: RequestChallengeResponse = serde_json::from_value(options).expect("options");
    let mut assertion: PublicKeyCredential = key.do_authentication(origin(t), rcr).expect("authenticator signs");
    let mut body = serde_json::to_value(&assertion).expect("json");
    if let Some((_, user)) = discoverable {
        body["response"]["userHandle"] = json!(base64_url(user.as_bytes()));
        assertion = serde_json::from_value(body.clone()).expect("assertion");
    }
    let body = serde_json::to_value(&assertion).expect("json");
    let (s, res) = post_json(t, c, "/signin/webauthn/finish", &csrf, &body).await;
    (s, res, body)
}

fn base64_url(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

#[tokio::test]
async fn a_passkey_works_as_second_factor_and_without_a_password() {
    let t = spawn_app().await;
    let u = t.user("pia", PASSWORD, false).await;
    let c = t.signed_in("pia", PASSWORD).await;
    let mut key = SoftPasskey::new(true);
    let cred_id = register(&t, &c, &mut key, "passkey").await;
    // First factor added: recovery codes are shown once.
    let codes = c.get(t.url("/profile/mfa/recovery-codes")).send().await.expect("get").text().await.expect("body");
    assert_eq!(codes.matches("<li><code>").count(), 10);
    let again = c.get(t.url("/profile/mfa/recovery-codes")).send().await.expect("get");
    assert_eq!(again.status(), StatusCode::SEE_OTHER, "shown only once");

    // Second factor after the password.
    let c = client();
    assert_eq!(t.sign_in(&c, "pia", PASSWORD).await.headers()["location"], "/signin/mfa");
    let (s, res, _) = authenticate(&t, &c, "/signin/mfa", &mut key, None).await;
    assert_eq!((s, res["redirect"].clone()), (StatusCode::OK, json!("/")), "{res}");
    assert_eq!(c.get(t.url("/")).send().await.expect("home").status(), StatusCode::OK);

    // Passwordless, from the sign-in page.
    let c = client();
    let (s, res, _) = authenticate(&t, &c, "/signin", &mut key, Some((&cred_id, u.id))).await;
    assert_eq!((s, res["redirect"].clone()), (StatusCode::OK, json!("/")), "{res}");
    let home = c.get(t.url("/")).send().await.expect("home");
    assert_eq!(home.status(), StatusCode::OK);
    let audit = lanyard::audit::list(
        &t.app.db,
        &lanyard::audit::Filter { action: Some("signin.success".into()), limit: 10, ..Default::default() },
    )
    .await
    .expect("audit");
    assert!(audit.iter().any(|e| e.details.contains("\"passwordless\":true")));
}

#[tokio::test]
async fn assertions_are_single_use_and_expire() {
    let t = spawn_app().await;
    t.user("quin", PASSWORD, false).await;
    let c = t.signed_in("quin", PASSWORD).await;
    let mut key = SoftPasskey::new(true);
    register(&t, &c, &mut key, "security_key").await;
    let c = client();
    t.sign_in(&c, "quin", PASSWORD).await;
    let (s, _, used) = authenticate(&t, &c, "/signin/mfa", &mut key, None).await;
    assert_eq!(s, StatusCode::OK);
    // Replaying the same assertion: the ceremony state is gone.
    let c2 = client();
    t.sign_in(&c2, "quin", PASSWORD).await;
    let csrf = t.csrf(&c2, "/signin/mfa").await;
    let (s, _) = post_json(&t, &c2, "/signin/webauthn/finish", &csrf, &used).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "no ceremony in progress");
    // ...and against a fresh challenge it does not verify.
    post_json(&t, &c2, "/signin/webauthn/start", &csrf, &json!({})).await;
    let (s, e) = post_json(&t, &c2, "/signin/webauthn/finish", &csrf, &used).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    // A ceremony left for more than five minutes expires.
    let c3 = client();
    t.sign_in(&c3, "quin", PASSWORD).await;
    let csrf = t.csrf(&c3, "/signin/mfa").await;
    let (_, options) = post_json(&t, &c3, "/signin/webauthn/start", &csrf, &json!({})).await;
    let assertion =
        key.do_authentication(origin(&t), serde_json::from_value(options).expect("options")).expect("signs");
    t.clock.advance(time::Duration::minutes(4));
    t.clock.advance(time::Duration::seconds(90));
    let (s, _) =
        post_json(&t, &c3, "/signin/webauthn/finish", &csrf, &serde_json::to_value(&assertion).expect("json")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_sign_counter_that_goes_backwards_is_refused() {
    let t = spawn_app().await;
    let u = t.user("ray", PASSWORD, false).await;
    let c = t.signed_in("ray", PASSWORD).await;
    let mut key = SoftPasskey::new(true);
    register(&t, &c, &mut key, "security_key").await;
    // Pretend the server has already seen a much higher counter (a cloned authenticator).
    let mut tx = t.app.db.begin().await.expect("tx");
    let stored: String = lanyard::db_run!(&mut tx, c => sqlx::query_scalar("SELECT passkey FROM webauthn_credentials WHERE user_id = $1").bind(u.id).fetch_one(c).await)
        .expect("row");
    let mut pk: Value = serde_json::from_str(&stored).expect("json");
    pk["cred"]["counter"] = json!(1000);
    lanyard::db_run!(&mut tx, c => sqlx::query("UPDATE webauthn_credentials SET passkey = $1, sign_count = 1000 WHERE user_id = $2").bind(pk.to_string()).bind(u.id).execute(c).await.map(|_| ()))
        .expect("update");
    tx.commit().await.expect("commit");
    let c = client();
    t.sign_in(&c, "ray", PASSWORD).await;
    let (s, e, _) = authenticate(&t, &c, "/signin/mfa", &mut key, None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(c.get(t.url("/")).send().await.expect("home").status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn factor_listing_and_reset_include_passkeys() {
    let t = spawn_app().await;
    let u = t.user("sue", PASSWORD, false).await;
    let c = t.signed_in("sue", PASSWORD).await;
    let mut key = SoftPasskey::new(true);
    register(&t, &c, &mut key, "passkey").await;
    let token = t.token().await;
    let api = reqwest::Client::new();
    let f: Value = api
        .get(t.url(&format!("/api/v1/users/{}/factors", u.id)))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(f["factors"][0]["kind"], "passkey");
    api.delete(t.url(&format!("/api/v1/users/{}/factors", u.id))).bearer_auth(&token).send().await.expect("delete");
    let f: Value = api
        .get(t.url(&format!("/api/v1/users/{}/factors", u.id)))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(f["factors"], json!([]));
    assert_eq!(f["recovery_codes_remaining"], 0);
}

#[tokio::test]
async fn a_required_policy_accepts_a_passkey_as_the_first_factor() {
    let t = spawn_app().await;
    let policy = lanyard::authn::mfa::MfaPolicy { mode: "required".into(), groups: vec![], step_up_minutes: 0 };
    lanyard::authn::mfa::set_policy(&t.app, &lanyard::audit::Actor::cli("test"), &Default::default(), policy)
        .await
        .expect("policy");
    t.user("vic", PASSWORD, false).await;
    let c = client();
    assert_eq!(t.sign_in(&c, "vic", PASSWORD).await.headers()["location"], "/profile/mfa");
    assert_eq!(c.get(t.url("/")).send().await.expect("home").headers()["location"], "/profile/mfa");
    let mut key = SoftPasskey::new(true);
    register(&t, &c, &mut key, "passkey").await;
    assert_eq!(
        c.get(t.url("/")).send().await.expect("home").status(),
        StatusCode::OK,
        "enrolled: no longer held at the MFA page"
    );
}
