//! Managed policies and permission sets, and provisioning: every change that alters what a
//! permission set grants moves it to a new revision, and provisioning rewrites its role in each
//! account where it is assigned (`arn:lanyard:iam::<account>:role/<name>`) with the policies as
//! they are at that revision, in the same transaction as the change. A role whose revision lags
//! is shown as "updating"; the provisioning job repairs whatever else left one behind.

use super::model::{
    self, MAX_ATTACHED_POLICIES, MAX_POLICY_VERSIONS, ManagedPolicy, PermissionSet, RoleStatus, Snapshot,
};
use super::policy;
use super::store;
use crate::app::App;
use crate::audit;
use crate::db::{Tx, is_foreign_key_violation, is_unique_violation};
use crate::directory::Ctx;
use crate::directory::model::parse_description;
use crate::error::{Error, Result};
use serde_json::json;
use uuid::Uuid;

/// Validates a policy document; the error names the JSON path and the reason.
pub fn validate_document(field: &'static str, text: &str) -> Result<policy::Policy> {
    policy::parse(text).map_err(|e| Error::invalid(field, format!("{}: {}", e.path, e.reason)))
}

fn policy_json(p: &ManagedPolicy) -> serde_json::Value {
    json!({"id": p.id, "name": p.name, "description": p.description, "version": p.default_version, "document": p.document})
}

fn ps_json(p: &PermissionSet) -> serde_json::Value {
    json!({"id": p.id, "name": p.name, "description": p.description, "session_duration": p.session_duration,
           "relay_state": p.relay_state, "inline_policy": p.inline_policy, "boundary_policy_id": p.boundary_policy_id,
           "revision": p.revision})
}

// ---- managed policies ----

pub async fn create_policy(
    app: &App,
    ctx: &Ctx,
    name: &str,
    description: &str,
    document: &str,
) -> Result<ManagedPolicy> {
    let (name, key) = model::parse_iam_name("name", name, 128)?;
    let description = parse_description(description)?;
    validate_document("document", document)?;
    let now = app.now();
    let id = Uuid::now_v7();
    let mut tx = app.db.begin().await?;
    match store::insert_policy(&mut tx, id, &name, &key, &description, now).await {
        Err(e) if is_unique_violation(&e) => return Err(Error::Conflict(format!("a policy named {name:?} exists"))),
        r => r?,
    }
    store::insert_policy_version(&mut tx, id, 1, document, now).await?;
    let p = store::find_policy(&mut tx, id).await?.ok_or(Error::NotFound("policy"))?;
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "policy.create", "policy", id).details(json!({"after": policy_json(&p)})),
    )
    .await?;
    tx.commit().await?;
    Ok(p)
}

pub async fn get_policy(app: &App, id: Uuid) -> Result<ManagedPolicy> {
    let mut tx = app.db.conn().await?;
    store::find_policy(&mut tx, id).await?.ok_or(Error::NotFound("policy"))
}

/// A policy by id or name.
pub async fn find_policy(app: &App, id_or_name: &str) -> Result<ManagedPolicy> {
    let mut tx = app.db.conn().await?;
    if let Ok(id) = Uuid::parse_str(id_or_name.trim())
        && let Some(p) = store::find_policy(&mut tx, id).await?
    {
        return Ok(p);
    }
    store::find_policy_by_name(&mut tx, &id_or_name.trim().to_ascii_lowercase()).await?.ok_or(Error::NotFound("policy"))
}

pub async fn list_policies(app: &App) -> Result<Vec<ManagedPolicy>> {
    let mut tx = app.db.conn().await?;
    Ok(store::list_policies(&mut tx, 1000).await?)
}

/// (version, created_at) of the kept versions, newest first.
pub async fn policy_versions(app: &App, id: Uuid) -> Result<Vec<(i64, i64)>> {
    let mut tx = app.db.conn().await?;
    Ok(store::policy_versions(&mut tx, id).await?)
}

/// Changes a policy's name or description, or writes a new default version of its document;
/// every permission set using it is re-provisioned.
pub async fn update_policy(
    app: &App,
    ctx: &Ctx,
    id: Uuid,
    name: Option<&str>,
    description: Option<&str>,
    document: Option<&str>,
) -> Result<ManagedPolicy> {
    if let Some(d) = document {
        validate_document("document", d)?;
    }
    let now = app.now();
    let mut tx = app.db.begin().await?;
    // Concurrent changes of one policy (and attachments of it) take turns.
    if !store::lock_policy(&mut tx, id).await? {
        return Err(Error::NotFound("policy"));
    }
    let before = store::find_policy(&mut tx, id).await?.ok_or(Error::NotFound("policy"))?;
    let (name, key) = model::parse_iam_name("name", name.unwrap_or(&before.name), 128)?;
    let description = parse_description(description.unwrap_or(&before.description))?;
    let changed_document = document.is_some_and(|d| d != before.document);
    // Roles carry the policy's name too (decisions report it), so a rename re-provisions.
    let changed = changed_document || name != before.name;
    let version =
        if changed_document { store::latest_policy_version(&mut tx, id).await? + 1 } else { before.default_version };
    if let (true, Some(d)) = (changed_document, document) {
        store::insert_policy_version(&mut tx, id, version, d, now).await?;
    }
    let change = store::PolicyChange { name: &name, key: &key, description: &description, version, now };
    match store::update_policy(&mut tx, id, &change, MAX_POLICY_VERSIONS).await {
        Err(e) if is_unique_violation(&e) => return Err(Error::Conflict(format!("a policy named {name:?} exists"))),
        r => r?,
    }
    let users = if changed { store::permission_sets_using(&mut tx, id).await? } else { Vec::new() };
    for ps in &users {
        store::bump_revision(&mut tx, *ps, now).await?;
        provision_audited(&mut tx, ctx, *ps, now).await?;
    }
    let after = store::find_policy(&mut tx, id).await?.ok_or(Error::NotFound("policy"))?;
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "policy.update", "policy", id).details(
            json!({"before": policy_json(&before), "after": policy_json(&after), "permission_sets_reprovisioned": users}),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Deletes a policy no permission set uses.
pub async fn delete_policy(app: &App, ctx: &Ctx, id: Uuid) -> Result<()> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let before = store::find_policy(&mut tx, id).await?.ok_or(Error::NotFound("policy"))?;
    let used = store::permission_sets_using(&mut tx, id).await?;
    if !used.is_empty() {
        return Err(Error::Conflict(format!(
            "{} permission sets use this policy; detach it from them first",
            used.len()
        )));
    }
    match store::delete_policy(&mut tx, id).await {
        Err(e) if is_foreign_key_violation(&e) => {
            return Err(Error::Conflict("a permission set uses this policy; detach it first".into()));
        }
        r => r?,
    };
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "policy.delete", "policy", id).details(json!({"before": policy_json(&before)})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---- permission sets ----

/// Input for a new or changed permission set; `None` keeps a field as it is. An empty
/// `inline_policy` or `boundary` removes it.
#[derive(Debug, Clone, Default)]
pub struct PermissionSetInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub session_duration: Option<String>,
    pub relay_state: Option<String>,
    pub inline_policy: Option<String>,
    /// A managed policy (id or name) used as the permissions boundary.
    pub boundary: Option<String>,
}

struct PsFields {
    name: String,
    key: String,
    description: String,
    session_duration: i64,
    relay_state: String,
    inline_policy: Option<String>,
    boundary: Option<Uuid>,
}

async fn ps_fields(tx: &mut Tx, input: &PermissionSetInput, before: Option<&PermissionSet>) -> Result<PsFields> {
    let (name, key) =
        model::parse_iam_name("name", input.name.as_deref().or(before.map(|b| b.name.as_str())).unwrap_or(""), 32)?;
    let description =
        parse_description(input.description.as_deref().or(before.map(|b| b.description.as_str())).unwrap_or(""))?;
    let session_duration = match (&input.session_duration, before) {
        (Some(s), _) => model::parse_session_duration(s)?,
        (None, Some(b)) => b.session_duration,
        (None, None) => model::DEFAULT_SESSION,
    };
    let relay_state = model::parse_relay_state(
        input.relay_state.as_deref().or(before.map(|b| b.relay_state.as_str())).unwrap_or(""),
    )?;
    let inline_policy = match (&input.inline_policy, before) {
        (Some(s), _) if s.trim().is_empty() => None,
        (Some(s), _) => {
            validate_document("inline_policy", s)?;
            Some(s.clone())
        }
        (None, Some(b)) => b.inline_policy.clone(),
        (None, None) => None,
    };
    let boundary = match (&input.boundary, before) {
        (Some(s), _) if s.trim().is_empty() => None,
        (Some(s), _) => {
            let p = match Uuid::parse_str(s.trim()) {
                Ok(id) => store::find_policy(tx, id).await?,
                Err(_) => store::find_policy_by_name(tx, &s.trim().to_ascii_lowercase()).await?,
            };
            let id =
                p.ok_or_else(|| Error::invalid("boundary", format!("there is no managed policy {:?}", s.trim())))?.id;
            store::lock_policy(tx, id).await?;
            Some(id)
        }
        (None, Some(b)) => b.boundary_policy_id,
        (None, None) => None,
    };
    Ok(PsFields { name, key, description, session_duration, relay_state, inline_policy, boundary })
}

fn ps_row<'a>(id: Uuid, f: &'a PsFields, now: i64) -> store::PermissionSetRow<'a> {
    store::PermissionSetRow {
        id,
        name: &f.name,
        key: &f.key,
        description: &f.description,
        session_duration: f.session_duration,
        relay_state: &f.relay_state,
        inline_policy: f.inline_policy.as_deref(),
        boundary_policy_id: f.boundary,
        now,
    }
}

pub async fn create_permission_set(app: &App, ctx: &Ctx, input: PermissionSetInput) -> Result<PermissionSet> {
    let now = app.now();
    let id = Uuid::now_v7();
    let mut tx = app.db.begin().await?;
    let f = ps_fields(&mut tx, &input, None).await?;
    match store::insert_permission_set(&mut tx, &ps_row(id, &f, now)).await {
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::Conflict(format!("a permission set named {:?} exists", f.name)));
        }
        r => r?,
    }
    let ps = store::find_permission_set(&mut tx, id).await?.ok_or(Error::NotFound("permission set"))?;
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "permission_set.create", "permission_set", id)
            .details(json!({"after": ps_json(&ps)})),
    )
    .await?;
    tx.commit().await?;
    Ok(ps)
}

pub async fn get_permission_set(app: &App, id: Uuid) -> Result<PermissionSet> {
    let mut tx = app.db.conn().await?;
    store::find_permission_set(&mut tx, id).await?.ok_or(Error::NotFound("permission set"))
}

/// A permission set by id or name.
pub async fn find_permission_set(app: &App, id_or_name: &str) -> Result<PermissionSet> {
    let mut tx = app.db.conn().await?;
    if let Ok(id) = Uuid::parse_str(id_or_name.trim())
        && let Some(p) = store::find_permission_set(&mut tx, id).await?
    {
        return Ok(p);
    }
    store::find_permission_set_by_name(&mut tx, &id_or_name.trim().to_ascii_lowercase())
        .await?
        .ok_or(Error::NotFound("permission set"))
}

pub async fn list_permission_sets(app: &App) -> Result<Vec<PermissionSet>> {
    let mut tx = app.db.conn().await?;
    Ok(store::list_permission_sets(&mut tx, 1000).await?)
}

/// A permission set as lists show it: its attached policies (id, name), the name of its
/// boundary, and how many of its roles are at its current revision.
#[derive(Debug, Clone)]
pub struct Summary {
    pub ps: PermissionSet,
    pub policies: Vec<(Uuid, String)>,
    pub boundary: Option<(Uuid, String)>,
    pub roles: i64,
    pub current: i64,
}

/// Every permission set with its summary, in a fixed number of queries.
pub async fn list_summaries(app: &App) -> Result<Vec<Summary>> {
    let mut tx = app.db.read().await?;
    let sets = store::list_permission_sets(&mut tx, 1000).await?;
    let attachments = store::all_attachments(&mut tx).await?;
    let counts: std::collections::HashMap<Uuid, (i64, i64)> =
        store::provisioning_summary(&mut tx).await?.into_iter().map(|(id, n, c)| (id, (n, c))).collect();
    let names: std::collections::HashMap<Uuid, String> =
        store::list_policies(&mut tx, 1000).await?.into_iter().map(|p| (p.id, p.name)).collect();
    Ok(sets
        .into_iter()
        .map(|ps| {
            let policies =
                attachments.iter().filter(|(s, _, _)| *s == ps.id).map(|(_, id, name)| (*id, name.clone())).collect();
            let boundary = ps.boundary_policy_id.and_then(|b| names.get(&b).map(|n| (b, n.clone())));
            let (roles, current) = counts.get(&ps.id).copied().unwrap_or((0, 0));
            Summary { ps, policies, boundary, roles, current }
        })
        .collect())
}

/// `provisioned` (every role current), `updating` or `not_assigned`.
pub fn provisioning_status(roles: i64, current: i64) -> &'static str {
    if roles == 0 {
        "not_assigned"
    } else if current >= roles {
        "provisioned"
    } else {
        "updating"
    }
}

pub async fn attached_policies(app: &App, id: Uuid) -> Result<Vec<ManagedPolicy>> {
    let mut tx = app.db.conn().await?;
    Ok(store::attached_policies(&mut tx, id).await?)
}

/// Where the permission set is provisioned, and whether each role is current.
pub async fn provisioning(app: &App, id: Uuid) -> Result<Vec<RoleStatus>> {
    let mut tx = app.db.conn().await?;
    Ok(store::role_statuses(&mut tx, id).await?)
}

/// Changes a permission set and re-provisions it everywhere it is assigned.
pub async fn update_permission_set(app: &App, ctx: &Ctx, id: Uuid, input: PermissionSetInput) -> Result<PermissionSet> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let before = store::find_permission_set(&mut tx, id).await?.ok_or(Error::NotFound("permission set"))?;
    let f = ps_fields(&mut tx, &input, Some(&before)).await?;
    match store::update_permission_set(&mut tx, &ps_row(id, &f, now)).await {
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::Conflict(format!("a permission set named {:?} exists", f.name)));
        }
        r => r?,
    }
    let after = store::find_permission_set(&mut tx, id).await?.ok_or(Error::NotFound("permission set"))?;
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "permission_set.update", "permission_set", id)
            .details(json!({"before": ps_json(&before), "after": ps_json(&after)})),
    )
    .await?;
    provision_audited(&mut tx, ctx, id, now).await?;
    tx.commit().await?;
    Ok(after)
}

/// Deletes a permission set that is assigned nowhere (as IAM Identity Center requires).
pub async fn delete_permission_set(app: &App, ctx: &Ctx, id: Uuid) -> Result<()> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let before = store::find_permission_set(&mut tx, id).await?.ok_or(Error::NotFound("permission set"))?;
    let n = store::count_assignments(&mut tx, id).await?;
    if n > 0 {
        return Err(Error::Conflict(format!("the permission set has {n} assignments; remove them first")));
    }
    match store::delete_permission_set(&mut tx, id).await {
        Err(e) if is_foreign_key_violation(&e) => {
            return Err(Error::Conflict("the permission set was just assigned; remove its assignments first".into()));
        }
        r => r?,
    };
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "permission_set.delete", "permission_set", id)
            .details(json!({"before": ps_json(&before)})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Attaches (or, with `attach = false`, detaches) a managed policy and re-provisions.
pub async fn set_attachment(app: &App, ctx: &Ctx, id: Uuid, policy: Uuid, attach: bool) -> Result<()> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    // One change to a permission set at a time (the attachment limit holds), and none while the
    // policy itself changes (its document in the snapshot is the committed one).
    // Locks go policy first, then permission set, everywhere (no deadlock between them).
    if !store::lock_policy(&mut tx, policy).await? {
        return Err(Error::NotFound("policy"));
    }
    if !store::lock_permission_set(&mut tx, id).await? {
        return Err(Error::NotFound("permission set"));
    }
    let ps = store::find_permission_set(&mut tx, id).await?.ok_or(Error::NotFound("permission set"))?;
    let p = store::find_policy(&mut tx, policy).await?.ok_or(Error::NotFound("policy"))?;
    let changed = if attach {
        if store::attached_policies(&mut tx, id).await?.len() >= MAX_ATTACHED_POLICIES {
            return Err(Error::Conflict(format!("a permission set attaches at most {MAX_ATTACHED_POLICIES} policies")));
        }
        store::attach_policy(&mut tx, id, policy).await?
    } else if store::detach_policy(&mut tx, id, policy).await? {
        true
    } else {
        return Err(Error::NotFound("attachment"));
    };
    if !changed {
        return Ok(());
    }
    store::bump_revision(&mut tx, id, now).await?;
    let action = if attach { "permission_set.attach_policy" } else { "permission_set.detach_policy" };
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, action, "permission_set", id)
            .details(json!({"permission_set": ps.name, "policy_id": p.id, "policy": p.name})),
    )
    .await?;
    provision_audited(&mut tx, ctx, id, now).await?;
    tx.commit().await?;
    Ok(())
}

// ---- provisioning ----

/// The permission set as its roles carry it: every policy resolved to its current document.
async fn snapshot(tx: &mut Tx, ps: &PermissionSet) -> Result<Snapshot> {
    let mut policies: Vec<(String, String)> =
        store::attached_policies(tx, ps.id).await?.into_iter().map(|p| (p.name, p.document)).collect();
    if let Some(inline) = &ps.inline_policy {
        policies.push((format!("{}/inline", ps.name), inline.clone()));
    }
    let boundary = match ps.boundary_policy_id {
        Some(b) => store::find_policy(tx, b).await?.map(|p| (p.name, p.document)),
        None => None,
    };
    Ok(Snapshot { permission_set: ps.name.clone(), session_duration: ps.session_duration, policies, boundary })
}

/// Moves the permission set's role to its current revision in `only` (one account) or in every
/// account where it is assigned (the revision's snapshot is written once, and each role row
/// only points at it), and removes roles no assignment needs. Returns the roles written. Runs
/// in the caller's transaction.
pub async fn provision_in(tx: &mut Tx, id: Uuid, only: Option<&str>, now: i64) -> Result<u64> {
    let Some(ps) = store::find_permission_set(tx, id).await? else { return Ok(0) };
    let snap = serde_json::to_string(&snapshot(tx, &ps).await?).map_err(Error::internal)?;
    store::insert_snapshot(tx, id, ps.revision, &snap, now).await?;
    let written = store::upsert_roles(tx, id, ps.revision, only, now).await?;
    if only.is_none() {
        store::delete_unassigned_roles(tx, id).await?;
    }
    store::delete_unused_snapshots(tx, id, ps.revision).await?;
    Ok(written)
}

/// [`provision_in`] everywhere, with an audit record when any account was written.
async fn provision_audited(tx: &mut Tx, ctx: &Ctx, id: Uuid, now: i64) -> Result<()> {
    let written = provision_in(tx, id, None, now).await?;
    if written > 0 {
        audit::record(
            tx,
            now,
            &ctx.origin,
            audit::Event::new(&ctx.actor, "permission_set.provision", "permission_set", id)
                .details(json!({"roles": written})),
        )
        .await?;
    }
    Ok(())
}

/// Re-provisions a permission set everywhere, in its own transaction, audited. Changes
/// provision in their own transaction already; this repairs what something else left behind.
pub async fn provision(app: &App, ctx: &Ctx, id: Uuid) -> Result<()> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    provision_audited(&mut tx, ctx, id, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Finishes provisioning that an interrupted request left behind, and removes roles whose
/// last assignment went with a deleted user or group (run by the jobs).
pub async fn provision_stale(app: &App) -> Result<usize> {
    let ctx = Ctx { actor: audit::Actor::cli("provisioning job"), origin: Default::default() };
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let orphans = store::delete_orphan_roles(&mut tx).await?;
    if orphans > 0 {
        audit::record(
            &mut tx,
            now,
            &ctx.origin,
            audit::Event::new(&ctx.actor, "role.remove_unassigned", "role", "")
                .details(json!({"roles_removed": orphans})),
        )
        .await?;
    }
    let stale = store::stale_permission_sets(&mut tx).await?;
    tx.commit().await?;
    for id in &stale {
        provision(app, &ctx, *id).await?;
    }
    Ok(stale.len())
}

/// A permission set's trust policy document, if it has one.
pub async fn trust_policy(app: &App, id: Uuid) -> Result<Option<String>> {
    let mut tx = app.db.conn().await?;
    store::find_trust_policy(&mut tx, id).await?.ok_or(Error::NotFound("permission set"))
}

/// Sets (or, with `None`, removes) a permission set's trust policy, validated first.
pub async fn set_trust_policy(app: &App, ctx: &Ctx, id: Uuid, doc: Option<String>) -> Result<()> {
    if let Some(d) = &doc {
        super::policy::trust::parse(d).map_err(|e| Error::invalid("trust_policy", e.to_string()))?;
    }
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let before = store::find_trust_policy(&mut tx, id).await?.ok_or(Error::NotFound("permission set"))?;
    store::set_trust_policy(&mut tx, id, doc.as_deref(), now).await?;
    audit::record(
        &mut tx,
        now,
        &ctx.origin,
        audit::Event::new(&ctx.actor, "permission_set.trust_policy", "permission_set", id)
            .details(json!({"before": before, "after": doc})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The role `role` (any case) as provisioned in an active account, with its trust policy.
pub async fn provisioned_role(
    app: &App,
    account: &model::AccountId,
    role: &str,
) -> Result<Option<store::ProvisionedRole>> {
    let (_, key) = super::model::parse_iam_name("permission_set", role, 32)?;
    let mut tx = app.db.conn().await?;
    Ok(store::provisioned_role(&mut tx, account.as_str(), &key).await?)
}
