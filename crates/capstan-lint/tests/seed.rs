//! The four manifests of the seed article, and bad input of every kind the lint checks.

use std::path::Path;

use capstan_lint::{Problem, lint_text};

fn lint_fixture(name: &str) -> Vec<Problem> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    lint_text(name, &text).problems
}

fn lines(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("{p}\n")).collect()
}

#[test]
fn seed_appproject_passes() {
    assert_eq!(lines(&lint_fixture("seed-appproject.yaml")), "");
}

#[test]
fn seed_cluster_secret_passes() {
    assert_eq!(lines(&lint_fixture("seed-cluster-secret.yaml")), "");
}

#[test]
fn seed_application_reports_both_placeholders() {
    let problems = lint_fixture("seed-application.yaml");
    assert_eq!(problems.len(), 2, "{}", lines(&problems));
    assert_eq!(
        (
            problems[0].path.as_str(),
            problems[0].line,
            problems[0].column
        ),
        ("spec.source.repoURL", 9, 14)
    );
    assert!(
        problems[0].message.contains("<GIT_REPO>") && problems[0].message.contains("placeholder")
    );
    assert_eq!(
        (
            problems[1].path.as_str(),
            problems[1].line,
            problems[1].column
        ),
        ("spec.source.path", 11, 11)
    );
    assert!(problems[1].message.contains("<GIT_PATH>"));
    insta::assert_snapshot!(lines(&problems));
}

#[test]
fn seed_repository_secret_is_malformed_yaml() {
    let problems = lint_fixture("seed-repository-secret.yaml");
    assert_eq!(problems.len(), 1, "{}", lines(&problems));
    let p = &problems[0];
    assert_eq!(p.path, "<document>");
    assert!(p.message.starts_with("malformed YAML"), "{p}");
    // the problem is where the key's content should have been indented
    assert!((11..=13).contains(&p.line), "{p}");
    insta::assert_snapshot!(lines(&problems));
}

#[test]
fn every_check_reports_file_line_column_and_field() {
    let text = r#"apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: Bad_Name
  annotations:
    argocd.argoproj.io/sync-wave: "two"
    argocd.argoproj.io/sync-options: Prune=false,Replace=maybe
    argocd.argoproj.io/hook: PreSync,Later
spec:
  project: default
  source:
    repoURL: github.com/org/repo
    path: ../escape
  destination:
    server: https://kubernetes.default.svc
    name: in-cluster
  syncPolicy:
    syncOptions: [CreateNamespace=true, CreateNamespaces=true]
    retry: {backoff: {duration: 5 seconds}}
  ignoreDifferences:
  - kind: Deployment
    jsonPointers: [spec/replicas]
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: typed}
spec:
  project: default
  destination: {namespace: x}
  source: {repoURL: "https://x/y", helm: {valueFiles: values.yaml}}
---
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: proj}
spec:
  destinations: [{namespace: x}]
  syncWindows: [{kind: allow, schedule: "every day", duration: 1 hour}]
  roles:
  - name: ci
    policies:
    - p, proj:other:ci, applications, sync, other/*, allow
    - p, proj:proj:ci, applications
---
apiVersion: v1
kind: ConfigMap
metadata: {name: argocd-rbac-cm, namespace: argocd}
data:
  policy.default: role:readonly
  policy.csv: |
    p, role:ci, applications, sync, */*, allow
    g, alice
---
apiVersion: v1
kind: ConfigMap
metadata: {name: argocd-cm}
data:
  timeout.reconciliation: soon
---
apiVersion: v1
kind: Secret
metadata:
  name: c
  labels: {argocd.argoproj.io/secret-type: cluster}
stringData:
  server: https://c
  config: '{"bearerToken": 1'
"#;
    let report = lint_text("bad.yaml", text);
    insta::assert_snapshot!(lines(&report.problems));
    let paths: Vec<&str> = report.problems.iter().map(|p| p.path.as_str()).collect();
    for expected in [
        "metadata.name",
        "metadata.annotations[\"argocd.argoproj.io/sync-wave\"]",
        "metadata.annotations[\"argocd.argoproj.io/sync-options\"]",
        "metadata.annotations[\"argocd.argoproj.io/hook\"]",
        "spec.source.repoURL",
        "spec.source.path",
        "spec.destination",
        "spec.syncPolicy.syncOptions[1]",
        "spec.syncPolicy.retry.backoff.duration",
        "spec.ignoreDifferences[0].jsonPointers[0]",
        "spec.source.helm.valueFiles",
        "spec.destinations[0]",
        "spec.syncWindows[0].schedule",
        "spec.syncWindows[0].duration",
        "spec.roles[0].policies[0]",
        "spec.roles[0].policies[1]",
        "data[\"policy.csv\"]",
        "data[\"timeout.reconciliation\"]",
        "stringData.config",
    ] {
        assert!(
            paths.contains(&expected),
            "{expected} missing from:\n{}",
            lines(&report.problems)
        );
    }
    // the RBAC problem points at the line of the policy that does not parse
    let rbac = report
        .problems
        .iter()
        .find(|p| p.path == "data[\"policy.csv\"]")
        .unwrap();
    assert_eq!(text.lines().nth(rbac.line - 1).unwrap().trim(), "g, alice");
    assert_eq!(report.objects_checked, 6);
}

#[test]
fn non_argo_objects_only_have_annotations_checked() {
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  annotations:\n    argocd.argoproj.io/sync-wave: \"-1\"\n";
    let report = lint_text("cm.yaml", text);
    assert!(report.problems.is_empty());
    assert_eq!(report.objects_checked, 0);
}
