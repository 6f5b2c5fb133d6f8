use super::*;

fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn bad_keys_are_reported_by_key_and_the_rest_works() {
    let cm = data(&[
        (
            "trigger.broken",
            "- when: app.status.sync.status ==\n  send: [app-created]",
        ),
        ("trigger.missing-template", "- when: 'true'\n  send: [nope]"),
        ("template.bad", "message: '{{if .app}}unclosed'"),
        ("template.badfunc", "message: '{{frobnicate .app}}'"),
        ("service.carrierpigeon", "foo: bar"),
        ("service.slack", "apiURL: http://127.0.0.1:1/"),
        ("service.webhook.ok", "url: http://127.0.0.1:1/hook"),
        (
            "trigger.good",
            "when: app.status.health.status == 'Degraded'\nsend: [app-health-degraded]",
        ),
        ("subscriptions", "- recipients: [ok]\n  triggers: [good]"),
        ("defaultTriggers", "- on-sync-failed"),
        ("context", "argocdUrl: https://cd.example.com"),
    ]);
    let (config, problems) = Config::from_data(&cm, &BTreeMap::new());
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "service.carrierpigeon",
            "service.slack",
            "template.bad",
            "template.badfunc",
            "trigger.broken",
            "trigger.missing-template",
        ],
        "{problems:?}"
    );
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        text[0].contains("unknown service type \"carrierpigeon\""),
        "{text:?}"
    );
    assert!(text[1].contains("token"), "{text:?}");
    assert!(text[2].contains("message: line 1"), "{text:?}");
    assert!(text[3].contains("frobnicate"), "{text:?}");
    assert!(text[4].contains("[0].when"), "{text:?}");
    assert!(text[5].contains("\"nope\""), "{text:?}");
    // everything else is usable
    assert!(config.triggers.contains_key("good"));
    assert!(config.triggers.contains_key("on-sync-succeeded"));
    assert!(config.services.contains_key("ok"));
    assert_eq!(config.subscriptions.len(), 1);
    assert_eq!(config.default_triggers, vec!["on-sync-failed"]);
    assert_eq!(config.context["argocdUrl"], "https://cd.example.com");
}

#[test]
fn secrets_are_substituted_and_remembered_for_masking() {
    let cm = data(&[(
        "service.webhook.hook",
        "url: http://127.0.0.1:1/$hook-path\nbasicAuth:\n  username: u\n  password: $hook-password\nheaders:\n- name: X-Unset\n  value: $not-in-secret",
    )]);
    let secret = data(&[("hook-path", "p4th-s3cret"), ("hook-password", "pa55word")]);
    let (config, problems) = Config::from_data(&cm, &secret);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(config.secret_values, vec!["p4th-s3cret", "pa55word"]);
    assert_eq!(config.secrets["hook-password"], "pa55word");
    assert_eq!(
        mask(
            "GET http://127.0.0.1:1/p4th-s3cret refused",
            &config.secret_values
        ),
        "GET http://127.0.0.1:1/***** refused"
    );
}

#[test]
fn overrides_catalog_entries() {
    let cm = data(&[(
        "template.app-sync-succeeded",
        "message: custom {{.app.metadata.name}}",
    )]);
    let (config, problems) = Config::from_data(&cm, &BTreeMap::new());
    assert!(problems.is_empty());
    let out = crate::render::render(
        &config,
        &["app-sync-succeeded".to_string()],
        &serde_json::json!({"metadata": {"name": "x"}}),
        "webhook",
        "",
        chrono::Utc::now().fixed_offset(),
    )
    .unwrap();
    assert_eq!(out.message, "custom x");
}

#[test]
fn secret_data_is_decoded() {
    let s = serde_json::json!({"data": {"a": "aGk="}, "stringData": {"b": "x"}});
    let d = secret_data(Some(&s));
    assert_eq!(d.get("a").map(String::as_str), Some("hi"));
    assert_eq!(d.get("b").map(String::as_str), Some("x"));
}

#[test]
fn templates_see_secrets() {
    let cm = data(&[("template.t", "message: 'token {{.secrets.api}}'")]);
    let secret = data(&[("api", "abc-123-xyz")]);
    let (config, problems) = Config::from_data(&cm, &secret);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(config.secret_values, vec!["abc-123-xyz"]);
    let n = crate::render::render(
        &config,
        &["t".to_string()],
        &serde_json::json!({}),
        "webhook",
        "",
        crate::render::now(),
    )
    .unwrap();
    assert_eq!(n.message, "token abc-123-xyz");
}
