//! Argo CD's declarative API (`argoproj.io/v1alpha1`) as Rust types.
//!
//! Every struct keeps the fields it does not know in an `extra` map, so a manifest written for a newer
//! Argo CD survives a read/write round trip unchanged. This crate is pure: no I/O, no async.

pub mod annotations;
pub mod enums;

pub use enums::*;
