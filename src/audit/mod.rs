//! The audit log: every security event, append-only, each row hash-chained to the previous one
//! so that an edited, deleted or inserted row is detected by [`verify`].
//!
//! Events are written with [`record`] inside the caller's transaction, so a change and its audit
//! row commit together or not at all. Appends serialize on the single `audit_head` row (an
//! `UPDATE … RETURNING` takes its row lock on PostgreSQL; SQLite has one writer anyway), so the
//! chain never forks even with several instances.

pub mod batch;

use crate::db::{Db, Tx};
use crate::db_run;
use serde::Serialize;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did something.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Actor {
    /// `user`, `token`, `client`, `cli`, `workload` or `anonymous`.
    pub kind: &'static str,
    pub id: String,
    pub name: String,
}

impl Actor {
    pub fn user(id: uuid::Uuid, name: &str) -> Self {
        Self { kind: "user", id: id.to_string(), name: name.to_string() }
    }
    pub fn token(id: uuid::Uuid, name: &str) -> Self {
        Self { kind: "token", id: id.to_string(), name: name.to_string() }
    }
    /// An OAuth client acting at the token endpoint.
    pub fn client(id: uuid::Uuid, client_id: &str) -> Self {
        Self { kind: "client", id: id.to_string(), name: client_id.to_string() }
    }
    pub fn cli(what: &str) -> Self {
        Self { kind: "cli", id: String::new(), name: what.to_string() }
    }
    /// A workload holding role credentials from a web identity provider (`id`), known by its
    /// token's `sub`.
    pub fn workload(provider: uuid::Uuid, subject: &str) -> Self {
        Self { kind: "workload", id: provider.to_string(), name: subject.chars().take(256).collect() }
    }
    /// Someone not (yet) signed in, named by what they typed.
    pub fn anonymous(claimed: &str) -> Self {
        Self { kind: "anonymous", id: String::new(), name: claimed.chars().take(256).collect() }
    }
}

/// Where a request came from; recorded with each event.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Origin {
    pub ip: String,
    pub request_id: String,
    pub user_agent: String,
}

/// One security event.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub actor: &'a Actor,
    /// Dotted verb, e.g. `signin.failure`, `user.update`.
    pub action: &'a str,
    pub target_kind: &'a str,
    pub target_id: String,
    /// `success` or `failure`.
    pub outcome: &'a str,
    /// Reason, before/after, anything else; a JSON object.
    pub details: serde_json::Value,
}

/// A stored audit row.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Record {
    pub seq: i64,
    /// Unix seconds.
    pub at: i64,
    pub actor_kind: String,
    pub actor_id: String,
    pub actor_name: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    pub outcome: String,
    pub ip: String,
    pub request_id: String,
    /// A JSON document.
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

impl Record {
    /// The hash of this row given the previous row's hash: SHA-256 over the previous hash and an
    /// unambiguous JSON encoding of every field.
    pub fn compute_hash(&self, prev_hash: &str) -> String {
        let body = serde_json::json!([
            self.seq,
            self.at,
            self.actor_kind,
            self.actor_id,
            self.actor_name,
            self.action,
            self.target_kind,
            self.target_id,
            self.outcome,
            self.ip,
            self.request_id,
            self.details
        ]);
        let mut msg = prev_hash.as_bytes().to_vec();
        msg.push(b'\n');
        msg.extend_from_slice(body.to_string().as_bytes());
        crate::crypto::sha256_hex(&msg)
    }
}

impl<'a> Event<'a> {
    /// A successful event with no details; add them with [`Event::details`].
    pub fn new(actor: &'a Actor, action: &'a str, target_kind: &'a str, target_id: impl ToString) -> Self {
        Self {
            actor,
            action,
            target_kind,
            target_id: target_id.to_string(),
            outcome: "success",
            details: serde_json::json!({}),
        }
    }

    /// Attaches details (reason, before/after…).
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }

    /// Marks the event as a failure.
    pub fn failed(mut self) -> Self {
        self.outcome = "failure";
        self
    }
}

/// Appends `event` to the chain inside `tx`.
pub async fn record(tx: &mut Tx, now: i64, origin: &Origin, event: Event<'_>) -> Result<i64, sqlx::Error> {
    let (seq, prev): (i64, String) = db_run!(tx, c => sqlx::query_as("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash").fetch_one(c).await)?;
    let mut rec = Record {
        seq,
        at: now,
        actor_kind: event.actor.kind.to_string(),
        actor_id: event.actor.id.clone(),
        actor_name: event.actor.name.clone(),
        action: event.action.to_string(),
        target_kind: event.target_kind.to_string(),
        target_id: event.target_id,
        outcome: event.outcome.to_string(),
        ip: origin.ip.clone(),
        request_id: origin.request_id.clone(),
        details: event.details.to_string(),
        prev_hash: prev.clone(),
        hash: String::new(),
    };
    rec.hash = rec.compute_hash(&prev);
    db_run!(tx, c => sqlx::query(
        "INSERT INTO audit_log (seq, at, actor_kind, actor_id, actor_name, action, target_kind, target_id, outcome, ip, request_id, details, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)")
        .bind(rec.seq).bind(rec.at).bind(&rec.actor_kind).bind(&rec.actor_id).bind(&rec.actor_name).bind(&rec.action)
        .bind(&rec.target_kind).bind(&rec.target_id).bind(&rec.outcome).bind(&rec.ip).bind(&rec.request_id)
        .bind(&rec.details).bind(&rec.prev_hash).bind(&rec.hash).execute(c).await.map(|r| r.rows_affected()))?;
    db_run!(tx, c => sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(&rec.hash).execute(c).await.map(|r| r.rows_affected()))?;
    metrics::counter!("lanyard_audit_events_total", "action" => rec.action.clone()).increment(1);
    Ok(seq)
}

/// Filters for reading the log; every field is optional.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub actor: Option<String>,
    pub action: Option<String>,
    /// Unix seconds, inclusive.
    pub since: Option<i64>,
    /// Unix seconds, exclusive.
    pub until: Option<i64>,
    /// Only rows with `seq` below this (the page cursor).
    pub before_seq: Option<i64>,
    pub limit: i64,
}

/// Newest-first rows matching `f`.
pub async fn list(db: &Db, f: &Filter) -> Result<Vec<Record>, sqlx::Error> {
    let mut tx = db.read().await?;
    let action_like = f.action.as_ref().map(|a| {
        if let Some(prefix) = a.strip_suffix('*') {
            format!("{}%", crate::db::like_escape(prefix))
        } else {
            crate::db::like_escape(a)
        }
    });
    db_run!(&mut tx, c => sqlx::query_as(
        "SELECT * FROM audit_log WHERE ($1 IS NULL OR actor_name = $1) AND ($2 IS NULL OR action LIKE $2 ESCAPE '\\') \
         AND ($3 IS NULL OR at >= $3) AND ($4 IS NULL OR at < $4) AND ($5 IS NULL OR seq < $5) ORDER BY seq DESC LIMIT $6")
        .bind(f.actor.clone()).bind(action_like).bind(f.since).bind(f.until).bind(f.before_seq).bind(f.limit)
        .fetch_all(c).await)
}

/// The outcome of checking the chain.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Verification {
    pub rows: i64,
    /// The first row that does not fit the chain, and why.
    pub first_broken: Option<(i64, String)>,
}

/// Walks the whole chain and names the first row that does not fit.
pub async fn verify(db: &Db) -> Result<Verification, sqlx::Error> {
    let mut tx = db.read().await?;
    let mut expected_seq = 1i64;
    let mut prev = GENESIS.to_string();
    let mut rows = 0i64;
    loop {
        let page: Vec<Record> = db_run!(&mut tx, c => sqlx::query_as("SELECT * FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT 1000")
            .bind(expected_seq).fetch_all(c).await)?;
        if page.is_empty() {
            break;
        }
        for r in page {
            let broken = if r.seq != expected_seq {
                Some(format!("row {expected_seq} is missing"))
            } else if r.prev_hash != prev {
                Some("its prev_hash does not match the previous row".to_string())
            } else if r.compute_hash(&prev) != r.hash {
                Some("its contents do not match its hash (the row was modified)".to_string())
            } else {
                None
            };
            if let Some(why) = broken {
                return Ok(Verification { rows, first_broken: Some((expected_seq.min(r.seq), why)) });
            }
            prev = r.hash;
            expected_seq += 1;
            rows += 1;
        }
    }
    let (head_seq, head_hash): (i64, String) =
        db_run!(&mut tx, c => sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(c).await)?;
    if head_seq != rows || head_hash != prev {
        return Ok(Verification {
            rows,
            first_broken: Some((
                rows + 1,
                format!("the chain head says {head_seq} rows; rows after {rows} were deleted"),
            )),
        });
    }
    Ok(Verification { rows, first_broken: None })
}
