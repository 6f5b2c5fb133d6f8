//! deploy/crds/ is exactly what the types generate, and the schemas are structural.

use std::path::Path;

use serde_json::Value;

fn deploy_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds")
}

#[test]
fn checked_in_crds_are_up_to_date() {
    for crd in capstan_crds::crds() {
        let path = deploy_dir().join(crd.file_name);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == capstan_crds::render(&crd),
            "{} is out of date with crates/capstan-types; run `cargo run -p capstan -- admin crds --write deploy/crds`",
            path.display()
        );
    }
}

/// Kubernetes' structural schema rules that matter here: no $ref/anyOf/oneOf, every node typed unless it
/// preserves unknown fields or is int-or-string, properties and additionalProperties never together.
fn check_structural(schema: &Value, path: &str, problems: &mut Vec<String>) {
    let Value::Object(map) = schema else {
        problems.push(format!("{path}: not an object"));
        return;
    };
    for forbidden in ["$ref", "anyOf", "oneOf", "allOf", "nullable"] {
        if map.contains_key(forbidden) {
            problems.push(format!("{path}: has {forbidden}"));
        }
    }
    let preserve = map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    let int_or_string = map.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    if !map.contains_key("type") && !preserve && !int_or_string {
        problems.push(format!("{path}: no type"));
    }
    if map.contains_key("properties") && map.contains_key("additionalProperties") {
        problems.push(format!("{path}: properties with additionalProperties"));
    }
    if let Some(Value::Object(props)) = map.get("properties") {
        for (k, v) in props {
            check_structural(v, &format!("{path}.{k}"), problems);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(v @ Value::Object(_)) = map.get(key) {
            check_structural(v, &format!("{path}[{key}]"), problems);
        }
    }
}

#[test]
fn schemas_are_structural_and_keep_unknown_fields() {
    for crd in capstan_crds::crds() {
        let schema = &crd.object["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        let mut problems = Vec::new();
        check_structural(schema, crd.file_name, &mut problems);
        assert!(problems.is_empty(), "{problems:#?}");
        assert_eq!(
            schema["properties"]["spec"]["x-kubernetes-preserve-unknown-fields"],
            Value::Bool(true)
        );
        assert_eq!(schema["properties"]["metadata"]["type"], "object");
    }
    let app = &capstan_crds::crds()[0].object;
    let spec = &app["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    assert!(
        spec["required"]
            .as_array()
            .unwrap()
            .contains(&Value::String("destination".into()))
    );
    assert_eq!(
        spec["properties"]["source"]["properties"]["repoURL"]["type"],
        "string"
    );
    let replicas = &spec["properties"]["source"]["properties"]["kustomize"]["properties"]["replicas"]
        ["items"]["properties"]["count"];
    assert_eq!(replicas["x-kubernetes-int-or-string"], Value::Bool(true));
}

#[test]
fn install_manifest_is_up_to_date() {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    let components = std::fs::read_to_string(deploy.join("components.yaml")).unwrap();
    let on_disk = std::fs::read_to_string(deploy.join("install.yaml")).unwrap_or_default();
    assert!(
        on_disk == capstan_crds::install_manifest(&components),
        "deploy/install.yaml is out of date; run `cargo run -p capstan -- admin install-manifest > deploy/install.yaml`"
    );
    // it parses, and every object is namespaced into argocd or cluster-scoped
    let docs = capstan_yaml::parse_stream(&on_disk).unwrap();
    assert!(docs.len() > 20);
}
