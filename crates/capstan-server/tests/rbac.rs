//! RBAC over HTTP: a readonly user lists but may not sync (403 naming the permission), deny rules
//! win, project role tokens act only inside their project, `can-i`, and a policy line that does not
//! parse stops the server at start-up with the line named.

mod common;

use std::time::Duration;

use capstan_server::{Listen, ServerConfig};
use common::*;
use reqwest::Method;
use serde_json::json;

const POLICY: &str = "\
g, alice, role:readonly
p, bob, applications, *, default/*, allow
p, bob, applications, sync, default/frozen, deny
p, bob, projects, get, *, allow
";

async fn harness() -> Harness {
    Harness::start(Options {
        rbac: Some(json!({"policy.csv": POLICY})),
        cm: Some(json!({"accounts.alice": "login", "accounts.bob": "login"})),
        ..Options::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readonly_user_deny_rules_and_project_role_tokens() {
    let h = harness().await;
    let admin = h.admin_token().await;
    for (name, project) in [
        ("guestbook", "default"),
        ("frozen", "default"),
        ("team-app", "team"),
    ] {
        if project == "team" {
            let (s, v) = h
                .post(
                    "/api/v1/projects",
                    &admin,
                    json!({"project": {"metadata": {"name": "team"}, "spec": {
                        "sourceRepos": ["*"],
                        "destinations": [{"server": "*", "namespace": "team-*"}],
                        "roles": [{"name": "ci", "policies": [
                            "p, proj:team:ci, applications, sync, team/*, allow",
                            "p, proj:team:ci, applications, get, team/*, allow"
                        ]}]
                    }}}),
                )
                .await;
            assert_eq!(s, 200, "{v}");
        }
        let ns = if project == "team" {
            "team-a"
        } else {
            "default"
        };
        let (s, v) = h
            .post(
                "/api/v1/applications",
                &admin,
                h.application(name, project, "guestbook", ns),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    // project restrictions on create: destinations outside team-* are refused
    let (s, v) = h
        .post(
            "/api/v1/applications",
            &admin,
            h.application("escape", "team", "guestbook", "kube-system"),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("do not match any of the allowed destinations in project 'team'"),
        "{v}"
    );
    h.set_password(&admin, "alice", "alice-password").await;
    h.set_password(&admin, "bob", "bob-password").await;
    let alice = h.token_of("alice", "alice-password").await;
    let bob = h.token_of("bob", "bob-password").await;

    // readonly: lists everything, may not sync; the message names the permission
    let (s, list) = h.get("/api/v1/applications", &alice).await;
    assert_eq!(s, 200);
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    let (s, v) = h
        .post(
            "/api/v1/applications",
            &alice,
            h.application("new", "default", "guestbook", "default"),
        )
        .await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(
        v["message"],
        "permission denied: applications, create, default/new, sub: alice"
    );
    let (s, v) = h
        .post("/api/v1/applications/guestbook/sync", &alice, json!({}))
        .await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(
        v["message"],
        "permission denied: applications, sync, default/guestbook, sub: alice"
    );
    assert_eq!(v["code"], 7);
    let (_, v) = h
        .get(
            "/api/v1/account/can-i/applications/sync/default/guestbook",
            &alice,
        )
        .await;
    assert_eq!(v["value"], "no");
    let (_, v) = h
        .get(
            "/api/v1/account/can-i/applications/get/default/guestbook",
            &alice,
        )
        .await;
    assert_eq!(v["value"], "yes");

    // bob: sees only default apps, may sync them, but the deny rule wins for "frozen"
    let (_, list) = h.get("/api/v1/applications", &bob).await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"guestbook") && names.contains(&"frozen"));
    assert!(!names.contains(&"team-app"));
    let (s, v) = h
        .post("/api/v1/applications/guestbook/sync", &bob, json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["operation"]["initiatedBy"]["username"], "bob");
    let (s, v) = h
        .post("/api/v1/applications/frozen/sync", &bob, json!({}))
        .await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(
        v["message"],
        "permission denied: applications, sync, default/frozen, sub: bob"
    );
    let (s, v) = h
        .post("/api/v1/applications/team-app/sync", &bob, json!({}))
        .await;
    assert_eq!(s, 403, "{v}");
    // an operation inside a create request needs "override"
    let mut with_op = h.application("with-op", "default", "guestbook", "default");
    with_op["operation"] = json!({"sync": {"prune": true}});
    let (s, v) = h.post("/api/v1/applications", &bob, with_op).await;
    assert_eq!(s, 200, "{v}");
    let mut with_op2 = h.application("with-op2", "default", "guestbook", "default");
    with_op2["operation"] = json!({"sync": {}});
    let (s, v) = h.post("/api/v1/applications", &alice, with_op2).await;
    assert_eq!(s, 403, "{v}");
    // bob may not create role tokens (projects, update)
    let (s, _) = h
        .post("/api/v1/projects/team/roles/ci/token", &bob, json!({}))
        .await;
    assert_eq!(s, 403);

    // project role token: syncs its project's applications only
    let (s, v) = h
        .post(
            "/api/v1/projects/team/roles/ci/token",
            &admin,
            json!({"id": "ci-1"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let ci = v["token"].as_str().unwrap().to_string();
    let (s, v) = h
        .post("/api/v1/applications/team-app/sync", &ci, json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["operation"]["initiatedBy"]["username"], "proj:team:ci");
    let (s, v) = h
        .post("/api/v1/applications/frozen/sync", &ci, json!({}))
        .await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(
        v["message"],
        "permission denied: applications, sync, frozen, sub: proj:team:ci"
    );
    let (_, list) = h.get("/api/v1/applications", &ci).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // the token id is recorded in the project; revoking it makes the token useless
    let (_, proj) = h.get("/api/v1/projects/team", &admin).await;
    let recorded = &proj["spec"]["roles"][0]["jwtTokens"][0];
    assert_eq!(recorded["id"], "ci-1");
    let iat = recorded["iat"].as_i64().unwrap();
    let (s, _) = h
        .call(
            Method::DELETE,
            &format!("/api/v1/projects/team/roles/ci/token/{iat}?id=ci-1"),
            &admin,
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = h.get("/api/v1/applications", &ci).await;
    assert_eq!(s, 401);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_changes_are_picked_up_and_bad_lines_kept_out() {
    let h = harness().await;
    let admin = h.admin_token().await;
    let (s, _) = h
        .post(
            "/api/v1/applications",
            &admin,
            h.application("guestbook", "default", "guestbook", "default"),
        )
        .await;
    assert_eq!(s, 200);
    h.set_password(&admin, "alice", "alice-password").await;
    let alice = h.token_of("alice", "alice-password").await;
    let sync_allowed = || async {
        let (_, v) = h
            .get(
                "/api/v1/account/can-i/applications/sync/default/guestbook",
                &alice,
            )
            .await;
        v["value"] == "yes"
    };
    assert!(!sync_allowed().await);
    // granting sync to alice takes effect without a restart
    h.cluster
        .apply(&config_map(
            "argocd-rbac-cm",
            json!({"policy.csv": format!("{POLICY}p, alice, applications, sync, default/*, allow\n")}),
        ))
        .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !sync_allowed().await {
        assert!(
            std::time::Instant::now() < deadline,
            "policy change not picked up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // a broken policy is refused as a whole: the previous valid policy stays in force
    h.cluster
        .apply(&config_map(
            "argocd-rbac-cm",
            json!({"policy.csv": "p, alice, applications\n"}),
        ))
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(sync_allowed().await);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_line_that_does_not_parse_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let cluster =
        capstan_testkit::Cluster::start(&dir.path().join("api"), Duration::from_millis(100)).await;
    cluster
        .apply(&config_map(
            "argocd-rbac-cm",
            json!({"policy.csv": "g, alice, role:readonly\np, bob, applications, sync\n"}),
        ))
        .await;
    let result = capstan_server::start(
        Listen {
            api: "127.0.0.1:0".parse().unwrap(),
            metrics: None,
            tls: None,
        },
        cluster.client.clone(),
        ServerConfig::default(),
        None,
    )
    .await;
    let Err(err) = result else {
        panic!("the server started with an invalid policy");
    };
    let text = err.to_string();
    assert!(text.contains("policy.csv"), "{text}");
    assert!(text.contains("line 2"), "{text}");
    cluster.apiserver.stop().await;
}
