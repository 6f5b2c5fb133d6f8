//! The manifest cache: an unchanged commit never regenerates, a hard refresh does, the cache survives
//! a restart, and a new commit regenerates only the applications whose paths changed.

mod common;

use std::sync::Arc;

use capstan_repo::Refresh;
use capstan_repo::git::NoCredentials;
use capstan_repo::render::ConfigManagementPlugin;
use common::*;
use serde_json::json;

fn counting_plugin(counter: &std::path::Path) -> Vec<ConfigManagementPlugin> {
    let yaml = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: ConfigManagementPlugin\nmetadata:\n  name: counter\nspec:\n  generate:\n    command: [sh, -c, 'echo run >> {}; cat cm.yaml']\n",
        counter.display()
    );
    ConfigManagementPlugin::parse(&yaml, "counter.yaml").unwrap()
}

fn runs(counter: &std::path::Path) -> usize {
    std::fs::read_to_string(counter)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_commit_never_regenerates_and_survives_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let counter = tmp.path().join("runs.txt");
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.write(
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\n",
    );
    work.commit("one");
    let repo = work.dir.display().to_string();
    let cache_dir = tmp.path().join("cache");
    let req = request(json!({"repoURL": repo, "path": "app", "plugin": {"name": "counter"}}));
    {
        let service = service_with(&cache_dir, Arc::new(NoCredentials), |s| {
            s.tools.plugins = counting_plugin(&counter);
        });
        let first = service.generate(&req).await.unwrap();
        assert!(!first.cached);
        assert_eq!(names(&first.manifests), ["ConfigMap/p"]);
        for _ in 0..3 {
            assert!(service.generate(&req).await.unwrap().cached);
        }
        let mut normal = req.clone();
        normal.refresh = Refresh::Normal;
        assert!(service.generate(&normal).await.unwrap().cached);
        assert_eq!(runs(&counter), 1);
        let mut hard = req.clone();
        hard.refresh = Refresh::Hard;
        assert!(!service.generate(&hard).await.unwrap().cached);
        assert_eq!(runs(&counter), 2);
    }
    // a new service over the same cache directory (a restart) finds the manifests on disk
    let service = service_with(&cache_dir, Arc::new(NoCredentials), |s| {
        s.tools.plugins = counting_plugin(&counter);
    });
    let again = service.generate(&req).await.unwrap();
    assert!(again.cached);
    assert_eq!(names(&again.manifests), ["ConfigMap/p"]);
    assert_eq!(runs(&counter), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_applications_whose_paths_changed_regenerate() {
    let tmp = tempfile::tempdir().unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    for app in ["a", "b"] {
        work.write(
            &format!("apps/{app}/cm.yaml"),
            &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {app}\n"),
        );
    }
    work.write(
        "base/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base\n",
    );
    work.write("base/kustomization.yaml", "resources:\n- cm.yaml\n");
    work.write(
        "overlay/kustomization.yaml",
        "resources:\n- ../base\nnamePrefix: o-\n",
    );
    work.commit("one");
    let repo = work.dir.display().to_string();
    let service = service(&tmp.path().join("cache"));
    let app = |path: &str| {
        let mut r = request(json!({"repoURL": repo, "path": path}));
        r.refresh = Refresh::Normal;
        r
    };
    for p in ["apps/a", "apps/b", "overlay"] {
        assert!(!service.generate(&app(p)).await.unwrap().cached);
    }

    // a commit that touches only apps/b
    work.write(
        "apps/b/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b2\n",
    );
    let second = work.commit("touch b");
    let a = service.generate(&app("apps/a")).await.unwrap();
    assert!(a.cached, "apps/a did not change: served from the cache");
    assert_eq!(a.revision, second);
    let b = service.generate(&app("apps/b")).await.unwrap();
    assert!(!b.cached);
    assert_eq!(names(&b.manifests), ["ConfigMap/b2"]);

    // without an annotation a Kustomize app regenerates on any commit (it may read ../base) ...
    let k = service.generate(&app("overlay")).await.unwrap();
    assert!(!k.cached);
    // ... with manifest-generate-paths it regenerates only when those paths change
    let annotated = |r: &str| {
        let mut req = app("overlay");
        req.manifest_generate_paths = Some(r.to_string());
        req
    };
    // (the annotation does not change what is rendered: same commit, same cache entry)
    assert!(
        service
            .generate(&annotated(".;../base"))
            .await
            .unwrap()
            .cached
    );
    work.write(
        "apps/a/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a2\n",
    );
    work.commit("touch a");
    assert!(
        service
            .generate(&annotated(".;../base"))
            .await
            .unwrap()
            .cached
    );
    work.write(
        "base/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base2\n",
    );
    work.commit("touch base");
    let changed = service.generate(&annotated(".;/base")).await.unwrap();
    assert!(!changed.cached);
    assert_eq!(names(&changed.manifests), ["ConfigMap/o-base2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_identical_requests_render_once() {
    let tmp = tempfile::tempdir().unwrap();
    let counter = tmp.path().join("runs.txt");
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.write(
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\n",
    );
    work.commit("one");
    let service = Arc::new(service_with(
        &tmp.path().join("cache"),
        Arc::new(NoCredentials),
        |s| s.tools.plugins = counting_plugin(&counter),
    ));
    let req = request(
        json!({"repoURL": work.dir.display().to_string(), "path": "app", "plugin": {"name": "counter"}}),
    );
    let mut handles = Vec::new();
    for _ in 0..6 {
        let service = service.clone();
        let req = req.clone();
        handles.push(tokio::spawn(async move { service.generate(&req).await }));
    }
    let mut fresh = 0;
    for h in handles {
        let out = h.await.unwrap().unwrap();
        assert_eq!(names(&out.manifests), ["ConfigMap/p"]);
        fresh += usize::from(!out.cached);
    }
    assert_eq!(fresh, 1);
    assert_eq!(runs(&counter), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_services_can_share_a_cache_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.write(
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\n",
    );
    work.commit("one");
    let req = request(json!({"repoURL": work.dir.display().to_string(), "path": "app"}));
    let dir = tmp.path().join("shared");
    let first = service(&dir);
    assert!(!first.generate(&req).await.unwrap().cached);
    // a second service on the same directory (the manifest file is held by the first) works from
    // memory and does not disturb the first one's checkouts
    let second = service(&dir);
    assert_eq!(
        names(&second.generate(&req).await.unwrap().manifests),
        ["ConfigMap/p"]
    );
    assert!(first.generate(&req).await.unwrap().cached);
    drop(second);
    let mut hard = req.clone();
    hard.refresh = Refresh::Hard;
    assert_eq!(
        names(&first.generate(&hard).await.unwrap().manifests),
        ["ConfigMap/p"]
    );
}
