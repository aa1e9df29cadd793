//! Bearer secrets as types: a recognisable prefix (so leaked tokens can be found by secret
//! scanners), 256 bits of randomness, and only a SHA-256 digest at rest. These are high-entropy
//! values, so a fast digest is right; argon2 is for human passwords.

use super::CryptoError;

/// A freshly minted secret, shown to its owner once.
pub struct PlainToken(String);

impl std::fmt::Debug for PlainToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlainToken(<redacted>)")
    }
}

impl PlainToken {
    /// A new token `"<prefix>_<43 url-safe chars>"`.
    pub fn generate(prefix: &str) -> Result<Self, CryptoError> {
        Ok(Self(format!("{prefix}_{}", super::random_token::<32>()?)))
    }

    /// Wraps a presented token for hashing.
    pub fn from_presented(s: &str) -> Self {
        Self(s.to_string())
    }

    /// The secret itself, for the one response that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The digest stored at rest and looked up on use.
    pub fn hash(&self) -> String {
        super::sha256_hex(self.0.as_bytes())
    }

    /// A short, non-secret hint for listings (the prefix and first characters).
    pub fn hint(&self) -> String {
        let cut = self.0.char_indices().nth(self.0.find('_').map_or(8, |i| i + 5)).map_or(self.0.len(), |(i, _)| i);
        format!("{}…", &self.0[..cut])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shape_and_hash() {
        let t = PlainToken::generate("lyd_at").expect("token");
        assert!(t.expose().starts_with("lyd_at_"));
        assert_eq!(t.hash(), PlainToken::from_presented(t.expose()).hash());
        assert!(t.hint().starts_with("lyd_at_"));
        assert!(t.hint().len() < 20);
        assert!(!format!("{t:?}").contains(t.expose()));
    }
}
