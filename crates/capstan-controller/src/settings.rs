//! The controller's configuration: resolved once from arguments and Argo CD's ConfigMaps.

use std::time::Duration;

use capstan_diff::SystemDiffSettings;
use capstan_diff::tracking::Tracking;
use capstan_health::HealthOverrides;

/// Configuration of a controller.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// Control-plane namespace holding Applications, AppProjects and settings (`argocd`).
    pub namespace: String,
    /// `controller.status.processors`.
    pub status_processors: usize,
    /// `controller.operation.processors`.
    pub operation_processors: usize,
    /// Delay between sync waves (`ARGOCD_SYNC_WAVE_DELAY`, 2 s).
    pub wave_delay: Duration,
    /// How often a running operation checks progress.
    pub poll_interval: Duration,
    /// Self-heal backoff: first delay, factor, cap (2 s, 3, 300 s).
    pub self_heal_backoff: (Duration, u32, Duration),
    /// Field manager for server-side apply.
    pub field_manager: String,
    /// Connecting to and probing destination clusters.
    pub cluster_timings: crate::registry::ClusterTimings,
    /// Requests per second to each destination cluster (`ARGOCD_K8S_CLIENT_QPS`; 0: no limit).
    pub client_qps: f64,
    /// Burst above that rate (`ARGOCD_K8S_CLIENT_BURST`).
    pub client_burst: u32,
    /// Sharding over several replicas (none: this replica handles every cluster).
    pub sharding: Option<crate::leases::ShardingConfig>,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            namespace: "argocd".to_string(),
            status_processors: 20,
            operation_processors: 10,
            wave_delay: Duration::from_secs(2),
            poll_interval: Duration::from_millis(250),
            self_heal_backoff: (Duration::from_secs(2), 3, Duration::from_secs(300)),
            field_manager: "capstan-controller".to_string(),
            cluster_timings: crate::registry::ClusterTimings::default(),
            client_qps: 0.0,
            client_burst: 100,
            sharding: None,
        }
    }
}

/// Settings read from `argocd-cm` (reloaded when it changes).
#[derive(Debug, Clone)]
pub struct RuntimeSettings {
    /// Resource tracking.
    pub tracking: Tracking,
    /// System-wide diff settings.
    pub diff: SystemDiffSettings,
    /// Lua health overrides.
    pub health: HealthOverrides,
    /// `timeout.reconciliation` (0 disables periodic refresh).
    pub reconciliation: Duration,
    /// `timeout.reconciliation.jitter`.
    pub jitter: Duration,
    /// `cluster.inClusterEnabled`.
    pub in_cluster_enabled: bool,
    /// `resource.exclusions` / `resource.inclusions` (Argo CD's defaults when absent).
    pub filters: crate::exclusions::ResourceFilters,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        RuntimeSettings {
            tracking: Tracking::default(),
            diff: SystemDiffSettings::default(),
            health: HealthOverrides::default(),
            reconciliation: Duration::from_secs(120),
            jitter: Duration::from_secs(60),
            in_cluster_enabled: true,
            filters: crate::exclusions::ResourceFilters::default(),
        }
    }
}

impl RuntimeSettings {
    /// Reads the settings of `argocd-cm`'s data; a bad key is an error naming it.
    pub fn from_config_map_data(
        data: &std::collections::BTreeMap<String, String>,
    ) -> Result<RuntimeSettings, String> {
        let cm = capstan_settings::ArgoCdConfig::from_data("ConfigMap argocd-cm", data)
            .map_err(|e| e.to_string())?;
        let diff = SystemDiffSettings::from_config_map_data(data).map_err(|e| e.to_string())?;
        let health = HealthOverrides::from_config_map_data(data).map_err(|e| e.to_string())?;
        let filters = crate::exclusions::ResourceFilters::from_config_map_data(data)?;
        Ok(RuntimeSettings {
            tracking: Tracking {
                method: cm
                    .tracking
                    .method
                    .as_str()
                    .parse()
                    .map_err(|e: capstan_diff::tracking::TrackingError| e.to_string())?,
                instance_label_key: cm.tracking.instance_label_key,
            },
            diff,
            health,
            reconciliation: cm.reconciliation_timeout,
            jitter: cm.reconciliation_jitter,
            in_cluster_enabled: cm.in_cluster_enabled,
            filters,
        })
    }
}
