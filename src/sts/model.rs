//! Role credentials and the identifiers AWS clients expect (../shared/spec/aws-wire.md §8):
//! temporary access key ids (`ASIA` + 16), 40-character secrets, opaque session tokens, role
//! ids (`AROA…`), and the assumed-role ARN a caller is known by.

use crate::crypto::CryptoError;
use serde::Serialize;
use uuid::Uuid;

/// Session tokens: `lyd_st_` + 256 random bits, opaque, SHA-256 at rest.
pub const SESSION_TOKEN_PREFIX: &str = "lyd_st";
/// The shortest and longest role sessions STS hands out (AWS: 15 minutes to 12 hours).
pub const MIN_DURATION: i64 = 900;
pub const MAX_DURATION: i64 = 43_200;
/// A chained role (AssumeRole called with role credentials) lasts at most an hour.
pub const MAX_CHAINED_DURATION: i64 = 3600;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn base32(bytes: &[u8], len: usize) -> String {
    bytes.iter().take(len).map(|b| BASE32[usize::from(b % 32)] as char).collect()
}

/// A temporary access key id: `ASIA` and 16 upper-case letters and digits (80 random bits; the
/// secret, not the id, is what proves the caller).
pub fn new_access_key_id() -> Result<String, CryptoError> {
    let r = crate::crypto::random_bytes::<16>()?;
    Ok(format!("ASIA{}", base32(&r, 16)))
}

/// A secret access key: 40 characters of base64 (240 random bits).
pub fn new_secret_access_key() -> Result<String, CryptoError> {
    use base64::Engine;
    Ok(base64::engine::general_purpose::STANDARD.encode(crate::crypto::random_bytes::<30>()?))
}

/// Whether `s` has the shape of a temporary access key id.
pub fn is_access_key_id(s: &str) -> bool {
    s.len() == 20 && s.starts_with("ASIA") && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A role's stable id (`AROA` + 17), derived from the account and permission set so every
/// instance names it alike.
pub fn role_id(account: &str, permission_set: Uuid) -> String {
    let h = crate::crypto::sha256(format!("{account}:{permission_set}").as_bytes());
    format!("AROA{}", base32(&h, 17))
}

/// `arn:lanyard:sts::<account>:assumed-role/<role>/<session>`.
pub fn assumed_role_arn(account: &str, role: &str, session: &str) -> String {
    format!("arn:lanyard:sts::{account}:assumed-role/{role}/{session}")
}

/// Validates a role session name (STS: 2–64 characters of `[\w+=,.@-]`).
pub fn parse_session_name(s: &str) -> Result<String, crate::error::Invalid> {
    let ok = (2..=64).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'=' | b',' | b'.' | b'@' | b'-'));
    if ok {
        Ok(s.to_string())
    } else {
        Err(crate::error::Invalid {
            field: "RoleSessionName",
            reason: "must be 2–64 letters, digits or _+=,.@-".into(),
        })
    }
}

/// A session name made from a username: its allowed characters, padded to two.
pub fn session_name_for(username: &str) -> String {
    let mut s: String = username
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '=' | ',' | '.' | '@' | '-'))
        .take(64)
        .collect();
    while s.len() < 2 {
        s.push('_');
    }
    s
}

/// How credentials were obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The portal's "command line access".
    Portal,
    /// The SSO portal API's GetRoleCredentials (the CLI and SDKs).
    Sso,
    /// STS AssumeRole (role chaining).
    AssumeRole,
    /// STS AssumeRoleWithWebIdentity.
    WebIdentity,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Portal => "portal",
            Source::Sso => "sso",
            Source::AssumeRole => "assume_role",
            Source::WebIdentity => "web_identity",
        }
    }
}

/// Credentials as handed out once; only the access key id is shown again.
#[derive(Clone, Serialize)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// Unix seconds.
    pub expiration: i64,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

/// A row of `role_credentials`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Stored {
    pub access_key_id: String,
    pub secret_sealed: Vec<u8>,
    pub session_token_hash: String,
    /// The user, or None for a workload's credentials (then `provider_id` and `subject`).
    pub user_id: Option<Uuid>,
    pub provider_id: Option<Uuid>,
    pub subject: Option<String>,
    pub account_id: String,
    pub permission_set_id: Uuid,
    pub role_name: String,
    pub session_name: String,
    pub source: String,
    pub parent_key: Option<String>,
    pub grant_id: Option<Uuid>,
    pub mfa_at: Option<i64>,
    pub issued_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub ip: String,
    pub user_agent: String,
}

/// Who holds role credentials: a Lanyard user, or a workload (a CI job, a service account) that
/// a trusted external issuer vouched for through AssumeRoleWithWebIdentity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Holder {
    User(Uuid),
    Workload {
        /// The web identity provider that issued the token.
        provider: Uuid,
        /// The token's `sub`.
        subject: String,
    },
}

impl Holder {
    pub fn user(&self) -> Option<Uuid> {
        match self {
            Holder::User(u) => Some(*u),
            Holder::Workload { .. } => None,
        }
    }

    /// The holder of a stored row.
    pub fn of(row: &Stored) -> Option<Holder> {
        match (row.user_id, row.provider_id, &row.subject) {
            (Some(u), None, _) => Some(Holder::User(u)),
            (None, Some(provider), Some(subject)) => Some(Holder::Workload { provider, subject: subject.clone() }),
            _ => None,
        }
    }
}

/// Who signed a request: a user or a workload acting in a role, through credentials Lanyard
/// issued.
#[derive(Debug, Clone, Serialize)]
pub struct Caller {
    pub access_key_id: String,
    pub holder: Holder,
    /// The user's name, or a workload's `sub` (for the audit log and session names).
    pub username: String,
    pub account_id: String,
    pub permission_set_id: Uuid,
    pub role_name: String,
    pub session_name: String,
    pub expires_at: i64,
    /// When a second factor was last used in the sign-in behind the credentials.
    pub mfa_at: Option<i64>,
    /// Credentials from AssumeRole (chained roles last at most an hour).
    pub chained: bool,
    /// Credentials a trust policy granted (AssumeRole, AssumeRoleWithWebIdentity), not an
    /// assignment.
    pub trusted: bool,
}

impl Caller {
    /// The user, when a person holds the credentials.
    pub fn user_id(&self) -> Option<Uuid> {
        self.holder.user()
    }
    /// Who the audit log says acted.
    pub fn actor(&self) -> crate::audit::Actor {
        match &self.holder {
            Holder::User(u) => crate::audit::Actor::user(*u, &self.username),
            Holder::Workload { provider, subject } => crate::audit::Actor::workload(*provider, subject),
        }
    }
    pub fn arn(&self) -> String {
        assumed_role_arn(&self.account_id, &self.role_name, &self.session_name)
    }
    /// `AROA…:<session>`, as GetCallerIdentity's `UserId`.
    pub fn user_id_string(&self) -> String {
        format!("{}:{}", role_id(&self.account_id, self.permission_set_id), self.session_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_shapes() {
        for _ in 0..50 {
            let k = new_access_key_id().expect("test data");
            assert!(is_access_key_id(&k), "{k}");
            let s = new_secret_access_key().expect("test data");
            assert_eq!(s.len(), 40, "{s}");
        }
        assert!(!is_access_key_id("AKIAEXAMPLEEXAMPLE01"));
        assert!(!is_access_key_id("ASIAexampleexample01"));
        let r = role_id("123456789012", Uuid::nil());
        assert_eq!(r.len(), 21);
        assert!(r.starts_with("AROA"));
        assert_eq!(r, role_id("123456789012", Uuid::nil()));
        assert_eq!(
            assumed_role_arn("123456789012", "ReadOnly", "olga"),
            "arn:lanyard:sts::123456789012:assumed-role/ReadOnly/olga"
        );
    }

    #[test]
    fn session_names() {
        assert!(parse_session_name("olga@example.com").is_ok());
        assert!(parse_session_name("a").is_err());
        assert!(parse_session_name("has space").is_err());
        assert!(parse_session_name(&"a".repeat(65)).is_err());
        assert_eq!(session_name_for("o"), "o_");
        assert_eq!(session_name_for("olga smith"), "olgasmith");
    }
}
