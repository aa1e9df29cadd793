//! Applications as administrators manage them (create, change, delete, secrets, assignments),
//! and how a client proves itself at the token endpoint (RFC 6749 §2.3, RFC 7523 §2.2).

use super::error::OAuthError;
use super::model::{self, Client, ClientView};
use super::store::{self, Assignment, Secret};
use crate::app::App;
use crate::audit;
use crate::crypto::token::PlainToken;
use crate::db::is_unique_violation;
use crate::directory::Ctx;
use crate::directory::model::{Page, clamp_limit, decode_cursor, encode_cursor, parse_description};
use crate::error::{Error, Result};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// How long an instance reuses a client's row and secret digests at the token endpoint before
/// reading them again: changes made on another instance (disable, secret rotation) take effect
/// within this; changes made here take effect at once.
const CACHE_FOR: std::time::Duration = std::time::Duration::from_secs(2);

/// A client with its live secret digests, as cached.
type Loaded = Arc<(Client, Vec<Secret>)>;

/// Clients and their live secret digests, by client id (bounded; see [`CACHE_FOR`]).
#[derive(Debug, Default)]
pub struct ClientCache {
    entries: std::sync::RwLock<HashMap<String, (std::time::Instant, Loaded)>>,
}

impl ClientCache {
    fn get(&self, client_id: &str) -> Option<Loaded> {
        let map = self.entries.read().ok()?;
        let (at, v) = map.get(client_id)?;
        (at.elapsed() < CACHE_FOR).then(|| v.clone())
    }
    fn put(&self, client_id: &str, v: Loaded) {
        if let Ok(mut map) = self.entries.write() {
            if map.len() >= 10_000 {
                map.retain(|_, (at, _)| at.elapsed() < CACHE_FOR);
            }
            if map.len() < 10_000 {
                map.insert(client_id.to_string(), (std::time::Instant::now(), v));
            }
        }
    }
    /// Forgets everything (after a local change to any client).
    pub fn clear(&self) {
        if let Ok(mut map) = self.entries.write() {
            map.clear();
        }
    }
}

/// The client and its live secrets, from the cache or the database.
async fn load_for_auth(app: &App, client_id: &str) -> Result<Option<Loaded>> {
    if let Some(v) = app.oidc_clients.get(client_id) {
        return Ok(Some(v));
    }
    let Some(client) = find_enabled(app, client_id).await? else { return Ok(None) };
    let mut tx = app.db.conn().await?;
    let secrets = store::live_secrets(&mut tx, client.id, app.now()).await?;
    drop(tx);
    let v = Arc::new((client, secrets));
    app.oidc_clients.put(client_id, v.clone());
    Ok(Some(v))
}

/// Client secrets: `lyd_cs_` + 256 random bits.
pub const SECRET_PREFIX: &str = "lyd_cs";

/// A new or changed application; `None` keeps a field (or takes the default when creating).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    /// Chosen at creation (random when omitted); never changes.
    pub client_id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// `client_secret_basic` (default), `client_secret_post`, `private_key_jwt`, or `none` for a
    /// public client (native app, CLI, single-page app: PKCE is mandatory).
    pub token_endpoint_auth_method: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    /// The client's public keys (a JWKS) for private_key_jwt.
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// ES256 (default), RS256 or EdDSA.
    pub id_token_signed_response_alg: Option<String>,
    pub access_token_ttl: Option<i64>,
    pub id_token_ttl: Option<i64>,
    pub refresh_token_ttl: Option<i64>,
    pub consent_required: Option<bool>,
    /// Where the portal's launcher sends people to start the app's sign-in (empty: not listed).
    pub launch_url: Option<String>,
    pub enabled: Option<bool>,
}

fn to_json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// Applies `input` over `base` and checks the whole result.
fn build(mut c: Client, input: ClientInput, now: i64) -> Result<Client> {
    if let Some(n) = input.name.as_deref() {
        let (name, key) = crate::access::model::parse_name("name", n)?;
        c.name = name;
        c.name_key = key;
    }
    if c.name.is_empty() {
        return Err(Error::invalid("name", "is required"));
    }
    if let Some(d) = input.description.as_deref() {
        c.description = parse_description(d)?;
    }
    if let Some(m) = input.token_endpoint_auth_method {
        if !model::AUTH_METHODS.contains(&m.as_str()) {
            return Err(Error::invalid(
                "token_endpoint_auth_method",
                format!("must be one of {}", model::AUTH_METHODS.join(", ")),
            ));
        }
        c.auth_method = m;
    }
    if let Some(list) = input.redirect_uris {
        let parsed =
            list.iter().map(|u| model::parse_redirect_uri("redirect_uris", u)).collect::<Result<Vec<_>, _>>()?;
        if parsed.len() > 20 {
            return Err(Error::invalid("redirect_uris", "at most 20"));
        }
        c.redirect_uris = to_json(&parsed);
    }
    if let Some(list) = input.post_logout_redirect_uris {
        let parsed = list
            .iter()
            .map(|u| model::parse_redirect_uri("post_logout_redirect_uris", u))
            .collect::<Result<Vec<_>, _>>()?;
        if parsed.len() > 20 {
            return Err(Error::invalid("post_logout_redirect_uris", "at most 20"));
        }
        c.post_logout_redirect_uris = to_json(&parsed);
    }
    if let Some(list) = input.grant_types {
        let mut out: Vec<String> = Vec::new();
        for g in list {
            if !model::GRANT_TYPES.contains(&g.as_str()) {
                return Err(Error::invalid(
                    "grant_types",
                    format!("{g:?} is not one of {}", model::GRANT_TYPES.join(", ")),
                ));
            }
            if !out.contains(&g) {
                out.push(g);
            }
        }
        c.grant_types = to_json(&out);
    }
    if let Some(list) = input.scopes {
        let parsed = model::parse_scope(&list.join(" "))?;
        c.scopes = to_json(&parsed);
    }
    if let Some(j) = input.jwks {
        if j.is_null() {
            c.jwks = None;
        } else {
            let set: jsonwebtoken::jwk::JwkSet =
                serde_json::from_value(j.clone()).map_err(|e| Error::invalid("jwks", format!("not a JWK Set: {e}")))?;
            if set.keys.is_empty() || set.keys.len() > 10 {
                return Err(Error::invalid("jwks", "must hold 1 to 10 keys"));
            }
            if set.keys.iter().any(|k| jsonwebtoken::DecodingKey::from_jwk(k).is_err()) {
                return Err(Error::invalid("jwks", "every key must be a usable public RSA, EC or OKP key"));
            }
            c.jwks = Some(j.to_string());
        }
    }
    if let Some(a) = input.id_token_signed_response_alg {
        if !model::SIGNING_ALGS.contains(&a.as_str()) {
            return Err(Error::invalid("id_token_signed_response_alg", "must be ES256, RS256 or EdDSA"));
        }
        c.signing_alg = a;
    }
    if let Some(t) = input.access_token_ttl {
        c.access_token_ttl = model::parse_ttl("access_token_ttl", t, 60, model::MAX_TOKEN_TTL)?;
    }
    if let Some(t) = input.id_token_ttl {
        c.id_token_ttl = model::parse_ttl("id_token_ttl", t, 60, model::MAX_TOKEN_TTL)?;
    }
    if let Some(t) = input.refresh_token_ttl {
        c.refresh_token_ttl = model::parse_ttl("refresh_token_ttl", t, 300, model::MAX_REFRESH_TTL)?;
    }
    if let Some(b) = input.consent_required {
        c.consent_required = b;
    }
    if let Some(u) = input.launch_url {
        c.launch_url = if u.trim().is_empty() {
            None
        } else {
            let url = url::Url::parse(u.trim()).map_err(|_| Error::invalid("launch_url", "must be an absolute URL"))?;
            if !matches!(url.scheme(), "https" | "http") {
                return Err(Error::invalid("launch_url", "must be an http(s) URL"));
            }
            Some(url.to_string())
        };
    }
    if let Some(b) = input.enabled {
        c.enabled = b;
    }
    // The combination must make sense.
    let grants = c.grant_types();
    if grants.is_empty() {
        return Err(Error::invalid("grant_types", "at least one grant type is required"));
    }
    if c.is_public() && grants.iter().any(|g| g == model::GRANT_CLIENT_CREDENTIALS) {
        return Err(Error::invalid("grant_types", "a public client (auth method none) cannot use client_credentials"));
    }
    if grants.iter().any(|g| g == model::GRANT_CODE) && c.redirect_uris().is_empty() {
        return Err(Error::invalid("redirect_uris", "the authorization_code grant needs at least one redirect URI"));
    }
    if grants.iter().any(|g| g == model::GRANT_REFRESH)
        && !grants.iter().any(|g| g == model::GRANT_CODE || g == model::GRANT_DEVICE)
    {
        return Err(Error::invalid("grant_types", "refresh_token needs authorization_code or device_code"));
    }
    if c.auth_method == "private_key_jwt" && c.jwks.is_none() {
        return Err(Error::invalid("jwks", "private_key_jwt needs the client's public keys"));
    }
    c.updated_at = now;
    Ok(c)
}

fn client_json(c: &Client) -> serde_json::Value {
    serde_json::to_value(ClientView::from(c)).unwrap_or_default()
}

/// A freshly minted secret and its stored digest.
fn new_secret() -> Result<PlainToken> {
    Ok(PlainToken::generate(SECRET_PREFIX)?)
}

/// Creates an application; confidential clients with a secret method get their first secret,
/// returned once.
pub async fn create(app: &App, ctx: &Ctx, input: ClientInput) -> Result<(ClientView, Option<String>)> {
    let now = app.now();
    let client_id = match input.client_id.as_deref() {
        Some(c) => model::parse_client_id(c)?,
        None => format!("app-{}", &crate::crypto::random_token::<12>()?.to_ascii_lowercase().replace('_', "x")),
    };
    let base = Client {
        id: Uuid::now_v7(),
        client_id,
        name: String::new(),
        name_key: String::new(),
        description: String::new(),
        auth_method: "client_secret_basic".into(),
        redirect_uris: "[]".into(),
        post_logout_redirect_uris: "[]".into(),
        grant_types: to_json(&[model::GRANT_CODE.into(), model::GRANT_REFRESH.into()]),
        scopes: to_json(&["openid".into(), "profile".into(), "email".into(), "groups".into(), "offline_access".into()]),
        jwks: None,
        signing_alg: "ES256".into(),
        access_token_ttl: 900,
        id_token_ttl: 900,
        refresh_token_ttl: 30 * 86_400,
        consent_required: false,
        launch_url: None,
        enabled: true,
        created_at: now,
        updated_at: now,
    };
    let c = build(base, input, now)?;
    // The signing key for its algorithm exists before the first token needs it.
    super::keys::ensure_active(app, &c.signing_alg).await?;
    let secret = match c.auth_method.as_str() {
        "client_secret_basic" | "client_secret_post" => Some(new_secret()?),
        _ => None,
    };
    let mut tx = app.db.begin().await?;
    match store::insert_client(&mut tx, &c).await {
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::Conflict("an application with this name or client id already exists".into()));
        }
        r => r?,
    }
    if let Some(s) = &secret {
        store::insert_secret(&mut tx, c.id, &s.hash(), &s.hint(), now).await?;
    }
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "application.create", "application", c.id)
            .details(json!({"after": client_json(&c)})),
    )
    .await?;
    tx.commit().await?;
    Ok((ClientView::from(&c), secret.map(|s| s.expose().to_string())))
}

/// The built-in application the AWS CLI and SDKs sign in through (the SSO OIDC API under
/// `/aws`): public (PKCE), device and code flows, open to every active user, because all it
/// reaches is the user's own account assignments. Admins may change its lifetimes or disable it.
pub const AWS_CLIENT_ID: &str = "lanyard-aws";

/// Creates the built-in AWS application when it is missing (at start; instances racing on it
/// settle on the unique client id).
pub async fn ensure_aws_client(app: &App) -> Result<()> {
    let mut tx = app.db.begin().await?;
    if store::find_client_by_client_id(&mut tx, AWS_CLIENT_ID).await?.is_some() {
        return Ok(());
    }
    let now = app.now();
    let c = Client {
        id: Uuid::now_v7(),
        client_id: AWS_CLIENT_ID.into(),
        name: "AWS CLI and SDKs".into(),
        name_key: "aws cli and sdks".into(),
        description: "Built in: `aws sso login`, boto3 and `lanyard login` sign in through it (SSO OIDC under /aws)."
            .into(),
        auth_method: "none".into(),
        redirect_uris: to_json(&["http://127.0.0.1/oauth/callback".into()]),
        post_logout_redirect_uris: "[]".into(),
        grant_types: to_json(&[model::GRANT_CODE.into(), model::GRANT_REFRESH.into(), model::GRANT_DEVICE.into()]),
        scopes: to_json(&["openid".into(), "offline_access".into(), "sso:account:access".into()]),
        jwks: None,
        signing_alg: "ES256".into(),
        access_token_ttl: 3600,
        id_token_ttl: 3600,
        // The SSO session: like IAM Identity Center's default, eight hours.
        refresh_token_ttl: 8 * 3600,
        consent_required: false,
        launch_url: None,
        enabled: true,
        created_at: now,
        updated_at: now,
    };
    match store::insert_client(&mut tx, &c).await {
        Err(e) if is_unique_violation(&e) => return Ok(()),
        r => r?,
    }
    audit::record(
        &mut tx,
        now,
        &crate::audit::Origin::default(),
        audit::Event::new(&crate::audit::Actor::cli("start-up"), "application.create", "application", c.id)
            .details(json!({"after": client_json(&c)})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn get(app: &App, id: Uuid) -> Result<Client> {
    let mut tx = app.db.conn().await?;
    store::find_client(&mut tx, id).await?.ok_or(Error::NotFound("application"))
}

/// Applications by name; `next` is the cursor of a previous page.
pub async fn list(app: &App, next: Option<&str>, limit: i64) -> Result<Page<ClientView>> {
    let limit = clamp_limit(limit);
    let after = next.map(decode_cursor).transpose()?;
    let mut tx = app.db.conn().await?;
    let rows = store::list_clients(&mut tx, after.as_deref(), limit + 1).await?;
    Ok(Page::cut(rows, limit, |c| encode_cursor(&c.name_key)).map(|c| ClientView::from(&c)))
}

/// Changes an application. Disabling it revokes every grant it holds.
pub async fn update(app: &App, ctx: &Ctx, id: Uuid, input: ClientInput) -> Result<ClientView> {
    if input.client_id.is_some() {
        return Err(Error::invalid("client_id", "cannot be changed; create a new application instead"));
    }
    let now = app.now();
    let before = get(app, id).await?;
    let after = build(before.clone(), input, now)?;
    super::keys::ensure_active(app, &after.signing_alg).await?;
    let mut tx = app.db.begin().await?;
    match store::update_client(&mut tx, &after).await {
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::Conflict("an application with this name already exists".into()));
        }
        Ok(false) => return Err(Error::NotFound("application")),
        r => r?,
    };
    let revoked =
        if before.enabled && !after.enabled { store::revoke_grants_of_client(&mut tx, id, now).await? } else { 0 };
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "application.update", "application", id)
            .details(json!({"before": client_json(&before), "after": client_json(&after), "grants_revoked": revoked})),
    )
    .await?;
    tx.commit().await?;
    app.oidc_clients.clear();
    Ok(ClientView::from(&after))
}

pub async fn delete(app: &App, ctx: &Ctx, id: Uuid) -> Result<()> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let before = store::find_client(&mut tx, id).await?.ok_or(Error::NotFound("application"))?;
    if before.client_id == AWS_CLIENT_ID {
        return Err(Error::Conflict("the built-in AWS application cannot be deleted; disable it instead".into()));
    }
    store::delete_client(&mut tx, id).await?;
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "application.delete", "application", id)
            .details(json!({"before": client_json(&before)})),
    )
    .await?;
    tx.commit().await?;
    app.oidc_clients.clear();
    Ok(())
}

/// Issues a new secret. The old ones keep working for `overlap` seconds (0: they stop now), so
/// the app can be redeployed with the new secret without an outage.
pub async fn rotate_secret(app: &App, ctx: &Ctx, id: Uuid, overlap: i64) -> Result<(String, Vec<Secret>)> {
    if !(0..=30 * 86_400).contains(&overlap) {
        return Err(Error::invalid("overlap_seconds", "must be between 0 and 2592000 (30 days)"));
    }
    let now = app.now();
    let secret = new_secret()?;
    let mut tx = app.db.begin().await?;
    let c = store::find_client(&mut tx, id).await?.ok_or(Error::NotFound("application"))?;
    if !matches!(c.auth_method.as_str(), "client_secret_basic" | "client_secret_post") {
        return Err(Error::Conflict(format!("this application authenticates with {}, not a secret", c.auth_method)));
    }
    let expired = store::expire_secrets(&mut tx, id, now + overlap).await?;
    store::insert_secret(&mut tx, id, &secret.hash(), &secret.hint(), now).await?;
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "application.secret_rotate", "application", id)
            .details(json!({"overlap_seconds": overlap, "old_secrets": expired, "hint": secret.hint()})),
    )
    .await?;
    let live = store::live_secrets(&mut tx, id, now).await?;
    tx.commit().await?;
    app.oidc_clients.clear();
    Ok((secret.expose().to_string(), live))
}

pub async fn secrets(app: &App, id: Uuid) -> Result<Vec<Secret>> {
    let mut tx = app.db.conn().await?;
    store::find_client(&mut tx, id).await?.ok_or(Error::NotFound("application"))?;
    Ok(store::live_secrets(&mut tx, id, app.now()).await?)
}

/// Assigns the app to a user or a group (exactly one).
pub async fn assign(app: &App, ctx: &Ctx, id: Uuid, user: Option<Uuid>, group: Option<Uuid>) -> Result<Uuid> {
    if user.is_some() == group.is_some() {
        return Err(Error::invalid("user_id", "give exactly one of user_id and group_id"));
    }
    let now = app.now();
    let mut tx = app.db.begin().await?;
    store::find_client(&mut tx, id).await?.ok_or(Error::NotFound("application"))?;
    let aid = match store::insert_assignment(&mut tx, id, user, group, now).await {
        Err(e) if is_unique_violation(&e) => return Err(Error::Conflict("already assigned".into())),
        Err(e) if crate::db::is_foreign_key_violation(&e) => {
            return Err(Error::NotFound(if user.is_some() { "user" } else { "group" }));
        }
        r => r?,
    };
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "application.assign", "application", id)
            .details(json!({"assignment_id": aid, "user_id": user, "group_id": group})),
    )
    .await?;
    tx.commit().await?;
    Ok(aid)
}

/// Removes an assignment. Sign-ins already made keep their tokens until they expire or are
/// revoked; new sign-ins and refreshes check the assignment again.
pub async fn unassign(app: &App, ctx: &Ctx, id: Uuid, assignment: Uuid) -> Result<()> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    if !store::delete_assignment(&mut tx, id, assignment).await? {
        return Err(Error::NotFound("assignment"));
    }
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "application.unassign", "application", id)
            .details(json!({"assignment_id": assignment})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn assignments(app: &App, id: Uuid) -> Result<Vec<Assignment>> {
    let mut tx = app.db.conn().await?;
    store::find_client(&mut tx, id).await?.ok_or(Error::NotFound("application"))?;
    Ok(store::list_assignments(&mut tx, id).await?)
}

/// Whether `user` may use the app.
pub async fn is_assigned(app: &App, client: &Client, user: Uuid) -> Result<bool> {
    if client.client_id == AWS_CLIENT_ID {
        return Ok(true);
    }
    let mut tx = app.db.conn().await?;
    Ok(store::is_assigned(&mut tx, client.id, user).await?)
}

/// The apps on a person's launcher.
pub async fn launchable(app: &App, user: Uuid) -> Result<Vec<ClientView>> {
    let mut tx = app.db.conn().await?;
    Ok(store::launchable_for(&mut tx, user).await?.iter().map(ClientView::from).collect())
}

/// An enabled client by its client id.
pub async fn find_enabled(app: &App, client_id: &str) -> Result<Option<Client>> {
    if client_id.is_empty() || client_id.len() > 64 {
        return Ok(None);
    }
    let mut tx = app.db.conn().await?;
    Ok(store::find_client_by_client_id(&mut tx, client_id).await?.filter(|c| c.enabled))
}

/// RFC 6749 §2.3.1: the Basic credentials are form-urlencoded before base64.
fn basic_credentials(headers: &HeaderMap) -> Option<Result<(String, String), OAuthError>> {
    use base64::Engine;
    let v = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    if v.len() < 6 || !v[..6].eq_ignore_ascii_case("basic ") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(v[6..].trim()).ok();
    let creds = decoded.and_then(|d| String::from_utf8(d).ok()).and_then(|s| {
        let (id, secret) = s.split_once(':')?;
        let dec =
            |x: &str| url::form_urlencoded::parse(format!("a={x}").as_bytes()).next().map(|(_, v)| v.into_owned());
        Some((dec(id)?, dec(secret)?))
    });
    Some(creds.ok_or_else(OAuthError::invalid_client))
}

/// Authenticates the client of a back-channel request by the method it registered; public
/// clients identify themselves with `client_id` alone. `audience` is this endpoint's URL (for
/// client assertions).
pub async fn authenticate(
    app: &App,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
    audience: &str,
) -> Result<Client, OAuthError> {
    let basic = basic_credentials(headers).transpose()?;
    let assertion = form.get("client_assertion");
    let post_secret = form.get("client_secret");
    let methods = usize::from(basic.is_some()) + usize::from(assertion.is_some()) + usize::from(post_secret.is_some());
    if methods > 1 {
        // RFC 6749 §2.3: a client uses one method per request.
        return Err(OAuthError::invalid_request("use exactly one client authentication method"));
    }
    let claimed = match (&basic, form.get("client_id")) {
        (Some((id, _)), Some(f)) if id != f => {
            return Err(OAuthError::invalid_request("client_id does not match the credentials"));
        }
        (Some((id, _)), _) => Some(id.clone()),
        (None, Some(f)) => Some(f.clone()),
        (None, None) => None,
    };
    let claimed = match (claimed, assertion) {
        (Some(c), _) => c,
        // RFC 7523 §3: the assertion's subject names the client.
        (None, Some(a)) => jsonwebtoken::dangerous::insecure_decode_claims::<serde_json::Value>(a)
            .ok()
            .and_then(|c| c.get("sub").and_then(|s| s.as_str()).map(str::to_string))
            .ok_or_else(OAuthError::invalid_client)?,
        (None, None) => return Err(OAuthError::invalid_client()),
    };
    let loaded = load_for_auth(app, &claimed).await?.ok_or_else(OAuthError::invalid_client)?;
    let (client, secrets) = (&loaded.0, &loaded.1);
    match client.auth_method.as_str() {
        "client_secret_basic" | "client_secret_post" => {
            let presented = match (&basic, post_secret) {
                (Some((_, s)), None) if client.auth_method == "client_secret_basic" => s.clone(),
                (None, Some(s)) if client.auth_method == "client_secret_post" => s.clone(),
                _ => return Err(OAuthError::invalid_client()),
            };
            let digest = PlainToken::from_presented(&presented).hash();
            let now = app.now();
            // Compare every live secret in constant time (no early exit on the first match).
            let ok = secrets.iter().filter(|s| s.expires_at.is_none_or(|e| e > now)).fold(false, |acc, s| {
                crate::crypto::constant_time_eq(s.secret_hash.as_bytes(), digest.as_bytes()) | acc
            });
            if !ok {
                return Err(OAuthError::invalid_client());
            }
        }
        "private_key_jwt" => {
            let a = assertion.ok_or_else(OAuthError::invalid_client)?;
            if form.get("client_assertion_type").map(String::as_str)
                != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            {
                return Err(OAuthError::invalid_client());
            }
            verify_assertion(app, client, a, audience).await?;
        }
        _ => {
            if basic.is_some() || post_secret.is_some() || assertion.is_some() {
                return Err(OAuthError::invalid_client());
            }
        }
    }
    Ok(client.clone())
}

/// RFC 7523 §3: signed by one of the client's keys, `iss` = `sub` = client id, `aud` this
/// endpoint or the issuer, unexpired (at most 10 minutes), `jti` never seen before.
async fn verify_assertion(app: &App, client: &Client, assertion: &str, audience: &str) -> Result<(), OAuthError> {
    let fail = OAuthError::invalid_client;
    if assertion.len() > 16 * 1024 {
        return Err(fail());
    }
    let set: jsonwebtoken::jwk::JwkSet =
        client.jwks.as_deref().and_then(|j| serde_json::from_str(j).ok()).ok_or_else(fail)?;
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| fail())?;
    let jwk = match header.kid.as_deref() {
        Some(kid) => set.find(kid),
        None if set.keys.len() == 1 => set.keys.first(),
        None => None,
    }
    .ok_or_else(fail)?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|_| fail())?;
    if matches!(
        header.alg,
        jsonwebtoken::Algorithm::HS256 | jsonwebtoken::Algorithm::HS384 | jsonwebtoken::Algorithm::HS512
    ) {
        return Err(fail());
    }
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.validate_exp = false;
    v.required_spec_claims.clear();
    v.set_audience(&[audience.to_string(), super::tokens::issuer(app)]);
    v.set_issuer(std::slice::from_ref(&client.client_id));
    let data = jsonwebtoken::decode::<serde_json::Value>(assertion, &key, &v).map_err(|_| fail())?;
    let c = data.claims;
    let now = app.now();
    let exp = c.get("exp").and_then(|e| e.as_i64()).ok_or_else(fail)?;
    let sub = c.get("sub").and_then(|s| s.as_str());
    let jti = c.get("jti").and_then(|s| s.as_str()).filter(|j| !j.is_empty() && j.len() <= 256).ok_or_else(fail)?;
    if sub != Some(client.client_id.as_str()) || exp <= now || exp > now + 600 {
        return Err(fail());
    }
    let mut tx = app.db.begin().await?;
    match store::insert_used_assertion(&mut tx, &format!("{}:{jti}", client.id), exp).await {
        Err(e) if is_unique_violation(&e) => return Err(fail()),
        r => r?,
    }
    tx.commit().await?;
    Ok(())
}
