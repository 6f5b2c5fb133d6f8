//! Strategic merge patch: merge keys of the built-in kinds and the directives.

use capstan_patch::{PatchError, apply_strategic_merge_patch, has_strategic_merge_info};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

fn smp(doc: Value, patch: Value, api_version: &str, kind: &str) -> Value {
    apply_strategic_merge_patch(&doc, &patch, api_version, kind).expect("patch applies")
}

fn deploy(spec: Value) -> Value {
    json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
           "spec":{"template":{"spec": spec}}})
}

#[test]
fn builtin_kinds_have_merge_info_and_custom_resources_do_not() {
    for (av, k) in [
        ("v1", "Pod"),
        ("v1", "ConfigMap"),
        ("v1", "Service"),
        ("apps/v1", "Deployment"),
        ("apps/v1", "StatefulSet"),
        ("batch/v1", "CronJob"),
        ("rbac.authorization.k8s.io/v1", "ClusterRole"),
        ("networking.k8s.io/v1", "Ingress"),
    ] {
        assert!(has_strategic_merge_info(av, k), "{av} {k}");
    }
    for (av, k) in [
        ("example.com/v1", "Widget"),
        ("argoproj.io/v1alpha1", "Application"),
        ("v1", "Widget"),
        ("apps/v1", "ConfigMap"),
    ] {
        assert!(!has_strategic_merge_info(av, k), "{av} {k}");
    }
}

// Ordering follows the API server: items named by the patch come in patch order; items only the
// server had keep their place relative to the patch items they preceded on the server, and come
// after new items they cannot be related to (as in the Kubernetes documentation's example where a
// patched-in container ends up first).
#[test]
fn containers_merge_by_name_and_env_by_name() {
    let doc = deploy(json!({"containers":[
        {"name":"web","image":"nginx:1.25","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]},
        {"name":"sidecar","image":"busybox"}]}));
    let patch = json!({"spec":{"template":{"spec":{"containers":[
        {"name":"web","image":"nginx:1.27","env":[{"name":"B","value":"20"},{"name":"C","value":"3"}]},
        {"name":"logger","image":"fluent"}]}}}});
    let got = smp(doc, patch, "apps/v1", "Deployment");
    assert_eq!(
        got["spec"]["template"]["spec"]["containers"],
        json!([
            {"name":"web","image":"nginx:1.27","env":[{"name":"A","value":"1"},{"name":"B","value":"20"},{"name":"C","value":"3"}]},
            {"name":"logger","image":"fluent"},
            {"name":"sidecar","image":"busybox"}
        ])
    );
}

#[test]
fn ports_volume_mounts_volumes_and_service_ports_use_their_keys() {
    let pod = json!({"apiVersion":"v1","kind":"Pod","spec":{
        "containers":[{"name":"c","ports":[{"containerPort":80,"name":"http"}],
                       "volumeMounts":[{"mountPath":"/a","name":"v1"}]}],
        "volumes":[{"name":"v1","emptyDir":{}}],
        "imagePullSecrets":[{"name":"s1"}],
        "tolerations":[{"key":"a","operator":"Exists"}],
        "hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}]}});
    let patch = json!({"spec":{
        "containers":[{"name":"c","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443}],
                       "volumeMounts":[{"mountPath":"/b","name":"v2"}]}],
        "volumes":[{"name":"v2","configMap":{"name":"cm"}}],
        "imagePullSecrets":[{"name":"s2"}],
        "tolerations":[{"key":"b","operator":"Exists"}],
        "hostAliases":[{"ip":"10.0.0.1","hostnames":["b"]}]}});
    let got = smp(pod, patch, "v1", "Pod");
    let spec = &got["spec"];
    assert_eq!(
        spec["containers"][0]["ports"],
        json!([{"containerPort":80,"name":"http","protocol":"TCP"},{"containerPort":443}])
    );
    assert_eq!(
        spec["containers"][0]["volumeMounts"],
        json!([{"mountPath":"/b","name":"v2"},{"mountPath":"/a","name":"v1"}])
    );
    assert_eq!(
        spec["volumes"],
        json!([{"name":"v2","configMap":{"name":"cm"}},{"name":"v1","emptyDir":{}}])
    );
    assert_eq!(
        spec["imagePullSecrets"],
        json!([{"name":"s2"},{"name":"s1"}])
    );
    // tolerations have no patch strategy: replaced.
    assert_eq!(
        spec["tolerations"],
        json!([{"key":"b","operator":"Exists"}])
    );
    // hostAliases merge by ip; their hostnames list is replaced.
    assert_eq!(
        spec["hostAliases"],
        json!([{"ip":"10.0.0.1","hostnames":["b"]}])
    );

    let svc = json!({"apiVersion":"v1","kind":"Service","spec":{"ports":[{"port":80,"targetPort":8080}],"selector":{"app":"a"}}});
    let got = smp(
        svc,
        json!({"spec":{"ports":[{"port":443,"targetPort":8443}],"selector":{"tier":"web"}}}),
        "v1",
        "Service",
    );
    assert_eq!(
        got["spec"]["ports"],
        json!([{"port":443,"targetPort":8443},{"port":80,"targetPort":8080}])
    );
    assert_eq!(got["spec"]["selector"], json!({"app":"a","tier":"web"}));
}

#[test]
fn merge_keys_apply_inside_every_pod_template_kind() {
    let patch = json!({"containers":[{"name":"b","image":"x"}]});
    let base = json!({"containers":[{"name":"a","image":"y"}]});
    let want = json!([{"name":"b","image":"x"},{"name":"a","image":"y"}]);
    for kind in ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"] {
        let got = smp(
            json!({"spec":{"template":{"spec":base}}}),
            json!({"spec":{"template":{"spec":patch}}}),
            "apps/v1",
            kind,
        );
        assert_eq!(
            got["spec"]["template"]["spec"]["containers"], want,
            "{kind}"
        );
    }
    let got = smp(
        json!({"spec":{"template":{"spec":base}}}),
        json!({"spec":{"template":{"spec":patch}}}),
        "batch/v1",
        "Job",
    );
    assert_eq!(got["spec"]["template"]["spec"]["containers"], want);
    let got = smp(
        json!({"spec":{"jobTemplate":{"spec":{"template":{"spec":base}}}}}),
        json!({"spec":{"jobTemplate":{"spec":{"template":{"spec":patch}}}}}),
        "batch/v1",
        "CronJob",
    );
    assert_eq!(
        got["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"],
        want
    );
    let got = smp(json!({"spec":base}), json!({"spec":patch}), "v1", "Pod");
    assert_eq!(got["spec"]["containers"], want);
}

#[test]
fn lists_without_merge_info_are_replaced() {
    // RBAC rules, container args and a custom resource's list are replaced.
    let role = json!({"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get"]}]});
    let got = smp(
        role,
        json!({"rules":[{"apiGroups":["apps"],"resources":["deployments"],"verbs":["list"]}]}),
        "rbac.authorization.k8s.io/v1",
        "Role",
    );
    assert_eq!(
        got["rules"],
        json!([{"apiGroups":["apps"],"resources":["deployments"],"verbs":["list"]}])
    );
    let got = smp(
        deploy(json!({"containers":[{"name":"c","args":["a","b"]}]})),
        json!({"spec":{"template":{"spec":{"containers":[{"name":"c","args":["z"]}]}}}}),
        "apps/v1",
        "Deployment",
    );
    assert_eq!(
        got["spec"]["template"]["spec"]["containers"][0]["args"],
        json!(["z"])
    );
    let got = smp(
        json!({"spec":{"items":[{"name":"a"}]}}),
        json!({"spec":{"items":[{"name":"b"}]}}),
        "example.com/v1",
        "Widget",
    );
    assert_eq!(got["spec"]["items"], json!([{"name":"b"}]));
}

#[test]
fn maps_merge_and_null_deletes_a_key() {
    let cm = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","labels":{"a":"1","b":"2"}},"data":{"a":"1","b":"2"}});
    let got = smp(
        cm,
        json!({"data":{"b":null,"c":"3"},"metadata":{"labels":{"a":null}}}),
        "v1",
        "ConfigMap",
    );
    assert_eq!(got["data"], json!({"a":"1","c":"3"}));
    assert_eq!(got["metadata"]["labels"], json!({"b":"2"}));
    // A null for a key that does not exist is ignored, also in new subtrees.
    let got = smp(
        json!({}),
        json!({"data":{"x":null,"y":"1"},"z":null}),
        "v1",
        "ConfigMap",
    );
    assert_eq!(got, json!({"data":{"y":"1"}}));
}

#[test]
fn finalizers_merge_as_a_set_and_owner_references_by_uid() {
    let obj =
        json!({"metadata":{"finalizers":["a","b"],"ownerReferences":[{"uid":"1","name":"x"}]}});
    let got = smp(
        obj.clone(),
        json!({"metadata":{"finalizers":["b","c"],"ownerReferences":[{"uid":"1","name":"y"},{"uid":"2","name":"z"}]}}),
        "v1",
        "ConfigMap",
    );
    assert_eq!(got["metadata"]["finalizers"], json!(["a", "b", "c"]));
    assert_eq!(
        got["metadata"]["ownerReferences"],
        json!([{"uid":"1","name":"y"},{"uid":"2","name":"z"}])
    );
    // The same on a custom resource: metadata is known for every kind.
    let got = smp(
        obj,
        json!({"metadata":{"finalizers":["c","a"]}}),
        "example.com/v1",
        "Widget",
    );
    assert_eq!(got["metadata"]["finalizers"], json!(["c", "a", "b"]));
}

#[test]
fn delete_from_primitive_list_and_set_element_order_on_primitives() {
    let obj = json!({"metadata":{"finalizers":["a","b","c"]}});
    let got = smp(
        obj.clone(),
        json!({"metadata":{"$deleteFromPrimitiveList/finalizers":["b","c"]}}),
        "v1",
        "Pod",
    );
    assert_eq!(got["metadata"]["finalizers"], json!(["a"]));
    let got = smp(
        obj.clone(),
        json!({"metadata":{"$setElementOrder/finalizers":["b","c","a"]}}),
        "v1",
        "Pod",
    );
    assert_eq!(got["metadata"]["finalizers"], json!(["b", "c", "a"]));
    let got = smp(
        obj,
        json!({"metadata":{"$deleteFromPrimitiveList/finalizers":["a","b","c"]}}),
        "v1",
        "Pod",
    );
    // Like the API server, an emptied list stays (empty) in the object.
    assert_eq!(got["metadata"], json!({"finalizers": []}));
}

#[test]
fn set_element_order_on_maps_reorders_containers() {
    let doc = deploy(
        json!({"containers":[{"name":"a","image":"1"},{"name":"b","image":"2"},{"name":"c","image":"3"}]}),
    );
    let patch = json!({"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"b"},{"name":"c"},{"name":"a"}]}}}});
    let got = smp(doc, patch, "apps/v1", "Deployment");
    assert_eq!(
        got["spec"]["template"]["spec"]["containers"],
        json!([{"name":"b","image":"2"},{"name":"c","image":"3"},{"name":"a","image":"1"}])
    );
}

#[test]
fn patch_directives_in_lists_and_maps() {
    let doc = deploy(json!({"containers":[{"name":"a","image":"1"},{"name":"b","image":"2"}]}));
    // delete an item by merge key
    let got = smp(
        doc.clone(),
        json!({"spec":{"template":{"spec":{"containers":[{"$patch":"delete","name":"a"}]}}}}),
        "apps/v1",
        "Deployment",
    );
    assert_eq!(
        got["spec"]["template"]["spec"]["containers"],
        json!([{"name":"b","image":"2"}])
    );
    // replace the whole list
    let got = smp(
        doc.clone(),
        json!({"spec":{"template":{"spec":{"containers":[{"name":"z","image":"9"},{"$patch":"replace"}]}}}}),
        "apps/v1",
        "Deployment",
    );
    assert_eq!(
        got["spec"]["template"]["spec"]["containers"],
        json!([{"name":"z","image":"9"}])
    );
    // replace a map
    let got = smp(
        json!({"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}}}),
        json!({"spec":{"strategy":{"$patch":"replace","type":"Recreate"}}}),
        "apps/v1",
        "Deployment",
    );
    assert_eq!(got["spec"]["strategy"], json!({"type":"Recreate"}));
    // delete a map
    let got = smp(
        json!({"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}}}),
        json!({"spec":{"strategy":{"rollingUpdate":{"$patch":"delete"}}}}),
        "apps/v1",
        "Deployment",
    );
    // `$patch: delete` empties the map, as kubectl's own implementation does (the API server
    // then decodes the empty object); `null` removes the key.
    assert_eq!(
        got["spec"]["strategy"],
        json!({"type":"RollingUpdate","rollingUpdate":{}})
    );
    let got = smp(
        json!({"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}}}),
        json!({"spec":{"strategy":{"rollingUpdate":null}}}),
        "apps/v1",
        "Deployment",
    );
    assert_eq!(got["spec"]["strategy"], json!({"type":"RollingUpdate"}));
    // explicit merge is the default behaviour
    let got = smp(
        json!({"data":{"a":"1"}}),
        json!({"data":{"$patch":"merge","b":"2"}}),
        "v1",
        "ConfigMap",
    );
    assert_eq!(got["data"], json!({"a":"1","b":"2"}));
}

#[test]
fn retain_keys_clears_other_members_of_a_union() {
    let doc =
        json!({"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%"}}}});
    let patch = json!({"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}});
    let got = smp(doc, patch, "apps/v1", "Deployment");
    assert_eq!(got["spec"]["strategy"], json!({"type":"Recreate"}));
    let vols = json!({"spec":{"volumes":[{"name":"v","emptyDir":{}}]}});
    let patch = json!({"spec":{"volumes":[{"$retainKeys":["configMap","name"],"name":"v","configMap":{"name":"c"}}]}});
    let got = smp(vols, patch, "v1", "Pod");
    assert_eq!(
        got["spec"]["volumes"],
        json!([{"name":"v","configMap":{"name":"c"}}])
    );
}

#[test]
fn malformed_patches_are_errors_naming_the_field() {
    let doc = deploy(json!({"containers":[{"name":"a"}]}));
    let cases = [
        json!({"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}}),
        json!({"spec":{"template":{"spec":{"containers":["x"]}}}}),
        json!({"spec":{"template":{"spec":{"containers":[{"$patch":"explode","name":"a"}]}}}}),
        json!({"spec":{"$patch":"explode"}}),
        json!({"spec":{"$retainKeys":"x"}}),
        json!({"spec":{"template":{"spec":{"$setElementOrder/containers":"x"}}}}),
        json!({"metadata":{"$deleteFromPrimitiveList/finalizers":"x"}}),
        json!({"spec":{"template":{"spec":{"containers":{"name":"a"}}}}}),
        json!({"metadata":{"finalizers":"a"}}),
    ];
    for patch in cases {
        let err = apply_strategic_merge_patch(&doc, &patch, "apps/v1", "Deployment").unwrap_err();
        assert!(
            matches!(err, PatchError::Strategic { .. }),
            "{patch}: {err}"
        );
    }
    let err = apply_strategic_merge_patch(
        &doc,
        &json!({"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}}),
        "apps/v1",
        "Deployment",
    )
    .unwrap_err();
    assert!(
        err.to_string().contains(".spec.template.spec.containers"),
        "{err}"
    );
    assert!(err.to_string().contains("\"name\""), "{err}");
    assert!(apply_strategic_merge_patch(&doc, &json!([1]), "apps/v1", "Deployment").is_err());
}

#[test]
fn a_pod_disruption_budget_selector_is_replaced_not_merged() {
    // policy/v1 PodDisruptionBudgetSpec.selector has patchStrategy "replace".
    let pdb = json!({"spec":{"minAvailable":1,"selector":{"matchLabels":{"app":"a","tier":"b"}}}});
    let got = smp(
        pdb,
        json!({"spec":{"selector":{"matchLabels":{"app":"c"}}}}),
        "policy/v1",
        "PodDisruptionBudget",
    );
    assert_eq!(
        got["spec"],
        json!({"minAvailable":1,"selector":{"matchLabels":{"app":"c"}}})
    );
    // A Deployment's selector merges.
    let got = smp(
        json!({"spec":{"selector":{"matchLabels":{"app":"a","tier":"b"}}}}),
        json!({"spec":{"selector":{"matchLabels":{"app":"c"}}}}),
        "apps/v1",
        "Deployment",
    );
    assert_eq!(
        got["spec"]["selector"],
        json!({"matchLabels":{"app":"c","tier":"b"}})
    );
}

#[test]
fn documents_nested_too_deeply_are_refused() {
    let mut deep = json!(1);
    for _ in 0..=capstan_patch::MAX_DEPTH {
        deep = json!({ "a": deep });
    }
    let err = apply_strategic_merge_patch(&json!({}), &deep, "v1", "ConfigMap").unwrap_err();
    assert!(err.to_string().contains("deeper than"), "{err}");
    assert!(
        capstan_patch::three_way_strategic_patch(None, &deep, &json!({}), "v1", "ConfigMap")
            .is_err()
    );
    let req = capstan_patch::ssa::ApplyRequest {
        manager: "m",
        force: false,
        api_version: "v1",
        kind: "ConfigMap",
        now: "2026-01-01T00:00:00Z",
        subresource: None,
    };
    assert!(capstan_patch::ssa::apply(None, &deep, &req).is_err());
}

#[test]
fn empty_patch_is_identity() {
    let doc =
        deploy(json!({"containers":[{"name":"a","image":"1","env":[{"name":"X","value":"y"}]}]}));
    assert_eq!(smp(doc.clone(), json!({}), "apps/v1", "Deployment"), doc);
}
