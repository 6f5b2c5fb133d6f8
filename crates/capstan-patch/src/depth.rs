//! Nesting limits. The patch functions recurse over documents; the API server's JSON decoder
//! already limits nesting (serde_json: 128 levels), and documents deeper than [`MAX_DEPTH`] are
//! refused by the functions that can return an error, so that a hostile document cannot
//! exhaust a 2 MiB thread stack there.

use serde_json::Value;

/// The deepest nesting of objects and arrays the patch functions accept.
pub const MAX_DEPTH: usize = 256;

/// Whether `v` nests no deeper than `limit` levels (checked without recursion).
pub fn within_depth(v: &Value, limit: usize) -> bool {
    let mut stack: Vec<(&Value, usize)> = vec![(v, 0)];
    while let Some((v, d)) = stack.pop() {
        if d > limit {
            return false;
        }
        match v {
            Value::Array(a) => stack.extend(a.iter().map(|x| (x, d + 1))),
            Value::Object(m) => stack.extend(m.values().map(|x| (x, d + 1))),
            _ => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn measures_nesting() {
        assert!(within_depth(&json!(1), 0));
        assert!(within_depth(&json!({"a": [1]}), 2));
        assert!(!within_depth(&json!({"a": [[1]]}), 2));
    }
}
