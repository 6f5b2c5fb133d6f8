//! Keeping every path a source names inside the repository checkout (Argo CD has had CVEs where a
//! value file, a file parameter or a symlink reached files outside it).

use std::path::{Component, Path, PathBuf};

/// Lexically normalises a path (`.` and `..` removed) without touching the filesystem.
pub fn normalize(path: &Path) -> PathBuf {
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
    out
}

/// Resolves `file` as Argo CD does for value files and file parameters: an absolute path is taken
/// from the repository root, a relative one from `base` (the application path). The result must stay
/// inside `root`, lexically and after following symlinks; `None` otherwise.
pub fn resolve(root: &Path, base: &Path, file: &str) -> Option<PathBuf> {
    let joined = if let Some(stripped) = file.strip_prefix('/') {
        root.join(stripped)
    } else {
        base.join(file)
    };
    let normal = normalize(&joined);
    let root_normal = normalize(root);
    if !normal.starts_with(&root_normal) {
        return None;
    }
    if let Ok(real) = normal.canonicalize() {
        let real_root = root.canonicalize().ok()?;
        if !real.starts_with(&real_root) {
            return None;
        }
    }
    Some(normal)
}

/// The application directory for a source path (`""`, `.`, `a/b`), refusing paths that leave the
/// repository.
pub fn app_dir(root: &Path, path: &str) -> Option<PathBuf> {
    let trimmed = path.trim_start_matches('/');
    resolve(root, root, if trimmed.is_empty() { "." } else { trimmed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("app")).unwrap();
        std::fs::write(root.join("app/values.yaml"), "a: 1").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("app/evil.yaml")).unwrap();
        let app = root.join("app");
        assert_eq!(
            resolve(root, &app, "values.yaml"),
            Some(root.join("app/values.yaml"))
        );
        assert_eq!(
            resolve(root, &app, "/app/values.yaml"),
            Some(root.join("app/values.yaml"))
        );
        assert_eq!(resolve(root, &app, "../../etc/passwd"), None);
        assert_eq!(resolve(root, &app, "evil.yaml"), None);
        assert_eq!(app_dir(root, "../x"), None);
        assert_eq!(app_dir(root, ""), Some(normalize(root)));
    }
}
