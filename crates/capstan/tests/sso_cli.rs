//! `capstan login --sso` against a real OpenID provider (npm `oidc-provider` on loopback, the one the
//! API server's SSO test uses): the CLI listens on a random 127.0.0.1 port, sends the "browser" (this
//! test, acting as the user on the provider's login and consent pages) to the provider with PKCE,
//! exchanges the code for the provider's ID token and stores it; the API server accepts that token and
//! maps the user's group to an RBAC role.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use capstan_testkit::{Cli, Cluster, poll};
use common::start_api_server;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

fn provider_dir() -> PathBuf {
    let dir = std::env::var_os("OIDC_PROVIDER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
                .join(".cache/capstan/oidc")
        });
    if !dir.join("node_modules/oidc-provider/package.json").exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let status = std::process::Command::new("npm")
            .args([
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "oidc-provider@8.8.1",
            ])
            .current_dir(&dir)
            .status()
            .expect("npm runs (node and npm are needed for the SSO test)");
        assert!(status.success(), "npm install oidc-provider failed");
    }
    dir
}

/// Starts the provider; returns the child and the issuer URL.
async fn start_provider() -> (tokio::process::Child, String) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../capstan-server/tests/tools/oidc-provider.js");
    let mut child = tokio::process::Command::new("node")
        .arg(script)
        .arg("http://127.0.0.1:1/auth/callback")
        .env("OIDC_PROVIDER_DIR", provider_dir())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("provider starts in time")
        .unwrap()
        .expect("provider prints its port");
    let port = line.strip_prefix("listening ").expect("listening <port>");
    let issuer = format!("http://127.0.0.1:{port}");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, issuer)
}

fn form_action(html: &str) -> Option<String> {
    let start = html.find("action=\"")? + 8;
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_string())
}

/// Plays the user's browser from the authorization URL until the provider sends it to the CLI's
/// callback, which is requested too; returns the callback's answer.
async fn browse(start: &str, user: &str) -> (u16, String) {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut url = start.to_string();
    for _ in 0..20 {
        let r = browser.get(&url).send().await.unwrap();
        let status = r.status().as_u16();
        if url.starts_with("http://127.0.0.1:") && url.contains("/auth/callback") {
            return (status, r.text().await.unwrap());
        }
        let page = url::Url::parse(&url).unwrap();
        if (300..400).contains(&status) {
            let location = r.headers()["location"].to_str().unwrap().to_string();
            url = page.join(&location).unwrap().to_string();
            continue;
        }
        assert_eq!(status, 200, "{url}");
        let html = r.text().await.unwrap();
        let action = form_action(&html).unwrap_or_else(|| panic!("no form in {html}"));
        let form: Vec<(&str, &str)> = if html.contains("name=\"login\"") {
            vec![("prompt", "login"), ("login", user), ("password", "any")]
        } else {
            vec![("prompt", "consent")]
        };
        let r = browser
            .post(page.join(&action).unwrap())
            .form(&form)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_redirection(), "{}", r.status());
        let location = r.headers()["location"].to_str().unwrap().to_string();
        url = page.join(&location).unwrap().to_string();
    }
    panic!("the provider never sent the browser to the CLI's callback (last URL {url})");
}

/// `capstan login --sso` as `user`; returns the CLI's stdout.
async fn sso_login(cli: &Cli, server: &str, user: &str) -> String {
    let mut child = cli
        .command(&[
            "login",
            server,
            "--plaintext",
            "--sso",
            "--sso-timeout",
            "60",
        ])
        // a browser that opens nothing: this test is the browser
        .env("BROWSER", "true")
        .spawn()
        .expect("capstan runs");
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let auth_url = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), stderr.next_line())
            .await
            .expect("the CLI prints the login URL")
            .unwrap()
            .unwrap_or_else(|| panic!("the CLI ended early: {seen:?}"));
        if let Some(url) = line.strip_prefix("If it does not open, visit: ") {
            break url.to_string();
        }
        seen.push(line);
    };
    let redirect = url::Url::parse(&auth_url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");
    assert!(
        auth_url.contains("code_challenge_method=S256"),
        "{auth_url}"
    );
    let (status, page) = browse(&auth_url, user).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Authentication successful"), "{page}");
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the CLI finishes")
        .unwrap();
    let mut rest = String::new();
    while let Ok(Some(l)) = stderr.next_line().await {
        rest.push_str(&l);
        rest.push('\n');
    }
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {rest}");
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_with_sso_through_the_browser() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(&dir.path().join("api"), Duration::from_millis(300)).await;
    let (mut provider, issuer) = start_provider().await;
    let cm = |name: &str, data: Value| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": name, "namespace": "argocd"}, "data": data})
    };
    cluster
        .apply(&cm(
            "argocd-rbac-cm",
            json!({"policy.csv": "g, devs, role:admin\n"}),
        ))
        .await;
    cluster
        .apply(&cm(
            "argocd-cm",
            json!({"oidc.config": format!(
                "name: Local\nissuer: {issuer}\nclientID: capstan\nclientSecret: unused\ncliClientID: capstan-cli\nrequestedScopes: [openid, email, groups]\n"
            )}),
        ))
        .await;
    let server = start_api_server(&cluster.client, None).await;
    let address = server.addr.to_string();
    let config_dir = dir.path().join("config");
    let cli = Cli::new(env!("CARGO_BIN_EXE_capstan"), &config_dir);

    // alice is in "devs", an admin
    let out = sso_login(&cli, &address, "alice").await;
    assert!(out.contains("'alice' logged in successfully"), "{out}");
    let run = cli
        .run(&["account", "can-i", "create", "projects", "*"])
        .await;
    assert_eq!(run.code, 0, "{} {}", run.stdout, run.stderr);
    assert_eq!(run.stdout.trim(), "yes");
    let run = cli.run(&["app", "list", "-o", "json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    // the stored token is the provider's ID token, for the CLI client
    let config = std::fs::read_to_string(config_dir.join("capstan/config")).unwrap();
    assert!(config.contains("auth-token"), "{config}");

    // bob is in "others": logged in, but without a role
    let out = sso_login(&cli, &address, "bob").await;
    assert!(out.contains("'bob' logged in successfully"), "{out}");
    let run = cli
        .run(&["account", "can-i", "create", "projects", "*"])
        .await;
    assert_eq!(run.stdout.trim(), "no", "{} {}", run.stdout, run.stderr);

    // SSO not configured: one clear line
    let _ = provider.kill().await;
    cluster.apply(&cm("argocd-cm", json!({}))).await;
    poll(
        Duration::from_secs(10),
        Duration::from_millis(100),
        async || {
            let settings: Value = reqwest::get(format!("http://{address}/api/v1/settings"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            match settings.get("oidcConfig") {
                None => Ok(()),
                Some(_) => Err("oidc.config still there".to_string()),
            }
        },
    )
    .await;
    let run = cli.run(&["login", &address, "--plaintext", "--sso"]).await;
    assert_eq!(run.code, 2, "{} {}", run.stdout, run.stderr);
    assert!(run.stderr.contains("no SSO configured"), "{}", run.stderr);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    server.stop().await;
    cluster.apiserver.stop().await;
}
