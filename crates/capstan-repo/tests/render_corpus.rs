//! Rendering Argo CD's e2e test apps (shared/corpora/argo-e2e-apps) committed to a local Git
//! repository, for every source type, with real kustomize (kubectl kustomize), real Helm (the test
//! helm on helm-python-sdk), native Jsonnet and config management plugins.

mod common;

use std::sync::Arc;

use capstan_repo::git::NoCredentials;
use common::*;
use serde_json::json;

struct Fixture {
    _tmp: tempfile::TempDir,
    repo: String,
    service: capstan_repo::RepoService,
    tmp_path: std::path::PathBuf,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.copy_dir(&corpus(), ".");
    work.commit("argo e2e apps");
    let mut plugins = Vec::new();
    for name in ["cmp-fileName", "cmp-find-command"] {
        plugins.extend(plugins_from(&corpus().join(name).join("plugin.yaml")));
    }
    let service = service_with(&tmp.path().join("cache"), Arc::new(NoCredentials), |s| {
        s.tools.plugins = plugins;
    });
    Fixture {
        repo: work.dir.display().to_string(),
        tmp_path: tmp.path().to_path_buf(),
        _tmp: tmp,
        service,
    }
}

fn require_helm() {
    assert!(
        helm_available(),
        "the test helm needs the helm-python-sdk package: run scripts/install-test-deps"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_sources() {
    let f = fixture();
    // guestbook holds a kustomization: detected as Kustomize ...
    let auto = f
        .service
        .generate(&request(json!({"repoURL": f.repo, "path": "guestbook"})))
        .await
        .unwrap();
    assert_eq!(auto.source_type, "Kustomize");
    assert_eq!(
        names(&auto.manifests),
        ["Service/guestbook-ui", "Deployment/guestbook-ui"]
    );
    // ... and read as plain files when the spec says directory, excluding the kustomization.
    let dir = f
        .service
        .generate(&request(json!({
            "repoURL": f.repo, "path": "guestbook",
            "directory": {"exclude": "kustomization.yaml"}
        })))
        .await
        .unwrap();
    assert_eq!(dir.source_type, "Directory");
    assert_eq!(
        names(&dir.manifests),
        ["Deployment/guestbook-ui", "Service/guestbook-ui"]
    );
    // include glob
    let only_svc = f
        .service
        .generate(&request(json!({
            "repoURL": f.repo, "path": "guestbook",
            "directory": {"include": "*-svc.yaml"}
        })))
        .await
        .unwrap();
    assert_eq!(names(&only_svc.manifests), ["Service/guestbook-ui"]);
    // a plain directory of several files, no kustomization
    let multi = f
        .service
        .generate(&request(
            json!({"repoURL": f.repo, "path": "two-nice-pods"}),
        ))
        .await
        .unwrap();
    assert_eq!(multi.source_type, "Directory");
    assert!(!multi.manifests.is_empty());
    assert!(multi.manifests.iter().all(|o| o["kind"] == "Pod"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonnet_sources() {
    let f = fixture();
    let tla = f
        .service
        .generate(&request(json!({
            "repoURL": f.repo, "path": "jsonnet-tla",
            "directory": {"jsonnet": {"tlas": [
                {"name": "name", "value": "$ARGOCD_APP_NAME-ui"},
                {"name": "replicas", "value": "2 + 1", "code": true}
            ]}}
        })))
        .await
        .unwrap();
    assert_eq!(
        names(&tla.manifests),
        ["Service/my-app-ui", "Deployment/my-app-ui"]
    );
    assert_eq!(tla.manifests[1]["spec"]["replicas"], json!(3));

    let ext = f
        .service
        .generate(&request(json!({
            "repoURL": f.repo, "path": "jsonnet-ext-var",
            "directory": {"jsonnet": {"extVars": [
                {"name": "foo", "value": "bar"},
                {"name": "bar", "value": "std.toString(40 + 2)", "code": true}
            ]}}
        })))
        .await
        .unwrap();
    assert_eq!(names(&ext.manifests), ["ConfigMap/my-map"]);
    assert_eq!(ext.manifests[0]["data"], json!({"foo": "bar", "bar": "42"}));

    // nested directories with relative imports, recursing
    let nested = f
        .service
        .generate(&request(json!({
            "repoURL": f.repo, "path": "jsonnet-nested-dir-with-imports/apps",
            "directory": {"recurse": true}
        })))
        .await
        .unwrap();
    let mut got = names(&nested.manifests);
    got.sort();
    assert_eq!(got, ["Namespace/hello-root", "Namespace/hello-world"]);

    // libs: a library path relative to the repository root
    let libs = f
        .service
        .generate(&request(json!({
            "repoURL": f.repo, "path": "jsonnet-nested-dir-with-imports/apps/nested/directory",
            "directory": {"jsonnet": {"libs": ["jsonnet-nested-dir-with-imports/include"]}}
        })))
        .await
        .unwrap();
    assert_eq!(names(&libs.manifests), ["Namespace/hello-world"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kustomize_sources_with_argo_options() {
    let f = fixture();
    let plain = f
        .service
        .generate(&request(json!({"repoURL": f.repo, "path": "kustomize"})))
        .await
        .unwrap();
    assert_eq!(plain.source_type, "Kustomize");
    assert_eq!(names(&plain.manifests), ["Pod/pod"]);

    let edited = f
        .service
        .generate(&request(json!({
            "repoURL": f.repo, "path": "guestbook",
            "kustomize": {
                "namePrefix": "pre-", "nameSuffix": "-suf",
                "images": ["quay.io/argoprojlabs/argocd-e2e-container:0.9"],
                "commonLabels": {"team": "$ARGOCD_APP_NAME"},
                "commonAnnotations": {"note": "hello"},
                "namespace": "elsewhere",
                "replicas": [{"name": "guestbook-ui", "count": 4}]
            }
        })))
        .await
        .unwrap();
    assert_eq!(
        names(&edited.manifests),
        [
            "Service/pre-guestbook-ui-suf",
            "Deployment/pre-guestbook-ui-suf"
        ]
    );
    let deploy = &edited.manifests[1];
    assert_eq!(deploy["metadata"]["namespace"], json!("elsewhere"));
    assert_eq!(deploy["metadata"]["labels"]["team"], json!("my-app"));
    assert_eq!(deploy["metadata"]["annotations"]["note"], json!("hello"));
    assert_eq!(deploy["spec"]["replicas"], json!(4));
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["image"],
        json!("quay.io/argoprojlabs/argocd-e2e-container:0.9")
    );
    // the checkout itself was not modified: a plain render still has the original names
    let again = f
        .service
        .generate(&request(json!({"repoURL": f.repo, "path": "guestbook"})))
        .await
        .unwrap();
    assert_eq!(
        names(&again.manifests),
        ["Service/guestbook-ui", "Deployment/guestbook-ui"]
    );

    // an inline patch
    let patched = f
        .service
        .generate(&request(json!({
            "repoURL": f.repo, "path": "kustomize",
            "kustomize": {"patches": [{
                "target": {"kind": "Pod", "name": "pod"},
                "patch": "- op: add\n  path: /metadata/labels\n  value: {patched: \"yes\"}\n"
            }]}
        })))
        .await
        .unwrap();
    assert_eq!(
        patched.manifests[0]["metadata"]["labels"]["patched"],
        json!("yes")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_sources_through_real_helm() {
    require_helm();
    let f = fixture();
    let plain = f
        .service
        .generate(&request(json!({"repoURL": f.repo, "path": "helm"})))
        .await
        .unwrap();
    assert_eq!(plain.source_type, "Helm");
    assert_eq!(names(&plain.manifests), ["ConfigMap/my-map"]);

    let values = f
        .service
        .generate(&request(json!({
            "repoURL": f.repo, "path": "helm-values",
            "helm": {"parameters": [{"name": "foo", "value": "from-param"}]}
        })))
        .await
        .unwrap();
    assert_eq!(values.manifests[0]["data"]["foo"], json!("from-param"));

    let object = f
        .service
        .generate(&request(json!({
            "repoURL": f.repo, "path": "helm-values",
            "helm": {"valuesObject": {"foo": "from-object"}}
        })))
        .await
        .unwrap();
    assert_eq!(object.manifests[0]["data"]["foo"], json!("from-object"));

    let string = f
        .service
        .generate(&request(json!({
            "repoURL": f.repo, "path": "helm-values",
            "helm": {"values": "foo: from-values", "parameters": [{"name": "foo", "value": "forced", "forceString": true}]}
        })))
        .await
        .unwrap();
    // --set-string wins over the inline values
    assert_eq!(string.manifests[0]["data"]["foo"], json!("forced"));
    let inline_only = f
        .service
        .generate(&request(json!({
            "repoURL": f.repo, "path": "helm-values",
            "helm": {"values": "foo: from-values"}
        })))
        .await
        .unwrap();
    assert_eq!(
        inline_only.manifests[0]["data"]["foo"],
        json!("from-values")
    );

    // CRDs are included unless skipCrds; the release name defaults to the application name
    let crd = f
        .service
        .generate(&request(
            json!({"repoURL": f.repo, "path": "helm-crd", "helm": {}}),
        ))
        .await
        .unwrap();
    assert_eq!(
        names(&crd.manifests),
        [
            "CustomResourceDefinition/crontabs.stable.example.com",
            "CronTab/my-app-inst"
        ]
    );
    let skip = f
        .service
        .generate(&request(json!({
            "repoURL": f.repo, "path": "helm-crd",
            "helm": {"skipCrds": true, "releaseName": "rel"}
        })))
        .await
        .unwrap();
    assert_eq!(names(&skip.manifests), ["CronTab/rel-inst"]);

    // missing value files: an error, or ignored on request
    let missing = f
        .service
        .generate(&request(json!({
            "repoURL": f.repo, "path": "helm-values",
            "helm": {"valueFiles": ["nope.yaml"]}
        })))
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("nope.yaml"), "{missing}");
    let ignored = f
        .service
        .generate(&request(json!({
            "repoURL": f.repo, "path": "helm-values",
            "helm": {"valueFiles": ["nope.yaml"], "ignoreMissingValueFiles": true}
        })))
        .await
        .unwrap();
    assert_eq!(ignored.manifests[0]["data"]["foo"], json!("bar"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_value_files_from_a_ref_source() {
    require_helm();
    let f = fixture();
    let values_repo = WorkRepo::new(&f.tmp_path.join("values-repo"));
    values_repo.write("envs/prod.yaml", "foo: from-ref-source\n");
    values_repo.commit("values");
    let mut req = request(json!({
        "repoURL": f.repo, "path": "helm-values",
        "helm": {"valueFiles": ["$values/envs/prod.yaml"]}
    }));
    req.ref_sources = vec![
        serde_json::from_value(json!({
            "repoURL": values_repo.dir.display().to_string(), "ref": "values"
        }))
        .unwrap(),
    ];
    let out = f.service.generate(&req).await.unwrap();
    assert_eq!(out.manifests[0]["data"]["foo"], json!("from-ref-source"));

    // a $ref path may not leave that repository
    let mut escape = req.clone();
    escape.source.helm.as_mut().unwrap().value_files =
        Some(vec!["$values/../../../etc/passwd".into()]);
    let err = f.service.generate(&escape).await.unwrap_err();
    assert!(err.to_string().contains("outside the repository"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_management_plugins() {
    let f = fixture();
    // discovered by `discover.fileName`, ARGOCD_ENV_* from the spec, ARGOCD_APP_* and KUBE_* set
    let mut req = request(json!({
        "repoURL": f.repo, "path": "cmp-fileName",
        "plugin": {"env": [{"name": "FOO", "value": "foo-$ARGOCD_APP_NAMESPACE"}, {"name": "EMPTY", "value": ""}]}
    }));
    req.kube_version = Some("v1.31.2".into());
    req.api_versions = vec!["v1".into(), "apps/v1".into()];
    let out = f.service.generate(&req).await.unwrap();
    assert_eq!(out.source_type, "Plugin");
    assert_eq!(names(&out.manifests), ["ConfigMap/my-app"]);
    let meta = &out.manifests[0]["metadata"];
    assert_eq!(meta["namespace"], json!("my-ns"));
    assert_eq!(meta["annotations"]["Foo"], json!("foo-my-ns"));
    assert_eq!(meta["annotations"]["KubeVersion"], json!("1.31.2"));
    assert_eq!(meta["annotations"]["KubeApiVersion"], json!("v1,apps/v1"));

    // without EMPTY the plugin itself fails: its error is reported
    let err = f
        .service
        .generate(&request(json!({"repoURL": f.repo, "path": "cmp-fileName", "plugin": {"name": "cmp-fileName-v1.0"}})))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("ARGOCD_ENV_EMPTY should have been set"),
        "{err}"
    );

    // discovered by `discover.find.command`, with no plugin block in the spec
    let found = f
        .service
        .generate(&request(
            json!({"repoURL": f.repo, "path": "cmp-find-command"}),
        ))
        .await
        .unwrap();
    assert_eq!(found.source_type, "Plugin");
    assert_eq!(names(&found.manifests), ["ConfigMap/my-app"]);

    // an unknown plugin name
    let err = f
        .service
        .generate(&request(
            json!({"repoURL": f.repo, "path": "guestbook", "plugin": {"name": "nope"}}),
        ))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("\"nope\" is not configured"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_hooks_and_file_dependencies() {
    require_helm();
    let tmp = tempfile::tempdir().unwrap();
    let work = WorkRepo::new(&tmp.path().join("charts"));
    work.write(
        "sub/Chart.yaml",
        "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
    );
    work.write(
        "sub/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-sub\ndata:\n  greeting: {{ .Values.greeting | quote }}\n",
    );
    work.write("sub/values.yaml", "greeting: hello\n");
    work.write(
        "umbrella/Chart.yaml",
        "apiVersion: v2\nname: umbrella\nversion: 1.0.0\ndependencies:\n- name: sub\n  version: 0.1.0\n  repository: file://../sub\n",
    );
    work.write("umbrella/values.yaml", "sub:\n  greeting: from-umbrella\n");
    work.write(
        "umbrella/templates/hook.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Release.Name }}-migrate\n  annotations:\n    helm.sh/hook: pre-install\n    helm.sh/hook-weight: \"-1\"\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: m\n        image: busybox\n",
    );
    work.write(
        "umbrella/templates/test.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-test\n  annotations:\n    helm.sh/hook: test\nspec:\n  containers:\n  - name: t\n    image: busybox\n",
    );
    work.write("umbrella/greeting.txt", "from-a-file");
    work.commit("charts");
    let service = service(&tmp.path().join("cache"));
    let repo = work.dir.display().to_string();
    let out = service
        .generate(&request(
            json!({"repoURL": repo, "path": "umbrella", "helm": {"releaseName": "rel"}}),
        ))
        .await
        .unwrap();
    let mut got = names(&out.manifests);
    got.sort();
    assert_eq!(
        got,
        ["ConfigMap/rel-sub", "Job/rel-migrate", "Pod/rel-test"]
    );
    let cm = out
        .manifests
        .iter()
        .find(|o| o["kind"] == "ConfigMap")
        .unwrap();
    assert_eq!(cm["data"]["greeting"], json!("from-umbrella"));
    // hooks keep their annotations (the sync engine maps them to Argo CD hooks)
    let job = out.manifests.iter().find(|o| o["kind"] == "Job").unwrap();
    assert_eq!(
        job["metadata"]["annotations"]["helm.sh/hook"],
        json!("pre-install")
    );
    // the dependency was built in a private copy: the shared checkout has no charts/ directory
    let skip = service
        .generate(&request(json!({"repoURL": repo, "path": "umbrella", "helm": {"releaseName": "rel", "skipTests": true}})))
        .await
        .unwrap();
    let mut got = names(&skip.manifests);
    got.sort();
    assert_eq!(got, ["ConfigMap/rel-sub", "Job/rel-migrate"]);

    // fileParameters: --set-file with a path inside the repository
    let from_file = service
        .generate(&request(
            json!({"repoURL": repo, "path": "umbrella", "helm": {
                "releaseName": "rel",
                "fileParameters": [{"name": "sub.greeting", "path": "greeting.txt"}]
            }}),
        ))
        .await
        .unwrap();
    let cm = from_file
        .manifests
        .iter()
        .find(|o| o["kind"] == "ConfigMap")
        .unwrap();
    assert_eq!(cm["data"]["greeting"], json!("from-a-file"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_parameters_reach_the_plugin() {
    let tmp = tempfile::tempdir().unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.write("app/marker", "x");
    work.commit("one");
    let yaml = "apiVersion: argoproj.io/v1alpha1\nkind: ConfigManagementPlugin\nmetadata:\n  name: params\nspec:\n  version: v2\n  init:\n    command: [sh, -c, 'echo init > init.txt']\n  generate:\n    command: [sh, -c]\n    args:\n    - |\n      test -f init.txt || exit 3\n      printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: %s\\ndata:\\n  tag: \"%s\"\\n  first: \"%s\"\\n  region: \"%s\"\\n  home: \"%s\"\\n' \"$PARAM_IMAGE_TAG\" \"$PARAM_IMAGE_TAG\" \"$PARAM_LIST_0\" \"$PARAM_MAP_REGION\" \"${CARGO_MANIFEST_DIR-scrubbed}\"\n";
    let plugins = capstan_repo::render::ConfigManagementPlugin::parse(yaml, "params.yaml").unwrap();
    let service = service_with(&tmp.path().join("cache"), Arc::new(NoCredentials), |s| {
        s.tools.plugins = plugins;
    });
    let out = service
        .generate(&request(json!({
            "repoURL": work.dir.display().to_string(), "path": "app",
            "plugin": {"name": "params-v2", "parameters": [
                {"name": "image.tag", "string": "v1"},
                {"name": "list", "array": ["a", "b"]},
                {"name": "map", "map": {"region": "eu"}}
            ]}
        })))
        .await
        .unwrap();
    assert_eq!(names(&out.manifests), ["ConfigMap/v1"]);
    assert_eq!(
        out.manifests[0]["data"],
        json!({"tag": "v1", "first": "a", "region": "eu", "home": "scrubbed"})
    );
    // init wrote into a private copy, not into the shared checkout
    let checkout = service
        .git()
        .checkout(&work.dir.display().to_string(), &out.revision)
        .await
        .unwrap();
    assert!(checkout.dir().join("app/marker").exists());
    assert!(!checkout.dir().join("app/init.txt").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kustomize_components_and_label_options() {
    let tmp = tempfile::tempdir().unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.write("app/kustomization.yaml", "resources:\n- deploy.yaml\n");
    work.write(
        "app/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: c\n        image: nginx\n",
    );
    work.write(
        "components/extra/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n- cm.yaml\n",
    );
    work.write(
        "components/extra/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n",
    );
    work.commit("kustomize");
    let repo = work.dir.display().to_string();
    let service = service(&tmp.path().join("cache"));
    let out = service
        .generate(&request(json!({"repoURL": repo, "path": "app",
            "kustomize": {"components": ["../components/extra"]}})))
        .await
        .unwrap();
    let mut got = names(&out.manifests);
    got.sort();
    assert_eq!(got, ["ConfigMap/extra", "Deployment/web"]);

    let err = service
        .generate(&request(json!({"repoURL": repo, "path": "app",
            "kustomize": {"components": ["../components/missing"]}})))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("components/missing"), "{err}");
    let ignored = service
        .generate(&request(json!({"repoURL": repo, "path": "app",
            "kustomize": {"components": ["../components/missing"], "ignoreMissingComponents": true}})))
        .await
        .unwrap();
    assert_eq!(names(&ignored.manifests), ["Deployment/web"]);

    // commonLabels go into selectors; labelWithoutSelector keeps them out
    let with_selector = service
        .generate(&request(json!({"repoURL": repo, "path": "app",
            "kustomize": {"commonLabels": {"team": "a"}}})))
        .await
        .unwrap();
    assert_eq!(
        with_selector.manifests[0]["spec"]["selector"]["matchLabels"]["team"],
        json!("a")
    );
    let without = service
        .generate(&request(json!({"repoURL": repo, "path": "app",
            "kustomize": {"commonLabels": {"team": "a"}, "labelWithoutSelector": true}})))
        .await
        .unwrap();
    let deploy = &without.manifests[0];
    assert_eq!(deploy["metadata"]["labels"]["team"], json!("a"));
    assert!(
        deploy["spec"]["selector"]["matchLabels"]
            .get("team")
            .is_none()
    );
}
