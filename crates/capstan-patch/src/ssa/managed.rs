//! `metadata.managedFields` entries: decoding, identity, ordering and encoding.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::fieldset::Set;
use super::fieldsv1;

/// One managedFields entry with its decoded field set.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: Option<String>,
    pub subresource: Option<String>,
    pub set: Set,
}

pub const APPLY: &str = "Apply";
pub const UPDATE: &str = "Update";

impl Entry {
    /// Whether this entry is the one identified by manager/operation/subresource (and, for
    /// Update entries, apiVersion), as the API server's manager identifier does.
    pub fn is(&self, manager: &str, operation: &str, api_version: &str, sub: Option<&str>) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref().unwrap_or("") == sub.unwrap_or("")
            && (operation == APPLY || self.api_version == api_version)
    }

    fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("manager".into(), Value::String(self.manager.clone()));
        m.insert("operation".into(), Value::String(self.operation.clone()));
        m.insert("apiVersion".into(), Value::String(self.api_version.clone()));
        if let Some(t) = &self.time {
            m.insert("time".into(), Value::String(t.clone()));
        }
        m.insert("fieldsType".into(), Value::String("FieldsV1".into()));
        m.insert("fieldsV1".into(), fieldsv1::encode(&self.set));
        if let Some(s) = self.subresource.as_ref().filter(|s| !s.is_empty()) {
            m.insert("subresource".into(), Value::String(s.clone()));
        }
        Value::Object(m)
    }
}

/// The managedFields of an object; entries that cannot be decoded are dropped (the API server
/// likewise refuses to track malformed ownership data).
pub fn decode_entries(obj: Option<&Value>) -> Vec<Entry> {
    let Some(list) = obj
        .and_then(|o| o.get("metadata"))
        .and_then(|m| m.get("managedFields"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    list.iter().filter_map(decode_entry).collect()
}

fn decode_entry(v: &Value) -> Option<Entry> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let set = match v.get("fieldsV1") {
        Some(f) => fieldsv1::decode(f).ok()?,
        None => Set::new(),
    };
    Some(Entry {
        manager: s("manager")?,
        operation: s("operation")?,
        api_version: s("apiVersion").unwrap_or_default(),
        time: s("time"),
        subresource: s("subresource").filter(|x| !x.is_empty()),
        set,
    })
}

/// Encodes entries in the API server's order: by operation, time, manager, apiVersion,
/// subresource. Entries with an empty set are dropped.
pub fn encode_entries(entries: &[Entry]) -> Value {
    let mut sorted: Vec<&Entry> = entries.iter().filter(|e| !e.set.is_empty()).collect();
    sorted.sort_by(|a, b| compare_entries(a, b));
    Value::Array(sorted.into_iter().map(Entry::to_value).collect())
}

fn compare_entries(a: &Entry, b: &Entry) -> Ordering {
    let secs = |e: &Entry| e.time.as_deref().and_then(unix_seconds).unwrap_or(0);
    a.operation
        .cmp(&b.operation)
        .then_with(|| secs(a).cmp(&secs(b)))
        .then_with(|| a.manager.cmp(&b.manager))
        .then_with(|| a.api_version.cmp(&b.api_version))
        .then_with(|| a.subresource.cmp(&b.subresource))
}

/// Seconds since the Unix epoch of an RFC 3339 timestamp (`2024-01-02T03:04:05Z`, optional
/// fraction, `Z` or `±hh:mm`).
pub fn unix_seconds(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| t.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &t[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) => {
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(4..6)?.parse().ok()?;
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    // Days from civil (proleptic Gregorian).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + s - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2024-01-01T00:00:00Z"), Some(1_704_067_200));
        assert_eq!(
            unix_seconds("2024-01-01T01:00:00.123+01:00"),
            Some(1_704_067_200)
        );
        assert_eq!(unix_seconds("garbage"), None);
        assert_eq!(unix_seconds("2024-01-01T00:00:00"), None);
    }
}
