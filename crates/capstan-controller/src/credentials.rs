//! Repository credentials from the control plane's repository and repo-creds Secrets, kept current by
//! a watch, for the repo server's Git layer.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use capstan_kube::{ClusterClient, KubeError, WatchEvent};
use capstan_repo::SecretCredentials;
use capstan_repo::git::CredentialSource;
use capstan_settings::{RepoCreds, Repository};
use futures::StreamExt;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// Credentials read from Secrets; cheap to clone.
#[derive(Clone, Default)]
pub struct SecretCredentialStore {
    secrets: Arc<RwLock<BTreeMap<String, Value>>>,
    resolved: Arc<RwLock<SecretCredentials>>,
}

impl SecretCredentialStore {
    fn rebuild(&self) {
        let Ok(secrets) = self.secrets.read() else {
            return;
        };
        let mut creds = SecretCredentials::default();
        for (name, secret) in secrets.iter() {
            let kind = secret
                .pointer("/metadata/labels")
                .and_then(|l| l.get(capstan_types::annotations::SECRET_TYPE))
                .and_then(Value::as_str);
            match kind {
                Some("repository") => match Repository::from_secret(secret) {
                    Ok(repo) => creds.repositories.push(repo),
                    Err(err) => tracing::warn!(secret = %name, %err, "repository Secret ignored"),
                },
                Some("repo-creds") => match RepoCreds::from_secret(secret) {
                    Ok(template) => creds.templates.push(template),
                    Err(err) => tracing::warn!(secret = %name, %err, "repo-creds Secret ignored"),
                },
                _ => {}
            }
        }
        if let Ok(mut resolved) = self.resolved.write() {
            *resolved = creds;
        }
    }

    /// Watches the Secrets of `namespace` until `cancel`; returns once the initial list is read.
    pub async fn watch(
        client: &ClusterClient,
        namespace: &str,
        cancel: CancellationToken,
    ) -> Result<SecretCredentialStore, KubeError> {
        let store = SecretCredentialStore::default();
        let rt = client.resolve("v1", "Secret").await?;
        let selector = format!(
            "{} in (repository,repo-creds)",
            capstan_types::annotations::SECRET_TYPE
        );
        let mut stream = Box::pin(capstan_kube::watch_resource(
            client,
            rt,
            Some(namespace),
            Some(&selector),
        ));
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<()>();
        let task_store = store.clone();
        tokio::spawn(async move {
            let mut ready = Some(ready_tx);
            let mut listing = BTreeMap::new();
            loop {
                let event = tokio::select! {
                    _ = cancel.cancelled() => return,
                    e = stream.next() => e,
                };
                let Some(event) = event else { return };
                let name_of = |v: &Value| {
                    v.pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                match event {
                    Ok(WatchEvent::ListStart) => listing.clear(),
                    Ok(WatchEvent::Listed(s)) => {
                        listing.insert(name_of(&s), s);
                    }
                    Ok(WatchEvent::ListDone) => {
                        if let Ok(mut secrets) = task_store.secrets.write() {
                            *secrets = std::mem::take(&mut listing);
                        }
                        task_store.rebuild();
                        if let Some(tx) = ready.take() {
                            let _ = tx.send(());
                        }
                    }
                    Ok(WatchEvent::Applied(s)) => {
                        if let Ok(mut secrets) = task_store.secrets.write() {
                            secrets.insert(name_of(&s), s);
                        }
                        task_store.rebuild();
                    }
                    Ok(WatchEvent::Deleted(s)) => {
                        if let Ok(mut secrets) = task_store.secrets.write() {
                            secrets.remove(&name_of(&s));
                        }
                        task_store.rebuild();
                    }
                    Err(err) => tracing::warn!(%err, "repository Secret watch error; retrying"),
                }
            }
        });
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), ready_rx).await;
        Ok(store)
    }
}

impl CredentialSource for SecretCredentialStore {
    fn credentials(&self, url: &str) -> Option<RepoCreds> {
        self.resolved.read().ok()?.credentials(url)
    }
}
