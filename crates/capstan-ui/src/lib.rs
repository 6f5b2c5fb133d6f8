//! Capstan's web UI, as pure functions: view models built from Argo CD's JSON objects, server-side
//! HTML rendered by compile-time checked templates (maud), the embedded CSS and JavaScript, the status
//! badge SVG, list filters and paging parsed from the URL, and link sanitising. No I/O: the HTTP
//! handlers in `capstan-server` fetch the data, check RBAC and call these functions.

pub mod assets;
pub mod badge;
pub mod create;
pub mod filters;
pub mod graph;
pub mod links;
pub mod model;
pub mod pages;
pub mod params;
pub mod project_edit;
pub mod security;
pub mod tree;
