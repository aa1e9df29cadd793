//! Web identity providers: external OIDC issuers (a CI system, a Kubernetes cluster …) whose ID
//! tokens STS AssumeRoleWithWebIdentity accepts, as IAM's OpenID Connect identity providers. An
//! administrator registers the issuer and the audiences its tokens may carry; a role's trust
//! policy then names the issuer (`Federated`) and pins claims (`<issuer host>:sub`, `:aud`).
//!
//! The issuer's signing keys come from its discovery document's `jwks_uri`, cached per instance
//! for an hour and fetched again on an unknown `kid` at most once a minute, so a flood of forged
//! tokens cannot turn into a flood of fetches. Only asymmetric algorithms are accepted (an HMAC
//! "key" from a JWKS would be a public secret).

use super::store::{self, ProviderRow};
use crate::app::App;
use crate::directory::Ctx;
use crate::error::{Error, Invalid, Result};
use jsonwebtoken::jwk::{Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use uuid::Uuid;

/// Keys are fetched again after this long even when every `kid` is known.
const JWKS_TTL: i64 = 3600;
/// An unknown `kid` triggers a fetch at most this often per issuer.
const REFETCH_INTERVAL: i64 = 60;
/// Keys fetched this long ago still serve while the issuer cannot be reached.
const STALE_LIMIT: i64 = 86_400;
/// Most providers one Lanyard trusts.
const MAX_PROVIDERS: i64 = 1000;
/// Largest discovery document or JWKS read.
const MAX_DOCUMENT: usize = 256 * 1024;
/// Most keys kept from one JWKS.
const MAX_KEYS: usize = 100;
/// Most audiences per provider (IAM: 100 client ids).
pub const MAX_AUDIENCES: usize = 100;
/// Tolerance for an issuer's clock on `iat` and `nbf`.
const SKEW: i64 = 300;

/// A trusted external token issuer.
#[derive(Debug, Clone, Serialize)]
pub struct Provider {
    pub id: Uuid,
    /// The tokens' `iss`, exactly.
    pub issuer: String,
    /// The `aud` values accepted; a token must carry one of them.
    pub audiences: Vec<String>,
    pub created_at: i64,
}

impl Provider {
    fn from_row(r: ProviderRow) -> Result<Self> {
        let audiences = serde_json::from_str(&r.audiences).map_err(Error::internal)?;
        Ok(Self { id: r.id, issuer: r.issuer, audiences, created_at: r.created_at })
    }

    /// The issuer without its scheme, which prefixes the condition keys of its claims
    /// (`token.actions.githubusercontent.com:sub`), as in IAM.
    pub fn host(&self) -> &str {
        condition_prefix(&self.issuer)
    }
}

pub use crate::access::policy::trust::condition_prefix;

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

/// Whether `url` may be fetched or trusted: https, or http on a loopback address (tests and
/// local development), with no credentials, query or fragment.
fn acceptable_url(url: &url::Url) -> bool {
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && is_loopback(url));
    scheme_ok && url.username().is_empty() && url.password().is_none() && url.fragment().is_none()
}

/// Validates an issuer URL as it will appear in tokens' `iss`.
pub fn parse_issuer(s: &str) -> Result<String, Invalid> {
    let bad = |reason: &str| Invalid { field: "issuer", reason: reason.into() };
    let s = s.trim();
    if s.is_empty() || s.len() > 255 {
        return Err(bad("must be an https URL of at most 255 characters"));
    }
    let url = url::Url::parse(s).map_err(|_| bad("must be an https URL (the tokens' iss)"))?;
    if !acceptable_url(&url) || url.query().is_some() {
        return Err(bad("must be an https URL without query, fragment or credentials (http only on loopback)"));
    }
    Ok(s.to_string())
}

/// Validates the accepted audiences: 1–100 values of 1–255 printable characters, no repeats.
pub fn parse_audiences(list: &[String]) -> Result<Vec<String>, Invalid> {
    let bad = |reason: String| Invalid { field: "audiences", reason };
    if list.is_empty() || list.len() > MAX_AUDIENCES {
        return Err(bad(format!("give 1–{MAX_AUDIENCES} audiences (the tokens' aud, e.g. sts.amazonaws.com)")));
    }
    let mut out: Vec<String> = Vec::new();
    for a in list {
        let a = a.trim();
        if a.is_empty() || a.len() > 255 || a.chars().any(char::is_control) {
            return Err(bad("each audience is 1–255 printable characters".into()));
        }
        if !out.iter().any(|x| x == a) {
            out.push(a.to_string());
        }
    }
    Ok(out)
}

async fn audit(app: &App, ctx: &Ctx, action: &str, p: &Provider, extra: Value, tx: &mut crate::db::Tx) -> Result<()> {
    let mut details = json!({"issuer": p.issuer, "audiences": p.audiences});
    if let (Some(d), Value::Object(extra)) = (details.as_object_mut(), extra) {
        d.extend(extra);
    }
    crate::audit::record(
        tx,
        app.now(),
        &ctx.origin,
        crate::audit::Event::new(&ctx.actor, action, "web_identity_provider", p.id.to_string()).details(details),
    )
    .await?;
    Ok(())
}

/// Registers a trusted issuer.
pub async fn create(app: &App, ctx: &Ctx, issuer: &str, audiences: &[String]) -> Result<Provider> {
    let issuer = parse_issuer(issuer)?;
    let own = crate::oidc::tokens::issuer(app);
    if issuer.trim_end_matches('/') == own.trim_end_matches('/') {
        return Err(Error::invalid(
            "issuer",
            "this is Lanyard's own issuer: its ID tokens are accepted without registering it",
        ));
    }
    let audiences = parse_audiences(audiences)?;
    let p = Provider { id: Uuid::now_v7(), issuer, audiences, created_at: app.now() };
    let row = ProviderRow {
        id: p.id,
        issuer: p.issuer.clone(),
        audiences: serde_json::to_string(&p.audiences).map_err(Error::internal)?,
        created_at: p.created_at,
    };
    let mut tx = app.db.begin().await?;
    if store::count_providers(&mut tx).await? >= MAX_PROVIDERS {
        return Err(Error::Conflict(format!("at most {MAX_PROVIDERS} web identity providers can be registered")));
    }
    if let Err(e) = store::insert_provider(&mut tx, &row).await {
        return Err(if crate::db::is_unique_violation(&e) {
            Error::Conflict(format!("the issuer {} is already registered", p.issuer))
        } else {
            e.into()
        });
    }
    audit(app, ctx, "sts.web_identity_provider.create", &p, json!({}), &mut tx).await?;
    tx.commit().await?;
    Ok(p)
}

pub async fn list(app: &App) -> Result<Vec<Provider>> {
    let mut tx = app.db.conn().await?;
    store::list_providers(&mut tx).await?.into_iter().map(Provider::from_row).collect()
}

pub async fn get(app: &App, id: Uuid) -> Result<Provider> {
    let mut tx = app.db.conn().await?;
    Provider::from_row(store::find_provider(&mut tx, id).await?.ok_or(Error::NotFound("web identity provider"))?)
}

/// Replaces the accepted audiences (credentials already issued stay valid).
pub async fn set_audiences(app: &App, ctx: &Ctx, id: Uuid, audiences: &[String]) -> Result<Provider> {
    let audiences = parse_audiences(audiences)?;
    let text = serde_json::to_string(&audiences).map_err(Error::internal)?;
    let mut tx = app.db.begin().await?;
    let old =
        Provider::from_row(store::find_provider(&mut tx, id).await?.ok_or(Error::NotFound("web identity provider"))?)?;
    store::update_provider_audiences(&mut tx, id, &text).await?;
    let p = Provider { id, issuer: old.issuer, audiences, created_at: old.created_at };
    audit(app, ctx, "sts.web_identity_provider.update", &p, json!({"previous_audiences": old.audiences}), &mut tx)
        .await?;
    tx.commit().await?;
    Ok(p)
}

/// Removes a provider. The credentials its workloads hold end with it (on every instance: they
/// are deleted); returns how many were live.
pub async fn delete(app: &App, ctx: &Ctx, id: Uuid) -> Result<i64> {
    let mut tx = app.db.begin().await?;
    let p =
        Provider::from_row(store::find_provider(&mut tx, id).await?.ok_or(Error::NotFound("web identity provider"))?)?;
    let live = store::count_live_for_provider(&mut tx, id, app.now()).await?;
    store::delete_provider(&mut tx, id).await?;
    audit(app, ctx, "sts.web_identity_provider.delete", &p, json!({"credentials_ended": live}), &mut tx).await?;
    tx.commit().await?;
    app.web_identity_keys.forget(&p.issuer);
    Ok(live)
}

/// Why an external token was refused, in the STS error's terms.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Not a valid token from a registered issuer for an accepted audience.
    #[error("{0}")]
    Invalid(String),
    #[error("the web identity token has expired")]
    Expired,
    /// The issuer's keys could not be fetched (IDPCommunicationError).
    #[error("{0}")]
    Unreachable(String),
    #[error(transparent)]
    Internal(#[from] Error),
}

/// A verified external token: its provider and claims.
#[derive(Debug, Clone)]
pub struct Verified {
    pub provider: Provider,
    pub claims: Map<String, Value>,
}

/// The `iss` of a token, unverified (to pick the issuer whose keys will verify it).
pub fn peek_issuer(token: &str) -> Option<String> {
    let claims: Map<String, Value> = jsonwebtoken::dangerous::insecure_decode_claims(token).ok()?;
    claims.get("iss").and_then(Value::as_str).map(str::to_string)
}

fn accepted_alg(alg: Algorithm) -> bool {
    use Algorithm::*;
    matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512 | ES256 | ES384 | EdDSA)
}

fn key_alg_matches(k: KeyAlgorithm, alg: Algorithm) -> bool {
    let name = format!("{k:?}");
    name == format!("{alg:?}")
}

/// Verifies a token from a registered external issuer: signature with the issuer's published
/// key, `iss`, an accepted `aud`, `exp` on the injected clock, and a `sub`.
pub async fn verify(app: &App, token: &str) -> Result<Verified, TokenError> {
    let invalid = |m: &str| TokenError::Invalid(m.to_string());
    let issuer = peek_issuer(token).ok_or_else(|| invalid("the web identity token is not a JWT with an iss"))?;
    let provider = {
        let mut tx = app.db.conn().await.map_err(Error::from)?;
        store::find_provider_by_issuer(&mut tx, &issuer).await.map_err(Error::from)?
    };
    let Some(provider) = provider else {
        return Err(invalid("the token's issuer is not a registered web identity provider"));
    };
    let provider = Provider::from_row(provider)?;
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("the token's header is not valid"))?;
    if !accepted_alg(header.alg) {
        return Err(invalid("the token is not signed with an accepted algorithm (RS*, PS*, ES256, ES384, EdDSA)"));
    }
    let now = app.now();
    let jwk = signing_key(app, &provider.issuer, header.kid.as_deref(), header.alg, now).await?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| invalid("the issuer's key cannot be used"))?;
    let mut v = Validation::new(header.alg);
    v.validate_exp = false;
    v.validate_nbf = false;
    v.required_spec_claims.clear();
    v.set_issuer(&[&provider.issuer]);
    // The audience is checked below: jsonwebtoken skips the check when `aud` is absent.
    v.validate_aud = false;
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &v).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind;
        match e.kind() {
            ErrorKind::InvalidAudience => invalid("the token's audience is not one the provider accepts"),
            ErrorKind::InvalidSignature => invalid("the token's signature is not valid"),
            _ => invalid("the web identity token is not valid"),
        }
    })?;
    let claims = data.claims;
    let aud: Option<Vec<&str>> = match claims.get("aud") {
        Some(Value::String(a)) => Some(vec![a.as_str()]),
        Some(Value::Array(list)) => list.iter().map(Value::as_str).collect(),
        _ => None,
    };
    let Some(aud) = aud else { return Err(invalid("the token must have an aud (a string or a list of strings)")) };
    if !aud.iter().any(|a| provider.audiences.iter().any(|p| p == a)) {
        return Err(invalid("the token's audience is not one the provider accepts"));
    }
    let exp = claims.get("exp").and_then(Value::as_i64).ok_or_else(|| invalid("the token has no exp"))?;
    if exp <= now {
        return Err(TokenError::Expired);
    }
    if claims.get("iat").and_then(Value::as_i64).is_some_and(|iat| iat > now + SKEW)
        || claims.get("nbf").and_then(Value::as_i64).is_some_and(|nbf| nbf > now + SKEW)
    {
        return Err(invalid("the token is not valid yet"));
    }
    let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("");
    if sub.is_empty() || sub.len() > 255 || sub.chars().any(char::is_control) {
        return Err(invalid("the token's sub must be 1–255 printable characters"));
    }
    Ok(Verified { provider, claims })
}

/// The issuer key that verifies a token: from the cache while it is fresh; otherwise fetched,
/// by one request at a time and at most once a minute per issuer (the slot is taken before the
/// fetch starts, so concurrent requests do not fetch too); when a fetch is not allowed now or
/// fails, the last keys fetched serve for up to a day.
async fn signing_key(app: &App, issuer: &str, kid: Option<&str>, alg: Algorithm, now: i64) -> Result<Jwk, TokenError> {
    let cache = &app.web_identity_keys;
    let no_key = || TokenError::Invalid("no published key of the issuer matches the token".into());
    if let Some(k) = cache.find(issuer, kid, alg, now, JWKS_TTL) {
        return Ok(k);
    }
    if !cache.begin_fetch(issuer, now) {
        return cache.find(issuer, kid, alg, now, STALE_LIMIT).ok_or_else(no_key);
    }
    match fetch_keys(issuer).await {
        Ok(keys) => {
            let k = pick(&keys, kid, alg);
            cache.store(issuer, keys, now);
            k.ok_or_else(no_key)
        }
        Err(e) => {
            tracing::warn!(issuer, error = %e, "cannot fetch a web identity provider's keys");
            cache.find(issuer, kid, alg, now, STALE_LIMIT).ok_or_else(|| {
                TokenError::Unreachable("the issuer's discovery document or JWKS could not be fetched".into())
            })
        }
    }
}

/// The key for a token: by `kid`, or the only key that fits when the token names none; its
/// published use and algorithm, when given, must agree.
fn pick(keys: &[Jwk], kid: Option<&str>, alg: Algorithm) -> Option<Jwk> {
    let fits = |k: &&Jwk| {
        k.common.public_key_use.as_ref().is_none_or(|u| *u == PublicKeyUse::Signature)
            && k.common.key_algorithm.is_none_or(|a| key_alg_matches(a, alg))
            && !matches!(k.algorithm, jsonwebtoken::jwk::AlgorithmParameters::OctetKey(_))
    };
    match kid {
        Some(kid) => keys.iter().filter(fits).find(|k| k.common.key_id.as_deref() == Some(kid)).cloned(),
        None => {
            let mut it = keys.iter().filter(fits);
            match (it.next(), it.next()) {
                (Some(k), None) => Some(k.clone()),
                _ => None,
            }
        }
    }
}

async fn get_json(client: &reqwest::Client, url: &url::Url) -> Result<Value, String> {
    let what = url.as_str();
    let mut r = client.get(url.clone()).send().await.map_err(|e| format!("cannot reach {what}: {e}"))?;
    if !r.status().is_success() {
        return Err(format!("{what} answered {}", r.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = r.chunk().await.map_err(|e| format!("reading {what}: {e}"))? {
        if body.len() + chunk.len() > MAX_DOCUMENT {
            return Err(format!("{what} is larger than {MAX_DOCUMENT} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|_| format!("{what} is not JSON"))
}

/// Fetches the issuer's signing keys through its discovery document (OIDC Discovery §4: the
/// document's `issuer` must be the issuer itself).
async fn fetch_keys(issuer: &str) -> Result<Vec<Jwk>, String> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let discovery = url::Url::parse(&format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/')))
        .map_err(|_| "the issuer URL is not valid".to_string())?;
    let doc = get_json(&client, &discovery).await?;
    if doc.get("issuer").and_then(Value::as_str) != Some(issuer) {
        return Err(format!("the discovery document at {discovery} names another issuer"));
    }
    // Plain http only where the issuer itself is local: an https issuer's document may not send
    // Lanyard to a service on its own loopback.
    let local = is_loopback(&discovery);
    let jwks_uri = doc
        .get("jwks_uri")
        .and_then(Value::as_str)
        .and_then(|u| url::Url::parse(u).ok())
        .filter(|u| acceptable_url(u) && (u.scheme() == "https" || local))
        .ok_or_else(|| format!("the discovery document at {discovery} has no usable https jwks_uri"))?;
    let set = get_json(&client, &jwks_uri).await?;
    let keys: Vec<Jwk> = set
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{jwks_uri} is not a JWKS"))?
        .iter()
        .take(MAX_KEYS)
        // A key of a type Lanyard does not know is skipped, not fatal to the others.
        .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
        .collect();
    if keys.is_empty() {
        return Err(format!("{jwks_uri} holds no usable key"));
    }
    Ok(keys)
}

#[derive(Debug, Clone, Default)]
struct Entry {
    keys: Option<Arc<Vec<Jwk>>>,
    fetched_at: i64,
    /// When the last fetch started (successful or not).
    attempted_at: Option<i64>,
}

/// External issuers' signing keys, per instance.
#[derive(Debug, Default)]
pub struct KeyCache {
    entries: RwLock<HashMap<String, Entry>>,
}

impl KeyCache {
    /// A cached key for the token, fetched less than `max_age` seconds ago.
    fn find(&self, issuer: &str, kid: Option<&str>, alg: Algorithm, now: i64, max_age: i64) -> Option<Jwk> {
        let entries = self.entries.read().ok()?;
        let e = entries.get(issuer)?;
        if now - e.fetched_at >= max_age {
            return None;
        }
        pick(e.keys.as_ref()?, kid, alg)
    }

    /// Takes the issuer's fetch slot: true (and the slot is taken until the next minute) when no
    /// fetch started in the last minute.
    fn begin_fetch(&self, issuer: &str, now: i64) -> bool {
        let Ok(mut entries) = self.entries.write() else { return false };
        if entries.len() >= 2 * MAX_PROVIDERS as usize && !entries.contains_key(issuer) {
            entries.clear();
        }
        let e = entries.entry(issuer.to_string()).or_default();
        if e.attempted_at.is_some_and(|t| now - t < REFETCH_INTERVAL) {
            return false;
        }
        e.attempted_at = Some(now);
        true
    }

    fn store(&self, issuer: &str, keys: Vec<Jwk>, now: i64) {
        let Ok(mut entries) = self.entries.write() else { return };
        let e = entries.entry(issuer.to_string()).or_default();
        e.keys = Some(Arc::new(keys));
        e.fetched_at = now;
    }

    fn forget(&self, issuer: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(issuer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_and_audiences_are_validated() {
        assert!(parse_issuer("https://token.actions.githubusercontent.com").is_ok());
        assert!(parse_issuer("http://127.0.0.1:8080/realm").is_ok());
        assert!(parse_issuer("http://id.example.com").is_err(), "plain http off loopback");
        assert!(parse_issuer("https://id.example.com/?a=b").is_err());
        assert!(parse_issuer("https://u:p@id.example.com").is_err());
        assert!(parse_issuer("not a url").is_err());
        assert_eq!(condition_prefix("https://id.example.com/path/"), "id.example.com/path");
        assert!(parse_audiences(&[]).is_err());
        assert!(parse_audiences(&["a\nb".into()]).is_err());
        assert_eq!(parse_audiences(&["sts".into(), " sts ".into()]).expect("valid"), vec!["sts".to_string()]);
    }

    #[test]
    fn a_key_is_picked_by_kid_use_and_algorithm() {
        let ec = |kid: &str, extra: Value| -> Jwk {
            let mut v = json!({"kty": "EC", "crv": "P-256", "kid": kid,
                "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
            if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
                o.extend(e.clone());
            }
            serde_json::from_value(v).expect("jwk")
        };
        let keys = vec![ec("a", json!({"use": "sig", "alg": "ES256"})), ec("b", json!({"use": "enc"}))];
        assert!(pick(&keys, Some("a"), Algorithm::ES256).is_some());
        assert!(pick(&keys, Some("a"), Algorithm::RS256).is_none(), "the key says ES256");
        assert!(pick(&keys, Some("b"), Algorithm::ES256).is_none(), "an encryption key");
        assert!(pick(&keys, Some("c"), Algorithm::ES256).is_none());
        assert!(pick(&keys, None, Algorithm::ES256).is_some(), "one usable key, no kid");
        let two = vec![ec("a", json!({})), ec("b", json!({}))];
        assert!(pick(&two, None, Algorithm::ES256).is_none(), "ambiguous without a kid");
    }

    #[test]
    fn fetches_are_bounded_per_issuer() {
        // Real Unix times: a failed first fetch must not leave the slot open (fetched_at = 0).
        let (c, t0) = (KeyCache::default(), 1_790_000_000);
        assert!(c.begin_fetch("https://i", t0));
        assert!(!c.begin_fetch("https://i", t0), "a concurrent request does not fetch too");
        assert!(!c.begin_fetch("https://i", t0 + 30), "a failed fetch is not retried at once");
        assert!(c.begin_fetch("https://i", t0 + 60));
        let key: Jwk = serde_json::from_value(json!({"kty": "EC", "crv": "P-256", "kid": "a",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}))
        .expect("jwk");
        c.store("https://i", vec![key], t0 + 60);
        assert!(c.find("https://i", Some("a"), Algorithm::ES256, t0 + 100, JWKS_TTL).is_some());
        assert!(!c.begin_fetch("https://i", t0 + 100));
        let later = t0 + 60 + JWKS_TTL;
        assert!(c.find("https://i", Some("a"), Algorithm::ES256, later, JWKS_TTL).is_none(), "stale");
        assert!(c.find("https://i", Some("a"), Algorithm::ES256, later, STALE_LIMIT).is_some(), "serves while down");
        assert!(c.begin_fetch("https://i", later));
    }
}
