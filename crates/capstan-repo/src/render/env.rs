//! The build environment Argo CD gives tools (`ARGOCD_APP_*`, `KUBE_VERSION`, ...) and its `envsubst`.

use std::collections::BTreeMap;

/// Name/value pairs of the build environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildEnv {
    vars: BTreeMap<String, String>,
}

/// What the build environment is made of.
#[derive(Debug, Clone, Default)]
pub struct BuildEnvInput<'a> {
    /// Application name.
    pub app_name: &'a str,
    /// Destination namespace.
    pub namespace: &'a str,
    /// Project name.
    pub project: &'a str,
    /// Resolved commit.
    pub revision: &'a str,
    /// Repository URL.
    pub repo_url: &'a str,
    /// Source path.
    pub path: &'a str,
    /// Target revision as written in the source.
    pub target_revision: &'a str,
    /// Kubernetes version of the destination.
    pub kube_version: &'a str,
    /// API versions of the destination.
    pub api_versions: &'a [String],
}

impl BuildEnv {
    /// The variables Argo CD sets for a build.
    pub fn new(input: &BuildEnvInput<'_>) -> BuildEnv {
        let short = |n: usize| input.revision.chars().take(n).collect::<String>();
        let mut vars = BTreeMap::new();
        let mut set = |k: &str, v: String| {
            vars.insert(k.to_string(), v);
        };
        set("ARGOCD_APP_NAME", input.app_name.to_string());
        set("ARGOCD_APP_NAMESPACE", input.namespace.to_string());
        set("ARGOCD_APP_PROJECT_NAME", input.project.to_string());
        set("ARGOCD_APP_REVISION", input.revision.to_string());
        set("ARGOCD_APP_REVISION_SHORT", short(7));
        set("ARGOCD_APP_REVISION_SHORT_8", short(8));
        set("ARGOCD_APP_SOURCE_REPO_URL", input.repo_url.to_string());
        set("ARGOCD_APP_SOURCE_PATH", input.path.to_string());
        set(
            "ARGOCD_APP_SOURCE_TARGET_REVISION",
            input.target_revision.to_string(),
        );
        set("KUBE_VERSION", semver(input.kube_version));
        set("KUBE_API_VERSIONS", input.api_versions.join(","));
        BuildEnv { vars }
    }

    /// All variables.
    pub fn vars(&self) -> impl Iterator<Item = (&String, &String)> {
        self.vars.iter()
    }

    /// Adds or replaces a variable.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(key.into(), value.into());
    }

    /// Go's `os.Expand` with this environment, as Argo CD's `Env.Envsubst`: `$NAME` and `${NAME}` are
    /// replaced (unknown names by nothing), `$$` gives `$`.
    pub fn envsubst(&self, s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        let mut start = 0;
        while i < bytes.len() {
            if bytes[i] == b'$' && i + 1 < bytes.len() {
                out.push_str(&s[start..i]);
                let rest = &s[i + 1..];
                let (name, width) = shell_name(rest);
                if name.is_empty() && width > 0 {
                    // invalid syntax such as `${}`: dropped, as os.Expand does
                } else if name.is_empty() || name == "$" {
                    out.push('$');
                } else {
                    out.push_str(self.vars.get(name).map(String::as_str).unwrap_or(""));
                }
                i += 1 + width;
                start = i;
            } else {
                i += 1;
            }
        }
        out.push_str(&s[start..]);
        out
    }
}

fn shell_name(s: &str) -> (&str, usize) {
    let bytes = s.as_bytes();
    if bytes.first() == Some(&b'{') {
        if bytes.len() > 2 && is_special(bytes[1]) && bytes[2] == b'}' {
            return (&s[1..2], 3);
        }
        for (i, b) in bytes.iter().enumerate().skip(1) {
            if *b == b'}' {
                if i == 1 {
                    return ("", 2);
                }
                return (&s[1..i], i + 1);
            }
        }
        return ("", 1);
    }
    if let Some(b) = bytes.first()
        && is_special(*b)
    {
        return (&s[0..1], 1);
    }
    let n = bytes
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count();
    (&s[..n], n)
}

fn is_special(b: u8) -> bool {
    matches!(
        b,
        b'*' | b'#' | b'$' | b'@' | b'!' | b'?' | b'-' | b'0'..=b'9'
    )
}

/// `v1.31.0` / `1.31` -> `1.31.0` (Argo CD's `text.SemVer` trims the `v`).
fn semver(v: &str) -> String {
    v.trim().trim_start_matches('v').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envsubst_like_go() {
        let mut env = BuildEnv::default();
        env.set("ARGOCD_APP_NAME", "guestbook");
        assert_eq!(env.envsubst("$ARGOCD_APP_NAME-x"), "guestbook-x");
        assert_eq!(env.envsubst("${ARGOCD_APP_NAME}x"), "guestbookx");
        assert_eq!(env.envsubst("a$UNKNOWN.b"), "a.b");
        assert_eq!(env.envsubst("cost $$5"), "cost $5");
        assert_eq!(env.envsubst("trailing $"), "trailing $");
    }

    #[test]
    fn argocd_variables() {
        let env = BuildEnv::new(&BuildEnvInput {
            app_name: "a",
            revision: "0123456789abcdef",
            kube_version: "v1.31.0",
            ..Default::default()
        });
        let vars: BTreeMap<String, String> =
            env.vars().map(|(k, v)| (k.clone(), v.clone())).collect();
        assert_eq!(vars["ARGOCD_APP_REVISION_SHORT"], "0123456");
        assert_eq!(vars["KUBE_VERSION"], "1.31.0");
    }
}
