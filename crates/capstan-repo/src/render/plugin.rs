//! Config management plugins in Argo CD's `ConfigManagementPlugin` format (init, generate, discover,
//! parameters), run as local commands in a private copy of the checkout with the environment Argo
//! CD's cmp-server provides: `ARGOCD_APP_*`, `KUBE_VERSION`, `KUBE_API_VERSIONS`, `ARGOCD_ENV_<name>`
//! user variables, `ARGOCD_APP_PARAMETERS` and `PARAM_<NAME>` parameters.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{RenderInput, failure, parse_tool_output};
use crate::error::RenderError;
use crate::exec::{ExecError, ToolCommand};

/// A command of a plugin.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginCommand {
    /// Program and leading arguments.
    #[serde(default)]
    pub command: Vec<String>,
    /// Further arguments.
    #[serde(default)]
    pub args: Vec<String>,
}

/// `discover.find`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginFind {
    /// Program and leading arguments; a non-empty output means a match.
    #[serde(default)]
    pub command: Vec<String>,
    /// Further arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// A doublestar glob matched under the application path.
    #[serde(default)]
    pub glob: Option<String>,
}

/// `discover`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginDiscover {
    /// A glob matched against files of the application path.
    #[serde(default)]
    pub file_name: Option<String>,
    /// A find command or glob.
    #[serde(default)]
    pub find: Option<PluginFind>,
}

/// `spec` of a plugin.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginSpec {
    /// Version (part of the plugin's name when set).
    #[serde(default)]
    pub version: Option<String>,
    /// Run before generate.
    #[serde(default)]
    pub init: Option<PluginCommand>,
    /// Prints the manifests.
    pub generate: PluginCommand,
    /// Automatic selection.
    #[serde(default)]
    pub discover: Option<PluginDiscover>,
    /// Parameter announcements (not used for generation).
    #[serde(default)]
    pub parameters: Option<Value>,
}

/// Metadata of a plugin.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PluginMeta {
    /// Name.
    pub name: String,
}

/// One `ConfigManagementPlugin` document.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ConfigManagementPlugin {
    /// Metadata.
    pub metadata: PluginMeta,
    /// Specification.
    pub spec: PluginSpec,
}

impl ConfigManagementPlugin {
    /// Parses plugin documents (a `plugin.yaml`), naming the file and field on error.
    pub fn parse(text: &str, file: &str) -> Result<Vec<ConfigManagementPlugin>, String> {
        let docs = capstan_yaml::parse_stream(text).map_err(|e| format!("{file}:{e}"))?;
        let mut out = Vec::new();
        for doc in docs {
            if doc.value.is_null() {
                continue;
            }
            let plugin: ConfigManagementPlugin = capstan_types::decode(&doc.value)
                .map_err(|e| format!("{file}:{}: {e}", doc.start))?;
            if plugin.spec.generate.command.is_empty() {
                return Err(format!(
                    "{file}:{}: spec.generate.command is empty",
                    doc.start
                ));
            }
            out.push(plugin);
        }
        Ok(out)
    }

    /// The name Argo CD uses: `<name>-<version>` when a version is set.
    pub fn full_name(&self) -> String {
        match self.spec.version.as_deref().filter(|v| !v.is_empty()) {
            Some(v) => format!("{}-{v}", self.metadata.name),
            None => self.metadata.name.clone(),
        }
    }

    fn answers_to(&self, name: &str) -> bool {
        name == self.full_name() || name == self.metadata.name
    }
}

fn glob_matches(dir: &Path, pattern: &str) -> bool {
    let Ok(glob) = globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
    else {
        return false;
    };
    let matcher = glob.compile_matcher();
    let mut stack = vec![dir.to_path_buf()];
    let mut seen = 0usize;
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            seen += 1;
            if seen > 100_000 {
                return false;
            }
            let path = e.path();
            if let Ok(rel) = path.strip_prefix(dir)
                && matcher.is_match(rel)
            {
                return true;
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            }
        }
    }
    false
}

fn plugin_env(input: &RenderInput<'_>) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = input
        .env
        .vars()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let Some(spec) = &input.source.plugin else {
        return env;
    };
    for e in spec.env.iter().flatten() {
        env.push((
            format!("ARGOCD_ENV_{}", e.name),
            input.env.envsubst(&e.value),
        ));
    }
    let mut params = Vec::new();
    for p in spec.parameters.iter().flatten() {
        let Some(name) = p.name.as_deref() else {
            continue;
        };
        let key = param_key(name);
        let mut entry = json!({"name": name});
        if let Some(s) = &p.string_value {
            entry["string"] = json!(s);
            env.push((format!("PARAM_{key}"), s.clone()));
        }
        if let Some(items) = &p.array_value {
            entry["array"] = json!(items);
            for (i, item) in items.iter().enumerate() {
                env.push((format!("PARAM_{key}_{i}"), item.clone()));
            }
        }
        if let Some(map) = &p.map_value {
            entry["map"] = json!(map);
            for (k, v) in map {
                env.push((format!("PARAM_{key}_{}", param_key(k)), v.clone()));
            }
        }
        params.push(entry);
    }
    env.push((
        "ARGOCD_APP_PARAMETERS".into(),
        Value::Array(params).to_string(),
    ));
    env
}

fn param_key(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

async fn run(
    input: &RenderInput<'_>,
    plugin: &ConfigManagementPlugin,
    cmd: &PluginCommand,
    dir: &Path,
    env: &[(String, String)],
    what: &str,
) -> Result<Vec<u8>, RenderError> {
    let tool = format!("plugin {} {what}", plugin.full_name());
    let Some((program, rest)) = cmd.command.split_first() else {
        return Err(input.place.tool(&tool, "command is empty"));
    };
    let mut c = super::limited(input, ToolCommand::new(program, input.tools.timeout))
        .args(rest.iter().chain(cmd.args.iter()).cloned())
        .current_dir(dir);
    for (k, v) in env {
        c = c.env(k.clone(), v.clone());
    }
    let out = c.run().await.map_err(|e| match e {
        ExecError::Timeout { seconds, .. } => input
            .place
            .tool(&tool, format!("timed out after {seconds} s")),
        other => input.place.tool(&tool, other.to_string()),
    })?;
    if !out.success() {
        return Err(input.place.tool(&tool, failure(&out)));
    }
    Ok(out.stdout)
}

/// The plugin that claims the application directory (`discover`), if any.
pub async fn discover<'a>(
    input: &'a RenderInput<'_>,
) -> Result<Option<&'a ConfigManagementPlugin>, RenderError> {
    for plugin in &input.tools.plugins {
        let Some(d) = &plugin.spec.discover else {
            continue;
        };
        if let Some(pattern) = d.file_name.as_deref().filter(|p| !p.is_empty())
            && glob_matches(input.app_dir, pattern.trim_start_matches("./"))
        {
            return Ok(Some(plugin));
        }
        if let Some(find) = &d.find {
            if let Some(glob) = find.glob.as_deref().filter(|g| !g.is_empty()) {
                if glob_matches(input.app_dir, glob.trim_start_matches("./")) {
                    return Ok(Some(plugin));
                }
            } else if !find.command.is_empty() {
                let cmd = PluginCommand {
                    command: find.command.clone(),
                    args: find.args.clone(),
                };
                let env = plugin_env(input);
                // A failing discovery command means "no match", as in Argo CD.
                if let Ok(out) = run(input, plugin, &cmd, input.app_dir, &env, "discover").await
                    && !String::from_utf8_lossy(&out).trim().is_empty()
                {
                    return Ok(Some(plugin));
                }
            }
        }
    }
    Ok(None)
}

/// Renders a plugin source.
pub async fn render(input: &RenderInput<'_>) -> Result<Vec<Value>, RenderError> {
    let wanted = input
        .source
        .plugin
        .as_ref()
        .and_then(|p| p.name.clone())
        .filter(|n| !n.is_empty());
    let plugin = match &wanted {
        Some(name) => input
            .tools
            .plugins
            .iter()
            .find(|p| p.answers_to(name))
            .ok_or_else(|| {
                input.place.tool(
                    "plugin",
                    format!("config management plugin {name:?} is not configured"),
                )
            })?,
        None => discover(input).await?.ok_or_else(|| {
            input.place.tool(
                "plugin",
                "no configured config management plugin matches the application",
            )
        })?,
    };
    let (_copy, app) = input.private_copy()?;
    let env = plugin_env(input);
    if let Some(init) = plugin.spec.init.as_ref().filter(|c| !c.command.is_empty()) {
        run(input, plugin, init, &app, &env, "init").await?;
    }
    let out = run(input, plugin, &plugin.spec.generate, &app, &env, "generate").await?;
    parse_tool_output(input, &format!("plugin {}", plugin.full_name()), &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_argo_plugin_files() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/corpora/argo-e2e-apps"
        );
        for name in [
            "cmp-fileName",
            "cmp-find-glob",
            "cmp-find-command",
            "cmp-kustomize",
        ] {
            let file = format!("{dir}/{name}/plugin.yaml");
            let text = std::fs::read_to_string(&file).unwrap();
            let plugins = ConfigManagementPlugin::parse(&text, &file).unwrap();
            assert_eq!(plugins.len(), 1, "{name}");
            assert_eq!(plugins[0].metadata.name, name);
            assert_eq!(plugins[0].full_name(), format!("{name}-v1.0"));
        }
    }

    #[test]
    fn parameter_keys() {
        assert_eq!(param_key("image.tag"), "IMAGE_TAG");
    }

    #[test]
    fn missing_generate_is_an_error() {
        let err = ConfigManagementPlugin::parse(
            "apiVersion: argoproj.io/v1alpha1\nkind: ConfigManagementPlugin\nmetadata: {name: x}\nspec: {}\n",
            "p.yaml",
        )
        .unwrap_err();
        assert!(err.contains("p.yaml"), "{err}");
    }
}
