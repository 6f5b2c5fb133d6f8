//! Security headers of every UI response. The pages use no inline script or style, so the policy
//! allows scripts, styles and connections to this server only, and no framing at all.

/// The Content-Security-Policy of UI pages.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; \
frame-ancestors 'none'";

/// Header names and values to set on every UI response (pages add `cache-control: no-store`,
/// assets a long cache lifetime: their URLs carry a content hash).
pub fn headers() -> [(&'static str, &'static str); 4] {
    [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_forbids_inline_code_and_framing() {
        assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
        assert!(CONTENT_SECURITY_POLICY.contains("script-src 'self';"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-eval"));
        let names: Vec<&str> = headers().iter().map(|(n, _)| *n).collect();
        assert!(names.contains(&"x-content-type-options"));
    }
}
