//! Running a custom health script (Argo CD's `ExecuteHealthLua`).

use serde_json::Value;

use crate::error::LuaError;
use crate::sandbox::Sandbox;

/// The health statuses a script may return (Argo CD's `isValidHealthStatusCode`).
pub const VALID_HEALTH_STATUSES: [&str; 6] = [
    "Healthy",
    "Progressing",
    "Degraded",
    "Suspended",
    "Missing",
    "Unknown",
];

/// Argo CD's message for a status outside [`VALID_HEALTH_STATUSES`].
pub const INVALID_HEALTH_STATUS: &str = "Lua returned an invalid health status";

/// What a health script returned: `status` is one of [`VALID_HEALTH_STATUSES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LuaHealth {
    /// Health status string.
    pub status: String,
    /// Optional message (empty when absent).
    pub message: String,
}

impl Sandbox {
    /// Runs a health script: it must return a table `{status = ..., message = ...}`. A status outside
    /// [`VALID_HEALTH_STATUSES`] yields `Unknown` with Argo CD's message; any other failure is an error
    /// (which the caller reports as `Unknown` with the error's message).
    pub fn health(&self, script: &str, obj: &Value) -> Result<LuaHealth, LuaError> {
        let out = self.run_with(script, obj, &[])?;
        let Some(value) = out.value else {
            return Err(LuaError::ReturnType {
                expected: "table",
                got: out.lua_type.to_string(),
            });
        };
        let map = match value {
            Value::Object(map) => map,
            Value::Array(items) if out.lua_type == "table" => {
                if items.is_empty() {
                    // `{}` carries no status at all.
                    return Ok(invalid());
                }
                return Err(LuaError::Output(
                    "health script returned a list, expected {status=..., message=...}".into(),
                ));
            }
            _ => {
                return Err(LuaError::ReturnType {
                    expected: "table",
                    got: out.lua_type.to_string(),
                });
            }
        };
        let status = match map.get("status") {
            Some(Value::String(s)) => s.clone(),
            None | Some(Value::Null) => String::new(),
            Some(other) => {
                return Err(LuaError::Output(format!(
                    "health status must be a string, got {other}"
                )));
            }
        };
        let message = match map.get("message") {
            Some(Value::String(s)) => s.clone(),
            None | Some(Value::Null) => String::new(),
            Some(Value::Number(n)) => n.to_string(),
            Some(other) => {
                return Err(LuaError::Output(format!(
                    "health message must be a string, got {other}"
                )));
            }
        };
        if !VALID_HEALTH_STATUSES.contains(&status.as_str()) {
            return Ok(invalid());
        }
        Ok(LuaHealth { status, message })
    }
}

fn invalid() -> LuaHealth {
    LuaHealth {
        status: "Unknown".to_string(),
        message: INVALID_HEALTH_STATUS.to_string(),
    }
}
