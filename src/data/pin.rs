//! PIN hashing: argon2id PHC strings with a random salt per PIN. Checking compares the
//! derived hash in constant time (password-hash's `Output` equality), and an unknown
//! account is checked against a decoy hash so that timing does not tell which accounts
//! exist.

use super::error::DataError;
use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::OnceLock;

/// Hashes a PIN for storage.
pub fn hash_pin(pin: &str) -> Result<String, DataError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| DataError::Hash(e.to_string()))
}

/// Whether `pin` matches the stored hash; a malformed hash never matches.
pub fn pin_matches(stored: &str, pin: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(pin.as_bytes(), &hash)
            .is_ok()
    })
}

/// Spends the same work as a real check, for accounts that do not exist.
pub fn decoy_check(pin: &str) {
    static DECOY: OnceLock<String> = OnceLock::new();
    let decoy = DECOY.get_or_init(|| hash_pin("decoy-never-matches").unwrap_or_default());
    let _ = pin_matches(decoy, pin);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_salted_and_verify() {
        let a = hash_pin("1234").unwrap();
        let b = hash_pin("1234").unwrap();
        assert_ne!(a, b, "a salt per hash");
        assert!(!a.contains("1234"));
        assert!(a.starts_with("$argon2id$"));
        assert!(pin_matches(&a, "1234"));
        assert!(!pin_matches(&a, "1235"));
        assert!(!pin_matches("not a hash", "1234"));
    }
}
