//! ServiceAccount tokens over TLS with token authentication, through kubectl: the token controller
//! fills a `kubernetes.io/service-account-token` Secret, the token authenticates, and deleting the
//! Secret (or the ServiceAccount) makes it fail with 401; `kubectl create token` (TokenRequest) works.

mod common;

use std::time::Duration;

use base64::Engine;
use common::TestServer;

fn decode(b64: &str) -> String {
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .unwrap(),
    )
    .unwrap()
}

/// A kubeconfig like the server's own, with `token` instead of the admin token.
fn kubeconfig_with(s: &TestServer, name: &str, token: &str) -> String {
    let kc = common::read(&s.kubeconfig());
    let kc = kc.replace(
        "token: \"s3cret\"",
        &format!("token: {}", serde_json::json!(token)),
    );
    s.file(name, &kc).display().to_string()
}

async fn populated_token(s: &TestServer, secret: &str) -> String {
    let start = std::time::Instant::now();
    loop {
        let out = s
            .kubectl(&[
                "get",
                "secret",
                secret,
                "-n",
                "kube-system",
                "-o",
                "jsonpath={.data.token}",
            ])
            .await;
        let b64 = String::from_utf8_lossy(&out.stdout).to_string();
        if out.status.success() && !b64.trim().is_empty() {
            return decode(&b64);
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "token of {secret} never populated"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_account_tokens_authenticate_until_revoked() {
    let s = TestServer::start_with(|c| {
        c.tls = true;
        c.token = Some("s3cret".into());
    })
    .await;
    s.ok(&["create", "serviceaccount", "mgr", "-n", "kube-system"])
        .await;
    let secret = s.file(
        "secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: mgr-long-lived-token\n  namespace: kube-system\n  annotations:\n    kubernetes.io/service-account.name: mgr\ntype: kubernetes.io/service-account-token\n",
    );
    s.ok(&["apply", "-f", secret.to_str().unwrap()]).await;
    let token = populated_token(&s, "mgr-long-lived-token").await;
    let ca = s
        .ok(&[
            "get",
            "secret",
            "mgr-long-lived-token",
            "-n",
            "kube-system",
            "-o",
            "jsonpath={.data.ca\\.crt}",
        ])
        .await;
    assert_eq!(decode(&ca), common::read(&s.data_dir().join("tls.crt")));
    let ns = s
        .ok(&[
            "get",
            "secret",
            "mgr-long-lived-token",
            "-n",
            "kube-system",
            "-o",
            "jsonpath={.data.namespace}",
        ])
        .await;
    assert_eq!(decode(&ns), "kube-system");

    // the ServiceAccount token authenticates (nothing more is checked: no RBAC here)
    let as_sa = kubeconfig_with(&s, "kc-sa", &token);
    let out = s
        .ok(&["--kubeconfig", &as_sa, "get", "namespaces", "-o", "name"])
        .await;
    assert!(out.contains("namespace/kube-system"), "{out}");
    let wrong = kubeconfig_with(&s, "kc-wrong", &format!("{token}x"));
    let err = s
        .fails(&["--kubeconfig", &wrong, "get", "namespaces"])
        .await;
    assert!(
        err.contains("Unauthorized") || err.contains("credentials"),
        "{err}"
    );

    // a bound token from TokenRequest (`kubectl create token`)
    let bound = s
        .ok(&[
            "create",
            "token",
            "mgr",
            "-n",
            "kube-system",
            "--duration",
            "15m",
        ])
        .await;
    let as_bound = kubeconfig_with(&s, "kc-bound", bound.trim());
    s.ok(&["--kubeconfig", &as_bound, "get", "configmaps", "-A"])
        .await;

    // deleting the token Secret revokes the Secret's token only
    s.ok(&[
        "delete",
        "secret",
        "mgr-long-lived-token",
        "-n",
        "kube-system",
    ])
    .await;
    let err = s
        .fails(&["--kubeconfig", &as_sa, "get", "namespaces"])
        .await;
    assert!(
        err.contains("Unauthorized") || err.contains("credentials"),
        "{err}"
    );
    s.ok(&["--kubeconfig", &as_bound, "get", "namespaces"])
        .await;

    // deleting the ServiceAccount revokes every token of it, and its token Secrets go too
    s.ok(&["apply", "-f", secret.to_str().unwrap()]).await;
    let second = populated_token(&s, "mgr-long-lived-token").await;
    assert_ne!(second, token, "a new Secret gets a new token");
    let as_second = kubeconfig_with(&s, "kc-second", &second);
    s.ok(&["--kubeconfig", &as_second, "get", "namespaces"])
        .await;
    s.ok(&["delete", "serviceaccount", "mgr", "-n", "kube-system"])
        .await;
    for kc in [&as_second, &as_bound] {
        let err = s.fails(&["--kubeconfig", kc, "get", "namespaces"]).await;
        assert!(
            err.contains("Unauthorized") || err.contains("credentials"),
            "{err}"
        );
    }
    common::eventually(
        "the token Secret of the deleted ServiceAccount is deleted",
        Duration::from_secs(20),
        || async {
            !s.kubectl(&["get", "secret", "mgr-long-lived-token", "-n", "kube-system"])
                .await
                .status
                .success()
        },
    )
    .await;
}
