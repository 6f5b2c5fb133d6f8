//! Authentication over HTTP: wrong passwords (401, counted, slowed down, then refused), the same
//! answer for unknown users, tampered / alg:none / expired tokens, sessions ended by a password change
//! or a disabled account, API keys, the cookie, and secrets never returned.

mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use reqwest::Method;
use serde_json::{Value, json};

async fn harness() -> Harness {
    Harness::start(Options {
        cm: Some(json!({
            "accounts.carol": "login",
            "accounts.ci": "apiKey",
        })),
        rbac: Some(json!({"policy.default": "role:readonly"})),
        ..Options::default()
    })
    .await
}

async fn metric(h: &Harness, line: &str) -> u64 {
    let text = reqwest::get(format!(
        "http://{}/metrics",
        h.server.as_ref().unwrap().metrics_addr.unwrap()
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(line).map(|v| v.trim().parse().unwrap()))
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_are_counted_slowed_down_and_then_refused() {
    let h = harness().await;
    let admin = h.admin_token().await;
    h.set_password(&admin, "carol", "carol-password").await;

    let r = h.login("carol", "wrong").await;
    assert_eq!(r.status(), 401);
    let wrong: Value = r.json().await.unwrap();
    let r = h.login("nobody", "wrong").await;
    assert_eq!(r.status(), 401);
    let unknown: Value = r.json().await.unwrap();
    assert_eq!(wrong, unknown, "unknown users get the same answer");
    assert_eq!(wrong["message"], "Invalid username or password");
    assert_eq!(
        metric(&h, "argocd_login_request_total{status=\"failure\"}").await,
        2
    );

    // failures slow down: the answer to the n-th failure (counted per user and per address, here
    // 3 to 6 from this address) waits 50 ms * 2^(n-1), at most 400 ms with the test limits
    let mut took = Vec::new();
    for _ in 0..4 {
        let started = Instant::now();
        assert_eq!(h.login("carol", "wrong").await.status(), 401);
        took.push(started.elapsed());
    }
    for (i, min) in [200u64, 400, 400, 400].iter().enumerate() {
        assert!(took[i] >= Duration::from_millis(*min), "{took:?}");
    }
    // the fifth failure locks carol out: even the right password is refused now
    let r = h.login("carol", "carol-password").await;
    assert_eq!(r.status(), 429);
    let v: Value = r.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().contains("carol"), "{v}");
    // a flood of random user names does not reset carol's count
    for i in 0..30 {
        h.login(&format!("random-{i}"), "x").await;
    }
    assert_eq!(h.login("carol", "carol-password").await.status(), 429);
    h.shutdown().await;
}

fn forge(token: &str, f: impl Fn(&mut Value)) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    f(&mut claims);
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    format!("{}.{}.{}", parts[0], body, parts[2])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_tampered_expired_revoked_and_after_password_change() {
    let h = harness().await;
    let admin = h.admin_token().await;
    let (s, _) = h.get("/api/v1/account", &admin).await;
    assert_eq!(s, 200);

    // tampered claims, alg none, garbage
    let tampered = forge(&admin, |c| c["sub"] = json!("root"));
    let extended = forge(&admin, |c| {
        c["exp"] = json!(c["exp"].as_i64().unwrap() + 1_000_000)
    });
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        admin.split('.').nth(1).unwrap()
    );
    for bad in [
        tampered.as_str(),
        extended.as_str(),
        none.as_str(),
        "garbage",
    ] {
        let (s, v) = h.get("/api/v1/applications", bad).await;
        assert_eq!(s, 401, "{bad}: {v}");
    }

    // the cookie works like the header
    let r = h
        .http
        .get(format!("{}/api/v1/applications", h.url))
        .header("cookie", format!("other=1; argocd.token={admin}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // a state-changing request by cookie needs this server's Origin (CSRF protection)
    let cookie_post = |origin: Option<String>| {
        let mut req = h
            .http
            .post(format!("{}/api/v1/applications/none/sync", h.url))
            .header("cookie", format!("argocd.token={admin}"))
            .json(&json!({}));
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    let r = cookie_post(Some("https://evil.example".into()))
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("CSRF"));
    assert_eq!(cookie_post(None).await.unwrap().status(), 403);
    // from the server's own origin it passes the check (and the application does not exist)
    assert_eq!(
        cookie_post(Some(h.url.clone())).await.unwrap().status(),
        404
    );

    // API keys: an account with apiKey gets one, it expires, and it can be revoked
    let (s, v) = h
        .post(
            "/api/v1/account/ci/token",
            &admin,
            json!({"expiresIn": 1, "id": "short"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let short = v["token"].as_str().unwrap().to_string();
    let (s, v) = h
        .post("/api/v1/account/ci/token", &admin, json!({"id": "long"}))
        .await;
    assert_eq!(s, 200, "{v}");
    let long = v["token"].as_str().unwrap().to_string();
    assert_eq!(h.get("/api/v1/applications", &long).await.0, 200);
    // ci may not log in with a password (no login capability)
    assert_eq!(h.login("ci", "whatever").await.status(), 401);
    let (_, acct) = h.get("/api/v1/account/ci", &admin).await;
    assert_eq!(acct["tokens"].as_array().unwrap().len(), 2);
    assert!(!acct.to_string().contains(&long), "token returned");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(h.get("/api/v1/applications", &short).await.0, 401);
    let (s, _) = h
        .call(
            Method::DELETE,
            "/api/v1/account/ci/token/long",
            &admin,
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(h.get("/api/v1/applications", &long).await.0, 401);

    // a password change ends every earlier session
    let pw = h.initial_password().await;
    let (s, v) = h
        .call(
            Method::PUT,
            "/api/v1/account/password",
            &admin,
            Some(json!({"currentPassword": "wrong", "newPassword": "new-admin-password"})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = h
        .call(
            Method::PUT,
            "/api/v1/account/password",
            &admin,
            Some(json!({"currentPassword": pw, "newPassword": "new-admin-password"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = h.get("/api/v1/applications", &admin).await;
    assert_eq!(s, 401, "{v}");
    assert_eq!(h.login("admin", &pw).await.status(), 401);
    let fresh = h.token_of("admin", "new-admin-password").await;
    assert_eq!(h.get("/api/v1/applications", &fresh).await.0, 200);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_accounts_lose_their_sessions_and_secrets_stay_hidden() {
    let h = harness().await;
    let admin = h.admin_token().await;
    h.set_password(&admin, "carol", "carol-password").await;
    let carol = h.token_of("carol", "carol-password").await;
    assert_eq!(h.get("/api/v1/applications", &carol).await.0, 200);
    h.cluster
        .apply(&config_map(
            "argocd-cm",
            json!({"accounts.carol": "login", "accounts.carol.enabled": "false", "accounts.ci": "apiKey"}),
        ))
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.get("/api/v1/applications", &carol).await.0 != 401 {
        assert!(Instant::now() < deadline, "disabled account still accepted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // cluster credentials and settings never come back
    let (s, v) = h
        .post(
            "/api/v1/clusters",
            &admin,
            json!({"server": "https://remote.example:6443", "name": "remote",
                   "config": {"bearerToken": "cluster-token-secret", "tlsClientConfig": {"insecure": true}}}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, list) = h.get("/api/v1/clusters", &admin).await;
    assert_eq!(s, 200);
    let servers: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["server"].as_str().unwrap())
        .collect();
    assert_eq!(
        servers,
        [
            "https://kubernetes.default.svc",
            "https://remote.example:6443"
        ]
    );
    let (_, creds) = h
        .post(
            "/api/v1/repocreds",
            &admin,
            json!({"url": "https://github.com/org", "username": "u", "password": "creds-password-secret"}),
        )
        .await;
    let (_, creds_list) = h.get("/api/v1/repocreds", &admin).await;
    let (_, settings) = h.get("/api/v1/settings", "").await;
    let (_, version) = h.get("/api/version", "").await;
    let (_, accounts) = h.get("/api/v1/account", &admin).await;
    for body in [
        &v,
        &list,
        &creds,
        &creds_list,
        &settings,
        &version,
        &accounts,
    ] {
        let text = body.to_string();
        for secret in ["cluster-token-secret", "creds-password-secret", "$2"] {
            assert!(!text.contains(secret), "{secret} leaked in {text}");
        }
    }
    h.shutdown().await;
}
