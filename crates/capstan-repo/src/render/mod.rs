//! Rendering one application source of a checked-out commit into Kubernetes objects.

pub mod archives;
pub mod directory;
pub mod env;
pub mod helm;
pub mod jsonnet;
pub mod kustomize;
pub mod plugin;
pub mod references;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use capstan_types::ApplicationSource;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use env::{BuildEnv, BuildEnvInput};
pub use plugin::ConfigManagementPlugin;

use crate::error::{Place, RenderError};
use crate::git::Checkout;

/// Source types, with Argo CD's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SourceType {
    /// Plain YAML / JSON / Jsonnet files.
    Directory,
    /// A kustomization.
    Kustomize,
    /// A Helm chart.
    Helm,
    /// A config management plugin.
    Plugin,
}

impl SourceType {
    /// Argo CD's name.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceType::Directory => "Directory",
            SourceType::Kustomize => "Kustomize",
            SourceType::Helm => "Helm",
            SourceType::Plugin => "Plugin",
        }
    }
}

/// Programs and limits used for rendering.
#[derive(Debug, Clone)]
pub struct ToolSettings {
    /// A `kustomize` binary; `None` uses `kubectl kustomize`.
    pub kustomize: Option<PathBuf>,
    /// kubectl (for `kubectl kustomize`).
    pub kubectl: PathBuf,
    /// Extra `kustomize build` options (`kustomize.buildOptions`).
    pub kustomize_build_options: Vec<String>,
    /// The helm program.
    pub helm: PathBuf,
    /// Private Helm home (cache, config, data).
    pub helm_home: PathBuf,
    /// Time limit of one tool run.
    pub timeout: Duration,
    /// Config management plugins.
    pub plugins: Vec<ConfigManagementPlugin>,
    /// Size limits of one generation.
    pub limits: Limits,
}

/// Size limits of one manifest generation (a repository must not exhaust the repo server's
/// memory, disk or CPU). Argo CD's names and defaults where it has the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes of manifest files (`.yaml`, `.yml`, `.json`, `.jsonnet`) one directory source
    /// may read (Argo CD's `reposerver.max.combined.directory.manifests.size`, default 10M).
    pub max_combined_directory_manifests_size: u64,
    /// Most bytes one chart archive (`charts/*.tgz`) may expand to; `None` disables the check
    /// (Argo CD's `helm.manifest.max.extracted.size`, default 1G).
    pub helm_max_extracted_size: Option<u64>,
    /// Most bytes of YAML/JSON a tool (helm, kustomize, a plugin) or a Jsonnet file may produce.
    pub max_generated_bytes: u64,
    /// Most objects one source may produce.
    pub max_objects: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_combined_directory_manifests_size: 10_000_000,
            helm_max_extracted_size: Some(1_000_000_000),
            max_generated_bytes: 256 * 1024 * 1024,
            max_objects: 100_000,
        }
    }
}

impl ToolSettings {
    /// Defaults: `kustomize` when on `PATH`, else `kubectl kustomize`; `helm` from `PATH`; 90 s.
    pub fn detect(helm_home: PathBuf) -> ToolSettings {
        ToolSettings {
            kustomize: find_on_path("kustomize"),
            kubectl: PathBuf::from("kubectl"),
            kustomize_build_options: Vec::new(),
            helm: PathBuf::from("helm"),
            helm_home,
            timeout: Duration::from_secs(90),
            plugins: Vec::new(),
            limits: Limits::default(),
        }
    }
}

/// The full path of a program found on `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Everything a renderer needs.
pub struct RenderInput<'a> {
    /// Where (for errors).
    pub place: &'a Place,
    /// The source.
    pub source: &'a ApplicationSource,
    /// The checkout (read-only).
    pub checkout: &'a Checkout,
    /// Root of the checkout.
    pub repo_root: &'a Path,
    /// The application directory inside it.
    pub app_dir: &'a Path,
    /// Application path relative to the root (`.` for the root).
    pub rel_path: &'a str,
    /// Build environment.
    pub env: &'a BuildEnv,
    /// Application name.
    pub app_name: &'a str,
    /// Destination namespace.
    pub namespace: &'a str,
    /// Kubernetes version of the destination (`1.31.0`).
    pub kube_version: &'a str,
    /// API versions of the destination.
    pub api_versions: &'a [String],
    /// `ref` name -> checkout root of that source (multi-source `$ref/...` value files).
    pub refs: &'a BTreeMap<String, std::sync::Arc<Checkout>>,
    /// Tools.
    pub tools: &'a ToolSettings,
}

impl RenderInput<'_> {
    /// A writable copy of the checkout and the application directory inside it.
    pub(crate) fn private_copy(&self) -> Result<(tempfile::TempDir, PathBuf), RenderError> {
        let copy = self
            .checkout
            .private_copy()
            .map_err(|e| RenderError::io("copying the checkout", e))?;
        let app = copy.path().join(self.rel_path);
        Ok((copy, app))
    }
}

/// Picks the source type: the spec's explicit choice, else Argo CD's detection (a discovered
/// plugin, `Chart.yaml` -> Helm, a kustomization -> Kustomize, otherwise Directory).
pub async fn detect(input: &RenderInput<'_>) -> Result<SourceType, RenderError> {
    let s = input.source;
    let declared: Vec<&str> = [
        s.helm.as_ref().map(|_| "helm"),
        s.kustomize.as_ref().map(|_| "kustomize"),
        s.directory.as_ref().map(|_| "directory"),
        s.plugin.as_ref().map(|_| "plugin"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if declared.len() > 1 {
        return Err(RenderError::InvalidSource(format!(
            "multiple application sources defined: {}",
            declared.join(",")
        )));
    }
    if input.source.plugin.is_some() {
        return Ok(SourceType::Plugin);
    }
    if let Some(t) = input.source.explicit_type() {
        return Ok(match t {
            capstan_types::ApplicationSourceType::Helm => SourceType::Helm,
            capstan_types::ApplicationSourceType::Kustomize => SourceType::Kustomize,
            capstan_types::ApplicationSourceType::Plugin => SourceType::Plugin,
            _ => SourceType::Directory,
        });
    }
    if plugin::discover(input).await?.is_some() {
        return Ok(SourceType::Plugin);
    }
    Ok(detect_builtin(input.app_dir))
}

/// Argo CD's built-in detection on a directory.
pub fn detect_builtin(app_dir: &Path) -> SourceType {
    if app_dir.join("Chart.yaml").is_file() {
        SourceType::Helm
    } else if kustomize::kustomization_file(app_dir).is_some() {
        SourceType::Kustomize
    } else {
        SourceType::Directory
    }
}

/// Renders with the given type; `List` objects are flattened.
pub async fn render(
    input: &RenderInput<'_>,
    source_type: SourceType,
) -> Result<Vec<Value>, RenderError> {
    let objects = match source_type {
        SourceType::Directory => {
            // File reading and Jsonnet are synchronous: keep them off the async workers when the
            // runtime allows it.
            let multi_thread = tokio::runtime::Handle::try_current()
                .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
            if multi_thread {
                tokio::task::block_in_place(|| directory::render(input))?
            } else {
                directory::render(input)?
            }
        }
        SourceType::Kustomize => kustomize::render(input).await?,
        SourceType::Helm => helm::render(input).await?,
        SourceType::Plugin => plugin::render(input).await?,
    };
    let objects = crate::objects::flatten_lists(objects);
    let max = input.tools.limits.max_objects;
    if objects.len() > max {
        return Err(input.place.tool(
            source_type.as_str(),
            format!(
                "generated {} objects, more than the maximum of {max} per source",
                objects.len()
            ),
        ));
    }
    Ok(objects)
}

/// Parses a size as Argo CD's flags take it (a Kubernetes quantity): `10M` (10^7), `1G`, `512Mi`,
/// `1Gi`, `100k`, or plain bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let factor: u64 = match unit {
        "" => 1,
        "k" | "K" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        other => {
            return Err(format!(
                "size {text:?}: unknown unit {other:?} (use k, M, G, Ki, Mi, Gi)"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("size {text:?} is not a number with an optional unit"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("size {text:?} must be a positive number"));
    }
    Ok((value * factor as f64) as u64)
}

/// A tool command with the generation limits applied.
pub(crate) fn limited(
    input: &RenderInput<'_>,
    cmd: crate::exec::ToolCommand,
) -> crate::exec::ToolCommand {
    cmd.max_output(input.tools.limits.max_generated_bytes)
}

/// Parses a tool's standard output into objects, naming the tool on error.
pub(crate) fn parse_tool_output(
    input: &RenderInput<'_>,
    tool: &str,
    stdout: &[u8],
) -> Result<Vec<Value>, RenderError> {
    let text = String::from_utf8_lossy(stdout);
    crate::objects::split_yaml(&text).map_err(|e| {
        input.place.tool(
            tool,
            format!("output line {}, column {}: {}", e.line, e.column, e.message),
        )
    })
}

/// The last lines of a failed tool's error output, or of its standard output when it wrote no
/// errors (plugins often report problems with `echo`).
pub(crate) fn failure(out: &crate::exec::ToolOutput) -> String {
    if out.stderr.trim().is_empty() {
        tail(&String::from_utf8_lossy(&out.stdout))
    } else {
        tail(&out.stderr)
    }
}

/// Keeps the last lines of a tool's error output.
pub(crate) fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(20);
    let text = lines[start..].join("\n");
    if text.is_empty() {
        "exited with an error and no message".into()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_like_argo_cd_flags() {
        assert_eq!(parse_size("10M"), Ok(10_000_000));
        assert_eq!(parse_size("1G"), Ok(1_000_000_000));
        assert_eq!(parse_size("256Mi"), Ok(256 << 20));
        assert_eq!(parse_size("1.5k"), Ok(1_500));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("10X").is_err());
    }
}
