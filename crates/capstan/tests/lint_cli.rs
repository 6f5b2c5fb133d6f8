//! `capstan lint` through the binary: output lines and exit codes.

use std::path::Path;
use std::process::Command;

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../capstan-lint/tests/fixtures")
}

fn lint(args: &[&Path]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_capstan"))
        .arg("lint")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn valid_files_exit_zero() {
    let (code, stdout, stderr) = lint(&[
        &fixtures().join("seed-appproject.yaml"),
        &fixtures().join("seed-cluster-secret.yaml"),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("checked 2 Argo CD object(s) in 2 file(s): 0 problem(s)"),
        "{stderr}"
    );
}

#[test]
fn a_directory_with_problems_exits_one_with_one_line_each() {
    let (code, stdout, _) = lint(&[&fixtures()]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[0].contains("seed-application.yaml:9:14: spec.source.repoURL: "),
        "{stdout}"
    );
    assert!(
        lines[1].contains("seed-application.yaml:11:11: spec.source.path: "),
        "{stdout}"
    );
    assert!(
        lines[2].contains("seed-repository-secret.yaml:12:3: <document>: malformed YAML"),
        "{stdout}"
    );
}

#[test]
fn unreadable_path_exits_two() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = lint(&[&dir.path().join("missing.yaml")]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot read"), "{stderr}");
}

#[test]
fn binary_garbage_is_a_problem_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.yaml");
    std::fs::write(&file, [0xff, 0xfe, 0x00, 0x41]).unwrap();
    let (code, stdout, _) = lint(&[&file]);
    assert_eq!(code, 1);
    assert!(stdout.contains("not UTF-8"), "{stdout}");
}
