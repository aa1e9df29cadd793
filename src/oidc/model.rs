//! Applications (OAuth clients) and the protocol's small values: validation and matching rules,
//! no I/O.

use crate::directory::model::Invalid;
use serde::Serialize;
use uuid::Uuid;

/// The longest lifetime of an access or ID token (signing keys outlive it in the JWKS).
pub const MAX_TOKEN_TTL: i64 = 86_400;
/// The longest refresh-token (grant) lifetime: a year, like an offline session in Keycloak.
pub const MAX_REFRESH_TTL: i64 = 365 * 86_400;
/// Authorization codes live 60 seconds (OIDC Core §3.1.3.2 asks for a short lifetime).
pub const CODE_TTL: i64 = 60;
/// Device codes live 10 minutes; devices poll every 5 seconds at most (RFC 8628 §3.2, §3.5).
pub const DEVICE_TTL: i64 = 600;
pub const DEVICE_INTERVAL: i64 = 5;

pub const GRANT_CODE: &str = "authorization_code";
pub const GRANT_REFRESH: &str = "refresh_token";
pub const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";
pub const GRANT_DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";
pub const GRANT_TYPES: &[&str] = &[GRANT_CODE, GRANT_REFRESH, GRANT_CLIENT_CREDENTIALS, GRANT_DEVICE];

/// The scopes whose meaning Lanyard defines (user identity); others are the app's own API scopes.
pub const IDENTITY_SCOPES: &[&str] = &["openid", "profile", "email", "groups", "offline_access"];

pub const AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post", "private_key_jwt", "none"];
pub const SIGNING_ALGS: &[&str] = &["ES256", "RS256", "EdDSA"];

/// An application as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Client {
    pub id: Uuid,
    pub client_id: String,
    pub name: String,
    pub name_key: String,
    pub description: String,
    pub auth_method: String,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub grant_types: String,
    pub scopes: String,
    pub jwks: Option<String>,
    pub signing_alg: String,
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub refresh_token_ttl: i64,
    pub consent_required: bool,
    pub launch_url: Option<String>,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

fn list(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

impl Client {
    pub fn redirect_uris(&self) -> Vec<String> {
        list(&self.redirect_uris)
    }
    pub fn post_logout_redirect_uris(&self) -> Vec<String> {
        list(&self.post_logout_redirect_uris)
    }
    pub fn grant_types(&self) -> Vec<String> {
        list(&self.grant_types)
    }
    pub fn scopes(&self) -> Vec<String> {
        list(&self.scopes)
    }
    pub fn has_grant(&self, grant: &str) -> bool {
        self.grant_types().iter().any(|g| g == grant)
    }
    /// Public clients (native apps, CLIs, single-page apps) hold no secret and must use PKCE.
    pub fn is_public(&self) -> bool {
        self.auth_method == "none"
    }
    /// Whether every requested scope is one this client may ask for.
    pub fn allows_scopes(&self, requested: &[String]) -> bool {
        let allowed = self.scopes();
        requested.iter().all(|s| allowed.contains(s))
    }
}

/// An application as the API and pages show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClientView {
    pub id: Uuid,
    pub client_id: String,
    pub name: String,
    pub description: String,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none` (public client).
    pub token_endpoint_auth_method: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    pub id_token_signed_response_alg: String,
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub refresh_token_ttl: i64,
    pub consent_required: bool,
    pub launch_url: Option<String>,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        ClientView {
            id: c.id,
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            description: c.description.clone(),
            token_endpoint_auth_method: c.auth_method.clone(),
            redirect_uris: c.redirect_uris(),
            post_logout_redirect_uris: c.post_logout_redirect_uris(),
            grant_types: c.grant_types(),
            scopes: c.scopes(),
            jwks: c.jwks.as_deref().and_then(|j| serde_json::from_str(j).ok()),
            id_token_signed_response_alg: c.signing_alg.clone(),
            access_token_ttl: c.access_token_ttl,
            id_token_ttl: c.id_token_ttl,
            refresh_token_ttl: c.refresh_token_ttl,
            consent_required: c.consent_required,
            launch_url: c.launch_url.clone(),
            enabled: c.enabled,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> Invalid {
    Invalid { field, reason: reason.into() }
}

/// Whether `host` is a loopback IP literal (RFC 8252 §7.3; `localhost` is not, §8.3).
fn is_loopback_ip(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

/// Checks a redirect URI an administrator registers: absolute, no fragment (RFC 6749 §3.1.2),
/// https — or http only to a loopback address (RFC 8252 §7.3; `localhost` too, for development)
/// — or a private-use scheme with a dot in it (RFC 8252 §7.1, e.g. `com.example.app:/cb`).
pub fn parse_redirect_uri(field: &'static str, s: &str) -> Result<String, Invalid> {
    let s = s.trim();
    if s.len() > 2000 || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(invalid(field, "must be a URL of at most 2000 characters without spaces"));
    }
    let url = url::Url::parse(s).map_err(|_| invalid(field, format!("{s:?} is not an absolute URL")))?;
    if url.fragment().is_some() {
        return Err(invalid(field, "must not contain a fragment (#…)"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(field, "must not contain user information"));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_ip(&url) || url.host_str() == Some("localhost") => {}
        "http" => return Err(invalid(field, "http:// is allowed only for loopback addresses; use https://")),
        scheme if scheme.contains('.') => {}
        _ => return Err(invalid(field, "must be https://, http:// to a loopback address, or a private-use scheme")),
    }
    Ok(s.to_string())
}

/// Whether a presented redirect URI matches a registered one: character for character
/// (OIDC Core §3.1.2.1), except that a loopback IP redirect may use any port (RFC 8252 §7.3).
pub fn redirect_matches(registered: &[String], presented: &str) -> bool {
    if registered.iter().any(|r| r == presented) {
        return true;
    }
    let Ok(p) = url::Url::parse(presented) else { return false };
    if p.scheme() != "http" || !is_loopback_ip(&p) || p.fragment().is_some() || !p.username().is_empty() {
        return false;
    }
    registered.iter().filter_map(|r| url::Url::parse(r).ok()).any(|r| {
        r.scheme() == "http"
            && is_loopback_ip(&r)
            && r.host() == p.host()
            && r.path() == p.path()
            && r.query() == p.query()
    })
}

/// Parses a space-separated scope list (RFC 6749 §3.3): printable ASCII without `"` and `\`,
/// each at most 128 characters, at most 50 of them; duplicates dropped, order kept.
pub fn parse_scope(s: &str) -> Result<Vec<String>, Invalid> {
    let mut out: Vec<String> = Vec::new();
    for token in s.split(' ').filter(|t| !t.is_empty()) {
        if token.len() > 128
            || !token.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
        {
            return Err(invalid("scope", "scope values are printable ASCII without spaces, quotes or backslashes"));
        }
        if !out.iter().any(|o| o == token) {
            out.push(token.to_string());
        }
    }
    if out.len() > 50 {
        return Err(invalid("scope", "at most 50 scope values"));
    }
    Ok(out)
}

/// Validates a lifetime in seconds within `[min, max]`.
pub fn parse_ttl(field: &'static str, v: i64, min: i64, max: i64) -> Result<i64, Invalid> {
    if v < min || v > max {
        return Err(invalid(field, format!("must be between {min} and {max} seconds")));
    }
    Ok(v)
}

/// A client id: 3–64 characters of letters, digits and `. _ -`.
pub fn parse_client_id(s: &str) -> Result<String, Invalid> {
    let s = s.trim();
    if s.len() < 3 || s.len() > 64 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
        return Err(invalid("client_id", "must be 3–64 letters, digits, dots, dashes or underscores"));
    }
    Ok(s.to_string())
}

/// The `acr` value for a session: `mfa` when a second factor was used, else `pwd`.
pub fn acr_for(amr: &[String]) -> &'static str {
    if amr.iter().any(|a| a == "mfa") { "mfa" } else { "pwd" }
}

/// RFC 7636 §4.1: a code verifier is 43–128 characters of `[A-Za-z0-9-._~]`.
pub fn is_valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The S256 challenge of a verifier: BASE64URL(SHA256(verifier)) (RFC 7636 §4.2).
pub fn s256(verifier: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crate::crypto::sha256(verifier.as_bytes()))
}

/// A user code for the device flow: 8 letters from an alphabet without vowels or look-alikes
/// (RFC 8628 §6.1), shown as `XXXX-XXXX`; 20^8 ≈ 2^34.6 possibilities, guessing is rate limited.
pub const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

/// Normalises what a person typed: upper case, dashes and spaces dropped.
pub fn normalise_user_code(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).take(16).collect()
}

/// Formats a normalised code for display.
pub fn display_user_code(s: &str) -> String {
    if s.len() == 8 { format!("{}-{}", &s[..4], &s[4..]) } else { s.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects_match_any_port_but_nothing_else_does() {
        let reg = vec!["http://127.0.0.1/callback".to_string(), "https://app.example/cb".to_string()];
        assert!(redirect_matches(&reg, "http://127.0.0.1:53123/callback"));
        assert!(redirect_matches(&reg, "http://127.0.0.1/callback"));
        assert!(!redirect_matches(&reg, "http://127.0.0.1:53123/other"));
        assert!(!redirect_matches(&reg, "http://127.0.0.1:53123/callback?x=1"));
        assert!(redirect_matches(&reg, "https://app.example/cb"));
        assert!(!redirect_matches(&reg, "https://app.example/cb/"));
        assert!(!redirect_matches(&reg, "https://app.example:8443/cb"));
        assert!(!redirect_matches(&reg, "https://APP.example/cb"));
        let v6 = vec!["http://[::1]/cb".to_string()];
        assert!(redirect_matches(&v6, "http://[::1]:9000/cb"));
        assert!(!redirect_matches(&v6, "http://127.0.0.1:9000/cb"));
    }

    #[test]
    fn registered_redirects_are_checked() {
        assert!(parse_redirect_uri("r", "https://app.example/cb").is_ok());
        assert!(parse_redirect_uri("r", "http://127.0.0.1/cb").is_ok());
        assert!(parse_redirect_uri("r", "http://app.example/cb").is_err());
        assert!(parse_redirect_uri("r", "https://app.example/cb#x").is_err());
        assert!(parse_redirect_uri("r", "javascript:alert(1)").is_err());
        assert!(parse_redirect_uri("r", "com.example.app:/cb").is_ok());
        assert!(parse_redirect_uri("r", "/relative").is_err());
    }

    #[test]
    fn scopes_parse() {
        assert_eq!(parse_scope("openid  email openid").unwrap_or_default(), vec!["openid", "email"]);
        assert!(parse_scope("a\"b").is_err());
    }

    #[test]
    fn pkce_s256_matches_rfc7636_appendix_b() {
        assert_eq!(s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(is_valid_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert!(!is_valid_verifier("short"));
    }
}
