//! Monorepo benchmark: one repository with 1,000 directory-source applications.
//!
//! Measures cold generation of all applications, warm-cache lookups per second, and a commit that
//! touches one application's path (only that one regenerates). Run with
//! `cargo bench -p capstan-repo --bench monorepo` (APPS=n changes the number of applications).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use capstan_repo::git::NoCredentials;
use capstan_repo::{ManifestRequest, RepoService, ServiceSettings};
use capstan_types::ApplicationSource;

fn git(dir: &Path, args: &[&str]) {
    let st = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "b")
        .env("GIT_AUTHOR_EMAIL", "b@example.com")
        .env("GIT_COMMITTER_NAME", "b")
        .env("GIT_COMMITTER_EMAIL", "b@example.com")
        .status()
        .expect("git runs");
    assert!(st.success(), "git {args:?}");
}

fn app_files(i: usize, version: u32) -> (String, String) {
    let name = format!("app-{i:04}");
    let deploy = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  labels:\n    app: {name}\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n      - name: main\n        image: registry.example.com/{name}:{version}\n        ports:\n        - containerPort: 8080\n"
    );
    let svc = format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  selector:\n    app: {name}\n  ports:\n  - port: 80\n    targetPort: 8080\n"
    );
    (deploy, svc)
}

fn request(repo: &str, i: usize) -> ManifestRequest {
    ManifestRequest {
        source: ApplicationSource {
            repo_url: repo.to_string(),
            path: Some(format!("apps/app-{i:04}")),
            target_revision: Some("main".into()),
            ..Default::default()
        },
        app_name: format!("app-{i:04}"),
        namespace: "bench".into(),
        ..Default::default()
    }
}

async fn generate_all(
    service: &Arc<RepoService>,
    repo: &str,
    apps: usize,
    tasks: usize,
) -> (usize, usize) {
    let mut set = tokio::task::JoinSet::new();
    for t in 0..tasks {
        let service = service.clone();
        let repo = repo.to_string();
        set.spawn(async move {
            let (mut fresh, mut cached) = (0, 0);
            for i in (t..apps).step_by(tasks) {
                let resp = service
                    .generate(&request(&repo, i))
                    .await
                    .expect("generation works");
                assert_eq!(resp.manifests.len(), 2);
                if resp.cached {
                    cached += 1;
                } else {
                    fresh += 1;
                }
            }
            (fresh, cached)
        });
    }
    let mut totals = (0, 0);
    while let Some(r) = set.join_next().await {
        let (f, c) = r.expect("task");
        totals.0 += f;
        totals.1 += c;
    }
    totals
}

fn main() {
    let apps: usize = std::env::var("APPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let tmp = tempfile::tempdir().expect("temp dir");
    let work = tmp.path().join("monorepo");
    std::fs::create_dir_all(&work).expect("mkdir");
    git(&work, &["init", "-q", "-b", "main"]);
    for i in 0..apps {
        let dir = work.join(format!("apps/app-{i:04}"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let (d, s) = app_files(i, 1);
        std::fs::write(dir.join("deployment.yaml"), d).expect("write");
        std::fs::write(dir.join("service.yaml"), s).expect("write");
    }
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "1000 apps"]);
    let repo = work.display().to_string();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let settings = ServiceSettings::new(tmp.path().join("cache"));
        let service = Arc::new(RepoService::new(settings, Arc::new(NoCredentials)).expect("service"));

        let started = Instant::now();
        let (fresh, cached) = generate_all(&service, &repo, apps, 8).await;
        let cold = started.elapsed();
        println!(
            "cold generation of {apps} apps: {:.2} s ({fresh} generated, {cached} cached; includes clone and checkout)",
            cold.as_secs_f64()
        );

        let rounds = 20;
        let started = Instant::now();
        for _ in 0..rounds {
            let (fresh, _) = generate_all(&service, &repo, apps, 4).await;
            assert_eq!(fresh, 0);
        }
        let warm = started.elapsed();
        let lookups = (rounds * apps) as f64;
        println!(
            "warm lookups: {} in {:.2} s = {:.0} lookups/s",
            rounds * apps,
            warm.as_secs_f64(),
            lookups / warm.as_secs_f64()
        );

        // A commit touching one application's path.
        let (d, s) = app_files(7, 2);
        std::fs::write(work.join("apps/app-0007/deployment.yaml"), d).expect("write");
        std::fs::write(work.join("apps/app-0007/service.yaml"), s).expect("write");
        git(&work, &["commit", "-q", "-am", "bump app-0007"]);
        let started = Instant::now();
        service
            .git()
            .resolve(&repo, "main", true)
            .await
            .expect("resolve");
        let (fresh, cached) = generate_all(&service, &repo, apps, 8).await;
        println!(
            "after a commit touching apps/app-0007: {fresh} regenerated, {cached} reused from the cache, {:.2} s for all {apps}",
            started.elapsed().as_secs_f64()
        );
        assert_eq!(fresh, 1, "only the touched application regenerates");
    });
}
