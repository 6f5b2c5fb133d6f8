//! The sandboxed interpreter: libraries, limits, running a script with the `obj` global.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mlua::{
    HookTriggers, Lua, LuaOptions, LuaSerdeExt, MultiValue, StdLib, Value as LuaValue, VmState,
};
use serde_json::Value;

use crate::convert::lua_to_json;
use crate::error::LuaError;
use crate::osdate;

/// Marker in the error raised by the instruction hook.
const TIMEOUT_MARKER: &str = "capstan: Lua time limit exceeded";
/// How many VM instructions run between two clock checks.
const HOOK_EVERY: u32 = 1000;

/// Resource limits of one script run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock limit of one run (Argo CD uses a 1 s context deadline).
    pub timeout: Duration,
    /// Upper bound of the interpreter's heap in bytes.
    pub memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(1),
            memory_bytes: 32 * 1024 * 1024,
        }
    }
}

/// Runs scripts in fresh sandboxed interpreters with the configured [`Limits`].
#[derive(Debug, Clone, Default)]
pub struct Sandbox {
    limits: Limits,
}

/// The result of one run: the last value the chunk returned, as JSON, or `None` for no value / nil.
pub(crate) struct RunOutput {
    pub(crate) value: Option<Value>,
    pub(crate) lua_type: &'static str,
}

impl Sandbox {
    /// A sandbox with the given limits.
    pub fn new(limits: Limits) -> Self {
        Sandbox { limits }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Runs `script` with the global `obj` set to `obj` (and further globals from `extra_globals`), and
    /// returns the last value the chunk returned converted to JSON (a Lua table becomes an array when
    /// its keys are exactly 1..n, and an empty table becomes `[]`, as gopher-json encodes them).
    pub fn run(&self, script: &str, obj: &Value) -> Result<Option<Value>, LuaError> {
        Ok(self.run_with(script, obj, &[])?.value)
    }

    pub(crate) fn run_with(
        &self,
        script: &str,
        obj: &Value,
        extra_globals: &[(&str, &Value)],
    ) -> Result<RunOutput, LuaError> {
        let lua = self.new_state()?;
        let tripped = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let timeout = self.limits.timeout;
        let flag = Arc::clone(&tripped);
        // The global hook also applies to coroutines the script creates.
        lua.set_global_hook(
            HookTriggers::new().every_nth_instruction(HOOK_EVERY),
            move |_lua, _debug| {
                if started.elapsed() > timeout {
                    flag.store(true, Ordering::Relaxed);
                    return Err(mlua::Error::runtime(TIMEOUT_MARKER));
                }
                Ok(VmState::Continue)
            },
        )
        .map_err(|e| LuaError::Setup(e.to_string()))?;
        rethrow_after_timeout(&lua, &tripped).map_err(|e| LuaError::Setup(e.to_string()))?;

        let result = (|| -> mlua::Result<RunOutput> {
            let options = mlua::serde::SerializeOptions::new()
                .set_array_metatable(false)
                .serialize_none_to_null(false)
                .serialize_unit_to_null(false);
            let globals = lua.globals();
            globals.set("obj", lua.to_value_with(obj, options)?)?;
            for (name, value) in extra_globals {
                globals.set(*name, lua.to_value_with(*value, options)?)?;
            }
            let returned: MultiValue = lua.load(script).set_name("=script").eval()?;
            let last = returned.into_iter().last().unwrap_or(LuaValue::Nil);
            let lua_type = last.type_name();
            let value = match last {
                LuaValue::Nil => None,
                other => Some(lua_to_json(&other, 0).map_err(mlua::Error::runtime)?),
            };
            Ok(RunOutput { value, lua_type })
        })();
        lua.remove_global_hook();
        result.map_err(|e| self.classify(e, tripped.load(Ordering::Relaxed)))
    }

    fn classify(&self, error: mlua::Error, timed_out: bool) -> LuaError {
        if timed_out {
            return LuaError::Timeout(self.limits.timeout);
        }
        if is_memory_error(&error) {
            return LuaError::Memory(self.limits.memory_bytes);
        }
        LuaError::Script(flatten_error(&error))
    }

    fn new_state(&self) -> Result<Lua, LuaError> {
        let lua = Lua::new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH,
            LuaOptions::new(),
        )
        .map_err(|e| LuaError::Setup(e.to_string()))?;
        lua.set_memory_limit(self.limits.memory_bytes)
            .map_err(|e| LuaError::Setup(e.to_string()))?;
        install_sandbox(&lua).map_err(|e| LuaError::Setup(e.to_string()))?;
        Ok(lua)
    }
}

fn is_memory_error(error: &mlua::Error) -> bool {
    match error {
        mlua::Error::MemoryError(_) => true,
        mlua::Error::CallbackError { cause, .. } => is_memory_error(cause),
        mlua::Error::WithContext { cause, .. } => is_memory_error(cause),
        other => other.to_string().contains("not enough memory"),
    }
}

/// A one-line message: the innermost cause of callback errors, without mlua's traceback.
fn flatten_error(error: &mlua::Error) -> String {
    match error {
        mlua::Error::CallbackError { cause, .. } => flatten_error(cause),
        mlua::Error::WithContext { cause, .. } => flatten_error(cause),
        mlua::Error::RuntimeError(msg) | mlua::Error::SyntaxError { message: msg, .. } => {
            msg.lines().next().unwrap_or_default().to_string()
        }
        other => other
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}

/// Removes unsafe functions and installs the reduced `os` table and `require`.
fn install_sandbox(lua: &Lua) -> mlua::Result<()> {
    let globals = lua.globals();
    for name in ["dofile", "loadfile", "load", "loadstring", "module"] {
        globals.raw_set(name, LuaValue::Nil)?;
    }
    globals.raw_set("print", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
    if let Ok(string) = globals.raw_get::<mlua::Table>("string") {
        string.raw_set("dump", LuaValue::Nil)?;
        crate::patterns::guard_string_library(lua, &string)?;
    }

    let os = lua.create_table()?;
    os.raw_set("time", lua.create_function(osdate::os_time)?)?;
    os.raw_set("date", lua.create_function(osdate::os_date)?)?;
    os.set_metatable(Some(refusing_metatable(
        lua,
        "os",
        "only os.time and os.date are allowed",
    )?))?;
    globals.raw_set("os", os.clone())?;

    for lib in ["io", "debug", "package"] {
        let table = lua.create_table()?;
        table.set_metatable(Some(refusing_metatable(
            lua,
            lib,
            "the library is not available",
        )?))?;
        globals.raw_set(lib, table)?;
    }

    let os_for_require = os;
    globals.raw_set(
        "require",
        lua.create_function(move |_, name: String| {
            if name == "os" {
                Ok(os_for_require.clone())
            } else {
                Err(mlua::Error::runtime(format!(
                    "require({name:?}) is refused by the Capstan Lua sandbox: only \"os\" (os.time, os.date) can be required"
                )))
            }
        })?,
    )?;
    Ok(())
}

/// A metatable whose `__index` raises "<lib>.<name> is refused by the Capstan Lua sandbox".
fn refusing_metatable(
    lua: &Lua,
    lib: &'static str,
    why: &'static str,
) -> mlua::Result<mlua::Table> {
    let meta = lua.create_table()?;
    meta.raw_set(
        "__index",
        lua.create_function(
            move |_, (_table, key): (mlua::Table, LuaValue)| -> mlua::Result<LuaValue> {
                let key = match &key {
                    LuaValue::String(s) => s.to_string_lossy(),
                    other => format!("{other:?}"),
                };
                Err(mlua::Error::runtime(format!(
                    "{lib}.{key} is refused by the Capstan Lua sandbox ({why})"
                )))
            },
        )?,
    )?;
    meta.raw_set(
        "__newindex",
        lua.create_function(move |_, _: MultiValue| -> mlua::Result<()> {
            Err(mlua::Error::runtime(format!(
                "{lib} is read-only in the Capstan Lua sandbox"
            )))
        })?,
    )?;
    Ok(meta)
}

/// `pcall`, `xpcall` and `coroutine.resume` catch errors, so a script could swallow the time-limit
/// error and keep looping. Once the limit has tripped, these re-raise it instead of returning.
fn rethrow_after_timeout(lua: &Lua, tripped: &Arc<AtomicBool>) -> mlua::Result<()> {
    let globals = lua.globals();
    let mut targets: Vec<(mlua::Table, &str)> =
        vec![(globals.clone(), "pcall"), (globals.clone(), "xpcall")];
    if let Ok(coroutine) = globals.raw_get::<mlua::Table>("coroutine") {
        targets.push((coroutine, "resume"));
    }
    for (table, name) in targets {
        let original: mlua::Function = table.raw_get(name)?;
        let flag = Arc::clone(tripped);
        let wrapped = lua.create_function(move |_, args: MultiValue| {
            let out = original.call::<MultiValue>(args);
            if flag.load(Ordering::Relaxed) {
                return Err(mlua::Error::runtime(TIMEOUT_MARKER));
            }
            out
        })?;
        table.raw_set(name, wrapped)?;
    }
    Ok(())
}
