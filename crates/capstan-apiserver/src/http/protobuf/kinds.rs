//! Message schemas (field number -> JSON name and type) of the kinds kubectl's generators
//! (`kubectl create namespace|configmap|secret|serviceaccount|deployment|service|job|cronjob|
//! role|rolebinding|clusterrole|clusterrolebinding|ingress|poddisruptionbudget|priorityclass|quota`)
//! send as protobuf. Field numbers follow `k8s.io/api` generated.proto and were checked against
//! bodies recorded from kubectl 1.32. Fields a generator never sets are not listed; unknown
//! fields are skipped.

use super::{F, Schema};

/// The kinds `schema_for` knows, for error messages.
pub(super) const SUPPORTED: &str = "Namespace, ConfigMap, Secret, ServiceAccount, Deployment, Service, Job, CronJob, Role, RoleBinding, ClusterRole, ClusterRoleBinding, Ingress, PodDisruptionBudget, PriorityClass, ResourceQuota, TokenRequest";

pub(super) fn schema_for(api_version: &str, kind: &str) -> Option<Schema> {
    Some(match (api_version, kind) {
        ("v1", "Namespace") => namespace(),
        ("v1", "ConfigMap") => configmap(),
        ("v1", "Secret") => secret(),
        ("v1", "ServiceAccount") => service_account(),
        ("v1", "Service") => service(),
        ("v1", "ResourceQuota") => resource_quota(),
        ("apps/v1", "Deployment") => deployment(),
        ("batch/v1", "Job") => job(),
        ("batch/v1", "CronJob") => cronjob(),
        ("rbac.authorization.k8s.io/v1", "Role" | "ClusterRole") => role(),
        ("rbac.authorization.k8s.io/v1", "RoleBinding" | "ClusterRoleBinding") => role_binding(),
        ("networking.k8s.io/v1", "Ingress") => ingress(),
        ("policy/v1", "PodDisruptionBudget") => pdb(),
        ("scheduling.k8s.io/v1", "PriorityClass") => priority_class(),
        ("authentication.k8s.io/v1", "TokenRequest") => token_request(),
        _ => return None,
    })
}

fn object_meta() -> Schema {
    &[
        (1, F::Str("name")),
        (2, F::Str("generateName")),
        (3, F::Str("namespace")),
        (5, F::Str("uid")),
        (6, F::Str("resourceVersion")),
        (7, F::Int("generation")),
        (8, F::Time("creationTimestamp")),
        (11, F::MapStr("labels")),
        (12, F::MapStr("annotations")),
        (13, F::RepMsg("ownerReferences", owner_ref)),
        (14, F::RepStr("finalizers")),
    ]
}

fn owner_ref() -> Schema {
    &[
        (5, F::Str("apiVersion")),
        (1, F::Str("kind")),
        (3, F::Str("name")),
        (4, F::Str("uid")),
        (6, F::Bool("controller")),
        (7, F::Bool("blockOwnerDeletion")),
    ]
}

fn namespace() -> Schema {
    &[
        (1, F::Msg("metadata", object_meta)),
        (2, F::Msg("spec", namespace_spec)),
        (3, F::Msg("status", namespace_status)),
    ]
}

fn namespace_spec() -> Schema {
    &[(1, F::RepStr("finalizers"))]
}

fn namespace_status() -> Schema {
    &[(1, F::Str("phase"))]
}

fn configmap() -> Schema {
    &[
        (1, F::Msg("metadata", object_meta)),
        (2, F::MapStr("data")),
        (3, F::MapBytes("binaryData")),
        (4, F::Bool("immutable")),
    ]
}

fn secret() -> Schema {
    &[
        (1, F::Msg("metadata", object_meta)),
        (2, F::MapBytes("data")),
        (3, F::Str("type")),
        (4, F::MapStr("stringData")),
        (5, F::Bool("immutable")),
    ]
}

fn local_ref() -> Schema {
    &[(1, F::Str("name"))]
}

fn object_ref() -> Schema {
    &[
        (1, F::Str("kind")),
        (2, F::Str("namespace")),
        (3, F::Str("name")),
        (4, F::Str("uid")),
        (5, F::Str("apiVersion")),
    ]
}

fn service_account() -> Schema {
    &[
        (1, F::Msg("metadata", object_meta)),
        (2, F::RepMsg("secrets", object_ref)),
        (3, F::RepMsg("imagePullSecrets", local_ref)),
        (4, F::Bool("automountServiceAccountToken")),
    ]
}

/// `kubectl create token` (k8s.io/api/authentication/v1 TokenRequest).
fn token_request() -> Schema {
    &[
        (1, F::Msg("metadata", object_meta)),
        (2, F::Msg("spec", token_request_spec)),
    ]
}

fn token_request_spec() -> Schema {
    &[
        (1, F::RepStr("audiences")),
        (3, F::Msg("boundObjectRef", bound_object_ref)),
        (4, F::IntKeep("expirationSeconds")),
    ]
}

fn bound_object_ref() -> Schema {
    &[
        (1, F::Str("kind")),
        (2, F::Str("apiVersion")),
        (3, F::Str("name")),
        (4, F::Str("uid")),
    ]
}

pub(super) fn type_meta() -> Schema {
    &[(1, F::Str("apiVersion")), (2, F::Str("kind"))]
}

pub(super) fn unknown() -> Schema {
    &[
        (1, F::Msg("typeMeta", type_meta)),
        (2, F::Bytes64("raw")),
        (3, F::Str("contentEncoding")),
        (4, F::Str("contentType")),
    ]
}

fn label_selector() -> Schema {
    &[
        (1, F::MapStr("matchLabels")),
        (2, F::RepMsg("matchExpressions", selector_requirement)),
    ]
}

fn selector_requirement() -> Schema {
    &[
        (1, F::Str("key")),
        (2, F::Str("operator")),
        (3, F::RepStr("values")),
    ]
}

fn pod_template() -> Schema {
    &[
        (1, F::Msg("metadata", object_meta)),
        (2, F::Msg("spec", pod_spec)),
    ]
}

fn pod_spec() -> Schema {
    &[
        (2, F::RepMsg("containers", container)),
        (3, F::Str("restartPolicy")),
        (4, F::Int("terminationGracePeriodSeconds")),
        (6, F::Str("dnsPolicy")),
        (7, F::MapStr("nodeSelector")),
        (8, F::Str("serviceAccountName")),
        (10, F::Str("nodeName")),
        (15, F::RepMsg("imagePullSecrets", local_ref)),
        (19, F::Str("schedulerName")),
        (20, F::RepMsg("initContainers", container)),
        (24, F::Str("priorityClassName")),
    ]
}

fn container() -> Schema {
    &[
        (1, F::Str("name")),
        (2, F::Str("image")),
        (3, F::RepStr("command")),
        (4, F::RepStr("args")),
        (5, F::Str("workingDir")),
        (6, F::RepMsg("ports", container_port)),
        (7, F::RepMsg("env", env_var)),
        (8, F::Msg("resources", resources)),
        (13, F::Str("terminationMessagePath")),
        (14, F::Str("imagePullPolicy")),
        (16, F::Bool("stdin")),
        (17, F::Bool("stdinOnce")),
        (18, F::Bool("tty")),
        (20, F::Str("terminationMessagePolicy")),
    ]
}

fn container_port() -> Schema {
    &[
        (1, F::Str("name")),
        (2, F::Int("hostPort")),
        (3, F::IntKeep("containerPort")),
        (4, F::Str("protocol")),
        (5, F::Str("hostIP")),
    ]
}

fn env_var() -> Schema {
    &[(1, F::Str("name")), (2, F::Str("value"))]
}

fn resources() -> Schema {
    &[(1, F::QtyMap("limits")), (2, F::QtyMap("requests"))]
}

fn deployment() -> Schema {
    &[
        (1, F::Msg("metadata", object_meta)),
        (2, F::Msg("spec", deployment_spec)),
    ]
}

fn deployment_spec() -> Schema {
    &[
        (1, F::IntKeep("replicas")),
        (2, F::Msg("selector", label_selector)),
        (3, F::Msg("template", pod_template)),
        (4, F::Msg("strategy", deployment_strategy)),
        (5, F::Int("minReadySeconds")),
        (6, F::Int("revisionHistoryLimit")),
        (7, F::Bool("paused")),
        (9, F::Int("progressDeadlineSeconds")),
    ]
}

fn deployment_strategy() -> Schema {
    &[
        (1, F::Str("type")),
        (2, F::Msg("rollingUpdate", rolling_update)),
    ]
}

fn rolling_update() -> Schema {
    &[
        (1, F::IntOrStr("maxUnavailable")),
        (2, F::IntOrStr("maxSurge")),
    ]
}

fn service() -> Schema {
    &[
        (1, F::Msg("metadata", object_meta)),
        (2, F::Msg("spec", service_spec)),
    ]
}

fn service_spec() -> Schema {
    &[
        (1, F::RepMsg("ports", service_port)),
        (2, F::MapStr("selector")),
        (3, F::Str("clusterIP")),
        (4, F::Str("type")),
        (5, F::RepStr("externalIPs")),
        (7, F::Str("sessionAffinity")),
        (10, F::Str("externalName")),
    ]
}

fn service_port() -> Schema {
    &[
        (1, F::Str("name")),
        (2, F::Str("protocol")),
        (3, F::IntKeep("port")),
        (4, F::IntOrStr("targetPort")),
        (5, F::Int("nodePort")),
    ]
}

fn job() -> Schema {
    &[
        (1, F::Msg("metadata", object_meta)),
        (2, F::Msg("spec", job_spec)),
    ]
}

fn job_spec() -> Schema {
    &[
        (1, F::IntKeep("parallelism")),
        (2, F::IntKeep("completions")),
        (3, F::Int("activeDeadlineSeconds")),
        (4, F::Msg("selector", label_selector)),
        (6, F::Msg("template", pod_template)),
        (7, F::IntKeep("backoffLimit")),
    ]
}

fn cronjob() -> Schema {
    &[
        (1, F::Msg("metadata", object_meta)),
        (2, F::Msg("spec", cronjob_spec)),
    ]
}

fn cronjob_spec() -> Schema {
    &[
        (1, F::Str("schedule")),
        (3, F::Str("concurrencyPolicy")),
        (4, F::Bool("suspend")),
        (5, F::Msg("jobTemplate", job_template)),
        (8, F::Str("timeZone")),
    ]
}

fn job_template() -> Schema {
    &[
        (1, F::Msg("metadata", object_meta)),
        (2, F::Msg("spec", job_spec)),
    ]
}

fn role() -> Schema {
    &[
        (1, F::Msg("metadata", object_meta)),
        (2, F::RepMsg("rules", policy_rule)),
    ]
}

fn policy_rule() -> Schema {
    &[
        (1, F::RepStr("verbs")),
        (2, F::RepStr("apiGroups")),
        (3, F::RepStr("resources")),
        (4, F::RepStr("resourceNames")),
        (5, F::RepStr("nonResourceURLs")),
    ]
}

fn role_binding() -> Schema {
    &[
        (1, F::Msg("metadata", object_meta)),
        (2, F::RepMsg("subjects", subject)),
        (3, F::Msg("roleRef", role_ref)),
    ]
}

fn subject() -> Schema {
    &[
        (1, F::Str("kind")),
        (2, F::Str("apiGroup")),
        (3, F::Str("name")),
        (4, F::Str("namespace")),
    ]
}

fn role_ref() -> Schema {
    &[
        (1, F::Str("apiGroup")),
        (2, F::Str("kind")),
        (3, F::Str("name")),
    ]
}

fn ingress() -> Schema {
    &[
        (1, F::Msg("metadata", object_meta)),
        (2, F::Msg("spec", ingress_spec)),
    ]
}

fn ingress_spec() -> Schema {
    &[
        (1, F::Msg("defaultBackend", ingress_backend)),
        (2, F::RepMsg("tls", ingress_tls)),
        (3, F::RepMsg("rules", ingress_rule)),
        (4, F::Str("ingressClassName")),
    ]
}

fn ingress_tls() -> Schema {
    &[(1, F::RepStr("hosts")), (2, F::Str("secretName"))]
}

fn ingress_rule() -> Schema {
    &[(1, F::Str("host")), (2, F::Inline(ingress_rule_value))]
}

fn ingress_rule_value() -> Schema {
    &[(1, F::Msg("http", ingress_http))]
}

fn ingress_http() -> Schema {
    &[(1, F::RepMsg("paths", ingress_path))]
}

fn ingress_path() -> Schema {
    &[
        (1, F::Str("path")),
        (2, F::Msg("backend", ingress_backend)),
        (3, F::Str("pathType")),
    ]
}

fn ingress_backend() -> Schema {
    &[(4, F::Msg("service", ingress_service_backend))]
}

fn ingress_service_backend() -> Schema {
    &[
        (1, F::Str("name")),
        (2, F::Msg("port", service_backend_port)),
    ]
}

fn service_backend_port() -> Schema {
    &[(1, F::Str("name")), (2, F::Int("number"))]
}

fn pdb() -> Schema {
    &[
        (1, F::Msg("metadata", object_meta)),
        (2, F::Msg("spec", pdb_spec)),
    ]
}

fn pdb_spec() -> Schema {
    &[
        (1, F::IntOrStr("minAvailable")),
        (2, F::Msg("selector", label_selector)),
        (3, F::IntOrStr("maxUnavailable")),
    ]
}

fn priority_class() -> Schema {
    &[
        (1, F::Msg("metadata", object_meta)),
        (2, F::IntKeep("value")),
        (3, F::Bool("globalDefault")),
        (4, F::Str("description")),
        (5, F::Str("preemptionPolicy")),
    ]
}

fn resource_quota() -> Schema {
    &[
        (1, F::Msg("metadata", object_meta)),
        (2, F::Msg("spec", quota_spec)),
    ]
}

fn quota_spec() -> Schema {
    &[(1, F::QtyMap("hard")), (2, F::RepStr("scopes"))]
}
