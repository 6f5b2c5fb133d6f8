//! Resolution of plain scalars as go-yaml v2 (and so kubectl) resolves them.

use serde_json::{Number, Value};

/// Why a scalar could not become JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScalarError(pub(crate) String);

/// Resolves a plain (unquoted) scalar.
pub(crate) fn resolve_plain(text: &str) -> Result<Value, ScalarError> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Ok(Value::Bool(true));
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Ok(Value::Bool(false));
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => {
            return Err(ScalarError(format!(
                "the number {text} cannot be represented in JSON; quote it to make it a string"
            )));
        }
        _ => {}
    }
    if let Some(n) = resolve_int(text) {
        return Ok(Value::Number(n));
    }
    if let Some(f) = resolve_float(text) {
        return Ok(f);
    }
    Ok(Value::String(text.to_string()))
}

fn resolve_int(text: &str) -> Option<Number> {
    let (negative, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if body.is_empty() {
        return None;
    }
    let cleaned: String = body.chars().filter(|c| *c != '_').collect();
    if cleaned.is_empty() || body.starts_with('_') {
        return None;
    }
    let (digits, radix) = if let Some(rest) = cleaned.strip_prefix("0b") {
        (rest, 2)
    } else if let Some(rest) = cleaned.strip_prefix("0x") {
        (rest, 16)
    } else if let Some(rest) = cleaned.strip_prefix("0o") {
        (rest, 8)
    } else if cleaned.len() > 1
        && cleaned.starts_with('0')
        && cleaned.chars().all(|c| c.is_digit(8))
    {
        (&cleaned[1..], 8)
    } else {
        (cleaned.as_str(), 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        if magnitude <= i64::MAX as u64 {
            Some(Number::from(-(magnitude as i64)))
        } else if magnitude == i64::MAX as u64 + 1 {
            Some(Number::from(i64::MIN))
        } else {
            None
        }
    } else if magnitude <= i64::MAX as u64 {
        Some(Number::from(magnitude as i64))
    } else {
        Some(Number::from(magnitude))
    }
}

fn resolve_float(text: &str) -> Option<Value> {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let mut chars = body.chars().peekable();
    let mut mantissa_digits = 0;
    let mut seen_dot = false;
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() || c == '_' {
            if c != '_' {
                mantissa_digits += 1;
            }
            chars.next();
        } else if c == '.' && !seen_dot {
            seen_dot = true;
            chars.next();
        } else {
            break;
        }
    }
    if mantissa_digits == 0 {
        return None;
    }
    if let Some(&c) = chars.peek() {
        if c != 'e' && c != 'E' {
            return None;
        }
        chars.next();
        if let Some(&('+' | '-')) = chars.peek() {
            chars.next();
        }
        let exponent: String = chars.collect();
        if exponent.is_empty() || !exponent.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
    } else if !seen_dot {
        return None;
    }
    let cleaned: String = text.chars().filter(|c| *c != '_').collect();
    let value: f64 = cleaned.parse().ok()?;
    Number::from_f64(value).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kubernetes_scalars() {
        let cases = [
            ("", json!(null)),
            ("~", json!(null)),
            ("yes", json!(true)),
            ("Off", json!(false)),
            ("true", json!(true)),
            ("42", json!(42)),
            ("-7", json!(-7)),
            ("0755", json!(493)),
            ("0x1F", json!(31)),
            ("1_000", json!(1000)),
            ("3.5", json!(3.5)),
            ("1e3", json!(1000.0)),
            ("-.5", json!(-0.5)),
            ("18446744073709551615", json!(18446744073709551615u64)),
            ("nginx:1.25", json!("nginx:1.25")),
            ("1.2.3", json!("1.2.3")),
            ("08", json!(8)),
            ("500m", json!("500m")),
            ("1Gi", json!("1Gi")),
            ("e3", json!("e3")),
            ("-", json!("-")),
        ];
        for (text, expected) in cases {
            assert_eq!(resolve_plain(text), Ok(expected.clone()), "{text}");
        }
        assert!(resolve_plain(".inf").is_err());
    }
}
