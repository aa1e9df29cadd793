//! The password policy: length 12–256 characters (NIST SP 800-63B: length over composition
//! rules), not one of the 10,000 most common passwords, not the username.

use crate::error::{Error, Result};
use std::collections::HashSet;

static COMMON: &str = include_str!("common-passwords.txt");

/// The longest password accepted; bounds hashing work per request.
pub const MAX_LENGTH: usize = 256;

/// Checks new passwords against the policy.
#[derive(Debug)]
pub struct PasswordPolicy {
    min_length: usize,
    common: HashSet<&'static str>,
}

impl PasswordPolicy {
    pub fn new(min_length: usize) -> Self {
        let common = COMMON.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
        Self { min_length, common }
    }

    pub fn min_length(&self) -> usize {
        self.min_length
    }

    /// Refuses a password that breaks the policy, saying which rule and what to do.
    pub fn check(&self, password: &str, username: &str) -> Result<()> {
        let n = password.chars().count();
        if n < self.min_length {
            return Err(Error::invalid(
                "password",
                format!("must be at least {} characters; a few random words make a good one", self.min_length),
            ));
        }
        if n > MAX_LENGTH {
            return Err(Error::invalid("password", format!("must be at most {MAX_LENGTH} characters")));
        }
        let lower = password.to_lowercase();
        if self.common.contains(lower.as_str()) {
            return Err(Error::invalid("password", "is one of the most commonly used passwords; choose another"));
        }
        if !username.is_empty() && lower.contains(&username.to_lowercase()) {
            return Err(Error::invalid("password", "must not contain the username"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_has_ten_thousand_entries() {
        assert_eq!(PasswordPolicy::new(12).common.len(), 10_000);
    }

    #[test]
    fn policy_rules() {
        let p = PasswordPolicy::new(12);
        assert!(p.check("short", "bob").is_err());
        assert!(p.check(&"x".repeat(257), "bob").is_err());
        assert!(p.check("bob-is-my-name-forever", "bob").is_err());
        assert!(p.check("correct horse battery", "bob").is_ok());
        // Common passwords are refused even when long enough: the policy is not only length.
        let p8 = PasswordPolicy { min_length: 8, common: PasswordPolicy::new(8).common };
        assert!(p8.check("password", "bob").is_err());
        assert!(p8.check("PASSWORD", "bob").is_err());
    }
}
