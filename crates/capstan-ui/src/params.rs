//! Parameters of an application's sources, as the application page's forms edit them: Helm
//! (`values`, `valueFiles`, `parameters`) and Kustomize (`images`, `namePrefix`, `nameSuffix`).
//! Reading them from an Application and applying a posted form to its spec are pure functions;
//! the server saves the new spec through the API's spec update (RBAC `applications, update`).

use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The tool of a source, as far as its parameters go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// Helm chart (a `chart`, a `helm` section, or `status.sourceType` Helm).
    Helm,
    /// Kustomize (a `kustomize` section, or `status.sourceType` Kustomize).
    Kustomize,
    /// Anything else (plain directory, Jsonnet, plugin): no parameter form.
    Other,
}

/// The parameters of one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceParams {
    /// `None` for `spec.source`, `Some(i)` for `spec.sources[i]`.
    pub index: Option<usize>,
    /// Repository URL (to tell sources apart).
    pub repo: String,
    /// Path or chart.
    pub path: String,
    /// Which form applies.
    pub tool: Tool,
    /// `helm.values`.
    pub values: String,
    /// `helm.valueFiles`.
    pub value_files: Vec<String>,
    /// `helm.parameters` as `name=value`.
    pub parameters: Vec<String>,
    /// `kustomize.images`.
    pub images: Vec<String>,
    /// `kustomize.namePrefix`.
    pub name_prefix: String,
    /// `kustomize.nameSuffix`.
    pub name_suffix: String,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(String::from)
        .collect()
}

/// The sources of an Application with their parameters.
pub fn sources(app: &Value) -> Vec<SourceParams> {
    let multi = app
        .pointer("/spec/sources")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty());
    let list: Vec<(Option<usize>, &Value)> = match multi {
        Some(a) => a.iter().enumerate().map(|(i, s)| (Some(i), s)).collect(),
        None => app
            .pointer("/spec/source")
            .filter(|s| s.is_object())
            .map(|s| (None, s))
            .into_iter()
            .collect(),
    };
    list.into_iter()
        .map(|(index, src)| {
            let status_type = match index {
                Some(i) => app
                    .pointer(&format!("/status/sourceTypes/{i}"))
                    .and_then(Value::as_str),
                None => app.pointer("/status/sourceType").and_then(Value::as_str),
            }
            .unwrap_or_default();
            let helm = src.get("helm").filter(|h| h.is_object());
            let kustomize = src.get("kustomize").filter(|k| k.is_object());
            let tool = if helm.is_some() || !text(src, "chart").is_empty() || status_type == "Helm"
            {
                Tool::Helm
            } else if kustomize.is_some() || status_type == "Kustomize" {
                Tool::Kustomize
            } else {
                Tool::Other
            };
            let null = Value::Null;
            let helm = helm.unwrap_or(&null);
            let kustomize = kustomize.unwrap_or(&null);
            let mut path = text(src, "path");
            if path.is_empty() {
                path = text(src, "chart");
            }
            SourceParams {
                index,
                repo: text(src, "repoURL"),
                path,
                tool,
                values: text(helm, "values"),
                value_files: string_list(helm.get("valueFiles")),
                parameters: helm
                    .get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|p| format!("{}={}", text(p, "name"), text(p, "value")))
                    .collect(),
                images: string_list(kustomize.get("images")),
                name_prefix: text(kustomize, "namePrefix"),
                name_suffix: text(kustomize, "nameSuffix"),
            }
        })
        .collect()
}

/// A posted parameters form (`application/x-www-form-urlencoded`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct ParamsForm {
    /// `helm` or `kustomize`.
    #[serde(default)]
    pub tool: String,
    /// Source index (`""` for `spec.source`).
    #[serde(default)]
    pub source: String,
    /// Helm values (YAML).
    #[serde(default)]
    pub values: String,
    /// Helm value files, one per line.
    #[serde(default)]
    pub value_files: String,
    /// Helm parameters, `name=value` per line.
    #[serde(default)]
    pub parameters: String,
    /// Kustomize images, one per line (`name=newName:tag`, `name:tag`, ...).
    #[serde(default)]
    pub images: String,
    /// Kustomize name prefix.
    #[serde(default)]
    pub name_prefix: String,
    /// Kustomize name suffix.
    #[serde(default)]
    pub name_suffix: String,
}

/// Why a form cannot be applied (each names the field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    /// The source does not exist.
    #[error("source: the application has no source {0}")]
    NoSource(String),
    /// Neither Helm nor Kustomize.
    #[error("tool: must be helm or kustomize, not '{0}'")]
    Tool(String),
    /// A parameter line without `=`.
    #[error("parameters: line {line}: expected name=value, got '{text}'")]
    Parameter {
        /// 1-based line.
        line: usize,
        /// The line.
        text: String,
    },
    /// Values that are not YAML.
    #[error("values: {0}")]
    Values(String),
    /// An image line with spaces.
    #[error("images: line {line}: an image must not contain spaces: '{text}'")]
    Image {
        /// 1-based line.
        line: usize,
        /// The line.
        text: String,
    },
}

fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
}

/// Sets or removes (when empty) `key` of `obj`.
fn set(obj: &mut Map<String, Value>, key: &str, value: Value) {
    let empty = match &value {
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Null => true,
        _ => false,
    };
    if empty {
        obj.remove(key);
    } else {
        obj.insert(key.to_string(), value);
    }
}

/// The application's spec with the form applied to the chosen source; other fields of the source
/// and of its `helm`/`kustomize` section are kept (a parameter's `forceString` too, while its name
/// stays).
pub fn apply(app: &Value, form: &ParamsForm) -> Result<Value, ParamsError> {
    let mut spec = app.get("spec").cloned().unwrap_or_else(|| json!({}));
    let pointer = if form.source.trim().is_empty() {
        "/source".to_string()
    } else {
        let i: usize = form
            .source
            .trim()
            .parse()
            .map_err(|_| ParamsError::NoSource(form.source.clone()))?;
        format!("/sources/{i}")
    };
    let src = spec
        .pointer_mut(&pointer)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| ParamsError::NoSource(form.source.clone()))?;
    match form.tool.as_str() {
        "helm" => {
            let old = src.get("helm").cloned().unwrap_or_else(|| json!({}));
            let mut helm = old.as_object().cloned().unwrap_or_default();
            if !form.values.trim().is_empty() {
                capstan_yaml::parse_stream(&form.values)
                    .map_err(|e| ParamsError::Values(e.to_string()))?;
            }
            set(&mut helm, "values", Value::String(form.values.clone()));
            let files: Vec<Value> = lines(&form.value_files)
                .map(|(_, l)| Value::String(l.to_string()))
                .collect();
            set(&mut helm, "valueFiles", Value::Array(files));
            let mut params = Vec::new();
            for (line, l) in lines(&form.parameters) {
                let Some((name, value)) = l.split_once('=') else {
                    return Err(ParamsError::Parameter {
                        line,
                        text: l.to_string(),
                    });
                };
                let name = name.trim();
                if name.is_empty() {
                    return Err(ParamsError::Parameter {
                        line,
                        text: l.to_string(),
                    });
                }
                let mut p = json!({"name": name, "value": value.trim()});
                let force = old
                    .get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .find(|o| o.get("name").and_then(Value::as_str) == Some(name))
                    .and_then(|o| o.get("forceString"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                if force {
                    p["forceString"] = Value::Bool(true);
                }
                params.push(p);
            }
            set(&mut helm, "parameters", Value::Array(params));
            src.insert("helm".into(), Value::Object(helm));
        }
        "kustomize" => {
            let mut k = src
                .get("kustomize")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let mut images = Vec::new();
            for (line, l) in lines(&form.images) {
                if l.contains(char::is_whitespace) {
                    return Err(ParamsError::Image {
                        line,
                        text: l.to_string(),
                    });
                }
                images.push(Value::String(l.to_string()));
            }
            set(&mut k, "images", Value::Array(images));
            set(
                &mut k,
                "namePrefix",
                Value::String(form.name_prefix.trim().to_string()),
            );
            set(
                &mut k,
                "nameSuffix",
                Value::String(form.name_suffix.trim().to_string()),
            );
            src.insert("kustomize".into(), Value::Object(k));
        }
        other => return Err(ParamsError::Tool(other.to_string())),
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn helm_app() -> Value {
        json!({"spec": {"source": {"repoURL": "https://charts.example", "chart": "web", "targetRevision": "1.0.0",
            "helm": {"releaseName": "r", "values": "a: 1\n", "parameters": [
                {"name": "image.tag", "value": "v1", "forceString": true}, {"name": "x", "value": "y"}]}}}})
    }

    #[test]
    fn reads_helm_and_kustomize_sources() {
        let s = sources(&helm_app());
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].tool, Tool::Helm);
        assert_eq!(s[0].parameters, ["image.tag=v1", "x=y"]);
        assert_eq!(s[0].values, "a: 1\n");
        let app = json!({"spec": {"sources": [
            {"repoURL": "https://git/a", "path": "k", "kustomize": {"images": ["nginx:1.25"], "namePrefix": "p-"}},
            {"repoURL": "https://git/b", "path": "plain"}]}});
        let s = sources(&app);
        assert_eq!((s[0].index, s[0].tool), (Some(0), Tool::Kustomize));
        assert_eq!(s[0].images, ["nginx:1.25"]);
        assert_eq!(s[1].tool, Tool::Other);
        let typed = json!({"spec": {"source": {"repoURL": "r", "path": "p"}}, "status": {"sourceType": "Kustomize"}});
        assert_eq!(sources(&typed)[0].tool, Tool::Kustomize);
    }

    #[test]
    fn helm_form_keeps_other_fields_and_force_string() {
        let form = ParamsForm {
            tool: "helm".into(),
            values: "replicas: 3\n".into(),
            value_files: "values-prod.yaml\n\n values-eu.yaml \n".into(),
            parameters: "image.tag=v2\nnew = 1\n".into(),
            ..ParamsForm::default()
        };
        let spec = apply(&helm_app(), &form).unwrap();
        let helm = &spec["source"]["helm"];
        assert_eq!(helm["releaseName"], "r");
        assert_eq!(helm["values"], "replicas: 3\n");
        assert_eq!(
            helm["valueFiles"],
            json!(["values-prod.yaml", "values-eu.yaml"])
        );
        assert_eq!(
            helm["parameters"],
            json!([{"name": "image.tag", "value": "v2", "forceString": true}, {"name": "new", "value": "1"}])
        );
        assert_eq!(spec["source"]["chart"], "web");
        // emptied fields are removed
        let cleared = apply(
            &helm_app(),
            &ParamsForm {
                tool: "helm".into(),
                ..ParamsForm::default()
            },
        )
        .unwrap();
        assert_eq!(cleared["source"]["helm"], json!({"releaseName": "r"}));
    }

    #[test]
    fn kustomize_form_on_one_of_several_sources() {
        let app = json!({"spec": {"sources": [{"repoURL": "a", "path": "x"}, {"repoURL": "b", "path": "k", "kustomize": {"commonLabels": {"a": "b"}}}]}});
        let form = ParamsForm {
            tool: "kustomize".into(),
            source: "1".into(),
            images: "nginx=registry.example/nginx:1.27\n".into(),
            name_prefix: "prod-".into(),
            ..ParamsForm::default()
        };
        let spec = apply(&app, &form).unwrap();
        assert_eq!(
            spec["sources"][1]["kustomize"],
            json!({"commonLabels": {"a": "b"}, "images": ["nginx=registry.example/nginx:1.27"], "namePrefix": "prod-"})
        );
        assert_eq!(spec["sources"][0], json!({"repoURL": "a", "path": "x"}));
    }

    #[test]
    fn errors_name_the_field_and_line() {
        let bad = |form: ParamsForm| apply(&helm_app(), &form).unwrap_err().to_string();
        assert_eq!(
            bad(ParamsForm {
                tool: "helm".into(),
                parameters: "a=1\nnope\n".into(),
                ..ParamsForm::default()
            }),
            "parameters: line 2: expected name=value, got 'nope'"
        );
        assert!(
            bad(ParamsForm {
                tool: "helm".into(),
                values: "a: [1\n".into(),
                ..ParamsForm::default()
            })
            .starts_with("values: ")
        );
        assert_eq!(
            bad(ParamsForm {
                tool: "kustomize".into(),
                images: "a b\n".into(),
                ..ParamsForm::default()
            }),
            "images: line 1: an image must not contain spaces: 'a b'"
        );
        assert_eq!(
            bad(ParamsForm {
                tool: "helm".into(),
                source: "3".into(),
                ..ParamsForm::default()
            }),
            "source: the application has no source 3"
        );
        assert!(
            bad(ParamsForm {
                tool: "jsonnet".into(),
                ..ParamsForm::default()
            })
            .starts_with("tool: ")
        );
    }
}
