//! The kubectl flows of issue 3's Must-show list, run with the installed kubectl against an
//! in-process server.

mod common;

use std::time::Duration;

use common::{CRD, DEPLOY, TestServer};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_namespace_get_yaml_and_already_exists() {
    let s = TestServer::start().await;
    assert!(
        s.ok(&["create", "namespace", "demo"])
            .await
            .contains("namespace/demo created")
    );
    let err = s.fails(&["create", "namespace", "demo"]).await;
    assert!(err.contains("AlreadyExists"), "{err}");
    let yaml = s.ok(&["get", "namespace", "demo", "-o", "yaml"]).await;
    assert!(
        yaml.contains("name: demo") && yaml.contains("phase: Active"),
        "{yaml}"
    );
    let table = s.ok(&["get", "ns"]).await;
    assert!(
        table.contains("demo") && table.contains("kube-system") && table.contains("STATUS"),
        "{table}"
    );
    s.ok(&[
        "create",
        "configmap",
        "c1",
        "-n",
        "demo",
        "--from-literal=a=1",
    ])
    .await;
    let cm = s.get_json(&["cm", "c1", "-n", "demo"]).await;
    assert_eq!(cm["data"]["a"], "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_side_apply_update_removes_env_var_and_diff_exit_codes() {
    let s = TestServer::start().await;
    s.ok(&["create", "namespace", "demo"]).await;
    let v1 = s.file("deploy.yaml", DEPLOY);
    let v2 = s.file(
        "deploy2.yaml",
        &DEPLOY.replace("        - {name: B, value: \"2\"}\n", ""),
    );
    s.ok(&["apply", "-f", v1.to_str().unwrap()]).await;
    let d = s.get_json(&["deploy", "web", "-n", "demo"]).await;
    assert_eq!(d["metadata"]["generation"], 1);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Defaults a real API server fills in.
    assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
    s.ok(&["apply", "-f", v2.to_str().unwrap()]).await;
    let d = s.get_json(&["deploy", "web", "-n", "demo"]).await;
    let env = d["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        env.len(),
        1,
        "env var B removed by the strategic merge patch: {env:?}"
    );
    assert_eq!(env[0]["name"], "A");
    assert_eq!(d["metadata"]["generation"], 2);
    s.ok(&[
        "rollout",
        "status",
        "deployment/web",
        "-n",
        "demo",
        "--timeout=40s",
    ])
    .await;
    let rv =
        s.get_json(&["deploy", "web", "-n", "demo"]).await["metadata"]["resourceVersion"].clone();
    // diff: no change -> 0, change -> 1, and diff changes nothing.
    let same = s.kubectl(&["diff", "-f", v2.to_str().unwrap()]).await;
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stderr)
    );
    let changed = s.kubectl(&["diff", "-f", v1.to_str().unwrap()]).await;
    assert_eq!(
        changed.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&changed.stderr)
    );
    assert!(String::from_utf8_lossy(&changed.stdout).contains("name: B"));
    let d = s.get_json(&["deploy", "web", "-n", "demo"]).await;
    assert_eq!(
        d["metadata"]["resourceVersion"], rv,
        "dry-run diff must not write"
    );
    // Re-applying the same manifest is a no-op: the resourceVersion stays.
    s.ok(&["apply", "-f", v2.to_str().unwrap()]).await;
    let d2 = s.get_json(&["deploy", "web", "-n", "demo"]).await;
    assert_eq!(d2["metadata"]["generation"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_conflict_and_force() {
    let s = TestServer::start().await;
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa, namespace: default}\ndata: {a: \"1\", b: \"2\"}\n";
    let other = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa, namespace: default}\ndata: {a: \"9\"}\n";
    let f1 = s.file("ssa.yaml", cm);
    let f2 = s.file("ssa-other.yaml", other);
    s.ok(&["apply", "--server-side", "-f", f1.to_str().unwrap()])
        .await;
    let live = s.get_json(&["cm", "ssa", "--show-managed-fields"]).await;
    let managers: Vec<&str> = live["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(managers.contains(&"kubectl"), "{managers:?}");
    let err = s
        .fails(&[
            "apply",
            "--server-side",
            "--field-manager=other",
            "-f",
            f2.to_str().unwrap(),
        ])
        .await;
    assert!(err.contains("onflict"), "{err}");
    assert_eq!(s.get_json(&["cm", "ssa"]).await["data"]["a"], "1");
    s.ok(&[
        "apply",
        "--server-side",
        "--field-manager=other",
        "--force-conflicts",
        "-f",
        f2.to_str().unwrap(),
    ])
    .await;
    let live = s.get_json(&["cm", "ssa"]).await;
    assert_eq!(live["data"]["a"], "9");
    assert_eq!(live["data"]["b"], "2");
    // kubectl stops applying b: its field is removed.
    let f3 = s.file(
        "ssa3.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa, namespace: default}\ndata: {}\n",
    );
    s.ok(&["apply", "--server-side", "-f", f3.to_str().unwrap()])
        .await;
    let live = s.get_json(&["cm", "ssa"]).await;
    assert!(live["data"].get("b").is_none(), "{live}");
    assert_eq!(live["data"]["a"], "9");
}

/// Read lines from `out` into `seen` until `done(seen)` holds (bounded).
async fn read_until(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    seen: &mut Vec<String>,
    done: impl Fn(&[String]) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done(seen) {
        let line = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("watch output so far: {seen:?}"));
        match line.unwrap() {
            Some(l) => seen.push(l),
            None => panic!("kubectl get -w ended early: {seen:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_watch_sees_a_change() {
    use tokio::io::AsyncBufReadExt;
    let s = TestServer::start().await;
    s.ok(&["create", "configmap", "before"]).await;
    let mut child = s
        .kubectl_cmd(&["get", "configmaps", "-w", "-o", "name"])
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    // The initial listing is printed once the watch is about to start.
    read_until(&mut lines, &mut seen, |l| {
        l.iter().any(|x| x == "configmap/before")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    s.ok(&["create", "configmap", "after-watch-started"]).await;
    s.ok(&["label", "configmap", "before", "changed=yes"]).await;
    read_until(&mut lines, &mut seen, |l| {
        l.iter().any(|x| x == "configmap/after-watch-started")
            && l.iter().filter(|x| *x == "configmap/before").count() >= 2
    })
    .await;
    child.start_kill().unwrap();
    let _ = child.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_with_stale_resource_version_conflicts() {
    let s = TestServer::start().await;
    s.ok(&["create", "configmap", "st", "--from-literal=a=1"])
        .await;
    let yaml = s.ok(&["get", "configmap", "st", "-o", "yaml"]).await;
    let f = s.file("stale.yaml", &yaml);
    s.ok(&["label", "configmap", "st", "z=1"]).await;
    let err = s.fails(&["replace", "-f", f.to_str().unwrap()]).await;
    assert!(
        err.contains("Conflict") && err.contains("the object has been modified"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_waits_for_finalizer_removal() {
    let s = TestServer::start().await;
    let f = s.file("fin.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fin, finalizers: [example.com/hold]}\ndata: {a: \"1\"}\n");
    s.ok(&["apply", "-f", f.to_str().unwrap()]).await;
    let mut del = s
        .kubectl_cmd(&["delete", "configmap", "fin"])
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(
        del.try_wait().unwrap().is_none(),
        "kubectl delete must wait while the finalizer is present"
    );
    let live = s.get_json(&["cm", "fin"]).await;
    assert!(live["metadata"]["deletionTimestamp"].is_string());
    s.ok(&[
        "patch",
        "configmap",
        "fin",
        "--type",
        "merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ])
    .await;
    let status = tokio::time::timeout(Duration::from_secs(20), del.wait())
        .await
        .expect("delete finishes")
        .unwrap();
    assert!(status.success());
    let err = s.fails(&["get", "configmap", "fin"]).await;
    assert!(err.contains("NotFound"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_status_completes_and_scale() {
    let s = TestServer::start().await;
    s.ok(&["create", "namespace", "demo"]).await;
    let f = s.file("deploy.yaml", DEPLOY);
    s.ok(&["apply", "-f", f.to_str().unwrap()]).await;
    let out = s
        .ok(&[
            "rollout",
            "status",
            "deployment/web",
            "-n",
            "demo",
            "--timeout=40s",
        ])
        .await;
    assert!(out.contains("successfully rolled out"), "{out}");
    let rs = s.get_json(&["rs", "-n", "demo", "-l", "app=web"]).await;
    assert_eq!(rs["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        rs["items"][0]["metadata"]["ownerReferences"][0]["kind"],
        "Deployment"
    );
    s.ok(&["scale", "deployment/web", "-n", "demo", "--replicas=3"])
        .await;
    s.ok(&[
        "rollout",
        "status",
        "deployment/web",
        "-n",
        "demo",
        "--timeout=40s",
    ])
    .await;
    let pods = s.get_json(&["pods", "-n", "demo", "-l", "app=web"]).await;
    let items = pods["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|p| p["status"]["phase"] == "Running"));
    let d = s.get_json(&["deploy", "web", "-n", "demo"]).await;
    assert_eq!(d["status"]["availableReplicas"], 3);
    assert_eq!(
        d["status"]["observedGeneration"],
        d["metadata"]["generation"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_image_exceeds_progress_deadline() {
    let s = TestServer::start().await;
    let bad = DEPLOY
        .replace("namespace: demo", "namespace: default")
        .replace("nginx:1.27", "capstan.invalid/nginx:1.27")
        .replace(
            "  replicas: 2\n",
            "  replicas: 1\n  progressDeadlineSeconds: 2\n",
        );
    let f = s.file("bad.yaml", &bad);
    s.ok(&["apply", "-f", f.to_str().unwrap()]).await;
    let err = s
        .fails(&["rollout", "status", "deployment/web", "--timeout=40s"])
        .await;
    assert!(err.contains("exceeded its progress deadline"), "{err}");
    let pods = s.get_json(&["pods", "-l", "app=web"]).await;
    assert_eq!(
        pods["items"][0]["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
        "ImagePullBackOff"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crd_established_custom_resources_validated() {
    let s = TestServer::start().await;
    let crd = s.file("crd.yaml", CRD);
    s.ok(&["apply", "-f", crd.to_str().unwrap()]).await;
    s.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/widgets.example.com",
        "--timeout=20s",
    ])
    .await;
    let cr = s.file("cr.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3, replicas: 1, extra: {any: {thing: true}}}\n");
    s.ok(&["apply", "-f", cr.to_str().unwrap()]).await;
    let out = s.ok(&["get", "wd"]).await;
    assert!(out.contains("w1"), "{out}");
    let bad = s.file(
        "bad.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w2}\nspec: {size: 0}\n",
    );
    let err = s.fails(&["apply", "-f", bad.to_str().unwrap()]).await;
    assert!(
        err.contains("Invalid") && err.contains("spec.size"),
        "{err}"
    );
    let unknown = s.file("unknown.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w3}\nspec: {size: 1, bogus: 1}\n");
    let err = s.fails(&["apply", "-f", unknown.to_str().unwrap()]).await;
    assert!(
        err.contains("unknown field") && err.contains("spec.bogus"),
        "{err}"
    );
    // merge-patch update of a custom resource (client-side apply) bumps generation.
    s.ok(&[
        "apply",
        "-f",
        s.file("cr2.yaml", &common::read(&cr).replace("size: 3", "size: 4"))
            .to_str()
            .unwrap(),
    ])
    .await;
    let w = s.get_json(&["widget", "w1"]).await;
    assert_eq!(w["spec"]["size"], 4);
    assert_eq!(w["metadata"]["generation"], 2);
    assert_eq!(w["spec"]["extra"]["any"]["thing"], true);
    // scale subresource on a custom resource.
    s.ok(&["scale", "widget/w1", "--replicas=5"]).await;
    assert_eq!(s.get_json(&["widget", "w1"]).await["spec"]["replicas"], 5);
    // Deleting the CRD deletes its objects and its kind.
    s.ok(&["delete", "crd", "widgets.example.com", "--timeout=30s"])
        .await;
    let err = s.fails(&["get", "widgets"]).await;
    assert!(
        err.contains("doesn't have a resource type")
            || err.contains("NotFound")
            || err.contains("not found"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_types_label_annotate() {
    let s = TestServer::start().await;
    s.ok(&["create", "namespace", "demo"]).await;
    let f = s.file("deploy.yaml", DEPLOY);
    s.ok(&["apply", "-f", f.to_str().unwrap()]).await;
    s.ok(&[
        "patch",
        "deploy",
        "web",
        "-n",
        "demo",
        "--type",
        "json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":4}]"#,
    ])
    .await;
    s.ok(&[
        "patch",
        "deploy",
        "web",
        "-n",
        "demo",
        "--type",
        "merge",
        "-p",
        r#"{"metadata":{"labels":{"tier":"fe"}}}"#,
    ])
    .await;
    s.ok(&[
        "patch",
        "deploy",
        "web",
        "-n",
        "demo",
        "--type",
        "strategic",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.28"}]}}}}"#,
    ])
    .await;
    s.ok(&["label", "deploy", "web", "-n", "demo", "team=core"])
        .await;
    s.ok(&["annotate", "deploy", "web", "-n", "demo", "note=hello"])
        .await;
    let d = s.get_json(&["deploy", "web", "-n", "demo"]).await;
    assert_eq!(d["spec"]["replicas"], 4);
    assert_eq!(d["metadata"]["labels"]["tier"], "fe");
    assert_eq!(d["metadata"]["labels"]["team"], "core");
    assert_eq!(d["metadata"]["annotations"]["note"], "hello");
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "nginx:1.28");
    assert_eq!(
        c["env"].as_array().unwrap().len(),
        2,
        "strategic merge keeps the other container fields"
    );
    let bad = s
        .fails(&[
            "patch",
            "deploy",
            "web",
            "-n",
            "demo",
            "--type",
            "json",
            "-p",
            r#"[{"op":"test","path":"/spec/replicas","value":1}]"#,
        ])
        .await;
    assert!(!bad.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_deletion_removes_contents() {
    let s = TestServer::start().await;
    s.ok(&["create", "namespace", "demo"]).await;
    s.ok(&["create", "configmap", "c1", "-n", "demo"]).await;
    let f = s.file("deploy.yaml", DEPLOY);
    s.ok(&["apply", "-f", f.to_str().unwrap()]).await;
    s.ok(&[
        "rollout",
        "status",
        "deployment/web",
        "-n",
        "demo",
        "--timeout=40s",
    ])
    .await;
    s.ok(&["delete", "namespace", "demo", "--timeout=60s"])
        .await;
    let err = s.fails(&["get", "namespace", "demo"]).await;
    assert!(err.contains("NotFound"), "{err}");
    let c = s.client();
    for path in [
        "/api/v1/configmaps",
        "/apis/apps/v1/deployments",
        "/apis/apps/v1/replicasets",
        "/api/v1/pods",
    ] {
        let list: Value = c
            .get(format!("{}{path}", s.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let in_demo = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["metadata"]["namespace"] == "demo")
            .count();
        assert_eq!(in_demo, 0, "{path} still has objects in demo");
    }
    // Creating in a namespace that no longer exists fails.
    let err = s.fails(&["create", "configmap", "c2", "-n", "demo"]).await;
    assert!(err.contains("not found"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capstan_crds_apply_and_validate() {
    let s = TestServer::start().await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/crds");
    s.ok(&["apply", "--server-side", "-f", dir]).await;
    for crd in [
        "applications.argoproj.io",
        "appprojects.argoproj.io",
        "applicationsets.argoproj.io",
    ] {
        s.ok(&[
            "wait",
            "--for=condition=Established",
            &format!("crd/{crd}"),
            "--timeout=20s",
        ])
        .await;
    }
    s.ok(&["create", "namespace", "argocd"]).await;
    let app = s.file(
        "app.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: guestbook, namespace: argocd}\nspec:\n  project: default\n  source: {repoURL: 'https://example.com/repo.git', path: guestbook, targetRevision: HEAD}\n  destination: {server: 'https://kubernetes.default.svc', namespace: default}\n",
    );
    s.ok(&["apply", "-f", app.to_str().unwrap()]).await;
    let got = s
        .get_json(&["applications.argoproj.io", "guestbook", "-n", "argocd"])
        .await;
    assert_eq!(got["spec"]["source"]["path"], "guestbook");
    let bad = s.file("bad.yaml", "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: bad, namespace: argocd}\nspec:\n  project: 7\n  destination: {}\n");
    let err = s.fails(&["apply", "-f", bad.to_str().unwrap()]).await;
    assert!(err.contains("spec.project"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_create_generators_send_protobuf() {
    let s = TestServer::start().await;
    s.ok(&[
        "create",
        "deployment",
        "d1",
        "--image=nginx:1.27",
        "--port=80",
        "--replicas=2",
    ])
    .await;
    s.ok(&["create", "service", "clusterip", "s1", "--tcp=80:8080"])
        .await;
    s.ok(&["create", "job", "j1", "--image=busybox", "--", "echo", "hi"])
        .await;
    s.ok(&[
        "create",
        "cronjob",
        "cj1",
        "--image=busybox",
        "--schedule=*/5 * * * *",
        "--",
        "echo",
        "hi",
    ])
    .await;
    s.ok(&["create", "role", "r1", "--verb=get", "--resource=pods"])
        .await;
    s.ok(&["create", "rolebinding", "rb1", "--role=r1", "--user=alice"])
        .await;
    s.ok(&[
        "create",
        "clusterrole",
        "cr1",
        "--verb=get",
        "--resource=pods",
    ])
    .await;
    s.ok(&[
        "create",
        "clusterrolebinding",
        "crb1",
        "--clusterrole=cr1",
        "--user=alice",
    ])
    .await;
    s.ok(&["create", "ingress", "ing1", "--rule=foo.com/bar=svc1:8080"])
        .await;
    s.ok(&[
        "create",
        "pdb",
        "pdb1",
        "--selector=app=x",
        "--min-available=0",
    ])
    .await;
    s.ok(&["create", "priorityclass", "pc1", "--value=1000"])
        .await;
    s.ok(&["create", "quota", "q1", "--hard=pods=10,requests.cpu=2"])
        .await;
    let d = s.get_json(&["deploy", "d1"]).await;
    assert_eq!(d["spec"]["replicas"], 2);
    assert_eq!(d["spec"]["selector"]["matchLabels"]["app"], "d1");
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        (c["name"].as_str(), c["image"].as_str()),
        (Some("nginx"), Some("nginx:1.27"))
    );
    assert_eq!(c["ports"][0]["containerPort"], 80);
    let svc = s.get_json(&["svc", "s1"]).await;
    assert_eq!(svc["spec"]["ports"][0]["port"], 80);
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 8080);
    assert_eq!(svc["spec"]["selector"]["app"], "s1");
    let job = s.get_json(&["job", "j1"]).await;
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["command"],
        serde_json::json!(["echo", "hi"])
    );
    assert_eq!(job["spec"]["template"]["spec"]["restartPolicy"], "Never");
    let cj = s.get_json(&["cronjob", "cj1"]).await;
    assert_eq!(cj["spec"]["schedule"], "*/5 * * * *");
    assert_eq!(
        cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"],
        "OnFailure"
    );
    let role = s.get_json(&["role", "r1"]).await;
    assert_eq!(role["rules"][0]["verbs"], serde_json::json!(["get"]));
    assert_eq!(role["rules"][0]["resources"], serde_json::json!(["pods"]));
    let rb = s.get_json(&["rolebinding", "rb1"]).await;
    assert_eq!(rb["roleRef"]["name"], "r1");
    assert_eq!(rb["subjects"][0]["name"], "alice");
    assert_eq!(
        s.get_json(&["clusterrolebinding", "crb1"]).await["roleRef"]["kind"],
        "ClusterRole"
    );
    let ing = s.get_json(&["ingress", "ing1"]).await;
    let path = &ing["spec"]["rules"][0]["http"]["paths"][0];
    assert_eq!(path["backend"]["service"]["port"]["number"], 8080);
    assert_eq!(path["pathType"], "Exact");
    assert_eq!(
        s.get_json(&["pdb", "pdb1"]).await["spec"]["minAvailable"],
        0
    );
    assert_eq!(s.get_json(&["priorityclass", "pc1"]).await["value"], 1000);
    let q = s.get_json(&["quota", "q1"]).await;
    assert_eq!(q["spec"]["hard"]["pods"], "10");
    assert_eq!(q["spec"]["hard"]["requests.cpu"], "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_can_i_is_answered() {
    let s = TestServer::start().await;
    assert_eq!(
        s.ok(&["auth", "can-i", "create", "deployments"])
            .await
            .trim(),
        "yes"
    );
    let list = s.ok(&["auth", "can-i", "--list"]).await;
    assert!(list.contains("*.*"), "{list}");
    // Reviews are answered, not stored.
    let err = s.fails(&["get", "selfsubjectaccessreviews"]).await;
    assert!(!err.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_field_validation_of_builtin_top_level_and_metadata() {
    let s = TestServer::start().await;
    let typo = s.file(
        "typo.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: t\n  label: {a: b}\ndat: {k: v}\n",
    );
    let err = s.fails(&["apply", "-f", typo.to_str().unwrap()]).await;
    assert!(
        err.contains("unknown field \"dat\"") && err.contains("unknown field \"metadata.label\""),
        "{err}"
    );
    s.ok(&["apply", "--validate=false", "-f", typo.to_str().unwrap()])
        .await;
    let cm = s.get_json(&["cm", "t"]).await;
    assert!(
        cm.get("dat").is_none() && cm["metadata"].get("label").is_none(),
        "unknown fields are dropped: {cm}"
    );
}
