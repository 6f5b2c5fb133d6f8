//! `app diff`: the differences between the desired state (Git at the target revision, another
//! `--revision`, or a `--local` directory rendered here) and the live state. Exit codes as
//! Argo CD: 0 no difference, 1 differences, 2 error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, anyhow, bail};
use capstan_client::ApiClient;
use capstan_diff::{DiffOptions, Differ};
use capstan_repo::git::NoCredentials;
use capstan_repo::{ManifestRequest, RepoService, ServiceSettings};
use capstan_types::ApplicationSource;
use serde_json::Value;

use crate::cmd::output::s;

/// Group, kind, namespace, name.
type Key = (String, String, String, String);

fn key(obj: &Value) -> Key {
    let av = s(obj, "/apiVersion");
    let group = av.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    (
        group.to_string(),
        s(obj, "/kind").to_string(),
        s(obj, "/metadata/namespace").to_string(),
        s(obj, "/metadata/name").to_string(),
    )
}

fn header(k: &Key) -> String {
    let kind = if k.0.is_empty() {
        k.1.clone()
    } else {
        format!("{}/{}", k.0, k.1)
    };
    format!("===== {kind} {}/{} ======", k.2, k.3)
}

fn parse_state(text: &str) -> Option<Value> {
    serde_json::from_str::<Value>(text)
        .ok()
        .filter(|v| !v.is_null())
}

/// Diff of the server's own comparison (`managed-resources`): prints each modified resource and
/// returns whether any differs.
pub fn print_server_diff(items: &[Value]) -> bool {
    let mut found = false;
    for item in items.iter().filter(|i| i["modified"] == Value::Bool(true)) {
        found = true;
        let k = (
            s(item, "/group").to_string(),
            s(item, "/kind").to_string(),
            s(item, "/namespace").to_string(),
            s(item, "/name").to_string(),
        );
        println!("\n{}", header(&k));
        print!("{}", s(item, "/diff"));
    }
    found
}

/// Compares desired objects with the live ones of `items` (managed-resources), printing the
/// differences; returns whether any differs.
pub fn print_diff_against_live(
    desired: Vec<Value>,
    items: &[Value],
    dest_namespace: &str,
) -> anyhow::Result<bool> {
    let mut live: BTreeMap<Key, Value> = BTreeMap::new();
    for item in items {
        if let Some(obj) = parse_state(s(item, "/liveState")) {
            live.insert(key(&obj), obj);
        }
    }
    let differ = Differ::new(DiffOptions::default()).map_err(|e| anyhow!("{e}"))?;
    let mut found = false;
    let mut seen = Vec::new();
    for mut obj in desired {
        let mut k = key(&obj);
        if k.2.is_empty() {
            let namespaced = (
                k.0.clone(),
                k.1.clone(),
                dest_namespace.to_string(),
                k.3.clone(),
            );
            if live.contains_key(&namespaced) {
                obj["metadata"]["namespace"] = Value::String(dest_namespace.to_string());
                k = namespaced;
            }
        }
        let current = live.get(&k);
        let result = differ
            .diff(Some(&obj), current)
            .map_err(|e| anyhow!("{}: {e}", header(&k)))?;
        seen.push(k.clone());
        if result.modified || current.is_none() {
            found = true;
            println!("\n{}", header(&k));
            print!(
                "{}",
                capstan_diff::output::unified_yaml_diff(&result, &format!("{}/{}", k.1, k.3))
            );
        }
    }
    for (k, obj) in &live {
        if seen.contains(k) {
            continue;
        }
        let result = differ
            .diff(None, Some(obj))
            .map_err(|e| anyhow!("{}: {e}", header(k)))?;
        found = true;
        println!("\n{}", header(k));
        print!(
            "{}",
            capstan_diff::output::unified_yaml_diff(&result, &format!("{}/{}", k.1, k.3))
        );
    }
    Ok(found)
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_name() == ".git" {
            continue;
        }
        let target = to.join(entry.file_name());
        let ty = entry.file_type()?;
        if ty.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else if ty.is_file() {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=capstan",
            "-c",
            "user.email=capstan@localhost",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .context("running git")?;
    if !out.status.success() {
        bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Renders a local directory (its working files, committed or not) with the application's
/// source settings (Helm, Kustomize, directory options), as the repo server would.
pub fn render_local(dir: &Path, app: &Value) -> anyhow::Result<Vec<Value>> {
    if !dir.is_dir() {
        bail!("--local {}: not a directory", dir.display());
    }
    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let repo: PathBuf = tmp.path().join("repo");
    copy_dir(dir, &repo).with_context(|| format!("copying {}", dir.display()))?;
    git(&repo, &["init", "-q"])?;
    git(&repo, &["add", "-A"])?;
    git(&repo, &["commit", "-q", "--allow-empty", "-m", "local"])?;
    let source_json = app
        .pointer("/spec/source")
        .or_else(|| app.pointer("/spec/sources/0"))
        .cloned()
        .unwrap_or(Value::Null);
    let mut source: ApplicationSource = if source_json.is_object() {
        serde_json::from_value(source_json).context("reading the application's source")?
    } else {
        ApplicationSource::default()
    };
    source.repo_url = repo.display().to_string();
    source.path = Some(".".into());
    source.target_revision = Some("HEAD".into());
    source.chart = None;
    let req = ManifestRequest {
        source,
        app_name: s(app, "/metadata/name").to_string(),
        namespace: s(app, "/spec/destination/namespace").to_string(),
        project: s(app, "/spec/project").to_string(),
        kube_version: Some("1.32.0".into()),
        ..Default::default()
    };
    let settings = ServiceSettings::new(tmp.path().join("cache"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let objects = rt.block_on(async move {
        let service = RepoService::new(settings, Arc::new(NoCredentials))
            .map_err(|e| anyhow!("opening the render cache: {e}"))?;
        service
            .generate(&req)
            .await
            .map(|r| r.manifests)
            .map_err(|e| anyhow!("rendering {}: {e}", dir.display()))
    })?;
    Ok(objects)
}

/// Runs `app diff` and returns 0/1 (errors become 2 in main).
pub fn run(
    client: &ApiClient,
    name: &str,
    local: Option<&Path>,
    revision: Option<&str>,
    refresh: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let app = client.get_application(name, refresh)?;
    let items = client.managed_resources(name)?;
    let dest_ns = s(&app, "/spec/destination/namespace").to_string();
    let found = match (local, revision) {
        (Some(_), Some(_)) => bail!("give either --local or --revision, not both"),
        (Some(dir), None) => {
            let desired = render_local(dir, &app)?;
            print_diff_against_live(desired, &items, &dest_ns)?
        }
        (None, Some(rev)) => {
            let desired = client.manifests(name, Some(rev))?;
            print_diff_against_live(desired, &items, &dest_ns)?
        }
        (None, None) => print_server_diff(&items),
    };
    Ok(if found {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
