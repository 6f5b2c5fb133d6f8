//! The notifications controller: watches Applications (and AppProjects, the ConfigMap and the
//! Secret), evaluates subscribed triggers on every change, and delivers due notifications in
//! background tasks (bounded concurrency, retries with exponential backoff) so that watching never
//! waits on a receiver. What was sent is recorded in the Application's
//! `notified.notifications.argoproj.io` annotation by one writer task, so a restart does not send
//! again. Failures are counted in [`Metrics`] and logged with secret values masked.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use capstan_kube::{ClusterClient, ResourceType, WatchEvent, watch_resource};
use chrono::Utc;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, configmap_data, mask, secret_data};
use crate::error::NotifyError;
use crate::expr::Env;
use crate::metrics::{DELIVERIES, FAILED_ATTEMPTS, Metrics, TRIGGER_EVAL};
use crate::render::render;
use crate::services::Registry;
use crate::state::{Due, NOTIFIED_ANNOTATION, Notified, encode_notified, evaluate, read_notified};
use crate::subscriptions::resolve;

/// Retries of a failed delivery.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all (at least one).
    pub attempts: u32,
    /// Wait before the first retry; doubled each time.
    pub initial_backoff: Duration,
    /// Longest wait.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt `n` (1-based).
    pub fn backoff(&self, n: u32) -> Duration {
        let factor = 2u32.saturating_pow(n.saturating_sub(1));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Settings of the controller.
#[derive(Debug, Clone)]
pub struct ControllerOptions {
    /// Namespace of the ConfigMap, Secret, Applications and AppProjects.
    pub namespace: String,
    /// The ConfigMap (`argocd-notifications-cm`).
    pub configmap: String,
    /// The Secret (`argocd-notifications-secret`).
    pub secret: String,
    /// Retries.
    pub retry: RetryPolicy,
    /// Deliveries in flight at once.
    pub max_concurrent: usize,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Service types.
    pub registry: Registry,
}

impl Default for ControllerOptions {
    fn default() -> ControllerOptions {
        ControllerOptions {
            namespace: "argocd".into(),
            configmap: "argocd-notifications-cm".into(),
            secret: "argocd-notifications-secret".into(),
            retry: RetryPolicy::default(),
            max_concurrent: 16,
            metrics: Arc::new(Metrics::default()),
            registry: Registry::builtin(),
        }
    }
}

/// What is known of one Application.
#[derive(Debug, Default)]
struct AppRecord {
    /// Sent keys (the record), as the controller knows it.
    notified: Notified,
    /// The record as last written to (or read from) the annotation.
    persisted: Notified,
    /// Keys being delivered.
    inflight: BTreeSet<String>,
}

type AppKey = (String, String);

struct Shared {
    client: ClusterClient,
    app_rt: ResourceType,
    options: ControllerOptions,
    apps: Mutex<HashMap<AppKey, AppRecord>>,
    semaphore: Arc<Semaphore>,
    persist: mpsc::UnboundedSender<AppKey>,
    cancel: CancellationToken,
}

impl Shared {
    fn apps(&self) -> std::sync::MutexGuard<'_, HashMap<AppKey, AppRecord>> {
        self.apps.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn key_of(obj: &Value) -> Option<AppKey> {
    let ns = obj.pointer("/metadata/namespace")?.as_str()?;
    let name = obj.pointer("/metadata/name")?.as_str()?;
    Some((ns.to_string(), name.to_string()))
}

/// The resourceVersions of the ConfigMap and the Secret a configuration was built from.
type Versions = (Option<String>, Option<String>);

fn resource_version(obj: Option<&Value>) -> Option<String> {
    obj?.pointer("/metadata/resourceVersion")?
        .as_str()
        .map(str::to_string)
}

/// Reads the ConfigMap and Secret and builds the configuration; problems are logged with their
/// key and counted.
async fn load_config(
    client: &ClusterClient,
    cm_rt: &ResourceType,
    secret_rt: &ResourceType,
    options: &ControllerOptions,
) -> Result<(Config, Versions), NotifyError> {
    let ns = Some(options.namespace.as_str());
    let cm = client.get(cm_rt, ns, &options.configmap).await?;
    let secret = client.get(secret_rt, ns, &options.secret).await?;
    let (config, problems) = Config::from_data_with(
        &configmap_data(cm.as_ref()),
        &secret_data(secret.as_ref()),
        &options.registry,
    );
    for p in &problems {
        tracing::warn!(configmap = %options.configmap, key = %p.key, "notifications configuration: {}", p.message);
    }
    options.metrics.set_config_problems(&problems);
    tracing::info!(
        triggers = config.triggers.len(),
        templates = config.templates.len(),
        services = config.services.len(),
        "notifications configuration loaded"
    );
    let versions = (
        resource_version(cm.as_ref()),
        resource_version(secret.as_ref()),
    );
    Ok((config, versions))
}

/// Runs until `cancel`: returns an error only when the cluster cannot be reached at start.
pub async fn run_controller(
    client: ClusterClient,
    options: ControllerOptions,
    cancel: CancellationToken,
) -> Result<(), NotifyError> {
    capstan_kube::install_crypto_provider();
    let app_rt = client
        .resolve("argoproj.io/v1alpha1", "Application")
        .await?;
    let proj_rt = client.resolve("argoproj.io/v1alpha1", "AppProject").await?;
    let cm_rt = client.resolve("v1", "ConfigMap").await?;
    let secret_rt = client.resolve("v1", "Secret").await?;
    let ns = options.namespace.clone();
    let (loaded, mut versions) = load_config(&client, &cm_rt, &secret_rt, &options).await?;
    let mut config = Arc::new(loaded);
    let mut projects: HashMap<String, Value> = HashMap::new();
    for p in client.list(&proj_rt, Some(&ns), None).await?.0 {
        if let Some((_, name)) = key_of(&p) {
            projects.insert(name, p);
        }
    }
    let (persist_tx, persist_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        client: client.clone(),
        app_rt: app_rt.clone(),
        semaphore: Arc::new(Semaphore::new(options.max_concurrent.max(1))),
        options,
        apps: Mutex::new(HashMap::new()),
        persist: persist_tx,
        cancel: cancel.clone(),
    });
    tokio::spawn(persister(shared.clone(), persist_rx));

    let mut apps = Box::pin(watch_resource(&client, app_rt, Some(&ns), None));
    let mut projs = Box::pin(watch_resource(&client, proj_rt, Some(&ns), None));
    let mut cms = Box::pin(watch_resource(&client, cm_rt.clone(), Some(&ns), None));
    let mut secrets = Box::pin(watch_resource(&client, secret_rt.clone(), Some(&ns), None));
    // whether an event changes the object `name` from the version the configuration was built from
    let changes = |ev: &WatchEvent, name: &str, loaded: &Option<String>| match ev {
        WatchEvent::Applied(o) | WatchEvent::Listed(o) => {
            o.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
                && resource_version(Some(o)) != *loaded
        }
        WatchEvent::Deleted(o) => o.pointer("/metadata/name").and_then(Value::as_str) == Some(name),
        _ => false,
    };
    loop {
        let mut reload = false;
        tokio::select! {
            _ = cancel.cancelled() => break,
            ev = apps.next() => match ev {
                Some(Ok(WatchEvent::Applied(app) | WatchEvent::Listed(app))) => {
                    let project = app.pointer("/spec/project").and_then(Value::as_str)
                        .and_then(|p| projects.get(p));
                    handle_app(&shared, &config, &app, project);
                }
                Some(Ok(WatchEvent::Deleted(app))) => {
                    if let Some(k) = key_of(&app) {
                        shared.apps().remove(&k);
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => tracing::warn!("notifications: {e}"),
                None => break,
            },
            ev = projs.next() => match ev {
                Some(Ok(WatchEvent::Applied(p) | WatchEvent::Listed(p))) => {
                    if let Some((_, name)) = key_of(&p) {
                        projects.insert(name, p);
                    }
                }
                Some(Ok(WatchEvent::Deleted(p))) => {
                    if let Some((_, name)) = key_of(&p) {
                        projects.remove(&name);
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => tracing::warn!("notifications: {e}"),
                None => break,
            },
            ev = cms.next() => match ev {
                Some(Ok(ev)) => reload = changes(&ev, &shared.options.configmap, &versions.0),
                Some(Err(e)) => tracing::warn!("notifications: {e}"),
                None => break,
            },
            ev = secrets.next() => match ev {
                Some(Ok(ev)) => reload = changes(&ev, &shared.options.secret, &versions.1),
                Some(Err(e)) => tracing::warn!("notifications: {e}"),
                None => break,
            },
        }
        if reload {
            match load_config(&client, &cm_rt, &secret_rt, &shared.options).await {
                Ok((c, v)) => {
                    config = Arc::new(c);
                    versions = v;
                    // conditions may hold now that did not before: evaluate every Application
                    let known = match client.list(&shared.app_rt, Some(&ns), None).await {
                        Ok((apps, _)) => apps,
                        Err(e) => {
                            tracing::warn!("notifications: listing Applications: {e}");
                            Vec::new()
                        }
                    };
                    for app in known {
                        let project = app
                            .pointer("/spec/project")
                            .and_then(Value::as_str)
                            .and_then(|p| projects.get(p));
                        handle_app(&shared, &config, &app, project);
                    }
                }
                Err(e) => tracing::warn!("notifications: reloading configuration: {e}"),
            }
        }
    }
    Ok(())
}

/// Evaluates one Application and starts the deliveries that are due.
fn handle_app(shared: &Arc<Shared>, config: &Arc<Config>, app: &Value, project: Option<&Value>) {
    let Some(key) = key_of(app) else { return };
    let subscriptions = resolve(config, app, project);
    let env = Env::for_app(app);
    let evaluation = {
        let mut apps = shared.apps();
        let record = apps.entry(key.clone()).or_insert_with(|| {
            let notified = read_notified(app);
            AppRecord {
                persisted: notified.clone(),
                notified,
                ..Default::default()
            }
        });
        if subscriptions.is_empty() {
            return;
        }
        let evaluation = evaluate(
            config,
            app,
            &subscriptions,
            &|k| record.notified.contains_key(k) || record.inflight.contains(k),
            &env,
        );
        for k in &evaluation.cleared {
            record.notified.remove(k);
        }
        for due in &evaluation.due {
            record.inflight.insert(due.key.clone());
        }
        evaluation
    };
    let metrics = &shared.options.metrics;
    for (name, triggered) in &evaluation.evaluated {
        metrics.inc(
            TRIGGER_EVAL,
            &[
                ("name", name),
                ("triggered", if *triggered { "true" } else { "false" }),
            ],
        );
    }
    for (trigger, error) in &evaluation.errors {
        tracing::warn!(app = %key.1, trigger = %trigger, "notifications: {error}");
    }
    if !evaluation.cleared.is_empty() {
        let _ = shared.persist.send(key.clone());
    }
    for due in evaluation.due {
        tokio::spawn(deliver(
            shared.clone(),
            config.clone(),
            app.clone(),
            key.clone(),
            due,
        ));
    }
}

/// Renders and sends one notification with retries, then records the outcome.
async fn deliver(shared: Arc<Shared>, config: Arc<Config>, app: Value, key: AppKey, due: Due) {
    let Ok(_permit) = shared.semaphore.clone().acquire_owned().await else {
        return;
    };
    let metrics = &shared.options.metrics;
    let service_name = due.destination.service.as_str();
    let recipient = due.destination.recipient.as_str();
    let result = match config.services.get(service_name) {
        None => Err(format!("service {service_name:?} is not configured")),
        Some(entry) => match render(
            &config,
            &due.templates,
            &app,
            &entry.kind,
            recipient,
            Utc::now().fixed_offset(),
        ) {
            Err(e) => Err(e.to_string()),
            Ok(notification) => {
                let policy = shared.options.retry;
                let mut attempt = 1;
                loop {
                    match entry.service.send(&notification, recipient).await {
                        Ok(()) => break Ok(()),
                        Err(e) => {
                            metrics.inc(FAILED_ATTEMPTS, &[("exported_service", service_name)]);
                            if !e.retryable || attempt >= policy.attempts.max(1) {
                                break Err(format!("{e} (after {attempt} attempt(s))"));
                            }
                            let wait = policy.backoff(attempt);
                            tracing::info!(app = %key.1, trigger = %due.trigger, service = %service_name,
                                "notification attempt {attempt} failed, retrying in {wait:?}: {}",
                                mask(&e.message, &config.secret_values));
                            tokio::select! {
                                _ = shared.cancel.cancelled() => break Err("controller stopped".into()),
                                _ = tokio::time::sleep(wait) => {}
                            }
                            attempt += 1;
                        }
                    }
                }
            }
        },
    };
    let succeeded = result.is_ok();
    metrics.inc(
        DELIVERIES,
        &[
            ("exported_service", service_name),
            ("succeeded", if succeeded { "true" } else { "false" }),
            ("trigger", &due.trigger),
        ],
    );
    {
        let mut apps = shared.apps();
        if let Some(record) = apps.get_mut(&key) {
            record.inflight.remove(&due.key);
            if succeeded {
                record
                    .notified
                    .insert(due.key.clone(), Utc::now().timestamp());
            }
        }
    }
    match result {
        Ok(()) => {
            tracing::info!(app = %key.1, trigger = %due.trigger, service = %service_name, "notification sent");
            let _ = shared.persist.send(key);
        }
        Err(e) => tracing::warn!(app = %key.1, trigger = %due.trigger, service = %service_name,
            "notification failed: {}", mask(&e, &config.secret_values)),
    }
}

/// Writes records to annotations, one Application at a time, only when they changed.
async fn persister(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<AppKey>) {
    loop {
        let key = tokio::select! {
            _ = shared.cancel.cancelled() => {
                // write what is pending before stopping
                match rx.try_recv() { Ok(k) => k, Err(_) => return }
            }
            k = rx.recv() => match k { Some(k) => k, None => return },
        };
        let pending = {
            let apps = shared.apps();
            apps.get(&key)
                .filter(|r| r.notified != r.persisted)
                .map(|r| r.notified.clone())
        };
        let Some(notified) = pending else { continue };
        let patch =
            json!({"metadata": {"annotations": {NOTIFIED_ANNOTATION: encode_notified(&notified)}}});
        match shared
            .client
            .merge_patch(&shared.app_rt, Some(&key.0), &key.1, &patch)
            .await
        {
            Ok(_) => {
                if let Some(r) = shared.apps().get_mut(&key) {
                    r.persisted = notified;
                }
            }
            Err(e) => {
                tracing::warn!(app = %key.1, "notifications: recording sent notifications: {e}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let p = RetryPolicy {
            attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
        };
        assert_eq!(p.backoff(1), Duration::from_millis(100));
        assert_eq!(p.backoff(2), Duration::from_millis(200));
        assert_eq!(p.backoff(3), Duration::from_millis(350));
        assert_eq!(p.backoff(40), Duration::from_millis(350));
    }
}
