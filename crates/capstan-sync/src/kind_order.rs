/// Argo CD's kind order (gitops-engine `sync_tasks.go`), first to last.
pub const KIND_ORDER: [&str; 35] = [
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

/// The kind part of the ordering key: listed kinds get `i - len` (negative, first is lowest); any other
/// kind gets 0 and so sorts after every listed kind.
pub fn kind_order(kind: &str) -> i32 {
    match KIND_ORDER.iter().position(|k| *k == kind) {
        Some(i) => i as i32 - KIND_ORDER.len() as i32,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_values() {
        assert_eq!(kind_order("Namespace"), -35);
        assert_eq!(kind_order("APIService"), -1);
        assert_eq!(kind_order("Widget"), 0);
        assert!(kind_order("ConfigMap") < kind_order("Deployment"));
    }
}
