//! Patching Kubernetes objects as pure functions: RFC 6902 JSON patch, RFC 7386 JSON merge
//! patch, strategic merge patch (with the merge keys and directives of the built-in kinds, and
//! the three-way patch `kubectl apply` computes) and server-side apply field ownership
//! (`metadata.managedFields` in the FieldsV1 encoding, conflicts, removal of fields a manager
//! stopped applying).

mod depth;
mod error;
mod json_patch;
mod merge;
pub mod schema;
pub mod ssa;
pub mod strategic;

pub use depth::{MAX_DEPTH, within_depth};
pub use error::PatchError;
pub use json_patch::{apply_json_patch, json_equal, parse_pointer};
pub use merge::{apply_merge_patch, create_merge_patch};
pub use strategic::{
    apply_strategic_merge_patch, has_strategic_merge_info, three_way_strategic_patch,
    two_way_strategic_patch,
};
