//! Builds JSON values with positions from saphyr's event stream.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Value};

use crate::YamlError;
use crate::path::{FieldPath, PathSegment};
use crate::position::Position;
use crate::scalar::resolve_plain;

/// Bounds that keep hostile input from exhausting memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most nodes a stream may produce, counting every node an alias expands to.
    pub max_nodes: usize,
    /// Deepest nesting of maps and lists.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_nodes: 5_000_000,
            max_depth: 512,
        }
    }
}

/// One document of a stream, with the position of every node.
#[derive(Debug, Clone)]
pub struct Document {
    /// The document's content.
    pub value: Value,
    /// Index of the document in its stream (0-based, counting empty documents).
    pub index: usize,
    /// Where the document starts.
    pub start: Position,
    values: BTreeMap<FieldPath, Position>,
    keys: BTreeMap<FieldPath, Position>,
}

impl Document {
    /// Where the value at `path` starts, if it exists in the source.
    pub fn value_position(&self, path: &FieldPath) -> Option<Position> {
        self.values.get(path).copied()
    }

    /// Where the key of the map entry at `path` is, if it exists in the source.
    pub fn key_position(&self, path: &FieldPath) -> Option<Position> {
        self.keys.get(path).copied()
    }

    /// The best position to report a problem with `path`: the field's key, else its value, else the
    /// nearest ancestor that exists (a missing field is reported where its parent is).
    pub fn locate(&self, path: &FieldPath) -> Position {
        let mut current = path.clone();
        loop {
            if let Some(p) = self
                .keys
                .get(&current)
                .or_else(|| self.values.get(&current))
            {
                return *p;
            }
            if current.is_root() {
                return self.start;
            }
            current = current.parent();
        }
    }
}

enum Frame {
    Map {
        map: Map<String, Value>,
        pending_key: Option<(String, Position, bool)>,
        merges: Vec<Value>,
    },
    Seq(Vec<Value>),
}

struct Builder {
    limits: Limits,
    nodes: usize,
    anchors: HashMap<usize, Value>,
    /// Anchor ids of the containers being built, parallel to `stack`.
    stack: Vec<(Frame, usize, FieldPath)>,
    values: BTreeMap<FieldPath, Position>,
    keys: BTreeMap<FieldPath, Position>,
}

/// Longest JSON text kept for a map or list used as a mapping key.
const MAX_COMPLEX_KEY: usize = 4096;

fn error(span: &Span, message: impl Into<String>) -> YamlError {
    YamlError {
        position: Position::from_marker(&span.start),
        message: message.into(),
    }
}

fn node_count(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(node_count).sum::<usize>(),
        Value::Object(map) => 1 + map.values().map(node_count).sum::<usize>(),
        _ => 1,
    }
}

impl Builder {
    fn new(limits: Limits) -> Self {
        Builder {
            limits,
            nodes: 0,
            anchors: HashMap::new(),
            stack: Vec::new(),
            values: BTreeMap::new(),
            keys: BTreeMap::new(),
        }
    }

    fn current_path(&self) -> FieldPath {
        match self.stack.last() {
            None => FieldPath::root(),
            Some((
                Frame::Map {
                    pending_key: Some((k, _, _)),
                    ..
                },
                _,
                path,
            )) => path.key(k.clone()),
            Some((Frame::Map { .. }, _, path)) => path.clone(),
            Some((Frame::Seq(items), _, path)) => path.index(items.len()),
        }
    }

    fn count(&mut self, n: usize, span: &Span) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.limits.max_nodes {
            return Err(error(
                span,
                format!(
                    "document too large: more than {} nodes (alias expansion?)",
                    self.limits.max_nodes
                ),
            ));
        }
        Ok(())
    }

    /// Adds a finished node to its parent. Returns the finished document when the stack is empty.
    fn push_value(
        &mut self,
        value: Value,
        span: &Span,
        is_merge_key: bool,
    ) -> Result<Option<Value>, YamlError> {
        let Some((frame, _, _)) = self.stack.last_mut() else {
            return Ok(Some(value));
        };
        match frame {
            Frame::Seq(items) => items.push(value),
            Frame::Map {
                map,
                pending_key,
                merges,
            } => match pending_key.take() {
                None => {
                    let key = match value {
                        Value::String(s) => s,
                        Value::Null => "null".to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Number(n) => n.to_string(),
                        // A complex key (`{{.Name}}: x` is a map used as a key) cannot be a JSON key;
                        // it is kept as its JSON text so the field can be reported by whoever reads it.
                        complex @ (Value::Array(_) | Value::Object(_)) => {
                            let text = complex.to_string();
                            // each level of nested complex keys escapes the one inside it again, so
                            // the text can double per level: bounded, or a few bytes cost gigabytes
                            if text.len() > MAX_COMPLEX_KEY {
                                return Err(error(
                                    span,
                                    format!(
                                        "a map or list used as a mapping key is too large (over {MAX_COMPLEX_KEY} bytes)"
                                    ),
                                ));
                            }
                            text
                        }
                    };
                    let start = Position::from_marker(&span.start);
                    let is_merge = key == "<<" && is_merge_key;
                    if !is_merge && map.contains_key(&key) {
                        return Err(error(span, format!("duplicate key {key:?} in mapping")));
                    }
                    *pending_key = Some((key, start, is_merge));
                }
                Some((key, key_pos, is_merge)) => {
                    if is_merge {
                        match value {
                            Value::Object(_) => merges.push(value),
                            Value::Array(list) if list.iter().all(Value::is_object) => {
                                merges.extend(list)
                            }
                            _ => {
                                return Err(error(
                                    span,
                                    "a << merge key needs a map or a list of maps",
                                ));
                            }
                        }
                    } else {
                        let path = match self.stack.last() {
                            Some((_, _, p)) => p.key(key.clone()),
                            None => FieldPath::root(),
                        };
                        self.keys.insert(path, key_pos);
                        if let Some((Frame::Map { map, .. }, _, _)) = self.stack.last_mut() {
                            map.insert(key, value);
                        }
                    }
                }
            },
        }
        Ok(None)
    }

    fn scalar(
        &mut self,
        text: &str,
        style: ScalarStyle,
        tag: Option<&Tag>,
        span: &Span,
    ) -> Result<Value, YamlError> {
        let core = tag
            .filter(|t| t.is_yaml_core_schema())
            .map(|t| t.suffix.as_str());
        let value = match (core, style) {
            (Some("str"), _) => Value::String(text.to_string()),
            (Some("binary"), _) => {
                let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                base64::engine::general_purpose::STANDARD
                    .decode(cleaned.as_bytes())
                    .map_err(|e| error(span, format!("invalid !!binary value: {e}")))?;
                Value::String(cleaned)
            }
            (Some(kind @ ("int" | "float" | "bool" | "null")), _) => {
                let resolved = resolve_plain(text).map_err(|e| error(span, e.0))?;
                let matches = match kind {
                    "int" => resolved.is_i64() || resolved.is_u64(),
                    "float" => resolved.is_number(),
                    "bool" => resolved.is_boolean(),
                    _ => resolved.is_null(),
                };
                if !matches {
                    return Err(error(span, format!("{text:?} is not a valid !!{kind}")));
                }
                resolved
            }
            (_, ScalarStyle::Plain) => resolve_plain(text).map_err(|e| error(span, e.0))?,
            _ => Value::String(text.to_string()),
        };
        Ok(value)
    }

    fn finish_map(map: Map<String, Value>, merges: Vec<Value>) -> Value {
        if merges.is_empty() {
            return Value::Object(map);
        }
        let mut merged = map;
        for source in merges {
            if let Value::Object(entries) = source {
                for (k, v) in entries {
                    merged.entry(k).or_insert(v);
                }
            }
        }
        Value::Object(merged)
    }
}

/// The parser's terse messages, said in words a manifest author can act on.
fn explain(info: &str) -> String {
    let hint = match info {
        "simple key expect ':'" => {
            "expected ':' after a key; check the indentation of this line and the ones above it \
             (a block scalar's content must be indented more than its key)"
        }
        "simple key expected" => "expected a key here; check the indentation",
        "invalid indentation" => "invalid indentation",
        "unexpected eof" => {
            "the document ends in the middle of a value (an unclosed quote or bracket?)"
        }
        "misplaced bracket" => "a bracket is out of place",
        _ => return info.to_string(),
    };
    format!("{hint} ({info})")
}

/// Parses a YAML (or JSON) stream into its non-empty documents, with the default [`Limits`].
pub fn parse_stream(text: &str) -> Result<Vec<Document>, YamlError> {
    parse_stream_with_limits(text, Limits::default())
}

/// Parses a YAML (or JSON) stream into its non-empty documents.
///
/// Empty documents (nothing but comments, or `---` alone) are skipped, as kubectl skips them.
pub fn parse_stream_with_limits(text: &str, limits: Limits) -> Result<Vec<Document>, YamlError> {
    let mut builder = Builder::new(limits);
    let mut documents = Vec::new();
    let mut doc_index = 0usize;
    let mut doc_start = Position::new(1, 1);
    let mut current: Option<Value> = None;
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| YamlError {
            position: Position::from_marker(e.marker()),
            message: explain(e.info()),
        })?;
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
            Event::DocumentStart(_) => {
                doc_start = Position::from_marker(&span.start);
                builder.anchors.clear();
                current = None;
            }
            Event::DocumentEnd => {
                let value = current.take().unwrap_or(Value::Null);
                let values = std::mem::take(&mut builder.values);
                let keys = std::mem::take(&mut builder.keys);
                if !value.is_null() {
                    documents.push(Document {
                        value,
                        index: doc_index,
                        start: doc_start,
                        values,
                        keys,
                    });
                }
                doc_index += 1;
            }
            Event::Alias(id) => {
                let Some(value) = builder.anchors.get(&id).cloned() else {
                    return Err(error(&span, "alias to an unknown anchor"));
                };
                builder.count(node_count(&value), &span)?;
                let path = builder.current_path();
                builder
                    .values
                    .insert(path, Position::from_marker(&span.start));
                if let Some(done) = builder.push_value(value, &span, false)? {
                    current = Some(done);
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                builder.count(1, &span)?;
                let is_key = matches!(
                    builder.stack.last(),
                    Some((
                        Frame::Map {
                            pending_key: None,
                            ..
                        },
                        _,
                        _
                    ))
                );
                // Keys keep their text: `y:` stays the key "y" (go-yaml would make it "true").
                let value = if is_key {
                    Value::String(text.to_string())
                } else {
                    builder.scalar(&text, style, tag.as_deref(), &span)?
                };
                if anchor > 0 {
                    builder.anchors.insert(anchor, value.clone());
                }
                if !is_key {
                    let path = builder.current_path();
                    builder
                        .values
                        .insert(path, Position::from_marker(&span.start));
                }
                let merge_key = is_key && style == ScalarStyle::Plain && text == "<<";
                if let Some(done) = builder.push_value(value, &span, merge_key)? {
                    current = Some(done);
                }
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                builder.count(1, &span)?;
                if builder.stack.len() >= builder.limits.max_depth {
                    return Err(error(
                        &span,
                        format!("nesting deeper than {}", builder.limits.max_depth),
                    ));
                }
                let path = builder.current_path();
                builder
                    .values
                    .insert(path.clone(), Position::from_marker(&span.start));
                let frame = if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq(Vec::new())
                } else {
                    Frame::Map {
                        map: Map::new(),
                        pending_key: None,
                        merges: Vec::new(),
                    }
                };
                builder.stack.push((frame, anchor, path));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some((frame, anchor, _)) = builder.stack.pop() else {
                    return Err(error(&span, "unbalanced end of collection"));
                };
                let value = match frame {
                    Frame::Seq(items) => Value::Array(items),
                    Frame::Map { map, merges, .. } => Builder::finish_map(map, merges),
                };
                if anchor > 0 {
                    builder.anchors.insert(anchor, value.clone());
                }
                if let Some(done) = builder.push_value(value, &span, false)? {
                    current = Some(done);
                }
            }
        }
    }
    Ok(documents)
}

/// The segments of a path, for callers that walk values.
impl Document {
    /// The value at `path`, if present.
    pub fn get(&self, path: &FieldPath) -> Option<&Value> {
        let mut current = &self.value;
        for segment in &path.0 {
            current = match (segment, current) {
                (PathSegment::Key(k), Value::Object(map)) => map.get(k)?,
                (PathSegment::Index(i), Value::Array(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn positions_of_keys_and_values() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels:\n    a: \"1\"\ndata:\n  list:\n  - one\n  - two\n";
        let docs = parse_stream(text).unwrap();
        assert_eq!(docs.len(), 1);
        let doc = &docs[0];
        assert_eq!(doc.value["metadata"]["labels"]["a"], json!("1"));
        let name = FieldPath::parse("metadata.name");
        assert_eq!(doc.key_position(&name), Some(Position::new(4, 3)));
        assert_eq!(doc.value_position(&name), Some(Position::new(4, 9)));
        assert_eq!(
            doc.value_position(&FieldPath::parse("data.list[1]")),
            Some(Position::new(10, 5))
        );
        // a missing field is located at its parent
        assert_eq!(
            doc.locate(&FieldPath::parse("metadata.namespace")),
            Position::new(3, 1)
        );
    }

    #[test]
    fn streams_skip_empty_documents() {
        let text = "---\n# only a comment\n---\na: 1\n---\n---\nb: [1, 2]\n...\n";
        let docs = parse_stream(text).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].value, json!({"a": 1}));
        assert_eq!(docs[1].value, json!({"b": [1, 2]}));
        assert_eq!(docs[1].start.line, 6);
    }

    #[test]
    fn json_is_read_too() {
        let docs = parse_stream("{\"kind\": \"List\", \"items\": [{\"a\": true}, null]}").unwrap();
        assert_eq!(
            docs[0].value,
            json!({"kind": "List", "items": [{"a": true}, null]})
        );
    }

    #[test]
    fn quoted_and_tagged_scalars() {
        let docs =
            parse_stream("a: 'yes'\nb: yes\nc: !!str 123\nd: \"0755\"\ne: 0755\nf: |\n  line\n")
                .unwrap();
        assert_eq!(
            docs[0].value,
            json!({"a": "yes", "b": true, "c": "123", "d": "0755", "e": 493, "f": "line\n"})
        );
    }

    #[test]
    fn aliases_and_merge_keys() {
        let text = "base: &b\n  x: 1\n  y: 2\nderived:\n  <<: *b\n  y: 3\nlist: [*b]\n";
        let docs = parse_stream(text).unwrap();
        assert_eq!(docs[0].value["derived"], json!({"y": 3, "x": 1}));
        assert_eq!(docs[0].value["list"], json!([{"x": 1, "y": 2}]));
    }

    #[test]
    fn errors_name_line_and_column() {
        let err = parse_stream("a: 1\nb:\n  c: [1, 2\n").unwrap_err();
        assert!(err.position.line >= 3, "{err}");
        let err = parse_stream("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.position, Position::new(2, 1));
        assert!(err.message.contains("duplicate key"), "{err}");
    }

    #[test]
    fn template_placeholders_become_values() {
        let docs = parse_stream("metadata:\n  name: {{.Name}}\n").unwrap();
        assert_eq!(
            docs[0].value["metadata"]["name"],
            json!({"{\".Name\":null}": null})
        );
    }

    #[test]
    fn nested_complex_keys_are_bounded() {
        // found by the manifests fuzz target: 133 bytes took 1 s and 600 MB before this bound
        let text = format!("{}{}: 1", "{".repeat(40), "}".repeat(40));
        let e = parse_stream(&text).unwrap_err();
        assert!(e.message.contains("too large"), "{e}");
        let ok = parse_stream("{{.Name}}: x").unwrap();
        assert_eq!(
            ok[0].value,
            serde_json::json!({"{\"{\\\".Name\\\":null}\":null}": "x"})
        );
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let err = parse_stream(&text).unwrap_err();
        assert!(err.message.contains("too large"), "{err}");
    }
}
