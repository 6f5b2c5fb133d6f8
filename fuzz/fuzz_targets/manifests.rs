//! Manifests from a repository: a YAML/JSON stream parsed with positions (small limits, so the fuzzer
//! explores the limit errors too), emitted again and re-read to the same values, and every Argo CD
//! object in it decoded and linted.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = capstan_yaml::Limits {
        max_nodes: 20_000,
        max_depth: 64,
    };
    if let Ok(docs) = capstan_yaml::parse_stream_with_limits(text, limits) {
        let values: Vec<serde_json::Value> = docs.into_iter().map(|d| d.value).collect();
        let emitted = capstan_yaml::to_yaml_stream(&values);
        {
            let again = capstan_yaml::parse_stream(&emitted)
                .unwrap_or_else(|e| panic!("emitted YAML does not parse: {e}\n{emitted}"));
            let again: Vec<serde_json::Value> = again.into_iter().map(|d| d.value).collect();
            assert_eq!(
                values, again,
                "emitted YAML reads back differently:\n{emitted}"
            );
        }
    }
    let _ = capstan_lint::lint_text("fuzz.yaml", text);
});
