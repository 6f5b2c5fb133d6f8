//! argocd-cm settings, tracking, Secret masking and diff output.

use std::collections::BTreeMap;

use capstan_diff::mask::{REPLACEMENT, hide_secret_data};
use capstan_diff::output::{resource_diff_json, unified_yaml_diff};
use capstan_diff::tracking::{
    Tracking, TrackingError, TrackingId, TrackingMethod, app_instance_name, find_shared_resources,
    parse_app_instance_name,
};
use capstan_diff::{
    CompareOptionsAnnotation, DiffOptions, StatusFieldMode, SystemDiffSettings, diff,
    resource_sync_status,
};
use capstan_types::SyncStatusCode;
use serde_json::json;

fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn system_settings_from_argocd_cm() {
    let settings = SystemDiffSettings::from_config_map_data(&data(&[
        ("resource.customizations.ignoreDifferences.all", "managedFieldsManagers:\n- kube-controller-manager\n"),
        ("resource.customizations.ignoreDifferences.apps_Deployment", "jsonPointers:\n- /spec/replicas\n"),
        ("resource.customizations.ignoreDifferences.Service", "jqPathExpressions:\n- .spec.clusterIP\n"),
        ("resource.compareoptions", "ignoreAggregatedRoles: true\nignoreResourceStatusField: crd\n"),
        ("resource.customizations", "admissionregistration.k8s.io/MutatingWebhookConfiguration:\n  ignoreDifferences: |\n    jsonPointers:\n    - /webhooks/0/clientConfig/caBundle\n"),
    ]))
    .unwrap();
    assert!(settings.compare.ignore_aggregated_roles);
    assert_eq!(
        settings.compare.ignore_resource_status_field,
        StatusFieldMode::Crd
    );
    let kinds: Vec<(&str, &str)> = settings
        .ignore_differences
        .iter()
        .map(|r| (r.group.as_str(), r.kind.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (
                "admissionregistration.k8s.io",
                "MutatingWebhookConfiguration"
            ),
            ("", "Service"),
            ("*", "*"),
            ("apps", "Deployment")
        ]
    );
    assert_eq!(
        settings.ignore_differences[2].managed_fields_managers,
        ["kube-controller-manager"]
    );

    let opts = settings.options_for_app(&[]);
    let desired = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": 1}});
    let live = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": 4}});
    assert!(!diff(Some(&desired), Some(&live), &opts).unwrap().modified);
    assert!(
        diff(Some(&desired), Some(&live), &DiffOptions::default())
            .unwrap()
            .modified
    );
}

#[test]
fn bad_settings_name_the_key() {
    let err = SystemDiffSettings::from_config_map_data(&data(&[(
        "resource.compareoptions",
        "ignoreResourceStatusField: sometimes",
    )]))
    .unwrap_err();
    assert!(err.to_string().contains("resource.compareoptions"), "{err}");
    let err = SystemDiffSettings::from_config_map_data(&data(&[(
        "resource.customizations.ignoreDifferences.a_b_c",
        "jsonPointers: []",
    )]))
    .unwrap_err();
    assert!(err.to_string().contains("ignoreDifferences.a_b_c"), "{err}");
}

#[test]
fn tracking_id_format_and_parse() {
    let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "prod"}});
    let id = TrackingId::for_object("guestbook", &obj);
    assert_eq!(id.to_string(), "guestbook:apps/Deployment:prod/web");
    assert_eq!(
        "guestbook:apps/Deployment:prod/web"
            .parse::<TrackingId>()
            .unwrap(),
        id
    );
    let core: TrackingId = "team_app:/ConfigMap:ns/cm".parse().unwrap();
    assert_eq!((core.group.as_str(), core.kind.as_str()), ("", "ConfigMap"));
    let cluster: TrackingId = "app:rbac.authorization.k8s.io/ClusterRole:/admin"
        .parse()
        .unwrap();
    assert_eq!(cluster.namespace, "");
    for bad in [
        "app",
        "app:Deployment:ns/web",
        "app:apps/Deployment:web",
        ":apps/Deployment:ns/web",
        "a:b:c:d",
    ] {
        assert!(
            matches!(
                bad.parse::<TrackingId>(),
                Err(TrackingError::InvalidTrackingId(_))
            ),
            "{bad}"
        );
    }
    assert_eq!(app_instance_name("app", "argocd", "argocd"), "app");
    assert_eq!(app_instance_name("app", "team-a", "argocd"), "team-a_app");
    assert_eq!(
        parse_app_instance_name("team-a_app", "argocd"),
        ("team-a".to_string(), "app".to_string())
    );
    assert_eq!(
        parse_app_instance_name("app", "argocd"),
        ("argocd".to_string(), "app".to_string())
    );
}

#[test]
fn tracking_methods_and_shared_resources() {
    let mut obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "ns"}});
    let annotation = Tracking::default();
    annotation.set_app_instance(&mut obj, "app-a").unwrap();
    assert_eq!(
        obj["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"],
        "app-a:/ConfigMap:ns/cm"
    );
    assert!(obj["metadata"].get("labels").is_none());
    assert_eq!(annotation.app_instance(&obj).as_deref(), Some("app-a"));
    assert_eq!(
        annotation.claimed_by_other(&obj, "app-b").as_deref(),
        Some("app-a")
    );
    assert_eq!(annotation.claimed_by_other(&obj, "app-a"), None);

    // A copy of the object under another name keeps a tracking-id that does not name it.
    let mut copy = obj.clone();
    copy["metadata"]["name"] = json!("cm-copy");
    assert_eq!(annotation.app_instance(&copy), None);

    let both = Tracking {
        method: TrackingMethod::AnnotationAndLabel,
        ..Tracking::default()
    };
    let mut obj2 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}});
    both.set_app_instance(&mut obj2, "app-a").unwrap();
    assert_eq!(
        obj2["metadata"]["labels"]["app.kubernetes.io/instance"],
        "app-a"
    );
    let label = Tracking {
        method: "label".parse().unwrap(),
        instance_label_key: "argocd.argoproj.io/instance".into(),
    };
    let mut obj3 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "labels": null}});
    label.set_app_instance(&mut obj3, "app-c").unwrap();
    assert_eq!(label.app_instance(&obj3).as_deref(), Some("app-c"));
    let long = "a".repeat(64);
    assert!(matches!(
        label.set_app_instance(&mut obj3, &long),
        Err(TrackingError::LabelTooLong { len: 64, .. })
    ));
    assert!(
        annotation.set_app_instance(&mut obj3, &long).is_ok(),
        "annotations have no 63-character limit"
    );
    assert!("labels".parse::<TrackingMethod>().is_err());

    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "ns"}});
    let other = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other", "namespace": "ns"}});
    let shared = find_shared_resources([("b", &cm), ("a", &cm), ("a", &other), ("a", &cm)]);
    assert_eq!(shared.len(), 1);
    assert_eq!(shared[0].apps, ["a", "b"]);
    assert_eq!(shared[0].object.name, "cm");
}

#[test]
fn secret_values_are_masked_consistently() {
    let target = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "data": {"same": "YQ==", "changed": "YQ=="}, "stringData": {"plain": "hunter2"}});
    let live = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"data\":{\"same\":\"YQ==\"}}"}},
        "data": {"same": "YQ==", "changed": "Yg=="}});
    let (t, l) = hide_secret_data(Some(&target), Some(&live));
    let (t, l) = (t.unwrap(), l.unwrap());
    assert_eq!(t["data"]["same"], REPLACEMENT);
    assert_eq!(l["data"]["same"], REPLACEMENT);
    assert_eq!(t["data"]["changed"], REPLACEMENT);
    assert_eq!(l["data"]["changed"], "++++++++++++");
    assert_eq!(t["data"]["plain"], REPLACEMENT);
    assert!(t.get("stringData").is_none());
    let last_applied =
        l["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .unwrap();
    assert!(
        last_applied.contains(REPLACEMENT) && !last_applied.contains("YQ=="),
        "{last_applied}"
    );

    let r = diff(Some(&target), Some(&live), &DiffOptions::default()).unwrap();
    assert!(r.modified);
    let out = resource_diff_json(Some(&target), Some(&live), &r);
    for text in [
        &out.diff,
        &out.target_state,
        &out.live_state,
        &out.predicted_live_state,
        &out.normalized_live_state,
    ] {
        assert!(
            !text.contains("YQ==")
                && !text.contains("Yg==")
                && !text.contains("aHVudGVyMg")
                && !text.contains("hunter2"),
            "{text}"
        );
    }
    assert!(out.diff.contains("changed"), "{}", out.diff);
    // non-secrets are untouched
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}});
    assert_eq!(hide_secret_data(Some(&cm), None).0.unwrap(), cm);
}

#[test]
fn unified_yaml_diff_shows_the_change() {
    let desired = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": 2}});
    let live = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": 1}});
    let r = diff(Some(&desired), Some(&live), &DiffOptions::default()).unwrap();
    let text = unified_yaml_diff(&r, "apps/Deployment/d");
    assert!(
        text.contains("-  replicas: 1") && text.contains("+  replicas: 2"),
        "{text}"
    );
    assert!(text.starts_with("--- apps/Deployment/d (live)"), "{text}");
    let same = diff(Some(&live), Some(&live), &DiffOptions::default()).unwrap();
    assert_eq!(unified_yaml_diff(&same, "x"), "");
    let json_form =
        serde_json::to_value(resource_diff_json(Some(&desired), Some(&live), &r)).unwrap();
    assert_eq!(json_form["modified"], true);
    assert_eq!(json_form["group"], "apps");
    assert!(
        json_form["predictedLiveState"]
            .as_str()
            .unwrap()
            .contains("\"replicas\":2")
    );
}

#[test]
fn compare_options_and_sync_status() {
    let extraneous = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c",
        "annotations": {"argocd.argoproj.io/compare-options": "IgnoreExtraneous, ServerSideDiff=true"}}});
    let opts = CompareOptionsAnnotation::of(&extraneous);
    assert!(opts.ignore_extraneous);
    assert_eq!(opts.server_side_diff, Some(true));
    let r = diff(None, Some(&extraneous), &DiffOptions::default()).unwrap();
    assert_eq!(
        resource_sync_status(None, Some(&extraneous), &r),
        SyncStatusCode::Synced
    );
    let plain = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    let r = diff(None, Some(&plain), &DiffOptions::default()).unwrap();
    assert_eq!(
        resource_sync_status(None, Some(&plain), &r),
        SyncStatusCode::OutOfSync
    );
    let r = diff(Some(&plain), Some(&plain), &DiffOptions::default()).unwrap();
    assert_eq!(
        resource_sync_status(Some(&plain), Some(&plain), &r),
        SyncStatusCode::Synced
    );
}

#[test]
fn settings_from_config_map_object_and_thread_safety() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "argocd-cm"},
        "data": {"resource.compareoptions": "ignoreResourceStatusField: off\n"}});
    let settings = SystemDiffSettings::from_config_map(&cm).unwrap();
    assert_eq!(
        settings.compare.ignore_resource_status_field,
        StatusFieldMode::Off
    );
    let bad = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"resource.compareoptions": {"nested": true}}});
    assert!(
        SystemDiffSettings::from_config_map(&bad)
            .unwrap_err()
            .to_string()
            .contains("data.resource.compareoptions")
    );
    fn send_sync<T: Send + Sync>() {}
    send_sync::<capstan_diff::Differ>();
}

#[test]
fn objects_are_paired_by_identity() {
    use capstan_diff::tracking::pair_by_identity;
    let desired = vec![
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "prod"}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "new"}}),
    ];
    let live = vec![
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "prod"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "extra", "namespace": "default"}}),
    ];
    let pairs = pair_by_identity(&desired, &live, "default");
    let shape: Vec<(Option<&str>, Option<&str>)> = pairs
        .iter()
        .map(|(d, l)| {
            (
                d.map(|d| d["metadata"]["name"].as_str().unwrap()),
                l.map(|l| l["metadata"]["name"].as_str().unwrap()),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            (Some("a"), Some("a")),
            (Some("web"), Some("web")),
            (Some("r"), Some("r")),
            (Some("new"), None),
            (None, Some("extra"))
        ]
    );
}

#[test]
fn sensitive_secret_annotations_are_masked() {
    use capstan_diff::mask::hide_secret_data_with;
    use capstan_diff::output::resource_diff_json_with;
    let settings = SystemDiffSettings::from_config_map_data(&data(&[(
        "resource.sensitive.mask.annotations",
        "token/value, key",
    )]))
    .unwrap();
    assert_eq!(
        settings
            .mask_annotations
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["key", "token/value"]
    );
    let target = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s",
        "annotations": {"token/value": "new-secret", "app": "test"}}});
    let live = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s",
        "annotations": {"token/value": "secret", "app": "test",
            "kubectl.kubernetes.io/last-applied-configuration": "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"annotations\":{\"token/value\":\"secret\"}}}"}}});
    let (t, l) = hide_secret_data_with(Some(&target), Some(&live), &settings.mask_annotations);
    let (t, l) = (t.unwrap(), l.unwrap());
    assert_eq!(t["metadata"]["annotations"]["token/value"], REPLACEMENT);
    assert_eq!(l["metadata"]["annotations"]["token/value"], "++++++++++++");
    assert_eq!(l["metadata"]["annotations"]["app"], "test");
    let applied = l["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
        .as_str()
        .unwrap();
    assert!(!applied.contains("\"secret\""), "{applied}");
    // listing the last-applied annotation masks it as a whole
    let all: std::collections::BTreeSet<String> =
        ["kubectl.kubernetes.io/last-applied-configuration".to_string()].into();
    let (_, l) = hide_secret_data_with(Some(&target), Some(&live), &all);
    assert_eq!(
        l.unwrap()["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"],
        REPLACEMENT
    );
    let r = diff(Some(&target), Some(&live), &DiffOptions::default()).unwrap();
    let out = resource_diff_json_with(Some(&target), Some(&live), &r, &settings.mask_annotations);
    assert!(
        !out.diff.contains("new-secret") && !out.live_state.contains("\"secret\""),
        "{}",
        out.diff
    );
}
