//! Argo CD's catalog of triggers and templates, built in.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::Value;

/// The catalog as ConfigMap data.
const CATALOG: &str = include_str!("catalog.yaml");

/// Names of the catalog's triggers.
pub const TRIGGERS: &[&str] = &[
    "on-created",
    "on-deleted",
    "on-deployed",
    "on-health-degraded",
    "on-sync-failed",
    "on-sync-running",
    "on-sync-status-unknown",
    "on-sync-succeeded",
];

/// The catalog's keys (`trigger.*`, `template.*`) and values.
pub fn data() -> BTreeMap<String, String> {
    static DATA: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    DATA.get_or_init(|| {
        // the embedded catalog is checked by a test; a parse failure leaves it empty
        let docs = capstan_yaml::parse_stream(CATALOG).unwrap_or_default();
        let mut out = BTreeMap::new();
        if let Some(Value::Object(map)) = docs.into_iter().next().map(|d| d.value) {
            for (k, v) in map {
                if let Value::String(s) = v {
                    out.insert(k, s);
                }
            }
        }
        out
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_has_every_trigger_and_template() {
        let data = data();
        for t in TRIGGERS {
            assert!(data.contains_key(&format!("trigger.{t}")), "{t}");
        }
        assert_eq!(
            data.keys().filter(|k| k.starts_with("template.")).count(),
            8
        );
        let (config, problems) = crate::Config::from_data(&BTreeMap::new(), &BTreeMap::new());
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(config.triggers.len(), 8);
        assert_eq!(config.templates.len(), 8);
    }
}
