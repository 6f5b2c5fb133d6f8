//! Argo CD's declarative API (`argoproj.io/v1alpha1`) as Rust types.
//!
//! Every struct keeps the fields it does not know in an `extra` map, and optional fields stay
//! `Option`s, so a manifest written for a newer Argo CD survives a read/write round trip unchanged
//! (a test over Argo CD's own manifests proves it). This crate is pure: no I/O, no async.

pub mod annotations;
pub mod application;
pub mod applicationset;
pub mod decode;
pub mod duration;
pub mod enums;
pub mod meta;
pub mod project;
pub mod source;

pub use application::*;
pub use applicationset::*;
pub use decode::{DecodeError, decode};
pub use enums::*;
pub use meta::{Extra, IntOrString, ObjectMeta};
pub use project::*;
pub use source::*;

/// The three kinds of `argoproj.io/v1alpha1`.
pub mod kinds {
    /// Application.
    pub const APPLICATION: &str = "Application";
    /// AppProject.
    pub const APP_PROJECT: &str = "AppProject";
    /// ApplicationSet.
    pub const APPLICATION_SET: &str = "ApplicationSet";
}
