//! Watching one resource type, with re-listing and resumption handled by kube-runtime's watcher.

use futures::{Stream, StreamExt};
use kube::api::DynamicObject;
use kube::runtime::watcher;
use serde_json::Value;

use crate::connect::ClusterClient;
use crate::discovery::ResourceType;
use crate::error::KubeError;

/// A change seen by a watch.
#[derive(Debug, Clone)]
pub enum WatchEvent {
    /// An object was added or modified.
    Applied(Value),
    /// An object was deleted.
    Deleted(Value),
    /// A (re-)list started: the objects that follow until `ListDone` are the complete state.
    ListStart,
    /// One object of a (re-)list.
    Listed(Value),
    /// The (re-)list is complete; objects not listed since `ListStart` are gone.
    ListDone,
}

fn value(rt: &ResourceType, mut obj: DynamicObject) -> Option<Value> {
    if obj.types.is_none() {
        obj.types = Some(kube::core::TypeMeta {
            api_version: rt.api_version(),
            kind: rt.kind.clone(),
        });
    }
    serde_json::to_value(obj).ok()
}

/// Watches `rt` (in one namespace or all), yielding changes; transient errors are yielded and the watch
/// continues (kube-runtime backs off and resumes, re-listing after a 410 Gone).
pub fn watch_resource(
    client: &ClusterClient,
    rt: ResourceType,
    namespace: Option<&str>,
    label_selector: Option<&str>,
) -> impl Stream<Item = Result<WatchEvent, KubeError>> + Send + 'static {
    let api = client.api(&rt, namespace);
    let mut config = watcher::Config::default();
    if let Some(selector) = label_selector {
        config = config.labels(selector);
    }
    let server = client.server.clone();
    let what = format!("watch {}", rt.plural);
    watcher::watcher(api, config).filter_map(move |event| {
        let rt = rt.clone();
        let server = server.clone();
        let what = what.clone();
        async move {
            match event {
                Ok(watcher::Event::Apply(obj)) => {
                    value(&rt, obj).map(|v| Ok(WatchEvent::Applied(v)))
                }
                Ok(watcher::Event::Delete(obj)) => {
                    value(&rt, obj).map(|v| Ok(WatchEvent::Deleted(v)))
                }
                Ok(watcher::Event::Init) => Some(Ok(WatchEvent::ListStart)),
                Ok(watcher::Event::InitApply(obj)) => {
                    value(&rt, obj).map(|v| Ok(WatchEvent::Listed(v)))
                }
                Ok(watcher::Event::InitDone) => Some(Ok(WatchEvent::ListDone)),
                Err(e) => Some(Err(KubeError::Connection {
                    server,
                    message: format!("{what}: {e}"),
                })),
            }
        }
    })
}
