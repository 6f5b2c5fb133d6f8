//! Writing JSON values as block-style YAML that every YAML reader (kubectl's included) reads back to
//! the same value: strings that could be read as something else are quoted, multi-line strings are
//! written as literal blocks.

use serde_json::Value;

use crate::scalar::resolve_plain;

/// Writes one document (without a leading `---`).
pub fn to_yaml_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        scalar => {
            out.push_str(&scalar_text(scalar, 0));
            out.push('\n');
        }
    }
    out
}

/// Writes several documents separated by `---`.
pub fn to_yaml_stream<'a>(values: impl IntoIterator<Item = &'a Value>) -> String {
    let mut out = String::new();
    for (i, value) in values.into_iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&to_yaml_string(value));
    }
    out
}

fn indent(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

/// Longest key written as an implicit key: YAML limits those to 1024 characters; longer keys are
/// written in the explicit form (`? key` then `: value`).
const MAX_IMPLICIT_KEY: usize = 1000;

/// Writes `key:` (the caller has indented), as an explicit key when it is too long for an implicit one.
fn push_key(out: &mut String, key: &str, level: usize) {
    let text = key_text(key);
    if text.chars().count() > MAX_IMPLICIT_KEY {
        out.push_str("? ");
        out.push_str(&text);
        out.push('\n');
        indent(out, level);
    } else {
        out.push_str(&text);
    }
    out.push(':');
}

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, level: usize) {
    for (key, value) in map {
        indent(out, level);
        push_key(out, key, level);
        write_child(out, value, level);
    }
}

fn write_seq(out: &mut String, items: &[Value], level: usize) {
    for item in items {
        indent(out, level);
        out.push('-');
        match item {
            Value::Object(map) if !map.is_empty() => {
                // first entry on the dash line, the rest indented under it
                let mut first = true;
                for (key, value) in map {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        indent(out, level + 2);
                    }
                    push_key(out, key, level + 2);
                    write_child(out, value, level + 2);
                }
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                write_seq(out, inner, level + 2);
            }
            scalar => {
                out.push(' ');
                out.push_str(&scalar_text(scalar, level + 2));
                out.push('\n');
            }
        }
    }
}

fn write_child(out: &mut String, value: &Value, level: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(out, map, level + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_seq(out, items, level);
        }
        scalar => {
            out.push(' ');
            out.push_str(&scalar_text(scalar, level + 2));
            out.push('\n');
        }
    }
}

fn key_text(key: &str) -> String {
    if needs_quotes(key) {
        quote(key)
    } else {
        key.to_string()
    }
}

fn scalar_text(value: &Value, level: usize) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string_text(s, level),
        Value::Array(_) => "[]".to_string(),
        Value::Object(_) => "{}".to_string(),
    }
}

fn string_text(s: &str, level: usize) -> String {
    let block_ok = s.contains('\n')
        && s.ends_with('\n')
        && !s.ends_with("\n\n")
        && !s.starts_with([' ', '\t', '\n'])
        && s.lines()
            .all(|l| !l.ends_with([' ', '\t']) && !l.contains('\t'))
        && s.chars().all(|c| !c.is_control() || c == '\n');
    if block_ok {
        let mut out = String::from("|\n");
        for line in s.lines() {
            if !line.is_empty() {
                indent(&mut out, level);
                out.push_str(line);
            }
            out.push('\n');
        }
        out.pop();
        return out;
    }
    if needs_quotes(s) {
        quote(s)
    } else {
        s.to_string()
    }
}

/// True when a plain scalar would not read back as this exact string.
fn needs_quotes(s: &str) -> bool {
    if s.is_empty() || s.trim() != s {
        return true;
    }
    if !matches!(resolve_plain(s), Ok(Value::String(ref v)) if v == s) {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        // "-" alone or followed by a space starts a list item; other indicators are never plain starts
        if !(first == '-' && s.len() > 1 && !s.starts_with("- ") && s != "---")
            && !(first == ':' && s.len() > 1 && !s.starts_with(": "))
            && !(first == '?' && s.len() > 1 && !s.starts_with("? "))
        {
            return true;
        }
    }
    s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || s.contains(['\n', '\r', '\t'])
        || s.chars().any(|c| c.is_control() || c == '\u{feff}')
        || s.starts_with("---")
        || s.starts_with("...")
        || s.contains(['{', '}', '[', ']', ','])
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || c == '\u{feff}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_readable_yaml() {
        let value = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "labels": {"app.kubernetes.io/name": "x"}},
            "data": {"yes": "yes", "n": "123", "empty": "", "script": "line 1\nline 2\n", "colon": "a: b",
                     "list": [], "map": {}},
            "items": [{"a": 1, "b": [1, "two", null]}, [1, 2], "- x", true]
        });
        let text = to_yaml_string(&value);
        insta_like_check(&text);
        let back = crate::parse_stream(&text).unwrap();
        assert_eq!(back[0].value, value, "{text}");
        assert!(
            text.contains("script: |\n    line 1\n    line 2\n"),
            "{text}"
        );
    }

    #[test]
    fn long_keys_read_back() {
        // found by the manifests fuzz target: a quoted key over 1024 characters is not a valid
        // implicit key
        let long = "\u{f}".repeat(300);
        let value =
            json!({"a": 1, long.clone(): {"b": [{long.clone(): "x", "c": 2}]}, "z": [long]});
        let text = to_yaml_string(&value);
        let back = crate::parse_stream(&text).unwrap();
        assert_eq!(back[0].value, value, "{text}");
    }

    fn insta_like_check(text: &str) {
        assert!(
            text.starts_with("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"),
            "{text}"
        );
    }
}
