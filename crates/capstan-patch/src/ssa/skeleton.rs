//! The "empty object" a create is compared against when recording ownership.
//!
//! The API server compares a created built-in object with the zero value of its Go type, whose
//! JSON form already has the non-`omitempty` structs (`spec`, `spec.template`, `strategy`, ...)
//! and `null` slices (`containers`). Those nodes are therefore not "added" by the create and get
//! no `.` marker in the creator's fieldsV1, while pointer and `omitempty` fields do (e.g.
//! `f:rollingUpdate: {".": {}, ...}`). Custom resources are compared with an empty object.

use serde_json::{Value, json};

use crate::schema::{group_of, is_builtin};

fn pod_template() -> Value {
    json!({"metadata":{"creationTimestamp":null},"spec":{"containers":null}})
}

/// The zero value of a built-in kind in JSON form (`{}` for custom resources).
pub fn zero_object(api_version: &str, kind: &str) -> Value {
    if !is_builtin(api_version, kind) {
        return json!({});
    }
    let mut obj = match (group_of(api_version), kind) {
        ("", "Pod") => json!({"spec":{"containers":null},"status":{}}),
        ("", "PodTemplate") => json!({"template": pod_template()}),
        ("", "Service") => json!({"spec":{},"status":{"loadBalancer":{}}}),
        ("", "Namespace") => json!({"spec":{},"status":{}}),
        ("", "PersistentVolumeClaim") => json!({"spec":{"resources":{}},"status":{}}),
        ("", "PersistentVolume") => json!({"spec":{},"status":{}}),
        ("", "ReplicationController") => json!({"spec":{},"status":{"replicas":0}}),
        ("apps" | "extensions", "Deployment") => json!({
            "spec":{"selector":null,"template":pod_template(),"strategy":{}},"status":{}}),
        ("apps", "ReplicaSet") => json!({
            "spec":{"selector":null,"template":pod_template()},"status":{"replicas":0}}),
        ("apps", "StatefulSet") => json!({
            "spec":{"selector":null,"template":pod_template(),"updateStrategy":{}},
            "status":{"replicas":0,"availableReplicas":0}}),
        ("apps", "DaemonSet") => json!({
            "spec":{"selector":null,"template":pod_template(),"updateStrategy":{}},
            "status":{"currentNumberScheduled":0,"numberMisscheduled":0,
                      "desiredNumberScheduled":0,"numberReady":0}}),
        ("batch", "Job") => json!({"spec":{"template":pod_template()},"status":{}}),
        ("batch", "CronJob") => json!({
            "spec":{"schedule":"","jobTemplate":{"metadata":{"creationTimestamp":null},
                    "spec":{"template":pod_template()}}},"status":{}}),
        ("rbac.authorization.k8s.io", "Role" | "ClusterRole") => json!({"rules":null}),
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            json!({"roleRef":{"apiGroup":"","kind":"","name":""}})
        }
        ("networking.k8s.io", "Ingress") => json!({"spec":{},"status":{"loadBalancer":{}}}),
        ("networking.k8s.io", "NetworkPolicy") => json!({"spec":{"podSelector":{}}}),
        ("policy", "PodDisruptionBudget") => json!({"spec":{},"status":{
            "disruptionsAllowed":0,"currentHealthy":0,"desiredHealthy":0,"expectedPods":0}}),
        ("autoscaling", "HorizontalPodAutoscaler") => {
            json!({"spec":{"scaleTargetRef":{"kind":"","name":""},"maxReplicas":0},"status":{}})
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => json!({
            "spec":{"group":"","names":{"plural":"","kind":""},"scope":"","versions":null},
            "status":{"conditions":null,"acceptedNames":{"plural":"","kind":""},"storedVersions":null}}),
        _ => json!({}),
    };
    if let Some(m) = obj.as_object_mut() {
        m.insert("metadata".into(), json!({"creationTimestamp": null}));
    }
    obj
}
