//! Users, groups and memberships: types and validation (no I/O).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The built-in group whose members administer Lanyard (created by the first migration).
pub const ADMIN_GROUP_ID: Uuid = Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0001);

/// Why a value was refused, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Invalid {
    pub field: &'static str,
    pub reason: String,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> Invalid {
    Invalid { field, reason: reason.into() }
}

/// A validated username: 1–64 characters of letters, digits and `. _ - @`, starting with a letter
/// or digit. Unique regardless of case; the original case is kept for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim();
        if s.is_empty() {
            return Err(invalid("username", "is required"));
        }
        if s.chars().count() > 64 {
            return Err(invalid("username", "must be at most 64 characters"));
        }
        if !s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')) {
            return Err(invalid("username", "may contain only letters, digits and . _ - @"));
        }
        if !s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) {
            return Err(invalid("username", "must start with a letter or digit"));
        }
        Ok(Self(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The case-insensitive uniqueness key.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// A validated email address (empty means none). Deliberately simple: one `@`, a non-empty
/// local part, a dotted domain, no spaces or control characters, at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(Self(String::new()));
        }
        let bad = || invalid("email", "is not a valid email address");
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return Err(bad());
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels.iter().any(|l| l.is_empty() || l.len() > 63 || l.starts_with('-') || l.ends_with('-'))
            || !domain.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.')
        {
            return Err(bad());
        }
        Ok(Self(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A display name: up to 200 characters, no control characters.
pub fn parse_display_name(s: &str, fallback: &str) -> Result<String, Invalid> {
    let s = s.trim();
    if s.chars().count() > 200 {
        return Err(invalid("display_name", "must be at most 200 characters"));
    }
    if s.chars().any(char::is_control) {
        return Err(invalid("display_name", "must not contain control characters"));
    }
    Ok(if s.is_empty() { fallback.to_string() } else { s.to_string() })
}

/// A group name: 1–128 characters of letters, digits, spaces and `. _ -`; unique regardless of case.
pub fn parse_group_name(s: &str) -> Result<(String, String), Invalid> {
    let s = s.trim();
    if s.is_empty() {
        return Err(invalid("name", "is required"));
    }
    if s.chars().count() > 128 {
        return Err(invalid("name", "must be at most 128 characters"));
    }
    if !s.chars().all(|c| c.is_alphanumeric() || matches!(c, ' ' | '.' | '_' | '-')) {
        return Err(invalid("name", "may contain only letters, digits, spaces and . _ -"));
    }
    Ok((s.to_string(), s.to_lowercase()))
}

/// A description: up to 1000 characters.
pub fn parse_description(s: &str) -> Result<String, Invalid> {
    let s = s.trim();
    if s.chars().count() > 1000 {
        return Err(invalid("description", "must be at most 1000 characters"));
    }
    if s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(invalid("description", "must not contain control characters"));
    }
    Ok(s.to_string())
}

/// Whether an account may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Disabled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Disabled => "disabled",
        }
    }
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s {
            "active" => Ok(Status::Active),
            "disabled" => Ok(Status::Disabled),
            _ => Err(invalid("status", "must be active or disabled")),
        }
    }
}

/// A user as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub status: String,
    pub password_hash: Option<String>,
    pub must_change_password: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl User {
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }
}

/// A group as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Group {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A page of results and the cursor for the next one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// A page from up to `limit + 1` rows fetched in order: an extra row means there is a next
    /// page, whose cursor is `cursor` of the last row kept.
    pub fn cut(mut items: Vec<T>, limit: i64, cursor: impl Fn(&T) -> String) -> Self {
        let next = if items.len() as i64 > limit {
            items.truncate(usize::try_from(limit).unwrap_or(0));
            items.last().map(cursor)
        } else {
            None
        };
        Page { items, next }
    }

    /// The same page with each item mapped.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next: self.next }
    }
}

/// A page size as asked for: 100 when unset or not positive, at most 1000.
pub fn clamp_limit(limit: i64) -> i64 {
    if limit <= 0 { 100 } else { limit.min(1000) }
}

/// Listing parameters: prefix filters and keyset pagination.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub username_prefix: Option<String>,
    pub email_prefix: Option<String>,
    /// Opaque cursor from a previous page.
    pub after: Option<String>,
    pub limit: i64,
}

/// Encodes a sort key as an opaque cursor.
pub fn encode_cursor(key: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

/// Decodes a cursor; a malformed one is a client error.
pub fn decode_cursor(c: &str) -> Result<String, Invalid> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|s| !s.chars().any(char::is_control))
        .ok_or_else(|| invalid("next", "is not a cursor returned by this API"))
}

impl User {
    /// Creation time for pages.
    pub fn created_label(&self) -> String {
        crate::clock::format_unix(self.created_at).replace('T', " ").replace('Z', " UTC")
    }
}

impl Group {
    /// Creation time for pages.
    pub fn created_label(&self) -> String {
        crate::clock::format_unix(self.created_at).replace('T', " ").replace('Z', " UTC")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(Username::parse(" Alice.Smith ").expect("ok").key(), "alice.smith");
        assert!(Username::parse("").is_err());
        assert!(Username::parse("-x").is_err());
        assert!(Username::parse("a b").is_err());
        assert!(Username::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn emails() {
        assert!(Email::parse("a@example.com").is_ok());
        assert_eq!(Email::parse("").expect("empty ok").as_str(), "");
        for bad in ["a", "a@b", "@b.com", "a@.com", "a b@c.com", "a@b..com", "a@-b.com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,300}") {
            let _ = Username::parse(&s);
            let _ = Email::parse(&s);
            let _ = parse_group_name(&s);
            let _ = parse_display_name(&s, "x");
            let _ = decode_cursor(&s);
        }
    }
}
