//! Grants and the tokens they issue: redeeming an authorization code or an approved device code,
//! refresh-token rotation with reuse detection, and revocation. A grant is one sign-in of a user
//! to an app; its refresh tokens form one family, and revoking the grant ends every token in it.
//!
//! Grant events are audited through the batched writer (`audit::batch`), so the token endpoint
//! never waits for an audit commit of its own; the batcher loses nothing at shutdown.

use super::error::OAuthError;
use super::model::{self, Client};
use super::store::{self, Authn, Grant};
use super::tokens;
use crate::app::App;
use crate::audit::batch::OwnedEvent;
use crate::audit::{Actor, Origin};
use crate::crypto::token::PlainToken;
use crate::db::Tx;
use crate::error::Error;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

/// Refresh tokens: `lyd_rt_` + 256 random bits, opaque, SHA-256 at rest.
pub const REFRESH_PREFIX: &str = "lyd_rt";

/// The token endpoint's success response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Serialize)]
pub struct Issued {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
}

/// Queues an audit event for a grant, a refusal or a revocation.
pub async fn audit(
    app: &App,
    actor: Actor,
    action: &str,
    client: &Client,
    origin: &Origin,
    ok: bool,
    details: serde_json::Value,
) {
    app.audit_batch
        .submit(OwnedEvent {
            at: app.now(),
            actor,
            action: action.to_string(),
            target_kind: "application".into(),
            target_id: client.id.to_string(),
            outcome: if ok { "success" } else { "failure" },
            details,
            origin: origin.clone(),
        })
        .await;
}

fn client_actor(c: &Client) -> Actor {
    Actor::client(c.id, &c.client_id)
}

/// Opens a grant inside `tx`, with a first refresh token when the client may refresh.
async fn open_grant(
    tx: &mut Tx,
    app: &App,
    client: &Client,
    authn: &Authn,
    scope: &str,
) -> Result<(Grant, Option<PlainToken>), Error> {
    let now = app.now();
    let is_offline = scope.split(' ').any(|s| s == "offline_access");
    let grant = Grant {
        id: Uuid::now_v7(),
        client_id: client.id,
        user_id: authn.user_id,
        sid: authn.sid.clone(),
        scope: scope.to_string(),
        auth_time: authn.auth_time,
        amr: authn.amr.clone(),
        acr: authn.acr.clone(),
        is_offline,
        created_at: now,
        expires_at: now + client.refresh_token_ttl,
        revoked_at: None,
    };
    store::insert_grant(tx, &grant).await?;
    let refresh = if client.has_grant(model::GRANT_REFRESH) {
        let t = PlainToken::generate(REFRESH_PREFIX)?;
        store::insert_refresh(tx, &t.hash(), grant.id, now, grant.expires_at).await?;
        Some(t)
    } else {
        None
    };
    Ok((grant, refresh))
}

/// Signs the access token (and the ID token for `openid`) of a grant.
async fn tokens_for(
    app: &App,
    client: &Client,
    grant: &Grant,
    scope: &str,
    nonce: Option<&str>,
    refresh: Option<PlainToken>,
) -> Result<Issued, Error> {
    let user = crate::directory::service::get_user(app, grant.user_id).await?;
    let (access_token, exp) = tokens::access_token_for_grant(app, client, grant, scope).await?;
    let id_token = if scope.split(' ').any(|s| s == "openid") {
        Some(tokens::id_token(app, client, grant, &user, nonce, scope).await?)
    } else {
        None
    };
    Ok(Issued {
        access_token,
        token_type: "Bearer",
        expires_in: exp - app.now(),
        refresh_token: refresh.map(|r| r.expose().to_string()),
        id_token,
        scope: scope.to_string(),
    })
}

/// Whether the user behind a grant may still have tokens: active, and still assigned the app.
async fn user_still_allowed(app: &App, client: &Client, user: Uuid) -> Result<bool, Error> {
    let u = match crate::directory::service::get_user(app, user).await {
        Ok(u) => u,
        Err(Error::NotFound(_)) => return Ok(false),
        Err(e) => return Err(e),
    };
    Ok(u.is_active() && super::clients::is_assigned(app, client, user).await?)
}

/// The authorization_code grant (RFC 6749 §4.1.3, RFC 7636 §4.6).
pub async fn redeem_code(
    app: &App,
    client: &Client,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    origin: &Origin,
) -> Result<Issued, OAuthError> {
    let now = app.now();
    let hash = PlainToken::from_presented(code).hash();
    let mut tx = app.db.begin().await?;
    let Some(row) = store::find_code(&mut tx, &hash).await? else {
        return Err(OAuthError::invalid_grant("the authorization code is invalid"));
    };
    if row.client_id != client.id {
        return Err(OAuthError::invalid_grant("the authorization code was issued to another client"));
    }
    if !store::use_code(&mut tx, &hash, now).await? {
        // RFC 6749 §4.1.2: a code used twice revokes what its first use issued.
        let revoked = match row.grant_id {
            Some(g) => store::revoke_grant(&mut tx, g, now).await?,
            None => false,
        };
        tx.commit().await?;
        audit(
            app,
            client_actor(client),
            "oidc.code_reuse",
            client,
            origin,
            false,
            json!({"grant_revoked": revoked, "user_id": row.user_id}),
        )
        .await;
        return Err(OAuthError::invalid_grant(
            "the authorization code was already used; the tokens it issued are revoked",
        ));
    }
    if row.expires_at <= now {
        tx.commit().await?;
        return Err(OAuthError::invalid_grant("the authorization code has expired"));
    }
    if redirect_uri != Some(row.redirect_uri.as_str()) {
        tx.commit().await?;
        return Err(OAuthError::invalid_grant("redirect_uri does not match the authorization request"));
    }
    match (&row.code_challenge, verifier) {
        (Some(challenge), Some(v)) => {
            if !model::is_valid_verifier(v)
                || !crate::crypto::constant_time_eq(model::s256(v).as_bytes(), challenge.as_bytes())
            {
                tx.commit().await?;
                return Err(OAuthError::invalid_grant("the PKCE code_verifier does not match the code_challenge"));
            }
        }
        (Some(_), None) => {
            tx.commit().await?;
            return Err(OAuthError::invalid_grant("code_verifier is required (PKCE)"));
        }
        (None, Some(_)) => {
            tx.commit().await?;
            return Err(OAuthError::invalid_grant(
                "code_verifier given but the authorization request had no code_challenge",
            ));
        }
        (None, None) => {}
    }
    let authn = Authn {
        user_id: row.user_id,
        sid: row.sid.clone(),
        auth_time: row.auth_time,
        amr: row.amr.clone(),
        acr: row.acr.clone(),
    };
    let (grant, refresh) = open_grant(&mut tx, app, client, &authn, &row.scope).await?;
    store::set_code_grant(&mut tx, &hash, grant.id).await?;
    tx.commit().await?;
    let issued = tokens_for(app, client, &grant, &row.scope, row.nonce.as_deref(), refresh).await?;
    audit(
        app,
        Actor::user(row.user_id, ""),
        "oidc.token.authorization_code",
        client,
        origin,
        true,
        json!({"grant_id": grant.id, "scope": row.scope}),
    )
    .await;
    Ok(issued)
}

/// Redeems an approved device code (RFC 8628 §3.5) into a grant.
pub async fn open_device_grant(
    app: &App,
    client: &Client,
    authn: &Authn,
    scope: &str,
    origin: &Origin,
) -> Result<Issued, OAuthError> {
    let mut tx = app.db.begin().await?;
    let (grant, refresh) = open_grant(&mut tx, app, client, authn, scope).await?;
    tx.commit().await?;
    let issued = tokens_for(app, client, &grant, scope, None, refresh).await?;
    audit(
        app,
        Actor::user(authn.user_id, ""),
        "oidc.token.device_code",
        client,
        origin,
        true,
        json!({"grant_id": grant.id, "scope": scope}),
    )
    .await;
    Ok(issued)
}

/// The refresh_token grant (RFC 6749 §6): the presented token is spent and a new one issued; a
/// spent token presented again means it was stolen, so the whole family is revoked (OAuth 2.0
/// Security BCP §4.14.2).
pub async fn refresh(
    app: &App,
    client: &Client,
    token: &str,
    scope: Option<&str>,
    origin: &Origin,
) -> Result<Issued, OAuthError> {
    let now = app.now();
    let hash = PlainToken::from_presented(token).hash();
    let mut tx = app.db.begin().await?;
    let invalid = || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
    let Some(row) = store::find_refresh(&mut tx, &hash).await? else { return Err(invalid()) };
    let Some(grant) = store::find_grant(&mut tx, row.grant_id).await? else { return Err(invalid()) };
    if grant.client_id != client.id {
        return Err(invalid());
    }
    if row.used_at.is_some() || !store::use_refresh(&mut tx, &hash, now).await? {
        let revoked = store::revoke_grant(&mut tx, grant.id, now).await?;
        tx.commit().await?;
        audit(
            app,
            client_actor(client),
            "oidc.refresh_reuse",
            client,
            origin,
            false,
            json!({"grant_id": grant.id, "family_revoked": revoked, "user_id": grant.user_id}),
        )
        .await;
        return Err(OAuthError::invalid_grant("the refresh token was already used; its whole family is revoked"));
    }
    if grant.revoked_at.is_some() || row.expires_at <= now || grant.expires_at <= now {
        return Err(invalid());
    }
    // A grant that is not offline lives only as long as the portal session that made it.
    if !grant.is_offline && !crate::authn::sessions::is_alive_in(&mut tx, &grant.sid, now).await? {
        store::revoke_grant(&mut tx, grant.id, now).await?;
        tx.commit().await?;
        return Err(OAuthError::invalid_grant("the sign-in session behind this refresh token has ended"));
    }
    let scope = match scope {
        None | Some("") => grant.scope.clone(),
        Some(s) => {
            let asked = model::parse_scope(s).map_err(|e| OAuthError::invalid_scope(e.to_string()))?;
            let granted: Vec<&str> = grant.scope.split(' ').collect();
            if !asked.iter().all(|a| granted.contains(&a.as_str())) {
                return Err(OAuthError::invalid_scope("a refresh may only narrow the granted scope"));
            }
            asked.join(" ")
        }
    };
    let next = PlainToken::generate(REFRESH_PREFIX).map_err(Error::from)?;
    store::insert_refresh(&mut tx, &next.hash(), grant.id, now, grant.expires_at).await?;
    tx.commit().await?;
    if !user_still_allowed(app, client, grant.user_id).await? {
        let mut tx = app.db.begin().await?;
        store::revoke_grant(&mut tx, grant.id, now).await?;
        tx.commit().await?;
        return Err(invalid());
    }
    let issued = tokens_for(app, client, &grant, &scope, None, Some(next)).await?;
    audit(
        app,
        client_actor(client),
        "oidc.token.refresh_token",
        client,
        origin,
        true,
        json!({"grant_id": grant.id, "user_id": grant.user_id}),
    )
    .await;
    Ok(issued)
}

/// Whether an access token's grant (if it has one) is still live and its user still active.
pub async fn access_token_live(app: &App, claims: &tokens::AccessClaims) -> Result<bool, Error> {
    let mut tx = app.db.conn().await?;
    if store::is_revoked(&mut tx, &claims.jti).await? {
        return Ok(false);
    }
    if let Some(gid) = claims.gid.as_deref() {
        let Ok(gid) = Uuid::parse_str(gid) else { return Ok(false) };
        let Some(g) = store::find_grant(&mut tx, gid).await? else { return Ok(false) };
        if g.revoked_at.is_some() {
            return Ok(false);
        }
        drop(tx);
        return match crate::directory::service::get_user(app, g.user_id).await {
            Ok(u) => Ok(u.is_active()),
            Err(Error::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        };
    }
    drop(tx);
    // A client's own token (client_credentials) lives as long as the client stays enabled.
    Ok(super::clients::find_enabled(app, &claims.client_id).await?.is_some())
}

/// Revokes a token the client holds (RFC 7009 §2.1): a refresh token ends its family, an
/// access token is listed as revoked until it would expire. Tokens of other clients and unknown
/// tokens are ignored (the response is the same either way).
pub async fn revoke_token(
    app: &App,
    client: &Client,
    token: &str,
    hint: Option<&str>,
    origin: &Origin,
) -> Result<(), OAuthError> {
    let now = app.now();
    let try_access_first = hint == Some("access_token");
    if (try_access_first || token.contains('.'))
        && let Some(claims) = tokens::verify_access(app, token).await
    {
        if claims.client_id == client.client_id {
            let mut tx = app.db.begin().await?;
            store::insert_revoked(&mut tx, &claims.jti, claims.exp).await?;
            tx.commit().await?;
            audit(
                app,
                client_actor(client),
                "oidc.revoke.access_token",
                client,
                origin,
                true,
                json!({"jti": claims.jti}),
            )
            .await;
        }
        return Ok(());
    }
    let hash = PlainToken::from_presented(token).hash();
    let mut tx = app.db.begin().await?;
    if let Some(row) = store::find_refresh(&mut tx, &hash).await?
        && let Some(grant) = store::find_grant(&mut tx, row.grant_id).await?
        && grant.client_id == client.id
    {
        store::revoke_grant(&mut tx, grant.id, now).await?;
        tx.commit().await?;
        audit(
            app,
            client_actor(client),
            "oidc.revoke.refresh_token",
            client,
            origin,
            true,
            json!({"grant_id": grant.id}),
        )
        .await;
    }
    Ok(())
}

/// Ends every grant of a user, in the caller's transaction (sign out everywhere, disable,
/// password or factor reset): their refresh tokens stop working and access tokens stop
/// passing userinfo and introspection.
pub async fn revoke_user_in(tx: &mut Tx, user: Uuid, now: i64) -> Result<u64, sqlx::Error> {
    store::revoke_grants_of_user(tx, user, now).await
}

/// Ends the sign-in behind an access token (the SSO portal's Logout): the token is listed as
/// revoked and its grant, with every refresh token of it, ends.
pub async fn end_grant_of(app: &App, claims: &tokens::AccessClaims) -> Result<(), Error> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    store::insert_revoked(&mut tx, &claims.jti, claims.exp).await?;
    if let Some(gid) = claims.gid.as_deref().and_then(|g| Uuid::parse_str(g).ok()) {
        store::revoke_grant(&mut tx, gid, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// When a grant (a sign-in to an app) ends, if it exists and is live.
pub async fn grant_end(app: &App, grant: Uuid) -> Result<Option<i64>, Error> {
    let mut tx = app.db.conn().await?;
    Ok(store::find_grant(&mut tx, grant).await?.filter(|g| g.revoked_at.is_none()).map(|g| g.expires_at))
}

/// Whether the portal sign-in with this public session id (an ID token's `sid`) is still on.
pub async fn sign_in_alive(app: &App, sid: &str) -> Result<bool, Error> {
    let mut tx = app.db.conn().await?;
    Ok(crate::authn::sessions::is_alive_in(&mut tx, sid, app.now()).await?)
}
