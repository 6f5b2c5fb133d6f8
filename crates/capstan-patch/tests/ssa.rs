//! Server-side apply: fieldsV1 encoding, removal of fields a manager stopped applying,
//! conflicts, force, Update ownership and the status subresource.

use capstan_patch::ssa::{self, ApplyError, ApplyRequest, FieldConflict};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const T0: &str = "2026-01-01T00:00:00Z";
const T1: &str = "2026-01-01T00:01:00Z";
const T2: &str = "2026-01-01T00:02:00Z";

fn req<'a>(manager: &'a str, now: &'a str) -> ApplyRequest<'a> {
    ApplyRequest {
        manager,
        force: false,
        api_version: "apps/v1",
        kind: "Deployment",
        now,
        subresource: None,
    }
}

fn deployment(replicas: i64, env: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "demo", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27", "env": env, "resources": {},
                                          "ports": [{"containerPort": 80, "name": "http"}]}]}
            }
        }
    })
}

fn entries(obj: &Value) -> Vec<Value> {
    obj["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn entry<'a>(obj: &'a Value, manager: &str, operation: &str) -> &'a Value {
    obj["metadata"]["managedFields"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|e| e["manager"] == manager && e["operation"] == operation)
        })
        .unwrap_or_else(|| panic!("no {operation} entry for {manager} in {obj}"))
}

#[test]
fn create_by_apply_records_kubernetes_fields_v1() {
    let cfg = deployment(2, json!([{"name": "A", "value": "1"}]));
    let got = ssa::apply(None, &cfg, &req("kubectl", T0)).expect("apply");
    let mf = entries(&got);
    assert_eq!(mf.len(), 1);
    assert_eq!(
        mf[0],
        json!({
            "manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1", "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:replicas": {},
                    "f:selector": {},
                    "f:template": {
                        "f:metadata": {"f:labels": {"f:app": {}}},
                        "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {
                            ".": {},
                            "f:env": {"k:{\"name\":\"A\"}": {".": {}, "f:name": {}, "f:value": {}}},
                            "f:image": {},
                            "f:name": {},
                            "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                                ".": {}, "f:containerPort": {}, "f:name": {}}},
                            "f:resources": {}
                        }}}
                    }
                }
            }
        })
    );
    // The object itself is the configuration.
    let mut without = got.clone();
    without["metadata"]
        .as_object_mut()
        .expect("meta")
        .remove("managedFields");
    assert_eq!(without, cfg);
    // Exact text of the encoding (key order as Kubernetes writes it).
    let text = serde_json::to_string(&mf[0]["fieldsV1"]).expect("json");
    assert!(
        text.contains(r#"{".":{},"f:env":{"k:{\"name\":\"A\"}":{".":{},"f:name":{},"f:value":{}}},"f:image":{},"f:name":{},"f:ports""#),
        "{text}"
    );
    assert_eq!(
        ssa::managed_paths(&got, "kubectl")
            .into_iter()
            .filter(|p| p.contains("env"))
            .collect::<Vec<_>>(),
        vec![
            r#".spec.template.spec.containers[name="nginx"]"#.to_string(),
            r#".spec.template.spec.containers[name="nginx"].env[name="A"]"#.into(),
            r#".spec.template.spec.containers[name="nginx"].env[name="A"].name"#.into(),
            r#".spec.template.spec.containers[name="nginx"].env[name="A"].value"#.into(),
        ]
        .into_iter()
        .filter(|p| p.contains("env"))
        .collect::<Vec<_>>()
    );
}

#[test]
fn applying_the_same_config_twice_is_a_no_op() {
    let cfg = deployment(2, json!([{"name": "A", "value": "1"}]));
    let first = ssa::apply(None, &cfg, &req("kubectl", T0)).expect("apply");
    let second = ssa::apply(Some(&first), &cfg, &req("kubectl", T1)).expect("apply");
    assert_eq!(second, first, "nothing changes, not even the timestamp");
}

#[test]
fn removing_a_field_from_the_config_removes_it_from_the_object() {
    let first_cfg = deployment(
        2,
        json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]),
    );
    let live = ssa::apply(None, &first_cfg, &req("kubectl", T0)).expect("apply");
    let mut second_cfg = deployment(2, json!([{"name": "A", "value": "1"}]));
    second_cfg["metadata"]
        .as_object_mut()
        .expect("meta")
        .remove("labels");
    let got = ssa::apply(Some(&live), &second_cfg, &req("kubectl", T1)).expect("apply");
    assert_eq!(
        got["spec"]["template"]["spec"]["containers"][0]["env"],
        json!([{"name": "A", "value": "1"}])
    );
    assert!(
        got["metadata"].get("labels").is_none(),
        "{}",
        got["metadata"]
    );
    let paths = ssa::managed_paths(&got, "kubectl");
    assert!(!paths.iter().any(|p| p.contains("name=\"B\"")), "{paths:?}");
    assert!(
        !paths.iter().any(|p| p.starts_with(".metadata.labels")),
        "{paths:?}"
    );
    assert!(
        paths.contains(&".spec.template.metadata.labels.app".to_string()),
        "{paths:?}"
    );
    assert_eq!(entry(&got, "kubectl", "Apply")["time"], json!(T1));
}

#[test]
fn a_field_another_manager_also_owns_survives_its_removal_from_the_config() {
    let cfg = deployment(
        2,
        json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]),
    );
    let live = ssa::apply(None, &cfg, &req("kubectl", T0)).expect("apply");
    // A second applier sets the same env var B (same value: shared ownership, no conflict).
    let other = json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
        "spec":{"template":{"spec":{"containers":[{"name":"nginx","env":[{"name":"B","value":"2"}]}]}}}});
    let live = ssa::apply(Some(&live), &other, &req("helper", T1)).expect("shared ownership");
    let cfg2 = deployment(2, json!([{"name": "A", "value": "1"}]));
    let got = ssa::apply(Some(&live), &cfg2, &req("kubectl", T2)).expect("apply");
    assert_eq!(
        got["spec"]["template"]["spec"]["containers"][0]["env"],
        json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
    );
    assert!(ssa::managed_paths(&got, "helper").contains(
        &r#".spec.template.spec.containers[name="nginx"].env[name="B"].value"#.to_string()
    ));
}

#[test]
fn conflicts_with_another_manager_unless_forced() {
    // Created by kubectl create (Update), then applied by a different manager.
    let created = deployment(2, json!([]));
    let live = ssa::record_update(
        None,
        &created,
        "kubectl-create",
        "apps/v1",
        "Deployment",
        T0,
        None,
    );
    let mut cfg = deployment(3, json!([]));
    cfg["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.28");
    let err = ssa::apply(Some(&live), &cfg, &req("kubectl", T1)).unwrap_err();
    let ApplyError::Conflicts(conflicts) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        conflicts,
        &vec![
            FieldConflict {
                manager: "kubectl-create".into(),
                field: ".spec.replicas".into()
            },
            FieldConflict {
                manager: "kubectl-create".into(),
                field: r#".spec.template.spec.containers[name="nginx"].image"#.into()
            },
        ]
    );
    assert!(
        err.to_string().starts_with(
            "Apply failed with 2 conflicts: conflicts with \"kubectl-create\":\n- .spec.replicas\n"
        ),
        "{err}"
    );

    // Same values: no conflict, both own the fields.
    let same = deployment(2, json!([]));
    let shared = ssa::apply(Some(&live), &same, &req("kubectl", T1)).expect("no conflict");
    assert!(ssa::managed_paths(&shared, "kubectl").contains(&".spec.replicas".to_string()));
    assert!(ssa::managed_paths(&shared, "kubectl-create").contains(&".spec.replicas".to_string()));

    // Force: the values change and ownership moves.
    let forced = ssa::apply(
        Some(&live),
        &cfg,
        &ApplyRequest {
            force: true,
            ..req("kubectl", T1)
        },
    )
    .expect("forced");
    assert_eq!(forced["spec"]["replicas"], json!(3));
    assert!(ssa::managed_paths(&forced, "kubectl").contains(&".spec.replicas".to_string()));
    let create_paths = ssa::managed_paths(&forced, "kubectl-create");
    assert!(
        !create_paths.contains(&".spec.replicas".to_string()),
        "{create_paths:?}"
    );
    assert!(
        create_paths.contains(&".spec.selector".to_string()),
        "{create_paths:?}"
    );
}

#[test]
fn conflicts_with_another_applier() {
    let live = ssa::apply(None, &deployment(2, json!([])), &req("a", T0)).expect("apply");
    let partial = json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":5}});
    let err = ssa::apply(Some(&live), &partial, &req("b", T1)).unwrap_err();
    assert_eq!(
        err,
        ApplyError::Conflicts(vec![FieldConflict {
            manager: "a".into(),
            field: ".spec.replicas".into()
        }])
    );
    // After a forced apply by b, a re-applying its config without replicas removes nothing
    // b owns, and a no longer owns replicas.
    let forced = ssa::apply(
        Some(&live),
        &partial,
        &ApplyRequest {
            force: true,
            ..req("b", T1)
        },
    )
    .expect("force");
    let mut a_cfg = deployment(2, json!([]));
    a_cfg["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("replicas");
    let got = ssa::apply(Some(&forced), &a_cfg, &req("a", T2)).expect("apply");
    assert_eq!(got["spec"]["replicas"], json!(5));
}

#[test]
fn update_on_create_records_dot_markers_like_the_api_server() {
    let mut obj = deployment(2, json!([]));
    obj["metadata"]["annotations"] =
        json!({"kubectl.kubernetes.io/last-applied-configuration": "{}"});
    obj["spec"]["strategy"] =
        json!({"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%","maxUnavailable":"25%"}});
    obj["spec"]["template"]["spec"]["containers"][0]
        .as_object_mut()
        .expect("container")
        .remove("env");
    obj["status"] = json!({"replicas": 0});
    let got = ssa::record_update(
        None,
        &obj,
        "kubectl-client-side-apply",
        "apps/v1",
        "Deployment",
        T0,
        None,
    );
    assert_eq!(
        entry(&got, "kubectl-client-side-apply", "Update")["fieldsV1"],
        json!({
            "f:metadata": {
                "f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}},
                "f:labels": {".": {}, "f:app": {}}
            },
            "f:spec": {
                "f:replicas": {},
                "f:selector": {},
                "f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}}, "f:type": {}},
                "f:template": {
                    "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                    "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {
                        ".": {}, "f:image": {}, "f:name": {},
                        "f:ports": {".": {}, "k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}, "f:name": {}}},
                        "f:resources": {}
                    }}}
                }
            }
        })
    );
}

#[test]
fn update_moves_changed_fields_and_keeps_time_when_nothing_changes() {
    let cfg = deployment(2, json!([]));
    let live = ssa::apply(None, &cfg, &req("kubectl", T0)).expect("apply");
    let mut scaled = live.clone();
    scaled["spec"]["replicas"] = json!(4);
    let got = ssa::record_update(
        Some(&live),
        &scaled,
        "kubectl-scale",
        "apps/v1",
        "Deployment",
        T1,
        None,
    );
    assert_eq!(
        ssa::managed_paths(&got, "kubectl-scale"),
        vec![".spec.replicas".to_string()]
    );
    assert!(!ssa::managed_paths(&got, "kubectl").contains(&".spec.replicas".to_string()));
    // Apply entries sort before Update entries.
    let ops: Vec<String> = entries(&got)
        .iter()
        .filter_map(|e| e["operation"].as_str().map(str::to_string))
        .collect();
    assert_eq!(ops, ["Apply", "Update"]);
    // A no-op update leaves managedFields alone.
    let again = ssa::record_update(
        Some(&got),
        &got,
        "kubectl-scale",
        "apps/v1",
        "Deployment",
        T2,
        None,
    );
    assert_eq!(again, got);
    // Removing a field removes it from every manager.
    let mut no_labels = got.clone();
    no_labels["metadata"]
        .as_object_mut()
        .expect("meta")
        .remove("labels");
    let got = ssa::record_update(
        Some(&got),
        &no_labels,
        "editor",
        "apps/v1",
        "Deployment",
        T2,
        None,
    );
    assert!(
        !ssa::managed_paths(&got, "kubectl")
            .iter()
            .any(|p| p.starts_with(".metadata.labels"))
    );
    assert!(
        ssa::managed_paths(&got, "editor").is_empty(),
        "a pure removal gives the editor nothing"
    );
}

#[test]
fn clients_can_overwrite_or_strip_managed_fields_but_not_clear_them_by_accident() {
    let live = ssa::apply(None, &deployment(1, json!([])), &req("kubectl", T0)).expect("apply");
    // An empty list is ignored: the stored managedFields stay.
    let mut empty = live.clone();
    empty["metadata"]["managedFields"] = json!([]);
    let got = ssa::record_update(
        Some(&live),
        &empty,
        "editor",
        "apps/v1",
        "Deployment",
        T1,
        None,
    );
    assert_eq!(got, live);
    // `[{}]` strips them.
    let mut strip = live.clone();
    strip["metadata"]["managedFields"] = json!([{}]);
    let got = ssa::record_update(
        Some(&live),
        &strip,
        "editor",
        "apps/v1",
        "Deployment",
        T1,
        None,
    );
    assert!(
        got["metadata"].get("managedFields").is_none(),
        "{}",
        got["metadata"]
    );
    // Another list replaces them.
    let mut other = live.clone();
    other["metadata"]["managedFields"] = json!([{"manager": "someone", "operation": "Update",
        "apiVersion": "apps/v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]);
    let got = ssa::record_update(
        Some(&live),
        &other,
        "editor",
        "apps/v1",
        "Deployment",
        T1,
        None,
    );
    assert_eq!(
        ssa::managed_paths(&got, "someone"),
        vec![".spec.replicas".to_string()]
    );
    assert!(ssa::managed_paths(&got, "kubectl").is_empty());
}

#[test]
fn status_is_owned_only_through_the_status_subresource() {
    let live = ssa::apply(None, &deployment(1, json!([])), &req("kubectl", T0)).expect("apply");
    let mut with_status = live.clone();
    with_status["status"] =
        json!({"replicas": 1, "conditions": [{"type": "Available", "status": "True"}]});
    let main = ssa::record_update(
        Some(&live),
        &with_status,
        "ctrl",
        "apps/v1",
        "Deployment",
        T1,
        None,
    );
    assert!(ssa::managed_paths(&main, "ctrl").is_empty());
    let status = ssa::record_update(
        Some(&live),
        &with_status,
        "ctrl",
        "apps/v1",
        "Deployment",
        T1,
        Some("status"),
    );
    let e = entry(&status, "ctrl", "Update");
    assert_eq!(e["subresource"], json!("status"));
    assert_eq!(
        e["fieldsV1"],
        json!({"f:status": {".": {}, "f:conditions": {".": {}, "k:{\"type\":\"Available\"}": {".": {}, "f:status": {}, "f:type": {}}}, "f:replicas": {}}})
    );
    // Status in an applied config is not recorded on the main resource.
    let mut cfg = deployment(1, json!([]));
    cfg["status"] = json!({"replicas": 3});
    let got = ssa::apply(None, &cfg, &req("kubectl", T0)).expect("apply");
    assert!(
        !ssa::managed_paths(&got, "kubectl")
            .iter()
            .any(|p| p.starts_with(".status"))
    );
}

#[test]
fn identity_fields_are_never_recorded() {
    let mut obj = deployment(1, json!([]));
    obj["metadata"]["uid"] = json!("u");
    obj["metadata"]["resourceVersion"] = json!("7");
    obj["metadata"]["generation"] = json!(1);
    obj["metadata"]["creationTimestamp"] = json!(T0);
    let got = ssa::record_update(
        None,
        &obj,
        "kubectl-create",
        "apps/v1",
        "Deployment",
        T0,
        None,
    );
    let paths = ssa::managed_paths(&got, "kubectl-create");
    for p in &paths {
        for bad in [
            ".metadata.uid",
            ".metadata.name",
            ".metadata.namespace",
            ".metadata.resourceVersion",
            ".metadata.generation",
            ".metadata.creationTimestamp",
            ".apiVersion",
            ".kind",
            ".metadata.managedFields",
        ] {
            assert!(!p.starts_with(bad), "{p}");
        }
    }
    assert!(paths.contains(&".spec.replicas".to_string()));
}

#[test]
fn finalizers_are_a_set_and_custom_resource_lists_are_atomic() {
    let cr = json!({"apiVersion":"example.com/v1","kind":"Widget",
        "metadata":{"name":"w","finalizers":["example.com/a"]},
        "spec":{"size":3,"tags":["a","b"],"items":[{"name":"x"}],"nested":{"k":"v"}}});
    let r = ApplyRequest {
        api_version: "example.com/v1",
        kind: "Widget",
        ..req("kubectl", T0)
    };
    let got = ssa::apply(None, &cr, &r).expect("apply");
    assert_eq!(
        got["metadata"]["managedFields"][0]["fieldsV1"],
        json!({"f:metadata":{"f:finalizers":{"v:\"example.com/a\"":{}}},
               "f:spec":{"f:items":{},"f:nested":{"f:k":{}},"f:size":{},"f:tags":{}}})
    );
    // An atomic list is replaced as a whole by the next apply.
    let mut cr2 = cr.clone();
    cr2["spec"]["tags"] = json!(["c"]);
    let got2 = ssa::apply(Some(&got), &cr2, &ApplyRequest { now: T1, ..r }).expect("apply");
    assert_eq!(got2["spec"]["tags"], json!(["c"]));
}

#[test]
fn owner_references_and_pull_secrets_are_owned_as_whole_items() {
    let mut cfg = deployment(1, json!([]));
    cfg["metadata"]["ownerReferences"] =
        json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "u-1"}]);
    cfg["spec"]["template"]["spec"]["imagePullSecrets"] = json!([{"name": "pull"}]);
    cfg["spec"]["template"]["spec"]["nodeSelector"] = json!({"disk": "ssd"});
    let got = ssa::apply(None, &cfg, &req("kubectl", T0)).expect("apply");
    let fields = &entry(&got, "kubectl", "Apply")["fieldsV1"];
    assert_eq!(
        fields["f:metadata"]["f:ownerReferences"],
        json!({"k:{\"uid\":\"u-1\"}": {}})
    );
    let pod = &fields["f:spec"]["f:template"]["f:spec"];
    assert_eq!(
        pod["f:imagePullSecrets"],
        json!({"k:{\"name\":\"pull\"}": {}})
    );
    assert_eq!(
        pod["f:nodeSelector"],
        json!({}),
        "nodeSelector is an atomic map"
    );
}

#[test]
fn invalid_applied_configurations_are_rejected() {
    let bad_item = json!({"apiVersion":"apps/v1","kind":"Deployment","spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}});
    assert!(matches!(
        ssa::apply(None, &bad_item, &req("m", T0)),
        Err(ApplyError::Invalid(_))
    ));
    let dup = json!({"apiVersion":"apps/v1","kind":"Deployment","spec":{"template":{"spec":{"containers":[{"name":"a"},{"name":"a"}]}}}});
    let err = ssa::apply(None, &dup, &req("m", T0)).unwrap_err();
    assert!(err.to_string().contains("duplicate"), "{err}");
    assert!(matches!(
        ssa::apply(None, &json!([1]), &req("m", T0)),
        Err(ApplyError::Invalid(_))
    ));
    assert!(matches!(
        ssa::apply(None, &json!({}), &req("", T0)),
        Err(ApplyError::Invalid(_))
    ));
    let with_mf = json!({"metadata":{"managedFields":[{"manager":"x"}]}});
    assert!(matches!(
        ssa::apply(None, &with_mf, &req("m", T0)),
        Err(ApplyError::Invalid(_))
    ));
}

#[test]
fn an_object_without_managed_fields_is_adopted_before_the_first_apply() {
    // No managedFields at all (e.g. written by a client that cleared them).
    let live = deployment(2, json!([]));
    let err = ssa::apply(Some(&live), &deployment(3, json!([])), &req("kubectl", T0)).unwrap_err();
    assert_eq!(
        err,
        ApplyError::Conflicts(vec![FieldConflict {
            manager: ssa::BEFORE_FIRST_APPLY.into(),
            field: ".spec.replicas".into()
        }])
    );
    let ok = ssa::apply(Some(&live), &deployment(2, json!([])), &req("kubectl", T0))
        .expect("same values");
    assert!(
        ssa::managed_paths(&ok, ssa::BEFORE_FIRST_APPLY).contains(&".spec.replicas".to_string())
    );
    assert!(ssa::managed_paths(&ok, "kubectl").contains(&".spec.replicas".to_string()));
}

#[test]
fn conflict_messages_use_kubernetes_wording() {
    let one = vec![FieldConflict {
        manager: "kubectl-client-side-apply".into(),
        field: ".spec.replicas".into(),
    }];
    assert_eq!(
        ssa::conflict_message(&one, Some("apps/v1")),
        "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.replicas"
    );
    assert_eq!(
        ssa::conflict_cause_message(&one[0], "apps/v1"),
        "conflict with \"kubectl-client-side-apply\" using apps/v1"
    );
    let two = vec![
        FieldConflict {
            manager: "m".into(),
            field: ".a".into(),
        },
        FieldConflict {
            manager: "m".into(),
            field: ".b".into(),
        },
    ];
    assert_eq!(
        ssa::conflict_message(&two, Some("v1")),
        "Apply failed with 2 conflicts: conflicts with \"m\" using v1:\n- .a\n- .b"
    );
}
