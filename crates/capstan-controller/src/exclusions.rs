//! Which resource kinds the live-state cache watches (pure), as Argo CD decides it
//! (`util/settings/resources_filter.go`): a kind is excluded when it matches a
//! `resource.exclusions` entry of `argocd-cm` (or one of the kinds Argo CD always excludes), and,
//! when `resource.inclusions` is set, also when it matches none of its entries. An entry matches
//! when each of its `apiGroups`, `kinds` and `clusters` globs lists is empty or has a match.
//!
//! Without a `resource.exclusions` key, Capstan uses the list Argo CD's installation puts in
//! `argocd-cm` (Endpoints, EndpointSlices, Leases, the review kinds, certificate requests, Cilium's
//! and Kyverno's internal kinds), so a plain installation watches the same kinds as Argo CD.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use capstan_settings::ResourceFilter;

use crate::projects::glob_match;

/// The `argocd-cm` key of the exclusions.
const EXCLUSIONS_KEY: &str = "resource.exclusions";

fn filter(groups: &[&str], kinds: &[&str]) -> ResourceFilter {
    ResourceFilter {
        api_groups: groups.iter().map(|g| g.to_string()).collect(),
        kinds: kinds.iter().map(|k| k.to_string()).collect(),
        clusters: Vec::new(),
    }
}

/// Kinds Argo CD excludes whatever `argocd-cm` says (`coreExcludedResources`), built once.
static CORE_EXCLUSIONS: LazyLock<Vec<ResourceFilter>> = LazyLock::new(|| {
    vec![
        filter(&["events.k8s.io", "metrics.k8s.io"], &[]),
        filter(&[""], &["Event"]),
    ]
});

/// The `resource.exclusions` of Argo CD's installed `argocd-cm`.
pub fn default_exclusions() -> Vec<ResourceFilter> {
    vec![
        filter(&["", "discovery.k8s.io"], &["Endpoints", "EndpointSlice"]),
        filter(&["coordination.k8s.io"], &["Lease"]),
        filter(
            &["authentication.k8s.io", "authorization.k8s.io"],
            &[
                "SelfSubjectReview",
                "TokenReview",
                "LocalSubjectAccessReview",
                "SelfSubjectAccessReview",
                "SelfSubjectRulesReview",
                "SubjectAccessReview",
            ],
        ),
        filter(&["certificates.k8s.io"], &["CertificateSigningRequest"]),
        filter(&["cert-manager.io"], &["CertificateRequest"]),
        filter(
            &["cilium.io"],
            &["CiliumIdentity", "CiliumEndpoint", "CiliumEndpointSlice"],
        ),
        filter(
            &["kyverno.io", "reports.kyverno.io", "wgpolicyk8s.io"],
            &[
                "PolicyReport",
                "ClusterPolicyReport",
                "EphemeralReport",
                "ClusterEphemeralReport",
                "AdmissionReport",
                "ClusterAdmissionReport",
                "BackgroundScanReport",
                "ClusterBackgroundScanReport",
                "UpdateRequest",
            ],
        ),
    ]
}

fn list_matches(patterns: &[String], value: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| glob_match(p, value))
}

fn entry_matches(entry: &ResourceFilter, group: &str, kind: &str, cluster: &str) -> bool {
    list_matches(&entry.api_groups, group)
        && list_matches(&entry.kinds, kind)
        && list_matches(&entry.clusters, cluster)
}

/// The exclusions and inclusions in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceFilters {
    exclusions: Vec<ResourceFilter>,
    inclusions: Vec<ResourceFilter>,
}

impl Default for ResourceFilters {
    /// No `argocd-cm`: Argo CD's installed exclusions, no inclusions.
    fn default() -> Self {
        ResourceFilters {
            exclusions: default_exclusions(),
            inclusions: Vec::new(),
        }
    }
}

impl ResourceFilters {
    /// Filters from explicit lists (the core exclusions always apply on top).
    pub fn new(exclusions: Vec<ResourceFilter>, inclusions: Vec<ResourceFilter>) -> Self {
        ResourceFilters {
            exclusions,
            inclusions,
        }
    }

    /// Filters from `argocd-cm`'s data: its `resource.exclusions` when the key is present (even
    /// empty), else Argo CD's installed defaults; its `resource.inclusions`. A list that does not
    /// parse is an error naming the key.
    pub fn from_config_map_data(data: &BTreeMap<String, String>) -> Result<Self, String> {
        let cm = capstan_settings::ArgoCdConfig::from_data("ConfigMap argocd-cm", data)
            .map_err(|e| e.to_string())?;
        Ok(ResourceFilters {
            exclusions: if data.contains_key(EXCLUSIONS_KEY) {
                cm.resource_exclusions
            } else {
                default_exclusions()
            },
            inclusions: cm.resource_inclusions,
        })
    }

    /// True when the kind `group`/`kind` of the cluster at `cluster` (its server URL) is not
    /// watched.
    pub fn is_excluded(&self, group: &str, kind: &str, cluster: &str) -> bool {
        let excluded = CORE_EXCLUSIONS
            .iter()
            .chain(self.exclusions.iter())
            .any(|e| entry_matches(e, group, kind, cluster));
        if excluded {
            return true;
        }
        if self
            .inclusions
            .iter()
            .any(|e| entry_matches(e, group, kind, cluster))
        {
            return false;
        }
        !self.inclusions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLUSTER: &str = "https://kubernetes.default.svc";

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_exclude_argo_cds_list_and_the_core_kinds() {
        let f = ResourceFilters::default();
        for (group, kind) in [
            ("", "Endpoints"),
            ("discovery.k8s.io", "EndpointSlice"),
            ("coordination.k8s.io", "Lease"),
            ("authorization.k8s.io", "SubjectAccessReview"),
            ("cilium.io", "CiliumIdentity"),
            ("", "Event"),
            ("events.k8s.io", "Event"),
            ("metrics.k8s.io", "PodMetrics"),
        ] {
            assert!(f.is_excluded(group, kind, CLUSTER), "{group}/{kind}");
        }
        for (group, kind) in [("", "ConfigMap"), ("apps", "Deployment"), ("", "Endpoint")] {
            assert!(!f.is_excluded(group, kind, CLUSTER), "{group}/{kind}");
        }
    }

    #[test]
    fn argocd_cm_replaces_the_defaults_but_not_the_core_kinds() {
        let f = ResourceFilters::from_config_map_data(&data(&[(
            "resource.exclusions",
            "- apiGroups: ['*']\n  kinds: [Secret]\n  clusters: ['https://prod-*']\n",
        )]))
        .unwrap();
        assert!(f.is_excluded("", "Secret", "https://prod-eu"));
        assert!(!f.is_excluded("", "Secret", CLUSTER), "other cluster");
        assert!(
            !f.is_excluded("", "Endpoints", CLUSTER),
            "defaults replaced"
        );
        assert!(f.is_excluded("", "Event", CLUSTER), "core exclusion stays");
        // an empty key means: no exclusions beyond the core ones
        let f =
            ResourceFilters::from_config_map_data(&data(&[("resource.exclusions", "")])).unwrap();
        assert!(!f.is_excluded("coordination.k8s.io", "Lease", CLUSTER));
        // no key: the defaults
        let f = ResourceFilters::from_config_map_data(&data(&[])).unwrap();
        assert!(f.is_excluded("coordination.k8s.io", "Lease", CLUSTER));
    }

    #[test]
    fn inclusions_limit_what_is_watched_and_exclusions_win() {
        let f = ResourceFilters::from_config_map_data(&data(&[
            (
                "resource.inclusions",
                "- apiGroups: ['', apps]\n  kinds: ['*']\n",
            ),
            ("resource.exclusions", "- kinds: [Secret]\n"),
        ]))
        .unwrap();
        assert!(!f.is_excluded("apps", "Deployment", CLUSTER));
        assert!(!f.is_excluded("", "ConfigMap", CLUSTER));
        assert!(f.is_excluded("batch", "Job", CLUSTER), "not included");
        assert!(f.is_excluded("", "Secret", CLUSTER), "excluded wins");
    }

    #[test]
    fn a_bad_list_names_the_key() {
        let err = ResourceFilters::from_config_map_data(&data(&[(
            "resource.inclusions",
            "- kinds: Deployment\n",
        )]))
        .unwrap_err();
        assert!(err.contains("resource.inclusions"), "{err}");
    }
}
