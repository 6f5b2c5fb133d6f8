//! Durable object storage: redb on disk, an in-memory index for reads, and a watch history.
//!
//! Every write runs under one mutex: the closure computes its changes against the index, the
//! changes and the advanced resourceVersion counter are committed in one redb transaction
//! (durable before the call returns), and only then are the index, the history ring and the
//! watch broadcast updated. A write acknowledged to a client is therefore on disk.

mod disk;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::broadcast;

pub use disk::DiskError;

/// How many events are kept for watch resumption (in memory and on disk).
pub const HISTORY_LEN: usize = 20_000;
const BROADCAST_CAPACITY: usize = 65_536;

/// Identifies one stored object: storage key of its type, namespace ("" when cluster-scoped), name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjKey {
    pub rkey: String,
    pub ns: String,
    pub name: String,
}

impl ObjKey {
    pub fn new(rkey: impl Into<String>, ns: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            rkey: rkey.into(),
            ns: ns.into(),
            name: name.into(),
        }
    }

    fn db_key(&self) -> String {
        format!("{}\u{0}{}\u{0}{}", self.rkey, self.ns, self.name)
    }

    fn from_db_key(s: &str) -> Option<Self> {
        let mut it = s.split('\u{0}');
        Some(Self::new(it.next()?, it.next()?, it.next()?))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }

    fn code(self) -> &'static str {
        match self {
            EventType::Added => "A",
            EventType::Modified => "M",
            EventType::Deleted => "D",
        }
    }

    fn from_code(s: &str) -> Option<Self> {
        match s {
            "A" => Some(EventType::Added),
            "M" => Some(EventType::Modified),
            "D" => Some(EventType::Deleted),
            _ => None,
        }
    }
}

/// One change, as delivered to watchers.
#[derive(Debug, Clone)]
pub struct Event {
    pub rv: u64,
    pub etype: EventType,
    pub key: ObjKey,
    pub object: Arc<Value>,
    /// The state before the change (not kept across restarts).
    pub prev: Option<Arc<Value>>,
}

/// Store-level failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage: {0}")]
    Disk(#[from] DiskError),
    #[error("the store lock was poisoned by an earlier panic")]
    Poisoned,
}

type Index = HashMap<String, BTreeMap<(String, String), Arc<Value>>>;

struct Inner {
    rv: u64,
    /// All events with rv > compacted are in `history`.
    compacted: u64,
    objects: Index,
    history: VecDeque<Arc<Event>>,
}

/// The store. Cheap to share behind an `Arc`.
pub struct Store {
    disk: disk::Disk,
    inner: Mutex<Inner>,
    tx: broadcast::Sender<Arc<Event>>,
}

/// A write transaction: reads see the index plus this transaction's own changes.
pub struct Txn<'a> {
    inner: &'a Inner,
    rv: u64,
    pending: Vec<Event>,
}

/// What a watch starts from.
pub struct Subscription {
    pub replay: Vec<Arc<Event>>,
    pub snapshot: Vec<Arc<Value>>,
    pub rv: u64,
    pub rx: broadcast::Receiver<Arc<Event>>,
}

/// A watch asked for a resourceVersion older than the retained history.
#[derive(Debug, thiserror::Error)]
#[error("too old resource version: {requested} ({oldest})")]
pub struct Expired {
    pub requested: u64,
    pub oldest: u64,
}

impl Store {
    /// Open (or create) the store in `dir` and load every object into memory.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let (disk, loaded) = disk::Disk::open(&dir.join("store.redb"))?;
        let mut objects: Index = HashMap::new();
        for (key, obj) in loaded.objects {
            objects
                .entry(key.rkey)
                .or_default()
                .insert((key.ns, key.name), Arc::new(obj));
        }
        let history: VecDeque<Arc<Event>> = loaded
            .events
            .into_iter()
            .map(|(rv, etype, key, object)| {
                Arc::new(Event {
                    rv,
                    etype,
                    key,
                    object: Arc::new(object),
                    prev: None,
                })
            })
            .collect();
        let compacted = history
            .front()
            .map(|e| e.rv.saturating_sub(1))
            .unwrap_or(loaded.rv);
        let (tx, _) = broadcast::channel(BROADCAST_CAPACITY);
        Ok(Self {
            disk,
            inner: Mutex::new(Inner {
                rv: loaded.rv,
                compacted,
                objects,
                history,
            }),
            tx,
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        self.inner.lock().map_err(|_| StoreError::Poisoned)
    }

    /// The current store revision.
    pub fn current_rv(&self) -> u64 {
        self.lock().map(|g| g.rv).unwrap_or(0)
    }

    pub fn get(&self, key: &ObjKey) -> Option<Arc<Value>> {
        let g = self.lock().ok()?;
        g.objects
            .get(&key.rkey)?
            .get(&(key.ns.clone(), key.name.clone()))
            .cloned()
    }

    /// Objects of one type (optionally one namespace) and the revision of the snapshot.
    pub fn list(&self, rkey: &str, ns: Option<&str>) -> (Vec<Arc<Value>>, u64) {
        match self.lock() {
            Ok(g) => (list_index(&g.objects, rkey, ns), g.rv),
            Err(_) => (Vec::new(), 0),
        }
    }

    /// Every stored type key with objects.
    pub fn type_keys(&self) -> Vec<String> {
        self.lock()
            .map(|g| {
                g.objects
                    .iter()
                    .filter(|(_, m)| !m.is_empty())
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn object_count(&self) -> usize {
        self.lock()
            .map(|g| g.objects.values().map(BTreeMap::len).sum())
            .unwrap_or(0)
    }

    /// Subscribe to changes. With `since`, replays retained events after it (or fails with
    /// `Expired`); without it, returns a snapshot of `rkey`/`ns` taken atomically with the subscription.
    pub fn subscribe(
        &self,
        rkey: &str,
        ns: Option<&str>,
        since: Option<u64>,
    ) -> Result<Result<Subscription, Expired>, StoreError> {
        let g = self.lock()?;
        let rx = self.tx.subscribe();
        match since {
            None => Ok(Ok(Subscription {
                replay: Vec::new(),
                snapshot: list_index(&g.objects, rkey, ns),
                rv: g.rv,
                rx,
            })),
            Some(since) => {
                if since < g.compacted {
                    return Ok(Err(Expired {
                        requested: since,
                        oldest: g.compacted,
                    }));
                }
                let replay = g.history.iter().filter(|e| e.rv > since).cloned().collect();
                Ok(Ok(Subscription {
                    replay,
                    snapshot: Vec::new(),
                    rv: g.rv,
                    rx,
                }))
            }
        }
    }

    /// Every future change (for in-process controllers).
    pub fn subscribe_all(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    /// Run `f` as one durable write transaction.
    pub fn write<T, E>(&self, f: impl FnOnce(&mut Txn<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut g = self.lock()?;
        let (out, pending) = {
            let mut txn = Txn {
                inner: &g,
                rv: g.rv,
                pending: Vec::new(),
            };
            let out = f(&mut txn)?;
            (out, txn.pending)
        };
        if pending.is_empty() {
            return Ok(out);
        }
        let new_rv = pending.last().map(|e| e.rv).unwrap_or(g.rv);
        let trim_below = if g.history.len() + pending.len() > HISTORY_LEN + 1000 {
            Some(new_rv.saturating_sub(HISTORY_LEN as u64))
        } else {
            None
        };
        self.disk
            .commit(&pending, new_rv, trim_below)
            .map_err(StoreError::from)?;
        let inner = &mut *g;
        inner.rv = new_rv;
        for ev in pending {
            let map = inner.objects.entry(ev.key.rkey.clone()).or_default();
            let k = (ev.key.ns.clone(), ev.key.name.clone());
            match ev.etype {
                EventType::Deleted => {
                    map.remove(&k);
                }
                _ => {
                    map.insert(k, ev.object.clone());
                }
            }
            let ev = Arc::new(ev);
            inner.history.push_back(ev.clone());
            let _ = self.tx.send(ev);
        }
        if let Some(cut) = trim_below {
            while inner.history.front().is_some_and(|e| e.rv <= cut) {
                inner.history.pop_front();
            }
            inner.compacted = cut;
        }
        Ok(out)
    }
}

fn list_index(objects: &Index, rkey: &str, ns: Option<&str>) -> Vec<Arc<Value>> {
    let Some(map) = objects.get(rkey) else {
        return Vec::new();
    };
    match ns {
        None => map.values().cloned().collect(),
        Some(ns) => map
            .range((ns.to_string(), String::new())..)
            .take_while(|((n, _), _)| n == ns)
            .map(|(_, v)| v.clone())
            .collect(),
    }
}

impl Txn<'_> {
    /// The revision the next change will get, minus one.
    pub fn rv(&self) -> u64 {
        self.rv
    }

    pub fn get(&self, key: &ObjKey) -> Option<Arc<Value>> {
        if let Some(ev) = self.pending.iter().rev().find(|e| &e.key == key) {
            return (ev.etype != EventType::Deleted).then(|| ev.object.clone());
        }
        self.inner
            .objects
            .get(&key.rkey)?
            .get(&(key.ns.clone(), key.name.clone()))
            .cloned()
    }

    /// Objects of a type (optionally one namespace), including this transaction's changes.
    pub fn list(&self, rkey: &str, ns: Option<&str>) -> Vec<Arc<Value>> {
        let mut base = list_index(&self.inner.objects, rkey, ns);
        if self.pending.iter().any(|e| e.key.rkey == rkey) {
            let mut map: BTreeMap<(String, String), Option<Arc<Value>>> = base
                .drain(..)
                .map(|o| {
                    (
                        (
                            crate::meta::namespace(&o).to_string(),
                            crate::meta::name(&o).to_string(),
                        ),
                        Some(o),
                    )
                })
                .collect();
            for e in self
                .pending
                .iter()
                .filter(|e| e.key.rkey == rkey && ns.is_none_or(|n| n == e.key.ns))
            {
                let v = (e.etype != EventType::Deleted).then(|| e.object.clone());
                map.insert((e.key.ns.clone(), e.key.name.clone()), v);
            }
            base = map.into_values().flatten().collect();
        }
        base
    }

    /// Create or replace an object; assigns the next resourceVersion.
    pub fn put(&mut self, key: ObjKey, mut obj: Value) -> Arc<Value> {
        let prev = self.get(&key);
        self.rv += 1;
        crate::meta::set_resource_version(&mut obj, self.rv);
        let object = Arc::new(obj);
        let etype = if prev.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.pending.push(Event {
            rv: self.rv,
            etype,
            key,
            object: object.clone(),
            prev,
        });
        object
    }

    /// Remove an object; `last` is its final state (it gets the new resourceVersion).
    pub fn delete(&mut self, key: ObjKey, mut last: Value) -> Arc<Value> {
        let prev = self.get(&key);
        self.rv += 1;
        crate::meta::set_resource_version(&mut last, self.rv);
        let object = Arc::new(last);
        self.pending.push(Event {
            rv: self.rv,
            etype: EventType::Deleted,
            key,
            object: object.clone(),
            prev,
        });
        object
    }
}
