//! Sandboxed Lua 5.1 for Argo CD compatible custom health checks and resource actions.
//!
//! Argo CD runs its Lua scripts with gopher-lua (Lua 5.1 semantics). Capstan runs them with the reference
//! Lua 5.1 interpreter (vendored through `mlua`) inside a sandbox:
//!
//! * libraries: the base library without `dofile`, `loadfile`, `load`, `loadstring`; `string` (without
//!   `string.dump`), `table`, `math`; `os` reduced to `os.time` and `os.date` as in Argo CD's `oslib_safe.go`;
//!   `require` only resolves `"os"` (to the same reduced table). `io`, `debug` and `package` are absent;
//!   any other `os.*` function raises a clear error naming the function.
//! * a time limit enforced by an instruction-count hook ([`Limits::timeout`], default 1 s as in Argo CD);
//! * a memory limit enforced by the allocator ([`Limits::memory_bytes`], default 32 MiB);
//! * pattern functions (`string.find/match/gmatch/gsub`) refuse calls whose backtracking worst case is
//!   too long, since C code cannot be interrupted by the hook.
//!
//! Every run gets a fresh interpreter, with the resource as the global `obj`.

mod actions;
mod builtin_actions;
mod convert;
mod error;
mod health;
mod osdate;
mod patterns;
mod sandbox;

pub use actions::{
    ACTIONS_KEY_PREFIX, ActionDefinition, ActionOverrides, ImpactedResource, K8sOperation,
    ResourceAction, ResourceActionParam, ResourceActions, config_key, config_map_data,
    override_key,
};
pub use error::LuaError;
pub use health::{LuaHealth, VALID_HEALTH_STATUSES};
pub use sandbox::{Limits, Sandbox};
