//! STS AssumeRoleWithWebIdentity with tokens from an external OIDC issuer (as a CI system or a
//! Kubernetes cluster issues them): the issuer is a real HTTP server on a random port publishing
//! a discovery document and a JWKS of real P-256 keys, registered in Lanyard as a web identity
//! provider. Covers the trust policy's claim conditions, the provider's audiences, bad tokens
//! (tampered, expired, HMAC, unknown issuer), key rotation with bounded refetching, decisions
//! and role chaining for the workload, and removal of the provider ending its credentials.

use crate::helpers::*;
use crate::sts::{Org, caller_identity, credentials_from, error_code, now, staging, sts_call, xml_field};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

pub const SUB: &str = "repo:acme/app:ref:refs/heads/main";
pub const AUD: &str = "sts.amazonaws.com";

struct Key {
    kid: String,
    der: Vec<u8>,
    jwk: Value,
}

/// An external OIDC issuer: discovery at `/.well-known/openid-configuration`, keys at `/jwks`.
pub struct Issuer {
    pub url: String,
    keys: Arc<RwLock<Vec<Key>>>,
    fetches: Arc<AtomicUsize>,
    /// While set, the JWKS answers 503.
    down: Arc<std::sync::atomic::AtomicBool>,
}

fn new_key(kid: &str) -> Key {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("key");
    let der = pair.to_pkcs8v1().expect("pkcs8").as_ref().to_vec();
    // The public key is the uncompressed point 04 || x || y.
    let point = pair.public_key().as_ref().to_vec();
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let jwk = json!({"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
                     "x": b64(&point[1..33]), "y": b64(&point[33..65])});
    Key { kid: kid.to_string(), der, jwk }
}

impl Issuer {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://127.0.0.1:{}/ci", listener.local_addr().expect("addr").port());
        let keys = Arc::new(RwLock::new(vec![new_key("k1")]));
        let fetches = Arc::new(AtomicUsize::new(0));
        let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (k, f, u, d) = (keys.clone(), fetches.clone(), url.clone(), down.clone());
        let router = axum::Router::new()
            .route(
                "/ci/.well-known/openid-configuration",
                axum::routing::get(move || {
                    let u = u.clone();
                    async move { axum::Json(json!({"issuer": u, "jwks_uri": format!("{u}/jwks")})) }
                }),
            )
            .route(
                "/ci/jwks",
                axum::routing::get(move || {
                    f.fetch_add(1, Ordering::SeqCst);
                    let set: Vec<Value> = k.read().expect("keys").iter().map(|k| k.jwk.clone()).collect();
                    let status =
                        if d.load(Ordering::SeqCst) { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
                    async move { (status, axum::Json(json!({"keys": set}))) }
                }),
            );
        tokio::spawn(async move { axum::serve(listener, router).await });
        Issuer { url, keys, fetches, down }
    }

    /// Publishes a new key, which signs from now on (the old one stays published).
    fn rotate(&self, kid: &str) {
        self.keys.write().expect("keys").insert(0, new_key(kid));
    }

    /// A token signed with the newest key; `claims` override the defaults (null: leave out).
    pub fn token(&self, t: &TestApp, claims: Value) -> String {
        let keys = self.keys.read().expect("keys");
        let key = &keys[0];
        let mut c = json!({"iss": self.url, "sub": SUB, "aud": AUD, "iat": now(t), "exp": now(t) + 600,
                           "repository": "acme/app"});
        // A null removes the claim.
        if let (Some(o), Some(extra)) = (c.as_object_mut(), claims.as_object()) {
            for (k, v) in extra {
                if v.is_null() {
                    o.remove(k);
                } else {
                    o.insert(k.clone(), v.clone());
                }
            }
        }
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, &c, &jsonwebtoken::EncodingKey::from_ec_der(&key.der)).expect("sign")
    }

    fn host(&self) -> String {
        self.url.trim_start_matches("http://").to_string()
    }
}

async fn exchange(t: &TestApp, role_arn: &str, token: &str) -> (StatusCode, String) {
    let r = reqwest::Client::new()
        .post(t.url("/aws"))
        .form(&[
            ("Action", "AssumeRoleWithWebIdentity"),
            ("Version", "2011-06-15"),
            ("RoleArn", role_arn),
            ("RoleSessionName", "ci-run"),
            ("WebIdentityToken", token),
        ])
        .send()
        .await
        .expect("send");
    (r.status(), r.text().await.expect("body"))
}

/// What [`trusted`] set up.
pub struct Trusted {
    /// Deployer's ARN.
    pub role: String,
    pub staging: String,
    pub deployer: String,
    pub provider: String,
}

/// Registers the issuer and lets its main-branch workflow assume Staging's Deployer.
pub async fn trusted(org: &Org, issuer: &Issuer) -> Trusted {
    let (staging, deployer) = staging(org).await;
    let p = org.api.create("/web-identity-providers", json!({"issuer": issuer.url, "audiences": [AUD]})).await;
    assert_eq!(p["condition_prefix"], issuer.host(), "{p}");
    let host = issuer.host();
    let trust = json!({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": issuer.url},
        "Condition": {"StringEquals": {format!("{host}:aud"): AUD, format!("{host}:sub"): SUB}}}]});
    let (st, e) =
        org.api.put_json(&format!("/permission-sets/{deployer}/trust-policy"), json!({"trust_policy": trust})).await;
    assert_eq!(st, StatusCode::OK, "{e}");
    Trusted {
        role: format!("arn:lanyard:iam::{staging}:role/Deployer"),
        staging,
        deployer,
        provider: p["id"].as_str().expect("id").to_string(),
    }
}

#[tokio::test]
async fn a_workload_token_from_a_registered_issuer_becomes_role_credentials_where_the_trust_policy_allows() {
    let org = Org::new().await;
    let t = &org.api.t;
    let issuer = Issuer::start().await;
    let (st, xml) = exchange(t, "arn:lanyard:iam::123456789012:role/Deployer", &issuer.token(t, json!({}))).await;
    assert_eq!((st, error_code(&xml)), (StatusCode::BAD_REQUEST, "InvalidIdentityToken"), "unregistered: {xml}");
    let Trusted { role, staging: staging_id, .. } = trusted(&org, &issuer).await;
    let (st, xml) = exchange(t, &role, &format!("{}\n", issuer.token(t, json!({})))).await;
    assert_eq!(st, StatusCode::OK, "{xml}");
    assert_eq!(xml_field(&xml, "SubjectFromWebIdentityToken"), SUB);
    assert_eq!(xml_field(&xml, "Provider"), issuer.url);
    assert_eq!(xml_field(&xml, "Audience"), AUD);
    let creds = credentials_from(&xml);
    let (st, who) = caller_identity(t, &creds, now(t), |_, _| {}).await;
    assert_eq!(
        (st, xml_field(&who, "Arn")),
        (StatusCode::OK, format!("arn:lanyard:sts::{staging_id}:assumed-role/Deployer/ci-run")),
        "{who}"
    );
    // The trust policy's claim conditions and the provider's audiences both decide.
    let (st, xml) = exchange(t, &role, &issuer.token(t, json!({"sub": "repo:acme/app:pull_request"}))).await;
    assert_eq!((st, error_code(&xml)), (StatusCode::FORBIDDEN, "AccessDenied"), "another subject: {xml}");
    let (st, xml) = exchange(t, &role, &issuer.token(t, json!({"aud": "something-else"}))).await;
    assert_eq!((st, error_code(&xml)), (StatusCode::BAD_REQUEST, "InvalidIdentityToken"), "{xml}");
    let (st, xml) = exchange(t, &role, &issuer.token(t, json!({"aud": ["other", AUD]}))).await;
    assert_eq!(st, StatusCode::OK, "one accepted audience among several: {xml}");
    for aud in [Value::Null, json!([]), json!(["x", 1])] {
        let (st, xml) = exchange(t, &role, &issuer.token(t, json!({"aud": aud}))).await;
        assert_eq!((st, error_code(&xml)), (StatusCode::BAD_REQUEST, "InvalidIdentityToken"), "aud {aud}: {xml}");
    }
    let (_, xml) = exchange(t, &role, &issuer.token(t, json!({"sub": "repo:acme/app\u{1b}[2J"}))).await;
    assert_eq!(error_code(&xml), "InvalidIdentityToken", "control characters in sub: {xml}");
    // Bad tokens.
    let good = issuer.token(t, json!({}));
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!({"iss": issuer.url, "sub": SUB, "aud": AUD, "exp": now(t) + 9999}).to_string());
    parts[1] = forged;
    let (st, xml) = exchange(t, &role, &parts.join(".")).await;
    assert_eq!((st, error_code(&xml)), (StatusCode::BAD_REQUEST, "InvalidIdentityToken"), "tampered: {xml}");
    let (_, xml) = exchange(t, &role, &issuer.token(t, json!({"exp": now(t) - 1}))).await;
    assert_eq!(error_code(&xml), "ExpiredTokenException", "{xml}");
    let (_, xml) = exchange(t, &role, &issuer.token(t, json!({"iat": now(t) + 3600}))).await;
    assert_eq!(error_code(&xml), "InvalidIdentityToken", "issued in the future: {xml}");
    let hmac = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"iss": issuer.url, "sub": SUB, "aud": AUD, "exp": now(t) + 600}),
        &jsonwebtoken::EncodingKey::from_secret(b"guessable"),
    )
    .expect("hs256");
    let (_, xml) = exchange(t, &role, &hmac).await;
    assert_eq!(error_code(&xml), "InvalidIdentityToken", "symmetric algorithms are refused: {xml}");
    // Refusals and issues are audited, with the workload as the actor.
    t.app.audit_batch.flush().await;
    let (_, log) = org.api.get("/audit?action=sts.credentials.issue&limit=100").await;
    let events = log["items"].as_array().expect("items");
    assert!(events.iter().any(|e| e["outcome"] == "success" && e["actor_kind"] == "workload"), "{log}");
    assert!(events.iter().any(|e| e["outcome"] == "failure"), "{log}");
}

#[tokio::test]
async fn a_rotated_issuer_key_is_fetched_again_at_most_once_a_minute() {
    let org = Org::new().await;
    let t = &org.api.t;
    let issuer = Issuer::start().await;
    let Trusted { role, .. } = trusted(&org, &issuer).await;
    let (st, xml) = exchange(t, &role, &issuer.token(t, json!({}))).await;
    assert_eq!(st, StatusCode::OK, "{xml}");
    let (st, _) = exchange(t, &role, &issuer.token(t, json!({}))).await;
    assert_eq!((st, issuer.fetches.load(Ordering::SeqCst)), (StatusCode::OK, 1), "the keys are cached");
    // A token with a kid the cache has not seen: fetched once, then not again within a minute.
    issuer.rotate("k2");
    t.clock.advance(time::Duration::seconds(61));
    let (st, xml) = exchange(t, &role, &issuer.token(t, json!({}))).await;
    assert_eq!(st, StatusCode::OK, "the new key was fetched: {xml}");
    assert_eq!(issuer.fetches.load(Ordering::SeqCst), 2);
    issuer.rotate("k3");
    for _ in 0..5 {
        let (_, xml) = exchange(t, &role, &issuer.token(t, json!({}))).await;
        assert_eq!(error_code(&xml), "InvalidIdentityToken", "{xml}");
    }
    assert_eq!(
        issuer.fetches.load(Ordering::SeqCst),
        2,
        "within a minute of the last fetch, unknown kids cost no fetch (forged tokens cannot make a storm)"
    );
    t.clock.advance(time::Duration::seconds(61));
    let (st, xml) = exchange(t, &role, &issuer.token(t, json!({}))).await;
    assert_eq!((st, issuer.fetches.load(Ordering::SeqCst)), (StatusCode::OK, 3), "{xml}");
    // The issuer goes down: the keys last fetched still serve (past their hour), a key it
    // published since cannot be fetched.
    issuer.down.store(true, Ordering::SeqCst);
    t.clock.advance(time::Duration::seconds(7200));
    let (st, xml) = exchange(t, &role, &issuer.token(t, json!({}))).await;
    assert_eq!(st, StatusCode::OK, "stale keys serve while the issuer is unreachable: {xml}");
    issuer.rotate("k4");
    t.clock.advance(time::Duration::seconds(61));
    let (st, xml) = exchange(t, &role, &issuer.token(t, json!({}))).await;
    assert_eq!((st, error_code(&xml)), (StatusCode::BAD_REQUEST, "IDPCommunicationError"), "{xml}");
    assert!(!xml.contains("503"), "the fetch's details stay in the log: {xml}");
}

#[tokio::test]
async fn a_workload_is_decided_for_and_chains_roles_through_trust_policies() {
    let org = Org::new().await;
    let t = &org.api.t;
    let issuer = Issuer::start().await;
    let Trusted { role, staging: staging_id, deployer, .. } = trusted(&org, &issuer).await;
    let allow =
        r#"{"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "sts:AssumeRole"], "Resource": "*"}]}"#;
    let (st, e) = org.api.patch(&format!("/permission-sets/{deployer}"), json!({"inline_policy": allow})).await;
    assert_eq!(st, StatusCode::OK, "{e}");
    let (st, xml) = exchange(t, &role, &issuer.token(t, json!({}))).await;
    assert_eq!(st, StatusCode::OK, "{xml}");
    let creds = credentials_from(&xml);
    // The decision API, with the workload proved by a forwarded GetCallerIdentity signature.
    let public_host = t.config.public_url().as_str().trim_start_matches("http://").trim_end_matches('/').to_string();
    let (h, body) = crate::sts::signed_for(&public_host, &creds, now(t), "Action=GetCallerIdentity&Version=2011-06-15");
    let headers: serde_json::Map<String, Value> =
        h.iter().map(|(k, v)| (k.to_string(), json!(v.to_str().expect("ascii")))).collect();
    let ask = |action: &str| {
        json!({"principal": {"signed_request": {"method": "POST", "url": t.url("/aws"), "headers": headers,
                   "body": base64::engine::general_purpose::STANDARD.encode(&body)}},
               "action": action, "resource": "arn:aws:s3:::artifacts/build.zip"})
    };
    let (st, d) = org.api.post("/authorize", ask("s3:GetObject")).await;
    assert_eq!((st, d["decision"].clone()), (StatusCode::OK, json!("allow")), "{d}");
    assert_eq!(d["principal_arn"], role);
    let (_, d) = org.api.post("/authorize", ask("s3:DeleteObject")).await;
    assert_eq!(d["decision"], "deny", "{d}");
    // Chaining into a role that trusts Deployer.
    let ps = org.api.create("/permission-sets", json!({"name": "Auditor"})).await;
    let group = org.api.create("/groups", json!({"name": "auditors"})).await;
    org.api
        .create("/assignments", json!({"account_id": staging_id, "permission_set_id": ps["id"], "principal_type": "group", "principal_id": group["id"]}))
        .await;
    let trust = json!({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": role}}]});
    let (st, e) = org
        .api
        .put_json(
            &format!("/permission-sets/{}/trust-policy", ps["id"].as_str().expect("id")),
            json!({"trust_policy": trust}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{e}");
    let target = format!("arn:lanyard:iam::{staging_id}:role/Auditor");
    let (st, xml) = sts_call(
        t,
        &creds,
        &format!("Action=AssumeRole&Version=2011-06-15&RoleArn={}&RoleSessionName=chained", urlencoded(&target)),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{xml}");
    let chained = credentials_from(&xml);
    let (st, who) = caller_identity(t, &chained, now(t), |_, _| {}).await;
    assert_eq!(
        (st, xml_field(&who, "Arn")),
        (StatusCode::OK, format!("arn:lanyard:sts::{staging_id}:assumed-role/Auditor/chained"))
    );
}

fn urlencoded(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn removing_a_web_identity_provider_ends_its_workloads_credentials() {
    let org = Org::new().await;
    let t = &org.api.t;
    let issuer = Issuer::start().await;
    let Trusted { role, provider, .. } = trusted(&org, &issuer).await;
    // Registration is validated.
    let (st, e) = org.api.post("/web-identity-providers", json!({"issuer": issuer.url, "audiences": [AUD]})).await;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    let (st, _) =
        org.api.post("/web-identity-providers", json!({"issuer": "http://ci.example.com", "audiences": [AUD]})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "plain http off loopback");
    let (st, _) =
        org.api.post("/web-identity-providers", json!({"issuer": "https://ci.example.com", "audiences": []})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "no audience");
    let own = t.config.public_url().as_str().trim_end_matches('/').to_string();
    let (st, _) = org.api.post("/web-identity-providers", json!({"issuer": own, "audiences": [AUD]})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "Lanyard's own issuer needs no registration");
    let (st, list) = org.api.get("/web-identity-providers").await;
    assert_eq!((st, list["items"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "{list}");
    // Narrowing the audiences stops new exchanges.
    let (st, p) = org.api.patch(&format!("/web-identity-providers/{provider}"), json!({"audiences": ["other"]})).await;
    assert_eq!((st, p["audiences"].clone()), (StatusCode::OK, json!(["other"])), "{p}");
    let (_, xml) = exchange(t, &role, &issuer.token(t, json!({}))).await;
    assert_eq!(error_code(&xml), "InvalidIdentityToken", "{xml}");
    let (st, _) = org.api.patch(&format!("/web-identity-providers/{provider}"), json!({"audiences": [AUD]})).await;
    assert_eq!(st, StatusCode::OK);
    let (st, xml) = exchange(t, &role, &issuer.token(t, json!({}))).await;
    assert_eq!(st, StatusCode::OK, "{xml}");
    let creds = credentials_from(&xml);
    assert_eq!(caller_identity(t, &creds, now(t), |_, _| {}).await.0, StatusCode::OK);
    let (st, gone) = org.api.delete(&format!("/web-identity-providers/{provider}")).await;
    assert_eq!((st, gone["credentials_ended"].clone()), (StatusCode::OK, json!(1)), "{gone}");
    let (_, who) = caller_identity(t, &creds, now(t), |_, _| {}).await;
    assert_eq!(error_code(&who), "InvalidClientTokenId", "{who}");
    let (_, xml) = exchange(t, &role, &issuer.token(t, json!({}))).await;
    assert_eq!(error_code(&xml), "InvalidIdentityToken", "no longer trusted: {xml}");
    let (st, _) = org.api.delete(&format!("/web-identity-providers/{provider}")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}
