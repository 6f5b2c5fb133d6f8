//! Capstan notifications: a drop-in for Argo CD's notifications controller.
//!
//! Argo CD's configuration is read unchanged: `argocd-notifications-cm` (`trigger.<name>`,
//! `template.<name>`, `service.<type>[.<name>]`, `subscriptions`, `defaultTriggers`, `context`) and
//! `argocd-notifications-secret` (`$key` references in service settings), plus the subscription
//! annotations `notifications.argoproj.io/subscribe.<trigger>.<service>` on Applications and
//! AppProjects.
//!
//! The pure parts are plain functions: [`expr`] (the `when`/`oncePer` expression language of
//! Argo CD's catalog), [`gotmpl`] (Go `text/template` for message templates), [`config`] (ConfigMap
//! data to typed configuration, every problem naming its key), [`subscriptions`] and [`state`]
//! (which notifications are due, and the `notified.notifications.argoproj.io` record that makes a
//! restart not send twice). [`services`] delivers (webhook, Slack, email, GitHub commit status,
//! Microsoft Teams); [`controller`] watches Applications and sends without blocking, with retries
//! and Prometheus counters ([`metrics`]).

pub mod catalog;
pub mod config;
pub mod controller;
pub mod error;
pub mod expr;
pub mod gotmpl;
pub mod metrics;
pub mod redact;
pub mod render;
pub mod services;
pub mod state;
pub mod subscriptions;

pub use config::{Config, ConfigProblem};
pub use controller::{ControllerOptions, RetryPolicy, run_controller};
pub use error::NotifyError;
pub use metrics::Metrics;
