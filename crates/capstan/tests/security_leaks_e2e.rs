//! Secrets never leave through a side door: the whole system (`capstan up`, debug logging) is given
//! Secret manifests in Git (a valid one, one with invalid `stringData`, one carrying its value in
//! `kubectl.kubernetes.io/last-applied-configuration`), a repository whose credentials are in its
//! Secret and embedded in its URL, and then everything an attacker with read access could look at is
//! collected: every log line, the metrics, the Kubernetes events, the Applications' status, and the
//! API's and CLI's answers about applications, resources, diffs, manifests, repositories and settings.
//! No secret value appears in any of it.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use capstan_testkit::{
    Cli, GitRepo, KillOnDrop, free_port, kubectl, poll_blocking, sync_status, up_command,
};
use serde_json::{Value, json};

const SECRET_VALUE: &str = "leakcheck-secret-data-7f3a";
const INVALID_VALUE: &str = "leakcheck-invalid-stringdata-51c2";
const LAST_APPLIED_VALUE: &str = "leakcheck-last-applied-9b0e";
const URL_PASSWORD: &str = "leakcheck-url-password-c4d1";
const REPO_PASSWORD: &str = "leakcheck-repo-password-e82f";
const CLUSTER_TOKEN: &str = "leakcheck-cluster-token-3a9d";
const CLUSTER_PASSWORD: &str = "leakcheck-cluster-password-0be4";
const SSO_SECRET: &str = "leakcheck-sso-client-secret-77c5";
const MARKERS: &[&str] = &[
    SECRET_VALUE,
    INVALID_VALUE,
    LAST_APPLIED_VALUE,
    URL_PASSWORD,
    REPO_PASSWORD,
    CLUSTER_TOKEN,
    CLUSTER_PASSWORD,
    SSO_SECRET,
];

fn app_json(kubeconfig: &Path, name: &str) -> Value {
    let (ok, out) = kubectl(
        kubeconfig,
        &["get", "application", name, "-n", "argocd", "-o", "json"],
        None,
    );
    if ok {
        serde_json::from_str(&out).unwrap_or(Value::Null)
    } else {
        Value::Null
    }
}

/// Waits for `check` every 300 ms, failing after `timeout` with "timed out waiting: WHAT".
fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    poll_blocking(timeout, Duration::from_millis(300), || {
        if check() {
            Ok(())
        } else {
            Err(format!("timed out waiting: {what}"))
        }
    });
}

const SECRETS_YAML: &str = r#"apiVersion: v1
kind: Secret
metadata:
  name: plain
  namespace: guestbook
stringData:
  password: leakcheck-secret-data-7f3a
---
apiVersion: v1
kind: Secret
metadata:
  name: annotated
  namespace: guestbook
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"annotated","namespace":"guestbook"},"stringData":{"token":"leakcheck-last-applied-9b0e"}}'
stringData:
  token: leakcheck-last-applied-9b0e
"#;

const INVALID_YAML: &str = r#"apiVersion: v1
kind: Secret
metadata:
  name: invalid
  namespace: guestbook
stringData:
  token:
    nested: leakcheck-invalid-stringdata-51c2
"#;

#[test]
fn no_secret_value_reaches_logs_metrics_events_status_or_api_answers() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log_path = dir.path().join("capstan.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let port = free_port();
    let api_port = free_port();
    let _up = KillOnDrop::spawn(
        up_command(
            Path::new(env!("CARGO_BIN_EXE_capstan")),
            &data,
            port,
            api_port,
        )
        .env("CAPSTAN_LOG", "debug")
        .stdout(log.try_clone().unwrap())
        .stderr(log),
        "capstan up",
    );
    let kubeconfig = data.join("kubeconfig");
    wait_for(
        "the demo application Synced",
        Duration::from_secs(120),
        || kubeconfig.exists() && sync_status(&app_json(&kubeconfig, "guestbook")) == "Synced",
    );
    let read_log = || {
        let mut text = String::new();
        std::fs::File::open(&log_path)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    };
    let find_password = || {
        read_log().lines().find_map(|l| {
            l.trim()
                .strip_prefix("admin password:")
                .map(|p| p.split_whitespace().next().unwrap_or_default().to_string())
        })
    };
    wait_for(
        "the admin password printed",
        Duration::from_secs(30),
        || find_password().is_some(),
    );
    let password = find_password().unwrap_or_default();

    // Secrets in Git: valid, with a last-applied annotation, and with invalid stringData
    let repo = GitRepo {
        path: data.join("demo-repo"),
    };
    repo.commit(&[("guestbook/secrets.yaml", SECRETS_YAML)], &[]);
    wait_for(
        "the valid Secrets applied",
        Duration::from_secs(120),
        || {
            kubectl(
                &kubeconfig,
                &["get", "secret", "plain", "-n", "guestbook"],
                None,
            )
            .0
        },
    );
    // then one that the API server refuses (a sync's dry run refuses the whole commit)
    let head = repo.commit(&[("guestbook/invalid-secret.yaml", INVALID_YAML)], &[]);
    // a repository whose credentials are in its Secret and in its URL, and an app that uses it
    let leaky_url = format!("https://git:{URL_PASSWORD}@127.0.0.1:9/org/private.git");
    let repo_secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "private-repo", "namespace": "argocd",
                     "labels": {"argocd.argoproj.io/secret-type": "repository"}},
        "stringData": {"type": "git", "url": "https://127.0.0.1:9/org/private.git",
                       "username": "git", "password": REPO_PASSWORD}});
    let (ok, out) = kubectl(
        &kubeconfig,
        &["apply", "-f", "-"],
        Some(&repo_secret.to_string()),
    );
    assert!(ok, "{out}");
    // a cluster with a bearer token (and basic auth) that cannot be reached, and an app deployed to it
    let cluster_secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "far-cluster", "namespace": "argocd",
                     "labels": {"argocd.argoproj.io/secret-type": "cluster"}},
        "stringData": {"name": "far", "server": "https://127.0.0.1:9",
            "config": json!({"bearerToken": CLUSTER_TOKEN, "username": "admin",
                             "password": CLUSTER_PASSWORD,
                             "tlsClientConfig": {"insecure": true}}).to_string()}});
    let (ok, out) = kubectl(
        &kubeconfig,
        &["apply", "-f", "-"],
        Some(&cluster_secret.to_string()),
    );
    assert!(ok, "{out}");
    // an SSO client secret in argocd-secret, referenced from oidc.config
    let oidc = "name: SSO\nissuer: https://127.0.0.1:9/dex\nclientID: capstan\nclientSecret: $oidc.sso.clientSecret\n";
    for (kind, name, patch) in [
        (
            "secret",
            "argocd-secret",
            json!({"stringData": {"oidc.sso.clientSecret": SSO_SECRET}}),
        ),
        (
            "configmap",
            "argocd-cm",
            json!({"data": {"oidc.config": oidc}}),
        ),
    ] {
        let patch = patch.to_string();
        let args = [
            "patch", kind, name, "-n", "argocd", "--type", "merge", "-p", &patch,
        ];
        let (ok, out) = kubectl(&kubeconfig, &args, None);
        assert!(ok, "{out}");
    }
    let far = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "far-app", "namespace": "argocd"},
        "spec": {"project": "default",
                 "source": {"repoURL": repo.url(), "path": "guestbook", "targetRevision": "main"},
                 "destination": {"name": "far", "namespace": "x"}}});
    let (ok, out) = kubectl(&kubeconfig, &["apply", "-f", "-"], Some(&far.to_string()));
    assert!(ok, "{out}");
    for (name, url) in [
        ("leaky-url", leaky_url.as_str()),
        ("leaky-creds", "https://127.0.0.1:9/org/private.git"),
    ] {
        let app = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": name, "namespace": "argocd"},
            "spec": {"project": "default",
                     "source": {"repoURL": url, "path": "x", "targetRevision": "main"},
                     "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"}}});
        let (ok, out) = kubectl(&kubeconfig, &["apply", "-f", "-"], Some(&app.to_string()));
        assert!(ok, "{out}");
    }
    // the commit is synced (the invalid Secret fails) and both leaky apps report their error
    wait_for(
        "the Secret commit's sync finished and the repository errors are reported",
        Duration::from_secs(120),
        || {
            let g = app_json(&kubeconfig, "guestbook");
            // the invalid Secret's apply has failed (automated sync keeps retrying it)
            let synced_head = g["status"]["operationState"]["syncResult"]["revision"] == head
                && g["status"]["operationState"]["syncResult"]["resources"]
                    .as_array()
                    .is_some_and(|rs| {
                        rs.iter()
                            .any(|r| r["name"] == "invalid" && r["status"] == "SyncFailed")
                    });
            let errored = |n: &str| {
                app_json(&kubeconfig, n)["status"]["conditions"]
                    .as_array()
                    .is_some_and(|c| !c.is_empty())
            };
            synced_head && errored("leaky-url") && errored("leaky-creds") && errored("far-app")
        },
    );

    // everything a reader could look at
    let http = reqwest::blocking::Client::new();
    let api = format!("http://127.0.0.1:{api_port}");
    let token = http
        .post(format!("{api}/api/v1/session"))
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut collected: Vec<(String, String)> = Vec::new();
    let secret_query = |name: &str| {
        format!("resourceName={name}&namespace=guestbook&kind=Secret&group=&version=v1")
    };
    for path in [
        "/api/v1/applications".to_string(),
        "/api/v1/applications/guestbook".to_string(),
        "/api/v1/applications/guestbook/managed-resources".to_string(),
        "/api/v1/applications/guestbook/resource-tree".to_string(),
        "/api/v1/applications/guestbook/manifests".to_string(),
        "/api/v1/applications/guestbook/events".to_string(),
        "/api/v1/applications/guestbook/syncwindows".to_string(),
        format!(
            "/api/v1/applications/guestbook/resource?{}",
            secret_query("plain")
        ),
        format!(
            "/api/v1/applications/guestbook/resource?{}",
            secret_query("annotated")
        ),
        "/api/v1/applications/guestbook/events?resourceName=invalid&resourceNamespace=guestbook"
            .to_string(),
        "/api/v1/applications/leaky-url".to_string(),
        "/api/v1/applications/leaky-creds".to_string(),
        "/api/v1/repositories".to_string(),
        "/api/v1/repocreds".to_string(),
        "/api/v1/clusters".to_string(),
        "/api/v1/settings".to_string(),
        "/api/v1/projects/default/detailed".to_string(),
        "/metrics".to_string(),
    ] {
        let r = http
            .get(format!("{api}{path}"))
            .bearer_auth(&token)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        collected.push((format!("GET {path} ({status})"), r.text().unwrap()));
    }
    // the CLI's views
    let capstan = Cli::new(env!("CARGO_BIN_EXE_capstan"), dir.path().join("config"))
        .home(dir.path())
        .log(None);
    let cli = |args: &[&str]| capstan.run_blocking(args).combined();
    let login = cli(&[
        "login",
        &api,
        "--username",
        "admin",
        "--password",
        &password,
    ]);
    collected.push(("capstan login".into(), login));
    for args in [
        &["app", "get", "guestbook", "-o", "json"][..],
        &["app", "diff", "guestbook"],
        &["app", "manifests", "guestbook"],
        &["app", "get", "leaky-url"],
        &["app", "get", "leaky-creds"],
        &["app", "get", "far-app"],
        &["cluster", "list", "-o", "json"],
        &["cluster", "get", "far", "-o", "json"],
        &["repo", "list", "-o", "json"],
    ] {
        collected.push((format!("capstan {}", args.join(" ")), cli(args)));
    }
    // the cluster's own record of what happened
    for args in [
        &["get", "events", "-A", "-o", "json"][..],
        &["get", "applications", "-n", "argocd", "-o", "json"],
    ] {
        collected.push((
            format!("kubectl {}", args.join(" ")),
            kubectl(&kubeconfig, args, None).1,
        ));
    }
    // let a few more reconciliations log what they log
    std::thread::sleep(Duration::from_secs(3));
    collected.push(("capstan up's log (debug)".into(), read_log()));

    // the checks are real: the Secret exists in the cluster with its value, the errors are there
    let (ok, out) = kubectl(
        &kubeconfig,
        &[
            "get",
            "secret",
            "plain",
            "-n",
            "guestbook",
            "-o",
            "jsonpath={.data.password}",
        ],
        None,
    );
    assert!(
        ok && !out.is_empty(),
        "the valid Secret was not applied: {out}"
    );
    let everything: String = collected.iter().map(|(_, t)| t.as_str()).collect();
    assert!(
        everything.contains("127.0.0.1:9"),
        "the repository errors were not collected"
    );
    // the live and desired Secret were read through the API (masked)
    let managed: Value = collected
        .iter()
        .find(|(s, _)| s.contains("/managed-resources"))
        .and_then(|(_, t)| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null);
    let plain = managed["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["name"] == "plain"))
        .cloned()
        .unwrap_or(Value::Null);
    for state in ["liveState", "targetState"] {
        assert!(
            plain[state]
                .as_str()
                .is_some_and(|s| s.contains("password")),
            "managed-resources has no {state} of Secret plain: {plain}"
        );
    }
    let g = app_json(&kubeconfig, "guestbook");
    let invalid = g["status"]["operationState"]["syncResult"]["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["name"] == "invalid").cloned())
        .unwrap_or(Value::Null);
    assert!(
        invalid["message"].as_str().is_some_and(|m| !m.is_empty()) && invalid["status"] != "Synced",
        "the invalid Secret's failure was not reported: {}",
        g["status"]["operationState"]
    );
    eprintln!("invalid Secret reported as: {invalid}");

    // The Application's own spec holds the URL as its author wrote it, and views of the Application
    // object echo that field verbatim (as Argo CD's do); every other place must not contain it.
    let spec_field = [
        format!("\"repoURL\":\"{leaky_url}\""),
        format!("\\\"repoURL\\\":\\\"{leaky_url}\\\""),
        format!("\"repoURL\": \"{leaky_url}\""),
    ];
    let mut leaks = Vec::new();
    for (source, text) in &collected {
        let mut text = text.clone();
        for field in &spec_field {
            text = text.replace(field.as_str(), "\"repoURL\":\"<the spec field>\"");
        }
        if source.starts_with("capstan app get leaky-url") {
            text = text
                .lines()
                .map(|l| {
                    if l.trim_start().trim_start_matches("- ").starts_with("Repo:") {
                        "Repo: <the spec field>"
                    } else {
                        l
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
        }
        let text = &text;
        for marker in MARKERS {
            if let Some(at) = text.find(marker) {
                let start = text[..at]
                    .char_indices()
                    .rev()
                    .nth(150)
                    .map_or(0, |(i, _)| i);
                let end = (at + marker.len() + 100).min(text.len());
                let end = (end..=text.len())
                    .find(|i| text.is_char_boundary(*i))
                    .unwrap_or(text.len());
                leaks.push(format!("{marker} in {source}: ...{}...", &text[start..end]));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "secret values leaked:\n{}",
        leaks.join("\n\n")
    );
}
