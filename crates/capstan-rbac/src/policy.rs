//! Enforcement: rules, role graph, default role, deny wins.

use std::collections::{HashMap, HashSet};

use crate::builtin::BUILTIN_POLICY;
use crate::matcher::MatchMode;
use crate::parse::{Effect, Grouping, Line, PolicyError, Rule, parse_policy};

/// What is asked: may `subject` do `action` on `resource` `object`?
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Resource (`applications`, `clusters`, ...).
    pub resource: &'a str,
    /// Action (`get`, `sync`, `action/apps/Deployment/restart`, ...).
    pub action: &'a str,
    /// Object (`<project>/<app>`, a cluster URL, ...).
    pub object: &'a str,
}

/// A loaded policy: built-in rules, the configured rules, and the default role.
#[derive(Debug, Clone, Default)]
pub struct Enforcer {
    rules: Vec<Rule>,
    /// member -> roles it has directly.
    groupings: HashMap<String, Vec<String>>,
    default_role: Option<String>,
}

impl Enforcer {
    /// An enforcer with the built-in policy plus `policy_csv`, `policy.default` and `policy.matchMode`.
    pub fn new(
        policy_csv: &str,
        default_role: Option<&str>,
        mode: MatchMode,
    ) -> Result<Enforcer, Vec<PolicyError>> {
        let mut enforcer = Enforcer::default();
        let builtin = parse_policy(BUILTIN_POLICY, MatchMode::Glob).map_err(|mut e| {
            for err in &mut e {
                err.message = format!("built-in policy: {}", err.message);
            }
            e
        })?;
        enforcer.extend(builtin);
        enforcer.extend(parse_policy(policy_csv, mode)?);
        enforcer.default_role = default_role
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(String::from);
        Ok(enforcer)
    }

    /// Adds more lines (for example a project's role policies).
    pub fn extend(&mut self, lines: Vec<Line>) {
        for line in lines {
            match line {
                Line::Rule(rule) => self.rules.push(*rule),
                Line::Grouping(Grouping { member, role, .. }) => {
                    self.groupings.entry(member).or_default().push(role);
                }
            }
        }
    }

    /// Every role `subject` has, itself included, following `g` lines transitively.
    pub fn roles_of(&self, subject: &str) -> HashSet<String> {
        let mut seen = HashSet::new();
        let mut stack = vec![subject.to_string()];
        while let Some(s) = stack.pop() {
            if !seen.insert(s.clone()) {
                continue;
            }
            if let Some(roles) = self.groupings.get(&s) {
                stack.extend(roles.iter().cloned());
            }
        }
        seen
    }

    /// Decides one subject alone: allowed when a reachable rule allows and none denies.
    pub fn enforce_subject(&self, subject: &str, request: Request<'_>) -> bool {
        let roles = self.roles_of(subject);
        let mut allowed = false;
        for rule in &self.rules {
            if !roles.contains(&rule.subject)
                || !rule.resource_pattern.matches(request.resource)
                || !rule.action_pattern.matches(request.action)
                || !rule.object_pattern.matches(request.object)
            {
                continue;
            }
            match rule.effect {
                Effect::Deny => return false,
                Effect::Allow => allowed = true,
            }
        }
        allowed
    }

    /// Decides a request for a user with groups, as Argo CD does: the default role first, then the
    /// user's own subject, then each group; the first subject that is allowed decides.
    pub fn enforce(&self, subject: &str, groups: &[String], request: Request<'_>) -> bool {
        if let Some(default) = &self.default_role
            && self.enforce_subject(default, request)
        {
            return true;
        }
        if self.enforce_subject(subject, request) {
            return true;
        }
        groups.iter().any(|g| self.enforce_subject(g, request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(resource: &'a str, action: &'a str, object: &'a str) -> Request<'a> {
        Request {
            resource,
            action,
            object,
        }
    }

    #[test]
    fn builtin_roles() {
        let e = Enforcer::new("", None, MatchMode::Glob).unwrap();
        assert!(e.enforce(
            "admin",
            &[],
            req("applications", "sync", "default/guestbook")
        ));
        assert!(e.enforce(
            "admin",
            &[],
            req("applications", "get", "default/guestbook")
        ));
        assert!(!e.enforce(
            "alice",
            &[],
            req("applications", "get", "default/guestbook")
        ));
        let e = Enforcer::new("", Some("role:readonly"), MatchMode::Glob).unwrap();
        assert!(e.enforce(
            "alice",
            &[],
            req("applications", "get", "default/guestbook")
        ));
        assert!(!e.enforce(
            "alice",
            &[],
            req("applications", "sync", "default/guestbook")
        ));
    }

    #[test]
    fn deny_wins_and_groups_inherit() {
        let policy = "\
p, role:dev, applications, *, dev/*, allow
p, role:dev, applications, delete, dev/*, deny
g, my-org:devs, role:dev
g, bob, role:dev
";
        let e = Enforcer::new(policy, None, MatchMode::Glob).unwrap();
        assert!(e.enforce(
            "alice",
            &["my-org:devs".into()],
            req("applications", "sync", "dev/app")
        ));
        assert!(!e.enforce(
            "alice",
            &["my-org:devs".into()],
            req("applications", "delete", "dev/app")
        ));
        assert!(!e.enforce(
            "alice",
            &["my-org:devs".into()],
            req("applications", "sync", "prod/app")
        ));
        assert!(e.enforce("bob", &[], req("applications", "update", "dev/app")));
        assert!(!e.enforce("bob", &[], req("applications", "delete", "dev/app")));
    }

    #[test]
    fn project_role_subjects() {
        let policy = "p, proj:team:ci, applications, sync, team/*, allow\n";
        let e = Enforcer::new(policy, None, MatchMode::Glob).unwrap();
        assert!(e.enforce("proj:team:ci", &[], req("applications", "sync", "team/web")));
        assert!(!e.enforce(
            "proj:team:ci",
            &[],
            req("applications", "sync", "other/web")
        ));
    }

    #[test]
    fn bad_lines_are_reported() {
        let errors = Enforcer::new("p, a, b\n", None, MatchMode::Glob).unwrap_err();
        assert_eq!(errors[0].line, 1);
    }

    #[test]
    fn role_cycles_terminate() {
        let e = Enforcer::new("g, a, b\ng, b, a\n", None, MatchMode::Glob).unwrap();
        assert!(e.roles_of("a").contains("b"));
        assert!(!e.enforce("a", &[], req("applications", "get", "x/y")));
    }
}
