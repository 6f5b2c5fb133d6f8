//! Creating an application from the form or from pasted YAML: the form's fields, checked and turned
//! into an Application object for `POST /api/v1/applications`.

use serde_json::{Value, json};

/// Why the input is not an application.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateError {
    /// A form field is missing or invalid.
    #[error("{field}: {message}")]
    Field {
        /// Form field name.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The pasted YAML does not parse or is not one Application.
    #[error("YAML: {0}")]
    Yaml(String),
}

/// The form's fields, as posted (`application/x-www-form-urlencoded`).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(default)]
pub struct AppForm {
    /// Application name.
    pub name: String,
    /// Project.
    pub project: String,
    /// Repository URL.
    pub repo: String,
    /// Path in the repository (or Helm chart name with `chart`).
    pub path: String,
    /// Helm chart (for Helm repositories).
    pub chart: String,
    /// Target revision.
    pub revision: String,
    /// Destination server URL.
    pub dest_server: String,
    /// Destination namespace.
    pub dest_namespace: String,
    /// `on` for automated sync.
    pub auto_sync: String,
    /// `on` to prune with automated sync.
    pub prune: String,
    /// `on` for self heal.
    pub self_heal: String,
    /// `on` to add `CreateNamespace=true`.
    pub create_namespace: String,
    /// Pasted YAML (used instead of the fields when not empty).
    pub yaml: String,
}

fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn checked(v: &str) -> bool {
    matches!(v, "on" | "true" | "1")
}

impl AppForm {
    /// The Application the form describes (or the pasted YAML, when given).
    pub fn to_application(&self) -> Result<Value, CreateError> {
        if !self.yaml.trim().is_empty() {
            return parse_yaml(&self.yaml);
        }
        let field = |field: &'static str, message: &str| CreateError::Field {
            field,
            message: message.to_string(),
        };
        let name = self.name.trim();
        if !is_dns_label(name) {
            return Err(field(
                "name",
                "must be a lowercase DNS name (a-z, 0-9, '-', '.')",
            ));
        }
        let repo = self.repo.trim();
        if repo.is_empty() {
            return Err(field("repo", "the repository URL is required"));
        }
        let chart = self.chart.trim();
        let path = self.path.trim();
        if chart.is_empty() && path.is_empty() {
            return Err(field("path", "a path (or a Helm chart) is required"));
        }
        let server = self.dest_server.trim();
        if server.is_empty() {
            return Err(field(
                "dest_server",
                "the destination cluster URL is required",
            ));
        }
        let mut source = json!({"repoURL": repo});
        if !chart.is_empty() {
            source["chart"] = json!(chart);
        } else {
            source["path"] = json!(path);
        }
        let revision = self.revision.trim();
        source["targetRevision"] = json!(if revision.is_empty() {
            "HEAD"
        } else {
            revision
        });
        let project = self.project.trim();
        let mut spec = json!({
            "project": if project.is_empty() { "default" } else { project },
            "source": source,
            "destination": {"server": server, "namespace": self.dest_namespace.trim()},
        });
        let mut policy = serde_json::Map::new();
        if checked(&self.auto_sync) {
            policy.insert(
                "automated".into(),
                json!({"prune": checked(&self.prune), "selfHeal": checked(&self.self_heal)}),
            );
        }
        if checked(&self.create_namespace) {
            policy.insert("syncOptions".into(), json!(["CreateNamespace=true"]));
        }
        if !policy.is_empty() {
            spec["syncPolicy"] = Value::Object(policy);
        }
        Ok(json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name},
            "spec": spec,
        }))
    }
}

/// One Application from YAML (or JSON) text.
pub fn parse_yaml(text: &str) -> Result<Value, CreateError> {
    let docs = capstan_yaml::parse_stream(text).map_err(|e| CreateError::Yaml(e.to_string()))?;
    let mut docs: Vec<Value> = docs
        .into_iter()
        .map(|d| d.value)
        .filter(|v| !v.is_null())
        .collect();
    if docs.len() != 1 {
        return Err(CreateError::Yaml(format!(
            "expected one Application document, found {}",
            docs.len()
        )));
    }
    let doc = docs.remove(0);
    if !doc.is_object() {
        return Err(CreateError::Yaml("the document is not a mapping".into()));
    }
    match doc.get("kind").and_then(Value::as_str) {
        Some("Application") | None => {}
        Some(other) => {
            return Err(CreateError::Yaml(format!(
                "kind is {other}, expected Application"
            )));
        }
    }
    if doc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(CreateError::Yaml("metadata.name is required".into()));
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> AppForm {
        AppForm {
            name: "guestbook".into(),
            repo: "https://git.example/repo.git".into(),
            path: "guestbook".into(),
            dest_server: "https://kubernetes.default.svc".into(),
            dest_namespace: "default".into(),
            ..AppForm::default()
        }
    }

    #[test]
    fn form_becomes_an_application() {
        let mut f = form();
        f.auto_sync = "on".into();
        f.self_heal = "on".into();
        f.create_namespace = "on".into();
        let app = f.to_application().unwrap();
        insta::assert_json_snapshot!(app);
    }

    #[test]
    fn form_errors_name_the_field() {
        let mut f = form();
        f.name = "Guest Book".into();
        assert!(matches!(
            f.to_application(),
            Err(CreateError::Field { field: "name", .. })
        ));
        let mut f = form();
        f.path.clear();
        assert!(matches!(
            f.to_application(),
            Err(CreateError::Field { field: "path", .. })
        ));
        let mut f = form();
        f.repo = " ".into();
        assert!(matches!(
            f.to_application(),
            Err(CreateError::Field { field: "repo", .. })
        ));
    }

    #[test]
    fn pasted_yaml_wins_and_is_checked() {
        let f = AppForm {
            yaml: "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: pasted\nspec:\n  project: default\n".into(),
            ..AppForm::default()
        };
        assert_eq!(f.to_application().unwrap()["metadata"]["name"], "pasted");
        assert!(
            matches!(parse_yaml("kind: Secret\nmetadata: {name: x}\n"), Err(CreateError::Yaml(m)) if m.contains("Secret"))
        );
        assert!(matches!(parse_yaml("a: [\n"), Err(CreateError::Yaml(_))));
        assert!(
            matches!(parse_yaml("metadata: {name: a}\n---\nmetadata: {name: b}\n"), Err(CreateError::Yaml(m)) if m.contains("found 2"))
        );
        assert!(
            matches!(parse_yaml("kind: Application\n"), Err(CreateError::Yaml(m)) if m.contains("metadata.name"))
        );
    }
}
