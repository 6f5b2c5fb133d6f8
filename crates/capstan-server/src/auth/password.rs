//! bcrypt password hashes (as stored in `argocd-secret`) and random secrets.

use rand::Rng;
use rand::distr::Alphanumeric;

/// bcrypt cost; Argo CD uses the library default (10).
pub const BCRYPT_COST: u32 = 10;

/// Passwords must have 8 to 32 characters, as Argo CD requires.
pub fn validate_new_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if !(8..=32).contains(&n) {
        return Err("password must have between 8 and 32 characters".to_string());
    }
    Ok(())
}

/// Hashes a password with bcrypt.
pub fn hash(password: &str) -> Result<String, String> {
    bcrypt::hash(password, BCRYPT_COST).map_err(|e| format!("hashing the password: {e}"))
}

/// Verifies a password against a bcrypt hash (bcrypt's comparison is constant-time). A malformed hash
/// never matches.
pub fn verify(password: &str, hash: &str) -> bool {
    bcrypt::verify(password, hash).unwrap_or(false)
}

/// A hash that no password matches, checked for unknown users so they take as long as known ones.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash(&random_string(24)).unwrap_or_default())
}

/// A random alphanumeric string of `len` characters (initial passwords, token ids).
pub fn random_string(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// 32 random bytes, base64 encoded (the token signing key).
pub fn random_key() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash("correct horse").unwrap();
        assert!(verify("correct horse", &h));
        assert!(!verify("wrong horse", &h));
        assert!(!verify("x", "not a hash"));
        assert!(!verify("", dummy_hash()));
    }

    #[test]
    fn password_rules() {
        assert!(validate_new_password("short").is_err());
        assert!(validate_new_password("long enough").is_ok());
        assert!(validate_new_password(&"x".repeat(33)).is_err());
    }

    #[test]
    fn random_strings_differ() {
        assert_eq!(random_string(16).len(), 16);
        assert_ne!(random_string(16), random_string(16));
        assert_ne!(random_key(), random_key());
    }
}
