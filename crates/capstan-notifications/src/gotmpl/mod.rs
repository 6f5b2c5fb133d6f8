//! Go `text/template` as Argo CD's notification templates use it: `{{.a.b}}`, `{{- -}}` trimming,
//! comments, `if`/`else if`/`else`, `range` (with `$i, $v :=`), `with`, variables, pipelines with
//! `|`, parenthesised sub-pipelines, Go's built-in functions, a subset of Sprig (`toJson`,
//! `default`, `upper`, `trunc`, ...), and `call` on the helpers Argo CD puts in the data
//! (`.repo.RepoURLToHTTPS`, `.repo.FullNameByRepoURL`, `.time.Now`, `.time.Parse`,
//! `.strings.ReplaceAll`, `.sync.GetInfoItem`).
//!
//! As in Go, a missing map key prints `<no value>`, reading a field of a missing value is an error,
//! and an unknown function is an error when the template is parsed. `define`/`template`/`block`
//! are not supported (Argo CD's catalog does not use them).

mod exec;
mod funcs;
mod parse;

use chrono::{DateTime, FixedOffset, Utc};
pub use exec::TVal;
pub use funcs::{full_name_by_repo_url, repo_url_to_https};
use serde_json::Value;

/// A template that did not parse or failed to execute.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    /// The source is not a valid template.
    #[error("line {line}: {message}")]
    Parse {
        /// 1-based line in the template source.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Execution failed.
    #[error("{0}")]
    Exec(String),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    nodes: Vec<parse::Node>,
}

impl Template {
    /// Parses `source`.
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        Ok(Template {
            nodes: parse::parse(source)?,
        })
    }

    /// Executes with `data` as `.`, reading the clock for `.time.Now`.
    pub fn render(&self, data: &Value) -> Result<String, TemplateError> {
        self.render_at(data, Utc::now().fixed_offset())
    }

    /// Executes with `data` as `.` and `now` as the time.
    pub fn render_at(
        &self,
        data: &Value,
        now: DateTime<FixedOffset>,
    ) -> Result<String, TemplateError> {
        let root = TVal::Json(data.clone());
        let mut out = String::new();
        exec::Exec::new(&root, now).run(&self.nodes, &root, &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
