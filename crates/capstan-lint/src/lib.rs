//! `capstan lint`: checks every Argo CD object in YAML/JSON text offline - Applications, AppProjects,
//! ApplicationSets, repository / repo-creds / cluster Secrets, `argocd-cm`, `argocd-rbac-cm`,
//! `argocd-cmd-params-cm` - and the Argo CD annotations (waves, hooks, sync options) on any object.
//!
//! Each problem is reported as `file:line:column: field.path: message`. Pure: the caller reads the
//! files and passes their text.

mod annotations;
mod application;
mod context;
mod project;
mod settings;
mod urls;

use std::fmt;

use capstan_yaml::parse_stream;
use serde_json::Value;

use crate::context::DocContext;

/// One problem found in a file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// File name as given by the caller.
    pub file: String,
    /// Line (1-based).
    pub line: usize,
    /// Column (1-based).
    pub column: usize,
    /// Field path (`spec.source.repoURL`), or `<document>`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.column, self.path, self.message
        )
    }
}

/// Result of linting one file.
#[derive(Debug, Clone, Default)]
pub struct FileReport {
    /// Problems, in file order.
    pub problems: Vec<Problem>,
    /// Number of Argo CD objects checked.
    pub objects_checked: usize,
}

/// Lints the text of one file. `file` is only used in messages.
pub fn lint_text(file: &str, text: &str) -> FileReport {
    let mut report = FileReport::default();
    let docs = match parse_stream(text) {
        Ok(docs) => docs,
        Err(err) => {
            report.problems.push(Problem {
                file: file.to_string(),
                line: err.position.line,
                column: err.position.column,
                path: "<document>".to_string(),
                message: format!("malformed YAML: {}", err.message),
            });
            return report;
        }
    };
    for doc in &docs {
        let mut ctx = DocContext::new(file, text, doc);
        if !doc.value.is_object() {
            ctx.report_root(format!(
                "expected a Kubernetes object (a map), found {}",
                kind_name(&doc.value)
            ));
            report.problems.extend(ctx.problems);
            continue;
        }
        annotations::check(&mut ctx);
        if check_kind(&mut ctx) {
            report.objects_checked += 1;
        }
        report.problems.extend(ctx.problems);
    }
    report.problems.sort();
    report.problems.dedup();
    report
}

/// Runs the checks for the object's kind; returns whether it is an Argo CD object.
fn check_kind(ctx: &mut DocContext<'_>) -> bool {
    let value = &ctx.doc.value;
    let api_version = value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match (api_version.split('/').next().unwrap_or_default(), kind) {
        ("argoproj.io", "Application") => application::check_application(ctx),
        ("argoproj.io", "AppProject") => project::check_project(ctx),
        ("argoproj.io", "ApplicationSet") => application::check_application_set(ctx),
        (_, "Secret") if api_version == "v1" => return settings::check_secret(ctx),
        (_, "ConfigMap") if api_version == "v1" => return settings::check_config_map(ctx),
        _ => return false,
    }
    true
}

pub(crate) fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}
