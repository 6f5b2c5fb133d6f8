use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use serde_json::json;

use super::*;
use crate::subscriptions::resolve;

fn app(phase: &str, health: &str, revision: &str) -> Value {
    json!({
        "metadata": {"name": "guestbook", "namespace": "argocd", "annotations": {
            "notifications.argoproj.io/subscribe.on-sync-succeeded.hook": "",
            "notifications.argoproj.io/subscribe.on-health-degraded.hook": "",
            "notifications.argoproj.io/subscribe.on-deployed.hook": ""
        }},
        "status": {
            "health": {"status": health},
            "operationState": {"phase": phase, "syncResult": {"revision": revision}}
        }
    })
}

fn config() -> Config {
    let (c, problems) = Config::from_data(&BTreeMap::new(), &BTreeMap::new());
    assert!(problems.is_empty());
    c
}

/// Evaluates and applies the result to `sent` as the controller does after delivery.
fn step(config: &Config, app: &Value, sent: &mut BTreeSet<String>) -> Vec<String> {
    let subs = resolve(config, app, None);
    let env = Env::for_app(app);
    let eval = evaluate(config, app, &subs, &|k| sent.contains(k), &env);
    assert!(eval.errors.is_empty(), "{:?}", eval.errors);
    for k in &eval.cleared {
        sent.remove(k);
    }
    let mut triggers = Vec::new();
    for d in eval.due {
        sent.insert(d.key);
        triggers.push(d.trigger);
    }
    triggers
}

#[test]
fn sends_once_per_event_and_again_after_it_clears() {
    let c = config();
    let mut sent = BTreeSet::new();
    assert_eq!(
        step(&c, &app("Succeeded", "Healthy", "r1"), &mut sent),
        vec!["on-deployed", "on-sync-succeeded"]
    );
    // nothing new while the state holds
    assert!(step(&c, &app("Succeeded", "Healthy", "r1"), &mut sent).is_empty());
    assert_eq!(
        step(&c, &app("Succeeded", "Degraded", "r1"), &mut sent),
        vec!["on-health-degraded"]
    );
    // a new sync: Running clears on-sync-succeeded; on-deployed stays recorded for r1
    assert!(step(&c, &app("Running", "Healthy", "r1"), &mut sent).is_empty());
    assert_eq!(
        step(&c, &app("Succeeded", "Healthy", "r1"), &mut sent),
        vec!["on-sync-succeeded"]
    );
    // a new revision deploys again
    assert_eq!(
        step(&c, &app("Running", "Healthy", "r2"), &mut sent),
        Vec::<String>::new()
    );
    assert_eq!(
        step(&c, &app("Succeeded", "Healthy", "r2"), &mut sent),
        vec!["on-deployed", "on-sync-succeeded"]
    );
}

#[test]
fn record_round_trips_through_the_annotation() {
    let mut notified = Notified::new();
    for i in 0..60 {
        notified.insert(format!("k{i:02}"), 1000 + i);
    }
    let encoded = encode_notified(&notified);
    let app = json!({"metadata": {"annotations": {NOTIFIED_ANNOTATION: encoded}}});
    let back = read_notified(&app);
    assert_eq!(back.len(), MAX_ENTRIES);
    assert!(back.contains_key("k59") && !back.contains_key("k00"));
    assert!(
        read_notified(&json!({"metadata": {"annotations": {NOTIFIED_ANNOTATION: "garbage"}}}))
            .is_empty()
    );
    let _ = Utc::now();
}

#[test]
fn unknown_trigger_and_eval_error_are_reported() {
    let data: BTreeMap<String, String> = [(
        "trigger.bad-eval".to_string(),
        "- when: time.Parse(app.metadata.name) == nil\n  send: [app-created]".to_string(),
    )]
    .into_iter()
    .collect();
    let (c, problems) = Config::from_data(&data, &BTreeMap::new());
    assert!(problems.is_empty());
    let a = json!({"metadata": {"name": "x", "annotations": {
        "notifications.argoproj.io/subscribe.bad-eval.hook": "",
        "notifications.argoproj.io/subscribe.nope.hook": "",
        "notifications.argoproj.io/subscribe.on-created.hook": ""
    }}});
    let subs = resolve(&c, &a, None);
    let eval = evaluate(&c, &a, &subs, &|_| false, &Env::for_app(&a));
    assert_eq!(eval.errors.len(), 2, "{:?}", eval.errors);
    assert_eq!(eval.due.len(), 1);
    assert_eq!(eval.due[0].trigger, "on-created");
    assert!(eval.due[0].key.starts_with("x:on-created:[0]."));
}
