//! The redb file: objects by key, the event log by resourceVersion, and the counter.

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

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
    pub objects: Vec<(ObjKey, Vec<u8>)>,
    pub events: Vec<(u64, EventType, ObjKey, Vec<u8>)>,
}

pub(super) struct Disk {
    db: Database,
}

impl Disk {
    pub fn open(path: &Path) -> Result<(Self, Loaded), DiskError> {
        // The index lives in memory already; a small page cache keeps RSS down.
        let db = redb::Builder::new()
            .set_cache_size(32 << 20)
            .create(path)
            .map_err(rerr)?;
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
            objects.push((key, v.value().to_vec()));
        }
        let mut events = Vec::new();
        for item in r.open_table(EVENTS).map_err(rerr)?.iter().map_err(rerr)? {
            let (k, v) = item.map_err(rerr)?;
            let rv = k.value();
            let (etype, key, raw) = decode_event(v.value()).ok_or_else(|| DiskError::Corrupt {
                key: format!("event {rv}"),
                message: "malformed event record".into(),
            })?;
            events.push((rv, etype, key, raw));
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
        pending: &[std::sync::Arc<Event>],
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
                match ev.etype {
                    EventType::Deleted => {
                        objects.remove(key.as_str()).map_err(rerr)?;
                    }
                    _ => {
                        objects.insert(key.as_str(), &*ev.raw).map_err(rerr)?;
                    }
                }
                let rec = encode_event(ev.etype, &key, &ev.raw);
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

/// Event record: type code byte, key length (u32 LE), key, object JSON.
fn encode_event(etype: EventType, key: &str, raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + key.len() + raw.len());
    out.push(etype.code().as_bytes()[0]);
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(raw);
    out
}

fn decode_event(b: &[u8]) -> Option<(EventType, ObjKey, Vec<u8>)> {
    let code = std::str::from_utf8(b.get(..1)?).ok()?;
    let etype = EventType::from_code(code)?;
    let len = u32::from_le_bytes(b.get(1..5)?.try_into().ok()?) as usize;
    let key = std::str::from_utf8(b.get(5..5 + len)?).ok()?;
    let key = ObjKey::from_db_key(key)?;
    Some((etype, key, b.get(5 + len..)?.to_vec()))
}
