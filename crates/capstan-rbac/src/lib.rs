//! Argo CD's RBAC policy language, as written in `argocd-rbac-cm` (`policy.csv`, `policy.*.csv`,
//! `policy.default`, `policy.matchMode`) and in AppProject roles.
//!
//! ```text
//! p, <subject>, <resource>, <action>, <object>, <allow|deny>
//! g, <user or group>, <role>
//! ```
//!
//! A request is allowed when some rule reachable from the subject (directly or through `g` lines,
//! transitively) allows it and none denies it; the default role is checked first, as Argo CD does.
//! Resource, action and object match by glob (the default) or regular expression.
//! Pure: no I/O.

mod builtin;
mod matcher;
mod parse;
mod policy;

pub use builtin::BUILTIN_POLICY;
pub use matcher::MatchMode;
pub use parse::{Effect, Grouping, Line, PolicyError, Rule, parse_policy};
pub use policy::{Enforcer, Request};

/// Resources that Argo CD's RBAC knows, with the actions each accepts.
pub const RESOURCES: &[(&str, &[&str])] = &[
    (
        "applications",
        &[
            "get", "create", "update", "delete", "sync", "rollback", "action", "override",
        ],
    ),
    ("applicationsets", &["get", "create", "update", "delete"]),
    ("clusters", &["get", "create", "update", "delete"]),
    ("projects", &["get", "create", "update", "delete"]),
    ("repositories", &["get", "create", "update", "delete"]),
    ("write-repositories", &["get", "create", "update", "delete"]),
    ("accounts", &["get", "update"]),
    ("certificates", &["get", "create", "update", "delete"]),
    ("gpgkeys", &["get", "create", "delete"]),
    ("logs", &["get"]),
    ("exec", &["create", "debug"]),
    ("extensions", &["invoke"]),
];

/// Resources whose objects are `<project>/<name>` (or `<project>/<namespace>/<name>`).
pub const PROJECT_SCOPED_RESOURCES: &[&str] = &["applications", "applicationsets", "logs", "exec"];
