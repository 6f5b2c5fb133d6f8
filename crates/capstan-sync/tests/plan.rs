//! Argo CD's ordering rules, one test per rule.

use capstan_sync::{PlanInput, PlanItem, ResourceKey, ResourceSyncOptions, TaskKind, plan};
use capstan_types::SyncPhase;
use serde_json::{Value, json};

fn obj(api_version: &str, kind: &str, ns: &str, name: &str, annotations: Value) -> Value {
    let mut meta = json!({"name": name, "annotations": annotations});
    if !ns.is_empty() {
        meta["namespace"] = json!(ns);
    }
    json!({"apiVersion": api_version, "kind": kind, "metadata": meta})
}

fn create(o: Value) -> PlanItem {
    PlanItem {
        target: Some(o),
        live: None,
        modified: true,
    }
}

fn order(items: &[PlanItem], options: &ResourceSyncOptions, prune: bool) -> Vec<String> {
    let input = PlanInput {
        items,
        app_options: options,
        prune,
        selected: None,
        skip_hooks: false,
        prune_confirmed: false,
    };
    let plan = plan(&input).unwrap();
    plan.steps
        .iter()
        .flat_map(|s| {
            s.tasks.iter().map(move |t| {
                let what = match &t.kind {
                    TaskKind::Apply => "apply",
                    TaskKind::Hook(_) => "hook",
                    TaskKind::Prune => "prune",
                    TaskKind::PruneSkipped(_) => "skipped",
                };
                format!("{:?}/{}/{what}:{}", s.phase, s.wave, t.key.name)
            })
        })
        .collect()
}

#[test]
fn phase_then_wave_then_kind_then_name() {
    let items = vec![
        create(obj("apps/v1", "Deployment", "ns", "web", json!({}))),
        create(obj("v1", "Service", "ns", "web", json!({}))),
        create(obj("v1", "ConfigMap", "ns", "b", json!({}))),
        create(obj("v1", "ConfigMap", "ns", "a", json!({}))),
        create(obj("example.com/v1", "Widget", "ns", "w", json!({}))),
        create(obj(
            "v1",
            "ConfigMap",
            "ns",
            "late",
            json!({"argocd.argoproj.io/sync-wave": "2"}),
        )),
        create(obj(
            "v1",
            "ConfigMap",
            "ns",
            "early",
            json!({"argocd.argoproj.io/sync-wave": "-1"}),
        )),
        create(obj(
            "batch/v1",
            "Job",
            "ns",
            "pre",
            json!({"argocd.argoproj.io/hook": "PreSync"}),
        )),
        create(obj(
            "batch/v1",
            "Job",
            "ns",
            "post",
            json!({"argocd.argoproj.io/hook": "PostSync"}),
        )),
        create(obj(
            "batch/v1",
            "Job",
            "ns",
            "fail",
            json!({"argocd.argoproj.io/hook": "SyncFail"}),
        )),
        create(obj(
            "v1",
            "ConfigMap",
            "ns",
            "skipped",
            json!({"argocd.argoproj.io/hook": "Skip"}),
        )),
        create(obj(
            "v1",
            "ConfigMap",
            "ns",
            "helm-weighted",
            json!({"helm.sh/hook-weight": "1"}),
        )),
    ];
    let got = order(&items, &ResourceSyncOptions::defaults(), false);
    assert_eq!(
        got,
        [
            "PreSync/0/hook:pre",
            "Sync/-1/apply:early",
            "Sync/0/apply:a",
            "Sync/0/apply:b",
            "Sync/0/apply:web",
            "Sync/0/apply:web",
            "Sync/0/apply:w",
            "Sync/1/apply:helm-weighted",
            "Sync/2/apply:late",
            "PostSync/0/hook:post",
        ]
    );
    // the Service (kind order) comes before the Deployment of the same name
    let input = PlanInput {
        items: &items,
        app_options: &ResourceSyncOptions::defaults(),
        prune: false,
        selected: None,
        skip_hooks: false,
        prune_confirmed: false,
    };
    let p = plan(&input).unwrap();
    let web: Vec<&str> = p
        .tasks()
        .filter(|t| t.key.name == "web")
        .map(|t| t.key.kind.as_str())
        .collect();
    assert_eq!(web, ["Service", "Deployment"]);
    assert_eq!(p.sync_fail.len(), 1);
    assert_eq!(p.sync_fail[0].phase, SyncPhase::SyncFail);
}

#[test]
fn namespace_and_crd_move_before_their_first_user() {
    let items = vec![
        create(obj(
            "v1",
            "ConfigMap",
            "team",
            "cm",
            json!({"argocd.argoproj.io/sync-wave": "-5"}),
        )),
        create(obj("v1", "Namespace", "", "team", json!({}))),
        create(obj(
            "example.com/v1",
            "Widget",
            "team",
            "w",
            json!({"argocd.argoproj.io/sync-wave": "-3"}),
        )),
        PlanItem {
            target: Some(
                json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": "widgets.example.com"},
                "spec": {"group": "example.com", "names": {"kind": "Widget", "plural": "widgets"}}}),
            ),
            live: None,
            modified: true,
        },
    ];
    let got = order(&items, &ResourceSyncOptions::defaults(), false);
    assert_eq!(
        got,
        [
            "Sync/-5/apply:team",
            "Sync/-5/apply:cm",
            "Sync/-3/apply:widgets.example.com",
            "Sync/-3/apply:w"
        ]
    );
}

#[test]
fn prune_runs_in_reverse_waves_and_prune_last_after_everything() {
    let live = |name: &str, wave: &str, extra: Value| {
        let mut a = json!({"argocd.argoproj.io/sync-wave": wave});
        if let Value::Object(m) = extra {
            a.as_object_mut().unwrap().extend(m);
        }
        PlanItem {
            target: None,
            live: Some(obj("v1", "ConfigMap", "ns", name, a)),
            modified: true,
        }
    };
    let items = vec![
        create(obj(
            "v1",
            "ConfigMap",
            "ns",
            "keep",
            json!({"argocd.argoproj.io/sync-wave": "3"}),
        )),
        live("old-1", "1", json!({})),
        live("old-2", "2", json!({})),
        live(
            "old-last",
            "0",
            json!({"argocd.argoproj.io/sync-options": "PruneLast=true"}),
        ),
        live(
            "protected",
            "0",
            json!({"argocd.argoproj.io/sync-options": "Prune=false"}),
        ),
    ];
    let got = order(&items, &ResourceSyncOptions::defaults(), true);
    // the distinct prune waves 0, 1, 2 are swapped symmetrically (0<->2, 1 stays); PruneLast then goes one
    // wave after the last Sync wave (3)
    assert_eq!(
        got,
        [
            "Sync/0/prune:old-2",
            "Sync/1/prune:old-1",
            "Sync/3/apply:keep",
            "Sync/4/prune:old-last"
        ]
    );
    let input = PlanInput {
        items: &items,
        app_options: &ResourceSyncOptions::defaults(),
        prune: true,
        selected: None,
        skip_hooks: false,
        prune_confirmed: false,
    };
    let p = plan(&input).unwrap();
    assert_eq!(p.skipped.len(), 1);
    assert_eq!(
        p.skipped[0].kind,
        TaskKind::PruneSkipped("ignored (no prune)".into())
    );
    // without prune nothing is deleted
    let no_prune = order(&items, &ResourceSyncOptions::defaults(), false);
    assert_eq!(no_prune, ["Sync/3/apply:keep"]);
}

#[test]
fn apply_out_of_sync_only_and_selective_sync() {
    let synced = PlanItem {
        target: Some(obj("v1", "ConfigMap", "ns", "same", json!({}))),
        live: Some(obj("v1", "ConfigMap", "ns", "same", json!({}))),
        modified: false,
    };
    let changed = PlanItem {
        target: Some(obj("v1", "ConfigMap", "ns", "changed", json!({}))),
        live: Some(obj("v1", "ConfigMap", "ns", "changed", json!({}))),
        modified: true,
    };
    let hook = create(obj(
        "batch/v1",
        "Job",
        "ns",
        "pre",
        json!({"argocd.argoproj.io/hook": "PreSync"}),
    ));
    let items = vec![synced, changed, hook];
    let only = ResourceSyncOptions::for_application(["ApplyOutOfSyncOnly=true"]).unwrap();
    assert_eq!(
        order(&items, &only, false),
        ["PreSync/0/hook:pre", "Sync/0/apply:changed"]
    );
    let selection = [ResourceKey {
        group: String::new(),
        kind: "ConfigMap".into(),
        namespace: "ns".into(),
        name: "same".into(),
    }];
    let input = PlanInput {
        items: &items,
        app_options: &ResourceSyncOptions::defaults(),
        prune: false,
        selected: Some(&selection),
        skip_hooks: true,
        prune_confirmed: false,
    };
    let p = plan(&input).unwrap();
    let names: Vec<&str> = p.tasks().map(|t| t.key.name.as_str()).collect();
    assert_eq!(names, ["same"]);
}

#[test]
fn bad_sync_options_annotation_names_the_resource() {
    let items = vec![create(obj(
        "v1",
        "ConfigMap",
        "ns",
        "x",
        json!({"argocd.argoproj.io/sync-options": "Replace=perhaps"}),
    ))];
    let input = PlanInput {
        items: &items,
        app_options: &ResourceSyncOptions::defaults(),
        prune: false,
        selected: None,
        skip_hooks: false,
        prune_confirmed: false,
    };
    let err = plan(&input).unwrap_err();
    assert!(err.to_string().contains("ConfigMap/ns/x"), "{err}");
}
