//! Prometheus counters of the API server, served in the text exposition format on their own port.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Counters with labels.
#[derive(Debug, Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, String), u64>>,
}

/// Help texts of the counters.
const HELP: &[(&str, &str)] = &[
    ("argocd_login_request_total", "Number of login requests."),
    (
        "argocd_webhook_requests_total",
        "Number of webhook requests received by repo_url.",
    ),
    (
        "argocd_api_requests_total",
        "Number of API requests by method and HTTP status.",
    ),
];

impl Metrics {
    /// Adds one to `name{labels}`; `labels` is already formatted (`status="success"`).
    pub fn inc(&self, name: &'static str, labels: String) {
        *self
            .counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((name, labels))
            .or_insert(0) += 1;
    }

    /// Current value of `name{labels}`.
    pub fn get(&self, name: &'static str, labels: &str) -> u64 {
        self.counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(name, labels.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        for (name, help) in HELP {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
            for ((n, labels), value) in counters.iter() {
                if n == name {
                    out.push_str(&format!("{name}{{{labels}}} {value}\n"));
                }
            }
        }
        out
    }
}

/// Escapes a label value.
pub fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters() {
        let m = Metrics::default();
        m.inc("argocd_login_request_total", "status=\"failure\"".into());
        m.inc("argocd_login_request_total", "status=\"failure\"".into());
        let text = m.render();
        assert!(text.contains("# TYPE argocd_login_request_total counter"));
        assert!(text.contains("argocd_login_request_total{status=\"failure\"} 2\n"));
        assert_eq!(label("a\"b"), "a\\\"b");
    }
}
