//! Security: secrets in API responses, attacked from outside over HTTP (issue 13). Every secret
//! value is a unique marker; the tests collect every response body an attacker (or a careless
//! admin) can get and assert that no marker appears in any, plain or base64-encoded:
//!
//! - repository credentials (password, SSH key, TLS key, GitHub App key, bearer token, a
//!   password embedded in the repository URL), repo-creds, cluster tokens and TLS keys, the SSO
//!   client secret, argocd-secret's keys - in lists, gets, create answers and errors;
//! - what unauthenticated callers get from `/api/version` and `/api/v1/settings`;
//! - Secret data of a synced Application in managed-resources (also with a server-side diff and
//!   after drift), manifests, the resource tree, events, resource actions and the Application
//!   itself - including inside `last-applied-configuration`, and for an invalid Secret (`data`
//!   that is not a map, `stringData` that is not strings) whose sync fails.

mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;
use serde_json::{Value, json};

/// Fails when any marker (plain or base64) appears in `body`.
fn assert_clean(what: &str, body: &str, markers: &[&str]) {
    for m in markers {
        assert!(!body.contains(m), "{m} leaked in {what}: {body}");
        let b64 = STANDARD.encode(m);
        // base64 of the marker, also when it is not at a 3-byte boundary of a longer value
        assert!(
            !body.contains(&b64[..b64.len() - 4]),
            "{m} (base64) leaked in {what}: {body}"
        );
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_and_settings_never_come_back() {
    let markers = [
        "repo-password-marker-1",
        "repo-url-password-marker-2",
        "repo-ssh-key-marker-3",
        "repo-tls-key-marker-4",
        "repo-github-app-key-marker-5",
        "repo-bearer-marker-6",
        "creds-password-marker-7",
        "cluster-token-marker-8",
        "cluster-key-marker-9",
        "oidc-client-secret-marker-10",
        "webhook-secret-marker-11",
        "creds-url-password-marker-12",
    ];
    let h = Harness::start(Options {
        cm: Some(json!({
            "url": "https://capstan.example",
            "oidc.config": format!(
                "name: Corp\nissuer: https://127.0.0.1:1/issuer\nclientID: capstan\nclientSecret: {}\n",
                markers[9]
            ),
            "passwordPattern": "^.{8,32}$",
            "resource.customizations.health.argoproj.io_Rollout": "hs = {}\nreturn hs\n",
            "resource.exclusions": "- apiGroups: [secret.example]\n  kinds: ['*']\n",
            "ui.bannercontent": "hello",
        })),
        secret: Some(json!({"webhook.github.secret": markers[10]})),
        ..Options::default()
    })
    .await;
    let admin = h.admin_token().await;
    let mut bodies: Vec<(String, String)> = Vec::new();
    let repo_url = format!("https://git-user:{}@127.0.0.1:1/embedded.git", markers[1]);
    let repo = json!({
        "repo": repo_url,
        "username": "git-user",
        "password": markers[0],
        "sshPrivateKey": format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n", markers[2]),
        "tlsClientCertData": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        "tlsClientCertKey": markers[3],
        "githubAppPrivateKey": markers[4],
        "githubAppID": "1",
        "githubAppInstallationID": "2",
        "bearerToken": markers[5],
    });
    let (s, v) = h.post("/api/v1/repositories", &admin, repo.clone()).await;
    assert_eq!(s, 200, "{v}");
    bodies.push(("repository create".into(), v.to_string()));
    let (_, v) = h.post("/api/v1/repositories", &admin, repo).await;
    bodies.push(("repository create again (error)".into(), v.to_string()));
    let (s, v) = h
        .post(
            "/api/v1/repocreds",
            &admin,
            json!({"url": format!("https://u:{}@127.0.0.1:1/org", markers[11]),
                   "username": "u", "password": markers[6]}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    bodies.push(("repocreds create".into(), v.to_string()));
    let server = "https://127.0.0.1:1";
    let (s, v) = h
        .post(
            "/api/v1/clusters",
            &admin,
            json!({"server": server, "name": "remote", "config": {
                "bearerToken": markers[7],
                "password": markers[7],
                "tlsClientConfig": {"insecure": false, "keyData": STANDARD.encode(markers[8]),
                                    "certData": STANDARD.encode("cert")}
            }}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    bodies.push(("cluster create".into(), v.to_string()));
    let paths = [
        "/api/v1/repositories".to_string(),
        "/api/v1/repositories?forceRefresh=true".to_string(),
        format!("/api/v1/repositories/{}", enc(&repo_url)),
        format!(
            "/api/v1/repositories/{}",
            enc("https://127.0.0.1:1/embedded.git")
        ),
        "/api/v1/repocreds".to_string(),
        "/api/v1/clusters".to_string(),
        format!("/api/v1/clusters/{}", enc(server)),
        "/api/v1/settings".to_string(),
        "/api/v1/account".to_string(),
        "/api/v1/account/admin".to_string(),
        "/api/v1/session/userinfo".to_string(),
        "/api/v1/projects".to_string(),
    ];
    for p in &paths {
        let (_, v) = h.get(p, &admin).await;
        bodies.push((format!("GET {p} (admin)"), v.to_string()));
    }
    for p in ["/api/v1/settings", "/api/version", "/auth/login"] {
        let (_, v) = h.get(p, "").await;
        bodies.push((format!("GET {p} (anonymous)"), v.to_string()));
    }
    let metrics = reqwest::get(format!(
        "http://{}/metrics",
        h.server.as_ref().unwrap().metrics_addr.unwrap()
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    bodies.push(("metrics".into(), metrics));
    for (what, body) in &bodies {
        assert_clean(what, body, &markers);
        assert!(
            !body.contains("$2a$") && !body.contains("$2b$"),
            "hash in {what}"
        );
    }

    // what an unauthenticated caller learns: the version only, and the public settings only
    let (_, version) = h.get("/api/version", "").await;
    let keys: Vec<&String> = version.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["Version"], "{version}");
    let (_, settings) = h.get("/api/v1/settings", "").await;
    let text = settings.to_string();
    for word in [
        "passwordPattern",
        "resourceOverrides",
        "Rollout",
        "exclusions",
        "secret.example",
        "clientSecret",
        "helm",
        "kustomizeVersion",
        "GitVersion",
    ] {
        assert!(!text.contains(word), "{word} in public settings: {text}");
    }
    assert_eq!(settings["oidcConfig"]["name"], "Corp");
    // an authenticated caller gets the platform too
    let (_, version) = h.get("/api/version", &admin).await;
    assert!(version["Platform"].is_string(), "{version}");
    h.shutdown().await;
}

const S1: &str = "string-data-marker-a1";
const S2: &str = "data-marker-b2";
const S3: &str = "last-applied-marker-c3";
const S4: &str = "drifted-marker-d4";
const S5: &str = "invalid-string-data-marker-e5";
const S6: &str = "invalid-data-marker-f6";

fn secret_yaml() -> String {
    let applied = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "app-secret", "namespace": "default"},
        "stringData": {"old": S3}});
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-secret\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{}'\ntype: Opaque\nstringData:\n  password: {S1}\ndata:\n  token: {}\n",
        applied,
        STANDARD.encode(S2)
    )
}

async fn settled(h: &Harness, token: &str, name: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (_, app) = h.get(&format!("/api/v1/applications/{name}"), token).await;
        if done(&app) {
            return app;
        }
        assert!(
            Instant::now() < deadline,
            "{name} never settled: {}",
            app["status"]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_data_is_masked_in_every_view() {
    let h = Harness::start(Options {
        controller: true,
        ..Options::default()
    })
    .await;
    let bad = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: bad-secret\nstringData:\n  list: [{S5}]\ndata: {S6}\n"
    );
    let bad2 = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: bad-secret-2\nstringData:\n  nested:\n    inner: {S5}\n"
    );
    h.repo.commit(
        &[
            ("good/secret.yaml", secret_yaml().as_str()),
            (
                "good/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  k: v\n",
            ),
            ("bad/secret.yaml", bad.as_str()),
            ("bad/secret2.yaml", bad2.as_str()),
        ],
        &[],
    );
    let token = h.admin_token().await;
    for (name, path) in [("good", "good"), ("bad", "bad")] {
        let mut app = h.application(name, "default", path, "default");
        app["spec"]["syncPolicy"] = json!({"automated": {}});
        let (s, v) = h.post("/api/v1/applications", &token, app).await;
        assert_eq!(s, 200, "{v}");
    }
    settled(&h, &token, "good", |a| {
        sync_status(a) == "Synced" && health(a) == "Healthy"
    })
    .await;
    // the live Secret really holds the values (so the checks below are meaningful)
    let live = h
        .cluster
        .get("v1", "Secret", Some("default"), "app-secret")
        .await
        .expect("synced Secret");
    assert!(live.to_string().contains(&STANDARD.encode(S1)), "{live}");
    // the bad one settles one way or another (its sync fails or its comparison errors)
    let bad_app = settled(&h, &token, "bad", |a| {
        !a["status"]["conditions"].is_null() || !a["status"]["operationState"].is_null()
    })
    .await;
    // its failure is reported (without the values)
    assert!(
        bad_app["status"].to_string().contains("bad-secret"),
        "{}",
        bad_app["status"]
    );
    tokio::time::sleep(Duration::from_secs(2)).await;

    let markers = [S1, S2, S3, S4, S5, S6];
    let views = |app: &str| {
        vec![
            format!("/api/v1/applications/{app}"),
            format!("/api/v1/applications/{app}/managed-resources"),
            format!("/api/v1/applications/{app}/managed-resources?serverSideDiff=true"),
            format!("/api/v1/applications/{app}/manifests"),
            format!("/api/v1/applications/{app}/resource-tree"),
            format!("/api/v1/applications/{app}/events"),
            format!(
                "/api/v1/applications/{app}/resource/actions?namespace=default&resourceName={app}-secret&version=v1&kind=Secret"
            ),
            format!(
                "/api/v1/applications/{app}/resource?namespace=default&resourceName={app}-secret&version=v1&kind=Secret"
            ),
            "/api/v1/applications".to_string(),
        ]
    };
    let check_all = |round: &'static str| {
        let h = &h;
        let token = &token;
        async move {
            let mut seen = 0;
            for app in ["good", "bad"] {
                for path in views(app) {
                    let (s, v) = h.get(&path, token).await;
                    assert_clean(
                        &format!("{round}: GET {path} ({s})"),
                        &v.to_string(),
                        &markers,
                    );
                    seen += 1;
                }
            }
            seen
        }
    };
    assert_eq!(check_all("synced").await, 18);
    // the live manifest of the Secret is served, masked
    let (s, v) = h
        .get(
            "/api/v1/applications/good/resource?namespace=default&resourceName=app-secret&version=v1&kind=Secret",
            &token,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let manifest: Value = serde_json::from_str(v["manifest"].as_str().unwrap()).unwrap();
    assert_eq!(manifest["data"]["password"], "++++++++", "{manifest}");
    // managed-resources did show the Secret (masked), with its last-applied annotation
    let (_, list) = h
        .get("/api/v1/applications/good/managed-resources", &token)
        .await;
    let text = list.to_string();
    assert!(
        text.contains("app-secret") && text.contains("++++++++"),
        "{text}"
    );

    // drift: the live Secret changes value and gets another last-applied text
    let rt = h.cluster.client.resolve("v1", "Secret").await.unwrap();
    h.cluster
        .client
        .merge_patch(
            &rt,
            Some("default"),
            "app-secret",
            &json!({"data": {"token": STANDARD.encode(S4)}, "metadata": {"annotations": {
                "kubectl.kubernetes.io/last-applied-configuration":
                    json!({"kind": "Secret", "data": {"token": STANDARD.encode(S4)}, "stringData": {"x": S4}}).to_string()
            }}}),
        )
        .await
        .unwrap();
    let (_, list) = h
        .get("/api/v1/applications/good/managed-resources", &token)
        .await;
    let secret = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "Secret")
        .cloned()
        .unwrap();
    assert_eq!(secret["modified"], true, "{secret}");
    check_all("drifted").await;
    h.shutdown().await;
}
