//! `capstan lint PATH...`: offline checks of Argo CD objects in YAML/JSON files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Check Argo CD objects (Applications, AppProjects, ApplicationSets, repository/cluster Secrets,
/// argocd-cm, argocd-rbac-cm) in YAML or JSON files, offline.
///
/// Each problem is printed as `file:line:column: field.path: message`.
/// Exit code: 0 when everything is valid, 1 when a problem was found, 2 when a path cannot be read.
///
/// Example: `capstan lint apps/ argocd-cm.yaml`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or directories (searched recursively for *.yaml, *.yml and *.json).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

fn is_manifest(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// Expands directories into the manifest files below them, sorted; hidden directories are skipped.
fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for entry in entries {
        let hidden = entry
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if entry.is_dir() {
            collect(&entry, out)?;
        } else if is_manifest(&entry) {
            out.push(entry);
        }
    }
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    let mut unreadable = false;
    for path in &args.paths {
        if let Err(err) = collect(path, &mut files) {
            eprintln!("error: cannot read {}: {err}", path.display());
            unreadable = true;
        }
    }
    let mut problems = 0usize;
    let mut objects = 0usize;
    for file in &files {
        let text = match std::fs::read(file) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => text,
                Err(_) => {
                    println!("{}:1:1: <document>: not UTF-8 text", file.display());
                    problems += 1;
                    continue;
                }
            },
            Err(err) => {
                eprintln!("error: cannot read {}: {err}", file.display());
                unreadable = true;
                continue;
            }
        };
        let report = capstan_lint::lint_text(&file.display().to_string(), &text);
        objects += report.objects_checked;
        for problem in &report.problems {
            println!("{problem}");
        }
        problems += report.problems.len();
    }
    eprintln!(
        "checked {objects} Argo CD object(s) in {} file(s): {problems} problem(s)",
        files.len()
    );
    Ok(if unreadable {
        ExitCode::from(2)
    } else if problems > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
