//! CSRF protection for every state-changing request that rides on the session cookie.
//!
//! Signed double-submit (OWASP): a random value lives in the `lanyard_csrf` cookie; the token
//! put in forms (and in the `X-CSRF-Token` header for API calls made with the session cookie)
//! is an HMAC of that value and the signed-in user, under a key derived from the master key.
//! A cross-site page can make the browser send the cookie but can neither read it nor compute
//! the token, and a token minted for one user or one browser is useless for another.

use crate::crypto::{constant_time_eq, hmac_sha256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The cookie holding the random half.
pub const COOKIE: &str = "lanyard_csrf";
/// The form field carrying the token.
pub const FIELD: &str = "csrf_token";
/// The header carrying the token on API calls made with the session cookie.
pub const HEADER: &str = "x-csrf-token";

/// The token to embed in forms for this cookie value and user binding.
pub fn token(key: &[u8; 32], cookie: &str, binding: &str) -> String {
    let mut msg = b"csrf\0".to_vec();
    msg.extend_from_slice(cookie.as_bytes());
    msg.push(0);
    msg.extend_from_slice(binding.as_bytes());
    URL_SAFE_NO_PAD.encode(hmac_sha256(key, &msg))
}

/// Whether `presented` is the token for this cookie value and binding.
pub fn verify(key: &[u8; 32], cookie: &str, binding: &str, presented: &str) -> bool {
    !cookie.is_empty() && constant_time_eq(token(key, cookie, binding).as_bytes(), presented.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_binds_cookie_and_user() {
        let k = [7u8; 32];
        let t = token(&k, "abc", "user-1");
        assert!(verify(&k, "abc", "user-1", &t));
        assert!(!verify(&k, "abd", "user-1", &t));
        assert!(!verify(&k, "abc", "user-2", &t));
        assert!(!verify(&[8u8; 32], "abc", "user-1", &t));
        assert!(!verify(&k, "", "user-1", &token(&k, "", "user-1")));
    }
}
