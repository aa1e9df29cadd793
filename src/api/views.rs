//! The admin API's response bodies. Times are RFC 3339 strings (UTC).

use crate::clock::format_unix;
use crate::directory::{Group, User};
use serde::Serialize;
use uuid::Uuid;

/// A page of items; pass `next` back as `?next=` for the following page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct List<T: utoipa::ToSchema> {
    pub items: Vec<T>,
    /// Opaque cursor of the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `active` or `disabled`.
    pub status: String,
    pub must_change_password: bool,
    pub has_password: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            email: (!u.email.is_empty()).then(|| u.email.clone()),
            status: u.status.clone(),
            must_change_password: u.must_change_password,
            has_password: u.password_hash.is_some(),
            created_at: format_unix(u.created_at),
            updated_at: format_unix(u.updated_at),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GroupView {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Group> for GroupView {
    fn from(g: &Group) -> Self {
        Self {
            id: g.id,
            name: g.name.clone(),
            description: g.description.clone(),
            created_at: format_unix(g.created_at),
            updated_at: format_unix(g.updated_at),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub id: Uuid,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
    pub ip: String,
    pub user_agent: String,
}

impl From<&crate::authn::sessions::SessionInfo> for SessionView {
    fn from(s: &crate::authn::sessions::SessionInfo) -> Self {
        Self {
            id: s.id,
            created_at: format_unix(s.created_at),
            last_seen_at: format_unix(s.last_seen_at),
            expires_at: format_unix(s.expires_at),
            ip: s.ip.clone(),
            user_agent: s.user_agent.clone(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenView {
    pub id: Uuid,
    pub name: String,
    pub hint: String,
    pub created_by: String,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// `admin` or `authorize` (decisions only).
    pub scope: String,
}

impl From<&crate::authn::api_tokens::ApiToken> for TokenView {
    fn from(t: &crate::authn::api_tokens::ApiToken) -> Self {
        Self {
            id: t.id,
            name: t.name.clone(),
            hint: t.hint.clone(),
            created_by: t.created_by.clone(),
            created_at: format_unix(t.created_at),
            expires_at: t.expires_at.map(format_unix),
            last_used_at: t.last_used_at.map(format_unix),
            revoked_at: t.revoked_at.map(format_unix),
            scope: t.scope.clone(),
        }
    }
}

/// A newly created token: the only response that ever contains the secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: TokenView,
    /// The secret. Store it now: it is not shown again.
    pub secret: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditView {
    pub seq: i64,
    pub at: String,
    pub actor_kind: String,
    pub actor_id: String,
    pub actor_name: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    pub outcome: String,
    pub ip: String,
    pub request_id: String,
    pub details: serde_json::Value,
    pub hash: String,
}

impl From<&crate::audit::Record> for AuditView {
    fn from(r: &crate::audit::Record) -> Self {
        Self {
            seq: r.seq,
            at: format_unix(r.at),
            actor_kind: r.actor_kind.clone(),
            actor_id: r.actor_id.clone(),
            actor_name: r.actor_name.clone(),
            action: r.action.clone(),
            target_kind: r.target_kind.clone(),
            target_id: r.target_id.clone(),
            outcome: r.outcome.clone(),
            ip: r.ip.clone(),
            request_id: r.request_id.clone(),
            details: serde_json::from_str(&r.details).unwrap_or(serde_json::Value::Null),
            hash: r.hash.clone(),
        }
    }
}
