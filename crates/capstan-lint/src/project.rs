//! Checks of AppProjects.

use capstan_rbac::{Line, MatchMode, parse_policy};
use capstan_types::duration::parse_duration;
use capstan_types::{AppProject, decode};

use crate::application::{name_problem, report_decode_error};
use crate::context::DocContext;
use crate::urls::placeholder;

/// A cron schedule of five fields, each `*`, numbers, ranges, lists and steps; or a `@` descriptor.
fn cron_problem(schedule: &str) -> Option<String> {
    let s = schedule.trim();
    if matches!(
        s,
        "@yearly" | "@annually" | "@monthly" | "@weekly" | "@daily" | "@midnight" | "@hourly"
    ) {
        return None;
    }
    let fields: Vec<&str> = s.split_whitespace().collect();
    if fields.len() != 5 {
        return Some(format!(
            "{schedule:?} is not a cron schedule: expected 5 fields (minute hour day month weekday), found {}",
            fields.len()
        ));
    }
    let ok = fields.iter().all(|f| {
        f.split(',').all(|part| {
            let (range, step) = part.split_once('/').unwrap_or((part, "1"));
            let range_ok = range == "*"
                || range.split('-').all(|n| {
                    !n.is_empty()
                        && (n.chars().all(|c| c.is_ascii_digit())
                            || n.chars().all(|c| c.is_ascii_alphabetic()))
                });
            range_ok && step.chars().all(|c| c.is_ascii_digit()) && !step.is_empty()
        })
    });
    if ok {
        None
    } else {
        Some(format!("{schedule:?} is not a valid cron schedule"))
    }
}

pub(crate) fn check_project(ctx: &mut DocContext<'_>) {
    let project: AppProject = match decode(&ctx.doc.value) {
        Ok(p) => p,
        Err(err) => return report_decode_error(ctx, &err),
    };
    let name = project.metadata.name.clone().unwrap_or_default();
    if let Some(problem) = name_problem(&name) {
        ctx.report_value("metadata.name", problem);
    }
    let spec = &project.spec;
    for (i, repo) in spec.source_repos.iter().flatten().enumerate() {
        if let Some(why) = placeholder(repo) {
            ctx.report_value(&format!("spec.sourceRepos[{i}]"), format!("{repo:?} {why}"));
        }
    }
    for (i, dest) in spec.destinations.iter().flatten().enumerate() {
        let server = dest.server.as_deref().filter(|s| !s.is_empty());
        let dname = dest.name.as_deref().filter(|s| !s.is_empty());
        if server.is_none() && dname.is_none() {
            ctx.report(
                &format!("spec.destinations[{i}]"),
                "sets neither server nor name; set one of them",
            );
        }
        if let Some(s) = server
            && let Some(why) = placeholder(s)
        {
            ctx.report_value(
                &format!("spec.destinations[{i}].server"),
                format!("{s:?} {why}"),
            );
        }
    }
    for (list_name, list) in [
        ("clusterResourceWhitelist", &spec.cluster_resource_whitelist),
        ("clusterResourceBlacklist", &spec.cluster_resource_blacklist),
        (
            "namespaceResourceWhitelist",
            &spec.namespace_resource_whitelist,
        ),
        (
            "namespaceResourceBlacklist",
            &spec.namespace_resource_blacklist,
        ),
    ] {
        for (i, gk) in list.iter().flatten().enumerate() {
            if gk.kind.is_empty() {
                ctx.report(
                    &format!("spec.{list_name}[{i}].kind"),
                    "is required (use \"*\" for every kind)",
                );
            }
        }
    }
    for (i, window) in spec.sync_windows.iter().flatten().enumerate() {
        let prefix = format!("spec.syncWindows[{i}]");
        if window.kind.is_none() {
            ctx.report(&format!("{prefix}.kind"), "is required (allow or deny)");
        }
        match &window.schedule {
            None => ctx.report(&format!("{prefix}.schedule"), "is required"),
            Some(s) => {
                if let Some(problem) = cron_problem(s) {
                    ctx.report_value(&format!("{prefix}.schedule"), problem);
                }
            }
        }
        match &window.duration {
            None => ctx.report(&format!("{prefix}.duration"), "is required"),
            Some(d) => {
                if let Err(e) = parse_duration(d) {
                    ctx.report_value(&format!("{prefix}.duration"), e.to_string());
                }
            }
        }
    }
    for (i, role) in spec.roles.iter().flatten().enumerate() {
        let prefix = format!("spec.roles[{i}]");
        if role.name.is_empty() {
            ctx.report(&format!("{prefix}.name"), "is required");
        }
        let subject = format!("proj:{name}:{}", role.name);
        for (j, policy) in role.policies.iter().flatten().enumerate() {
            let path = format!("{prefix}.policies[{j}]");
            match parse_policy(policy, MatchMode::Glob) {
                Err(errors) => {
                    for e in errors {
                        ctx.report_value(&path, format!("policy does not parse: {}", e.message));
                    }
                }
                Ok(lines) => {
                    for line in lines {
                        match line {
                            Line::Grouping(_) => {
                                ctx.report_value(&path, "a project role policy must be a p line");
                            }
                            Line::Rule(rule) => {
                                if rule.subject != subject {
                                    ctx.report_value(
                                        &path,
                                        format!(
                                            "the subject must be {subject:?}, not {:?}",
                                            rule.subject
                                        ),
                                    );
                                }
                                let object_project =
                                    rule.object.split('/').next().unwrap_or_default();
                                if capstan_rbac::PROJECT_SCOPED_RESOURCES
                                    .contains(&rule.resource.as_str())
                                    && object_project != name
                                {
                                    ctx.report_value(
                                        &path,
                                        format!("the object must be in project {name:?} ({name}/...), not {:?}", rule.object),
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron() {
        assert_eq!(cron_problem("10 1 * * *"), None);
        assert_eq!(cron_problem("*/5 0-6 * * mon-fri"), None);
        assert_eq!(cron_problem("@hourly"), None);
        assert!(cron_problem("10 1 * *").is_some());
        assert!(cron_problem("x y z a b!").is_some());
    }
}
