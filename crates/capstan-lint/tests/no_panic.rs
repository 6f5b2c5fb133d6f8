//! No input makes the lint panic: random text and every truncation of a valid manifest.

use proptest::prelude::*;

const VALID: &str = include_str!("fixtures/seed-cluster-secret.yaml");
const APP: &str = include_str!("fixtures/seed-application.yaml");
const PROJECT: &str = include_str!("fixtures/seed-appproject.yaml");

#[test]
fn truncations() {
    for text in [VALID, APP, PROJECT] {
        for (i, _) in text.char_indices() {
            let _ = capstan_lint::lint_text("t.yaml", &text[..i]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]
    #[test]
    fn random_edits(pos in 0usize..400, insert in "[a-zA-Z0-9:\\-\\[\\]{}'\" \n,<>.]{1,12}") {
        for base in [VALID, APP, PROJECT] {
            let mut text = base.to_string();
            let mut at = pos.min(text.len());
            while !text.is_char_boundary(at) { at -= 1; }
            text.insert_str(at, &insert);
            let report = capstan_lint::lint_text("t.yaml", &text);
            for p in report.problems {
                prop_assert!(p.line >= 1 && p.column >= 1);
            }
        }
    }
}
