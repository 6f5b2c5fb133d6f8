//! The client-side `kubectl apply` flow: the three-way patch kubectl computes, and applying the
//! patches kubectl actually sends.

use capstan_patch::{apply_strategic_merge_patch, three_way_strategic_patch};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

fn config(env: Value) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "demo", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [
                    {"name": "web", "image": "nginx:1.27", "env": env,
                     "ports": [{"containerPort": 80}]},
                    {"name": "sidecar", "image": "busybox:1.36", "command": ["sleep", "3600"]}
                ]}
            }
        }
    })
}

/// What kubectl puts in `modified`: the config with the last-applied annotation set to itself.
fn with_annotation(cfg: &Value) -> Value {
    let mut m = cfg.clone();
    let text = serde_json::to_string(cfg).expect("serialise");
    m["metadata"]["annotations"] = json!({ LAST_APPLIED: text });
    m
}

/// The live object after the first apply: the config plus what the server added.
fn live_after_first_apply(cfg: &Value) -> Value {
    let mut live = with_annotation(cfg);
    live["metadata"]["uid"] = json!("0b6c6f7e-1111-2222-3333-444455556666");
    live["metadata"]["resourceVersion"] = json!("105");
    live["metadata"]["generation"] = json!(1);
    live["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = json!("1");
    let spec = &mut live["spec"];
    spec["progressDeadlineSeconds"] = json!(600);
    spec["revisionHistoryLimit"] = json!(10);
    spec["strategy"] =
        json!({"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%","maxUnavailable":"25%"}});
    let pod = &mut spec["template"]["spec"];
    pod["restartPolicy"] = json!("Always");
    pod["dnsPolicy"] = json!("ClusterFirst");
    pod["terminationGracePeriodSeconds"] = json!(30);
    for c in pod["containers"].as_array_mut().expect("containers") {
        c["imagePullPolicy"] = json!("IfNotPresent");
        c["terminationMessagePath"] = json!("/dev/termination-log");
        c["resources"] = json!({});
    }
    pod["containers"][0]["ports"][0]["protocol"] = json!("TCP");
    live["status"] = json!({"replicas": 2, "readyReplicas": 2, "observedGeneration": 1});
    live
}

#[test]
fn second_apply_removing_one_env_var_removes_it_and_nothing_else() {
    let first =
        config(json!([{"name":"A","value":"1"},{"name":"B","value":"2"},{"name":"C","value":"3"}]));
    let second = config(json!([{"name":"A","value":"1"},{"name":"C","value":"3"}]));
    let live = live_after_first_apply(&first);

    let modified = with_annotation(&second);
    let patch = three_way_strategic_patch(Some(&first), &modified, &live, "apps/v1", "Deployment")
        .expect("patch");

    // The patch has the shape kubectl sends.
    assert_eq!(
        patch,
        json!({
            "metadata": {"annotations": {LAST_APPLIED: serde_json::to_string(&second).expect("json")}},
            "spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name":"web"},{"name":"sidecar"}],
                "containers": [{
                    "$setElementOrder/env": [{"name":"A"},{"name":"C"}],
                    "env": [{"$patch":"delete","name":"B"}],
                    "name": "web"
                }]
            }}}
        })
    );

    let got = apply_strategic_merge_patch(&live, &patch, "apps/v1", "Deployment").expect("apply");
    let mut want = live.clone();
    want["metadata"]["annotations"][LAST_APPLIED] =
        modified["metadata"]["annotations"][LAST_APPLIED].clone();
    want["spec"]["template"]["spec"]["containers"][0]["env"] =
        json!([{"name":"A","value":"1"},{"name":"C","value":"3"}]);
    assert_eq!(got, want);
}

#[test]
fn applies_the_patch_kubectl_sends_verbatim() {
    // Appendix B of the client reference: second apply of a Deployment, env B removed, C added,
    // image changed.
    let live = json!({
        "apiVersion":"apps/v1","kind":"Deployment",
        "metadata":{"name":"web","namespace":"demo","annotations":{LAST_APPLIED:"{}"}},
        "spec":{"replicas":1,"template":{"spec":{"containers":[
            {"name":"web","image":"nginx:1.25","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],
             "imagePullPolicy":"IfNotPresent"},
            {"name":"sidecar","image":"busybox"}]}}}
    });
    let patch: Value = serde_json::from_str(r#"{"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"new\":1}"}},
 "spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"web"},{"name":"sidecar"}],
   "containers":[{"$setElementOrder/env":[{"name":"A"},{"name":"C"}],
                  "env":[{"name":"C","value":"3"},{"$patch":"delete","name":"B"}],
                  "image":"nginx:1.27","name":"web"}]}}}}"#)
    .expect("json");
    let got = apply_strategic_merge_patch(&live, &patch, "apps/v1", "Deployment").expect("apply");
    assert_eq!(
        got["spec"]["template"]["spec"]["containers"],
        json!([
            {"name":"web","image":"nginx:1.27","env":[{"name":"A","value":"1"},{"name":"C","value":"3"}],
             "imagePullPolicy":"IfNotPresent"},
            {"name":"sidecar","image":"busybox"}
        ])
    );
    assert_eq!(
        got["metadata"]["annotations"][LAST_APPLIED],
        json!("{\"new\":1}")
    );
    assert_eq!(got["spec"]["replicas"], json!(1));

    // The `kubectl diff` dry-run patch of the same reference carries a resourceVersion
    // precondition and re-adds B while deleting C.
    let diff_patch: Value = serde_json::from_str(r#"{"metadata":{"resourceVersion":"105"},"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"web"},{"name":"sidecar"}],"containers":[{"$setElementOrder/env":[{"name":"A"},{"name":"B"}],"env":[{"name":"B","value":"2"},{"$patch":"delete","name":"C"}],"image":"nginx:1.25","name":"web"}]}}}}"#)
        .expect("json");
    let back =
        apply_strategic_merge_patch(&got, &diff_patch, "apps/v1", "Deployment").expect("apply");
    assert_eq!(
        back["spec"]["template"]["spec"]["containers"][0]["env"],
        json!([{"name":"A","value":"1"},{"name":"B","value":"2"}])
    );
    assert_eq!(back["metadata"]["resourceVersion"], json!("105"));
}

#[test]
fn configmap_apply_deletes_removed_keys_with_null() {
    let first = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"1","b":"2"}});
    let second = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"1","c":"3"}});
    let mut live = with_annotation(&first);
    live["data"]["fromServer"] = json!("kept");
    let modified = with_annotation(&second);
    let patch = three_way_strategic_patch(Some(&first), &modified, &live, "v1", "ConfigMap")
        .expect("patch");
    assert_eq!(patch["data"], json!({"b":null,"c":"3"}));
    let got = apply_strategic_merge_patch(&live, &patch, "v1", "ConfigMap").expect("apply");
    assert_eq!(got["data"], json!({"a":"1","fromServer":"kept","c":"3"}));
}

#[test]
fn unchanged_config_gives_an_empty_patch() {
    let cfg = config(json!([{"name":"A","value":"1"}]));
    let live = live_after_first_apply(&cfg);
    let patch = three_way_strategic_patch(
        Some(&cfg),
        &with_annotation(&cfg),
        &live,
        "apps/v1",
        "Deployment",
    )
    .expect("patch");
    assert_eq!(patch, json!({}));
}

#[test]
fn strategy_change_uses_retain_keys_and_finalizer_removal_uses_delete_list() {
    let mut first = config(json!([]));
    first["metadata"]["finalizers"] = json!(["x/a", "x/b"]);
    let mut second = first.clone();
    second["spec"]["strategy"] = json!({"type":"Recreate"});
    second["metadata"]["finalizers"] = json!(["x/a"]);
    let live = live_after_first_apply(&first);
    let patch = three_way_strategic_patch(
        Some(&first),
        &with_annotation(&second),
        &live,
        "apps/v1",
        "Deployment",
    )
    .expect("patch");
    assert_eq!(
        patch["spec"]["strategy"],
        json!({"$retainKeys":["type"],"type":"Recreate"})
    );
    assert_eq!(
        patch["metadata"]["$deleteFromPrimitiveList/finalizers"],
        json!(["x/b"])
    );
    let got = apply_strategic_merge_patch(&live, &patch, "apps/v1", "Deployment").expect("apply");
    assert_eq!(got["spec"]["strategy"], json!({"type":"Recreate"}));
    assert_eq!(got["metadata"]["finalizers"], json!(["x/a"]));
}

#[test]
fn custom_resource_lists_are_replaced_by_the_three_way_patch() {
    let first = json!({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":3,"tags":["a","b"]}});
    let second = json!({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":5,"tags":["b"]}});
    let patch =
        three_way_strategic_patch(Some(&first), &second, &first, "example.com/v1", "Widget")
            .expect("patch");
    assert_eq!(patch, json!({"spec":{"size":5,"tags":["b"]}}));
}
