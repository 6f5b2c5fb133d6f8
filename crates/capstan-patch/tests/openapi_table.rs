//! The hand-written patch metadata table agrees with Kubernetes' own OpenAPI: reads the
//! `x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`, `x-kubernetes-list-type`,
//! `x-kubernetes-list-map-keys` and `x-kubernetes-map-type` extensions from the OpenAPI v2
//! document of a real API server (shared/corpora/argo-diff/openapiv2.bin, protobuf) and checks
//! every one that belongs to a type the table models.

use std::collections::BTreeMap;
use std::path::PathBuf;

use capstan_patch::schema::{self, Ty};

/// Minimal protobuf wire reader: (field number, bytes) for length-delimited fields.
fn fields(mut b: &[u8]) -> Vec<(u64, &[u8])> {
    fn varint(b: &mut &[u8]) -> u64 {
        let mut v = 0u64;
        let mut shift = 0;
        while let Some((&x, rest)) = b.split_first() {
            *b = rest;
            v |= u64::from(x & 0x7f) << shift;
            if x & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        v
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let key = varint(&mut b);
        match key & 7 {
            0 => {
                varint(&mut b);
            }
            1 => b = &b[8..],
            5 => b = &b[4..],
            2 => {
                let len = usize::try_from(varint(&mut b)).expect("length");
                out.push((key >> 3, &b[..len]));
                b = &b[len..];
            }
            other => panic!("unexpected wire type {other}"),
        }
    }
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// (name, schema bytes) of a gnostic NamedSchema list.
fn named(b: &[u8]) -> Vec<(String, &[u8])> {
    fields(b)
        .into_iter()
        .filter(|(f, _)| *f == 1)
        .map(|(_, ns)| {
            let fs = fields(ns);
            let name = fs
                .iter()
                .find(|(f, _)| *f == 1)
                .map(|(_, v)| text(v))
                .unwrap_or_default();
            let value = fs
                .iter()
                .find(|(f, _)| *f == 2)
                .map(|(_, v)| *v)
                .unwrap_or_default();
            (name, value)
        })
        .collect()
}

/// The x-kubernetes-* extensions of a Schema (field 31: NamedAny{name, value: Any{yaml=2}}).
fn extensions(schema: &[u8]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (f, v) in fields(schema) {
        if f != 31 {
            continue;
        }
        let fs = fields(v);
        let name = fs
            .iter()
            .find(|(f, _)| *f == 1)
            .map(|(_, v)| text(v))
            .unwrap_or_default();
        let yaml = fs
            .iter()
            .find(|(f, _)| *f == 2)
            .and_then(|(_, any)| {
                fields(any)
                    .into_iter()
                    .find(|(f, _)| *f == 2)
                    .map(|(_, y)| text(y))
            })
            .unwrap_or_default();
        if name.starts_with("x-kubernetes-") {
            out.insert(name, yaml.trim().to_string());
        }
    }
    out
}

/// Where each modelled OpenAPI definition sits: (definition, apiVersion, kind, path).
const PLACES: &[(&str, &str, &str, &[&str])] = &[
    ("io.k8s.api.core.v1.PodSpec", "v1", "Pod", &["spec"]),
    ("io.k8s.api.core.v1.PodStatus", "v1", "Pod", &["status"]),
    (
        "io.k8s.api.core.v1.Container",
        "v1",
        "Pod",
        &["spec", "containers", "[]"],
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "v1",
        "Pod",
        &["spec", "ephemeralContainers", "[]"],
    ),
    ("io.k8s.api.core.v1.ServiceSpec", "v1", "Service", &["spec"]),
    (
        "io.k8s.api.core.v1.ServiceStatus",
        "v1",
        "Service",
        &["status"],
    ),
    (
        "io.k8s.api.core.v1.ServiceAccount",
        "v1",
        "ServiceAccount",
        &[],
    ),
    (
        "io.k8s.api.core.v1.NamespaceStatus",
        "v1",
        "Namespace",
        &["status"],
    ),
    (
        "io.k8s.api.core.v1.PersistentVolumeClaimStatus",
        "v1",
        "PersistentVolumeClaim",
        &["status"],
    ),
    (
        "io.k8s.api.core.v1.ReplicationControllerSpec",
        "v1",
        "ReplicationController",
        &["spec"],
    ),
    (
        "io.k8s.api.core.v1.ReplicationControllerStatus",
        "v1",
        "ReplicationController",
        &["status"],
    ),
    (
        "io.k8s.api.apps.v1.DeploymentSpec",
        "apps/v1",
        "Deployment",
        &["spec"],
    ),
    (
        "io.k8s.api.apps.v1.DeploymentStatus",
        "apps/v1",
        "Deployment",
        &["status"],
    ),
    (
        "io.k8s.api.apps.v1.DaemonSetStatus",
        "apps/v1",
        "DaemonSet",
        &["status"],
    ),
    (
        "io.k8s.api.apps.v1.ReplicaSetStatus",
        "apps/v1",
        "ReplicaSet",
        &["status"],
    ),
    (
        "io.k8s.api.apps.v1.StatefulSetStatus",
        "apps/v1",
        "StatefulSet",
        &["status"],
    ),
    (
        "io.k8s.api.batch.v1.JobStatus",
        "batch/v1",
        "Job",
        &["status"],
    ),
    (
        "io.k8s.api.policy.v1.PodDisruptionBudgetSpec",
        "policy/v1",
        "PodDisruptionBudget",
        &["spec"],
    ),
    (
        "io.k8s.api.policy.v1.PodDisruptionBudgetStatus",
        "policy/v1",
        "PodDisruptionBudget",
        &["status"],
    ),
    (
        "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus",
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        &["status"],
    ),
    (
        "io.k8s.api.networking.v1.NetworkPolicyStatus",
        "networking.k8s.io/v1",
        "NetworkPolicy",
        &["status"],
    ),
    (
        "io.k8s.api.admissionregistration.v1.MutatingWebhookConfiguration",
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
        &[],
    ),
    (
        "io.k8s.api.admissionregistration.v1.ValidatingWebhookConfiguration",
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
        &[],
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "v1",
        "ConfigMap",
        &["metadata"],
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionStatus",
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        &["status"],
    ),
    (
        "io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIServiceStatus",
        "apiregistration.k8s.io/v1",
        "APIService",
        &["status"],
    ),
];

/// Definitions that are atomic maps, and a list whose items they are.
const ATOMIC_ITEMS: &[(&str, &str, &str, &[&str])] = &[
    (
        "io.k8s.api.core.v1.LocalObjectReference",
        "v1",
        "Pod",
        &["spec", "imagePullSecrets", "[]"],
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference",
        "v1",
        "ConfigMap",
        &["metadata", "ownerReferences", "[]"],
    ),
    (
        "io.k8s.api.core.v1.ObjectReference",
        "v1",
        "ServiceAccount",
        &["secrets", "[]"],
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
        "apps/v1",
        "Deployment",
        &["spec", "selector"],
    ),
];

fn ty_at(api_version: &str, kind: &str, path: &[&str]) -> Ty {
    path.iter()
        .fold(schema::root(api_version, kind), |ty, step| {
            if *step == "[]" {
                ty.item()
            } else {
                ty.member(step)
            }
        })
}

fn describe(ty: Ty) -> String {
    match ty {
        Ty::MapList(l) => format!(
            "MapList(smp={}, ssa={:?}, retainKeys={}, atomicItems={})",
            l.smp_key,
            l.ssa_keys.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            l.retain_keys,
            l.atomic_items
        ),
        Ty::Object(d) => format!("Object(retainKeys={})", d.retain_keys),
        other => format!("{other:?}"),
    }
}

/// What the extensions say, in the table's terms.
fn expected(ext: &BTreeMap<String, String>) -> Option<String> {
    let strategy = ext
        .get("x-kubernetes-patch-strategy")
        .map(String::as_str)
        .unwrap_or("");
    let merge_key = ext.get("x-kubernetes-patch-merge-key").map(String::as_str);
    let list_type = ext.get("x-kubernetes-list-type").map(String::as_str);
    let map_keys: Vec<String> = ext
        .get("x-kubernetes-list-map-keys")
        .map(|y| {
            y.lines()
                .map(|l| l.trim_start_matches("- ").trim().to_string())
                .collect()
        })
        .unwrap_or_default();
    let retain = strategy.contains("retainKeys");
    if strategy.contains("merge") {
        return Some(match merge_key {
            Some(k) => {
                // SSA keys: explicit list-map-keys, else the merge key (schemaconv's rule),
                // none when the list is declared atomic.
                let ssa = match list_type {
                    Some("atomic") => Vec::new(),
                    Some("map") => map_keys,
                    _ => vec![k.to_string()],
                };
                format!("MapList(smp={k}, ssa={ssa:?}, retainKeys={retain}, atomicItems=")
            }
            None => "SetList".to_string(),
        });
    }
    if strategy == "retainKeys" {
        return Some("Object(retainKeys=true)".to_string());
    }
    if strategy == "replace" {
        return Some("ReplacedObject".to_string());
    }
    match (
        list_type,
        ext.get("x-kubernetes-map-type").map(String::as_str),
    ) {
        (Some("set"), _) => Some("SetList".to_string()),
        (Some("atomic"), _) => Some("Unknown".to_string()),
        (_, Some("atomic")) => Some("AtomicObject".to_string()),
        _ => None,
    }
}

#[test]
fn table_matches_the_openapi_extensions_of_a_real_api_server() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/argo-diff/openapiv2.bin");
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let definitions = fields(&data)
        .into_iter()
        .find(|(f, _)| *f == 9)
        .map(|(_, v)| named(v))
        .expect("definitions");
    let mut checked = 0;
    let mut failures = Vec::new();
    for (def, schema_bytes) in &definitions {
        if let Some((_, av, kind, base)) = PLACES.iter().find(|(d, ..)| d == def) {
            let props = fields(schema_bytes)
                .into_iter()
                .find(|(f, _)| *f == 25)
                .map(|(_, v)| named(v))
                .unwrap_or_default();
            for (prop, prop_schema) in props {
                let ext = extensions(prop_schema);
                let Some(want) = expected(&ext) else { continue };
                let mut p: Vec<&str> = base.to_vec();
                p.push(&prop);
                let got = describe(ty_at(av, kind, &p));
                checked += 1;
                if !got.starts_with(&want) {
                    failures.push(format!(
                        "{def}.{prop}: table has {got}, OpenAPI says {want} ({ext:?})"
                    ));
                }
            }
        }
        if let Some((_, av, kind, p)) = ATOMIC_ITEMS.iter().find(|(d, ..)| d == def) {
            assert_eq!(
                extensions(schema_bytes)
                    .get("x-kubernetes-map-type")
                    .map(String::as_str),
                Some("atomic"),
                "{def}"
            );
            checked += 1;
            let got = ty_at(av, kind, p);
            if !got.is_atomic_object() {
                failures.push(format!(
                    "{def} is atomic but the table has {} at {p:?}",
                    describe(got)
                ));
            }
        }
    }
    assert!(checked >= 40, "only {checked} extensions checked");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
