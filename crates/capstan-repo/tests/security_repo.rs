//! Attacks on the repository server through repository content and requests (issue 13): each test
//! builds a real Git repository as an attacker would write it, asks the repo server for its
//! manifests, and checks that the attack fails - without the content of any refused file (a unique
//! marker outside the repository) or any credential appearing in the error, its debug form or the
//! logs.
//!
//! Classes: content escaping the checkout (source path, Helm value files and file parameters,
//! Kustomize references, Jsonnet imports and libraries, chart `file://` dependencies, symlinks,
//! another repository's checkout, local submodules, plugin sources). Credentials and what errors
//! show are in `security_repo_credentials.rs`; denial of service (sizes, object count, chart
//! archives, runaway Jsonnet, hung plugins) in `security_repo_limits.rs`.

mod common;

use std::path::{Path, PathBuf};

use capstan_repo::RenderError;
use capstan_testkit::logs::{logged, logs};
use common::*;
use serde_json::json;

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n";

// ---------------------------------------------------------------------------------------------
// Helpers

/// A file outside every repository holding a unique marker; returns (path, marker).
fn marker_file(dir: &Path, name: &str) -> (PathBuf, String) {
    let marker = format!("CAPSTAN-MARKER-{name}-{}", std::process::id());
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leaked\ndata:\n  secret: {marker}\n"
        ),
    )
    .unwrap();
    (path, marker)
}

/// The error is a refusal to leave the repository, and shows nothing of the marker.
#[track_caller]
fn assert_refused(err: &RenderError, marker: &str) {
    let text = format!("{err} | {err:?}");
    assert!(
        matches!(err, RenderError::OutsideRepository { .. }),
        "expected OutsideRepository, got {text}"
    );
    assert!(!text.contains(marker), "marker leaked: {text}");
}

// ---------------------------------------------------------------------------------------------
// Class 1: repository content escaping its checkout

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_paths_cannot_leave_the_repository() {
    logs();
    let tmp = tempfile::tempdir().unwrap();
    let (_file, marker) = marker_file(&tmp.path().join("outside"), "srcpath");
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.write("app/cm.yaml", CM);
    work.commit("one");
    let repo = work.dir.display().to_string();
    let service = service(&tmp.path().join("cache"));
    for path in [
        "..",
        "../outside",
        "app/../../outside",
        "../../../../../../",
    ] {
        let err = generate(&service, json!({"repoURL": repo, "path": path}))
            .await
            .unwrap_err();
        assert_refused(&err, &marker);
    }
    // an absolute source path is taken from the repository root: the system's /etc is not read
    let err = generate(&service, json!({"repoURL": repo, "path": "/etc"}))
        .await
        .unwrap_err();
    assert!(matches!(err, RenderError::MissingPath { .. }), "{err:?}");
    // the same for a plugin source
    let plugin = "apiVersion: argoproj.io/v1alpha1\nkind: ConfigManagementPlugin\nmetadata:\n  name: cat\nspec:\n  generate:\n    command: [sh, -c, 'cat *.yaml']\n";
    let plugins = capstan_repo::render::ConfigManagementPlugin::parse(plugin, "p.yaml").unwrap();
    let service = service_tweaked(&tmp.path().join("cache2"), |s| s.tools.plugins = plugins);
    let err = generate(
        &service,
        json!({"repoURL": repo, "path": "../outside", "plugin": {"name": "cat"}}),
    )
    .await
    .unwrap_err();
    assert_refused(&err, &marker);
    let ok = generate(
        &service,
        json!({"repoURL": repo, "path": "app", "plugin": {"name": "cat"}}),
    )
    .await
    .unwrap();
    assert_eq!(names(&ok), ["ConfigMap/ok"]);
    assert!(!logged().contains(&marker));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_value_files_and_file_parameters_cannot_leave_the_repository() {
    logs();
    let tmp = tempfile::tempdir().unwrap();
    let (file, marker) = marker_file(&tmp.path().join("outside"), "helmvalues");
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: c\nversion: 1.0.0\n",
    );
    work.write(
        "chart/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  v: {{ .Values | toJson | quote }}\n",
    );
    work.write("chart/values-prod.yaml", "x: 1\n");
    work.commit("chart");
    let repo = work.dir.display().to_string();
    let service = service(&tmp.path().join("cache"));
    let abs = file.display().to_string();
    let up = format!("../../{}", file.strip_prefix(tmp.path()).unwrap().display());
    let deep = format!("../../../../../../../../..{abs}");
    let attacks = [
        json!({"valueFiles": [up]}),
        json!({"valueFiles": [deep]}),
        json!({"valueFiles": ["values-prod.yaml", "../../outside/helmvalues.yaml"]}),
        json!({"fileParameters": [{"name": "x", "path": deep}]}),
        json!({"fileParameters": [{"name": "x", "path": "../../outside/helmvalues.yaml"}]}),
        // envsubst cannot be used to build a path out either
        json!({"valueFiles": ["$ARGOCD_APP_NAME/../../../outside/helmvalues.yaml"]}),
    ];
    for helm in attacks {
        let err = generate(
            &service,
            json!({"repoURL": repo, "path": "chart", "helm": helm}),
        )
        .await
        .unwrap_err();
        assert_refused(&err, &marker);
    }
    // an absolute path is taken from the repository root (Argo CD's rule): not found there, and
    // the error does not show the file
    for helm in [
        json!({"valueFiles": [abs]}),
        json!({"fileParameters": [{"name": "x", "path": abs}]}),
    ] {
        let err = generate(
            &service,
            json!({"repoURL": repo, "path": "chart", "helm": helm}),
        )
        .await
        .unwrap_err();
        assert!(!format!("{err} {err:?}").contains(&marker), "{err}");
    }
    // a value file that is a symlink out of the repository: the repository is refused
    std::os::unix::fs::symlink(&file, work.dir.join("chart/values-link.yaml")).unwrap();
    work.commit("symlinked value file");
    let err = generate(
        &service,
        json!({"repoURL": repo, "path": "chart", "helm": {"valueFiles": ["values-link.yaml"]}}),
    )
    .await
    .unwrap_err();
    assert_refused(&err, &marker);
    assert!(err.to_string().contains("chart/values-link.yaml"), "{err}");
    assert!(!logged().contains(&marker));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ref_source_value_files_cannot_leave_their_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let (_file, marker) = marker_file(&tmp.path().join("outside"), "refvalues");
    let chart = WorkRepo::new(&tmp.path().join("chart-repo"));
    chart.write("c/Chart.yaml", "apiVersion: v2\nname: c\nversion: 1.0.0\n");
    chart.write("c/templates/cm.yaml", CM);
    chart.commit("chart");
    let values = WorkRepo::new(&tmp.path().join("values-repo"));
    values.write("prod.yaml", "x: 1\n");
    values.commit("values");
    let service = service(&tmp.path().join("cache"));
    let mut req = request(
        json!({"repoURL": chart.dir.display().to_string(), "path": "c",
        "helm": {"valueFiles": ["$values/../outside/refvalues.yaml"]}}),
    );
    req.ref_sources = vec![
        serde_json::from_value(
            json!({"repoURL": values.dir.display().to_string(), "ref": "values"}),
        )
        .unwrap(),
    ];
    let err = service.generate(&req).await.unwrap_err();
    assert_refused(&err, &marker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kustomize_references_cannot_leave_the_repository() {
    logs();
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    let (file, marker) = marker_file(&outside, "kustomize");
    // a complete kustomization outside the repository, as another checkout would be
    std::fs::write(
        outside.join("kustomization.yaml"),
        "resources:\n- kustomize.yaml\n",
    )
    .unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.write("base/kustomization.yaml", "resources:\n- cm.yaml\n");
    work.write("base/cm.yaml", CM);
    work.write("shared/extra.env", "A=1\n");
    work.commit("base");
    let repo = work.dir.display().to_string();
    let service = service(&tmp.path().join("cache"));
    let rel_outside = "../../outside";
    let abs_outside = outside.display().to_string();
    let abs_file = file.display().to_string();
    let attacks = [
        format!("resources:\n- ../base\n- {rel_outside}\n"),
        format!("resources:\n- {abs_outside}\n"),
        format!("resources:\n- file://{abs_outside}//?ref=main\n"),
        format!("bases:\n- {rel_outside}\n"),
        format!("components:\n- {rel_outside}\n"),
        format!("resources:\n- ../base\npatches:\n- path: {abs_file}\n"),
        format!(
            "resources:\n- ../base\nconfigMapGenerator:\n- name: x\n  files:\n  - leak={abs_file}\n"
        ),
        "resources:\n- ../base\nsecretGenerator:\n- name: x\n  envs:\n  - ../../outside/kustomize.yaml\n".to_string(),
        format!("resources:\n- ../base\npatchesStrategicMerge:\n- {abs_file}\n"),
        format!("resources:\n- ../base\ncrds:\n- {abs_file}\n"),
        // through a base that is inside the repository
        String::from("resources:\n- ../evil-base\n"),
    ];
    work.write(
        "evil-base/kustomization.yaml",
        &format!("resources:\n- {rel_outside}\n"),
    );
    for (i, k) in attacks.iter().enumerate() {
        work.write("app/kustomization.yaml", k);
        work.commit(&format!("attack {i}"));
        let err = generate(&service, json!({"repoURL": repo, "path": "app"}))
            .await
            .unwrap_err();
        assert_refused(&err, &marker);
    }
    // a component named in the Application's spec
    work.write("app/kustomization.yaml", "resources:\n- ../base\n");
    work.commit("plain");
    let err = generate(
        &service,
        json!({"repoURL": repo, "path": "app", "kustomize": {"components": [rel_outside]}}),
    )
    .await
    .unwrap_err();
    assert_refused(&err, &marker);
    // a patch path named in the spec
    let err = generate(
        &service,
        json!({"repoURL": repo, "path": "app", "kustomize": {"patches": [{"path": abs_file}]}}),
    )
    .await
    .unwrap_err();
    assert_refused(&err, &marker);
    // the untouched kustomization renders
    let ok = generate(&service, json!({"repoURL": repo, "path": "app"}))
        .await
        .unwrap();
    assert_eq!(names(&ok), ["ConfigMap/ok"]);
    assert!(!logged().contains(&marker));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kustomize_keeps_its_load_restrictor_unless_build_options_lift_it() {
    let tmp = tempfile::tempdir().unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    // a file inside the repository but outside the kustomization's directory
    work.write("shared/extra.env", "A=1\n");
    work.write(
        "app/kustomization.yaml",
        "configMapGenerator:\n- name: x\n  envs:\n  - ../shared/extra.env\n",
    );
    work.commit("one");
    let repo = work.dir.display().to_string();
    let service = service(&tmp.path().join("cache"));
    // kustomize's default LoadRestrictionsRootOnly refuses it: Capstan adds no --load-restrictor
    let err = generate(&service, json!({"repoURL": repo, "path": "app"}))
        .await
        .unwrap_err();
    assert!(matches!(err, RenderError::Tool { .. }), "{err:?}");
    assert!(
        err.to_string().contains("security") || err.to_string().contains("restrict"),
        "{err}"
    );
    // argocd-cm kustomize.buildOptions may lift it (within the repository)
    let service = service_tweaked(&tmp.path().join("cache2"), |s| {
        s.tools.kustomize_build_options =
            vec!["--load-restrictor".into(), "LoadRestrictionsNone".into()];
    });
    let ok = generate(&service, json!({"repoURL": repo, "path": "app"}))
        .await
        .unwrap();
    assert_eq!(ok[0]["data"]["A"], json!("1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kustomize_outside_references_are_refused_even_with_load_restrictions_none() {
    let tmp = tempfile::tempdir().unwrap();
    let (file, marker) = marker_file(&tmp.path().join("outside"), "lrnone");
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.write(
        "app/kustomization.yaml",
        &format!(
            "configMapGenerator:\n- name: x\n  files:\n  - {}\n",
            file.display()
        ),
    );
    work.commit("one");
    let service = service_tweaked(&tmp.path().join("cache"), |s| {
        s.tools.kustomize_build_options =
            vec!["--load-restrictor".into(), "LoadRestrictionsNone".into()];
    });
    let err = generate(
        &service,
        json!({"repoURL": work.dir.display().to_string(), "path": "app"}),
    )
    .await
    .unwrap_err();
    assert_refused(&err, &marker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonnet_imports_and_libraries_cannot_leave_the_repository() {
    logs();
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    let (file, marker) = marker_file(&outside, "jsonnet");
    std::fs::write(
        outside.join("lib.libsonnet"),
        format!("{{ v: '{marker}' }}"),
    )
    .unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    let repo = work.dir.display().to_string();
    let service = service(&tmp.path().join("cache"));
    let cm = |expr: &str| {
        format!(
            "{{ apiVersion: 'v1', kind: 'ConfigMap', metadata: {{ name: 'x' }}, data: {{ v: {expr} }} }}"
        )
    };
    for (i, main) in [
        cm(&format!("importstr '{}'", file.display())),
        cm(&format!(
            "importstr '{}/../outside/jsonnet.yaml'",
            tmp.path().join("work").display()
        )),
        cm(&format!(
            "(import '{}').v",
            outside.join("lib.libsonnet").display()
        )),
        cm(&format!("std.base64(importbin '{}')", file.display())),
    ]
    .iter()
    .enumerate()
    {
        work.write("jn/main.jsonnet", main);
        work.commit(&format!("jsonnet {i}"));
        let err = generate(&service, json!({"repoURL": repo, "path": "jn"}))
            .await
            .unwrap_err();
        assert_refused(&err, &marker);
    }
    // a library path out of the repository, then an import found through it
    work.write("jn/main.jsonnet", &cm("(import 'lib.libsonnet').v"));
    work.commit("lib import");
    for libs in [
        json!(["../outside"]),
        json!([outside.display().to_string()]),
    ] {
        let err = generate(
            &service,
            json!({"repoURL": repo, "path": "jn", "directory": {"jsonnet": {"libs": libs}}}),
        )
        .await
        .unwrap_err();
        assert!(!format!("{err} {err:?}").contains(&marker), "{err}");
    }
    assert!(!logged().contains(&marker));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_file_dependencies_cannot_leave_the_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    let (_file, marker) = marker_file(&outside.join("templates"), "chartdep");
    std::fs::write(
        outside.join("Chart.yaml"),
        "apiVersion: v2\nname: stolen\nversion: 1.0.0\n",
    )
    .unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.write("chart/templates/cm.yaml", CM);
    let repo = work.dir.display().to_string();
    let service = service(&tmp.path().join("cache"));
    for (i, dep) in [
        "file://../../outside".to_string(),
        format!("file://{}", outside.display()),
    ]
    .iter()
    .enumerate()
    {
        work.write(
            "chart/Chart.yaml",
            &format!(
                "apiVersion: v2\nname: c\nversion: 1.0.0\ndependencies:\n- name: stolen\n  version: 1.0.0\n  repository: {dep}\n"
            ),
        );
        work.commit(&format!("dep {i}"));
        let err = generate(&service, json!({"repoURL": repo, "path": "chart"}))
            .await
            .unwrap_err();
        assert_refused(&err, &marker);
        assert!(err.to_string().contains("dependencies.repository"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlinks_out_of_the_repository_are_refused() {
    logs();
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    let (file, marker) = marker_file(&outside, "symlink");
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.write("app/cm.yaml", CM);
    work.commit("plain");
    let repo = work.dir.display().to_string();
    let service = service(&tmp.path().join("cache"));
    let cases: [(&str, PathBuf); 4] = [
        ("app/file.yaml", file.clone()),
        ("app/dir", outside.clone()),
        (
            "app/relative.yaml",
            PathBuf::from("../../outside/symlink.yaml"),
        ),
        // a link elsewhere in the repository still taints it (the app path could change)
        ("other/dir", PathBuf::from("/")),
    ];
    for (link, target) in cases {
        std::os::unix::fs::symlink(&target, work.dir.join(link)).unwrap_or_else(|_| {
            std::fs::create_dir_all(work.dir.join(link).parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(&target, work.dir.join(link)).unwrap();
        });
        work.commit(link);
        for source in [
            json!({"repoURL": repo, "path": "app"}),
            json!({"repoURL": repo, "path": "app", "directory": {"recurse": true}}),
        ] {
            let err = generate(&service, source).await.unwrap_err();
            assert_refused(&err, &marker);
            assert!(err.to_string().contains(link), "{err}");
        }
        std::fs::remove_file(work.dir.join(link)).unwrap();
        work.commit("removed");
    }
    // links that stay inside the repository are fine
    std::os::unix::fs::symlink("cm.yaml", work.dir.join("app/alias.yaml")).unwrap();
    work.commit("inner link");
    let ok = generate(&service, json!({"repoURL": repo, "path": "app"}))
        .await
        .unwrap();
    assert_eq!(names(&ok), ["ConfigMap/ok", "ConfigMap/ok"]);
    assert!(!logged().contains(&marker));
}

/// Every directory under `dir` (recursively), for finding checkouts on disk.
fn all_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.push(e.path());
            all_dirs(&e.path(), out);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_repositorys_checkout_cannot_be_reached() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    // the victim: a private repository rendered by the same repo server
    let victim = WorkRepo::new(&tmp.path().join("victim"));
    let marker = format!("CAPSTAN-MARKER-victim-{}", std::process::id());
    victim.write(
        "secret/cm.yaml",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: victim\ndata:\n  k: {marker}\n"
        ),
    );
    victim.write("secret/kustomization.yaml", "resources:\n- cm.yaml\n");
    let victim_commit = victim.commit("victim");
    let service = service(&cache);
    let out = generate(
        &service,
        json!({"repoURL": victim.dir.display().to_string(), "path": "secret"}),
    )
    .await
    .unwrap();
    assert_eq!(names(&out), ["ConfigMap/victim"]);

    // where the victim's checkout lies (an attacker cannot list it: the test can)
    let mut dirs = Vec::new();
    all_dirs(&cache, &mut dirs);
    let checkout = dirs
        .iter()
        .find(|d| d.join("secret/cm.yaml").is_file())
        .expect("victim checkout")
        .clone();
    let name = checkout.file_name().unwrap().to_string_lossy().into_owned();
    // not derived from what an attacker knows (URL and commit) without this installation's secret
    assert!(!name.contains(&victim_commit), "{name}");
    let url_hash = capstan_repo::git::url::hash_hex(
        &capstan_repo::git::RepoUrl::parse(&victim.dir.display().to_string())
            .unwrap()
            .cache_key(),
    );
    assert!(!name.contains(&url_hash[..16]), "{name}");
    // private directories and files
    for (path, want) in [
        (checkout.parent().unwrap().to_path_buf(), 0o700),
        (checkout.clone(), 0o700),
        (cache.join("git"), 0o700),
        (cache.join("git/repos"), 0o700),
        (cache.join("helm"), 0o700),
        (cache.join("manifests.redb"), 0o600),
        (cache.join("git/install-secret"), 0o600),
    ] {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, want, "{}", path.display());
    }
    // a second installation names the same repository's checkout differently
    let other_cache = tmp.path().join("cache-b");
    let other = service_tweaked(&other_cache, |_| {});
    generate(
        &other,
        json!({"repoURL": victim.dir.display().to_string(), "path": "secret"}),
    )
    .await
    .unwrap();
    let mut other_dirs = Vec::new();
    all_dirs(&other_cache, &mut other_dirs);
    assert!(
        !other_dirs
            .iter()
            .any(|d| d.file_name() == checkout.file_name()),
        "checkout names are the same across installations"
    );

    // even knowing the path, the attacker's repository cannot reach it
    let attacker = WorkRepo::new(&tmp.path().join("attacker"));
    let repo = attacker.dir.display().to_string();
    let target = checkout.join("secret");
    let attacks = [
        json!({"path": "k"}),
        json!({"path": "j"}),
        json!({"path": "h", "helm": {"valueFiles": [target.join("cm.yaml").display().to_string()]}}),
        json!({"path": "l"}),
    ];
    attacker.write(
        "k/kustomization.yaml",
        &format!("resources:\n- {}\n", target.display()),
    );
    attacker.write(
        "j/main.jsonnet",
        &format!(
            "{{ apiVersion: 'v1', kind: 'ConfigMap', metadata: {{ name: importstr '{}' }} }}",
            target.join("cm.yaml").display()
        ),
    );
    attacker.write("h/Chart.yaml", "apiVersion: v2\nname: h\nversion: 1.0.0\n");
    attacker.write("h/templates/cm.yaml", CM);
    std::fs::create_dir_all(attacker.dir.join("l")).unwrap();
    attacker.commit("attack");
    for (i, attack) in attacks.iter().enumerate() {
        let mut source = attack.clone();
        source["repoURL"] = json!(repo);
        if i == 3 {
            std::os::unix::fs::symlink(&target, attacker.dir.join("l/victim")).unwrap();
            attacker.commit("link");
        }
        let err = generate(&service, source).await.unwrap_err();
        let text = format!("{err} | {err:?}");
        assert!(!text.contains(&marker), "{text}");
        // refused as outside, or (helm: absolute paths are from the repository root) missing
        assert!(
            matches!(err, RenderError::OutsideRepository { .. }) || text.contains("does not exist"),
            "{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_repository_cannot_pull_a_local_repository_in_as_a_submodule() {
    let tmp = tempfile::tempdir().unwrap();
    // a Git repository on the repo server's disk (another repository's cache, say)
    let victim = WorkRepo::new(&tmp.path().join("victim"));
    let marker = format!("CAPSTAN-MARKER-submodule-{}", std::process::id());
    victim.write(
        "cm.yaml",
        &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: v\ndata:\n  k: {marker}\n"),
    );
    victim.commit("victim");
    // the attacker's repository, served over HTTP, names it as a submodule
    let attacker = WorkRepo::new(&tmp.path().join("attacker"));
    attacker.write("app/cm.yaml", CM);
    git(
        &attacker.dir,
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "-q",
            victim.dir.to_str().unwrap(),
            "app/vendor",
        ],
    );
    attacker.commit("submodule");
    let served = tmp.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    attacker.bare(&served, "a.git");
    let server = GitHttpServer::start(&served, None);
    let service = service(&tmp.path().join("cache"));
    let err = generate(
        &service,
        json!({"repoURL": server.url("a.git"), "path": "app", "directory": {"recurse": true}}),
    )
    .await
    .unwrap_err();
    let text = format!("{err} | {err:?}");
    assert!(text.contains("names a local path"), "{text}");
    assert!(!text.contains(&marker), "{text}");
}
