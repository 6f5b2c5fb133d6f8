//! `capstan admin health` and `capstan admin diff` through the binary, on Argo CD's own test data.

use std::path::{Path, PathBuf};
use std::process::Command;

fn corpora() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora")
}

fn capstan(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_capstan"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn health_of_corpus_objects() {
    let file = corpora().join("argo-health/deployment-degraded.yaml");
    let (code, out, err) = capstan(&["admin", "health", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(": Degraded"), "{out}");
    let (code, out, _) = capstan(&["admin", "health", file.to_str().unwrap(), "-o", "json"]);
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json[0]["health"]["status"], "Degraded");
}

#[test]
fn lua_health_check_from_settings() {
    let dir = tempfile::tempdir().unwrap();
    let obj = dir.path().join("cert.yaml");
    std::fs::write(&obj, "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c}\nstatus: {ready: false}\n").unwrap();
    let cm = dir.path().join("argocd-cm.yaml");
    std::fs::write(
        &cm,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argocd-cm}\ndata:\n  resource.customizations.health.cert-manager.io_Certificate: |\n    hs = {}\n    if obj.status ~= nil and obj.status.ready then\n      hs.status = \"Healthy\"\n    else\n      hs.status = \"Progressing\"\n      hs.message = \"waiting for the certificate\"\n    end\n    return hs\n",
    )
    .unwrap();
    let (code, out, err) = capstan(&[
        "admin",
        "health",
        obj.to_str().unwrap(),
        "--settings",
        cm.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Progressing (waiting for the certificate)"),
        "{out}"
    );
}

#[test]
fn diff_exit_codes() {
    let d = corpora().join("argo-diff");
    let (code, out, err) = capstan(&[
        "admin",
        "diff",
        "--desired",
        d.join("deployment-config.json").to_str().unwrap(),
        "--live",
        d.join("deployment-live.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out, "");
    let dir = tempfile::tempdir().unwrap();
    let changed = dir.path().join("desired.json");
    let mut desired: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("deployment-config.json")).unwrap())
            .unwrap();
    desired["spec"]["replicas"] = serde_json::json!(7);
    std::fs::write(&changed, desired.to_string()).unwrap();
    let (code, out, _) = capstan(&[
        "admin",
        "diff",
        "--desired",
        changed.to_str().unwrap(),
        "--live",
        d.join("deployment-live.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        out.contains("+  replicas: 7") || out.contains("replicas: 7"),
        "{out}"
    );
    let (code, _, err) = capstan(&[
        "admin",
        "diff",
        "--desired",
        "/nonexistent.yaml",
        "--live",
        "/nonexistent.yaml",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("nonexistent"), "{err}");
}
