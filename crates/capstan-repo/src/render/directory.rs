//! Directory sources: every `.yaml`, `.yml`, `.json` and `.jsonnet` file of the application path
//! (recursively with `recurse`), filtered by the `include` / `exclude` globs, as Argo CD's
//! `findManifests` reads them.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::RenderInput;
use super::jsonnet;
use crate::error::RenderError;
use crate::objects::split_yaml;

/// Renders a directory source.
pub fn render(input: &RenderInput<'_>) -> Result<Vec<Value>, RenderError> {
    let options = input.source.directory.clone().unwrap_or_default();
    let include = compile_glob(options.include.as_deref())?;
    let exclude = compile_glob(options.exclude.as_deref())?;
    let mut files = Vec::new();
    walk(
        input.app_dir,
        input.app_dir,
        options.recurse.unwrap_or(false),
        &mut files,
    )
    .map_err(|e| RenderError::io(format!("reading {}", input.place.path), e))?;
    let files: Vec<(String, PathBuf)> = files
        .into_iter()
        .filter(|(rel, _)| exclude.as_ref().is_none_or(|ex| !ex.is_match(rel)))
        .filter(|(rel, _)| include.as_ref().is_none_or(|inc| inc.is_match(rel)))
        .collect();
    // Argo CD's reposerver.max.combined.directory.manifests.size, checked before anything is read
    let max = input.tools.limits.max_combined_directory_manifests_size;
    let mut total = 0u64;
    for (rel, path) in &files {
        total += std::fs::metadata(path)
            .map_err(|e| input.place.manifest(rel.as_str(), 0, 0, e.to_string()))?
            .len();
        if total > max {
            return Err(input.place.tool(
                "directory",
                format!(
                    "exceeded max combined manifest file size of {max} bytes (at {rel}; \
                     --max-combined-directory-manifests-size)"
                ),
            ));
        }
    }
    let mut objects = Vec::new();
    for (rel, path) in files {
        if rel.ends_with(".jsonnet") {
            objects.extend(jsonnet::render_file(input, &options, &path, &rel)?);
        } else if rel.ends_with(".json") {
            objects.extend(read_json(input, &path, &rel)?);
        } else {
            objects.extend(read_yaml(input, &path, &rel)?);
        }
    }
    Ok(objects)
}

/// Argo CD matches include / exclude with gobwas/glob without separators: `*` also matches `/`,
/// and `{a,b}` alternatives are allowed.
fn compile_glob(pattern: Option<&str>) -> Result<Option<globset::GlobMatcher>, RenderError> {
    let Some(p) = pattern.filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let glob = globset::GlobBuilder::new(p)
        .literal_separator(false)
        .backslash_escape(true)
        .build()
        .map_err(|e| RenderError::InvalidSource(format!("directory glob {p:?}: {e}")))?;
    Ok(Some(glob.compile_matcher()))
}

fn walk(
    root: &Path,
    dir: &Path,
    recurse: bool,
    out: &mut Vec<(String, PathBuf)>,
) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if recurse {
                walk(root, &path, recurse, out)?;
            }
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_manifest = [".yaml", ".yml", ".json", ".jsonnet"]
            .iter()
            .any(|ext| name.ends_with(ext));
        if !is_manifest {
            continue;
        }
        if kind.is_symlink() && path.is_dir() {
            continue;
        }
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        out.push((rel, path));
    }
    Ok(())
}

fn read_text(input: &RenderInput<'_>, path: &Path, rel: &str) -> Result<String, RenderError> {
    let bytes = std::fs::read(path).map_err(|e| input.place.manifest(rel, 0, 0, e.to_string()))?;
    Ok(decode_text(bytes))
}

/// UTF-8, or UTF-16 with a byte-order mark (Argo CD reads files through `utfutil`).
pub(crate) fn decode_text(bytes: Vec<u8>) -> String {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        let le = bytes[0] == 0xFF;
        let units: Vec<u16> = bytes[2..]
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        return String::from_utf16_lossy(&units);
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    text.strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(text)
}

fn read_json(input: &RenderInput<'_>, path: &Path, rel: &str) -> Result<Vec<Value>, RenderError> {
    let text = read_text(input, path, rel)?;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        input.place.manifest(
            rel,
            e.line(),
            e.column(),
            format!("failed to unmarshal: {e}"),
        )
    })?;
    match &value {
        Value::Object(map) if map.get("kind").and_then(Value::as_str).is_some() => Ok(vec![value]),
        _ => Err(input
            .place
            .manifest(rel, 1, 1, "failed to unmarshal: Object 'Kind' is missing")),
    }
}

fn read_yaml(input: &RenderInput<'_>, path: &Path, rel: &str) -> Result<Vec<Value>, RenderError> {
    let text = read_text(input, path, rel)?;
    match split_yaml(&text) {
        Ok(objs) => Ok(objs),
        Err(e) => {
            // Argo CD ignores YAML files that are not Kubernetes objects (a Helm values file, a CI
            // configuration), unless some objects parsed before the problem or the file looks like
            // a resource.
            let looks_like_resource = text.contains("apiVersion:")
                && text.contains("kind:")
                && text.contains("metadata:");
            if e.valid_before > 0 || looks_like_resource {
                Err(input.place.manifest(
                    rel,
                    e.line,
                    e.column,
                    format!("failed to unmarshal: {}", e.message),
                ))
            } else {
                Ok(Vec::new())
            }
        }
    }
}
