//! The parser never panics: random text, random bytes made into text, and every truncation of real
//! manifests either parse or give an error with a position inside the text.

use proptest::prelude::*;

const MANIFEST: &str = r#"apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: argocd
  labels: &l {app: "guestbook", tier: frontend}
spec:
  project: default
  source:
    repoURL: https://github.com/argoproj/argocd-example-apps.git
    targetRevision: HEAD
    path: guestbook
    helm:
      values: |
        replicas: 2
        image: {tag: "1.0"}
  destination: {server: "https://kubernetes.default.svc", namespace: guestbook}
  syncPolicy:
    syncOptions: [CreateNamespace=true, 'PruneLast=true']
    other: *l
---
{"kind": "List", "items": [1, 2.5, null, true, "x"]}
"#;

fn check(text: &str) {
    match capstan_yaml::parse_stream(text) {
        Ok(docs) => {
            for doc in docs {
                let _ = doc.locate(&capstan_yaml::FieldPath::parse("spec.source.repoURL"));
            }
        }
        Err(err) => {
            let lines = text.lines().count().max(1) + 1;
            assert!(
                err.position.line >= 1 && err.position.line <= lines,
                "{err} beyond {lines} lines"
            );
            assert!(!err.message.is_empty());
        }
    }
}

#[test]
fn every_truncation_of_a_manifest() {
    for (i, _) in MANIFEST.char_indices() {
        check(&MANIFEST[..i]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_text(text in "\\PC{0,200}") {
        check(&text);
    }

    #[test]
    fn yaml_like_text(text in "[a-z:\\-\\[\\]{}&*!|>'\" \n#,.0-9<]{0,200}") {
        check(&text);
    }

    #[test]
    fn mutated_manifest(pos in 0usize..900, insert in "[:\\-\\[\\]{}&*!|>'\" \n\t#,]{1,4}") {
        let mut text = MANIFEST.to_string();
        let mut at = pos.min(text.len());
        while !text.is_char_boundary(at) { at -= 1; }
        text.insert_str(at, &insert);
        check(&text);
    }
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        "\\PC{0,12}".prop_map(Value::String),
        "[a-z0-9 :#\\-\\n'\"{}\\[\\],|>&*!%@`~.]{0,16}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z0-9 ._/:#\\-]{0,10}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Whatever is written reads back as the same value.
    #[test]
    fn emit_then_parse_round_trips(value in arb_json()) {
        let text = capstan_yaml::to_yaml_string(&value);
        let docs = capstan_yaml::parse_stream(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let back = docs.into_iter().next().map(|d| d.value).unwrap_or(serde_json::Value::Null);
        prop_assert_eq!(back, value, "{}", text);
    }
}
