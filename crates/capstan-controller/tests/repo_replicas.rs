//! The controller's generator over several `capstan repo-server` replicas: sources are spread over
//! the replicas, and a replica that is down is skipped for the next one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use capstan_controller::{GenerateRequest, ManifestGenerator, RepoGenerator};
use capstan_repo::{RemoteRepoServer, RepoService, SecretCredentials, ServiceSettings};
use capstan_testkit::GitRepo;
use capstan_types::ApplicationSource;

async fn serve(dir: &std::path::Path) -> (String, tokio::task::JoinHandle<()>) {
    let service = Arc::new(
        RepoService::new(
            ServiceSettings::new(dir),
            Arc::new(SecretCredentials::default()),
        )
        .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = capstan_repo::server::router(service);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (url, task)
}

/// A URL where nothing listens.
async fn dead_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

fn request(repo: &GitRepo, path: &str) -> GenerateRequest {
    let source: ApplicationSource = serde_json::from_value(serde_json::json!({
        "repoURL": repo.url(), "path": path, "targetRevision": "main"
    }))
    .unwrap();
    GenerateRequest {
        app_name: path.replace('/', "-"),
        app_namespace: "argocd".into(),
        project: "default".into(),
        sources: vec![source],
        revision: None,
        hard_refresh: false,
        destination_namespace: "default".into(),
        kube_version: String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generation_fails_over_to_a_live_replica() {
    let dir = tempfile::tempdir().unwrap();
    let repo = GitRepo::init(&dir.path().join("repo"));
    let mut files = Vec::new();
    for i in 0..8 {
        files.push((
            format!("apps/a{i}/cm.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n"),
        ));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    repo.commit(&refs, &[]);
    let (live, task) = serve(&dir.path().join("cache")).await;
    let dead = dead_url().await;
    let timeout = Duration::from_secs(20);
    let generator = RepoGenerator::replicas(vec![
        RemoteRepoServer::new(dead.clone(), timeout),
        RemoteRepoServer::new(live.clone(), timeout),
    ]);
    // every source renders, whichever replica it prefers
    for i in 0..8 {
        let generated = generator
            .generate(request(&repo, &format!("apps/a{i}")))
            .await
            .unwrap_or_else(|e| panic!("apps/a{i}: {e}"));
        assert_eq!(generated.objects.len(), 1);
        assert_eq!(generated.objects[0]["metadata"]["name"], format!("cm-{i}"));
    }
    // with every replica down the error names them
    task.abort();
    let _ = task.await;
    let only_dead = RepoGenerator::replicas(vec![
        RemoteRepoServer::new(dead.clone(), timeout),
        RemoteRepoServer::new(live.clone(), timeout),
    ]);
    let err = only_dead
        .generate(request(&repo, "apps/a0"))
        .await
        .expect_err("no replica answers");
    assert!(err.contains("no repo server could be reached"), "{err}");
    assert!(err.contains(&dead), "{err}");
}
