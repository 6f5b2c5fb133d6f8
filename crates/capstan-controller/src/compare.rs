//! Comparison of an application's desired objects with the live ones, as pure functions: per-resource
//! sync status and health, the application's sync status and health, and warnings.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use capstan_diff::tracking::Tracking;
use capstan_diff::{DiffResult, Differ};
use capstan_health::{HealthOverrides, HealthResult, ManagedResource};
use capstan_sync::{ResourceKey, is_hook, wave_of};
use capstan_types::annotations::{COMPARE_OPTIONS, compare_options, split_list};
use capstan_types::{ApplicationConditionType, HealthStatus, SyncStatusCode};

use crate::exclusions::ResourceFilters;
use serde_json::Value;

/// One resource of the comparison.
#[derive(Debug, Clone)]
pub struct ResourceState {
    /// Identity.
    pub key: ResourceKey,
    /// API version (of the target, else of the live object).
    pub version: String,
    /// Desired object (with tracking set).
    pub target: Option<Value>,
    /// Live object.
    pub live: Option<Arc<Value>>,
    /// Synced or OutOfSync.
    pub status: SyncStatusCode,
    /// The target is a hook.
    pub hook: bool,
    /// Live but no longer desired.
    pub requires_pruning: bool,
    /// Sync wave.
    pub wave: i32,
    /// Health of the live object.
    pub health: Option<HealthResult>,
    /// The diff, when both sides exist.
    pub diff: Option<DiffResult>,
    /// Not counted for the application's sync status (`IgnoreExtraneous`).
    pub ignore_extraneous: bool,
}

/// The result of comparing one application.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Resources sorted by group, kind, namespace, name.
    pub resources: Vec<ResourceState>,
    /// The application's sync status.
    pub sync_status: SyncStatusCode,
    /// The application's health.
    pub health: HealthStatus,
    /// Warnings and errors found (condition type and message).
    pub conditions: Vec<(ApplicationConditionType, String)>,
}

/// What a comparison reads.
pub struct CompareInput<'a> {
    /// Instance name of the application (`<app>` or `<ns>_<app>`).
    pub app_instance: &'a str,
    /// Desired objects with namespaces resolved and tracking set.
    pub desired: &'a [Value],
    /// The live object of a key.
    pub live_of: &'a dyn Fn(&ResourceKey) -> Option<Arc<Value>>,
    /// Live objects tracked by this application.
    pub tracked: &'a [Arc<Value>],
    /// The diff engine with the application's options.
    pub differ: &'a Differ,
    /// Lua health overrides.
    pub health_overrides: &'a HealthOverrides,
    /// Tracking settings.
    pub tracking: &'a Tracking,
    /// Kinds excluded by the settings: such desired objects are neither compared nor synced.
    pub resource_filters: &'a ResourceFilters,
    /// Server URL of the destination cluster (for cluster-specific exclusions).
    pub cluster_server: &'a str,
}

fn api_version(obj: &Value) -> String {
    obj.get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn version_of(api_version: &str) -> String {
    api_version
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string()
}

fn has_compare_option(obj: &Value, option: &str) -> bool {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(COMPARE_OPTIONS))
        .and_then(Value::as_str)
        .is_some_and(|v| split_list(v).any(|o| o == option))
}

/// Compares. A diff error (a bad jq expression, say) is reported as a ComparisonError condition and
/// the resource counts as OutOfSync.
pub fn compare(input: &CompareInput<'_>) -> Comparison {
    let mut conditions = Vec::new();
    let mut by_key: BTreeMap<ResourceKey, ResourceState> = BTreeMap::new();
    let mut seen: HashSet<ResourceKey> = HashSet::new();
    for target in input.desired {
        let key = ResourceKey::of(target);
        if input
            .resource_filters
            .is_excluded(&key.group, &key.kind, input.cluster_server)
        {
            conditions.push((
                ApplicationConditionType::ExcludedResourceWarning,
                format!(
                    "Resource {}/{} {} is excluded in the settings",
                    key.group, key.kind, key.name
                ),
            ));
            continue;
        }
        if !seen.insert(key.clone()) {
            conditions.push((
                ApplicationConditionType::RepeatedResourceWarning,
                format!("Resource {key} appeared 2 times among application resources."),
            ));
            continue;
        }
        let hook = is_hook(target);
        let live = (input.live_of)(&key);
        if let Some(live) = &live
            && let Some(other) = input.tracking.claimed_by_other(live, input.app_instance)
            && !hook
        {
            conditions.push((
                ApplicationConditionType::SharedResourceWarning,
                format!(
                    "{} is part of applications {} and {}",
                    key, input.app_instance, other
                ),
            ));
        }
        let (status, diff) = if hook {
            (SyncStatusCode::Synced, None)
        } else {
            match input.differ.diff(Some(target), live.as_deref()) {
                Ok(result) => {
                    let status = if result.modified {
                        SyncStatusCode::OutOfSync
                    } else {
                        SyncStatusCode::Synced
                    };
                    (status, Some(result))
                }
                Err(err) => {
                    conditions.push((
                        ApplicationConditionType::ComparisonError,
                        format!("{key}: {err}"),
                    ));
                    (SyncStatusCode::OutOfSync, None)
                }
            }
        };
        by_key.insert(
            key.clone(),
            ResourceState {
                version: version_of(&api_version(target)),
                key,
                target: Some(target.clone()),
                live,
                status,
                hook,
                requires_pruning: false,
                wave: wave_of(target),
                health: None,
                diff,
                ignore_extraneous: has_compare_option(target, compare_options::IGNORE_EXTRANEOUS),
            },
        );
    }
    for live in input.tracked {
        let key = ResourceKey::of(live);
        if by_key.contains_key(&key) || is_hook(live) {
            continue;
        }
        // an object owned by another object (a ReplicaSet of a Deployment copies no tracking) is not extra;
        // only objects that carry this application's tracking reach here
        by_key.insert(
            key.clone(),
            ResourceState {
                version: version_of(&api_version(live)),
                key,
                target: None,
                live: Some(live.clone()),
                status: SyncStatusCode::OutOfSync,
                hook: false,
                requires_pruning: true,
                wave: wave_of(live),
                health: None,
                diff: None,
                ignore_extraneous: has_compare_option(live, compare_options::IGNORE_EXTRANEOUS),
            },
        );
    }
    let mut resources: Vec<ResourceState> = by_key.into_values().collect();
    let managed: Vec<ManagedResource<'_>> = resources
        .iter()
        .map(|r| ManagedResource {
            target: r.target.as_ref(),
            live: r.live.as_deref(),
        })
        .collect();
    let app_health = capstan_health::app_health(&managed, input.health_overrides);
    for (resource, health) in resources.iter_mut().zip(app_health.resources) {
        resource.health = health;
    }
    let out_of_sync = resources.iter().any(|r| {
        !r.hook
            && r.status == SyncStatusCode::OutOfSync
            && !(r.requires_pruning && r.ignore_extraneous)
    });
    let sync_status = if out_of_sync {
        SyncStatusCode::OutOfSync
    } else {
        SyncStatusCode::Synced
    };
    Comparison {
        resources,
        sync_status,
        health: app_health.status,
        conditions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_diff::DiffOptions;
    use serde_json::json;

    fn cm(name: &str, data: Value, tracked: bool) -> Value {
        let mut obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "ns"}, "data": data});
        if tracked {
            obj["metadata"]["annotations"] =
                json!({"argocd.argoproj.io/tracking-id": format!("app:/ConfigMap:ns/{name}")});
        }
        obj
    }

    fn run(desired: &[Value], live: &[Value]) -> Comparison {
        let differ = Differ::new(DiffOptions::default()).unwrap();
        let tracking = Tracking::default();
        let live_arcs: Vec<Arc<Value>> = live.iter().cloned().map(Arc::new).collect();
        let lookup = |k: &ResourceKey| live_arcs.iter().find(|o| ResourceKey::of(o) == *k).cloned();
        let tracked: Vec<Arc<Value>> = live_arcs
            .iter()
            .filter(|o| tracking.app_instance(o).as_deref() == Some("app"))
            .cloned()
            .collect();
        compare(&CompareInput {
            app_instance: "app",
            desired,
            live_of: &lookup,
            tracked: &tracked,
            differ: &differ,
            health_overrides: &HealthOverrides::default(),
            tracking: &tracking,
            resource_filters: &ResourceFilters::default(),
            cluster_server: "https://kubernetes.default.svc",
        })
    }

    #[test]
    fn synced_out_of_sync_missing_and_extra() {
        let same = cm("same", json!({"a": "1"}), true);
        let c = run(std::slice::from_ref(&same), std::slice::from_ref(&same));
        assert_eq!(c.sync_status, SyncStatusCode::Synced);
        assert_eq!(c.health, HealthStatus::Healthy);

        let c = run(
            &[cm("same", json!({"a": "2"}), true)],
            std::slice::from_ref(&same),
        );
        assert_eq!(c.sync_status, SyncStatusCode::OutOfSync);
        assert!(c.resources[0].diff.as_ref().unwrap().modified);

        let c = run(&[cm("new", json!({}), true)], &[]);
        assert_eq!(c.sync_status, SyncStatusCode::OutOfSync);
        assert_eq!(c.health, HealthStatus::Missing);

        let c = run(
            std::slice::from_ref(&same),
            &[same.clone(), cm("old", json!({}), true)],
        );
        assert_eq!(c.sync_status, SyncStatusCode::OutOfSync);
        let old = c.resources.iter().find(|r| r.key.name == "old").unwrap();
        assert!(old.requires_pruning);
    }

    #[test]
    fn ignore_extraneous_and_repeated_and_shared() {
        let same = cm("same", json!({}), true);
        let mut extra = cm("extra", json!({}), true);
        extra["metadata"]["annotations"]["argocd.argoproj.io/compare-options"] =
            json!("IgnoreExtraneous");
        let c = run(std::slice::from_ref(&same), &[same.clone(), extra]);
        assert_eq!(c.sync_status, SyncStatusCode::Synced);

        let c = run(&[same.clone(), same.clone()], std::slice::from_ref(&same));
        assert!(
            c.conditions
                .iter()
                .any(|(t, _)| *t == ApplicationConditionType::RepeatedResourceWarning)
        );

        let mut other = same.clone();
        other["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] =
            json!("other:/ConfigMap:ns/same");
        let c = run(std::slice::from_ref(&same), &[other]);
        let (t, message) = &c.conditions[0];
        assert_eq!(*t, ApplicationConditionType::SharedResourceWarning);
        assert!(message.contains("app and other"), "{message}");
    }

    #[test]
    fn excluded_kinds_are_warned_about_and_left_out() {
        let endpoints = json!({"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "external", "namespace": "ns"}});
        let same = cm("same", json!({}), true);
        let c = run(&[same.clone(), endpoints], std::slice::from_ref(&same));
        assert_eq!(
            c.sync_status,
            SyncStatusCode::Synced,
            "not counted as missing"
        );
        assert_eq!(c.resources.len(), 1);
        assert_eq!(
            c.conditions,
            [(
                ApplicationConditionType::ExcludedResourceWarning,
                "Resource /Endpoints external is excluded in the settings".to_string()
            )]
        );
    }
}
