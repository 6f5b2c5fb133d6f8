use globset::{GlobBuilder, GlobMatcher};
use regex::Regex;

/// How resource, action and object patterns match (`policy.matchMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatchMode {
    /// Glob patterns: `*` matches any text (including `/`), `?` one character, `[..]`, `{a,b}`.
    #[default]
    Glob,
    /// Regular expressions, matched anywhere in the value as Go's `regexp.MatchString` does.
    Regex,
}

impl MatchMode {
    /// Reads `policy.matchMode`; anything but `regex` means glob, as in Argo CD.
    pub fn from_setting(value: Option<&str>) -> Self {
        match value.map(str::trim) {
            Some("regex") => MatchMode::Regex,
            _ => MatchMode::Glob,
        }
    }
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub(crate) enum Pattern {
    Any,
    Literal(String),
    Glob(GlobMatcher),
    Regex(Regex),
}

impl Pattern {
    pub(crate) fn compile(text: &str, mode: MatchMode) -> Result<Pattern, String> {
        if text == "*" {
            return Ok(Pattern::Any);
        }
        match mode {
            MatchMode::Glob => {
                if !text.contains(['*', '?', '[', '{']) {
                    return Ok(Pattern::Literal(text.to_string()));
                }
                GlobBuilder::new(text)
                    .literal_separator(false)
                    .backslash_escape(true)
                    .build()
                    .map(|g| Pattern::Glob(g.compile_matcher()))
                    .map_err(|e| format!("invalid glob {text:?}: {e}"))
            }
            MatchMode::Regex => Regex::new(text)
                .map(Pattern::Regex)
                .map_err(|e| format!("invalid regular expression {text:?}: {e}")),
        }
    }

    pub(crate) fn matches(&self, value: &str) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::Literal(l) => l == value,
            Pattern::Glob(g) => g.is_match(value),
            Pattern::Regex(r) => r.is_match(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_star_crosses_slashes() {
        let p = Pattern::compile("my-proj/*", MatchMode::Glob).unwrap();
        assert!(p.matches("my-proj/app"));
        assert!(p.matches("my-proj/ns/app"));
        assert!(!p.matches("other/app"));
        let p = Pattern::compile("action/apps/Deployment/*", MatchMode::Glob).unwrap();
        assert!(p.matches("action/apps/Deployment/restart"));
        let p = Pattern::compile("{get,sync}", MatchMode::Glob).unwrap();
        assert!(p.matches("sync") && !p.matches("delete"));
        assert!(Pattern::compile("[", MatchMode::Glob).is_err());
    }

    #[test]
    fn regex_mode() {
        let p = Pattern::compile("^team-(a|b)/.*$", MatchMode::Regex).unwrap();
        assert!(p.matches("team-a/x") && !p.matches("team-c/x"));
        assert_eq!(MatchMode::from_setting(Some("regex")), MatchMode::Regex);
        assert_eq!(MatchMode::from_setting(Some("glob")), MatchMode::Glob);
    }
}
