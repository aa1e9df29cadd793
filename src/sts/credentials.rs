//! Role credentials: issued for (user, account, permission set) when the user may use that role,
//! stored so any instance can verify them (the secret sealed, the session token as a digest),
//! and checked on every use: the signature, the token, expiry, revocation, and that the
//! assignment and the user still stand, so removing either ends the credentials at once
//! (credentials from a trust policy need the role and the user; a trust policy is checked when
//! they are issued, so removing one stops new credentials, not those already out).

use super::model::{self, Caller, Credentials, Holder, Source, Stored};
use super::sigv4::{self, SigError};
use super::store;
use crate::access::model::AccountId;
use crate::app::App;
use crate::audit::batch::OwnedEvent;
use crate::audit::{Actor, Origin};
use crate::crypto::token::PlainToken;
use crate::db::Tx;
use crate::error::{Error, Result};
use serde_json::json;
use uuid::Uuid;

/// What to issue credentials for.
#[derive(Debug, Clone)]
pub struct Issue<'a> {
    pub holder: Holder,
    pub account: &'a str,
    /// The permission set (role) name, in any case.
    pub role: &'a str,
    pub source: Source,
    /// Defaults to the username.
    pub session_name: Option<String>,
    /// Requested lifetime; defaults to, and may not exceed, the permission set's session duration.
    pub duration: Option<i64>,
    /// The end of the sign-in behind the request, when credentials must not outlive it.
    pub not_after: Option<i64>,
    /// When a second factor was last used in the sign-in behind the request.
    pub mfa_at: Option<i64>,
    /// For role chaining: the credentials that asked.
    pub parent: Option<&'a str>,
    /// The OIDC grant (SSO sign-in) behind the request.
    pub grant: Option<Uuid>,
    /// The caller checked the role's trust policy (AssumeRole, AssumeRoleWithWebIdentity): the
    /// role must exist in the account, but need not be assigned to the user. A workload holds
    /// roles only this way.
    pub trusted: bool,
}

/// The role being issued for: what the credentials row records.
struct Target {
    permission_set_id: Uuid,
    role_name: String,
    session_duration: i64,
    username: String,
}

async fn active_username(app: &App, user: Uuid) -> Result<Option<String>> {
    match crate::directory::service::get_user(app, user).await {
        Ok(u) if u.is_active() => Ok(Some(u.username)),
        Ok(_) | Err(Error::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn target(app: &App, account: &AccountId, role: &str, holder: &Holder, trusted: bool) -> Result<Option<Target>> {
    let user = match holder {
        Holder::User(u) => *u,
        // A workload: the role must stand; the provider does too while the row exists (its
        // removal deletes the credentials).
        Holder::Workload { subject, .. } => {
            if !trusted {
                return Ok(None);
            }
            let Some(r) = crate::access::permission_sets::provisioned_role(app, account, role).await? else {
                return Ok(None);
            };
            return Ok(Some(Target {
                permission_set_id: r.permission_set_id,
                role_name: r.role_name,
                session_duration: r.session_duration,
                username: subject.clone(),
            }));
        }
    };
    if !trusted {
        return Ok(crate::access::assignments::usable_role(app, account, role, user).await?.map(|r| Target {
            permission_set_id: r.permission_set_id,
            role_name: r.role_name,
            session_duration: r.session_duration,
            username: r.username,
        }));
    }
    let Some(r) = crate::access::permission_sets::provisioned_role(app, account, role).await? else { return Ok(None) };
    let Some(username) = active_username(app, user).await? else { return Ok(None) };
    Ok(Some(Target {
        permission_set_id: r.permission_set_id,
        role_name: r.role_name,
        session_duration: r.session_duration,
        username,
    }))
}

/// Fresh credentials and who they make the bearer.
#[derive(Debug, Clone)]
pub struct Issued {
    pub credentials: Credentials,
    pub caller: Caller,
}

/// Refuses issuance when the MFA policy is not met: users the policy covers need a second
/// factor in the sign-in, and with step-up on, users with a factor need one used recently.
pub async fn check_mfa(app: &App, user: Uuid, mfa_at: Option<i64>) -> Result<()> {
    let policy = crate::authn::mfa::policy(app).await?;
    if policy.mode == "optional" && policy.step_up_minutes == 0 {
        return Ok(());
    }
    if mfa_at.is_none() && crate::authn::mfa::required_for(app, user).await? {
        return Err(Error::SignInAgain(
            "the MFA policy requires a second factor for role credentials: sign in again with one".into(),
        ));
    }
    let minutes = policy.step_up_minutes;
    if minutes > 0
        && mfa_at.is_none_or(|t| app.now() - t > i64::from(minutes) * 60)
        && crate::authn::mfa::has_factors(app, user).await?
    {
        return Err(Error::SignInAgain(format!(
            "role credentials need a second factor used in the last {minutes} minutes: sign in again (step up)"
        )));
    }
    Ok(())
}

/// Issues credentials for a role the user may use now.
pub async fn issue(app: &App, req: Issue<'_>, origin: &Origin) -> Result<Issued> {
    let account = AccountId::parse(req.account)?;
    let Some(role) = target(app, &account, req.role, &req.holder, req.trusted).await? else {
        return Err(Error::Forbidden(if req.trusted {
            format!("there is no role {} in account {}", req.role.trim(), account.as_str())
        } else {
            format!("no assignment gives you the role {} in account {}", req.role.trim(), account.as_str())
        }));
    };
    if let Holder::User(user) = req.holder {
        check_mfa(app, user, req.mfa_at).await?;
    }
    let now = app.now();
    let mut max = role.session_duration.clamp(model::MIN_DURATION, model::MAX_DURATION);
    if req.parent.is_some() {
        max = max.min(model::MAX_CHAINED_DURATION);
    }
    let duration = match req.duration {
        None => max,
        Some(d) if (model::MIN_DURATION..=max).contains(&d) => d,
        Some(_) => {
            return Err(Error::invalid(
                "DurationSeconds",
                format!("must be {}–{max} seconds for this role", model::MIN_DURATION),
            ));
        }
    };
    let mut expires_at = now + duration;
    if let Some(end) = req.not_after {
        expires_at = expires_at.min(end);
    }
    if expires_at <= now {
        return Err(Error::SignInAgain("your sign-in has ended: sign in again".into()));
    }
    let session_name = match req.session_name {
        Some(s) => model::parse_session_name(&s)?,
        None => model::session_name_for(&role.username),
    };
    let secret = model::new_secret_access_key()?;
    let token = PlainToken::generate(model::SESSION_TOKEN_PREFIX)?;
    let mut access_key_id = model::new_access_key_id()?;
    let mut attempt = 0;
    loop {
        let row = Stored {
            access_key_id: access_key_id.clone(),
            secret_sealed: app.sealer.seal(secret.as_bytes(), access_key_id.as_bytes())?,
            session_token_hash: token.hash(),
            user_id: req.holder.user(),
            provider_id: match &req.holder {
                Holder::Workload { provider, .. } => Some(*provider),
                Holder::User(_) => None,
            },
            subject: match &req.holder {
                Holder::Workload { subject, .. } => Some(subject.clone()),
                Holder::User(_) => None,
            },
            account_id: account.as_str().to_string(),
            permission_set_id: role.permission_set_id,
            role_name: role.role_name.clone(),
            session_name: session_name.clone(),
            source: req.source.as_str().to_string(),
            parent_key: req.parent.map(str::to_string),
            grant_id: req.grant,
            mfa_at: req.mfa_at,
            issued_at: now,
            expires_at,
            revoked_at: None,
            ip: origin.ip.clone(),
            user_agent: origin.user_agent.clone(),
        };
        let mut tx = app.db.begin().await?;
        match store::insert(&mut tx, &row).await {
            // 80 random bits: a clash is all but impossible, but costs only a retry.
            Err(e) if crate::db::is_unique_violation(&e) && attempt < 3 => {
                attempt += 1;
                access_key_id = model::new_access_key_id()?;
            }
            Err(e) if crate::db::is_foreign_key_violation(&e) => {
                return Err(Error::Forbidden("the role, user or identity provider was removed a moment ago".into()));
            }
            r => {
                r?;
                tx.commit().await?;
                break;
            }
        }
    }
    let caller = Caller {
        access_key_id: access_key_id.clone(),
        holder: req.holder.clone(),
        username: role.username.clone(),
        account_id: account.as_str().to_string(),
        permission_set_id: role.permission_set_id,
        role_name: role.role_name.clone(),
        session_name,
        expires_at,
        mfa_at: req.mfa_at,
        chained: req.parent.is_some(),
        trusted: req.trusted,
    };
    audit(
        app,
        caller.actor(),
        "sts.credentials.issue",
        &caller.arn(),
        origin,
        true,
        json!({"access_key_id": access_key_id, "source": req.source.as_str(), "expires_at": expires_at,
               "parent": req.parent, "grant_id": req.grant}),
    )
    .await;
    metrics::counter!("lanyard_role_credentials_issued_total", "source" => req.source.as_str()).increment(1);
    Ok(Issued {
        credentials: Credentials {
            access_key_id,
            secret_access_key: secret,
            session_token: token.expose().to_string(),
            expiration: expires_at,
        },
        caller,
    })
}

async fn audit(
    app: &App,
    actor: Actor,
    action: &str,
    target: &str,
    origin: &Origin,
    ok: bool,
    mut details: serde_json::Value,
) {
    // The audit row keeps the IP; the user agent goes into the details.
    if let Some(d) = details.as_object_mut() {
        d.insert("user_agent".into(), json!(origin.user_agent));
    }
    app.audit_batch
        .submit(OwnedEvent {
            at: app.now(),
            actor,
            action: action.to_string(),
            target_kind: "role".into(),
            target_id: target.to_string(),
            outcome: if ok { "success" } else { "failure" },
            details,
            origin: origin.clone(),
        })
        .await;
}

/// Authenticates a request signed with Lanyard role credentials (SigV4, header or presigned
/// form) for one of `services`; `action` names the call in the audit log. Every use, and every
/// refused signature that names a key, is audited.
pub async fn authenticate(
    app: &App,
    req: &sigv4::Request<'_>,
    services: &[&str],
    action: &str,
    origin: &Origin,
) -> Result<Caller, SigError> {
    let claim = sigv4::parse(req, services)?;
    let result = check(app, req, &claim).await;
    match &result {
        Ok(c) => {
            audit(
                app,
                c.actor(),
                "sts.credentials.use",
                &c.arn(),
                origin,
                true,
                json!({"access_key_id": c.access_key_id, "action": action}),
            )
            .await;
        }
        Err(e) => {
            audit(
                app,
                Actor::anonymous(&claim.access_key),
                "sts.credentials.use",
                &claim.access_key,
                origin,
                false,
                json!({"access_key_id": claim.access_key, "action": action, "error": e.code()}),
            )
            .await;
        }
    }
    result
}

async fn check(app: &App, req: &sigv4::Request<'_>, claim: &sigv4::Claim) -> Result<Caller, SigError> {
    let now = app.now();
    claim.check_time(now)?;
    if !model::is_access_key_id(&claim.access_key) {
        return Err(SigError::InvalidToken);
    }
    let internal = |e: Error| {
        let _ = e.public_message();
        SigError::Internal
    };
    let mut tx = app.db.conn().await.map_err(|e| internal(e.into()))?;
    let Some(row) = store::find(&mut tx, &claim.access_key).await.map_err(|e| internal(e.into()))? else {
        return Err(SigError::InvalidToken);
    };
    let secret = app
        .sealer
        .unseal(&mut tx, &row.secret_sealed, row.access_key_id.as_bytes())
        .await
        .map_err(|e| internal(e.into()))?;
    drop(tx);
    let secret = String::from_utf8(secret).map_err(|e| internal(Error::internal(e)))?;
    sigv4::verify(req, claim, &secret)?;
    // The signature is right: now say whether the credentials still hold.
    let token_ok = claim.security_token.as_deref().is_some_and(|t| {
        crate::crypto::constant_time_eq(
            PlainToken::from_presented(t).hash().as_bytes(),
            row.session_token_hash.as_bytes(),
        )
    });
    if !token_ok || row.revoked_at.is_some() {
        return Err(SigError::InvalidToken);
    }
    if row.expires_at <= now {
        return Err(SigError::Expired);
    }
    let Some(holder) = Holder::of(&row) else { return Err(SigError::InvalidToken) };
    match still_valid(app, &row, 0).await {
        Ok(Some(username)) => Ok(Caller {
            access_key_id: row.access_key_id,
            holder,
            username,
            account_id: row.account_id,
            permission_set_id: row.permission_set_id,
            role_name: row.role_name,
            session_name: row.session_name,
            expires_at: row.expires_at,
            mfa_at: row.mfa_at,
            chained: row.parent_key.is_some(),
            trusted: matches!(row.source.as_str(), "assume_role" | "web_identity"),
        }),
        // The assignment, the role, the account or the user is gone: so are the credentials.
        Ok(None) => Err(SigError::InvalidToken),
        Err(e) => Err(internal(e)),
    }
}

/// Most links of a role chain followed back to the assignment it started from.
const MAX_CHAIN: usize = 5;

/// Whether what granted the credentials still stands, with the user's name: the assignment
/// (portal, SSO), the role and the user (web identity), or, for a chained role, the role and
/// every link back to its first credentials, none of them revoked.
async fn still_valid(app: &App, row: &Stored, depth: usize) -> Result<Option<String>> {
    if row.revoked_at.is_some() || depth > MAX_CHAIN {
        return Ok(None);
    }
    let account = AccountId::parse(&row.account_id)?;
    let trusted = matches!(row.source.as_str(), "assume_role" | "web_identity");
    let Some(holder) = Holder::of(row) else { return Ok(None) };
    let Some(t) = target(app, &account, &row.role_name, &holder, trusted).await? else { return Ok(None) };
    if t.permission_set_id != row.permission_set_id {
        return Ok(None);
    }
    if row.source == "assume_role" {
        let Some(parent_key) = row.parent_key.as_deref() else { return Ok(None) };
        let mut tx = app.db.conn().await?;
        let Some(parent) = store::find(&mut tx, parent_key).await? else { return Ok(None) };
        drop(tx);
        if Box::pin(still_valid(app, &parent, depth + 1)).await?.is_none() {
            return Ok(None);
        }
    }
    Ok(Some(t.username))
}

/// Revokes a user's live credentials in the caller's transaction (sign out everywhere, disable,
/// password or factor reset).
pub async fn revoke_user_in(tx: &mut Tx, user: Uuid, now: i64) -> Result<u64, sqlx::Error> {
    store::revoke_user(tx, user, now).await
}

/// Revokes one set of credentials (and those chained from it); `user`, when given, must own it.
pub async fn revoke(app: &App, actor: &Actor, origin: &Origin, access_key_id: &str, user: Option<Uuid>) -> Result<()> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let row = store::find(&mut tx, access_key_id).await?.filter(|r| user.is_none_or(|u| Some(u) == r.user_id));
    let Some(row) = row else { return Err(Error::NotFound("credentials")) };
    let n = store::revoke(&mut tx, access_key_id, now).await?;
    crate::audit::record(
        &mut tx,
        now,
        origin,
        crate::audit::Event::new(
            actor,
            "sts.credentials.revoke",
            "role",
            model::assumed_role_arn(&row.account_id, &row.role_name, &row.session_name),
        )
        .details(json!({"access_key_id": access_key_id, "revoked": n, "user_id": row.user_id,
                        "provider_id": row.provider_id, "subject": row.subject})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A user's live credentials (for the portal and the admin API), newest first.
pub async fn live_for_user(app: &App, user: Uuid) -> Result<Vec<Stored>> {
    let mut tx = app.db.conn().await?;
    Ok(store::list_live_for_user(&mut tx, user, app.now(), 200).await?)
}

/// Forgets credentials a day after they expired.
pub async fn delete_expired_in(tx: &mut Tx, now: i64) -> Result<u64, sqlx::Error> {
    store::delete_expired(tx, now - 86_400).await
}
