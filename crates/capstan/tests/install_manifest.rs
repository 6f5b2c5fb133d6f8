//! deploy/install.yaml is accepted by a Kubernetes API server: `kubectl apply --dry-run=server`
//! against the embedded apiserver.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_yaml_applies_with_server_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    let cluster =
        capstan_testkit::Cluster::start(&dir.path().join("api"), Duration::from_millis(100)).await;
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/install.yaml");
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&cluster.apiserver.kubeconfig)
        .args(["apply", "--server-side", "--dry-run=server", "-f"])
        .arg(&manifest)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    for expected in [
        "customresourcedefinition.apiextensions.k8s.io/applications.argoproj.io serverside-applied (server dry run)",
        "statefulset.apps/capstan-application-controller serverside-applied (server dry run)",
        "deployment.apps/capstan-server serverside-applied (server dry run)",
        "deployment.apps/capstan-repo-server serverside-applied (server dry run)",
        "clusterrole.rbac.authorization.k8s.io/capstan-application-controller serverside-applied (server dry run)",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    // a dry run changes nothing
    assert!(
        cluster
            .get("apps/v1", "Deployment", Some("argocd"), "capstan-server")
            .await
            .is_none()
    );
    cluster.apiserver.stop().await;
}
