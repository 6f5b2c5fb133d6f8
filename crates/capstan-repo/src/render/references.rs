//! Files and directories that a kustomization or a Helm chart names, checked to stay inside the
//! repository before any tool runs.
//!
//! `kustomize build` follows `resources`, `bases` and `components` into any directory (its load
//! restrictor only limits files), and `helm dependency build` copies `file://` charts from anywhere;
//! without this check a repository could pull in another repository's checkout or any directory of
//! the repo server. Remote references (`https://`, `git@`, `oci://`, `github.com/...`) are left to the
//! tools.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::kustomize::kustomization_file;
use crate::confine;

/// Most kustomization files followed from one application (a guard against reference loops that
/// kustomize itself would reject, and against very large graphs).
const MAX_KUSTOMIZATIONS: usize = 2_000;

/// A reference that leaves the repository: what names it (`file` is relative to the repository
/// root) and the path as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escape {
    /// The kustomization or `Chart.yaml` that holds the reference, relative to the repository root.
    pub file: String,
    /// The field (`resources`, `configMapGenerator.files`, `dependencies.repository`, ...).
    pub field: String,
    /// The path as written.
    pub path: String,
}

impl std::fmt::Display for Escape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}: {})", self.path, self.file, self.field)
    }
}

fn is_remote(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    // `file://` names a path on the repo server (kustomize clones it as a Git repository)
    (lower.contains("://") && !lower.starts_with("file://"))
        || lower.starts_with("git@")
        || lower.starts_with("github.com/")
        || lower.starts_with("gitlab.com/")
        || lower.starts_with("bitbucket.org/")
}

/// `path` (relative to `dir`, or absolute) resolved and required to stay inside `root`, lexically
/// and after following symlinks. A `file://` URL is judged by its path (without kustomize's
/// `//subdirectory` and `?ref=` parts).
fn inside(root: &Path, dir: &Path, path: &str) -> Option<PathBuf> {
    let path = match path.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("file://") => {
            let rest = &path[7..];
            let rest = rest.split('?').next().unwrap_or_default();
            // `file:///repo//sub`: the repository part ends at the second `//`
            match rest.get(1..).and_then(|r| r.find("//")) {
                Some(i) => &rest[..i + 1],
                None => rest,
            }
        }
        _ => path,
    };
    let joined = if Path::new(path).is_absolute() {
        PathBuf::from(path)
    } else {
        dir.join(path)
    };
    let normal = confine::normalize(&joined);
    if !normal.starts_with(confine::normalize(root)) {
        return None;
    }
    if let Ok(real) = normal.canonicalize() {
        let real_root = root.canonicalize().ok()?;
        if !real.starts_with(real_root) {
            return None;
        }
    }
    Some(normal)
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(confine::normalize(root))
        .unwrap_or(path)
        .display()
        .to_string()
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// A string entry that is an inline document rather than a file name (`patchesStrategicMerge`,
/// `transformers`, ... accept both).
fn is_inline(s: &str) -> bool {
    s.contains('\n') || s.trim_start().starts_with('{')
}

/// Checks every local path the kustomization in `dir` (and each kustomization it reaches) names.
pub fn check_kustomization(root: &Path, dir: &Path) -> Result<(), Escape> {
    let mut seen = HashSet::new();
    let mut stack = vec![confine::normalize(dir)];
    while let Some(dir) = stack.pop() {
        if !seen.insert(dir.clone()) || seen.len() > MAX_KUSTOMIZATIONS {
            continue;
        }
        let Some(file) = kustomization_file(&dir) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        // a kustomization kustomize cannot read is reported by kustomize itself
        let Ok(docs) = capstan_yaml::parse_stream(&text) else {
            continue;
        };
        let Some(k) = docs.into_iter().next().map(|d| d.value) else {
            continue;
        };
        let shown = rel(root, &file);
        let escape = |field: &str, path: &str| Escape {
            file: shown.clone(),
            field: field.to_string(),
            path: path.to_string(),
        };
        // directories (followed) or files
        for field in ["resources", "bases", "components"] {
            for entry in strings(k.get(field)) {
                if is_remote(&entry) {
                    continue;
                }
                let resolved = inside(root, &dir, &entry).ok_or_else(|| escape(field, &entry))?;
                if resolved.is_dir() {
                    stack.push(resolved);
                }
            }
        }
        // files, or inline documents
        for field in [
            "crds",
            "configurations",
            "patchesStrategicMerge",
            "transformers",
            "generators",
            "validators",
        ] {
            for entry in strings(k.get(field)) {
                if is_remote(&entry) || is_inline(&entry) {
                    continue;
                }
                let resolved = inside(root, &dir, &entry).ok_or_else(|| escape(field, &entry))?;
                if resolved.is_dir() {
                    stack.push(resolved);
                }
            }
        }
        for field in ["patches", "patchesJson6902", "replacements"] {
            for item in k.get(field).and_then(Value::as_array).into_iter().flatten() {
                if let Some(path) = item.get("path").and_then(Value::as_str)
                    && !is_remote(path)
                {
                    inside(root, &dir, path)
                        .ok_or_else(|| escape(&format!("{field}.path"), path))?;
                }
            }
        }
        for field in ["configMapGenerator", "secretGenerator"] {
            for item in k.get(field).and_then(Value::as_array).into_iter().flatten() {
                for (sub, entries) in [
                    ("files", strings(item.get("files"))),
                    ("envs", strings(item.get("envs"))),
                    ("env", strings(item.get("env"))),
                ] {
                    for entry in entries {
                        // `key=path` or `path`
                        let path = entry.split_once('=').map_or(entry.as_str(), |(_, p)| p);
                        inside(root, &dir, path)
                            .ok_or_else(|| escape(&format!("{field}.{sub}"), path))?;
                    }
                }
            }
        }
        if let Some(path) = k.pointer("/openapi/path").and_then(Value::as_str)
            && !is_remote(path)
        {
            inside(root, &dir, path).ok_or_else(|| escape("openapi.path", path))?;
        }
        if let Some(path) = k.pointer("/helmGlobals/chartHome").and_then(Value::as_str) {
            inside(root, &dir, path).ok_or_else(|| escape("helmGlobals.chartHome", path))?;
        }
        for chart in k
            .get("helmCharts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let mut files = strings(chart.get("valuesFile"));
            files.extend(strings(chart.get("additionalValuesFiles")));
            for path in files {
                if is_remote(&path) {
                    continue;
                }
                inside(root, &dir, &path).ok_or_else(|| escape("helmCharts.valuesFile", &path))?;
            }
        }
    }
    Ok(())
}

/// Checks the `file://` dependencies of the chart in `chart_dir` (and of the local charts they
/// name).
pub fn check_chart_dependencies(root: &Path, chart_dir: &Path) -> Result<(), Escape> {
    let mut seen = HashSet::new();
    let mut stack = vec![confine::normalize(chart_dir)];
    while let Some(dir) = stack.pop() {
        if !seen.insert(dir.clone()) || seen.len() > MAX_KUSTOMIZATIONS {
            continue;
        }
        let file = dir.join("Chart.yaml");
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let Ok(docs) = capstan_yaml::parse_stream(&text) else {
            continue;
        };
        let Some(chart) = docs.into_iter().next().map(|d| d.value) else {
            continue;
        };
        let shown = rel(root, &file);
        for dep in chart
            .get("dependencies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(repo) = dep.get("repository").and_then(Value::as_str) else {
                continue;
            };
            let Some(path) = repo.strip_prefix("file://") else {
                continue;
            };
            let resolved = inside(root, &dir, path).ok_or_else(|| Escape {
                file: shown.clone(),
                field: "dependencies.repository".into(),
                path: repo.to_string(),
            })?;
            stack.push(resolved);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        std::fs::create_dir_all(root.join("base")).unwrap();
        std::fs::create_dir_all(root.join("app")).unwrap();
        std::fs::create_dir_all(tmp.path().join("elsewhere")).unwrap();
        std::fs::write(
            root.join("base/kustomization.yaml"),
            "resources: [cm.yaml]\n",
        )
        .unwrap();
        std::fs::write(root.join("base/cm.yaml"), "kind: ConfigMap\n").unwrap();
        std::fs::write(
            tmp.path().join("elsewhere/kustomization.yaml"),
            "resources: []\n",
        )
        .unwrap();
        (tmp, root)
    }

    fn check(root: &Path, kustomization: &str) -> Result<(), Escape> {
        std::fs::write(root.join("app/kustomization.yaml"), kustomization).unwrap();
        check_kustomization(root, &root.join("app"))
    }

    #[test]
    fn kustomizations_stay_inside() {
        let (_tmp, root) = repo();
        assert_eq!(check(&root, "resources: [../base]\n"), Ok(()));
        assert_eq!(
            check(&root, "resources: [https://github.com/a/b//x?ref=v1]\n"),
            Ok(())
        );
        // a file:// URL is a path on the repo server
        let outside = root.parent().unwrap().join("elsewhere");
        let err = check(
            &root,
            &format!(
                "resources: ['file://{}//sub?ref=main']\n",
                outside.display()
            ),
        )
        .unwrap_err();
        assert_eq!(err.field, "resources");
        assert_eq!(
            check(
                &root,
                &format!("resources: ['file://{}']\n", root.join("base").display())
            ),
            Ok(())
        );
        assert_eq!(
            check(
                &root,
                "patchesStrategicMerge:\n- |\n  kind: X\n  metadata: {name: y}\n"
            ),
            Ok(())
        );
        for (k, field) in [
            ("resources: [../../elsewhere]\n", "resources"),
            ("bases: [/etc]\n", "bases"),
            ("components: [../../elsewhere]\n", "components"),
            ("patches: [{path: ../../x.yaml}]\n", "patches.path"),
            (
                "configMapGenerator: [{name: x, files: [k=/etc/passwd]}]\n",
                "configMapGenerator.files",
            ),
            (
                "secretGenerator: [{name: x, envs: [../../e.env]}]\n",
                "secretGenerator.envs",
            ),
            ("crds: [/etc/passwd]\n", "crds"),
            ("openapi: {path: /etc/passwd}\n", "openapi.path"),
        ] {
            let err = check(&root, k).unwrap_err();
            assert_eq!(err.field, field, "{k}");
            assert_eq!(err.file, "app/kustomization.yaml");
        }
        // followed through an inner kustomization
        std::fs::write(
            root.join("base/kustomization.yaml"),
            "resources: [../../elsewhere]\n",
        )
        .unwrap();
        let err = check(&root, "resources: [../base]\n").unwrap_err();
        assert_eq!(err.file, "base/kustomization.yaml");
    }

    #[test]
    fn symlinked_directories_are_judged_by_their_target() {
        let (tmp, root) = repo();
        std::os::unix::fs::symlink(tmp.path().join("elsewhere"), root.join("link")).unwrap();
        assert!(check(&root, "resources: [../link]\n").is_err());
    }

    #[test]
    fn chart_dependencies_stay_inside() {
        let (_tmp, root) = repo();
        std::fs::create_dir_all(root.join("chart")).unwrap();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        let write = |deps: &str| {
            std::fs::write(
                root.join("chart/Chart.yaml"),
                format!("apiVersion: v2\nname: c\nversion: 1.0.0\ndependencies:\n{deps}"),
            )
            .unwrap();
        };
        write("- {name: sub, version: 1.0.0, repository: file://../sub}\n");
        assert_eq!(check_chart_dependencies(&root, &root.join("chart")), Ok(()));
        write("- {name: x, version: 1.0.0, repository: https://charts.example.com}\n");
        assert_eq!(check_chart_dependencies(&root, &root.join("chart")), Ok(()));
        write("- {name: x, version: 1.0.0, repository: 'file://../../elsewhere'}\n");
        assert!(check_chart_dependencies(&root, &root.join("chart")).is_err());
        write("- {name: x, version: 1.0.0, repository: 'file:///etc'}\n");
        assert!(check_chart_dependencies(&root, &root.join("chart")).is_err());
    }
}
