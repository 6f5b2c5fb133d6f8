//! Bad input gives clear errors naming repository, revision, path, file and line; paths leaving
//! the checkout are refused without echoing what they point to; the last good manifests stay cached.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use capstan_repo::git::NoCredentials;
use capstan_repo::{GitError, RenderError};
use common::*;
use serde_json::json;

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_yaml_names_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.write("app/a.yaml", CM);
    work.write(
        "app/b.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata:\n  key: [unclosed\n",
    );
    // not a manifest: ignored, as Argo CD does
    work.write("app/values.yaml", "replicas: 3\nimage: x\n");
    work.write("app/README.md", "# docs\n");
    let commit = work.commit("broken");
    let service = service(&tmp.path().join("cache"));
    let err = service
        .generate(&request(
            json!({"repoURL": work.dir.display().to_string(), "path": "app"}),
        ))
        .await
        .unwrap_err();
    let RenderError::Manifest(problem) = &err else {
        panic!("expected a manifest error, got {err:?}");
    };
    assert_eq!(problem.file, "b.yaml");
    assert!(problem.line >= 6, "{err}");
    assert_eq!(problem.revision, commit);
    let text = err.to_string();
    assert!(
        text.contains("b.yaml:") && text.contains(&commit) && text.contains("\"app\""),
        "{text}"
    );

    // a JSON file with a syntax error
    work.write("app/b.yaml", CM.replace("ok", "ok2").as_str());
    work.write("app/c.json", "{\"apiVersion\": \"v1\",\n \"kind\": \"ConfigMap\",\n \"metadata\": {\"name\": \"j\"},,\n}");
    work.commit("json");
    let mut refreshed = request(json!({"repoURL": work.dir.display().to_string(), "path": "app"}));
    refreshed.refresh = capstan_repo::Refresh::Normal;
    let err = service.generate(&refreshed).await.unwrap_err();
    let RenderError::Manifest(problem) = &err else {
        panic!("expected a manifest error, got {err:?}");
    };
    assert_eq!((problem.file.as_str(), problem.line), ("c.json", 3));

    // without the bad JSON: the ConfigMaps only (values.yaml and README.md ignored)
    std::fs::remove_file(work.dir.join("app/c.json")).unwrap();
    work.commit("fixed");
    let out = service.generate(&refreshed).await.unwrap();
    assert_eq!(names(&out.manifests), ["ConfigMap/ok", "ConfigMap/ok2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_path_unknown_revision_unreachable_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.write("app/a.yaml", CM);
    work.commit("one");
    let repo = work.dir.display().to_string();
    let service = service(&tmp.path().join("cache"));
    let err = service
        .generate(&request(
            json!({"repoURL": repo, "path": "app", "helm": {}, "kustomize": {}}),
        ))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("multiple application sources defined: helm,kustomize"),
        "{err}"
    );

    let err = service
        .generate(&request(json!({"repoURL": repo, "path": "nope"})))
        .await
        .unwrap_err();
    assert!(matches!(err, RenderError::MissingPath { .. }), "{err:?}");
    assert!(err.to_string().contains("\"nope\" does not exist"), "{err}");

    let err = service
        .generate(&request(
            json!({"repoURL": repo, "path": "app", "targetRevision": "v9.9.9"}),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RenderError::Git(GitError::UnknownRevision { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("v9.9.9"));

    let err = service
        .generate(&request(
            json!({"repoURL": tmp.path().join("nowhere").display().to_string(), "path": "app"}),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RenderError::Git(GitError::Unreachable { .. })),
        "{err:?}"
    );

    let port = free_port();
    let started = Instant::now();
    let err = service
        .generate(&request(
            json!({"repoURL": format!("http://127.0.0.1:{port}/x.git"), "path": "app"}),
        ))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        matches!(err, RenderError::Git(GitError::Unreachable { .. })),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_outside_the_checkout_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let secret = tmp.path().join("secret.yaml");
    std::fs::write(&secret, "TOP-SECRET-CONTENT: 1\n").unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.write("app/a.yaml", CM);
    work.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: c\nversion: 1.0.0\n",
    );
    work.write(
        "chart/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
    );
    work.commit("one");
    let repo = work.dir.display().to_string();
    let service = service(&tmp.path().join("cache"));

    let err = service
        .generate(&request(json!({"repoURL": repo, "path": "../.."})))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RenderError::OutsideRepository { .. }),
        "{err:?}"
    );

    let rel = format!("../../{}", secret.display());
    for helm in [
        json!({"valueFiles": [rel]}),
        json!({"valueFiles": ["../../../../../../../../etc/passwd"]}),
        json!({"fileParameters": [{"name": "x", "path": "../../../../../../../etc/passwd"}]}),
    ] {
        let err = service
            .generate(&request(
                json!({"repoURL": repo, "path": "chart", "helm": helm}),
            ))
            .await
            .unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(
            matches!(err, RenderError::OutsideRepository { .. }),
            "{text}"
        );
        assert!(
            !text.contains("TOP-SECRET") && !text.contains("root:x:"),
            "{text}"
        );
    }
    // an absolute path is taken from the repository root (Argo CD's rule): not found there
    let err = service
        .generate(&request(json!({"repoURL": repo, "path": "chart",
            "helm": {"fileParameters": [{"name": "x", "path": secret.display().to_string()}]}})))
        .await
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains("TOP-SECRET"), "{err}");

    // jsonnet imports and libraries may not leave the repository either
    work.write(
        "jn/main.jsonnet",
        &format!(
            "{{ apiVersion: 'v1', kind: 'ConfigMap', metadata: {{ name: importstr '{}' }} }}",
            secret.display()
        ),
    );
    work.commit("jsonnet escape");
    let mut jn = request(json!({"repoURL": repo, "path": "jn"}));
    jn.refresh = capstan_repo::Refresh::Normal;
    let err = service.generate(&jn).await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        matches!(err, RenderError::OutsideRepository { .. }),
        "{text}"
    );
    assert!(!text.contains("TOP-SECRET"), "{text}");
    std::fs::remove_dir_all(work.dir.join("jn")).unwrap();

    // a symlink pointing out of the repository: the whole repository is refused (as Argo CD does)
    std::os::unix::fs::symlink(&secret, work.dir.join("app/link.yaml")).unwrap();
    work.commit("symlink");
    let mut app = request(json!({"repoURL": repo, "path": "app"}));
    app.refresh = capstan_repo::Refresh::Normal;
    let err = service.generate(&app).await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        matches!(err, RenderError::OutsideRepository { .. }),
        "{text}"
    );
    assert!(
        text.contains("app/link.yaml") && !text.contains("TOP-SECRET"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_and_kustomize_errors_and_plugin_timeout() {
    assert!(
        helm_available(),
        "run scripts/install-test-deps (helm-python-sdk)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: c\nversion: 1.0.0\n",
    );
    work.write(
        "chart/templates/cm.yaml",
        "{{ fail \"the chart says no\" }}\n",
    );
    work.write("kust/kustomization.yaml", "resources:\n- missing.yaml\n");
    work.write("slow/marker.txt", "x");
    let commit = work.commit("bad tools");
    let repo = work.dir.display().to_string();
    let plugin_yaml = "apiVersion: argoproj.io/v1alpha1\nkind: ConfigManagementPlugin\nmetadata:\n  name: slow\nspec:\n  generate:\n    command: [sh, -c, 'sleep 30']\n";
    let plugins =
        capstan_repo::render::ConfigManagementPlugin::parse(plugin_yaml, "slow.yaml").unwrap();
    let service = service_with(&tmp.path().join("cache"), Arc::new(NoCredentials), |s| {
        s.tools.plugins = plugins;
        // long enough for a real helm on a loaded 2-core machine; the plugin sleeps far longer
        s.tools.timeout = Duration::from_secs(6);
    });

    let err = service
        .generate(&request(json!({"repoURL": repo, "path": "chart"})))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, RenderError::Tool { .. }), "{err:?}");
    assert!(
        text.contains("the chart says no") && text.contains(&commit) && text.contains("helm"),
        "{text}"
    );

    let err = service
        .generate(&request(json!({"repoURL": repo, "path": "kust"})))
        .await
        .unwrap_err();
    assert!(matches!(err, RenderError::Tool { .. }), "{err:?}");
    assert!(err.to_string().contains("missing.yaml"), "{err}");

    let started = Instant::now();
    let err = service
        .generate(&request(
            json!({"repoURL": repo, "path": "slow", "plugin": {"name": "slow"}}),
        ))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(err.to_string().contains("timed out after 6 s"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_good_manifests_stay_cached() {
    let tmp = tempfile::tempdir().unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.write("app/a.yaml", CM);
    let good = work.commit("good");
    let repo = work.dir.display().to_string();
    let service = service(&tmp.path().join("cache"));
    service
        .generate(&request(json!({"repoURL": repo, "path": "app"})))
        .await
        .unwrap();
    work.write(
        "app/a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [\n",
    );
    work.commit("bad");
    let mut req = request(json!({"repoURL": repo, "path": "app"}));
    req.refresh = capstan_repo::Refresh::Normal;
    assert!(service.generate(&req).await.is_err());
    let out = service
        .generate(&request(
            json!({"repoURL": repo, "path": "app", "targetRevision": good}),
        ))
        .await
        .unwrap();
    assert!(out.cached);
    assert_eq!(names(&out.manifests), ["ConfigMap/ok"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonnet_errors_name_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.write(
        "syntax/main.jsonnet",
        "{\n  apiVersion: 'v1',\n  kind: 'ConfigMap',,\n}\n",
    );
    work.write(
        "runtime/main.jsonnet",
        "local lib = import 'lib.libsonnet';\n{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: lib.missing } }\n",
    );
    work.write("runtime/lib.libsonnet", "{\n  present: 1,\n}\n");
    work.write(
        "extvar/main.jsonnet",
        "{ apiVersion: 'v1', kind: std.extVar('kind') }\n",
    );
    work.write(
        "deep/main.jsonnet",
        "local f(n) = if n == 0 then 0 else 1 + f(n - 1);\n{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { n: std.toString(f(100000)) } }\n",
    );
    work.commit("jsonnet");
    let repo = work.dir.display().to_string();
    let service = service(&tmp.path().join("cache"));
    let err = service
        .generate(&request(json!({"repoURL": repo, "path": "syntax"})))
        .await
        .unwrap_err();
    let RenderError::Manifest(p) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((p.file.as_str(), p.line), ("main.jsonnet", 3), "{err}");

    let err = service
        .generate(&request(json!({"repoURL": repo, "path": "runtime"})))
        .await
        .unwrap_err();
    let RenderError::Manifest(p) = &err else {
        panic!("{err:?}")
    };
    assert!(p.message.contains("missing"), "{err}");
    assert_eq!((p.file.as_str(), p.line), ("main.jsonnet", 2), "{err}");

    // runaway recursion is an error, not a crash
    let err = service
        .generate(&request(json!({"repoURL": repo, "path": "deep"})))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("main.jsonnet"), "{err}");

    // an undefined external variable is an error; defined, it renders
    assert!(
        service
            .generate(&request(json!({"repoURL": repo, "path": "extvar"})))
            .await
            .is_err()
    );
    let out = service
        .generate(&request(json!({"repoURL": repo, "path": "extvar",
            "directory": {"jsonnet": {"extVars": [{"name": "kind", "value": "Secret"}]}}})))
        .await
        .unwrap();
    assert_eq!(out.manifests[0]["kind"], json!("Secret"));
}
