//! Guards for C functions of the string library (patterns, `rep`). They run in C, where the instruction-count hook cannot stop
//! them, and backtracking patterns (`.-`, `.*`) cost up to n^(q+1) steps for a subject of n bytes and
//! q quantifiers: `string.find(string.rep('a', 3000), '.-.-.-.-x')` would run for hours. Calls whose
//! worst case exceeds a budget are refused with an error instead.

use mlua::{Lua, MultiValue, Table, Value as LuaValue};

/// Worst-case steps allowed for one pattern call (about 0.1-1 s of C work).
const STEP_BUDGET: f64 = 2.0e8;

/// Number of unbounded quantifiers (`*`, `+`, `-`) outside escapes and sets.
fn quantifiers(pattern: &[u8]) -> u32 {
    let mut count = 0;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'%' => i += 2,
            b'[' => {
                i += 1;
                if pattern.get(i) == Some(&b'^') {
                    i += 1;
                }
                if pattern.get(i) == Some(&b']') {
                    i += 1;
                }
                while i < pattern.len() && pattern[i] != b']' {
                    if pattern[i] == b'%' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'*' | b'+' | b'-' if i > 0 => {
                count += 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    count
}

/// Worst-case steps of matching `pattern` against a subject of `len` bytes.
fn worst_case_steps(len: usize, pattern: &[u8]) -> f64 {
    let n = len as f64 + 1.0;
    let q = quantifiers(pattern);
    if q == 0 {
        n * pattern.len().max(1) as f64
    } else {
        n.powi(i32::try_from(q + 1).unwrap_or(i32::MAX))
    }
}

/// Replaces `string.find`, `string.match`, `string.gmatch` and `string.gsub` by guarded versions.
pub(crate) fn guard_string_library(lua: &Lua, string: &Table) -> mlua::Result<()> {
    for name in ["find", "match", "gmatch", "gsub"] {
        let original: mlua::Function = string.raw_get(name)?;
        let guarded = lua.create_function(move |_, args: MultiValue| {
            let mut it = args.iter();
            let subject = it.next();
            let pattern = it.next();
            if let (Some(LuaValue::String(s)), Some(LuaValue::String(p))) = (subject, pattern) {
                // string.find(s, p, init, true) is a plain search: linear.
                let plain = name == "find" && args.get(3).is_some_and(|v| !matches!(v, LuaValue::Nil | LuaValue::Boolean(false)));
                let (len, pat) = (s.as_bytes().len(), p.as_bytes());
                if !plain && worst_case_steps(len, &pat) > STEP_BUDGET {
                    return Err(mlua::Error::runtime(format!(
                        "string.{name} with pattern {:?} on a {len}-byte string is refused by the Capstan Lua sandbox (it could run too long)",
                        String::from_utf8_lossy(&pat)
                    )));
                }
            }
            original.call::<MultiValue>(args)
        })?;
        string.raw_set(name, guarded)?;
    }
    // string.rep('', huge) loops in C without allocating, so the memory limit never stops it.
    let rep: mlua::Function = string.raw_get("rep")?;
    let guarded_rep = lua.create_function(move |lua, args: MultiValue| {
        if let Some(LuaValue::String(s)) = args.front()
            && s.as_bytes().is_empty()
        {
            return Ok(MultiValue::from_vec(vec![LuaValue::String(
                lua.create_string("")?,
            )]));
        }
        rep.call::<MultiValue>(args)
    })?;
    string.raw_set("rep", guarded_rep)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_quantifiers_outside_escapes_and_sets() {
        assert_eq!(quantifiers(b"^(%d+)%.(%d+)$"), 2);
        assert_eq!(quantifiers(b".-.-.-.-x"), 4);
        assert_eq!(quantifiers(b"%*%-[*+-]"), 0);
        assert_eq!(quantifiers(b"-abc"), 0);
        assert_eq!(quantifiers(b"[^]]*"), 1);
    }

    #[test]
    fn budget() {
        assert!(worst_case_steps(200, b"^(%d+)%.(%d+)$") < STEP_BUDGET);
        assert!(worst_case_steps(3000, b".-.-.-.-x") > STEP_BUDGET);
        assert!(worst_case_steps(1_000_000, b"abc") < STEP_BUDGET);
    }
}
