//! Kustomize sources: Argo CD's options are applied to the kustomization file of a private copy (what
//! its `kustomize edit set/add ...` calls do), then a real kustomize builds it (`kustomize build`, or
//! `kubectl kustomize` when no kustomize binary is installed).

use std::path::{Path, PathBuf};

use capstan_types::ApplicationSourceKustomize;
use serde_json::{Map, Value, json};

use super::{RenderInput, failure, parse_tool_output};
use crate::error::RenderError;
use crate::exec::{ExecError, ToolCommand};

/// Names kustomize accepts for its file, in its order.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The kustomization file of a directory.
pub fn kustomization_file(dir: &Path) -> Option<PathBuf> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

fn has_edits(k: &ApplicationSourceKustomize) -> bool {
    k.name_prefix.as_deref().is_some_and(|s| !s.is_empty())
        || k.name_suffix.as_deref().is_some_and(|s| !s.is_empty())
        || k.images.as_ref().is_some_and(|v| !v.is_empty())
        || k.replicas.as_ref().is_some_and(|v| !v.is_empty())
        || k.common_labels.as_ref().is_some_and(|v| !v.is_empty())
        || k.common_annotations.as_ref().is_some_and(|v| !v.is_empty())
        || k.namespace.as_deref().is_some_and(|s| !s.is_empty())
        || k.patches.as_ref().is_some_and(|v| !v.is_empty())
        || k.components.as_ref().is_some_and(|v| !v.is_empty())
}

/// Renders a Kustomize source.
pub async fn render(input: &RenderInput<'_>) -> Result<Vec<Value>, RenderError> {
    let options = input.source.kustomize.clone().unwrap_or_default();
    let mut _copy = None;
    let (root, build_dir) = if has_edits(&options) {
        let (copy, app) = input.private_copy()?;
        edit(input, &app, &options)?;
        let root = copy.path().to_path_buf();
        _copy = Some(copy);
        (root, app)
    } else {
        (input.repo_root.to_path_buf(), input.app_dir.to_path_buf())
    };
    // kustomize follows directory references anywhere (its load restrictor only limits files):
    // every local reference must stay in the repository.
    super::references::check_kustomization(&root, &build_dir)
        .map_err(|e| input.place.outside("kustomize reference", e.to_string()))?;
    let mut cmd = match &input.tools.kustomize {
        Some(bin) => ToolCommand::new(bin, input.tools.timeout)
            .arg("build")
            .arg(&build_dir),
        None => ToolCommand::new(&input.tools.kubectl, input.tools.timeout)
            .arg("kustomize")
            .arg(&build_dir),
    };
    cmd = super::limited(input, cmd)
        .args(input.tools.kustomize_build_options.iter().cloned())
        .current_dir(&build_dir);
    for (k, v) in input.env.vars() {
        cmd = cmd.env(k.clone(), v.clone());
    }
    let out = cmd.run().await.map_err(|e| match e {
        ExecError::Timeout { seconds, .. } => input
            .place
            .tool("kustomize", format!("timed out after {seconds} s")),
        other => input.place.tool("kustomize", other.to_string()),
    })?;
    if !out.success() {
        return Err(input.place.tool("kustomize", failure(&out)));
    }
    parse_tool_output(input, "kustomize", &out.stdout)
}

/// Applies the source's options to the kustomization file in `dir` (a private copy).
fn edit(
    input: &RenderInput<'_>,
    dir: &Path,
    options: &ApplicationSourceKustomize,
) -> Result<(), RenderError> {
    let file = kustomization_file(dir).ok_or_else(|| {
        input.place.tool(
            "kustomize",
            "no kustomization.yaml, kustomization.yml or Kustomization file",
        )
    })?;
    let text = std::fs::read_to_string(&file)
        .map_err(|e| RenderError::io("reading the kustomization", e))?;
    let docs = capstan_yaml::parse_stream(&text).map_err(|e| {
        input.place.manifest(
            file.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            e.position.line,
            e.position.column,
            e.message,
        )
    })?;
    let mut k = match docs.into_iter().next().map(|d| d.value) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let env = input.env;
    if let Some(p) = options.name_prefix.as_deref().filter(|s| !s.is_empty()) {
        k.insert("namePrefix".into(), json!(env.envsubst(p)));
    }
    if let Some(s) = options.name_suffix.as_deref().filter(|s| !s.is_empty()) {
        k.insert("nameSuffix".into(), json!(env.envsubst(s)));
    }
    for image in options.images.iter().flatten() {
        set_image(&mut k, &env.envsubst(image));
    }
    for r in options.replicas.iter().flatten() {
        let count = match &r.count {
            capstan_types::meta::IntOrString::Int(i) => *i,
            capstan_types::meta::IntOrString::String(s) => s.trim().parse().map_err(|_| {
                RenderError::InvalidSource(format!(
                    "kustomize.replicas[{}].count: {s:?} is not a number",
                    r.name
                ))
            })?,
        };
        upsert_named(
            &mut k,
            "replicas",
            &r.name,
            json!({"name": r.name, "count": count}),
        );
    }
    if let Some(labels) = options.common_labels.as_ref().filter(|l| !l.is_empty()) {
        let labels: Map<String, Value> = labels
            .iter()
            .map(|(a, b)| (a.clone(), json!(env.envsubst(b))))
            .collect();
        if options.label_without_selector.unwrap_or(false) {
            let mut entry = json!({"pairs": labels, "includeSelectors": false});
            if options.label_include_templates.unwrap_or(false) {
                entry["includeTemplates"] = json!(true);
            }
            push(&mut k, "labels", entry);
        } else {
            merge_map(
                input,
                &mut k,
                "commonLabels",
                labels,
                options.force_common_labels.unwrap_or(false),
            )?;
        }
    }
    if let Some(ann) = options
        .common_annotations
        .as_ref()
        .filter(|l| !l.is_empty())
    {
        let subst = options.common_annotations_envsubst.unwrap_or(false);
        let ann: Map<String, Value> = ann
            .iter()
            .map(|(a, b)| {
                let v = if subst { env.envsubst(b) } else { b.clone() };
                (a.clone(), json!(v))
            })
            .collect();
        merge_map(
            input,
            &mut k,
            "commonAnnotations",
            ann,
            options.force_common_annotations.unwrap_or(false),
        )?;
    }
    if let Some(ns) = options.namespace.as_deref().filter(|s| !s.is_empty()) {
        k.insert("namespace".into(), json!(env.envsubst(ns)));
    }
    for component in options.components.iter().flatten() {
        let resolved = crate::confine::resolve(input.repo_root, input.app_dir, component);
        if resolved.is_none() && !component.contains("://") {
            return Err(input
                .place
                .outside("kustomize component", component.clone()));
        }
        let exists = resolved.is_some_and(|p| p.exists());
        if !exists && !component.contains("://") {
            if options.ignore_missing_components.unwrap_or(false) {
                continue;
            }
            return Err(input.place.tool(
                "kustomize",
                format!("component {component:?} does not exist"),
            ));
        }
        push(&mut k, "components", json!(component));
    }
    for patch in options.patches.iter().flatten() {
        let value = serde_json::to_value(patch)
            .map_err(|e| RenderError::InvalidSource(format!("kustomize.patches: {e}")))?;
        push(&mut k, "patches", value);
    }
    let text = capstan_yaml::to_yaml_string(&Value::Object(k));
    std::fs::write(&file, text).map_err(|e| RenderError::io("writing the kustomization", e))
}

fn push(k: &mut Map<String, Value>, key: &str, value: Value) {
    match k.get_mut(key) {
        Some(Value::Array(items)) => items.push(value),
        _ => {
            k.insert(key.into(), Value::Array(vec![value]));
        }
    }
}

fn upsert_named(k: &mut Map<String, Value>, key: &str, name: &str, value: Value) {
    if let Some(Value::Array(items)) = k.get_mut(key) {
        if let Some(slot) = items
            .iter_mut()
            .find(|i| i.get("name").and_then(Value::as_str) == Some(name))
        {
            *slot = value;
            return;
        }
        items.push(value);
        return;
    }
    k.insert(key.into(), Value::Array(vec![value]));
}

fn merge_map(
    input: &RenderInput<'_>,
    k: &mut Map<String, Value>,
    key: &str,
    add: Map<String, Value>,
    force: bool,
) -> Result<(), RenderError> {
    let slot = k
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    if let Value::Object(existing) = slot {
        for (name, value) in add {
            if existing.contains_key(&name) && !force {
                return Err(input.place.tool(
                    "kustomize",
                    format!(
                        "{key}: key {name:?} already exists in the kustomization (set force{} to override)",
                        if key == "commonLabels" { "CommonLabels" } else { "CommonAnnotations" }
                    ),
                ));
            }
            existing.insert(name, value);
        }
    }
    Ok(())
}

/// `kustomize edit set image` argument forms: `name=new:tag`, `name=new@digest`, `name:tag`,
/// `name@digest`, `name=new`.
fn set_image(k: &mut Map<String, Value>, spec: &str) {
    let (name, target) = match spec.split_once('=') {
        Some((n, t)) => (n.to_string(), Some(t)),
        None => (String::new(), None),
    };
    let mut entry = Map::new();
    let parse_ref = |r: &str| -> (String, Option<String>, Option<String>) {
        if let Some((n, d)) = r.split_once('@') {
            return (n.to_string(), None, Some(d.to_string()));
        }
        // a tag is after the last ':' that follows the last '/'
        let slash = r.rfind('/').map(|i| i + 1).unwrap_or(0);
        match r[slash..].rfind(':') {
            Some(i) => (
                r[..slash + i].to_string(),
                Some(r[slash + i + 1..].to_string()),
                None,
            ),
            None => (r.to_string(), None, None),
        }
    };
    let name = match target {
        Some(t) => {
            let (new_name, tag, digest) = parse_ref(t);
            if new_name != name {
                entry.insert("newName".into(), json!(new_name));
            }
            if let Some(tag) = tag {
                entry.insert("newTag".into(), json!(tag));
            }
            if let Some(d) = digest {
                entry.insert("digest".into(), json!(d));
            }
            name
        }
        None => {
            let (n, tag, digest) = parse_ref(spec);
            if let Some(tag) = tag {
                entry.insert("newTag".into(), json!(tag));
            }
            if let Some(d) = digest {
                entry.insert("digest".into(), json!(d));
            }
            n
        }
    };
    let mut full = Map::new();
    full.insert("name".into(), json!(name));
    full.extend(entry);
    upsert_named(k, "images", &name, Value::Object(full));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_forms() {
        let mut k = Map::new();
        set_image(&mut k, "nginx=registry.local/nginx:1.25");
        set_image(&mut k, "redis:7");
        set_image(&mut k, "app@sha256:abc");
        set_image(&mut k, "localhost:5000/x:2");
        assert_eq!(
            Value::Object(k)["images"],
            json!([
                {"name": "nginx", "newName": "registry.local/nginx", "newTag": "1.25"},
                {"name": "redis", "newTag": "7"},
                {"name": "app", "digest": "sha256:abc"},
                {"name": "localhost:5000/x", "newTag": "2"}
            ])
        );
    }

    #[test]
    fn image_override_replaces_an_existing_entry() {
        let mut k = Map::new();
        set_image(&mut k, "nginx:1");
        set_image(&mut k, "nginx:2");
        assert_eq!(
            Value::Object(k)["images"],
            json!([{"name": "nginx", "newTag": "2"}])
        );
    }
}
