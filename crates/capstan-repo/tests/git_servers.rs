//! The Git layer against real servers on loopback: `git http-backend` (with and without basic auth)
//! and Debian's sshd with generated keys.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use capstan_repo::git::{CredentialSource, NoCredentials};
use capstan_repo::{GitError, Refresh, RenderError, SecretCredentials};
use capstan_settings::{RepoCreds, Repository, Sensitive};
use common::*;
use serde_json::json;

const APP: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-git\ndata:\n  v: \"1\"\n";

fn served_repo(tmp: &std::path::Path) -> (WorkRepo, std::path::PathBuf) {
    let work = WorkRepo::new(&tmp.join("work"));
    work.write("app/cm.yaml", APP);
    work.commit("first");
    git(&work.dir, &["tag", "-a", "v1.0", "-m", "release"]);
    let served = tmp.join("served");
    std::fs::create_dir_all(&served).unwrap();
    let bare = work.bare(&served, "repo.git");
    (work, bare)
}

fn repo_creds(url: &str, user: &str, password: &str) -> Arc<dyn CredentialSource> {
    Arc::new(SecretCredentials {
        repositories: vec![Repository {
            creds: RepoCreds {
                url: url.to_string(),
                username: Some(user.to_string()),
                password: Some(Sensitive::new(password)),
                ..Default::default()
            },
            ..Default::default()
        }],
        templates: vec![],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smart_http_without_auth_revisions_and_shared_fetches() {
    let tmp = tempfile::tempdir().unwrap();
    let (work, bare) = served_repo(tmp.path());
    let server = GitHttpServer::start(&tmp.path().join("served"), None);
    let url = server.url("repo.git");
    let service = Arc::new(service(&tmp.path().join("cache")));

    // eight concurrent requests for one repository share a single fetch
    let mut handles = Vec::new();
    for i in 0..8 {
        let service = service.clone();
        let mut req = request(json!({"repoURL": url, "path": "app"}));
        req.app_name = format!("app-{i}");
        handles.push(tokio::spawn(async move { service.generate(&req).await }));
    }
    for h in handles {
        let out = h.await.unwrap().unwrap();
        assert_eq!(names(&out.manifests), ["ConfigMap/from-git"]);
    }
    assert_eq!(
        server.fetches.load(Ordering::Relaxed),
        1,
        "one fetch for 8 requests"
    );

    let head = git(&work.dir, &["rev-parse", "HEAD"]);
    let git_cache = service.git();
    for rev in ["HEAD", "main", "v1.0", &head, &head[..8], "refs/heads/main"] {
        assert_eq!(
            git_cache.resolve(&url, rev, true).await.unwrap(),
            head,
            "{rev}"
        );
    }
    // nothing new on the server: a refresh lists refs but fetches nothing
    let fetches = server.fetches.load(Ordering::Relaxed);
    let mut req = request(json!({"repoURL": url, "path": "app"}));
    assert!(!service.generate(&req).await.unwrap().cached);
    req.refresh = Refresh::Normal;
    assert!(service.generate(&req).await.unwrap().cached);
    assert_eq!(server.fetches.load(Ordering::Relaxed), fetches);

    // a new commit is fetched once and rendered
    work.write("app/cm.yaml", &APP.replace("from-git", "second"));
    let second = work.commit("second");
    work.push(&bare);
    let out = service.generate(&req).await.unwrap();
    assert_eq!(out.revision, second);
    assert_eq!(names(&out.manifests), ["ConfigMap/second"]);
    assert_eq!(server.fetches.load(Ordering::Relaxed), fetches + 1);

    // the first commit is still addressable by SHA
    let old = service
        .generate(&request(
            json!({"repoURL": url, "path": "app", "targetRevision": head}),
        ))
        .await
        .unwrap();
    assert_eq!(names(&old.manifests), ["ConfigMap/from-git"]);

    let err = git_cache
        .resolve(&url, "no-such-branch", true)
        .await
        .unwrap_err();
    assert!(matches!(err, GitError::UnknownRevision { .. }), "{err}");
    assert!(err.to_string().contains("no-such-branch"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smart_http_with_basic_auth() {
    let tmp = tempfile::tempdir().unwrap();
    let (_work, _bare) = served_repo(tmp.path());
    let server = GitHttpServer::start(&tmp.path().join("served"), Some(("alice", "s3cret-pw")));
    let url = server.url("repo.git");

    let good = service_with(
        &tmp.path().join("cache-good"),
        repo_creds(&url, "alice", "s3cret-pw"),
        |_| {},
    );
    let out = good
        .generate(&request(json!({"repoURL": url, "path": "app"})))
        .await
        .unwrap();
    assert_eq!(names(&out.manifests), ["ConfigMap/from-git"]);

    // the same credentials from a repo-creds template matched by URL prefix
    let template: Arc<dyn CredentialSource> = Arc::new(SecretCredentials {
        repositories: vec![],
        templates: vec![RepoCreds {
            url: format!("http://127.0.0.1:{}/", server.port),
            username: Some("alice".into()),
            password: Some(Sensitive::new("s3cret-pw")),
            ..Default::default()
        }],
    });
    let by_template = service_with(&tmp.path().join("cache-template"), template, |_| {});
    let out = by_template
        .generate(&request(json!({"repoURL": url, "path": "app"})))
        .await
        .unwrap();
    assert_eq!(names(&out.manifests), ["ConfigMap/from-git"]);

    // a wrong password: an authentication error, quickly, without the password in it
    let bad = service_with(
        &tmp.path().join("cache-bad"),
        repo_creds(&url, "alice", "wrong-password-123"),
        |_| {},
    );
    let started = Instant::now();
    let err = bad
        .generate(&request(json!({"repoURL": url, "path": "app"})))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        matches!(err, RenderError::Git(GitError::Authentication { .. })),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains("wrong-password-123"));

    // no credentials at all: also an authentication error, not a prompt
    let none = service_with(
        &tmp.path().join("cache-none"),
        Arc::new(NoCredentials),
        |_| {},
    );
    let err = none
        .generate(&request(json!({"repoURL": url, "path": "app"})))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RenderError::Git(GitError::Authentication { .. })),
        "{err:?}"
    );

    // credentials embedded in the URL work and never show in errors
    let embedded = format!(
        "http://alice:s3cret-pw@127.0.0.1:{}/missing.git",
        server.port
    );
    let err = none
        .generate(&request(json!({"repoURL": embedded, "path": "app"})))
        .await
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains("s3cret-pw"), "{err:?}");
    let ok_url = format!("http://alice:s3cret-pw@127.0.0.1:{}/repo.git", server.port);
    let out = none
        .generate(&request(json!({"repoURL": ok_url, "path": "app"})))
        .await
        .unwrap();
    assert_eq!(names(&out.manifests), ["ConfigMap/from-git"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smart_http_with_bearer_token() {
    let tmp = tempfile::tempdir().unwrap();
    let (_work, _bare) = served_repo(tmp.path());
    let server = GitHttpServer::start_with_header(
        &tmp.path().join("served"),
        Some("Bearer tok-123456".into()),
    );
    let url = server.url("repo.git");
    let creds = |token: &str| -> Arc<dyn CredentialSource> {
        Arc::new(SecretCredentials {
            repositories: vec![Repository {
                creds: RepoCreds {
                    url: url.clone(),
                    bearer_token: Some(Sensitive::new(token)),
                    ..Default::default()
                },
                ..Default::default()
            }],
            templates: vec![],
        })
    };
    let good = service_with(&tmp.path().join("c1"), creds("tok-123456"), |_| {});
    let out = good
        .generate(&request(json!({"repoURL": url, "path": "app"})))
        .await
        .unwrap();
    assert_eq!(names(&out.manifests), ["ConfigMap/from-git"]);
    let bad = service_with(&tmp.path().join("c2"), creds("tok-wrong-999"), |_| {});
    let err = bad
        .generate(&request(json!({"repoURL": url, "path": "app"})))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RenderError::Git(GitError::Authentication { .. })),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains("tok-wrong-999"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_with_private_key_and_known_hosts() {
    assert!(
        sshd_available(),
        "/usr/sbin/sshd is missing: run scripts/install-test-deps (openssh-server)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let (_work, bare) = served_repo(tmp.path());
    let sshd = SshServer::start(&tmp.path().join("sshd"));
    let url = sshd.url(&bare);
    let creds = |key: &str| -> Arc<dyn CredentialSource> {
        Arc::new(SecretCredentials {
            repositories: vec![Repository {
                creds: RepoCreds {
                    url: url.clone(),
                    ssh_private_key: Some(Sensitive::new(key)),
                    ..Default::default()
                },
                ..Default::default()
            }],
            templates: vec![],
        })
    };

    let known = sshd.known_hosts.clone();
    let good = service_with(&tmp.path().join("c1"), creds(&sshd.client_key), |s| {
        s.git.ssh.known_hosts = Some(known);
    });
    let out = good
        .generate(&request(
            json!({"repoURL": url, "path": "app", "targetRevision": "v1.0"}),
        ))
        .await
        .unwrap();
    assert_eq!(names(&out.manifests), ["ConfigMap/from-git"]);

    // an unknown host key is refused unless the repository is marked insecure
    let unknown = service_with(&tmp.path().join("c2"), creds(&sshd.client_key), |s| {
        s.git.ssh.known_hosts = Some(String::new());
    });
    let err = unknown
        .generate(&request(json!({"repoURL": url, "path": "app"})))
        .await
        .unwrap_err();
    assert!(err.to_string().to_lowercase().contains("host key"), "{err}");

    // a key the server does not accept: an authentication error, not a hang
    let other_key_dir = tmp.path().join("other");
    std::fs::create_dir_all(&other_key_dir).unwrap();
    let st = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(other_key_dir.join("k"))
        .status()
        .unwrap();
    assert!(st.success());
    let wrong_key = std::fs::read_to_string(other_key_dir.join("k")).unwrap();
    let known = sshd.known_hosts.clone();
    let wrong = service_with(&tmp.path().join("c3"), creds(&wrong_key), |s| {
        s.git.ssh.known_hosts = Some(known);
    });
    let started = Instant::now();
    let err = wrong
        .generate(&request(json!({"repoURL": url, "path": "app"})))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        matches!(err, RenderError::Git(GitError::Authentication { .. })),
        "{err:?}"
    );
    assert!(!err.to_string().contains("PRIVATE KEY"));

    // insecure: no host key checking
    let insecure: Arc<dyn CredentialSource> = Arc::new(SecretCredentials {
        repositories: vec![Repository {
            creds: RepoCreds {
                url: url.clone(),
                ssh_private_key: Some(Sensitive::new(sshd.client_key.clone())),
                insecure: true,
                ..Default::default()
            },
            ..Default::default()
        }],
        templates: vec![],
    });
    let svc = service_with(&tmp.path().join("c4"), insecure, |s| {
        s.git.ssh.known_hosts = Some(String::new());
    });
    let out = svc
        .generate(&request(json!({"repoURL": url, "path": "app"})))
        .await
        .unwrap();
    assert_eq!(names(&out.manifests), ["ConfigMap/from-git"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submodules_are_checked_out() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = WorkRepo::new(&tmp.path().join("lib"));
    lib.write(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: from-submodule\n",
    );
    lib.commit("lib");
    let parent = WorkRepo::new(&tmp.path().join("parent"));
    parent.write("app/own.yaml", APP);
    git(
        &parent.dir,
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "-q",
            lib.dir.to_str().unwrap(),
            "app/vendor",
        ],
    );
    parent.commit("with submodule");
    let service = service(&tmp.path().join("cache"));
    let out = service
        .generate(&request(json!({
            "repoURL": parent.dir.display().to_string(), "path": "app",
            "directory": {"recurse": true}
        })))
        .await
        .unwrap();
    let mut got = names(&out.manifests);
    got.sort();
    assert_eq!(got, ["ConfigMap/from-git", "Pod/from-submodule"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_repository_does_not_block_another() {
    let tmp = tempfile::tempdir().unwrap();
    let (work, _bare) = served_repo(tmp.path());
    work.bare(&tmp.path().join("served"), "slow.git");
    let server = GitHttpServer::start_full(
        &tmp.path().join("served"),
        None,
        Some(("slow.git".into(), Duration::from_secs(3))),
    );
    let service = Arc::new(service(&tmp.path().join("cache")));
    let slow = {
        let service = service.clone();
        let req = request(json!({"repoURL": server.url("slow.git"), "path": "app"}));
        tokio::spawn(async move {
            let started = Instant::now();
            service.generate(&req).await.unwrap();
            started.elapsed()
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let fast = service
        .generate(&request(
            json!({"repoURL": server.url("repo.git"), "path": "app"}),
        ))
        .await
        .unwrap();
    let fast_took = started.elapsed();
    assert_eq!(names(&fast.manifests), ["ConfigMap/from-git"]);
    // every request to the slow repository waits 3 s and it needs several: the fast one finished
    // while the slow one was still in progress
    assert!(
        !slow.is_finished(),
        "the fast repository waited for the slow one ({fast_took:?})"
    );
    let slow_took = slow.await.unwrap();
    assert!(slow_took >= Duration::from_secs(6), "{slow_took:?}");
}
