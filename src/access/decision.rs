//! Decisions: "may this principal do this action on this resource?" for resource services
//! (`POST /api/v1/authorize`), and the simulator admins use to try permission sets and policy
//! documents before assigning them. Both evaluate with [`super::policy`].
//!
//! A decision is one database statement (is the user active and assigned this role, through a
//! group or directly, in an active account, and at which revision?) plus an in-process cache of
//! compiled permission sets keyed by (permission set, revision) — revisions never change — so
//! every instance sees an edit as soon as provisioning moves the role.

use super::model::{AccountId, Snapshot};
use super::permission_sets::validate_document;
use super::policy::{self, Context, Decision, NamedPolicy, Outcome, Request};
use super::store;
use crate::app::App;
use crate::directory::Ctx;
use crate::error::{Error, Result};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use uuid::Uuid;

/// Most context keys and values per key a request may carry (bounded work per request).
pub const MAX_CONTEXT_KEYS: usize = 100;
pub const MAX_CONTEXT_VALUES: usize = 50;
/// Most action × resource pairs one simulation evaluates.
pub const MAX_SIMULATIONS: usize = 1000;
/// Most documents one simulation takes.
pub const MAX_SIMULATED_POLICIES: usize = 20;
/// Entries kept in the compiled-role cache before it is cleared.
const CACHE_LIMIT: usize = 10_000;

/// A role's policies, compiled.
#[derive(Debug)]
pub struct CompiledRole {
    pub revision: i64,
    pub identity: Vec<NamedPolicy>,
    pub boundary: Option<Vec<NamedPolicy>>,
}

/// Compiled permission sets by (permission set, revision): a revision never changes, so one
/// entry serves every account whose role carries it.
#[derive(Debug, Default)]
pub struct RoleCache {
    roles: RwLock<HashMap<(Uuid, i64), Arc<CompiledRole>>>,
}

impl RoleCache {
    fn get(&self, ps: Uuid, revision: i64) -> Option<Arc<CompiledRole>> {
        self.roles.read().ok()?.get(&(ps, revision)).cloned()
    }

    fn put(&self, ps: Uuid, revision: i64, role: Arc<CompiledRole>) {
        if let Ok(mut roles) = self.roles.write() {
            if roles.len() >= CACHE_LIMIT {
                roles.clear();
            }
            roles.insert((ps, revision), role);
        }
    }
}

fn compile(snapshot: &Snapshot, revision: i64) -> Result<CompiledRole> {
    let named = |(name, doc): &(String, String)| -> Result<NamedPolicy> {
        let policy =
            policy::parse(doc).map_err(|e| Error::internal(anyhow::anyhow!("stored policy {name} is invalid: {e}")))?;
        Ok(NamedPolicy { name: name.clone(), policy })
    };
    Ok(CompiledRole {
        revision,
        identity: snapshot.policies.iter().map(named).collect::<Result<_>>()?,
        boundary: match &snapshot.boundary {
            Some(b) => Some(vec![named(b)?]),
            None => None,
        },
    })
}

/// Context keys that describe the principal or the time: only Lanyard sets them in a decision,
/// whatever the caller sends (a resource service must not be able to claim another user).
fn is_reserved(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    let Some(name) = k.strip_prefix("aws:").or_else(|| k.strip_prefix("lanyard:")) else { return false };
    // Everything about the principal (`Principal*`: Arn, Account, Tag/…, OrgID, OrgPaths,
    // IsAWSService, ServiceName, Type …), its session and the clock.
    name.starts_with("principal")
        || matches!(
            name,
            "username"
                | "userid"
                | "currenttime"
                | "epochtime"
                | "multifactorauthpresent"
                | "multifactorauthage"
                | "sourceidentity"
                | "tokenissuetime"
                | "rolesessionname"
                | "federatedprovider"
                | "viaawsservice"
                | "calledvia"
                | "calledviafirst"
                | "calledvialast"
        )
}

/// Turns request context (`{"key": value | [values]}`) into a policy [`Context`].
pub fn context_from(values: &BTreeMap<String, Value>, keep_reserved: bool) -> Result<Context> {
    if values.len() > MAX_CONTEXT_KEYS {
        return Err(Error::invalid("context", format!("at most {MAX_CONTEXT_KEYS} keys")));
    }
    let mut ctx = Context::new();
    for (k, v) in values {
        if k.is_empty() || k.len() > 256 {
            return Err(Error::invalid("context", "keys are 1–256 characters"));
        }
        if !keep_reserved && is_reserved(k) {
            continue;
        }
        let one = |v: &Value| -> Result<String> {
            match v {
                Value::String(s) if s.len() <= 4096 => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                Value::Bool(b) => Ok(b.to_string()),
                _ => Err(Error::invalid(
                    "context",
                    format!("{k}: values are strings (at most 4096 bytes), numbers or booleans"),
                )),
            }
        };
        let list = match v {
            Value::Array(a) if a.len() > MAX_CONTEXT_VALUES => {
                return Err(Error::invalid("context", format!("{k}: at most {MAX_CONTEXT_VALUES} values")));
            }
            Value::Array(a) => a.iter().map(one).collect::<Result<Vec<_>>>()?,
            other => vec![one(other)?],
        };
        ctx.set(k, list);
    }
    Ok(ctx)
}

fn check_request(action: &str, resource: &str) -> Result<()> {
    if action.is_empty() || action.len() > 256 || !action.contains(':') || action.chars().any(char::is_control) {
        return Err(Error::invalid("action", "must be service:Action, at most 256 characters"));
    }
    if resource.is_empty() || resource.len() > 2048 || resource.chars().any(char::is_control) {
        return Err(Error::invalid("resource", "must be 1–2048 characters (an ARN, or *)"));
    }
    Ok(())
}

/// Sets the keys Lanyard vouches for: the principal and the time.
fn set_principal(ctx: &mut Context, app: &App, user: Option<(Uuid, &str)>, account: Option<&str>, role: Option<&str>) {
    let now = app.now();
    if let Some((id, name)) = user {
        ctx.set("lanyard:username", vec![name.to_string()]);
        ctx.set("lanyard:userid", vec![id.to_string()]);
    }
    if let Some(a) = account {
        ctx.set("lanyard:PrincipalAccount", vec![a.to_string()]);
        if let Some(r) = role {
            ctx.set("lanyard:PrincipalArn", vec![super::model::role_arn(a, r)]);
            ctx.set("lanyard:PrincipalType", vec!["AssumedRole".to_string()]);
        }
    }
    ctx.set("lanyard:CurrentTime", vec![crate::clock::format_unix(now)]);
    ctx.set("lanyard:EpochTime", vec![now.to_string()]);
}

/// A decision with the principal it was made for.
#[derive(Debug, Clone, Serialize)]
pub struct Authorized {
    #[serde(flatten)]
    pub outcome: Outcome,
    pub principal_arn: String,
}

/// What a resource service asks: may `user`, acting in `role` (a permission set name) in
/// `account`, do `action` on `resource`?
#[derive(Debug, Clone, Copy)]
pub struct Question<'a> {
    /// None: a workload (no Lanyard user) holding the role through a web identity; it must be
    /// `trusted`.
    pub user: Option<Uuid>,
    pub account: &'a AccountId,
    pub role: &'a str,
    pub action: &'a str,
    pub resource: &'a str,
    pub context: &'a BTreeMap<String, Value>,
    /// The user holds the role through STS credentials that a trust policy granted (a role
    /// chain or a web identity), already checked by the caller: the role must exist in the
    /// account and the user be active, but need not be assigned to them.
    pub trusted: bool,
}

/// Answers a [`Question`]. An unassigned role, a suspended account or a disabled user is a deny
/// that says so, never an error, so callers need only one code path. `caller` (the resource
/// service) is recorded in the audit event.
pub async fn authorize(app: &App, caller: &Ctx, q: &Question<'_>) -> Result<Authorized> {
    let Question { user, account, role, action, resource, context, trusted } = *q;
    check_request(action, resource)?;
    let (_, role_key) = super::model::parse_iam_name("permission_set", role, 32)?;
    let mut ctx = context_from(context, false)?;
    let mut conn = app.db.conn().await?;
    let found = match (user, trusted) {
        (Some(user), true) => store::provisioned_usable(&mut conn, account.as_str(), &role_key, user).await?,
        (Some(user), false) => store::usable_role(&mut conn, account.as_str(), &role_key, user).await?,
        (None, true) => store::provisioned_for_workload(&mut conn, account.as_str(), &role_key).await?,
        (None, false) => None,
    };
    // The snapshot, when the compiled role is not cached at this revision; a role removed in
    // between decides like an unassigned one.
    let found = match found {
        Some(f) => match app.roles.get(f.permission_set_id, f.revision) {
            Some(c) => Some((f, c)),
            None => match store::find_snapshot(&mut conn, f.permission_set_id, f.revision).await? {
                Some(text) => {
                    let snap: Snapshot = serde_json::from_str(&text).map_err(Error::internal)?;
                    let c = Arc::new(compile(&snap, f.revision)?);
                    app.roles.put(f.permission_set_id, f.revision, c.clone());
                    Some((f, c))
                }
                None => None,
            },
        },
        None => None,
    };
    drop(conn);
    let Some((found, compiled)) = found else {
        metrics::counter!("lanyard_decisions_total", "decision" => "deny", "reason" => "not_assigned").increment(1);
        let principal_arn = super::model::role_arn(account.as_str(), role.trim());
        let denied = Authorized {
            outcome: Outcome {
                decision: Decision::Deny,
                explicit: false,
                policy: None,
                sid: None,
                reason: format!(
                    "denied: the user may not use {principal_arn} (not assigned, or the user is disabled or the account suspended)"
                ),
            },
            principal_arn,
        };
        audit_decision(app, caller, user, action, resource, &denied).await;
        return Ok(denied);
    };
    // The ARN and the principal keys use the role's own name, never the caller's spelling of
    // it: `aws:PrincipalArn` comparisons are case-sensitive.
    let principal_arn = super::model::role_arn(account.as_str(), &found.role_name);
    let person = user.map(|u| (u, found.username.as_str()));
    set_principal(&mut ctx, app, person, Some(account.as_str()), Some(&found.role_name));
    let outcome = policy::evaluate(
        &compiled.identity,
        compiled.boundary.as_deref(),
        &Request { action, resource, context: &ctx },
    );
    let label = if outcome.decision == Decision::Allow { "allow" } else { "deny" };
    metrics::counter!("lanyard_decisions_total", "decision" => label, "reason" => "policy").increment(1);
    let decided = Authorized { outcome, principal_arn };
    audit_decision(app, caller, user, action, resource, &decided).await;
    Ok(decided)
}

/// Queues the decision for the audit log (as `audit.decisions` says), without waiting for it.
async fn audit_decision(app: &App, caller: &Ctx, user: Option<Uuid>, action: &str, resource: &str, d: &Authorized) {
    let allowed = d.outcome.decision == Decision::Allow;
    let wanted = match app.config.audit.decisions.as_str() {
        "none" => false,
        "deny" => !allowed,
        _ => true,
    };
    if !wanted {
        return;
    }
    let details = serde_json::json!({
        "user_id": user, "action": action, "resource": resource,
        "decision": if allowed { "allow" } else { "deny" }, "reason": d.outcome.reason,
        "policy": d.outcome.policy, "sid": d.outcome.sid,
    });
    app.audit_batch
        .submit(crate::audit::batch::OwnedEvent {
            at: app.now(),
            actor: caller.actor.clone(),
            action: "access.decision".into(),
            target_kind: "role".into(),
            target_id: d.principal_arn.clone(),
            outcome: if allowed { "success" } else { "failure" },
            details,
            origin: caller.origin.clone(),
        })
        .await;
}

/// What to simulate: a permission set as currently defined (provisioned or not), or policy
/// documents, each with an optional boundary document.
#[derive(Debug, Clone, Default)]
pub struct Simulation {
    pub permission_set: Option<Uuid>,
    pub policies: Vec<String>,
    pub boundary: Option<String>,
    /// Fills the principal variables (`${lanyard:username}` …).
    pub user: Option<(Uuid, String)>,
    pub account_id: Option<AccountId>,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    /// Context keys; here the caller may set any key, `lanyard:CurrentTime` included.
    pub context: BTreeMap<String, Value>,
}

/// One simulated request and its outcome.
#[derive(Debug, Clone, Serialize)]
pub struct SimulatedDecision {
    pub action: String,
    pub resource: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Runs every action against every resource (as IAM's policy simulator does).
pub async fn simulate(app: &App, sim: &Simulation) -> Result<Vec<SimulatedDecision>> {
    let resources: Vec<String> = if sim.resources.is_empty() { vec!["*".into()] } else { sim.resources.clone() };
    if sim.actions.is_empty() {
        return Err(Error::invalid("actions", "name at least one action"));
    }
    if sim.actions.len() * resources.len() > MAX_SIMULATIONS {
        return Err(Error::invalid("actions", format!("at most {MAX_SIMULATIONS} action × resource pairs")));
    }
    for a in &sim.actions {
        for r in &resources {
            check_request(a, r)?;
        }
    }
    let (identity, boundary, role) = match sim.permission_set {
        Some(id) => {
            let mut tx = app.db.conn().await?;
            let ps = store::find_permission_set(&mut tx, id).await?.ok_or(Error::NotFound("permission set"))?;
            let mut named = Vec::new();
            for p in store::attached_policies(&mut tx, id).await? {
                named.push((p.name, p.document));
            }
            if let Some(i) = &ps.inline_policy {
                named.push((format!("{}/inline", ps.name), i.clone()));
            }
            let boundary = match ps.boundary_policy_id {
                Some(b) => store::find_policy(&mut tx, b).await?.map(|p| (p.name, p.document)),
                None => None,
            };
            let snap = Snapshot {
                permission_set: ps.name.clone(),
                session_duration: ps.session_duration,
                policies: named,
                boundary,
            };
            let c = compile(&snap, ps.revision)?;
            (c.identity, c.boundary, Some(ps.name))
        }
        None => {
            if sim.policies.is_empty() {
                return Err(Error::invalid("policies", "give a permission set or at least one policy document"));
            }
            if sim.policies.len() > MAX_SIMULATED_POLICIES {
                return Err(Error::invalid("policies", format!("at most {MAX_SIMULATED_POLICIES} documents")));
            }
            let mut identity = Vec::new();
            for (i, doc) in sim.policies.iter().enumerate() {
                let policy = policy::parse(doc)
                    .map_err(|e| Error::invalid("policies", format!("policies[{i}]: {}: {}", e.path, e.reason)))?;
                identity.push(NamedPolicy { name: format!("policy {}", i + 1), policy });
            }
            let boundary = match &sim.boundary {
                Some(b) if !b.trim().is_empty() => {
                    Some(vec![NamedPolicy { name: "boundary".into(), policy: validate_document("boundary", b)? }])
                }
                _ => None,
            };
            (identity, boundary, None)
        }
    };
    let mut ctx = context_from(&sim.context, true)?;
    let given = ctx.clone();
    set_principal(
        &mut ctx,
        app,
        sim.user.as_ref().map(|(id, n)| (*id, n.as_str())),
        sim.account_id.as_ref().map(AccountId::as_str),
        role.as_deref(),
    );
    // What the admin set explicitly wins over what Lanyard fills in (e.g. a CurrentTime to try).
    for k in sim.context.keys() {
        if let Some(v) = given.get(k) {
            ctx.set(k, v.clone());
        }
    }
    let mut out = Vec::with_capacity(sim.actions.len() * resources.len());
    for a in &sim.actions {
        for r in &resources {
            let outcome =
                policy::evaluate(&identity, boundary.as_deref(), &Request { action: a, resource: r, context: &ctx });
            out.push(SimulatedDecision { action: a.clone(), resource: r.clone(), outcome });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn callers_cannot_claim_principal_keys() {
        let mut m = BTreeMap::new();
        m.insert("aws:username".to_string(), json!("mallory"));
        m.insert("lanyard:PrincipalTag/team".to_string(), json!("red"));
        m.insert("aws:SourceIp".to_string(), json!("10.0.0.1"));
        m.insert("aws:PrincipalOrgPaths".to_string(), json!("o-1/r-1/ou-prod/"));
        m.insert("lanyard:TokenIssueTime".to_string(), json!("2020-01-01T00:00:00Z"));
        m.insert("s3:prefix".to_string(), json!(["a", "b"]));
        let ctx = context_from(&m, false).expect("context");
        assert!(ctx.get("aws:username").is_none());
        assert!(ctx.get("lanyard:principaltag/team").is_none());
        assert!(ctx.get("aws:principalorgpaths").is_none() && ctx.get("aws:tokenissuetime").is_none());
        assert_eq!(ctx.get("lanyard:sourceip"), Some(&vec!["10.0.0.1".to_string()]));
        assert_eq!(ctx.get("s3:prefix").map(Vec::len), Some(2));
        let kept = context_from(&m, true).expect("context");
        assert!(kept.get("aws:username").is_some());
    }

    #[test]
    fn context_is_bounded_and_typed() {
        let mut m = BTreeMap::new();
        m.insert("k".to_string(), json!({"nested": 1}));
        assert!(context_from(&m, false).is_err());
        let mut m = BTreeMap::new();
        m.insert("k".to_string(), json!(vec![1; MAX_CONTEXT_VALUES + 1]));
        assert!(context_from(&m, false).is_err());
        let m: BTreeMap<String, Value> = (0..=MAX_CONTEXT_KEYS).map(|i| (format!("k{i}"), json!(1))).collect();
        assert!(context_from(&m, false).is_err());
    }
}
