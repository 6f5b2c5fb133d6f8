//! The registry of built-in checks, keyed by API group and kind (gitops-engine `GetHealthCheckFunc`).

use serde_json::Value;

use crate::HealthResult;
use crate::checks;

/// A built-in check: object -> health, or an error message (reported as `Unknown`).
pub type CheckFn = fn(&Value) -> Result<HealthResult, String>;

/// One registry entry.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinCheck {
    /// API group (empty for core).
    pub group: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Versions the check understands; an empty list accepts any version. Other versions are
    /// `Unknown` ("unsupported <Kind> GVK"), as in gitops-engine.
    pub versions: &'static [&'static str],
    /// The check.
    pub check: CheckFn,
}

/// Every built-in check.
pub const BUILTIN_CHECKS: &[BuiltinCheck] = &[
    BuiltinCheck {
        group: "apps",
        kind: "Deployment",
        versions: &["v1"],
        check: checks::deployment::check,
    },
    BuiltinCheck {
        group: "apps",
        kind: "StatefulSet",
        versions: &["v1"],
        check: checks::statefulset::check,
    },
    BuiltinCheck {
        group: "apps",
        kind: "ReplicaSet",
        versions: &["v1"],
        check: checks::replicaset::check,
    },
    BuiltinCheck {
        group: "apps",
        kind: "DaemonSet",
        versions: &["v1"],
        check: checks::daemonset::check,
    },
    BuiltinCheck {
        group: "extensions",
        kind: "Ingress",
        versions: &[],
        check: checks::ingress::check,
    },
    BuiltinCheck {
        group: "networking.k8s.io",
        kind: "Ingress",
        versions: &[],
        check: checks::ingress::check,
    },
    BuiltinCheck {
        group: "argoproj.io",
        kind: "Workflow",
        versions: &[],
        check: checks::workflow::check,
    },
    BuiltinCheck {
        group: "apiregistration.k8s.io",
        kind: "APIService",
        versions: &["v1", "v1beta1"],
        check: checks::apiservice::check,
    },
    BuiltinCheck {
        group: "",
        kind: "Service",
        versions: &["v1"],
        check: checks::service::check,
    },
    BuiltinCheck {
        group: "",
        kind: "PersistentVolumeClaim",
        versions: &["v1"],
        check: checks::pvc::check,
    },
    BuiltinCheck {
        group: "",
        kind: "Pod",
        versions: &["v1"],
        check: checks::pod::check,
    },
    BuiltinCheck {
        group: "batch",
        kind: "Job",
        versions: &["v1"],
        check: checks::job::check,
    },
    BuiltinCheck {
        group: "autoscaling",
        kind: "HorizontalPodAutoscaler",
        versions: &["v1", "v2", "v2beta1", "v2beta2"],
        check: checks::hpa::check,
    },
    // Argo CD ships these as bundled Lua scripts (resource_customizations/); same behaviour here.
    BuiltinCheck {
        group: "policy",
        kind: "PodDisruptionBudget",
        versions: &["v1", "v1beta1"],
        check: checks::pdb::check,
    },
    BuiltinCheck {
        group: "batch",
        kind: "CronJob",
        versions: &["v1", "v1beta1"],
        check: checks::cronjob::check,
    },
    BuiltinCheck {
        group: "apiextensions.k8s.io",
        kind: "CustomResourceDefinition",
        versions: &["v1", "v1beta1"],
        check: checks::crd::check,
    },
];

/// The check for a group and kind, wrapped with the version test; `None` when the kind has no check.
pub fn lookup(
    group: &str,
    kind: &str,
) -> Option<impl Fn(&str, &Value) -> Result<HealthResult, String>> {
    let entry = BUILTIN_CHECKS
        .iter()
        .find(|c| c.kind == kind && c.group == group)?;
    Some(move |version: &str, obj: &Value| {
        if !entry.versions.is_empty() && !entry.versions.contains(&version) {
            let api_version = if entry.group.is_empty() {
                version.to_string()
            } else {
                format!("{}/{version}", entry.group)
            };
            return Err(format!(
                "unsupported {} GVK: {api_version}, Kind={}",
                entry.kind, entry.kind
            ));
        }
        (entry.check)(obj)
    })
}
