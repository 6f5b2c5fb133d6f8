//! Hand-written tables of the built-in kinds' patch metadata, from the Go struct tags
//! (`patchStrategy`, `patchMergeKey`) and OpenAPI extensions (`x-kubernetes-list-type`,
//! `x-kubernetes-list-map-keys`, `x-kubernetes-map-type`) of Kubernetes 1.32.

use super::{ANY, Field, ListDef, TypeDef};

const fn obj(fields: &'static [(&'static str, Field)]) -> TypeDef {
    TypeDef {
        fields,
        retain_keys: false,
    }
}

const NAME: &[(&str, Option<&str>)] = &[("name", None)];

// ---- metadata -------------------------------------------------------------------------------

static OWNER_REFERENCES: ListDef = ListDef {
    smp_key: "uid",
    ssa_keys: &[("uid", None)],
    item: &ANY,
    retain_keys: false,
    atomic_items: true,
};

/// ObjectMeta.
pub static OBJECT_META: TypeDef = obj(&[
    ("finalizers", Field::SetList),
    ("ownerReferences", Field::MapList(&OWNER_REFERENCES)),
]);

/// The root of any object: only `metadata` is known (custom resources).
pub static GENERIC: TypeDef = obj(&[("metadata", Field::Object(&OBJECT_META))]);

// ---- shared pieces ----------------------------------------------------------------------------

static CONDITIONS: ListDef = ListDef {
    smp_key: "type",
    ssa_keys: &[("type", None)],
    item: &ANY,
    retain_keys: false,
    atomic_items: false,
};

/// A status whose only special field is `conditions` (merged by `type`).
static CONDITIONS_STATUS: TypeDef = obj(&[("conditions", Field::MapList(&CONDITIONS))]);

// ---- core/v1 Pod ------------------------------------------------------------------------------

static CONTAINER_PORTS: ListDef = ListDef {
    smp_key: "containerPort",
    ssa_keys: &[("containerPort", None), ("protocol", Some("TCP"))],
    item: &ANY,
    retain_keys: false,
    atomic_items: false,
};
static ENV_VAR_SOURCE: TypeDef = obj(&[
    ("configMapKeyRef", Field::AtomicObject),
    ("secretKeyRef", Field::AtomicObject),
    ("fieldRef", Field::AtomicObject),
    ("resourceFieldRef", Field::AtomicObject),
]);
static ENV_VAR: TypeDef = obj(&[("valueFrom", Field::Object(&ENV_VAR_SOURCE))]);
static ENV: ListDef = ListDef {
    smp_key: "name",
    ssa_keys: NAME,
    item: &ENV_VAR,
    retain_keys: false,
    atomic_items: false,
};
static VOLUME_MOUNTS: ListDef = ListDef {
    smp_key: "mountPath",
    ssa_keys: &[("mountPath", None)],
    item: &ANY,
    retain_keys: false,
    atomic_items: false,
};
static VOLUME_DEVICES: ListDef = ListDef {
    smp_key: "devicePath",
    ssa_keys: &[("devicePath", None)],
    item: &ANY,
    retain_keys: false,
    atomic_items: false,
};
static RESOURCE_CLAIMS: ListDef = ListDef {
    smp_key: "name",
    ssa_keys: NAME,
    item: &ANY,
    retain_keys: false,
    atomic_items: false,
};
static RESOURCES: TypeDef = obj(&[("claims", Field::MapList(&RESOURCE_CLAIMS))]);

/// core/v1 Container (also init and ephemeral containers).
static CONTAINER: TypeDef = obj(&[
    ("ports", Field::MapList(&CONTAINER_PORTS)),
    ("env", Field::MapList(&ENV)),
    ("volumeMounts", Field::MapList(&VOLUME_MOUNTS)),
    ("volumeDevices", Field::MapList(&VOLUME_DEVICES)),
    ("resources", Field::Object(&RESOURCES)),
]);
static CONTAINERS: ListDef = ListDef {
    smp_key: "name",
    ssa_keys: NAME,
    item: &CONTAINER,
    retain_keys: false,
    atomic_items: false,
};
static VOLUME_SOURCE_REFS: TypeDef = obj(&[]);
static VOLUMES: ListDef = ListDef {
    smp_key: "name",
    ssa_keys: NAME,
    item: &VOLUME_SOURCE_REFS,
    retain_keys: true,
    atomic_items: false,
};
static IMAGE_PULL_SECRETS: ListDef = ListDef {
    smp_key: "name",
    ssa_keys: NAME,
    item: &ANY,
    retain_keys: false,
    atomic_items: true,
};
static HOST_ALIASES: ListDef = ListDef {
    smp_key: "ip",
    ssa_keys: &[("ip", None)],
    item: &ANY,
    retain_keys: false,
    atomic_items: false,
};
static TOPOLOGY_SPREAD: TypeDef = obj(&[("labelSelector", Field::AtomicObject)]);
static TOPOLOGY_SPREAD_CONSTRAINTS: ListDef = ListDef {
    smp_key: "topologyKey",
    ssa_keys: &[("topologyKey", None), ("whenUnsatisfiable", None)],
    item: &TOPOLOGY_SPREAD,
    retain_keys: false,
    atomic_items: false,
};
static POD_RESOURCE_CLAIMS: ListDef = ListDef {
    smp_key: "name",
    ssa_keys: NAME,
    item: &ANY,
    retain_keys: true,
    atomic_items: false,
};
static SCHEDULING_GATES: ListDef = ListDef {
    smp_key: "name",
    ssa_keys: NAME,
    item: &ANY,
    retain_keys: false,
    atomic_items: false,
};
static NODE_AFFINITY: TypeDef = obj(&[(
    "requiredDuringSchedulingIgnoredDuringExecution",
    Field::AtomicObject,
)]);
static AFFINITY: TypeDef = obj(&[("nodeAffinity", Field::Object(&NODE_AFFINITY))]);

/// core/v1 PodSpec.
pub static POD_SPEC: TypeDef = obj(&[
    ("containers", Field::MapList(&CONTAINERS)),
    ("initContainers", Field::MapList(&CONTAINERS)),
    ("ephemeralContainers", Field::MapList(&CONTAINERS)),
    ("volumes", Field::MapList(&VOLUMES)),
    ("imagePullSecrets", Field::MapList(&IMAGE_PULL_SECRETS)),
    ("hostAliases", Field::MapList(&HOST_ALIASES)),
    (
        "topologySpreadConstraints",
        Field::MapList(&TOPOLOGY_SPREAD_CONSTRAINTS),
    ),
    ("resourceClaims", Field::MapList(&POD_RESOURCE_CLAIMS)),
    ("schedulingGates", Field::MapList(&SCHEDULING_GATES)),
    ("affinity", Field::Object(&AFFINITY)),
    ("nodeSelector", Field::AtomicObject),
]);
static POD_IPS: ListDef = ListDef {
    smp_key: "ip",
    ssa_keys: &[("ip", None)],
    item: &ANY,
    retain_keys: false,
    atomic_items: false,
};
static POD_STATUS: TypeDef = obj(&[
    ("conditions", Field::MapList(&CONDITIONS)),
    ("podIPs", Field::MapList(&POD_IPS)),
]);
static POD: TypeDef = obj(&[
    ("metadata", Field::Object(&OBJECT_META)),
    ("spec", Field::Object(&POD_SPEC)),
    ("status", Field::Object(&POD_STATUS)),
]);
/// core/v1 PodTemplateSpec.
static POD_TEMPLATE_SPEC: TypeDef = obj(&[
    ("metadata", Field::Object(&OBJECT_META)),
    ("spec", Field::Object(&POD_SPEC)),
]);
static POD_TEMPLATE: TypeDef = obj(&[
    ("metadata", Field::Object(&OBJECT_META)),
    ("template", Field::Object(&POD_TEMPLATE_SPEC)),
]);

// ---- core/v1 others ---------------------------------------------------------------------------

static SERVICE_PORTS: ListDef = ListDef {
    smp_key: "port",
    ssa_keys: &[("port", None), ("protocol", Some("TCP"))],
    item: &ANY,
    retain_keys: false,
    atomic_items: false,
};
static SERVICE_SPEC: TypeDef = obj(&[
    ("ports", Field::MapList(&SERVICE_PORTS)),
    ("selector", Field::AtomicObject),
]);
static SERVICE: TypeDef = obj(&[
    ("metadata", Field::Object(&OBJECT_META)),
    ("spec", Field::Object(&SERVICE_SPEC)),
    ("status", Field::Object(&CONDITIONS_STATUS)),
]);
static SECRET_REFS: ListDef = ListDef {
    smp_key: "name",
    ssa_keys: NAME,
    item: &ANY,
    retain_keys: false,
    atomic_items: true,
};
static SERVICE_ACCOUNT: TypeDef = obj(&[
    ("metadata", Field::Object(&OBJECT_META)),
    ("secrets", Field::MapList(&SECRET_REFS)),
    ("imagePullSecrets", Field::MapList(&IMAGE_PULL_SECRETS)),
]);
static PVC_SPEC: TypeDef = obj(&[
    ("selector", Field::AtomicObject),
    ("dataSource", Field::AtomicObject),
    ("dataSourceRef", Field::AtomicObject),
]);
static PVC: TypeDef = obj(&[
    ("metadata", Field::Object(&OBJECT_META)),
    ("spec", Field::Object(&PVC_SPEC)),
    ("status", Field::Object(&CONDITIONS_STATUS)),
]);
static PV_SPEC: TypeDef = TypeDef {
    fields: &[("claimRef", Field::AtomicObject)],
    retain_keys: true,
};
static PV: TypeDef = obj(&[
    ("metadata", Field::Object(&OBJECT_META)),
    ("spec", Field::Object(&PV_SPEC)),
]);
static NAMESPACE: TypeDef = obj(&[
    ("metadata", Field::Object(&OBJECT_META)),
    ("status", Field::Object(&CONDITIONS_STATUS)),
]);

// ---- apps/v1, batch/v1 --------------------------------------------------------------------------

static DEPLOYMENT_STRATEGY: TypeDef = TypeDef {
    fields: &[],
    retain_keys: true,
};
static DEPLOYMENT_SPEC: TypeDef = obj(&[
    ("selector", Field::AtomicObject),
    ("template", Field::Object(&POD_TEMPLATE_SPEC)),
    ("strategy", Field::Object(&DEPLOYMENT_STRATEGY)),
]);
static DEPLOYMENT: TypeDef = obj(&[
    ("metadata", Field::Object(&OBJECT_META)),
    ("spec", Field::Object(&DEPLOYMENT_SPEC)),
    ("status", Field::Object(&CONDITIONS_STATUS)),
]);
/// ReplicaSet, DaemonSet and StatefulSet specs share these special fields.
static WORKLOAD_SPEC: TypeDef = obj(&[
    ("selector", Field::AtomicObject),
    ("template", Field::Object(&POD_TEMPLATE_SPEC)),
]);
static WORKLOAD: TypeDef = obj(&[
    ("metadata", Field::Object(&OBJECT_META)),
    ("spec", Field::Object(&WORKLOAD_SPEC)),
    ("status", Field::Object(&CONDITIONS_STATUS)),
]);
static JOB_SPEC: TypeDef = obj(&[
    ("selector", Field::AtomicObject),
    ("template", Field::Object(&POD_TEMPLATE_SPEC)),
]);
static JOB_CONDITIONS: ListDef = ListDef {
    smp_key: "type",
    ssa_keys: &[],
    item: &ANY,
    retain_keys: false,
    atomic_items: false,
};
static JOB_STATUS: TypeDef = obj(&[("conditions", Field::MapList(&JOB_CONDITIONS))]);
static JOB: TypeDef = obj(&[
    ("metadata", Field::Object(&OBJECT_META)),
    ("spec", Field::Object(&JOB_SPEC)),
    ("status", Field::Object(&JOB_STATUS)),
]);
static JOB_TEMPLATE: TypeDef = obj(&[
    ("metadata", Field::Object(&OBJECT_META)),
    ("spec", Field::Object(&JOB_SPEC)),
]);
static CRON_JOB_SPEC: TypeDef = obj(&[("jobTemplate", Field::Object(&JOB_TEMPLATE))]);
static CRON_JOB: TypeDef = obj(&[
    ("metadata", Field::Object(&OBJECT_META)),
    ("spec", Field::Object(&CRON_JOB_SPEC)),
]);

// ---- policy, networking, autoscaling, admission --------------------------------------------------

static PDB_SPEC: TypeDef = obj(&[("selector", Field::ReplacedObject)]);
static PDB: TypeDef = obj(&[
    ("metadata", Field::Object(&OBJECT_META)),
    ("spec", Field::Object(&PDB_SPEC)),
    ("status", Field::Object(&CONDITIONS_STATUS)),
]);
static NETWORK_POLICY_SPEC: TypeDef = obj(&[("podSelector", Field::AtomicObject)]);
static NETWORK_POLICY: TypeDef = obj(&[
    ("metadata", Field::Object(&OBJECT_META)),
    ("spec", Field::Object(&NETWORK_POLICY_SPEC)),
    ("status", Field::Object(&CONDITIONS_STATUS)),
]);
static HPA_SPEC: TypeDef = obj(&[("scaleTargetRef", Field::AtomicObject)]);
static HPA: TypeDef = obj(&[
    ("metadata", Field::Object(&OBJECT_META)),
    ("spec", Field::Object(&HPA_SPEC)),
    ("status", Field::Object(&CONDITIONS_STATUS)),
]);
static ROLE_BINDING: TypeDef = obj(&[
    ("metadata", Field::Object(&OBJECT_META)),
    ("roleRef", Field::AtomicObject),
]);
static WEBHOOK: TypeDef = obj(&[
    ("namespaceSelector", Field::AtomicObject),
    ("objectSelector", Field::AtomicObject),
]);
static WEBHOOKS: ListDef = ListDef {
    smp_key: "name",
    ssa_keys: NAME,
    item: &WEBHOOK,
    retain_keys: false,
    atomic_items: false,
};
static WEBHOOK_CONFIGURATION: TypeDef = obj(&[
    ("metadata", Field::Object(&OBJECT_META)),
    ("webhooks", Field::MapList(&WEBHOOKS)),
]);
static CRD: TypeDef = obj(&[
    ("metadata", Field::Object(&OBJECT_META)),
    ("status", Field::Object(&CONDITIONS_STATUS)),
]);
static APISERVICE: TypeDef = obj(&[
    ("metadata", Field::Object(&OBJECT_META)),
    ("status", Field::Object(&CONDITIONS_STATUS)),
]);

/// Built-in (group, kind) pairs and their root types. Kinds that are not listed here but belong
/// to a built-in group get the generic root (metadata only), which is what their schemas amount
/// to for patching purposes (RBAC rules, Ingress rules... are replaced as a whole).
const KINDS: &[(&str, &str, &TypeDef)] = &[
    ("", "Pod", &POD),
    ("", "PodTemplate", &POD_TEMPLATE),
    ("", "Service", &SERVICE),
    ("", "ServiceAccount", &SERVICE_ACCOUNT),
    ("", "PersistentVolumeClaim", &PVC),
    ("", "PersistentVolume", &PV),
    ("", "Namespace", &NAMESPACE),
    ("", "ReplicationController", &WORKLOAD),
    ("apps", "Deployment", &DEPLOYMENT),
    ("apps", "ReplicaSet", &WORKLOAD),
    ("apps", "StatefulSet", &WORKLOAD),
    ("apps", "DaemonSet", &WORKLOAD),
    ("extensions", "Deployment", &DEPLOYMENT),
    ("batch", "Job", &JOB),
    ("batch", "CronJob", &CRON_JOB),
    ("policy", "PodDisruptionBudget", &PDB),
    ("networking.k8s.io", "NetworkPolicy", &NETWORK_POLICY),
    ("autoscaling", "HorizontalPodAutoscaler", &HPA),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
        &WEBHOOK_CONFIGURATION,
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
        &WEBHOOK_CONFIGURATION,
    ),
    ("apiextensions.k8s.io", "CustomResourceDefinition", &CRD),
    ("rbac.authorization.k8s.io", "RoleBinding", &ROLE_BINDING),
    (
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        &ROLE_BINDING,
    ),
    ("apiregistration.k8s.io", "APIService", &APISERVICE),
];

/// Built-in kinds with nothing special beyond metadata.
const PLAIN_KINDS: &[(&str, &str)] = &[
    ("", "ConfigMap"),
    ("", "Secret"),
    ("", "Endpoints"),
    ("", "Event"),
    ("", "LimitRange"),
    ("", "ResourceQuota"),
    ("", "Node"),
    ("", "Binding"),
    ("", "ComponentStatus"),
    ("apps", "ControllerRevision"),
    ("events.k8s.io", "Event"),
    ("discovery.k8s.io", "EndpointSlice"),
    ("networking.k8s.io", "Ingress"),
    ("networking.k8s.io", "IngressClass"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("coordination.k8s.io", "Lease"),
    ("node.k8s.io", "RuntimeClass"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
];

/// Whether `apiVersion`/`kind` is a built-in kind (one with strategic merge patch metadata).
pub fn is_builtin(api_version: &str, kind: &str) -> bool {
    let group = super::group_of(api_version);
    KINDS.iter().any(|(g, k, _)| *g == group && *k == kind)
        || PLAIN_KINDS.iter().any(|(g, k)| *g == group && *k == kind)
}

pub(super) fn root(api_version: &str, kind: &str) -> Option<&'static TypeDef> {
    let group = super::group_of(api_version);
    KINDS
        .iter()
        .find(|(g, k, _)| *g == group && *k == kind)
        .map(|(_, _, d)| *d)
}
