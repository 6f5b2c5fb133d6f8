//! Helm sources, rendered by `helm template` with the flags Argo CD passes
//! (`argoproj/argo-cd: util/helm/cmd.go`): `--name-template`, `--namespace`, `--kube-version`,
//! `--values` (value files, then inline values), `--set`, `--set-string`, `--set-file`,
//! `--api-versions`, `--include-crds` unless `skipCrds`, `--skip-tests`, `--skip-schema-validation`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{RenderInput, failure, parse_tool_output};
use crate::confine;
use crate::error::RenderError;
use crate::exec::{ExecError, ToolCommand};

/// Renders a Helm source.
pub async fn render(input: &RenderInput<'_>) -> Result<Vec<Value>, RenderError> {
    let helm = input.source.helm.clone().unwrap_or_default();
    let mut keep: Vec<tempfile::TempDir> = Vec::new();
    let scratch = tempfile::Builder::new()
        .prefix("capstan-helm-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir()
        .map_err(|e| RenderError::io("creating a temporary directory", e))?;

    // Charts whose dependencies are not vendored get `helm dependency build` in a private copy.
    let mut chart_dir = input.app_dir.to_path_buf();
    let mut repo_root = input.repo_root.to_path_buf();
    super::references::check_chart_dependencies(&repo_root, &chart_dir)
        .map_err(|e| input.place.outside("chart dependency", e.to_string()))?;
    super::archives::check_chart_archives(&chart_dir, input.tools.limits.helm_max_extracted_size)
        .map_err(|e| input.place.tool("helm", e))?;
    if missing_dependencies(&chart_dir) {
        let (copy, app) = input.private_copy()?;
        repo_root = copy.path().to_path_buf();
        chart_dir = app;
        keep.push(copy);
        let out = base_command(input)
            .args(["dependency", "build"])
            .arg(&chart_dir)
            .run()
            .await
            .map_err(|e| exec_error(input, e))?;
        if !out.success() {
            return Err(input.place.tool("helm", failure(&out)));
        }
        // downloaded dependencies are archives too
        super::archives::check_chart_archives(
            &chart_dir,
            input.tools.limits.helm_max_extracted_size,
        )
        .map_err(|e| input.place.tool("helm", e))?;
    }

    let release = helm
        .release_name
        .clone()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| input.app_name.to_string());
    let namespace = helm
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| input.namespace.to_string());
    let kube_version = helm
        .kube_version
        .clone()
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| input.kube_version.to_string());
    let api_versions = helm
        .api_versions
        .clone()
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| input.api_versions.to_vec());

    let mut args: Vec<OsString> = vec!["template".into(), chart_dir.clone().into()];
    args.push("--name-template".into());
    args.push(release.into());
    if !namespace.is_empty() {
        args.push("--namespace".into());
        args.push(namespace.into());
    }
    if !kube_version.is_empty() {
        args.push("--kube-version".into());
        args.push(kube_version.into());
    }
    for file in helm.value_files.iter().flatten() {
        // `$ref/...` names another source; other paths get Argo CD's envsubst.
        let file = if file.starts_with('$')
            && input
                .refs
                .keys()
                .any(|r| file[1..].starts_with(&format!("{r}/")))
        {
            file.clone()
        } else {
            input.env.envsubst(file)
        };
        match resolve_value_file(input, &repo_root, &chart_dir, &file)? {
            ValueFile::Url(url) => {
                args.push("--values".into());
                args.push(url.into());
            }
            ValueFile::Path(path) => {
                if !path.is_file() {
                    if helm.ignore_missing_value_files.unwrap_or(false) {
                        continue;
                    }
                    return Err(input
                        .place
                        .tool("helm", format!("values file {file:?} does not exist")));
                }
                args.push("--values".into());
                args.push(path.into());
            }
        }
    }
    let inline = inline_values(input, &helm)?;
    if let Some(text) = inline {
        let path = scratch.path().join("inline-values.yaml");
        std::fs::write(&path, text).map_err(|e| RenderError::io("writing inline values", e))?;
        args.push("--values".into());
        args.push(path.into());
    }
    for p in helm.parameters.iter().flatten() {
        let Some(name) = p.name.as_deref().filter(|n| !n.is_empty()) else {
            continue;
        };
        let value = input.env.envsubst(p.value.as_deref().unwrap_or_default());
        let flag = if p.force_string.unwrap_or(false) {
            "--set-string"
        } else {
            "--set"
        };
        args.push(flag.into());
        args.push(format!("{name}={}", escape_set_value(&value)).into());
    }
    for fp in helm.file_parameters.iter().flatten() {
        let (Some(name), Some(path)) = (fp.name.as_deref(), fp.path.as_deref()) else {
            continue;
        };
        let path = input.env.envsubst(path);
        let resolved = confine::resolve(&repo_root, &chart_dir, &path)
            .ok_or_else(|| input.place.outside("file parameter", path.clone()))?;
        let mut arg = OsString::from(format!("{name}="));
        arg.push(resolved.as_os_str());
        args.push("--set-file".into());
        args.push(arg);
    }
    for v in &api_versions {
        args.push("--api-versions".into());
        args.push(v.into());
    }
    if !helm.skip_crds.unwrap_or(false) {
        args.push("--include-crds".into());
    }
    if helm.skip_tests.unwrap_or(false) {
        args.push("--skip-tests".into());
    }
    if helm.skip_schema_validation.unwrap_or(false) {
        args.push("--skip-schema-validation".into());
    }
    let out = base_command(input)
        .args(args)
        .current_dir(&chart_dir)
        .run()
        .await
        .map_err(|e| exec_error(input, e))?;
    drop(keep);
    if !out.success() {
        return Err(input.place.tool("helm", failure(&out)));
    }
    parse_tool_output(input, "helm template", &out.stdout)
}

fn exec_error(input: &RenderInput<'_>, e: ExecError) -> RenderError {
    match e {
        ExecError::Timeout { seconds, .. } => input
            .place
            .tool("helm", format!("timed out after {seconds} s")),
        other => input.place.tool("helm", other.to_string()),
    }
}

fn base_command(input: &RenderInput<'_>) -> ToolCommand {
    let home = &input.tools.helm_home;
    let mut cmd = ToolCommand::new(&input.tools.helm, input.tools.timeout)
        .max_output(input.tools.limits.max_generated_bytes)
        .env("HELM_CACHE_HOME", home.join("cache").display().to_string())
        .env(
            "HELM_CONFIG_HOME",
            home.join("config").display().to_string(),
        )
        .env("HELM_DATA_HOME", home.join("data").display().to_string());
    for (k, v) in input.env.vars() {
        cmd = cmd.env(k.clone(), v.clone());
    }
    cmd
}

/// `values` (a YAML string) or `valuesObject` (which wins, as in Argo CD).
fn inline_values(
    input: &RenderInput<'_>,
    helm: &capstan_types::ApplicationSourceHelm,
) -> Result<Option<String>, RenderError> {
    if let Some(obj) = helm.values_object.as_ref().filter(|v| !v.is_null()) {
        let json = serde_json::to_string(obj)
            .map_err(|e| RenderError::InvalidSource(format!("helm.valuesObject: {e}")))?;
        return Ok(Some(json));
    }
    if let Some(text) = helm.values.as_ref().filter(|v| !v.trim().is_empty()) {
        capstan_yaml::parse_stream(text).map_err(|e| {
            input.place.tool(
                "helm",
                format!("helm.values: line {}: {}", e.position.line, e.message),
            )
        })?;
        return Ok(Some(text.clone()));
    }
    Ok(None)
}

/// Helm's `--set` splits on commas; Argo CD escapes commas not already escaped, except in a
/// `{a,b}` list value.
fn escape_set_value(v: &str) -> String {
    if v.starts_with('{') && v.ends_with('}') {
        return v.to_string();
    }
    let mut out = String::with_capacity(v.len());
    let mut prev = None;
    for c in v.chars() {
        if c == ',' && prev != Some('\\') {
            out.push('\\');
        }
        out.push(c);
        prev = Some(c);
    }
    out
}

enum ValueFile {
    Url(String),
    Path(PathBuf),
}

/// A value file: a URL, `$ref/path` (another source of the application), or a path inside the
/// repository (relative to the chart, or from the root when absolute).
fn resolve_value_file(
    input: &RenderInput<'_>,
    repo_root: &Path,
    chart_dir: &Path,
    file: &str,
) -> Result<ValueFile, RenderError> {
    let lower = file.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        return Ok(ValueFile::Url(file.to_string()));
    }
    if let Some(rest) = file.strip_prefix('$') {
        let (name, path) = rest.split_once('/').unwrap_or((rest, ""));
        let checkout = input.refs.get(name).ok_or_else(|| {
            input.place.tool(
                "helm",
                format!("value file {file:?} names source ref {name:?}, which is not among the application's sources"),
            )
        })?;
        let root = checkout.dir();
        if !checkout.escaping_symlinks.is_empty() {
            return Err(input
                .place
                .outside("symlink", checkout.escaping_symlinks[0].clone()));
        }
        let resolved = confine::resolve(root, root, &format!("/{path}"))
            .ok_or_else(|| input.place.outside("value file", file))?;
        return Ok(ValueFile::Path(resolved));
    }
    confine::resolve(repo_root, chart_dir, file)
        .map(ValueFile::Path)
        .ok_or_else(|| input.place.outside("value file", file))
}

/// True when `Chart.yaml` declares dependencies that `charts/` does not contain.
fn missing_dependencies(chart_dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(chart_dir.join("Chart.yaml")) else {
        return false;
    };
    let Ok(docs) = capstan_yaml::parse_stream(&text) else {
        return false;
    };
    let Some(deps) = docs
        .first()
        .and_then(|d| d.value.get("dependencies"))
        .and_then(Value::as_array)
    else {
        return false;
    };
    let present: Vec<String> = std::fs::read_dir(chart_dir.join("charts"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    deps.iter().any(|d| {
        let Some(name) = d.get("name").and_then(Value::as_str) else {
            return false;
        };
        !present
            .iter()
            .any(|p| p == name || (p.starts_with(&format!("{name}-")) && p.ends_with(".tgz")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_values_escape_commas() {
        assert_eq!(escape_set_value("a,b"), "a\\,b");
        assert_eq!(escape_set_value("a\\,b"), "a\\,b");
        assert_eq!(escape_set_value("{a,b}"), "{a,b}");
    }

    #[test]
    fn dependencies_detected() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Chart.yaml"),
            "apiVersion: v2\nname: x\nversion: 1.0.0\ndependencies:\n- name: sub\n  version: 1.0.0\n  repository: file://../sub\n",
        )
        .unwrap();
        assert!(missing_dependencies(dir.path()));
        std::fs::create_dir_all(dir.path().join("charts/sub")).unwrap();
        assert!(!missing_dependencies(dir.path()));
    }
}
