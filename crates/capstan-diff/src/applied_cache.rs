//! A bounded, process-wide cache of parsed last-applied-configuration annotations: the same live
//! objects are compared on every refresh, and parsing the annotation is most of the cost of an
//! in-sync comparison. Entries are keyed by the full annotation text (no hash collisions possible).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use serde_json::Value;

/// Entries kept before the cache is emptied.
const CAPACITY: usize = 1024;
/// Annotations longer than this are parsed each time (they would dominate the cache's memory).
const MAX_TEXT: usize = 64 * 1024;

static CACHE: LazyLock<Mutex<HashMap<Box<str>, Arc<Value>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The parsed annotation, or `None` when it is not a JSON object.
pub(crate) fn parse(raw: &str) -> Option<Arc<Value>> {
    if raw.len() > MAX_TEXT {
        return parse_uncached(raw);
    }
    if let Ok(cache) = CACHE.lock()
        && let Some(hit) = cache.get(raw)
    {
        return Some(Arc::clone(hit));
    }
    let parsed = parse_uncached(raw)?;
    if let Ok(mut cache) = CACHE.lock() {
        if cache.len() >= CAPACITY {
            cache.clear();
        }
        cache.insert(raw.into(), Arc::clone(&parsed));
    }
    Some(parsed)
}

fn parse_uncached(raw: &str) -> Option<Arc<Value>> {
    serde_json::from_str::<Value>(raw)
        .ok()
        .filter(Value::is_object)
        .map(Arc::new)
}
