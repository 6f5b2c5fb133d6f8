//! The cache of generated manifests: in memory (least recently used, bounded) in front of a redb file
//! on disk (bounded, oldest written evicted), so that a restart does not regenerate everything.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
    WriteTransaction,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

const ENTRIES: TableDefinition<&str, &[u8]> = TableDefinition::new("manifests");
const ORDER: TableDefinition<u64, &str> = TableDefinition::new("order");
const LATEST: TableDefinition<&str, &[u8]> = TableDefinition::new("latest");

/// One cached generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedManifests {
    /// Commit the objects were generated from (or found unchanged at).
    pub commit: String,
    /// Source type used.
    pub source_type: String,
    /// The objects.
    pub objects: Vec<Value>,
}

/// The latest generation for a source independent of its commit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latest {
    /// Commit.
    pub commit: String,
    /// Cache key of that generation.
    pub key: String,
}

/// Why the cache failed (it is then bypassed, never fatal).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("manifest cache: {0}")]
pub struct CacheError(String);

fn err(e: impl std::fmt::Display) -> CacheError {
    CacheError(e.to_string())
}

/// Entries are kept as their compact JSON text, not as parsed values: a parsed object takes several
/// times its text's size, and at thousands of applications this cache is a large part of the repo
/// server's memory. A hit parses the text again (microseconds for an application's manifests).
struct Memory {
    entries: HashMap<String, (u64, Arc<[u8]>)>,
    latest: HashMap<String, Latest>,
    tick: u64,
}

/// The manifest cache.
pub struct ManifestCache {
    memory: Mutex<Memory>,
    disk: Option<Database>,
    max_memory: usize,
    max_disk: u64,
    writes: std::sync::atomic::AtomicU64,
}

/// Every this many writes one is made durable (with those before it); the others are not synced
/// one by one: the cache can lose its latest entries in a crash, never become inconsistent.
const SYNC_EVERY: u64 = 64;

impl ManifestCache {
    /// A cache keeping at most `max_memory` entries in memory and `max_disk` on disk at `path`
    /// (`None`: memory only).
    pub fn open(
        path: Option<&Path>,
        max_memory: usize,
        max_disk: u64,
    ) -> Result<ManifestCache, CacheError> {
        let disk = match path {
            Some(p) => {
                if let Some(parent) = p.parent() {
                    std::fs::create_dir_all(parent).map_err(err)?;
                }
                // redb's page cache defaults to 1 GiB and fills with every page written: the
                // in-memory LRU in front of it already keeps the hot entries, so keep it small
                let db = redb::Builder::new()
                    .set_cache_size(16 << 20)
                    .create(p)
                    .map_err(err)?;
                // rendered manifests may hold Secrets: readable by this user only
                std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                    .map_err(err)?;
                let tx = db.begin_write().map_err(err)?;
                {
                    tx.open_table(ENTRIES).map_err(err)?;
                    tx.open_table(ORDER).map_err(err)?;
                    tx.open_table(LATEST).map_err(err)?;
                }
                tx.commit().map_err(err)?;
                Some(db)
            }
            None => None,
        };
        Ok(ManifestCache {
            memory: Mutex::new(Memory {
                entries: HashMap::new(),
                latest: HashMap::new(),
                tick: 0,
            }),
            disk,
            max_memory: max_memory.max(1),
            max_disk: max_disk.max(1),
            writes: std::sync::atomic::AtomicU64::new(0),
        })
    }

    fn begin_write(&self, db: &Database) -> Result<WriteTransaction, CacheError> {
        let mut tx = db.begin_write().map_err(err)?;
        let n = self
            .writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if !(n + 1).is_multiple_of(SYNC_EVERY) {
            tx.set_durability(Durability::None).map_err(err)?;
        }
        Ok(tx)
    }

    /// Makes every write so far durable.
    pub fn sync(&self) -> Result<(), CacheError> {
        if let Some(db) = &self.disk {
            let tx = db.begin_write().map_err(err)?;
            tx.commit().map_err(err)?;
        }
        Ok(())
    }

    fn mem(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.memory.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Looks an entry up (memory, then disk).
    pub fn get(&self, key: &str) -> Option<Arc<CachedManifests>> {
        {
            let mut mem = self.mem();
            mem.tick += 1;
            let tick = mem.tick;
            if let Some((used, bytes)) = mem.entries.get_mut(key) {
                *used = tick;
                let bytes = bytes.clone();
                drop(mem);
                if let Ok(entry) = serde_json::from_slice::<CachedManifests>(&bytes) {
                    return Some(Arc::new(entry));
                }
            }
        }
        let entry = Arc::new(self.disk_get(key).ok().flatten()?);
        self.remember(key, entry.clone());
        Some(entry)
    }

    fn disk_get(&self, key: &str) -> Result<Option<CachedManifests>, CacheError> {
        let Some(db) = &self.disk else {
            return Ok(None);
        };
        let tx = db.begin_read().map_err(err)?;
        let table = tx.open_table(ENTRIES).map_err(err)?;
        match table.get(key).map_err(err)? {
            Some(bytes) => Ok(serde_json::from_slice(bytes.value()).ok()),
            None => Ok(None),
        }
    }

    fn remember(&self, key: &str, entry: Arc<CachedManifests>) {
        let Ok(bytes) = serde_json::to_vec(&*entry) else {
            return;
        };
        let mut mem = self.mem();
        mem.tick += 1;
        let tick = mem.tick;
        mem.entries
            .insert(key.to_string(), (tick, Arc::from(bytes)));
        if mem.entries.len() > self.max_memory {
            // Drop the least recently used tenth in one pass.
            let mut ages: Vec<(u64, String)> = mem
                .entries
                .iter()
                .map(|(k, (t, _))| (*t, k.clone()))
                .collect();
            ages.sort();
            let drop = (self.max_memory / 10).max(1) + mem.entries.len() - self.max_memory;
            for (_, k) in ages.into_iter().take(drop) {
                mem.entries.remove(&k);
            }
        }
    }

    /// Stores an entry (memory and disk).
    pub fn put(
        &self,
        key: &str,
        entry: CachedManifests,
    ) -> Result<Arc<CachedManifests>, CacheError> {
        let entry = Arc::new(entry);
        self.remember(key, entry.clone());
        if let Some(db) = &self.disk {
            let bytes = serde_json::to_vec(entry.as_ref()).map_err(err)?;
            let tx = self.begin_write(db)?;
            {
                let mut entries = tx.open_table(ENTRIES).map_err(err)?;
                let mut order = tx.open_table(ORDER).map_err(err)?;
                entries.insert(key, bytes.as_slice()).map_err(err)?;
                let next = order
                    .last()
                    .map_err(err)?
                    .map(|(k, _)| k.value() + 1)
                    .unwrap_or(0);
                order.insert(next, key).map_err(err)?;
                while entries.len().map_err(err)? > self.max_disk {
                    let Some((seq, old)) = order
                        .first()
                        .map_err(err)?
                        .map(|(k, v)| (k.value(), v.value().to_string()))
                    else {
                        break;
                    };
                    order.remove(seq).map_err(err)?;
                    if old != key {
                        entries.remove(old.as_str()).map_err(err)?;
                    }
                }
            }
            tx.commit().map_err(err)?;
        }
        Ok(entry)
    }

    /// The latest generation recorded for a commit-independent source key.
    pub fn latest(&self, source_key: &str) -> Option<Latest> {
        if let Some(found) = self.mem().latest.get(source_key) {
            return Some(found.clone());
        }
        let db = self.disk.as_ref()?;
        let tx = db.begin_read().ok()?;
        let table = tx.open_table(LATEST).ok()?;
        let bytes = table.get(source_key).ok()??;
        let latest: Latest = serde_json::from_slice(bytes.value()).ok()?;
        self.mem()
            .latest
            .insert(source_key.to_string(), latest.clone());
        Some(latest)
    }

    /// Records the latest generation for a source key.
    pub fn set_latest(&self, source_key: &str, latest: Latest) -> Result<(), CacheError> {
        {
            let mut mem = self.mem();
            if mem.latest.get(source_key) == Some(&latest) {
                return Ok(());
            }
            mem.latest.insert(source_key.to_string(), latest.clone());
        }
        if let Some(db) = &self.disk {
            let bytes = serde_json::to_vec(&latest).map_err(err)?;
            let tx = self.begin_write(db)?;
            {
                let mut table = tx.open_table(LATEST).map_err(err)?;
                table.insert(source_key, bytes.as_slice()).map_err(err)?;
            }
            tx.commit().map_err(err)?;
        }
        Ok(())
    }

    /// Number of entries in memory.
    pub fn memory_len(&self) -> usize {
        self.mem().entries.len()
    }
}

impl Drop for ManifestCache {
    fn drop(&mut self) {
        if let Err(e) = self.sync() {
            tracing::warn!(error = %e, "manifest cache: final sync failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(n: u32) -> CachedManifests {
        CachedManifests {
            commit: format!("c{n}"),
            source_type: "Directory".into(),
            objects: vec![json!({"kind": "ConfigMap", "n": n})],
        }
    }

    #[test]
    fn survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.redb");
        {
            let cache = ManifestCache::open(Some(&path), 10, 10).unwrap();
            cache.put("k1", entry(1)).unwrap();
            cache
                .set_latest(
                    "s",
                    Latest {
                        commit: "c1".into(),
                        key: "k1".into(),
                    },
                )
                .unwrap();
        }
        let cache = ManifestCache::open(Some(&path), 10, 10).unwrap();
        assert_eq!(cache.get("k1").unwrap().commit, "c1");
        assert_eq!(cache.latest("s").unwrap().key, "k1");
        assert!(cache.get("k2").is_none());
    }

    #[test]
    fn bounded_in_memory_and_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ManifestCache::open(Some(&dir.path().join("m.redb")), 5, 8).unwrap();
        for i in 0..20 {
            cache.put(&format!("k{i}"), entry(i)).unwrap();
        }
        assert!(cache.memory_len() <= 5);
        // the oldest entries left the disk too
        assert!(cache.disk_get("k0").unwrap().is_none());
        assert!(cache.disk_get("k19").unwrap().is_some());
    }
}
