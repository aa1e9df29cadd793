//! Configuration: built-in defaults < `lanyard.toml` < `LANYARD_*` environment variables.
//!
//! Every setting has a safe default, so Lanyard starts with no file at all. A wrong value stops
//! start-up with one line naming the key, because a silently ignored typo in an identity system
//! (say, a lockout threshold) is a security bug.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use url::Url;

/// The effective configuration of one Lanyard process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// The URL people and apps use to reach Lanyard. Derived from `listen` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<Url>,
    /// Where the SQLite database and the generated master key file live.
    pub data_dir: PathBuf,
    /// The master key (base64 of 32 bytes). When unset, `master_key_file` is used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_key: Option<Secret>,
    /// The master key file, generated with mode 0600 on first start. Default: `<data_dir>/master.key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_key_file: Option<PathBuf>,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    pub session: SessionConfig,
    pub signin: SigninConfig,
    pub password: PasswordConfig,
    pub http: HttpConfig,
    pub audit: AuditConfig,
    pub oidc: OidcConfig,
    pub sts: StsConfig,
}

/// Role credentials.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StsConfig {
    /// Role credentials never outlive the sign-in they come from: the portal session (its
    /// absolute timeout) or the SSO sign-in of the CLI and SDKs. Off by default, as in AWS,
    /// where role sessions last their permission set's duration.
    pub bound_to_session: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    /// A new signing key is generated this long after the active one took over; 0 turns the
    /// schedule off (`lanyard keys rotate` still works).
    pub key_rotation: Dur,
    /// A new key is published in the JWKS this long before it starts signing, so relying
    /// parties that cache the JWKS already know it.
    pub key_prepublish: Dur,
    /// A retired key stays in the JWKS this long (at least the longest token lifetime).
    pub key_retention: Dur,
    /// Token and authorization requests per second from one client IP (0: no limit).
    pub rate_per_ip: u32,
    /// Token requests per second for one client (0: no limit).
    pub rate_per_client: u32,
    /// How many requests may come at once before the rates apply.
    pub rate_burst: u32,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            key_rotation: Dur::from_secs(90 * 86400),
            key_prepublish: Dur::from_secs(86400),
            key_retention: Dur::from_secs(2 * 86400),
            rate_per_ip: 200,
            rate_per_client: 500,
            rate_burst: 1000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Which decisions of `POST /api/v1/authorize` are written to the audit log: `all`, `deny`
    /// (only refusals) or `none`. They go through the batched writer, so they never make a
    /// decision wait for its own database write.
    pub decisions: String,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self { decisions: "all".into() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://path` or `postgres://user@host/db`. Default: SQLite in the data directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<DatabaseUrl>,
    /// Connection pool size per process.
    pub max_connections: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` for people, `json` for log shippers (one JSON object per line).
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `lanyard=debug,info`.
    pub level: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// A portal session ends after this long without a request.
    pub idle_timeout: Dur,
    /// A portal session ends this long after sign-in, however active.
    pub absolute_timeout: Dur,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SigninConfig {
    /// Failures on one username within `failure_window` before it is locked.
    pub max_failures: u32,
    /// Failures after which each further attempt must wait a growing delay.
    pub delay_after: u32,
    /// The longest growing delay between attempts.
    pub max_delay: Dur,
    /// How long failures are remembered.
    pub failure_window: Dur,
    /// How long a locked username stays locked.
    pub lockout: Dur,
    /// Failures from one client IP within `failure_window` before it is blocked.
    pub ip_max_failures: u32,
    /// Password hashes computed at once (each takes about 19 MiB); 0 means one per core.
    pub max_concurrent_hashes: u32,
    /// Sign-ins that may wait for a hashing slot before new ones are refused with 503.
    pub max_queued_hashes: u32,
    /// Sign-in requests (password, second factor, passkey steps) per second from one client IP,
    /// right or wrong, on each instance; 0 turns the limit off.
    pub rate_per_ip: u32,
    /// How many of those may come at once before the rate applies.
    pub rate_burst: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    /// Minimum password length in characters (at least 12).
    pub min_length: u32,
    /// Argon2id memory cost in KiB (OWASP: 19456).
    pub argon2_memory_kib: u32,
    /// Argon2id iterations (OWASP: 2).
    pub argon2_iterations: u32,
    /// Argon2id lanes (OWASP: 1).
    pub argon2_parallelism: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Largest accepted request body in bytes.
    pub max_body_bytes: u32,
    /// A request taking longer is answered with 408.
    pub request_timeout: Dur,
    /// Take the client IP from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            data_dir: PathBuf::from("./lanyard-data"),
            master_key: None,
            master_key_file: None,
            database: DatabaseConfig::default(),
            log: LogConfig::default(),
            session: SessionConfig::default(),
            signin: SigninConfig::default(),
            password: PasswordConfig::default(),
            http: HttpConfig::default(),
            audit: AuditConfig::default(),
            oidc: OidcConfig::default(),
            sts: StsConfig::default(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self { url: None, max_connections: 16 }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { format: LogFormat::Text, level: "info".into() }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self { idle_timeout: Dur::from_secs(30 * 60), absolute_timeout: Dur::from_secs(10 * 3600) }
    }
}

impl Default for SigninConfig {
    fn default() -> Self {
        Self {
            max_failures: 10,
            delay_after: 3,
            max_delay: Dur::from_secs(60),
            failure_window: Dur::from_secs(15 * 60),
            lockout: Dur::from_secs(15 * 60),
            ip_max_failures: 100,
            max_concurrent_hashes: 0,
            max_queued_hashes: 256,
            rate_per_ip: 10,
            rate_burst: 60,
        }
    }
}

impl Default for PasswordConfig {
    fn default() -> Self {
        Self { min_length: 12, argon2_memory_kib: 19456, argon2_iterations: 2, argon2_parallelism: 1 }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self { max_body_bytes: 256 * 1024, request_timeout: Dur::from_secs(30), trust_forwarded_for: false }
    }
}

/// Settings that have no default value, so they do not appear when the defaults are serialized.
const OPTIONAL_KEYS: &[&str] = &["public_url", "master_key", "master_key_file", "database.url"];

/// A configuration error: one line, naming the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Where a configuration comes from.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// `--config PATH`: must be readable. Without it, `./lanyard.toml` is read if present.
    pub file: Option<PathBuf>,
}

impl Config {
    /// Loads the configuration from the file (if any) and the process environment.
    pub fn load(sources: &Sources) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().filter(|(k, _)| k.starts_with("LANYARD_")).collect();
        Self::load_from(sources, &env)
    }

    /// Loads the configuration from a file and the given `LANYARD_*` variables.
    pub fn load_from(sources: &Sources, env: &[(String, String)]) -> Result<Self, ConfigError> {
        let (path, required) = match &sources.file {
            Some(p) => (p.clone(), true),
            None => (PathBuf::from("lanyard.toml"), false),
        };
        let mut table = if required || path.exists() {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?;
            toml::from_str::<toml::Table>(&text)
                .map_err(|e| ConfigError(format!("config file {}: {}", path.display(), one_line(&e.to_string()))))?
        } else {
            toml::Table::new()
        };
        let origin = path.display().to_string();
        let known = known_keys();
        check_unknown(&table, "", &known, &origin)?;
        let defaults = toml::Table::try_from(Config::default()).map_err(|e| ConfigError(e.to_string()))?;
        for key in &known {
            let var = env_name(key);
            let Some((_, raw)) = env.iter().find(|(k, _)| *k == var) else { continue };
            let value = match lookup(&defaults, key) {
                Some(toml::Value::Integer(_)) => raw
                    .trim()
                    .parse::<i64>()
                    .map(toml::Value::Integer)
                    .map_err(|_| ConfigError(format!("{var}: expected a whole number, got {raw:?}")))?,
                Some(toml::Value::Boolean(_)) => raw
                    .trim()
                    .parse::<bool>()
                    .map(toml::Value::Boolean)
                    .map_err(|_| ConfigError(format!("{var}: expected true or false, got {raw:?}")))?,
                _ => toml::Value::String(raw.clone()),
            };
            insert(&mut table, key, value);
        }
        let config: Config = serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let key = e.path().to_string();
            ConfigError(format!(
                "invalid setting `{key}` (in {origin} or {}): {}",
                env_name(&key),
                one_line(&e.into_inner().to_string())
            ))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that parse but make no sense together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad =
            |key: &str, why: &str| Err(ConfigError(format!("invalid setting `{key}` ({}): {why}", env_name(key))));
        if let Some(url) = &self.public_url {
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return bad("public_url", "must be an http:// or https:// URL with a host");
            }
            if url.query().is_some() || url.fragment().is_some() {
                return bad("public_url", "must not have a query or fragment");
            }
        }
        if let Some(key) = &self.master_key
            && crate::crypto::MasterKey::from_base64(key.expose()).is_err()
        {
            return bad("master_key", "must be the base64 encoding of exactly 32 bytes");
        }
        if let Some(url) = &self.database.url {
            let u = url.expose();
            if !(u.starts_with("sqlite:") || u.starts_with("postgres://") || u.starts_with("postgresql://")) {
                return bad("database.url", "must start with sqlite: or postgres://");
            }
        }
        if self.database.max_connections == 0 {
            return bad("database.max_connections", "must be at least 1");
        }
        if self.session.idle_timeout.0.is_zero() || self.session.absolute_timeout.0.is_zero() {
            return bad("session.idle_timeout", "session timeouts must be positive");
        }
        if self.password.min_length < 12 || self.password.min_length > 256 {
            return bad("password.min_length", "must be between 12 and 256");
        }
        if self.password.argon2_memory_kib < 19456 || self.password.argon2_iterations < 2 {
            return bad("password.argon2_memory_kib", "must not be below OWASP's minimum (19456 KiB, 2 iterations)");
        }
        if self.password.argon2_parallelism == 0 || self.password.argon2_parallelism > 16 {
            return bad("password.argon2_parallelism", "must be between 1 and 16");
        }
        if self.oidc.key_retention.secs() < crate::oidc::model::MAX_TOKEN_TTL {
            return bad("oidc.key_retention", "must be at least 24h, the longest token lifetime");
        }
        if self.signin.max_failures == 0 || self.signin.ip_max_failures == 0 {
            return bad("signin.max_failures", "must be at least 1");
        }
        if self.http.max_body_bytes < 1024 {
            return bad("http.max_body_bytes", "must be at least 1024");
        }
        if !matches!(self.audit.decisions.as_str(), "all" | "deny" | "none") {
            return bad("audit.decisions", "must be all, deny or none");
        }
        let _ = tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| ConfigError(format!("invalid setting `log.level` (LANYARD_LOG_LEVEL): {e}")))?;
        Ok(())
    }

    /// The public base URL, without a trailing slash.
    ///
    /// Derived from `listen` when not configured: a loopback address becomes `localhost`, since
    /// browsers refuse WebAuthn on IP-address origins.
    pub fn public_url(&self) -> Url {
        if let Some(u) = &self.public_url {
            return u.clone();
        }
        let host = if self.listen.ip().is_loopback() || self.listen.ip().is_unspecified() {
            "localhost".to_string()
        } else {
            match self.listen {
                SocketAddr::V4(a) => a.ip().to_string(),
                SocketAddr::V6(a) => format!("[{}]", a.ip()),
            }
        };
        Url::parse(&format!("http://{host}:{}", self.listen.port())).unwrap_or_else(|_| {
            Url::parse("http://localhost:8080").unwrap_or_else(|_| unreachable!("static URL parses"))
        })
    }

    /// The public origin as a string without trailing slash, for links and cookie decisions.
    pub fn public_base(&self) -> String {
        self.public_url().as_str().trim_end_matches('/').to_string()
    }

    /// Whether cookies must be `Secure` and HSTS sent.
    pub fn is_https(&self) -> bool {
        self.public_url().scheme() == "https"
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(u) => u.expose().to_string(),
            None => format!("sqlite://{}", self.data_dir.join("lanyard.db").display()),
        }
    }

    /// The master key file in effect.
    pub fn master_key_path(&self) -> PathBuf {
        self.master_key_file.clone().unwrap_or_else(|| self.data_dir.join("master.key"))
    }

    /// The effective configuration as TOML, secrets redacted, derived values filled in.
    pub fn to_redacted_toml(&self) -> String {
        let mut shown = self.clone();
        shown.public_url = Some(self.public_url());
        shown.master_key_file = Some(self.master_key_path());
        shown.database.url = Some(DatabaseUrl(self.database_url()));
        toml::to_string_pretty(&shown).unwrap_or_default()
    }
}

/// Hides the password in a database URL.
pub fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("<redacted>"));
            u.to_string()
        }
        _ => raw.to_string(),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `session.idle_timeout` → `LANYARD_SESSION_IDLE_TIMEOUT`.
pub fn env_name(key: &str) -> String {
    format!("LANYARD_{}", key.replace('.', "_").to_uppercase())
}

/// Every dotted key a configuration may set.
pub fn known_keys() -> Vec<String> {
    let mut keys = Vec::new();
    if let Ok(table) = toml::Table::try_from(Config::default()) {
        collect_leaves(&table, "", &mut keys);
    }
    keys.extend(OPTIONAL_KEYS.iter().map(|k| k.to_string()));
    keys.sort();
    keys.dedup();
    keys
}

fn collect_leaves(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match v {
            toml::Value::Table(t) => collect_leaves(t, &key, out),
            _ => out.push(key),
        }
    }
}

fn check_unknown(table: &toml::Table, prefix: &str, known: &[String], origin: &str) -> Result<(), ConfigError> {
    for (k, v) in table {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match v {
            toml::Value::Table(t) if known.iter().any(|n| n.starts_with(&format!("{key}."))) => {
                check_unknown(t, &key, known, origin)?
            }
            _ if known.contains(&key) => {}
            _ => return Err(ConfigError(format!("unknown setting `{key}` in {origin}"))),
        }
    }
    Ok(())
}

fn lookup<'a>(table: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    let mut parts = key.split('.').peekable();
    let mut t = table;
    while let Some(p) = parts.next() {
        let v = t.get(p)?;
        if parts.peek().is_none() {
            return Some(v);
        }
        t = v.as_table()?;
    }
    None
}

fn insert(table: &mut toml::Table, key: &str, value: toml::Value) {
    let parts: Vec<&str> = key.split('.').collect();
    let mut t = table;
    for p in &parts[..parts.len() - 1] {
        let entry = t.entry(p.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        t = match entry.as_table_mut() {
            Some(t) => t,
            None => return,
        };
    }
    t.insert(parts[parts.len() - 1].to_string(), value);
}

/// A secret setting: never shown by `Debug` or `config print`.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The secret value, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for Secret {
    /// The serialized form is what `config print` shows.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

/// A database URL: its password is never shown by `Debug` or `config print`.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The URL with its password, for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&redact_url(&self.0))
    }
}

/// A duration written as `90s`, `30m`, `8h`, `1d` or combined (`1h30m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub std::time::Duration);

impl Dur {
    pub const fn from_secs(s: u64) -> Self {
        Self(std::time::Duration::from_secs(s))
    }
    /// Whole seconds, as stored in the database.
    pub fn secs(&self) -> i64 {
        i64::try_from(self.0.as_secs()).unwrap_or(i64::MAX)
    }
}

impl FromStr for Dur {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let err = || format!("invalid duration {s:?} (use e.g. 90s, 30m, 8h, 1d)");
        if s.is_empty() {
            return Err(err());
        }
        let mut total: u64 = 0;
        let mut num = String::new();
        for c in s.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86400,
                _ => return Err(err()),
            };
            let n: u64 = num.parse().map_err(|_| err())?;
            total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(err)?;
            num.clear();
        }
        if !num.is_empty() {
            return Err(err());
        }
        if total > 10 * 365 * 86400 {
            return Err(err());
        }
        Ok(Dur::from_secs(total))
    }
}

impl std::fmt::Display for Dur {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.0.as_secs();
        if s > 0 && s.is_multiple_of(86400) {
            write!(f, "{}d", s / 86400)
        } else if s > 0 && s.is_multiple_of(3600) {
            write!(f, "{}h", s / 3600)
        } else if s > 0 && s.is_multiple_of(60) {
            write!(f, "{}m", s / 60)
        } else {
            write!(f, "{s}s")
        }
    }
}

impl Serialize for Dur {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Creates the data directory if needed (mode 0700: it holds the database and the key file).
pub fn ensure_data_dir(dir: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    if !dir.exists() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create data directory {}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("cannot set permissions on {}", dir.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(file: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lanyard.toml");
        std::fs::write(&path, file).expect("write");
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::load_from(&Sources { file: Some(path) }, &env)
    }

    #[test]
    fn defaults_are_safe() {
        let c = load("", &[]).expect("defaults load");
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.public_url().as_str(), "http://localhost:8080/");
        assert!(c.database_url().starts_with("sqlite://"));
        assert_eq!(c.password.min_length, 12);
    }

    #[test]
    fn env_overrides_file() {
        let c = load(
            "[session]\nidle_timeout = \"10m\"\n",
            &[("LANYARD_SESSION_IDLE_TIMEOUT", "1h"), ("LANYARD_SIGNIN_MAX_FAILURES", "4")],
        )
        .expect("loads");
        assert_eq!(c.session.idle_timeout, Dur::from_secs(3600));
        assert_eq!(c.signin.max_failures, 4);
    }

    #[test]
    fn unknown_key_is_named() {
        let e = load("[session]\nidle = \"10m\"\n", &[]).expect_err("must fail");
        assert!(e.0.contains("session.idle"), "{}", e.0);
    }

    #[test]
    fn bad_url_is_named() {
        let e = load("public_url = \"ftp://x\"\n", &[]).expect_err("must fail");
        assert!(e.0.contains("public_url"), "{}", e.0);
        let e = load("", &[("LANYARD_PUBLIC_URL", "not a url")]).expect_err("must fail");
        assert!(e.0.contains("public_url"), "{}", e.0);
    }

    #[test]
    fn bad_number_in_env_is_named() {
        let e = load("", &[("LANYARD_SIGNIN_MAX_FAILURES", "many")]).expect_err("must fail");
        assert!(e.0.contains("LANYARD_SIGNIN_MAX_FAILURES"), "{}", e.0);
    }

    #[test]
    fn unreadable_file_is_named() {
        let e = Config::load_from(&Sources { file: Some("/nonexistent/lanyard.toml".into()) }, &[]).expect_err("fails");
        assert!(e.0.contains("/nonexistent/lanyard.toml"));
    }

    #[test]
    fn print_redacts_secrets() {
        let c = load(
            "",
            &[
                ("LANYARD_DATABASE_URL", "postgres://u:hunter2@db/x"),
                ("LANYARD_MASTER_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            ],
        )
        .expect("loads");
        let out = c.to_redacted_toml();
        assert!(!out.contains("hunter2"), "{out}");
        assert!(!out.contains("AAAAAAAA"), "{out}");
        assert!(format!("{c:?}").contains("<redacted>"));
    }

    #[test]
    fn durations_parse() {
        assert_eq!("1h30m".parse::<Dur>(), Ok(Dur::from_secs(5400)));
        assert!("10".parse::<Dur>().is_err());
        assert!("x".parse::<Dur>().is_err());
        assert!("".parse::<Dur>().is_err());
    }

    proptest::proptest! {
        #[test]
        fn duration_parser_never_panics(s in ".{0,40}") {
            let _ = s.parse::<Dur>();
        }

        #[test]
        fn config_parser_never_panics(s in ".{0,200}") {
            let _ = load(&s, &[]);
        }
    }
}
