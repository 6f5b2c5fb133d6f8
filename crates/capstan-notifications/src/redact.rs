//! Keeping secrets out of logs and errors.

/// Replaces every occurrence of a secret value (of 4 characters or more; shorter ones would mask
/// ordinary words) in `text` with `*****`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    let mut sorted: Vec<&String> = secrets.iter().filter(|s| s.len() >= 4).collect();
    // longest first, so a secret containing another is masked whole
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in sorted {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "*****");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_secret_values() {
        let secrets = vec!["hunter2-token".to_string(), "abc".to_string()];
        assert_eq!(
            redact("POST https://x/?t=hunter2-token failed: abc", &secrets),
            "POST https://x/?t=***** failed: abc"
        );
    }
}
