//! Kubernetes resource quantities ("1000m", "1", "1Gi", "1024Mi", "0.5", "1e3") compared by value.

use serde_json::Value;

/// The value of a quantity in nano-units (10^-9), if it is a valid quantity that can be represented
/// exactly; `None` otherwise.
pub fn nano_units(quantity: &str) -> Option<i128> {
    let s = quantity.trim();
    if s.is_empty() {
        return None;
    }
    let (sign, rest) = match s.as_bytes()[0] {
        b'-' => (-1i128, &s[1..]),
        b'+' => (1, &s[1..]),
        _ => (1, s),
    };
    let number_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_end);
    if number.is_empty() || number == "." || number.matches('.').count() > 1 {
        return None;
    }
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    let digits = format!("{int_part}{frac_part}");
    let mantissa: i128 = digits.trim_start_matches('0').parse().unwrap_or(0);
    if digits.len() > 30 {
        return None;
    }
    // value = mantissa * 10^(-frac_len) * multiplier; we want value * 10^9.
    let mut exp10: i32 = 9 - i32::try_from(frac_part.len()).ok()?;
    let mut binary: u32 = 0;
    match suffix {
        "" => {}
        "n" => exp10 -= 9,
        "u" => exp10 -= 6,
        "m" => exp10 -= 3,
        "k" => exp10 += 3,
        "M" => exp10 += 6,
        "G" => exp10 += 9,
        "T" => exp10 += 12,
        "P" => exp10 += 15,
        "E" => exp10 += 18,
        "Ki" => binary = 10,
        "Mi" => binary = 20,
        "Gi" => binary = 30,
        "Ti" => binary = 40,
        "Pi" => binary = 50,
        "Ei" => binary = 60,
        other => {
            let exponent = other.strip_prefix(['e', 'E'])?;
            exp10 += exponent.parse::<i32>().ok()?;
        }
    }
    let mut value = mantissa.checked_mul(1i128.checked_shl(binary)?)?;
    if exp10 >= 0 {
        value = value.checked_mul(10i128.checked_pow(u32::try_from(exp10).ok()?)?)?;
    } else {
        let divisor = 10i128.checked_pow(u32::try_from(-exp10).ok()?)?;
        if value % divisor != 0 {
            return None;
        }
        value /= divisor;
    }
    Some(sign * value)
}

/// The nano-unit value of a JSON quantity (string or number).
pub fn value_nano_units(value: &Value) -> Option<i128> {
    match value {
        Value::String(s) => nano_units(s),
        Value::Number(n) => nano_units(&n.to_string()),
        _ => None,
    }
}

/// True when both values are quantities of the same amount.
pub fn equivalent(a: &Value, b: &Value) -> bool {
    matches!((value_nano_units(a), value_nano_units(b)), (Some(x), Some(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_amounts_in_different_notations() {
        assert_eq!(nano_units("1000m"), nano_units("1"));
        assert_eq!(nano_units("0.5"), nano_units("500m"));
        assert_eq!(nano_units("1Gi"), nano_units("1024Mi"));
        assert_eq!(nano_units("1k"), nano_units("1e3"));
        assert_eq!(nano_units("1.5Gi"), nano_units("1536Mi"));
        assert!(equivalent(&json!(1), &json!("1000m")));
        assert!(equivalent(&json!("2"), &json!(2.0)));
    }

    #[test]
    fn different_amounts_and_garbage() {
        assert_ne!(nano_units("1G"), nano_units("1Gi"));
        assert_ne!(nano_units("100m"), nano_units("1"));
        assert_eq!(nano_units("abc"), None);
        assert_eq!(nano_units("1Xi"), None);
        assert_eq!(nano_units(""), None);
        assert_eq!(nano_units("1.2.3"), None);
        assert!(!equivalent(&json!("x"), &json!("x")));
    }
}
