//! Conversion of Lua values returned by scripts to JSON, following gopher-json's encoding.

use mlua::Value as LuaValue;
use serde_json::{Map, Number, Value};

const MAX_DEPTH: usize = 128;

/// Converts a Lua value to JSON. Tables whose keys are exactly `1..n` become arrays; an empty table
/// becomes `[]` (as gopher-json encodes it); other tables become objects with string keys.
pub(crate) fn lua_to_json(value: &LuaValue, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!("table nesting deeper than {MAX_DEPTH} (a cycle?)"));
    }
    Ok(match value {
        LuaValue::Nil => Value::Null,
        LuaValue::Boolean(b) => Value::Bool(*b),
        LuaValue::Integer(i) => Value::Number((*i).into()),
        LuaValue::Number(n) => number(*n)?,
        LuaValue::String(s) => Value::String(s.to_string_lossy()),
        LuaValue::Table(table) => {
            let mut entries = Vec::new();
            for pair in table.clone().pairs::<LuaValue, LuaValue>() {
                let (k, v) = pair.map_err(|e| e.to_string())?;
                entries.push((k, v));
            }
            if entries.is_empty() {
                return Ok(Value::Array(Vec::new()));
            }
            if let Some(array) = as_array(&entries, depth)? {
                return Ok(array);
            }
            let mut map = Map::new();
            for (k, v) in &entries {
                let key = match k {
                    LuaValue::String(s) => s.to_string_lossy(),
                    LuaValue::Integer(i) => i.to_string(),
                    LuaValue::Number(n) => match number(*n)? {
                        Value::Number(num) => num.to_string(),
                        _ => return Err("invalid number key".to_string()),
                    },
                    LuaValue::Boolean(b) => b.to_string(),
                    other => {
                        return Err(format!(
                            "cannot use a {} as a JSON object key",
                            other.type_name()
                        ));
                    }
                };
                map.insert(key, lua_to_json(v, depth + 1)?);
            }
            Value::Object(map)
        }
        other => {
            return Err(format!(
                "cannot convert a Lua {} to JSON",
                other.type_name()
            ));
        }
    })
}

fn as_array(entries: &[(LuaValue, LuaValue)], depth: usize) -> Result<Option<Value>, String> {
    let n = entries.len();
    let mut slots: Vec<Option<&LuaValue>> = vec![None; n];
    for (k, v) in entries {
        let index = match k {
            LuaValue::Integer(i) => *i,
            LuaValue::Number(f) if f.fract() == 0.0 && f.is_finite() => *f as i64,
            _ => return Ok(None),
        };
        if index < 1 || index as usize > n {
            return Ok(None);
        }
        slots[index as usize - 1] = Some(v);
    }
    let mut out = Vec::with_capacity(n);
    for slot in slots {
        match slot {
            Some(v) => out.push(lua_to_json(v, depth + 1)?),
            None => return Ok(None),
        }
    }
    Ok(Some(Value::Array(out)))
}

fn number(n: f64) -> Result<Value, String> {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        return Ok(Value::Number((n as i64).into()));
    }
    Number::from_f64(n)
        .map(Value::Number)
        .ok_or_else(|| format!("cannot encode the number {n} as JSON"))
}
