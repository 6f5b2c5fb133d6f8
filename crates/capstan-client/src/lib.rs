//! Client side of Capstan's REST API (Argo CD's paths and JSON shapes) for the `capstan` CLI:
//! [`Config`] is the file of contexts (`$XDG_CONFIG_HOME/capstan/config`, mode 0600, like argocd's
//! `~/.config/argocd/config`), [`ApiClient`] a blocking HTTP client whose errors are one line each.

pub mod api;
pub mod client;
pub mod config;
pub mod error;
pub mod prompt;
pub mod sso;
pub mod watch;

pub use client::{ApiClient, Connection};
pub use config::{Config, Context, Server, User};
pub use error::ClientError;
