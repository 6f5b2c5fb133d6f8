//! A read/write round trip of Argo CD manifests loses no field, including fields this version does not
//! know; Argo CD's own test manifests are read, or rejected with a message naming the field.

use std::path::{Path, PathBuf};

use capstan_types::{AppProject, Application, ApplicationSet, decode};
use serde_json::Value;

fn corpora() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora")
}

/// Removes explicit nulls, which carry no data (`helm: null` and an absent `helm` mean the same).
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

fn round_trip(doc: &Value) -> Result<Value, String> {
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
    let written = match kind {
        "Application" => {
            serde_json::to_value(decode::<Application>(doc).map_err(|e| e.to_string())?)
        }
        "AppProject" => serde_json::to_value(decode::<AppProject>(doc).map_err(|e| e.to_string())?),
        "ApplicationSet" => {
            serde_json::to_value(decode::<ApplicationSet>(doc).map_err(|e| e.to_string())?)
        }
        other => return Err(format!("not an Argo CD kind: {other}")),
    };
    written.map_err(|e| e.to_string())
}

fn read_yaml(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    capstan_yaml::parse_stream(&text)
        .unwrap()
        .into_iter()
        .map(|d| d.value)
        .collect()
}

#[test]
fn kitchen_sink_round_trip_keeps_every_field() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kitchen-sink.yaml");
    for doc in read_yaml(&path) {
        let written = round_trip(&doc).unwrap();
        pretty_assertions::assert_eq!(without_nulls(&doc), written);
        // and the unknown fields really are in the typed value
        let app: Application = decode(&doc).unwrap();
        assert!(app.spec.extra.contains_key("futureSpecField"));
        assert!(app.metadata.extra.contains_key("futureMeta"));
    }
}

#[test]
fn project_and_applicationset_round_trip() {
    let text = r#"
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: p, namespace: argocd}
spec:
  description: d
  sourceRepos: ['*']
  sourceNamespaces: [team-*]
  destinations: [{namespace: default, server: "https://kubernetes.default.svc"}, {name: prod, namespace: "*"}]
  clusterResourceWhitelist: [{group: '', kind: Namespace}]
  clusterResourceBlacklist: [{group: '*', kind: '*'}]
  namespaceResourceBlacklist: [{group: '', kind: ResourceQuota}]
  namespaceResourceWhitelist: [{group: apps, kind: Deployment}]
  orphanedResources: {warn: true, ignore: [{kind: ConfigMap, name: x}]}
  roles:
  - name: ci
    description: CI
    policies: ["p, proj:p:ci, applications, sync, p/*, allow"]
    groups: [my-org:team]
    jwtTokens: [{iat: 1700000000, exp: 1800000000, id: abc}]
  syncWindows:
  - {kind: allow, schedule: "10 1 * * *", duration: 1h, applications: ["*"], manualSync: true, timeZone: UTC}
  signatureKeys: [{keyID: 4AEE18F83AFDEB23}]
  permitOnlyProjectScopedClusters: false
  destinationServiceAccounts: [{server: "https://kubernetes.default.svc", namespace: x, defaultServiceAccount: sa}]
  futureProject: 1
status:
  jwtTokensByRole: {ci: {items: [{iat: 1700000000, id: abc}]}}
---
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: set}
spec:
  goTemplate: true
  goTemplateOptions: ["missingkey=error"]
  generators:
  - list: {elements: [{cluster: a, url: "https://a"}]}
  - matrix: {generators: [{git: {repoURL: "https://x", revision: HEAD, directories: [{path: "apps/*"}]}}, {clusters: {}}]}
  template:
    metadata: {name: '{{.cluster}}-app', labels: {a: b}}
    spec:
      project: default
      source: {repoURL: "https://x", path: '{{.path.path}}', targetRevision: HEAD}
      destination: {server: '{{.url}}', namespace: x}
  syncPolicy: {preserveResourcesOnDeletion: true, applicationsSync: create-update}
  strategy: {type: RollingSync, rollingSync: {steps: [{matchExpressions: [{key: env, operator: In, values: [dev]}]}]}}
  preservedFields: {annotations: [a], labels: [b]}
  templatePatch: |
    spec: {}
  ignoreApplicationDifferences: [{jsonPointers: [/spec/source/targetRevision]}]
  futureSet: true
"#;
    for doc in capstan_yaml::parse_stream(text).unwrap() {
        let written = round_trip(&doc.value).unwrap();
        pretty_assertions::assert_eq!(without_nulls(&doc.value), written);
    }
}

#[test]
fn seed_project_round_trips() {
    let text = std::fs::read_to_string(corpora().join("../seed/000_9cb2c646a3452b4d.txt")).unwrap();
    let start = text
        .find("apiVersion: argoproj.io/v1alpha1\nkind: AppProject")
        .unwrap();
    let end = start + text[start..].find("\n\n").unwrap();
    let docs = capstan_yaml::parse_stream(&text[start..end]).unwrap();
    let project: AppProject = decode(&docs[0].value).unwrap();
    assert_eq!(
        project.spec.source_repos.as_deref(),
        Some(&["*".to_string()][..])
    );
    assert_eq!(
        round_trip(&docs[0].value).unwrap(),
        without_nulls(&docs[0].value)
    );
}

/// Every Application/AppProject/ApplicationSet document in Argo CD's e2e test data: read and written back
/// unchanged, or rejected with an error that names a field.
#[test]
fn e2e_corpus_manifests_read_or_rejected_with_field() {
    let mut read = 0;
    let mut rejected = Vec::new();
    let mut stack = vec![corpora().join("argo-e2e-apps")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default();
            if !matches!(ext, "yaml" | "yml" | "json") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(docs) = capstan_yaml::parse_stream(&text) else {
                continue;
            };
            for doc in docs {
                let is_argo = doc.value.get("apiVersion").and_then(Value::as_str)
                    == Some("argoproj.io/v1alpha1")
                    && matches!(
                        doc.value.get("kind").and_then(Value::as_str),
                        Some("Application" | "AppProject" | "ApplicationSet")
                    );
                if !is_argo {
                    continue;
                }
                match round_trip(&doc.value) {
                    Ok(written) => {
                        assert_eq!(written, without_nulls(&doc.value), "{}", path.display());
                        read += 1;
                    }
                    Err(message) => {
                        // the message starts with the path of the field at fault
                        let (field, _) = message.split_once(": ").unwrap();
                        assert!(
                            field.starts_with("metadata.") || field.starts_with("spec."),
                            "{}: {message}",
                            path.display()
                        );
                        rejected.push(format!("{}: {message}", path.display()));
                    }
                }
            }
        }
    }
    // self-managed-app/resources.yaml is a real Application; the declarative-apps ones are Go templates
    // (`name: {{.Name}}`), which are not valid manifests until rendered.
    assert!(read >= 1, "read {read}, rejected {rejected:?}");
    assert_eq!(rejected.len(), 2, "{rejected:#?}");
    assert!(
        rejected
            .iter()
            .all(|r| r.contains("declarative-apps") && r.contains("metadata.name")),
        "{rejected:#?}"
    );
}

/// Inserts an unknown field into every object of the kitchen sink, one at a time: each must survive.
#[test]
fn unknown_field_anywhere_survives() {
    fn object_pointers(value: &Value, pointer: String, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                out.push(pointer.clone());
                for (k, v) in map {
                    object_pointers(
                        v,
                        format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1")),
                        out,
                    );
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    object_pointers(v, format!("{pointer}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kitchen-sink.yaml");
    let doc = read_yaml(&path).remove(0);
    let mut pointers = Vec::new();
    object_pointers(&doc, String::new(), &mut pointers);
    let mut kept = 0;
    for pointer in &pointers {
        let mut changed = doc.clone();
        let Some(Value::Object(target)) = changed.pointer_mut(pointer) else {
            unreachable!()
        };
        target.insert("zzFromTheFuture".into(), Value::String("keep me".into()));
        match round_trip(&changed) {
            Ok(written) => {
                assert_eq!(
                    written,
                    without_nulls(&changed),
                    "unknown field lost at {pointer}"
                );
                kept += 1;
            }
            // maps with typed values (e.g. kustomize patch options, map<string,bool>) reject a string
            Err(message) => assert!(message.contains("zzFromTheFuture"), "{pointer}: {message}"),
        }
    }
    assert!(
        kept * 10 >= pointers.len() * 9,
        "kept {kept} of {}",
        pointers.len()
    );
}
