//! Accounts, organisational units, managed policies, permission sets and assignments: types and
//! validation (no I/O). Names follow IAM Identity Center's rules so that role names and ARNs built
//! from them are always well formed.

use crate::error::Invalid;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The built-in root of the organisational-unit tree (created by the migration).
pub const ROOT_OU_ID: Uuid = Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0002);
/// Deepest nesting of organisational units below the root (AWS Organizations allows five).
pub const MAX_OU_DEPTH: usize = 5;
/// Session duration bounds and default, in seconds (15 minutes to 12 hours, default 1 hour).
pub const MIN_SESSION: i64 = 900;
pub const MAX_SESSION: i64 = 43_200;
pub const DEFAULT_SESSION: i64 = 3600;
/// Managed policy versions kept (the oldest non-default goes when a sixth is written).
pub const MAX_POLICY_VERSIONS: i64 = 5;
/// Managed policies attached to one permission set.
pub const MAX_ATTACHED_POLICIES: usize = 20;

fn invalid(field: &'static str, reason: impl Into<String>) -> Invalid {
    Invalid { field, reason: reason.into() }
}

/// A 12-digit account id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AccountId(String);

impl AccountId {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim();
        if s.len() != 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("account_id", "must be 12 digits"));
        }
        Ok(Self(s.to_string()))
    }
    /// A random id (the caller retries on the unlikely collision).
    pub fn generate() -> Self {
        let mut b = [0u8; 8];
        // A 64-bit random number reduced mod 10^12 is uniform to within 2^-24.
        let _ = aws_lc_rs::rand::fill(&mut b);
        Self(format!("{:012}", u64::from_le_bytes(b) % 1_000_000_000_000))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name of an account or OU: 1–128 printable characters; unique regardless of case.
pub fn parse_name(field: &'static str, s: &str) -> Result<(String, String), Invalid> {
    let s = s.trim();
    if s.is_empty() {
        return Err(invalid(field, "is required"));
    }
    if s.chars().count() > 128 {
        return Err(invalid(field, "must be at most 128 characters"));
    }
    if s.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok((s.to_string(), s.to_lowercase()))
}

/// A permission set or managed policy name: IAM's role-name alphabet (`\w+=,.@-`), because the
/// permission set's name becomes the role name in every account.
pub fn parse_iam_name(field: &'static str, s: &str, max: usize) -> Result<(String, String), Invalid> {
    let s = s.trim();
    if s.is_empty() {
        return Err(invalid(field, "is required"));
    }
    if s.len() > max {
        return Err(invalid(field, format!("must be at most {max} characters")));
    }
    if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b)) {
        return Err(invalid(field, "may contain only letters, digits and _ + = , . @ -"));
    }
    Ok((s.to_string(), s.to_ascii_lowercase()))
}

/// Tags: up to 50 pairs, keys 1–128 and values 0–256 printable characters.
pub fn parse_tags(tags: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, Invalid> {
    if tags.len() > 50 {
        return Err(invalid("tags", "at most 50 tags"));
    }
    let mut out = BTreeMap::new();
    for (k, v) in tags {
        let k = k.trim();
        if k.is_empty() || k.chars().count() > 128 || k.chars().any(char::is_control) {
            return Err(invalid("tags", format!("tag key {k:?} must be 1–128 printable characters")));
        }
        if v.chars().count() > 256 || v.chars().any(char::is_control) {
            return Err(invalid("tags", format!("the value of tag {k:?} must be at most 256 printable characters")));
        }
        out.insert(k.to_string(), v.trim().to_string());
    }
    Ok(out)
}

/// Tags from their stored JSON (an object of strings); anything else reads as no tags.
pub fn tags_from_json(s: &str) -> BTreeMap<String, String> {
    serde_json::from_str(s).unwrap_or_default()
}

pub fn tags_to_json(t: &BTreeMap<String, String>) -> String {
    serde_json::to_string(t).unwrap_or_else(|_| "{}".into())
}

/// An account's status: suspended accounts keep their assignments but grant nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    Active,
    Suspended,
}

impl AccountStatus {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s.trim() {
            "active" => Ok(Self::Active),
            "suspended" => Ok(Self::Suspended),
            _ => Err(invalid("status", "must be active or suspended")),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }
}

/// A session duration: seconds, a duration such as `8h` or `90m`, or ISO 8601 (`PT8H`), within
/// 15 minutes and 12 hours.
pub fn parse_session_duration(s: &str) -> Result<i64, Invalid> {
    let t = s.trim();
    let bad = || invalid("session_duration", "must be a duration such as PT1H, 8h or 3600 (seconds)");
    let secs = if let Ok(n) = t.parse::<i64>() {
        n
    } else if let Some(iso) = t.strip_prefix("PT").or_else(|| t.strip_prefix("pt")) {
        let mut total = 0i64;
        let mut num = String::new();
        for c in iso.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let unit = match c.to_ascii_uppercase() {
                'H' => 3600,
                'M' => 60,
                'S' => 1,
                _ => return Err(bad()),
            };
            let n: i64 = num.parse().map_err(|_| bad())?;
            total = total.checked_add(n.checked_mul(unit).ok_or_else(bad)?).ok_or_else(bad)?;
            num.clear();
        }
        if !num.is_empty() || iso.is_empty() {
            return Err(bad());
        }
        total
    } else {
        t.parse::<crate::config::Dur>().map_err(|_| bad())?.secs()
    };
    if !(MIN_SESSION..=MAX_SESSION).contains(&secs) {
        return Err(invalid("session_duration", "must be between 15 minutes (PT15M) and 12 hours (PT12H)"));
    }
    Ok(secs)
}

/// ISO 8601 form of a duration in seconds (`PT1H`, `PT1H30M`).
pub fn iso_duration(secs: i64) -> String {
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::from("PT");
    if h > 0 {
        out.push_str(&format!("{h}H"));
    }
    if m > 0 {
        out.push_str(&format!("{m}M"));
    }
    if s > 0 || secs == 0 {
        out.push_str(&format!("{s}S"));
    }
    out
}

/// A relay state: where the console link lands, an `https://` URL (or `http://` on loopback), at
/// most 240 characters; empty means none.
pub fn parse_relay_state(s: &str) -> Result<String, Invalid> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(String::new());
    }
    let bad = |r: &str| invalid("relay_state", r.to_string());
    if s.len() > 240 {
        return Err(bad("must be at most 240 characters"));
    }
    let u = url::Url::parse(s).map_err(|_| bad("must be an absolute https:// URL"))?;
    let loopback = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if !(u.scheme() == "https" || (u.scheme() == "http" && loopback)) {
        return Err(bad("must be an https:// URL (http:// only for localhost)"));
    }
    Ok(s.to_string())
}

/// The role ARN a permission set gets in an account.
pub fn role_arn(account: &str, permission_set: &str) -> String {
    format!("arn:lanyard:iam::{account}:role/{permission_set}")
}

/// Splits a role ARN into (account id, role name).
pub fn parse_role_arn(arn: &str) -> Result<(AccountId, String), Invalid> {
    let bad = || invalid("role_arn", "must look like arn:lanyard:iam::123456789012:role/Name");
    let rest = arn.trim().strip_prefix("arn:lanyard:iam::").ok_or_else(bad)?;
    let (account, role) = rest.split_once(":role/").ok_or_else(bad)?;
    let account = AccountId::parse(account).map_err(|_| bad())?;
    let (name, _) = parse_iam_name("role_arn", role, 32).map_err(|_| bad())?;
    Ok((account, name))
}

/// Who an assignment is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalType {
    User,
    Group,
}

impl PrincipalType {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s.trim() {
            "user" => Ok(Self::User),
            "group" => Ok(Self::Group),
            _ => Err(invalid("principal_type", "must be user or group")),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
        }
    }
}

/// An organisational unit as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrgUnit {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub name: String,
    pub description: String,
    pub tags: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An account as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub description: String,
    pub owner_email: String,
    pub status: String,
    pub ou_id: Uuid,
    pub tags: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Account {
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }
}

/// A managed policy with its default version's document.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ManagedPolicy {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub default_version: i64,
    pub document: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A permission set as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PermissionSet {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub session_duration: i64,
    pub relay_state: String,
    pub inline_policy: Option<String>,
    pub boundary_policy_id: Option<Uuid>,
    pub revision: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An assignment with the names pages and the API show.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Assignment {
    pub id: Uuid,
    pub account_id: String,
    pub account_name: String,
    pub permission_set_id: Uuid,
    pub permission_set_name: String,
    pub user_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    /// Username or group name.
    pub principal_name: String,
    pub created_at: i64,
}

impl Assignment {
    pub fn principal_type(&self) -> PrincipalType {
        if self.user_id.is_some() { PrincipalType::User } else { PrincipalType::Group }
    }
    pub fn principal_id(&self) -> Uuid {
        self.user_id.or(self.group_id).unwrap_or_default()
    }
}

/// A permission set's provisioning in one account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RoleStatus {
    pub account_id: String,
    pub account_name: String,
    /// The permission set revision the role carries.
    pub revision: i64,
    pub provisioned_at: i64,
}

/// A role as a person sees it: an account and a permission set they may use there.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AccessRow {
    pub account_id: String,
    pub account_name: String,
    pub account_email: String,
    pub permission_set_id: Uuid,
    pub permission_set_name: String,
    pub permission_set_description: String,
    pub session_duration: i64,
    pub relay_state: String,
}

/// The policies a role carries, frozen at a revision: what decisions evaluate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub permission_set: String,
    pub session_duration: i64,
    /// (name, document) of each managed policy (default version) and the inline policy.
    pub policies: Vec<(String, String)>,
    pub boundary: Option<(String, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids() {
        assert!(AccountId::parse("123456789012").is_ok());
        for bad in ["12345678901", "1234567890123", "12345678901a", ""] {
            assert!(AccountId::parse(bad).is_err(), "{bad}");
        }
        for _ in 0..100 {
            let id = AccountId::generate();
            assert!(AccountId::parse(id.as_str()).is_ok(), "{id}");
        }
    }

    #[test]
    fn session_durations() {
        assert_eq!(parse_session_duration("PT1H"), Ok(3600));
        assert_eq!(parse_session_duration("PT1H30M"), Ok(5400));
        assert_eq!(parse_session_duration("8h"), Ok(28_800));
        assert_eq!(parse_session_duration("900"), Ok(900));
        for bad in ["PT14M", "PT13H", "60", "PT", "PTH", "1y", "", "PT1X"] {
            assert!(parse_session_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(iso_duration(5400), "PT1H30M");
        assert_eq!(iso_duration(3600), "PT1H");
    }

    #[test]
    fn names_and_arns() {
        assert!(parse_iam_name("name", "Admin+Ops@x.y-z_1=,", 32).is_ok());
        assert!(parse_iam_name("name", "has space", 32).is_err());
        assert!(parse_iam_name("name", &"a".repeat(33), 32).is_err());
        let arn = role_arn("123456789012", "ReadOnly");
        assert_eq!(arn, "arn:lanyard:iam::123456789012:role/ReadOnly");
        let (a, r) = parse_role_arn(&arn).expect("parses");
        assert_eq!((a.as_str(), r.as_str()), ("123456789012", "ReadOnly"));
        assert!(parse_role_arn("arn:aws:iam::123456789012:role/X").is_err());
    }

    #[test]
    fn relay_states() {
        assert!(parse_relay_state("https://console.example.com/home").is_ok());
        assert!(parse_relay_state("http://localhost:3000/").is_ok());
        assert!(parse_relay_state("http://example.com/").is_err());
        assert!(parse_relay_state("javascript:alert(1)").is_err());
        assert_eq!(parse_relay_state(" "), Ok(String::new()));
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,300}") {
            let _ = AccountId::parse(&s);
            let _ = parse_name("name", &s);
            let _ = parse_iam_name("name", &s, 32);
            let _ = parse_session_duration(&s);
            let _ = parse_relay_state(&s);
            let _ = parse_role_arn(&s);
        }
    }
}
