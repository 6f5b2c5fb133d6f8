//! Deletion of an application: its resources are deleted when a resources finalizer asks for it,
//! then the finalizer is removed.
use std::sync::Arc;
use std::time::Duration;

use capstan_kube::DeleteOptions;
use capstan_types::annotations::finalizers;
use capstan_types::{Application, ApplicationConditionType};
use serde_json::json;

use crate::controller::Inner;
use crate::refresh::{instance_of, patch_app};

/// Deletes an application's resources when its finalizer asks for it, then removes the finalizer.
pub(crate) async fn finalize_deletion(inner: &Arc<Inner>, app: &Application) {
    let list = app.metadata.finalizers.clone().unwrap_or_default();
    let ours = [
        finalizers::RESOURCES,
        finalizers::RESOURCES_FOREGROUND,
        finalizers::RESOURCES_BACKGROUND,
    ];
    let Some(finalizer) = list.iter().find(|f| ours.contains(&f.as_str())).cloned() else {
        return;
    };
    let propagation = if finalizer == finalizers::RESOURCES_BACKGROUND {
        "Background"
    } else {
        "Foreground"
    };
    let cluster = match crate::refresh::cluster_of(inner, app) {
        Ok(Some(resolved)) => Some(resolved.state),
        Ok(None) => {
            inner
                .refresh_queue
                .add_after(app.name(), Duration::from_secs(1));
            return;
        }
        Err((ApplicationConditionType::InvalidSpecError, message)) => {
            // no such cluster: nothing of the application can be deleted; as Argo CD, let it go
            tracing::warn!(app = app.name(), %message, "destination unknown; removing the finalizer without deleting resources");
            None
        }
        Err((_, message)) => {
            tracing::warn!(app = app.name(), %message, "destination unreachable; deletion waits");
            inner
                .refresh_queue
                .add_after(app.name(), Duration::from_secs(5));
            return;
        }
    };
    let instance = instance_of(inner, app);
    let tracked = cluster
        .as_ref()
        .and_then(|c| c.cache.read().ok().map(|c| c.tracked_by(&instance)))
        .unwrap_or_default();
    let mut remaining = 0;
    for live in &tracked {
        if live.pointer("/metadata/deletionTimestamp").is_some() {
            remaining += 1;
            continue;
        }
        let Some(client) = cluster.as_ref().map(|c| &c.client) else {
            break;
        };
        match client.locate(live).await {
            Ok((rt, ns, n)) => {
                let options = DeleteOptions {
                    propagation: Some(propagation.into()),
                    dry_run: false,
                };
                if let Err(err) = client.delete(&rt, ns.as_deref(), &n, &options).await {
                    tracing::warn!(app = app.name(), resource = %n, %err, "deleting a resource failed");
                }
                remaining += 1;
            }
            Err(err) => tracing::warn!(app = app.name(), %err, "cannot delete a resource"),
        }
    }
    if remaining > 0 {
        inner
            .refresh_queue
            .add_after(app.name(), Duration::from_millis(500));
        return;
    }
    let kept: Vec<&String> = list.iter().filter(|f| **f != finalizer).collect();
    let patch = json!({"metadata": {"finalizers": kept}});
    if let Err(err) = patch_app(inner, app.name(), &patch).await {
        tracing::warn!(app = app.name(), %err, "removing the finalizer failed");
        inner
            .refresh_queue
            .add_after(app.name(), Duration::from_secs(1));
    }
}
