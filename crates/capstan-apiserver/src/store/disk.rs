//! The redb file: objects by key, the event log by resourceVersion, and the counter.

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::{Value, json};

use super::{Event, EventType, ObjKey};

const OBJECTS: TableDefinition<&str, &[u8]> = TableDefinition::new("objects");
const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// Failures of the on-disk store.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    #[error("redb: {0}")]
    Redb(#[from] redb::Error),
    #[error("corrupt record {key}: {message}")]
    Corrupt { key: String, message: String },
}

fn rerr(e: impl Into<redb::Error>) -> DiskError {
    DiskError::Redb(e.into())
}

pub(super) struct Loaded {
    pub rv: u64,
    pub objects: Vec<(ObjKey, Value)>,
    pub events: Vec<(u64, EventType, ObjKey, Value)>,
}

pub(super) struct Disk {
    db: Database,
}

impl Disk {
    pub fn open(path: &Path) -> Result<(Self, Loaded), DiskError> {
        let db = Database::create(path).map_err(rerr)?;
        {
            // Make sure the tables exist so that readers never see "table does not exist".
            let w = db.begin_write().map_err(rerr)?;
            w.open_table(OBJECTS).map_err(rerr)?;
            w.open_table(EVENTS).map_err(rerr)?;
            w.open_table(META).map_err(rerr)?;
            w.commit().map_err(rerr)?;
        }
        let r = db.begin_read().map_err(rerr)?;
        let meta = r.open_table(META).map_err(rerr)?;
        let rv = meta
            .get("rv")
            .map_err(rerr)?
            .map(|g| g.value())
            .unwrap_or(0);
        let mut objects = Vec::new();
        for item in r.open_table(OBJECTS).map_err(rerr)?.iter().map_err(rerr)? {
            let (k, v) = item.map_err(rerr)?;
            let key_s = k.value().to_string();
            let key = ObjKey::from_db_key(&key_s).ok_or_else(|| DiskError::Corrupt {
                key: key_s.clone(),
                message: "bad key".into(),
            })?;
            let obj: Value = serde_json::from_slice(v.value()).map_err(|e| DiskError::Corrupt {
                key: key_s.clone(),
                message: e.to_string(),
            })?;
            objects.push((key, obj));
        }
        let mut events = Vec::new();
        for item in r.open_table(EVENTS).map_err(rerr)?.iter().map_err(rerr)? {
            let (k, v) = item.map_err(rerr)?;
            let rv = k.value();
            let corrupt = |m: &str| DiskError::Corrupt {
                key: format!("event {rv}"),
                message: m.to_string(),
            };
            let mut rec: Value =
                serde_json::from_slice(v.value()).map_err(|e| corrupt(&e.to_string()))?;
            let etype = rec
                .get("t")
                .and_then(Value::as_str)
                .and_then(EventType::from_code)
                .ok_or_else(|| corrupt("type"))?;
            let key = rec
                .get("k")
                .and_then(Value::as_str)
                .and_then(ObjKey::from_db_key)
                .ok_or_else(|| corrupt("key"))?;
            let obj = rec
                .get_mut("o")
                .map(Value::take)
                .ok_or_else(|| corrupt("object"))?;
            events.push((rv, etype, key, obj));
        }
        drop(r);
        Ok((
            Self { db },
            Loaded {
                rv,
                objects,
                events,
            },
        ))
    }

    /// Commit a batch of changes and the new counter in one durable transaction.
    pub fn commit(
        &self,
        pending: &[Event],
        rv: u64,
        trim_below: Option<u64>,
    ) -> Result<(), DiskError> {
        let w = self.db.begin_write().map_err(rerr)?;
        {
            let mut objects = w.open_table(OBJECTS).map_err(rerr)?;
            let mut events = w.open_table(EVENTS).map_err(rerr)?;
            let mut meta = w.open_table(META).map_err(rerr)?;
            for ev in pending {
                let key = ev.key.db_key();
                let bytes = serde_json::to_vec(&*ev.object).map_err(|e| DiskError::Corrupt {
                    key: key.clone(),
                    message: e.to_string(),
                })?;
                match ev.etype {
                    EventType::Deleted => {
                        objects.remove(key.as_str()).map_err(rerr)?;
                    }
                    _ => {
                        objects
                            .insert(key.as_str(), bytes.as_slice())
                            .map_err(rerr)?;
                    }
                }
                let rec = json!({"t": ev.etype.code(), "k": key, "o": &*ev.object});
                let rec = serde_json::to_vec(&rec).map_err(|e| DiskError::Corrupt {
                    key,
                    message: e.to_string(),
                })?;
                events.insert(ev.rv, rec.as_slice()).map_err(rerr)?;
            }
            if let Some(cut) = trim_below {
                events.retain_in(..=cut, |_, _| false).map_err(rerr)?;
            }
            meta.insert("rv", rv).map_err(rerr)?;
        }
        w.commit().map_err(rerr)?;
        Ok(())
    }
}
