//! Server-side apply field ownership (`metadata.managedFields[].fieldsV1`): which paths a manager owns.

use serde_json::{Map, Value};

/// One step of a fieldsV1 path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PathElem {
    /// `f:<name>`: a field of a map.
    Field(String),
    /// `k:{...}`: the list element whose key fields have these values.
    Key(Map<String, Value>),
    /// `v:<json>`: the element of a set-like list with this value.
    Value(Value),
    /// `i:<n>`: a list element by index.
    Index(usize),
}

/// A tree of owned paths. `owns_self` is the `.` entry (the node itself is owned).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FieldSet {
    pub(crate) owns_self: bool,
    pub(crate) children: Vec<(PathElem, FieldSet)>,
}

impl FieldSet {
    /// No children: a leaf field is owned as a whole.
    pub(crate) fn is_leaf(&self) -> bool {
        self.children.is_empty()
    }

    fn parse(node: &Value) -> FieldSet {
        let mut set = FieldSet::default();
        let Some(map) = node.as_object() else {
            return set;
        };
        for (key, child) in map {
            if key == "." {
                set.owns_self = true;
                continue;
            }
            let elem = if let Some(name) = key.strip_prefix("f:") {
                PathElem::Field(name.to_string())
            } else if let Some(json) = key.strip_prefix("k:") {
                match serde_json::from_str::<Map<String, Value>>(json) {
                    Ok(k) => PathElem::Key(k),
                    Err(_) => continue,
                }
            } else if let Some(json) = key.strip_prefix("v:") {
                match serde_json::from_str::<Value>(json) {
                    Ok(v) => PathElem::Value(v),
                    Err(_) => continue,
                }
            } else if let Some(index) = key.strip_prefix("i:") {
                match index.parse() {
                    Ok(i) => PathElem::Index(i),
                    Err(_) => continue,
                }
            } else {
                continue;
            };
            set.children.push((elem, FieldSet::parse(child)));
        }
        set
    }

    fn union(&mut self, other: FieldSet) {
        self.owns_self |= other.owns_self;
        for (elem, child) in other.children {
            match self.children.iter_mut().find(|(e, _)| *e == elem) {
                Some((_, existing)) => existing.union(child),
                None => self.children.push((elem, child)),
            }
        }
    }
}

/// The union of the fields owned by the given managers (any operation when `operation` is `None`).
pub(crate) fn owned_by(
    live: &Value,
    managers: &[String],
    operation: Option<&str>,
) -> Option<FieldSet> {
    let entries = live.pointer("/metadata/managedFields")?.as_array()?;
    let mut result: Option<FieldSet> = None;
    for entry in entries {
        let manager = entry.get("manager").and_then(Value::as_str).unwrap_or("");
        if !managers.iter().any(|m| m == manager) {
            continue;
        }
        if let Some(op) = operation
            && entry.get("operation").and_then(Value::as_str) != Some(op)
        {
            continue;
        }
        let Some(fields) = entry.get("fieldsV1") else {
            continue;
        };
        let set = FieldSet::parse(fields);
        match &mut result {
            Some(existing) => existing.union(set),
            None => result = Some(set),
        }
    }
    result
}

/// True when a list element matches a `k:` key.
fn matches_key(item: &Value, key: &Map<String, Value>) -> bool {
    key.iter().all(|(k, v)| {
        item.get(k)
            .is_some_and(|iv| iv == v || crate::normalize::loosely_equal(iv, v))
    })
}

/// Removes the owned paths from `obj` (used for `managedFieldsManagers`).
pub(crate) fn remove_owned(obj: &mut Value, set: &FieldSet) {
    for (elem, child) in &set.children {
        match (elem, &mut *obj) {
            (PathElem::Field(name), Value::Object(map)) => {
                if child.is_leaf() {
                    map.remove(name);
                } else if let Some(value) = map.get_mut(name) {
                    remove_owned(value, child);
                }
            }
            (PathElem::Key(key), Value::Array(items)) => {
                if child.owns_self
                    && child
                        .children
                        .iter()
                        .all(|(e, _)| matches!(e, PathElem::Field(f) if key.contains_key(f)))
                {
                    items.retain(|item| !matches_key(item, key));
                } else if let Some(item) = items.iter_mut().find(|item| matches_key(item, key)) {
                    remove_owned(item, child);
                }
            }
            (PathElem::Value(value), Value::Array(items)) => items.retain(|item| item != value),
            (PathElem::Index(i), Value::Array(items)) => {
                if let Some(item) = items.get_mut(*i) {
                    remove_owned(item, child);
                }
            }
            _ => {}
        }
    }
}

/// A skeleton object with the owned paths (leaf values are `null`), used as the "last applied" state
/// for server-side applied resources.
pub(crate) fn skeleton(set: &FieldSet) -> Value {
    if set
        .children
        .iter()
        .any(|(e, _)| matches!(e, PathElem::Field(_)))
    {
        let mut map = Map::new();
        for (elem, child) in &set.children {
            if let PathElem::Field(name) = elem {
                map.insert(name.clone(), skeleton(child));
            }
        }
        return Value::Object(map);
    }
    if set.children.is_empty() {
        return Value::Null;
    }
    let mut items = Vec::new();
    for (elem, child) in &set.children {
        match elem {
            PathElem::Key(key) => {
                // Key fields identify the item; only those the manager set itself (listed as `f:`
                // children) are owned. A defaulted key field (a port's protocol) is not.
                let mut item = match skeleton(child) {
                    Value::Object(fields) => fields,
                    _ => Map::new(),
                };
                for (k, v) in key {
                    if item.contains_key(k) {
                        item.insert(k.clone(), v.clone());
                    }
                }
                items.push(Value::Object(item));
            }
            PathElem::Value(v) => items.push(v.clone()),
            PathElem::Index(_) | PathElem::Field(_) => items.push(skeleton(child)),
        }
    }
    Value::Array(items)
}
