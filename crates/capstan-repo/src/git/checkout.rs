//! Checkouts of one commit, shared read-only by every render of that commit, bounded in number.

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A checked-out commit. Do not modify it: copy what a tool must change ([`Checkout::private_copy`]).
#[derive(Debug)]
pub struct Checkout {
    dir: PathBuf,
    /// Symlinks that point outside the checkout (relative to its root).
    pub escaping_symlinks: Vec<String>,
}

impl Checkout {
    /// Root directory of the checkout.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A private, writable copy of the whole checkout (for tools that edit files).
    pub fn private_copy(&self) -> std::io::Result<tempfile::TempDir> {
        let tmp = tempfile::Builder::new()
            .prefix("capstan-work-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()?;
        copy_tree(&self.dir, tmp.path())?;
        Ok(tmp)
    }
}

/// Copies a directory tree, keeping symlinks as symlinks.
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_symlink() {
            let link = std::fs::read_link(entry.path())?;
            std::os::unix::fs::symlink(link, &target)?;
        } else if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Joins a relative path under `root`, refusing `..` and absolute components.
pub fn confined_join(root: &Path, rel: &str) -> Option<PathBuf> {
    let mut out = root.to_path_buf();
    for c in Path::new(rel).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

/// `path -> url` of the submodules listed in `.gitmodules`.
pub fn read_gitmodules(dir: &Path) -> BTreeMap<String, String> {
    let Ok(text) = std::fs::read_to_string(dir.join(".gitmodules")) else {
        return BTreeMap::new();
    };
    let mut sections: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
    let mut current = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            current = line
                .strip_prefix("[submodule")
                .and_then(|s| s.strip_suffix(']'))
                .map(|s| s.trim().trim_matches('"').to_string());
            continue;
        }
        let Some(name) = &current else { continue };
        if let Some((key, value)) = line.split_once('=') {
            let entry = sections.entry(name.clone()).or_default();
            let value = value.trim().trim_matches('"').to_string();
            match key.trim() {
                "path" => entry.0 = Some(value),
                "url" => entry.1 = Some(value),
                _ => {}
            }
        }
    }
    sections
        .into_values()
        .filter_map(|(p, u)| Some((p?, u?)))
        .collect()
}

/// Finds symlinks under `root` whose target resolves outside `root` (as Argo CD refuses them).
pub fn find_escaping_symlinks(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(canonical_root) = root.canonicalize() else {
        return found;
    };
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_symlink() {
                let Ok(link) = std::fs::read_link(&path) else {
                    continue;
                };
                let target = if link.is_absolute() {
                    link
                } else {
                    dir.join(link)
                };
                if !lexically_inside(root, &target) || !resolved_inside(&canonical_root, &path) {
                    found.push(
                        path.strip_prefix(root)
                            .unwrap_or(&path)
                            .display()
                            .to_string(),
                    );
                }
            } else if kind.is_dir() {
                stack.push(path);
            }
        }
    }
    found.sort();
    found
}

fn resolved_inside(root: &Path, path: &Path) -> bool {
    match path.canonicalize() {
        Ok(p) => p.starts_with(root),
        // A dangling link: judge by its text only.
        Err(_) => true,
    }
}

fn lexically_inside(root: &Path, path: &Path) -> bool {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out.starts_with(root)
}

/// The checkouts on disk.
pub(super) struct CheckoutStore {
    root: PathBuf,
    max: usize,
    live: Mutex<HashMap<String, (u64, Arc<Checkout>)>>,
    clock: std::sync::atomic::AtomicU64,
}

impl CheckoutStore {
    /// Checkouts live under `parent/p<pid>-<random>`, one directory per store: several processes (and
    /// several services in one process) may share a cache directory. Directories of processes that
    /// no longer run are removed (their checkouts are not trusted to be complete); a store removes
    /// its own when dropped.
    pub(super) fn new(parent: PathBuf, max: usize) -> std::io::Result<CheckoutStore> {
        super::private_dir(&parent)?;
        for entry in std::fs::read_dir(&parent)?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let pid = name
                .strip_prefix('p')
                .and_then(|p| p.split('-').next())
                .and_then(|p| p.parse::<u32>().ok());
            let stale = match pid {
                Some(pid) => !Path::new(&format!("/proc/{pid}")).exists(),
                // a layout from an older version
                None => true,
            };
            if stale {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        // p<pid>-<random>: unguessable, mode 0700
        let root = tempfile::Builder::new()
            .prefix(&format!("p{}-", std::process::id()))
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir_in(&parent)?
            .keep();
        Ok(CheckoutStore {
            root,
            max: max.max(1),
            live: Mutex::new(HashMap::new()),
            clock: std::sync::atomic::AtomicU64::new(0),
        })
    }

    fn tick(&self) -> u64 {
        self.clock
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    pub(super) fn get(&self, key: &str) -> Option<Arc<Checkout>> {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let now = self.tick();
        live.get_mut(key).map(|(used, c)| {
            *used = now;
            c.clone()
        })
    }

    pub(super) fn staging_dir(&self, key: &str) -> std::io::Result<PathBuf> {
        let dir = self.root.join(format!("staging-{key}"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        super::private_dir(&dir)?;
        Ok(dir)
    }

    pub(super) fn publish(&self, key: &str, staging: &Path) -> std::io::Result<Arc<Checkout>> {
        let dir = self.root.join(key);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::rename(staging, &dir)?;
        let escaping_symlinks = find_escaping_symlinks(&dir);
        let checkout = Arc::new(Checkout {
            dir,
            escaping_symlinks,
        });
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let now = self.tick();
        live.insert(key.to_string(), (now, checkout.clone()));
        while live.len() > self.max {
            // Evict the least recently used checkout nobody is reading.
            let victim = live
                .iter()
                .filter(|(_, (_, c))| Arc::strong_count(c) == 1)
                .min_by_key(|(_, (used, _))| *used)
                .map(|(k, _)| k.clone());
            let Some(victim) = victim else { break };
            if let Some((_, c)) = live.remove(&victim) {
                let _ = std::fs::remove_dir_all(c.dir());
            }
        }
        Ok(checkout)
    }
}

impl Drop for CheckoutStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_symlinks_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::write(root.join("a/ok.yaml"), "x: 1").unwrap();
        std::os::unix::fs::symlink("ok.yaml", root.join("a/inside")).unwrap();
        std::os::unix::fs::symlink("../../outside", root.join("a/up")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("abs")).unwrap();
        assert_eq!(find_escaping_symlinks(&root), vec!["a/up", "abs"]);
    }

    #[test]
    fn confined_join_refuses_parents() {
        let root = Path::new("/r");
        assert_eq!(confined_join(root, "a/b"), Some(PathBuf::from("/r/a/b")));
        assert_eq!(confined_join(root, "../x"), None);
        assert_eq!(confined_join(root, "/etc"), None);
    }

    #[test]
    fn gitmodules_are_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".gitmodules"),
            "[submodule \"lib\"]\n\tpath = vendor/lib\n\turl = ../lib.git\n",
        )
        .unwrap();
        let m = read_gitmodules(dir.path());
        assert_eq!(m.get("vendor/lib").map(String::as_str), Some("../lib.git"));
    }
}
