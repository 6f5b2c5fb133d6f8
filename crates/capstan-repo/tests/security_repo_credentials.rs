//! Credentials and what errors show (issue 13): credentials embedded in a repoURL never reach an
//! error (through the repo-server HTTP API or in process), a tool's environment or the logs; a
//! repoURL or submodule URL cannot inject git options or run git transport helpers; tool errors do
//! not show where checkouts lie on the repo server.

mod common;

use std::sync::Arc;
use std::time::Duration;

use capstan_repo::{Refresh, RenderError};
use capstan_testkit::logs::{logged, logs};
use common::*;
use serde_json::json;

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_repo_urls_never_reach_errors_tools_or_logs() {
    logs();
    let tmp = tempfile::tempdir().unwrap();
    let served = tmp.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.write("app/cm.yaml", CM);
    work.write(
        "bad/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: [\n",
    );
    work.write("echo/marker.txt", "x");
    work.commit("one");
    work.bare(&served, "r.git");
    let server = GitHttpServer::start(&served, Some(("alice", "S3cr3t-Pw-Marker")));
    let password = "S3cr3t-Pw-Marker";
    let url_with = |pw: &str| format!("http://alice:{pw}@127.0.0.1:{}/r.git", server.port);
    // a plugin that prints its environment and fails (as a careless plugin would)
    let plugin = "apiVersion: argoproj.io/v1alpha1\nkind: ConfigManagementPlugin\nmetadata:\n  name: env\nspec:\n  generate:\n    command: [sh, -c, 'echo \"url=$ARGOCD_APP_SOURCE_REPO_URL\"; env | grep -i -e pw -e alice; exit 1']\n";
    let plugins = capstan_repo::render::ConfigManagementPlugin::parse(plugin, "p.yaml").unwrap();
    let service = Arc::new(service_tweaked(&tmp.path().join("cache"), |s| {
        s.tools.plugins = plugins;
    }));
    // through the repo-server HTTP API, whose handler logs failures
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let router = capstan_repo::server::router(service.clone());
    let http = tokio::spawn(async move { axum::serve(listener, router).await });
    let client = capstan_repo::RemoteRepoServer::new(
        format!("http://127.0.0.1:{port}"),
        Duration::from_secs(60),
    );
    let wrong = "Wr0ng-Pw-Marker";
    let mut texts = Vec::new();
    let cases = [
        json!({"repoURL": url_with(wrong), "path": "app"}),
        json!({"repoURL": url_with(password), "path": "nope"}),
        json!({"repoURL": url_with(password), "path": "app", "targetRevision": "no-such-branch"}),
        json!({"repoURL": url_with(password), "path": "bad"}),
        json!({"repoURL": url_with(password), "path": "echo", "plugin": {"name": "env"}}),
        json!({"repoURL": format!("http://alice:{password}@127.0.0.1:{}/r.git", free_port()), "path": "app"}),
        json!({"repoURL": url_with(password), "path": "app", "chart": "x"}),
    ];
    for source in cases {
        let mut req = request(source);
        req.refresh = Refresh::Hard;
        let err = client.generate(&req).await.unwrap_err();
        texts.push(format!("{err} | {err:?}"));
        let direct = service.generate(&req).await.unwrap_err();
        texts.push(format!("{direct} | {direct:?}"));
    }
    // the plugin saw the URL, without credentials
    assert!(
        texts.iter().any(|t| t.contains("url=http://127.0.0.1")),
        "{texts:#?}"
    );
    // the right password works
    let ok = service
        .generate(&request(
            json!({"repoURL": url_with(password), "path": "app"}),
        ))
        .await
        .unwrap();
    assert_eq!(names(&ok.manifests), ["ConfigMap/ok"]);
    http.abort();
    let logs = logged();
    assert!(
        logs.contains("manifest generation failed"),
        "nothing logged"
    );
    for secret in [password, wrong] {
        for t in &texts {
            assert!(!t.contains(secret), "{secret} leaked: {t}");
        }
        assert!(!logs.contains(secret), "{secret} leaked into the logs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repo_urls_cannot_inject_git_options_or_transport_helpers() {
    let tmp = tempfile::tempdir().unwrap();
    let pwned = tmp.path().join("pwned");
    let service = service(&tmp.path().join("cache"));
    for url in [
        format!("ext::sh -c touch% {}", pwned.display()),
        format!("--upload-pack=touch {}", pwned.display()),
        format!("-oProxyCommand=touch {}:x", pwned.display()),
    ] {
        let err = generate(&service, json!({"repoURL": url, "path": "."}))
            .await
            .unwrap_err();
        assert!(
            matches!(err, RenderError::InvalidSource(_) | RenderError::Git(_)),
            "{err:?}"
        );
    }
    // the same through a submodule of a served repository
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.write("app/cm.yaml", CM);
    work.write(
        ".gitmodules",
        &format!(
            "[submodule \"x\"]\n\tpath = app/x\n\turl = ext::sh -c touch% {}\n",
            pwned.display()
        ),
    );
    let head = work.commit("one");
    git(
        &work.dir,
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{head},app/x"),
        ],
    );
    git(&work.dir, &["commit", "-q", "-m", "gitlink"]);
    let served = tmp.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    work.bare(&served, "w.git");
    let server = GitHttpServer::start(&served, None);
    let err = generate(
        &service,
        json!({"repoURL": server.url("w.git"), "path": "app"}),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("transport helpers"), "{err}");
    assert!(!pwned.exists(), "a command ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_errors_do_not_show_where_checkouts_lie() {
    let tmp = tempfile::tempdir().unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.write("kust/kustomization.yaml", "resources:\n- missing.yaml\n");
    work.commit("one");
    let cache = tmp.path().join("cache");
    let service = service(&cache);
    let repo = work.dir.display().to_string();
    for source in [
        // built in the checkout itself
        json!({"repoURL": repo, "path": "kust"}),
        // built in a private work copy (the spec edits the kustomization)
        json!({"repoURL": repo, "path": "kust", "kustomize": {"namePrefix": "p-"}}),
    ] {
        let err = generate(&service, source).await.unwrap_err();
        let text = format!("{err} | {err:?}");
        assert!(text.contains("missing.yaml"), "{text}");
        assert!(text.contains("<path to cached source>"), "{text}");
        assert!(!text.contains(&cache.display().to_string()), "{text}");
        assert!(!text.contains("capstan-work-"), "{text}");
    }
}
