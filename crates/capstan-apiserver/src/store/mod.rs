//! Durable object storage: redb on disk, an in-memory index for reads, and a watch history.
//!
//! Every write runs under one mutex: the closure computes its changes against the index, which
//! is updated at once, and the batch is queued to a committer thread. The committer commits all
//! queued batches in one redb transaction (group commit: one fsync for many concurrent writes),
//! then appends them to the watch history and broadcasts them in resourceVersion order, and
//! only then does `write` return. A write acknowledged to a client is therefore on disk, and
//! watchers never see an uncommitted change. (A concurrent GET may read a change a few
//! milliseconds before its commit completes.) If a commit fails, the store refuses all further
//! writes.

mod disk;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::broadcast;

pub use disk::DiskError;

/// How many events are kept for watch resumption (in memory and on disk).
pub const HISTORY_LEN: usize = 20_000;
const BROADCAST_CAPACITY: usize = 16_384;

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

/// Serialized JSON of an object, as stored in the index and the history (compact in memory).
pub type Raw = Arc<[u8]>;

/// One change, as delivered to watchers.
#[derive(Debug, Clone)]
pub struct Event {
    pub rv: u64,
    pub etype: EventType,
    pub key: ObjKey,
    /// The object after the change (the last state for DELETED), serialized.
    pub raw: Raw,
    /// The state before the change, serialized.
    pub prev: Option<Raw>,
}

impl Event {
    pub fn object(&self) -> Value {
        decode(&self.raw)
    }

    pub fn prev_object(&self) -> Option<Value> {
        self.prev.as_deref().map(decode)
    }
}

/// Parse stored JSON (it was produced by serializing a `Value`, so it parses).
pub fn decode(raw: &[u8]) -> Value {
    serde_json::from_slice(raw).unwrap_or(Value::Null)
}

fn encode(v: &Value) -> Raw {
    Arc::from(serde_json::to_vec(v).unwrap_or_default())
}

/// A change made inside a transaction, before it is committed.
struct Pending {
    rv: u64,
    etype: EventType,
    key: ObjKey,
    object: Arc<Value>,
}

/// Store-level failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage: {0}")]
    Disk(#[from] DiskError),
    #[error("the store lock was poisoned by an earlier panic")]
    Poisoned,
    #[error("the store failed an earlier commit and refuses writes: {0}")]
    Failed(String),
    #[error("cannot start the store's commit thread: {0}")]
    Thread(std::io::Error),
}

/// What the garbage collector needs to know about an object without decoding it.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub uid: Box<str>,
    /// Has ownerReferences, finalizers or a deletionTimestamp.
    pub gc_relevant: bool,
}

impl Summary {
    fn of(v: &Value) -> Self {
        let m = v.get("metadata");
        let has = |k: &str| m.and_then(|m| m.get(k)).is_some_and(|x| !x.is_null());
        Self {
            uid: m
                .and_then(|m| m.get("uid"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .into(),
            gc_relevant: has("ownerReferences") || has("deletionTimestamp") || has("finalizers"),
        }
    }

    fn of_raw(raw: &[u8]) -> Self {
        #[derive(serde::Deserialize, Default)]
        struct Meta {
            #[serde(default)]
            uid: Option<String>,
            #[serde(default, rename = "ownerReferences")]
            owner_references: Option<serde::de::IgnoredAny>,
            #[serde(default, rename = "deletionTimestamp")]
            deletion_timestamp: Option<serde::de::IgnoredAny>,
            #[serde(default)]
            finalizers: Option<serde::de::IgnoredAny>,
        }
        #[derive(serde::Deserialize, Default)]
        struct Obj {
            #[serde(default)]
            metadata: Option<Meta>,
        }
        let o: Obj = serde_json::from_slice(raw).unwrap_or_default();
        let m = o.metadata.unwrap_or_default();
        Self {
            uid: m.uid.unwrap_or_default().into(),
            gc_relevant: m.owner_references.is_some()
                || m.deletion_timestamp.is_some()
                || m.finalizers.is_some(),
        }
    }
}

/// Every uid, and the decoded objects (with their type key) that matter to GC.
pub type GcView = (
    std::collections::HashSet<Box<str>>,
    Vec<(String, Arc<Value>)>,
);

/// One indexed object: its bytes and summary.
#[derive(Debug, Clone)]
struct Stored {
    raw: Raw,
    summary: Summary,
}

type Index = HashMap<String, BTreeMap<(String, String), Stored>>;

struct Inner {
    /// The last assigned resourceVersion (may be ahead of the last committed one by the
    /// batches the committer is writing).
    rv: u64,
    /// All committed events with rv > compacted are in `history`.
    compacted: u64,
    objects: Index,
    history: VecDeque<Arc<Event>>,
    failed: Option<String>,
}

struct Shared {
    inner: Mutex<Inner>,
    tx: broadcast::Sender<Arc<Event>>,
}

struct Batch {
    events: Vec<Arc<Event>>,
    done: std::sync::mpsc::SyncSender<Result<(), String>>,
}

/// The store. Cheap to share behind an `Arc`.
pub struct Store {
    shared: Arc<Shared>,
    commit_tx: Option<std::sync::mpsc::Sender<Batch>>,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Store {
    fn drop(&mut self) {
        // Closing the queue ends the committer, which releases the database file.
        self.commit_tx.take();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// The committer thread: group-commits queued batches, then publishes them.
fn committer(disk: disk::Disk, shared: Arc<Shared>, rx: std::sync::mpsc::Receiver<Batch>) {
    while let Ok(first) = rx.recv() {
        let mut batches = vec![first];
        while batches.len() < 512 {
            match rx.try_recv() {
                Ok(b) => batches.push(b),
                Err(_) => break,
            }
        }
        let events: Vec<Arc<Event>> = batches
            .iter()
            .flat_map(|b| b.events.iter().cloned())
            .collect();
        let new_rv = events.last().map(|e| e.rv).unwrap_or(0);
        let history_len = shared.inner.lock().map(|g| g.history.len()).unwrap_or(0);
        let trim_below = (history_len + events.len() > HISTORY_LEN + 1000)
            .then(|| new_rv.saturating_sub(HISTORY_LEN as u64));
        let result = disk
            .commit(&events, new_rv, trim_below)
            .map_err(|e| e.to_string());
        if let Ok(mut g) = shared.inner.lock() {
            match &result {
                Ok(()) => {
                    for ev in &events {
                        g.history.push_back(ev.clone());
                        let _ = shared.tx.send(ev.clone());
                    }
                    if let Some(cut) = trim_below {
                        while g.history.front().is_some_and(|e| e.rv <= cut) {
                            g.history.pop_front();
                        }
                        g.compacted = cut;
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "store commit failed; refusing further writes");
                    g.failed = Some(e.clone());
                }
            }
        }
        for b in batches {
            let _ = b.done.send(result.clone());
        }
    }
}

/// A write transaction: reads see the index plus this transaction's own changes.
pub struct Txn<'a> {
    inner: &'a Inner,
    rv: u64,
    pending: Vec<Pending>,
}

/// What a watch starts from.
pub struct Subscription {
    pub replay: Vec<Arc<Event>>,
    pub snapshot: Vec<Raw>,
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
        for (key, raw) in loaded.objects {
            let summary = Summary::of_raw(&raw);
            objects.entry(key.rkey).or_default().insert(
                (key.ns, key.name),
                Stored {
                    raw: Arc::from(raw),
                    summary,
                },
            );
        }
        let history: VecDeque<Arc<Event>> = loaded
            .events
            .into_iter()
            .map(|(rv, etype, key, raw)| {
                Arc::new(Event {
                    rv,
                    etype,
                    key,
                    raw: Arc::from(raw),
                    prev: None,
                })
            })
            .collect();
        let compacted = history
            .front()
            .map(|e| e.rv.saturating_sub(1))
            .unwrap_or(loaded.rv);
        let (tx, _) = broadcast::channel(BROADCAST_CAPACITY);
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                rv: loaded.rv,
                compacted,
                objects,
                history,
                failed: None,
            }),
            tx,
        });
        let (commit_tx, commit_rx) = std::sync::mpsc::channel();
        let worker = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("capstan-store-commit".into())
                .spawn(move || committer(disk, shared, commit_rx))
                .map_err(StoreError::Thread)?
        };
        Ok(Self {
            shared,
            commit_tx: Some(commit_tx),
            worker: Some(worker),
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        self.shared.inner.lock().map_err(|_| StoreError::Poisoned)
    }

    /// The current store revision.
    pub fn current_rv(&self) -> u64 {
        self.lock().map(|g| g.rv).unwrap_or(0)
    }

    pub fn get(&self, key: &ObjKey) -> Option<Arc<Value>> {
        let raw = {
            let g = self.lock().ok()?;
            g.objects
                .get(&key.rkey)?
                .get(&(key.ns.clone(), key.name.clone()))?
                .raw
                .clone()
        };
        Some(Arc::new(decode(&raw)))
    }

    /// Objects of one type (optionally one namespace) and the revision of the snapshot.
    pub fn list(&self, rkey: &str, ns: Option<&str>) -> (Vec<Arc<Value>>, u64) {
        let (raws, rv) = match self.lock() {
            Ok(g) => (list_raw(&g.objects, rkey, ns), g.rv),
            Err(_) => (Vec::new(), 0),
        };
        (raws.iter().map(|r| Arc::new(decode(r))).collect(), rv)
    }

    /// Serialized objects of one type (optionally one namespace) and the snapshot revision.
    pub fn list_raw(&self, rkey: &str, ns: Option<&str>) -> (Vec<Raw>, u64) {
        match self.lock() {
            Ok(g) => (list_raw(&g.objects, rkey, ns), g.rv),
            Err(_) => (Vec::new(), 0),
        }
    }

    /// For garbage collection: the uid of every object, and the objects (type key, decoded)
    /// that have ownerReferences, finalizers or a deletionTimestamp.
    pub fn gc_view(&self) -> GcView {
        let mut uids = std::collections::HashSet::new();
        let mut raws = Vec::new();
        if let Ok(g) = self.lock() {
            for (rkey, map) in &g.objects {
                for s in map.values() {
                    uids.insert(s.summary.uid.clone());
                    if s.summary.gc_relevant {
                        raws.push((rkey.clone(), s.raw.clone()));
                    }
                }
            }
        }
        let objs = raws
            .into_iter()
            .map(|(k, r)| (k, Arc::new(decode(&r))))
            .collect();
        (uids, objs)
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
        let rx = self.shared.tx.subscribe();
        match since {
            None => Ok(Ok(Subscription {
                replay: Vec::new(),
                snapshot: list_raw(&g.objects, rkey, ns),
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
        self.shared.tx.subscribe()
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
        if let Some(f) = &g.failed {
            return Err(StoreError::Failed(f.clone()).into());
        }
        let new_rv = pending.last().map(|e| e.rv).unwrap_or(g.rv);
        let inner = &mut *g;
        inner.rv = new_rv;
        let mut events = Vec::with_capacity(pending.len());
        for p in pending {
            let map = inner.objects.entry(p.key.rkey.clone()).or_default();
            let k = (p.key.ns.clone(), p.key.name.clone());
            let raw = encode(&p.object);
            let prev = match p.etype {
                EventType::Deleted => map.remove(&k),
                _ => map.insert(
                    k,
                    Stored {
                        raw: raw.clone(),
                        summary: Summary::of(&p.object),
                    },
                ),
            }
            .map(|s| s.raw);
            events.push(Arc::new(Event {
                rv: p.rv,
                etype: p.etype,
                key: p.key,
                raw,
                prev,
            }));
        }
        let (done, wait) = std::sync::mpsc::sync_channel(1);
        let queued = self
            .commit_tx
            .as_ref()
            .map(|tx| tx.send(Batch { events, done }).is_ok())
            .unwrap_or(false);
        drop(g);
        if !queued {
            return Err(StoreError::Failed("the commit thread has stopped".into()).into());
        }
        match wait.recv() {
            Ok(Ok(())) => Ok(out),
            Ok(Err(e)) => Err(StoreError::Failed(e).into()),
            Err(_) => Err(StoreError::Failed("the commit thread has stopped".into()).into()),
        }
    }
}

/// `apiVersion`, `kind`, `metadata` first, as Kubernetes serialises objects (lists are built
/// from the stored bytes).
fn type_meta_first(o: Value) -> Value {
    match o {
        Value::Object(mut m) => {
            let mut out = serde_json::Map::new();
            for k in ["apiVersion", "kind", "metadata"] {
                if let Some(v) = m.remove(k) {
                    out.insert(k.to_string(), v);
                }
            }
            out.extend(m);
            Value::Object(out)
        }
        other => other,
    }
}

fn list_raw(objects: &Index, rkey: &str, ns: Option<&str>) -> Vec<Raw> {
    let Some(map) = objects.get(rkey) else {
        return Vec::new();
    };
    match ns {
        None => map.values().map(|s| s.raw.clone()).collect(),
        Some(ns) => map
            .range((ns.to_string(), String::new())..)
            .take_while(|((n, _), _)| n == ns)
            .map(|(_, v)| v.raw.clone())
            .collect(),
    }
}

impl Txn<'_> {
    /// The revision the next change will get, minus one.
    pub fn rv(&self) -> u64 {
        self.rv
    }

    fn exists(&self, key: &ObjKey) -> bool {
        if let Some(p) = self.pending.iter().rev().find(|e| &e.key == key) {
            return p.etype != EventType::Deleted;
        }
        self.inner
            .objects
            .get(&key.rkey)
            .is_some_and(|m| m.contains_key(&(key.ns.clone(), key.name.clone())))
    }

    pub fn get(&self, key: &ObjKey) -> Option<Arc<Value>> {
        if let Some(p) = self.pending.iter().rev().find(|e| &e.key == key) {
            return (p.etype != EventType::Deleted).then(|| p.object.clone());
        }
        let raw = self
            .inner
            .objects
            .get(&key.rkey)?
            .get(&(key.ns.clone(), key.name.clone()))?;
        Some(Arc::new(decode(&raw.raw)))
    }

    /// Objects of a type (optionally one namespace), including this transaction's changes.
    pub fn list(&self, rkey: &str, ns: Option<&str>) -> Vec<Arc<Value>> {
        let mut map: BTreeMap<(String, String), Option<Arc<Value>>> = BTreeMap::new();
        if let Some(m) = self.inner.objects.get(rkey) {
            for ((n, name), stored) in m {
                if ns.is_none_or(|x| x == n) {
                    map.insert(
                        (n.clone(), name.clone()),
                        Some(Arc::new(decode(&stored.raw))),
                    );
                }
            }
        }
        for p in self
            .pending
            .iter()
            .filter(|e| e.key.rkey == rkey && ns.is_none_or(|n| n == e.key.ns))
        {
            let v = (p.etype != EventType::Deleted).then(|| p.object.clone());
            map.insert((p.key.ns.clone(), p.key.name.clone()), v);
        }
        map.into_values().flatten().collect()
    }

    /// Create or replace an object; assigns the next resourceVersion.
    pub fn put(&mut self, key: ObjKey, obj: Value) -> Arc<Value> {
        let mut obj = type_meta_first(obj);
        let etype = if self.exists(&key) {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.rv += 1;
        crate::meta::set_resource_version(&mut obj, self.rv);
        let object = Arc::new(obj);
        self.pending.push(Pending {
            rv: self.rv,
            etype,
            key,
            object: object.clone(),
        });
        object
    }

    /// Remove an object; `last` is its final state (it gets the new resourceVersion).
    pub fn delete(&mut self, key: ObjKey, mut last: Value) -> Arc<Value> {
        self.rv += 1;
        crate::meta::set_resource_version(&mut last, self.rv);
        let object = Arc::new(last);
        self.pending.push(Pending {
            rv: self.rv,
            etype: EventType::Deleted,
            key,
            object: object.clone(),
        });
        object
    }
}
