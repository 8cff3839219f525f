//! Password hashing (argon2id, the crate's recommended parameters) and the password policy.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::FieldError;

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 128;

/// Hashes a password into a PHC string (`$argon2id$v=19$…`).
pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Whether `password` matches a stored hash. A malformed hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the time of one verification, so that an unknown username takes as long as a wrong
/// password.
pub fn verify_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let stored = DUMMY.get_or_init(|| hash("not-a-real-password").unwrap_or_default());
    let _ = verify(password, stored);
}

const COMMON: &[&str] = &[
    "password",
    "password1",
    "password123",
    "1234567890",
    "12345678910",
    "qwertyuiop",
    "0123456789",
    "1111111111",
    "khongdee123",
    "admin12345",
    "iloveyou12",
    "abcdefghij",
    "qwerty1234",
];

/// Checks a new password: length, not a common one, not the username, not one repeated character.
pub fn check_policy(field: &str, password: &str, username: &str) -> Result<(), FieldError> {
    let len = password.chars().count();
    let weak = || FieldError::new(field, "weak_password").with("min", MIN_LENGTH);
    if len > MAX_LENGTH {
        return Err(FieldError::new(field, "too_long").with("max", MAX_LENGTH));
    }
    if len < MIN_LENGTH {
        return Err(weak());
    }
    let lower = password.to_lowercase();
    let mut chars = password.chars();
    let first = chars.next();
    if COMMON.contains(&lower.as_str())
        || (!username.is_empty() && lower.contains(&username.to_lowercase()))
        || chars.all(|c| Some(c) == first)
    {
        return Err(weak());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_verifies() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("wrong horse battery", &h));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn enforces_the_policy() {
        assert!(check_policy("password", "short", "somchai").is_err());
        assert!(check_policy("password", "password123", "somchai").is_err());
        assert!(check_policy("password", "somchai-2026!", "somchai").is_err());
        assert!(check_policy("password", "aaaaaaaaaaaa", "x").is_err());
        assert!(check_policy("password", "ลำไยหวานมากปีนี้", "somchai").is_ok());
        assert!(check_policy("password", &"x1".repeat(80), "u").is_err());
    }
}
