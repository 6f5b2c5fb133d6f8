//! Single sign-on against a real OpenID Connect provider (npm `oidc-provider`, run by node on
//! loopback): authorization code flow with PKCE through the provider's login and consent pages; the
//! user's `groups` claim maps to an RBAC role.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Where oidc-provider is installed (scripts/install-test-deps puts it there; installed here with npm
/// when missing).
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

struct Provider {
    child: tokio::process::Child,
    issuer: String,
}

async fn start_provider(redirect_uri: &str) -> Provider {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tools/oidc-provider.js");
    let mut child = tokio::process::Command::new("node")
        .arg(script)
        .arg(redirect_uri)
        .env("OIDC_PROVIDER_DIR", provider_dir())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("provider starts in time")
        .unwrap()
        .expect("provider prints its port");
    let port = line
        .strip_prefix("listening ")
        .expect("listening <port>")
        .to_string();
    // keep reading, or the provider dies of EPIPE on its next log line
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Provider {
        child,
        issuer: format!("http://127.0.0.1:{port}"),
    }
}

/// The action of the first form in the provider's HTML.
fn form_action(html: &str) -> Option<String> {
    let start = html.find("action=\"")? + 8;
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_login_maps_the_users_group_to_a_role() {
    let h = Harness::start(Options {
        rbac: Some(json!({"policy.csv": "g, devs, role:admin\n"})),
        ..Options::default()
    })
    .await;
    let redirect_uri = format!("{}/auth/callback", h.url);
    let mut provider = start_provider(&redirect_uri).await;
    h.cluster
        .apply(&config_map(
            "argocd-cm",
            json!({
                "url": h.url,
                "oidc.config": format!(
                    "name: Local\nissuer: {}\nclientID: capstan\nclientSecret: $oidc.clientSecret\nrequestedScopes: [openid, email, groups]\n",
                    provider.issuer
                ),
            }),
        ))
        .await;
    h.patch_secret("oidc.clientSecret", "capstan-client-secret")
        .await;
    // the server picks the settings up
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, s) = h.get("/api/v1/settings", "").await;
        if s["oidcConfig"]["issuer"] == json!(provider.issuer) {
            break;
        }
        assert!(Instant::now() < deadline, "oidc.config not picked up: {s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    for (user, admin) in [("alice", true), ("bob", false)] {
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut url = format!("{}/auth/login?return_url=/applications", h.url);
        let mut token = None;
        for _ in 0..20 {
            let r = browser.get(&url).send().await.unwrap();
            let status = r.status().as_u16();
            if let Some(cookie) = r
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|c| c.to_str().ok())
                .find_map(|c| c.strip_prefix("argocd.token="))
            {
                token = Some(cookie.split(';').next().unwrap().to_string());
                assert_eq!(r.headers()["location"], "/applications");
                break;
            }
            if (300..400).contains(&status) {
                let location = r.headers()["location"].to_str().unwrap().to_string();
                url = if location.starts_with('/') {
                    let base = url::Url::parse(&url).unwrap();
                    base.join(&location).unwrap().to_string()
                } else {
                    location
                };
                continue;
            }
            assert_eq!(status, 200, "{url}");
            // the provider's login or consent page: submit it
            let page_url = url::Url::parse(&url).unwrap();
            let html = r.text().await.unwrap();
            let action = form_action(&html).unwrap_or_else(|| panic!("no form in {html}"));
            let form: Vec<(&str, &str)> = if html.contains("name=\"login\"") {
                vec![("prompt", "login"), ("login", user), ("password", "any")]
            } else {
                vec![("prompt", "consent")]
            };
            let r = browser
                .post(page_url.join(&action).unwrap())
                .form(&form)
                .send()
                .await
                .unwrap();
            assert!(
                r.status().is_redirection(),
                "{}: {}",
                r.status(),
                r.text().await.unwrap()
            );
            let location = r.headers()["location"].to_str().unwrap().to_string();
            url = page_url.join(&location).unwrap().to_string();
        }
        let token = token
            .unwrap_or_else(|| panic!("{user}: no session after the SSO flow (last URL {url})"));
        let (s, info) = h.get("/api/v1/session/userinfo", &token).await;
        assert_eq!(s, 200);
        assert_eq!(info["username"], user);
        assert_eq!(info["iss"], json!(provider.issuer));
        let expected_group = if admin { "devs" } else { "others" };
        assert_eq!(info["groups"], json!([expected_group]));
        // devs -> role:admin may create a project; others have no role
        let (s, v) = h
            .post(
                "/api/v1/projects",
                &token,
                json!({"project": {"metadata": {"name": format!("p-{user}")}, "spec": {}}}),
            )
            .await;
        if admin {
            assert_eq!(s, 200, "{v}");
        } else {
            assert_eq!(s, 403, "{v}");
            assert_eq!(
                v["message"],
                json!(format!(
                    "permission denied: projects, create, p-{user}, sub: {user}"
                ))
            );
        }
    }
    // a state that was not issued by this server is refused
    let r = reqwest::get(format!("{}/auth/callback?code=x&state=y", h.url))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let _ = provider.child.kill().await;
    h.shutdown().await;
}
