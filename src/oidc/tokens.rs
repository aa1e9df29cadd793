//! Signed tokens: ID tokens (OIDC Core §2) and JWT access tokens (RFC 9068, `typ: at+jwt`),
//! signed with jsonwebtoken over aws-lc-rs, and their verification for userinfo, introspection
//! and logout hints. Expiry is checked against the injected clock, not the library's wall clock.

use super::keys;
use super::model::Client;
use super::store::Grant;
use crate::app::App;
use crate::directory::User;
use crate::error::{Error, Result};
use jsonwebtoken::{Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The issuer identifier: the public URL without a trailing slash (OIDC Discovery §3).
pub fn issuer(app: &App) -> String {
    app.issuer.clone()
}

/// The claims of a Lanyard access token (RFC 9068 §2.2).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// The user's id, or the client id for client_credentials.
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The grant this token came from; revoking the grant ends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
}

/// The JWS compact serialization (RFC 7515 §7.1) of `claims` under jsonwebtoken's `Header`,
/// signed with the cached key pair (see [`keys::Signer`]).
fn sign(signer: &keys::Signer, typ: &str, claims: &impl Serialize) -> Result<String> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut header = Header::new(signer.alg);
    header.kid = Some(signer.kid.clone());
    header.typ = Some(typ.to_string());
    let header = serde_json::to_vec(&header).map_err(Error::internal)?;
    let claims = serde_json::to_vec(claims).map_err(Error::internal)?;
    let mut out = String::with_capacity((header.len() + claims.len()) * 4 / 3 + 100);
    URL_SAFE_NO_PAD.encode_string(&header, &mut out);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&claims, &mut out);
    let signature = signer.sign(out.as_bytes())?;
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&signature, &mut out);
    Ok(out)
}

/// A random token id.
pub fn new_jti() -> Result<String> {
    Ok(crate::crypto::random_token::<16>()?)
}

/// Signs an access token for a user's grant.
pub async fn access_token_for_grant(app: &App, client: &Client, grant: &Grant, scope: &str) -> Result<(String, i64)> {
    let now = app.now();
    let exp = now + client.access_token_ttl;
    let claims = AccessClaims {
        iss: issuer(app),
        sub: grant.user_id.to_string(),
        aud: client.client_id.clone(),
        exp,
        iat: now,
        jti: new_jti()?,
        client_id: client.client_id.clone(),
        scope: scope.to_string(),
        auth_time: Some(grant.auth_time),
        acr: Some(grant.acr.clone()),
        amr: serde_json::from_str(&grant.amr).ok(),
        sid: Some(grant.sid.clone()),
        gid: Some(grant.id.to_string()),
    };
    let signer = keys::signer(app, &client.signing_alg).await?;
    Ok((sign(&signer, "at+jwt", &claims)?, exp))
}

/// Signs an access token for a client acting for itself (client_credentials).
pub async fn access_token_for_client(app: &App, client: &Client, scope: &str) -> Result<(String, i64)> {
    let now = app.now();
    let exp = now + client.access_token_ttl;
    let claims = AccessClaims {
        iss: issuer(app),
        sub: client.client_id.clone(),
        aud: client.client_id.clone(),
        exp,
        iat: now,
        jti: new_jti()?,
        client_id: client.client_id.clone(),
        scope: scope.to_string(),
        auth_time: None,
        acr: None,
        amr: None,
        sid: None,
        gid: None,
    };
    let signer = keys::signer(app, &client.signing_alg).await?;
    Ok((sign(&signer, "at+jwt", &claims)?, exp))
}

/// The identity claims a scope list releases (OIDC Core §5.4), shared by ID tokens and userinfo.
pub async fn user_claims(app: &App, user: &User, scope: &[&str]) -> Result<Map<String, Value>> {
    let mut m = Map::new();
    m.insert("sub".into(), json!(user.id.to_string()));
    if scope.contains(&"profile") {
        m.insert("name".into(), json!(user.display_name));
        m.insert("preferred_username".into(), json!(user.username));
        m.insert("updated_at".into(), json!(user.updated_at));
    }
    if scope.contains(&"email") && !user.email.is_empty() {
        m.insert("email".into(), json!(user.email));
        // Lanyard does not verify mailbox ownership; it says so rather than claim it.
        m.insert("email_verified".into(), json!(false));
    }
    if scope.contains(&"groups") {
        let groups = crate::directory::service::groups_of(app, user.id).await?;
        m.insert("groups".into(), json!(groups.iter().map(|g| g.name.clone()).collect::<Vec<_>>()));
    }
    Ok(m)
}

/// Signs an ID token for a grant.
pub async fn id_token(
    app: &App,
    client: &Client,
    grant: &Grant,
    user: &User,
    nonce: Option<&str>,
    scope: &str,
) -> Result<String> {
    let now = app.now();
    let scopes: Vec<&str> = scope.split(' ').collect();
    let mut claims = user_claims(app, user, &scopes).await?;
    claims.insert("iss".into(), json!(issuer(app)));
    claims.insert("aud".into(), json!(client.client_id));
    claims.insert("azp".into(), json!(client.client_id));
    claims.insert("exp".into(), json!(now + client.id_token_ttl));
    claims.insert("iat".into(), json!(now));
    claims.insert("auth_time".into(), json!(grant.auth_time));
    claims.insert("acr".into(), json!(grant.acr));
    claims.insert("amr".into(), serde_json::from_str(&grant.amr).unwrap_or(json!([])));
    claims.insert("sid".into(), json!(grant.sid));
    if let Some(n) = nonce {
        claims.insert("nonce".into(), json!(n));
    }
    let signer = keys::signer(app, &client.signing_alg).await?;
    sign(&signer, "JWT", &claims)
}

/// Verifies a token's signature with a published key and its type; returns the claims.
/// `check_exp`: refuse it after `exp` (logout hints may be expired, OIDC RP-Initiated Logout §2).
async fn verify<T: serde::de::DeserializeOwned>(app: &App, token: &str, typ: &str, check_exp: bool) -> Option<T> {
    if token.len() > 16 * 1024 {
        return None;
    }
    let header = jsonwebtoken::decode_header(token).ok()?;
    if !header.typ.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(typ)) {
        return None;
    }
    let kid = header.kid?;
    let mut set = keys::current(app).await.ok()?;
    if set.verifier(&kid).is_none() {
        // A key published by another instance since the last load.
        app.oidc_keys.invalidate();
        set = keys::current(app).await.ok()?;
    }
    let (alg, key) = set.verifier(&kid)?;
    if *alg != header.alg {
        return None;
    }
    let mut v = Validation::new(*alg);
    v.validate_exp = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    v.set_issuer(&[issuer(app)]);
    let data = jsonwebtoken::decode::<Value>(token, key, &v).ok()?;
    let exp = data.claims.get("exp").and_then(Value::as_i64)?;
    if check_exp && exp <= app.now() {
        return None;
    }
    serde_json::from_value(data.claims).ok()
}

/// A valid, unexpired Lanyard access token's claims (signature, type, issuer, expiry); the
/// caller still checks revocation.
pub async fn verify_access(app: &App, token: &str) -> Option<AccessClaims> {
    verify(app, token, "at+jwt", true).await
}

/// An ID token this provider issued, possibly expired (for `id_token_hint`).
pub async fn verify_id_token_hint(app: &App, token: &str) -> Option<Map<String, Value>> {
    verify(app, token, "JWT", false).await
}

/// A valid, unexpired ID token this provider issued (signature, type, issuer, expiry), for
/// STS AssumeRoleWithWebIdentity; its audience is for the role's trust policy to judge.
pub async fn verify_id_token(app: &App, token: &str) -> Option<Map<String, Value>> {
    verify(app, token, "JWT", true).await
}
