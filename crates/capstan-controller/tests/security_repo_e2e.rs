//! Repository attacks end to end (issue 13): Applications whose repositories try to read files
//! outside their checkout, whose repoURLs carry credentials, or whose ignoreDifferences carry an
//! endless jq program. The controller must turn each into a clear condition on the Application that
//! shows neither the refused file's content (a unique marker outside the repository) nor the
//! credentials - in the status, in Events, or in the controller's logs - and keep working.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::Harness;
use serde_json::{Value, json};

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fine\n";
const WAIT: Duration = Duration::from_secs(60);

use capstan_testkit::logs::{logged, logs};

fn conditions(app: &Value) -> String {
    app.pointer("/status/conditions")
        .map(Value::to_string)
        .unwrap_or_default()
}

/// The status without `sync.comparedTo` (and `history`), which are copies of the spec's sources as
/// the user wrote them (Argo CD keeps them verbatim; whoever reads the status reads the spec).
fn status_without_spec_copy(app: &Value) -> String {
    let mut status = app["status"].clone();
    if let Some(sync) = status.get_mut("sync").and_then(Value::as_object_mut) {
        sync.remove("comparedTo");
    }
    if let Some(obj) = status.as_object_mut() {
        obj.remove("history");
    }
    status.to_string()
}

/// Every Event in the control-plane cluster, as text.
async fn events(h: &Harness) -> String {
    let rt = h.client.resolve("v1", "Event").await.unwrap();
    let (items, _) = h.client.list(&rt, None, None).await.unwrap();
    Value::Array(items).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_files_never_reach_conditions_events_or_logs() {
    logs();
    let h = Harness::start().await;
    let marker = format!("CAPSTAN-MARKER-e2e-{}", std::process::id());
    let outside = h.dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let secret_file = outside.join("shadow.yaml");
    std::fs::write(&secret_file, format!("root: {marker}\n")).unwrap();
    h.commit(
        &[
            ("fine/cm.yaml", CM),
            (
                "chart/Chart.yaml",
                "apiVersion: v2\nname: c\nversion: 1.0.0\n",
            ),
            (
                "chart/templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  v: {{ .Values.root | quote }}\n",
            ),
            (
                "kust/kustomization.yaml",
                &format!(
                    "configMapGenerator:\n- name: x\n  files:\n  - {}\n",
                    secret_file.display()
                ),
            ),
        ],
        &[],
    );
    let traversal = format!("../../../../../../../../..{}", secret_file.display());
    let mut traversal_app = h.application("traversal", "chart", "default", json!({}));
    traversal_app["spec"]["source"]["helm"] = json!({"valueFiles": [traversal]});
    h.apply(&traversal_app).await;
    h.apply(&h.application("kust", "kust", "default", json!({})))
        .await;
    h.apply(&h.application("fine", "fine", "default", json!({"automated": {}})))
        .await;

    for name in ["traversal", "kust"] {
        let app = h
            .wait_app(name, WAIT, |a| {
                conditions(a).contains("ComparisonError")
                    && conditions(a).contains("outside the repository")
            })
            .await;
        let text = app.to_string();
        assert!(!text.contains(&marker), "{name}: {text}");
    }
    // the well-behaved application is unaffected
    h.wait_app("fine", WAIT, |a| common::sync_status(a) == "Synced")
        .await;

    // a symlink to the file, committed later: refused as well
    std::os::unix::fs::symlink(&secret_file, h.repo.path.join("chart/values-link.yaml")).unwrap();
    h.commit(&[], &[]);
    let mut linked = h.application("linked", "chart", "default", json!({}));
    linked["spec"]["source"]["helm"] = json!({"valueFiles": ["values-link.yaml"]});
    h.apply(&linked).await;
    let app = h
        .wait_app("linked", WAIT, |a| {
            conditions(a).contains("symlink") && conditions(a).contains("values-link.yaml")
        })
        .await;
    assert!(!app.to_string().contains(&marker), "{app}");

    assert!(!events(&h).await.contains(&marker));
    assert!(!logged().contains(&marker), "marker in the logs");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repo_url_credentials_never_reach_status_events_or_logs() {
    logs();
    let h = Harness::start().await;
    let password = "Pw-Marker-4c1d";
    // nothing listens there: the controller reports the repository as unreachable
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://alice:{password}@127.0.0.1:{port}/private.git");
    let app = capstan_testkit::application("creds", &url, "app", "default", json!({}));
    h.apply(&app).await;
    let shown = h
        .wait_app("creds", WAIT, |a| conditions(a).contains("ComparisonError"))
        .await;
    let status = status_without_spec_copy(&shown);
    assert!(!status.contains(password), "{status}");
    assert!(status.contains("127.0.0.1"), "{status}");

    // a project that does not permit the repository: the refusal names it without the password
    h.apply(&json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
        "metadata": {"name": "strict", "namespace": "argocd"},
        "spec": {"sourceRepos": ["https://allowed.example.com/*"],
                 "destinations": [{"server": "*", "namespace": "*"}]}
    }))
    .await;
    let mut strict =
        capstan_testkit::application("strict-creds", &url, "app", "default", json!({}));
    strict["spec"]["project"] = json!("strict");
    h.apply(&strict).await;
    let shown = h
        .wait_app("strict-creds", WAIT, |a| {
            conditions(a).contains("not permitted in project")
        })
        .await;
    let status = status_without_spec_copy(&shown);
    assert!(!status.contains(password), "{status}");

    assert!(!events(&h).await.contains(password));
    assert!(!logged().contains(password), "password in the logs");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_jq_expression_is_refused_and_the_controller_keeps_working() {
    let h = Harness::start().await;
    h.commit(&[("app/cm.yaml", CM)], &[]);
    let mut bad = h.application("endless-jq", "app", "default", json!({}));
    bad["spec"]["ignoreDifferences"] = json!([{
        "kind": "ConfigMap",
        "jqPathExpressions": ["def f: f; f", ".data | last(range(1e18))"]
    }]);
    h.apply(&bad).await;
    let app = h
        .wait_app("endless-jq", WAIT, |a| {
            conditions(a).contains("not allowed")
        })
        .await;
    assert!(conditions(&app).contains("def"), "{}", conditions(&app));
    // another application is compared and synced meanwhile
    h.apply(&h.application("after-jq", "app", "default", json!({"automated": {}})))
        .await;
    h.wait_app("after-jq", WAIT, |a| common::sync_status(a) == "Synced")
        .await;
    h.shutdown().await;
}
