//! Prometheus counters with Argo CD's names: `argocd_notifications_deliveries_total`
//! (`exported_service`, `succeeded`, `trigger`) and `argocd_notifications_trigger_eval_total`
//! (`name`, `triggered`), plus Capstan's `capstan_notifications_delivery_attempts_failed_total`
//! (`exported_service`) and the `capstan_notifications_config_problem{key}` gauge.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use crate::config::ConfigProblem;
use crate::error::NotifyError;

/// Counters, keyed by name and formatted labels.
#[derive(Debug, Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, String), u64>>,
    config_problems: Mutex<Vec<ConfigProblem>>,
}

/// Deliveries by service, result and trigger.
pub const DELIVERIES: &str = "argocd_notifications_deliveries_total";
/// Trigger evaluations.
pub const TRIGGER_EVAL: &str = "argocd_notifications_trigger_eval_total";
/// Failed attempts (each retry counts).
pub const FAILED_ATTEMPTS: &str = "capstan_notifications_delivery_attempts_failed_total";

const HELP: &[(&str, &str)] = &[
    (DELIVERIES, "Number of delivered notifications."),
    (TRIGGER_EVAL, "Number of trigger evaluations."),
    (
        FAILED_ATTEMPTS,
        "Number of failed delivery attempts, retries included.",
    ),
];

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Adds one to `name` with `labels` (name, value pairs).
    pub fn inc(&self, name: &'static str, labels: &[(&str, &str)]) {
        let labels = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect::<Vec<_>>()
            .join(",");
        *self
            .counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((name, labels))
            .or_insert(0) += 1;
    }

    /// The sum of `name` over label sets containing every pair of `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        let wanted: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        self.counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|((n, l), _)| *n == name && wanted.iter().all(|w| l.split(',').any(|p| p == w)))
            .map(|(_, v)| *v)
            .sum()
    }

    /// Records the ConfigMap keys that could not be used at the last load.
    pub fn set_config_problems(&self, problems: &[ConfigProblem]) {
        *self
            .config_problems
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = problems.to_vec();
    }

    /// The ConfigMap keys that could not be used at the last load.
    pub fn config_problems(&self) -> Vec<ConfigProblem> {
        self.config_problems
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
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
        out.push_str(
            "# HELP capstan_notifications_config_problem A ConfigMap key that could not be used.\n# TYPE capstan_notifications_config_problem gauge\n",
        );
        for p in self.config_problems() {
            out.push_str(&format!(
                "capstan_notifications_config_problem{{key=\"{}\"}} 1\n",
                escape(&p.key)
            ));
        }
        out
    }
}

/// Serves `/metrics` on `addr` until `cancel`; returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) -> Result<SocketAddr, NotifyError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| NotifyError::Metrics {
            addr: addr.to_string(),
            message: e.to_string(),
        })?;
    let bound = listener.local_addr().map_err(|e| NotifyError::Metrics {
        addr: addr.to_string(),
        message: e.to_string(),
    })?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move { metrics.render() }
        }),
    );
    tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(cancel.cancelled_owned());
        if let Err(e) = server.await {
            tracing::warn!("notifications metrics server: {e}");
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_renders() {
        let m = Metrics::default();
        m.inc(
            DELIVERIES,
            &[
                ("exported_service", "webhook"),
                ("succeeded", "false"),
                ("trigger", "t"),
            ],
        );
        m.inc(
            DELIVERIES,
            &[
                ("exported_service", "webhook"),
                ("succeeded", "false"),
                ("trigger", "u"),
            ],
        );
        assert_eq!(m.sum(DELIVERIES, &[("succeeded", "false")]), 2);
        assert_eq!(m.sum(DELIVERIES, &[("succeeded", "true")]), 0);
        let text = m.render();
        assert!(text.contains(
            "argocd_notifications_deliveries_total{exported_service=\"webhook\",succeeded=\"false\",trigger=\"t\"} 1"
        ), "{text}");
    }
}
