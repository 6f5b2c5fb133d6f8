//! Checks of Applications and ApplicationSets.

use capstan_types::annotations::sync_options;
use capstan_types::duration::parse_duration;
use capstan_types::{
    Application, ApplicationSet, ApplicationSource, ApplicationSpec, DecodeError, decode,
};

use crate::context::DocContext;
use crate::urls::{path_problem, placeholder, repo_url_problem};

/// A DNS-1123 subdomain, as Kubernetes requires for most object names.
pub(crate) fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("is required".to_string());
    }
    if let Some(why) = placeholder(name) {
        return Some(format!("{name:?} {why}"));
    }
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    let ends_ok = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if name.len() > 253 || !valid_chars || !ends_ok {
        return Some(format!(
            "{name:?} is not a valid name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters"
        ));
    }
    None
}

pub(crate) fn report_decode_error(ctx: &mut DocContext<'_>, err: &DecodeError) {
    let path = if err.path == "<document>" {
        String::new()
    } else {
        err.path.clone()
    };
    let message = match err.message.strip_prefix("missing field `") {
        Some(rest) => format!("required field `{}` is missing", rest.trim_end_matches('`')),
        None => err.message.clone(),
    };
    // a missing field is reported at its parent, named in full
    if let Some(field) = message
        .strip_prefix("required field `")
        .and_then(|r| r.strip_suffix("` is missing"))
    {
        let full = if path.is_empty() {
            field.to_string()
        } else {
            format!("{path}.{field}")
        };
        ctx.report(&full, "is required");
    } else {
        ctx.report_value(&path, message);
    }
}

fn check_source(
    ctx: &mut DocContext<'_>,
    prefix: &str,
    source: &ApplicationSource,
    templated: bool,
) {
    let skip = |v: &str| templated && v.contains("{{");
    if !skip(&source.repo_url)
        && let Some(problem) = repo_url_problem(&source.repo_url, source.is_helm_repo())
    {
        ctx.report_value(&format!("{prefix}.repoURL"), problem);
    }
    if let Some(path) = &source.path
        && !skip(path)
        && let Some(problem) = path_problem(path)
    {
        ctx.report_value(&format!("{prefix}.path"), problem);
    }
    if let Some(rev) = &source.target_revision
        && !skip(rev)
        && let Some(why) = placeholder(rev)
    {
        ctx.report_value(
            &format!("{prefix}.targetRevision"),
            format!("{rev:?} {why}"),
        );
    }
    if let Some(helm) = &source.helm {
        for (i, file) in helm.value_files.iter().flatten().enumerate() {
            if file.starts_with('$')
                || skip(file)
                || file.starts_with("http://")
                || file.starts_with("https://")
            {
                continue;
            }
            if file.starts_with('/') {
                ctx.report_value(
                    &format!("{prefix}.helm.valueFiles[{i}]"),
                    format!("{file:?} is absolute; value files are relative to the chart or use $ref/..."),
                );
            }
        }
    }
    if let Some(kustomize) = &source.kustomize {
        for (i, replica) in kustomize.replicas.iter().flatten().enumerate() {
            if let capstan_types::IntOrString::String(s) = &replica.count
                && s.parse::<i64>().is_err()
                && !skip(s)
            {
                ctx.report_value(
                    &format!("{prefix}.kustomize.replicas[{i}].count"),
                    format!("{s:?} is not a number"),
                );
            }
        }
    }
    let declared = [
        source.helm.is_some(),
        source.kustomize.is_some(),
        source.directory.is_some(),
        source.plugin.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if declared > 1 {
        ctx.report(
            prefix,
            "sets more than one of helm, kustomize, directory and plugin; a source has one type",
        );
    }
}

/// Checks an Application spec. `templated`: values containing `{{` are not checked (ApplicationSet
/// templates); `partial`: required fields may be missing (a templatePatch completes them).
pub(crate) fn check_spec(
    ctx: &mut DocContext<'_>,
    prefix: &str,
    spec: &ApplicationSpec,
    templated: bool,
    partial: bool,
) {
    let skip = |v: &str| templated && v.contains("{{");
    // destination: exactly one of server and name
    let dest = &spec.destination;
    let server = dest.server.as_deref().filter(|s| !s.is_empty());
    let name = dest.name.as_deref().filter(|s| !s.is_empty());
    match (server, name) {
        (Some(_), Some(_)) => ctx.report(
            &format!("{prefix}.destination"),
            "sets both server and name; set exactly one of them",
        ),
        (None, None) if !partial => ctx.report(
            &format!("{prefix}.destination"),
            "sets neither server nor name; set exactly one of them",
        ),
        (Some(server), None) if !skip(server) => {
            if let Some(why) = placeholder(server) {
                ctx.report_value(
                    &format!("{prefix}.destination.server"),
                    format!("{server:?} {why}"),
                );
            } else if !(server.starts_with("https://") || server.starts_with("http://")) {
                ctx.report_value(
                    &format!("{prefix}.destination.server"),
                    format!("{server:?} is not a cluster API URL (https://...)"),
                );
            }
        }
        _ => {}
    }
    if let Some(ns) = dest.namespace.as_deref()
        && !skip(ns)
        && let Some(why) = placeholder(ns)
    {
        ctx.report_value(
            &format!("{prefix}.destination.namespace"),
            format!("{ns:?} {why}"),
        );
    }
    if spec.project.is_empty() && !partial {
        ctx.report(
            &format!("{prefix}.project"),
            "is required (use \"default\" for the default project)",
        );
    }
    // sources
    let has_sources = spec.sources.as_ref().is_some_and(|s| !s.is_empty());
    match (&spec.source, has_sources) {
        (None, false) if spec.source_hydrator.is_none() && !partial => {
            ctx.report(
                &format!("{prefix}.source"),
                "one of source or sources is required",
            );
        }
        (Some(_), true) => ctx.report(
            &format!("{prefix}.sources"),
            "both source and sources are set; sources is used and source is ignored",
        ),
        _ => {}
    }
    if let Some(source) = &spec.source {
        check_source(ctx, &format!("{prefix}.source"), source, templated);
    }
    for (i, source) in spec.sources.iter().flatten().enumerate() {
        check_source(ctx, &format!("{prefix}.sources[{i}]"), source, templated);
    }
    // sync policy
    if let Some(policy) = &spec.sync_policy {
        for (i, option) in policy.sync_options.iter().flatten().enumerate() {
            if let Err(e) = sync_options::validate(option) {
                ctx.report_value(
                    &format!("{prefix}.syncPolicy.syncOptions[{i}]"),
                    e.to_string(),
                );
            }
        }
        if let Some(backoff) = policy.retry.as_ref().and_then(|r| r.backoff.as_ref()) {
            for (field, value) in [
                ("duration", &backoff.duration),
                ("maxDuration", &backoff.max_duration),
            ] {
                if let Some(v) = value
                    && let Err(e) = parse_duration(v)
                {
                    ctx.report_value(
                        &format!("{prefix}.syncPolicy.retry.backoff.{field}"),
                        e.to_string(),
                    );
                }
            }
        }
    }
    for (i, rule) in spec.ignore_differences.iter().flatten().enumerate() {
        if rule.kind.is_empty() {
            ctx.report(
                &format!("{prefix}.ignoreDifferences[{i}].kind"),
                "is required",
            );
        }
        for (j, pointer) in rule.json_pointers.iter().flatten().enumerate() {
            if !pointer.starts_with('/') {
                ctx.report_value(
                    &format!("{prefix}.ignoreDifferences[{i}].jsonPointers[{j}]"),
                    format!("{pointer:?} is not a JSON pointer (it must start with /)"),
                );
            }
        }
    }
    if let Some(limit) = spec.revision_history_limit
        && limit < 0
    {
        ctx.report_value(
            &format!("{prefix}.revisionHistoryLimit"),
            "must not be negative",
        );
    }
}

pub(crate) fn check_application(ctx: &mut DocContext<'_>) {
    let app: Application = match decode(&ctx.doc.value) {
        Ok(app) => app,
        Err(err) => return report_decode_error(ctx, &err),
    };
    match app.metadata.name.as_deref() {
        None if app.metadata.generate_name.is_some() => {}
        name => {
            if let Some(problem) = name_problem(name.unwrap_or_default()) {
                ctx.report_value("metadata.name", problem);
            }
        }
    }
    check_spec(ctx, "spec", &app.spec, false, false);
}

pub(crate) fn check_application_set(ctx: &mut DocContext<'_>) {
    let set: ApplicationSet = match decode(&ctx.doc.value) {
        Ok(set) => set,
        Err(err) => return report_decode_error(ctx, &err),
    };
    if let Some(problem) = name_problem(set.metadata.name.as_deref().unwrap_or_default()) {
        ctx.report_value("metadata.name", problem);
    }
    if set.spec.generators.is_empty() {
        ctx.report("spec.generators", "at least one generator is required");
    }
    // With a templatePatch, the patch may complete the template: only what is there is checked.
    let partial = set.spec.template_patch.is_some();
    check_spec(
        ctx,
        "spec.template.spec",
        &set.spec.template.spec,
        true,
        partial,
    );
}
