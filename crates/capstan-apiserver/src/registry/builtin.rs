//! The table of built-in kinds served by the embedded API server.

use super::{ResourceType, ScalePaths};

const STATUS: u8 = 1;
const SCALE: u8 = 2;
const GEN: u8 = 4;
const CLUSTER: u8 = 8;
const ALL: u8 = 16;

fn t(gv: &str, resource: &str, kind: &str, shorts: &[&str], flags: u8) -> ResourceType {
    let (group, version) = gv.rsplit_once('/').unwrap_or(("", gv));
    ResourceType {
        group: group.to_string(),
        version: version.to_string(),
        resource: resource.to_string(),
        kind: kind.to_string(),
        singular: kind.to_lowercase(),
        namespaced: flags & CLUSTER == 0,
        short_names: shorts.iter().map(|s| s.to_string()).collect(),
        categories: if flags & ALL != 0 {
            vec!["all".to_string()]
        } else {
            Vec::new()
        },
        status: flags & STATUS != 0,
        scale: (flags & SCALE != 0).then(|| ScalePaths {
            spec_replicas: ".spec.replicas".into(),
            status_replicas: ".status.replicas".into(),
            label_selector: Some(".status.selector".into()),
        }),
        generation: flags & GEN != 0,
        custom: None,
        storage_version: true,
    }
}

/// Every built-in resource type, in discovery order.
pub fn builtin_types() -> Vec<ResourceType> {
    vec![
        t("v1", "namespaces", "Namespace", &["ns"], STATUS | CLUSTER),
        t("v1", "configmaps", "ConfigMap", &["cm"], 0),
        t("v1", "secrets", "Secret", &[], 0),
        t("v1", "services", "Service", &["svc"], STATUS | ALL),
        t("v1", "serviceaccounts", "ServiceAccount", &["sa"], 0),
        t("v1", "pods", "Pod", &["po"], STATUS | ALL),
        t("v1", "events", "Event", &["ev"], 0),
        t("v1", "endpoints", "Endpoints", &["ep"], 0),
        t("v1", "resourcequotas", "ResourceQuota", &["quota"], STATUS),
        t("v1", "limitranges", "LimitRange", &["limits"], 0),
        t(
            "v1",
            "persistentvolumeclaims",
            "PersistentVolumeClaim",
            &["pvc"],
            STATUS,
        ),
        t(
            "v1",
            "persistentvolumes",
            "PersistentVolume",
            &["pv"],
            STATUS | CLUSTER,
        ),
        t("v1", "nodes", "Node", &["no"], STATUS | CLUSTER),
        t(
            "v1",
            "replicationcontrollers",
            "ReplicationController",
            &["rc"],
            STATUS | SCALE | GEN | ALL,
        ),
        t(
            "apps/v1",
            "deployments",
            "Deployment",
            &["deploy"],
            STATUS | SCALE | GEN | ALL,
        ),
        t(
            "apps/v1",
            "replicasets",
            "ReplicaSet",
            &["rs"],
            STATUS | SCALE | GEN | ALL,
        ),
        t(
            "apps/v1",
            "statefulsets",
            "StatefulSet",
            &["sts"],
            STATUS | SCALE | GEN | ALL,
        ),
        t(
            "apps/v1",
            "daemonsets",
            "DaemonSet",
            &["ds"],
            STATUS | GEN | ALL,
        ),
        t(
            "apps/v1",
            "controllerrevisions",
            "ControllerRevision",
            &[],
            0,
        ),
        t("batch/v1", "jobs", "Job", &[], STATUS | GEN | ALL),
        t(
            "batch/v1",
            "cronjobs",
            "CronJob",
            &["cj"],
            STATUS | GEN | ALL,
        ),
        t(
            "networking.k8s.io/v1",
            "ingresses",
            "Ingress",
            &["ing"],
            STATUS | GEN,
        ),
        t(
            "networking.k8s.io/v1",
            "ingressclasses",
            "IngressClass",
            &[],
            CLUSTER,
        ),
        t(
            "networking.k8s.io/v1",
            "networkpolicies",
            "NetworkPolicy",
            &["netpol"],
            GEN,
        ),
        t(
            "autoscaling/v2",
            "horizontalpodautoscalers",
            "HorizontalPodAutoscaler",
            &["hpa"],
            STATUS | GEN | ALL,
        ),
        t(
            "autoscaling/v1",
            "horizontalpodautoscalers",
            "HorizontalPodAutoscaler",
            &["hpa"],
            STATUS | GEN | ALL,
        ),
        t(
            "policy/v1",
            "poddisruptionbudgets",
            "PodDisruptionBudget",
            &["pdb"],
            STATUS | GEN,
        ),
        t("rbac.authorization.k8s.io/v1", "roles", "Role", &[], 0),
        t(
            "rbac.authorization.k8s.io/v1",
            "rolebindings",
            "RoleBinding",
            &[],
            0,
        ),
        t(
            "rbac.authorization.k8s.io/v1",
            "clusterroles",
            "ClusterRole",
            &[],
            CLUSTER,
        ),
        t(
            "rbac.authorization.k8s.io/v1",
            "clusterrolebindings",
            "ClusterRoleBinding",
            &[],
            CLUSTER,
        ),
        t(
            "storage.k8s.io/v1",
            "storageclasses",
            "StorageClass",
            &["sc"],
            CLUSTER,
        ),
        t(
            "scheduling.k8s.io/v1",
            "priorityclasses",
            "PriorityClass",
            &["pc"],
            CLUSTER,
        ),
        t("coordination.k8s.io/v1", "leases", "Lease", &[], 0),
        t(
            "discovery.k8s.io/v1",
            "endpointslices",
            "EndpointSlice",
            &[],
            0,
        ),
        t("events.k8s.io/v1", "events", "Event", &["ev"], 0),
        t(
            "admissionregistration.k8s.io/v1",
            "mutatingwebhookconfigurations",
            "MutatingWebhookConfiguration",
            &[],
            GEN | CLUSTER,
        ),
        t(
            "admissionregistration.k8s.io/v1",
            "validatingwebhookconfigurations",
            "ValidatingWebhookConfiguration",
            &[],
            GEN | CLUSTER,
        ),
        t(
            "apiregistration.k8s.io/v1",
            "apiservices",
            "APIService",
            &[],
            STATUS | CLUSTER,
        ),
        t(
            "apiextensions.k8s.io/v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            &["crd", "crds"],
            STATUS | GEN | CLUSTER,
        ),
        t(
            "authorization.k8s.io/v1",
            "selfsubjectaccessreviews",
            "SelfSubjectAccessReview",
            &[],
            CLUSTER,
        ),
        t(
            "authorization.k8s.io/v1",
            "selfsubjectrulesreviews",
            "SelfSubjectRulesReview",
            &[],
            CLUSTER,
        ),
    ]
}
