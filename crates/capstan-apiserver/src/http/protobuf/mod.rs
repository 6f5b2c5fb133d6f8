//! Decoding of Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) for
//! the kinds kubectl's generators create that way. The envelope is the 4-byte magic `k8s\0`
//! followed by `runtime.Unknown{typeMeta=1{apiVersion=1,kind=2}, raw=2, ...}`; `raw` is the
//! kind's message. Field numbers follow `k8s.io/api` generated.proto.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};

mod kinds;

#[derive(Clone, Copy)]
enum F {
    Str(&'static str),
    Int(&'static str),
    /// An integer kept even when 0 (pointer fields and required integers).
    IntKeep(&'static str),
    /// `intstr.IntOrString{type=1, intVal=2, strVal=3}`.
    IntOrStr(&'static str),
    /// `map<string, resource.Quantity>`.
    QtyMap(&'static str),
    /// An embedded message whose fields are inlined in JSON (e.g. `IngressRuleValue`).
    Inline(fn() -> Schema),
    Bool(&'static str),
    Bytes64(&'static str),
    Time(&'static str),
    Msg(&'static str, fn() -> Schema),
    RepStr(&'static str),
    RepMsg(&'static str, fn() -> Schema),
    MapStr(&'static str),
    MapBytes(&'static str),
}

type Schema = &'static [(u64, F)];

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

fn bad(m: &str) -> ApiError {
    ApiError::bad_request(format!("error decoding protobuf body: {m}"))
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> ApiResult<u64> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .b
                .get(self.pos)
                .ok_or_else(|| bad("truncated varint"))?;
            self.pos += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad("varint too long"))
    }

    fn bytes(&mut self) -> ApiResult<&'a [u8]> {
        let len = usize::try_from(self.varint()?).map_err(|_| bad("length"))?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|e| *e <= self.b.len())
            .ok_or_else(|| bad("truncated field"))?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn skip(&mut self, wt: u64) -> ApiResult<()> {
        match wt {
            0 => self.varint().map(|_| ()),
            1 => self.advance(8),
            2 => self.bytes().map(|_| ()),
            5 => self.advance(4),
            _ => Err(bad("unsupported wire type")),
        }
    }

    fn advance(&mut self, n: usize) -> ApiResult<()> {
        if self.pos + n > self.b.len() {
            return Err(bad("truncated fixed field"));
        }
        self.pos += n;
        Ok(())
    }
}

fn string(b: &[u8]) -> ApiResult<String> {
    String::from_utf8(b.to_vec()).map_err(|_| bad("invalid UTF-8 string"))
}

fn map_entry(b: &[u8], as_bytes: bool) -> ApiResult<(String, Value)> {
    let mut r = Reader { b, pos: 0 };
    let (mut k, mut v) = (String::new(), Value::String(String::new()));
    while r.pos < b.len() {
        let tag = r.varint()?;
        match (tag >> 3, tag & 7) {
            (1, 2) => k = string(r.bytes()?)?,
            (2, 2) => {
                let raw = r.bytes()?;
                v = if as_bytes {
                    json!(base64::engine::general_purpose::STANDARD.encode(raw))
                } else {
                    json!(string(raw)?)
                };
            }
            (_, wt) => r.skip(wt)?,
        }
    }
    Ok((k, v))
}

fn time(b: &[u8]) -> ApiResult<Value> {
    let mut r = Reader { b, pos: 0 };
    let mut secs: i64 = 0;
    while r.pos < b.len() {
        let tag = r.varint()?;
        match (tag >> 3, tag & 7) {
            (1, 0) => secs = r.varint()? as i64,
            (_, wt) => r.skip(wt)?,
        }
    }
    Ok(chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| json!(t.format("%Y-%m-%dT%H:%M:%SZ").to_string()))
        .unwrap_or(Value::Null))
}

fn message(b: &[u8], schema: Schema, depth: usize) -> ApiResult<Map<String, Value>> {
    if depth > 32 {
        return Err(bad("nesting too deep"));
    }
    let mut out = Map::new();
    let mut r = Reader { b, pos: 0 };
    while r.pos < b.len() {
        let tag = r.varint()?;
        let (num, wt) = (tag >> 3, tag & 7);
        let Some((_, f)) = schema.iter().find(|(n, _)| *n == num) else {
            r.skip(wt)?;
            continue;
        };
        let expect = match f {
            F::Int(_) | F::IntKeep(_) | F::Bool(_) => 0,
            _ => 2,
        };
        if wt != expect {
            return Err(bad(&format!("unexpected wire type {wt} for field {num}")));
        }
        match *f {
            F::Str(n) => {
                let s = string(r.bytes()?)?;
                if !s.is_empty() {
                    out.insert(n.into(), json!(s));
                }
            }
            F::Int(n) => {
                let v = r.varint()? as i64;
                if v != 0 {
                    out.insert(n.into(), json!(v));
                }
            }
            F::Bool(n) => {
                if r.varint()? != 0 {
                    out.insert(n.into(), json!(true));
                }
            }
            F::Bytes64(n) => {
                let raw = r.bytes()?;
                out.insert(
                    n.into(),
                    json!(base64::engine::general_purpose::STANDARD.encode(raw)),
                );
            }
            F::Time(n) => {
                let t = time(r.bytes()?)?;
                if !t.is_null() && t != json!("1970-01-01T00:00:00Z") {
                    out.insert(n.into(), t);
                }
            }
            F::Msg(n, s) => {
                let m = message(r.bytes()?, s(), depth + 1)?;
                if !m.is_empty() {
                    out.insert(n.into(), Value::Object(m));
                }
            }
            F::RepStr(n) => {
                let s = string(r.bytes()?)?;
                push(&mut out, n, json!(s));
            }
            F::RepMsg(n, s) => {
                let m = message(r.bytes()?, s(), depth + 1)?;
                push(&mut out, n, Value::Object(m));
            }
            F::IntKeep(n) => {
                let v = r.varint()? as i64;
                out.insert(n.into(), json!(v as i32));
            }
            F::Inline(sch) => {
                let m = message(r.bytes()?, sch(), depth + 1)?;
                out.extend(m);
            }
            F::IntOrStr(n) => {
                out.insert(n.into(), int_or_string(r.bytes()?)?);
            }
            F::QtyMap(n) => {
                let mut er = Reader {
                    b: r.bytes()?,
                    pos: 0,
                };
                let (mut k, mut v) = (String::new(), String::new());
                while er.pos < er.b.len() {
                    let tag = er.varint()?;
                    match (tag >> 3, tag & 7) {
                        (1, 2) => k = string(er.bytes()?)?,
                        (2, 2) => v = quantity(er.bytes()?)?,
                        (_, wt) => er.skip(wt)?,
                    }
                }
                let e = out.entry(n.to_string()).or_insert_with(|| json!({}));
                if let Some(m) = e.as_object_mut() {
                    m.insert(k, json!(v));
                }
            }
            F::MapStr(n) | F::MapBytes(n) => {
                let (k, v) = map_entry(r.bytes()?, matches!(f, F::MapBytes(_)))?;
                let e = out.entry(n.to_string()).or_insert_with(|| json!({}));
                if let Some(m) = e.as_object_mut() {
                    m.insert(k, v);
                }
            }
        }
    }
    Ok(out)
}

fn quantity(b: &[u8]) -> ApiResult<String> {
    let mut r = Reader { b, pos: 0 };
    let mut s = String::new();
    while r.pos < b.len() {
        let tag = r.varint()?;
        match (tag >> 3, tag & 7) {
            (1, 2) => s = string(r.bytes()?)?,
            (_, wt) => r.skip(wt)?,
        }
    }
    Ok(s)
}

fn int_or_string(b: &[u8]) -> ApiResult<Value> {
    let mut r = Reader { b, pos: 0 };
    let (mut ty, mut i, mut s) = (0u64, 0i64, String::new());
    while r.pos < b.len() {
        let tag = r.varint()?;
        match (tag >> 3, tag & 7) {
            (1, 0) => ty = r.varint()?,
            (2, 0) => i = r.varint()? as i32 as i64,
            (3, 2) => s = string(r.bytes()?)?,
            (_, wt) => r.skip(wt)?,
        }
    }
    Ok(if ty == 1 { json!(s) } else { json!(i) })
}

fn push(out: &mut Map<String, Value>, n: &str, v: Value) {
    let e = out.entry(n.to_string()).or_insert_with(|| json!([]));
    if let Some(a) = e.as_array_mut() {
        a.push(v);
    }
}

/// Decode a protobuf envelope into the JSON shape of the object.
pub fn decode(body: &[u8]) -> ApiResult<Value> {
    let rest = body
        .strip_prefix(b"k8s\0")
        .ok_or_else(|| bad("missing k8s magic prefix"))?;
    let env = message(rest, kinds::unknown(), 0)?;
    let api_version = env
        .get("typeMeta")
        .and_then(|t| t.get("apiVersion"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let kind = env
        .get("typeMeta")
        .and_then(|t| t.get("kind"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let raw = env
        .get("raw")
        .and_then(Value::as_str)
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        .unwrap_or_default();
    let schema = kinds::schema_for(&api_version, &kind).ok_or_else(|| {
        ApiError::unsupported_media_type(&format!(
            "application/vnd.kubernetes.protobuf for {api_version}/{kind} (decoded kinds: {}; send JSON)",
            kinds::SUPPORTED
        ))
    })?;
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), json!(api_version));
    obj.insert("kind".into(), json!(kind));
    obj.extend(message(&raw, schema, 0)?);
    Ok(Value::Object(obj))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_kubectl_create_namespace() {
        let body = b"k8s\x00\n\x0f\n\x02v1\x12\tNamespace\x12\x1c\n\x14\n\x04demo\x12\x00\x1a\x00\"\x00*\x002\x008\x00B\x00\x12\x00\x1a\x02\n\x00\x1a\x00\"\x00";
        let v = decode(body).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(decode(b"nope").is_err());
        assert!(decode(b"k8s\x00\n\xff").is_err());
    }
}
