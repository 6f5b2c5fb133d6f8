//! Property: an object applied to the embedded API server and read back (defaults, server metadata,
//! managedFields and status added) compares Synced with its manifest, for built-in kinds the server
//! serves, by client-side apply (last-applied-configuration) and by server-side apply (managedFields).
//! The server runs in process (its store and write operations; no HTTP, no simulation loop).

use std::sync::Arc;

use capstan_apiserver::ops::{Cluster, PatchType, Sub, WriteOpts};
use capstan_apiserver::store::Store;
use capstan_diff::{DiffOptions, Differ};
use proptest::prelude::*;
use serde_json::{Value, json};

struct Server {
    cluster: Cluster,
    _dir: tempfile::TempDir,
}

fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let cluster = Cluster::new(Arc::new(store));
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}});
    let rt = cluster.registry.by_kind("v1", "Namespace").unwrap();
    cluster.create(&rt, "", ns, &WriteOpts::default()).unwrap();
    Server { cluster, _dir: dir }
}

fn namespace_of(obj: &Value) -> &str {
    obj.pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
}

impl Server {
    fn rt(&self, obj: &Value) -> Arc<capstan_apiserver::registry::ResourceType> {
        let api_version = obj["apiVersion"].as_str().unwrap();
        let kind = obj["kind"].as_str().unwrap();
        self.cluster
            .registry
            .by_kind(api_version, kind)
            .unwrap_or_else(|| panic!("server does not serve {api_version} {kind}"))
    }

    /// `kubectl apply` (client side): create with the last-applied-configuration annotation.
    fn client_side_apply(&self, manifest: &Value) -> Value {
        let mut body = manifest.clone();
        let applied = manifest.to_string();
        body["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] =
            json!(applied);
        let rt = self.rt(manifest);
        let out = self
            .cluster
            .create(&rt, namespace_of(manifest), body, &WriteOpts::default())
            .unwrap_or_else(|e| panic!("{e:?}\n{manifest}"));
        let name = out.object["metadata"]["name"].as_str().unwrap().to_string();
        self.cluster
            .get(&rt, namespace_of(manifest), &name)
            .unwrap()
    }

    /// Server-side apply as Argo CD's field manager.
    fn server_side_apply(&self, manifest: &Value) -> Value {
        let rt = self.rt(manifest);
        let name = manifest["metadata"]["name"].as_str().unwrap();
        let opts = WriteOpts {
            field_manager: Some("argocd-controller".into()),
            ..WriteOpts::default()
        };
        self.cluster
            .patch(
                &rt,
                namespace_of(manifest),
                name,
                PatchType::Apply { force: true },
                manifest.clone(),
                &opts,
                Sub::Main,
            )
            .unwrap_or_else(|e| panic!("{e:?}\n{manifest}"));
        self.cluster.get(&rt, namespace_of(manifest), name).unwrap()
    }
}

fn manifests(
    name: &str,
    replicas: u32,
    port: u32,
    cpu: &Value,
    memory: &Value,
    labels: &Value,
) -> Vec<Value> {
    let pod_spec = json!({"containers": [{"name": "main", "image": "nginx:1.27",
        "ports": [{"containerPort": port}],
        "env": [{"name": "MODE", "value": "prod"}],
        "resources": {"requests": {"cpu": cpu, "memory": memory}}}]});
    let template = json!({"metadata": {"labels": {"app": name}}, "spec": pod_spec});
    let selector = json!({"matchLabels": {"app": name}});
    let meta = |ns: bool| {
        let mut m = json!({"name": name, "labels": labels});
        if ns {
            m["namespace"] = json!("default");
        }
        m
    };
    vec![
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(true), "data": {"a": "1", "b": ""}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": meta(true), "type": "Opaque", "stringData": {"password": "hunter2"}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(true)}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": meta(true),
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": port}]}}),
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta(true),
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": memory}}}}),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta(true), "spec": pod_spec}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(true),
            "spec": {"replicas": replicas, "selector": selector, "template": template}}),
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta(true),
            "spec": {"replicas": replicas, "serviceName": name, "selector": selector, "template": template}}),
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta(true), "spec": {"selector": selector, "template": template}}),
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta(true),
            "spec": {"replicas": replicas, "selector": selector, "template": template}}),
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": meta(true),
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]}}}}),
        json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta(true),
            "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure",
                "containers": [{"name": "main", "image": "busybox"}]}}}}}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta(true),
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": meta(false),
            "rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta(true),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": "default"}]}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta(true),
            "spec": {"rules": [{"host": "example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": name, "port": {"number": 80}}}}]}}]}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta(true),
            "spec": {"podSelector": {"matchLabels": {"app": name}}, "ingress": [{"ports": [{"port": port}]}]}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta(false)}),
    ]
}

fn label_values() -> impl Strategy<Value = Value> {
    prop::collection::btree_map("[a-z]{1,6}", "[a-z0-9]{0,6}", 0..3)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k, Value::String(v))).collect()))
}

fn quantities() -> impl Strategy<Value = (Value, Value)> {
    (
        prop::sample::select(vec![
            json!("100m"),
            json!("0.5"),
            json!(1),
            json!("1000m"),
            json!("2"),
        ]),
        prop::sample::select(vec![
            json!("64Mi"),
            json!("1Gi"),
            json!("1024Mi"),
            json!("512M"),
        ]),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn read_back_objects_compare_synced(
        name in "[a-z][a-z0-9]{2,8}",
        replicas in 0u32..5,
        port in 1u32..65535,
        (cpu, memory) in quantities(),
        labels in label_values(),
    ) {
        let csa = server();
        let ssa = server();
        let plain = Differ::new(DiffOptions::default()).unwrap();
        let server_side = Differ::new(DiffOptions { server_side_apply: true, ..DiffOptions::default() }).unwrap();
        for manifest in manifests(&name, replicas, port, &cpu, &memory, &labels) {
            let live = csa.client_side_apply(&manifest);
            // the server did fill things in (uid, timestamps, defaults), so the comparison is not trivial
            prop_assert!(live.pointer("/metadata/uid").is_some() && live != manifest);
            let r = plain.diff(Some(&manifest), Some(&live)).unwrap();
            prop_assert!(!r.modified, "client-side apply, {}:\npredicted {}\nlive      {}", manifest["kind"], r.predicted_live, r.normalized_live);
            prop_assert!(!plain.is_modified(Some(&manifest), Some(&live)).unwrap());

            let live = ssa.server_side_apply(&manifest);
            let r = server_side.diff(Some(&manifest), Some(&live)).unwrap();
            prop_assert!(!r.modified, "server-side apply, {}:\npredicted {}\nlive      {}", manifest["kind"], r.predicted_live, r.normalized_live);
            prop_assert!(!server_side.is_modified(Some(&manifest), Some(&live)).unwrap());

            // and a real change is still seen
            let mut changed = manifest.clone();
            changed["metadata"]["labels"]["capstan-test-changed"] = json!("yes");
            prop_assert!(plain.diff(Some(&changed), Some(&live)).unwrap().modified);
        }
    }
}

#[test]
fn the_server_adds_defaults_that_are_not_differences() {
    let s = server();
    let manifest = &manifests("web", 2, 8080, &json!("0.5"), &json!("1Gi"), &json!({}))[6];
    assert_eq!(manifest["kind"], "Deployment");
    let live = s.client_side_apply(manifest);
    let container = &live["spec"]["template"]["spec"]["containers"][0];
    assert!(
        container.get("imagePullPolicy").is_some()
            || live["spec"].get("revisionHistoryLimit").is_some(),
        "{live}"
    );
    assert!(
        !capstan_diff::diff(Some(manifest), Some(&live), &DiffOptions::default())
            .unwrap()
            .modified
    );
}
