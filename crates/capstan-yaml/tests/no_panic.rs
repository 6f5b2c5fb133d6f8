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
