//! Security: authorization, attacked from outside over HTTP (issue 13).
//!
//! - writes are checked on the Application they act on, not on names taken from the body: a PUT
//!   whose body names another Application or project, moving an Application to a project where the
//!   caller has no rights, upserting over someone else's Application, patching status or an
//!   inline operation;
//! - an inline sync operation in a create, update or patch needs `override`;
//! - a forbidden and a missing Application get the same answer on every endpoint (no enumeration);
//!   likewise repositories;
//! - the resource endpoints (actions, logs) reach only resources of the Application's tree, even
//!   for a Secret in kube-system asked by name;
//! - the project's source repositories and destinations are enforced on create, update and patch,
//!   including `..` tricks in repository URLs and destinations naming both a server and a name.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

const POLICY: &str = "\
p, alice, applications, get, mine/*, allow
p, alice, applications, create, mine/*, allow
p, alice, applications, update, mine/*, allow
p, alice, applications, delete, mine/*, allow
p, alice, applications, sync, mine/*, allow
p, alice, applications, action/*, mine/*, allow
p, alice, logs, get, mine/*, allow
p, alice, projects, get, mine, allow
p, bob, applications, *, mine/*, allow
p, alice, clusters, create, mine/*, allow
p, alice, clusters, update, mine/*, allow
";

const MARKER: &str = "kube-system-secret-marker-4711";

async fn harness() -> (Harness, String, String, String) {
    let h = Harness::start(Options {
        rbac: Some(json!({"policy.csv": POLICY})),
        cm: Some(json!({"accounts.alice": "login", "accounts.bob": "login"})),
        ..Options::default()
    })
    .await;
    let admin = h.admin_token().await;
    for (name, repos, dests) in [
        (
            "mine",
            json!([h.repo.url()]),
            json!([{"server": "https://kubernetes.default.svc", "namespace": "mine-*"}]),
        ),
        (
            "theirs",
            json!(["*"]),
            json!([{"server": "*", "namespace": "*"}]),
        ),
    ] {
        let (s, v) = h
            .post(
                "/api/v1/projects",
                &admin,
                json!({"project": {"metadata": {"name": name},
                       "spec": {"sourceRepos": repos, "destinations": dests}}}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    for (name, project, ns) in [
        ("mine-app", "mine", "mine-a"),
        ("victim", "theirs", "default"),
    ] {
        let (s, v) = h
            .post(
                "/api/v1/applications",
                &admin,
                h.application(name, project, "guestbook", ns),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    h.set_password(&admin, "alice", "alice-password").await;
    h.set_password(&admin, "bob", "bob-password").await;
    let alice = h.token_of("alice", "alice-password").await;
    let bob = h.token_of("bob", "bob-password").await;
    (h, admin, alice, bob)
}

async fn project_of(h: &Harness, name: &str) -> String {
    h.cluster.app(name).await["spec"]["project"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_checked_on_the_object_they_act_on() {
    let (h, _admin, alice, bob) = harness().await;
    let mine = h.get("/api/v1/applications/mine-app", &alice).await.1;

    // PUT on victim's path with a body naming alice's own app and project
    let mut body = mine.clone();
    body["metadata"]["name"] = json!("victim");
    let (s, v) = h
        .call(
            Method::PUT,
            "/api/v1/applications/victim",
            &alice,
            Some(body),
        )
        .await;
    assert_eq!(s, 403, "{v}");
    // PUT on alice's path with a body naming victim
    let mut body = mine.clone();
    body["metadata"]["name"] = json!("victim");
    let (s, v) = h
        .call(
            Method::PUT,
            "/api/v1/applications/mine-app",
            &alice,
            Some(body),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    // moving alice's app into a project where she has no rights: PUT, PUT spec, PATCH (merge and
    // JSON patch)
    let mut moved = mine.clone();
    moved["spec"]["project"] = json!("theirs");
    let (s, v) = h
        .call(
            Method::PUT,
            "/api/v1/applications/mine-app",
            &alice,
            Some(moved.clone()),
        )
        .await;
    assert_eq!(s, 403, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("theirs/mine-app"),
        "{v}"
    );
    let (s, v) = h
        .call(
            Method::PUT,
            "/api/v1/applications/mine-app/spec",
            &alice,
            Some(moved["spec"].clone()),
        )
        .await;
    assert_eq!(s, 403, "{v}");
    for (patch, kind) in [
        (json!({"spec": {"project": "theirs"}}).to_string(), "merge"),
        (
            json!([{"op": "replace", "path": "/spec/project", "value": "theirs"}]).to_string(),
            "json",
        ),
    ] {
        let (s, v) = h
            .call(
                Method::PATCH,
                "/api/v1/applications/mine-app",
                &alice,
                Some(json!({"patch": patch, "patchType": kind})),
            )
            .await;
        assert_eq!(s, 403, "{kind}: {v}");
    }
    assert_eq!(project_of(&h, "mine-app").await, "mine");
    // upserting over victim from alice's project
    let mut over = h.application("victim", "mine", "guestbook", "mine-b");
    over["spec"]["source"]["path"] = json!("other");
    let (s, v) = h
        .post("/api/v1/applications?upsert=true", &alice, over)
        .await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(project_of(&h, "victim").await, "theirs");
    // and the exact same spec as victim does not hand victim's object out
    let mut same = h.cluster.app("victim").await;
    same["spec"]["project"] = json!("mine");
    let (s, v) = h
        .post(
            "/api/v1/applications",
            &alice,
            json!({"metadata": {"name": "victim"}, "spec": same["spec"]}),
        )
        .await;
    assert!(s == 400 || s == 409, "{s} {v}");
    assert!(v.get("status").is_none(), "{v}");

    // inline operations need `override`: create, patch, PUT
    let mut with_op = h.application("op-app", "mine", "guestbook", "mine-a");
    with_op["operation"] = json!({"sync": {"prune": true}});
    let (s, v) = h
        .post("/api/v1/applications", &alice, with_op.clone())
        .await;
    assert_eq!(s, 403, "{v}");
    assert!(v["message"].as_str().unwrap().contains("override"), "{v}");
    let (s, v) = h.post("/api/v1/applications", &bob, with_op).await;
    assert_eq!(s, 200, "bob has override: {v}");
    let (s, v) = h
        .call(
            Method::PATCH,
            "/api/v1/applications/mine-app",
            &alice,
            Some(json!({"patch": json!({"operation": {"sync": {"prune": true}}}).to_string()})),
        )
        .await;
    assert_eq!(s, 403, "{v}");
    let mut put_op = mine.clone();
    put_op["operation"] = json!({"sync": {"prune": true}});
    let (s, _) = h
        .call(
            Method::PUT,
            "/api/v1/applications/mine-app",
            &alice,
            Some(put_op),
        )
        .await;
    assert!(s == 200 || s == 403, "{s}");
    assert!(
        h.cluster
            .app("mine-app")
            .await
            .get("operation")
            .is_none_or(Value::is_null),
        "an operation was written without override"
    );
    // a patch does not write status (a forged resource list would open the resource endpoints)
    let forged = json!({"status": {"resources": [
        {"version": "v1", "kind": "Secret", "namespace": "kube-system", "name": "stolen"}
    ], "sync": {"status": "Synced"}}});
    let (s, v) = h
        .call(
            Method::PATCH,
            "/api/v1/applications/mine-app",
            &alice,
            Some(json!({"patch": forged.to_string()})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let stored = h.cluster.app("mine-app").await;
    assert!(
        !stored["status"].to_string().contains("stolen"),
        "{}",
        stored["status"]
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_and_missing_objects_answer_alike() {
    let (h, admin, alice, _bob) = harness().await;
    let endpoints: Vec<(Method, &str, Option<Value>)> = vec![
        (Method::GET, "/api/v1/applications/{}", None),
        (Method::GET, "/api/v1/applications/{}?refresh=hard", None),
        (Method::PUT, "/api/v1/applications/{}/spec", Some(json!({}))),
        (
            Method::PATCH,
            "/api/v1/applications/{}",
            Some(json!({"patch": "{}"})),
        ),
        (Method::DELETE, "/api/v1/applications/{}", None),
        (
            Method::POST,
            "/api/v1/applications/{}/sync",
            Some(json!({})),
        ),
        (
            Method::POST,
            "/api/v1/applications/{}/rollback",
            Some(json!({"id": 1})),
        ),
        (Method::DELETE, "/api/v1/applications/{}/operation", None),
        (Method::GET, "/api/v1/applications/{}/resource-tree", None),
        (
            Method::GET,
            "/api/v1/applications/{}/managed-resources",
            None,
        ),
        (Method::GET, "/api/v1/applications/{}/manifests", None),
        (Method::GET, "/api/v1/applications/{}/events", None),
        (
            Method::GET,
            "/api/v1/applications/{}/resource/actions?kind=Secret&resourceName=x&version=v1",
            None,
        ),
        (
            Method::GET,
            "/api/v1/applications/{}/resource?kind=Secret&resourceName=x&version=v1",
            None,
        ),
        (Method::GET, "/api/v1/applications/{}/pods/p/logs", None),
    ];
    for (method, template, body) in &endpoints {
        let mut answers = Vec::new();
        for name in ["victim", "no-such-app"] {
            let path = template.replace("{}", name);
            let (s, v) = h.call(method.clone(), &path, &alice, body.clone()).await;
            let text = v.to_string().replace(name, "NAME");
            assert!(
                !text.contains("theirs"),
                "{method} {path} names the project: {text}"
            );
            answers.push((s, text));
        }
        assert_eq!(answers[0], answers[1], "{method} {template}");
        assert_eq!(answers[0].0, 403, "{method} {template}");
    }
    // whoever may see every project learns nothing new from a 404
    let (s, _) = h.get("/api/v1/applications/no-such-app", &admin).await;
    assert_eq!(s, 404);
    // a name no object can have is missing too, and the answer does not name the control plane
    for odd in [
        "Bad%20Name",
        "a%2F..%2F..%2Fsecrets",
        "%00",
        "x%3Fwatch%3Dtrue",
    ] {
        let (s, v) = h.get(&format!("/api/v1/applications/{odd}"), &admin).await;
        assert_eq!(s, 404, "{odd}: {v}");
        assert!(!v.to_string().contains("127.0.0.1"), "{odd}: {v}");
    }
    // a caller who may get but not override sees the permission named
    let (s, v) = h
        .call(
            Method::PATCH,
            "/api/v1/applications/mine-app",
            &alice,
            Some(json!({"patch": json!({"operation": {"sync": {}}}).to_string()})),
        )
        .await;
    assert_eq!(s, 403);
    assert_eq!(
        v["message"],
        "permission denied: applications, override, mine/mine-app, sub: alice"
    );

    // repositories: one of project theirs, one that does not exist
    let (s, v) = h
        .post(
            "/api/v1/repositories",
            &admin,
            json!({"repo": "https://127.0.0.1:1/hidden.git", "project": "theirs"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    for method in [Method::GET, Method::DELETE] {
        let mut answers = Vec::new();
        for repo in [
            "https://127.0.0.1:1/hidden.git",
            "https://127.0.0.1:1/nothing.git",
        ] {
            let path = format!(
                "/api/v1/repositories/{}",
                url::form_urlencoded::byte_serialize(repo.as_bytes()).collect::<String>()
            );
            let (s, v) = h.call(method.clone(), &path, &alice, None).await;
            answers.push((s, v.to_string().replace(repo, "REPO")));
        }
        assert_eq!(answers[0], answers[1], "{method}");
    }
    let (_, list) = h.get("/api/v1/repositories", &alice).await;
    assert_eq!(list["items"], json!([]), "{list}");

    // clusters: one alice may not get, one that does not exist; the same on every path
    let (s, v) = h
        .post(
            "/api/v1/clusters",
            &admin,
            json!({"server": "https://127.0.0.1:1", "name": "hidden", "project": "theirs",
                   "config": {"tlsClientConfig": {"insecure": true}}}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    for (method, suffix) in [
        (Method::GET, ""),
        (Method::DELETE, ""),
        (Method::POST, "/rotate-auth"),
    ] {
        let mut answers = Vec::new();
        for server in ["https://127.0.0.1:1", "https://127.0.0.1:2"] {
            let path = format!(
                "/api/v1/clusters/{}{suffix}",
                url::form_urlencoded::byte_serialize(server.as_bytes()).collect::<String>()
            );
            let (s, v) = h.call(method.clone(), &path, &alice, None).await;
            answers.push((s, v.to_string().replace(server, "SERVER")));
        }
        assert_eq!(answers[0], answers[1], "{method} {suffix}");
        assert_eq!(answers[0].0, 404, "{method} {suffix}");
    }
    let (s, _) = h
        .get("/api/v1/clusters/https%3A%2F%2F127.0.0.1%3A1", &admin)
        .await;
    assert_eq!(s, 200, "the admin sees the cluster");
    // rights on project mine do not let alice take over (upsert) theirs' cluster into mine
    let (s, v) = h
        .post(
            "/api/v1/clusters?upsert=true",
            &alice,
            json!({"server": "https://127.0.0.1:1", "name": "taken", "project": "mine"}),
        )
        .await;
    assert_eq!(s, 403, "{v}");
    let (_, c) = h
        .get("/api/v1/clusters/https%3A%2F%2F127.0.0.1%3A1", &admin)
        .await;
    assert_eq!(c["project"], "theirs", "{c}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_endpoints_reach_only_the_applications_tree() {
    let (h, _admin, alice, _bob) = harness().await;
    h.cluster
        .apply(&json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "stolen", "namespace": "kube-system"},
            "stringData": {"token": MARKER}}))
        .await;
    h.cluster
        .apply(&json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "foreign", "namespace": "kube-system"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}))
        .await;
    // the Application manages one ConfigMap (status as the controller writes it)
    h.cluster
        .apply(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mine-a"}}))
        .await;
    h.cluster
        .apply(&json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "own", "namespace": "mine-a"}, "data": {"k": "v"}}))
        .await;
    h.cluster
        .patch_app(
            "mine-app",
            &json!({"status": {"resources": [
                {"version": "v1", "kind": "ConfigMap", "namespace": "mine-a", "name": "own"}
            ]}}),
        )
        .await;
    let q = |ns: &str, kind: &str, name: &str| {
        format!("namespace={ns}&resourceName={name}&version=v1&kind={kind}")
    };
    let attempts = [
        q("kube-system", "Secret", "stolen"),
        q("mine-a", "Secret", "stolen"),
        q("kube-system", "ConfigMap", "own"),
        q("", "Secret", "stolen"),
    ];
    for query in &attempts {
        let path = format!("/api/v1/applications/mine-app/resource/actions?{query}");
        let (s, v) = h.get(&path, &alice).await;
        assert_eq!(s, 404, "{path}: {v}");
        assert!(!v.to_string().contains(MARKER));
        let (s, v) = h
            .post(
                &format!("/api/v1/applications/mine-app/resource/actions?{query}"),
                &alice,
                json!("restart"),
            )
            .await;
        assert_eq!(s, 404, "{path}: {v}");
        let mut body: Value = url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect::<serde_json::Map<_, _>>()
            .into();
        body["action"] = json!("restart");
        let (s, v) = h
            .post(
                "/api/v1/applications/mine-app/resource/actions/v2",
                &alice,
                body,
            )
            .await;
        assert_eq!(s, 404, "v2 {query}: {v}");
    }
    // the live manifest endpoint too
    for query in &attempts {
        let path = format!("/api/v1/applications/mine-app/resource?{query}");
        let (s, v) = h.get(&path, &alice).await;
        assert_eq!(s, 404, "{path}: {v}");
        assert!(!v.to_string().contains(MARKER));
    }
    let (s, v) = h
        .get(
            &format!(
                "/api/v1/applications/mine-app/resource?{}",
                q("mine-a", "ConfigMap", "own")
            ),
            &alice,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(v["manifest"].as_str().unwrap().contains("\"own\""), "{v}");
    // the application's own resource is reachable
    let (s, v) = h
        .get(
            &format!(
                "/api/v1/applications/mine-app/resource/actions?{}",
                q("mine-a", "ConfigMap", "own")
            ),
            &alice,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    // pod logs only of Pods in the tree
    for path in [
        "/api/v1/applications/mine-app/pods/foreign/logs?namespace=kube-system",
        "/api/v1/applications/mine-app/pods/foreign/logs",
        "/api/v1/applications/mine-app/pods/..%2F..%2Fsecrets%2Fstolen/logs?namespace=kube-system",
    ] {
        let (s, v) = h.get(path, &alice).await;
        assert_eq!(s, 404, "{path}: {v}");
    }
    // the tree shows only the managed resource
    let (s, tree) = h
        .get("/api/v1/applications/mine-app/resource-tree", &alice)
        .await;
    assert_eq!(s, 200);
    assert!(!tree.to_string().contains("stolen") && !tree.to_string().contains("foreign"));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_limits_hold_on_create_update_and_patch() {
    let (h, admin, _alice, _bob) = harness().await;
    let repo = h.repo.url();
    let base = |ns: &str| h.application("limited", "mine", "guestbook", ns);
    let mut attempts: Vec<(&str, Value)> = Vec::new();
    let mut other_repo = base("mine-a");
    other_repo["spec"]["source"]["repoURL"] = json!("https://github.com/evil/repo.git");
    attempts.push(("repository not in sourceRepos", other_repo));
    let mut dotted = base("mine-a");
    dotted["spec"]["source"]["repoURL"] = json!(format!("{repo}/../../evil"));
    attempts.push(("'..' after an allowed repository", dotted));
    let mut encoded = base("mine-a");
    encoded["spec"]["source"]["repoURL"] = json!(format!("{repo}/%2e%2e/evil"));
    attempts.push(("percent-encoded '..'", encoded));
    attempts.push(("namespace outside mine-*", base("kube-system")));
    let mut both = base("mine-a");
    both["spec"]["destination"]["name"] = json!("some-other-cluster");
    attempts.push(("server and name both set", both));
    let mut by_name = base("mine-a");
    by_name["spec"]["destination"] = json!({"name": "in-cluster", "namespace": "kube-system"});
    attempts.push(("destination by name", by_name));
    let mut multi = base("mine-a");
    multi["spec"]["sources"] = json!([
        {"repoURL": repo, "path": "guestbook"},
        {"repoURL": "https://github.com/evil/other", "path": "."}
    ]);
    attempts.push(("second source not allowed", multi));
    for (what, app) in &attempts {
        let (s, v) = h.post("/api/v1/applications", &admin, app.clone()).await;
        assert_eq!(s, 400, "create, {what}: {v}");
    }
    // the same on update (PUT, PUT spec) and patch of an allowed Application
    let (s, v) = h.post("/api/v1/applications", &admin, base("mine-a")).await;
    assert_eq!(s, 200, "{v}");
    for (what, app) in &attempts {
        let mut body = h.cluster.app("limited").await;
        body["spec"] = app["spec"].clone();
        let (s, v) = h
            .call(
                Method::PUT,
                "/api/v1/applications/limited",
                &admin,
                Some(body),
            )
            .await;
        assert_eq!(s, 400, "update, {what}: {v}");
        let (s, v) = h
            .call(
                Method::PUT,
                "/api/v1/applications/limited/spec",
                &admin,
                Some(app["spec"].clone()),
            )
            .await;
        assert_eq!(s, 400, "update spec, {what}: {v}");
        let (s, v) = h
            .call(
                Method::PATCH,
                "/api/v1/applications/limited",
                &admin,
                Some(json!({"patch": json!({"spec": app["spec"]}).to_string()})),
            )
            .await;
        assert_eq!(s, 400, "patch, {what}: {v}");
    }
    let stored = h.cluster.app("limited").await;
    assert_eq!(stored["spec"]["destination"]["namespace"], "mine-a");
    assert_eq!(stored["spec"]["source"]["repoURL"], json!(repo));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_role_tokens_cannot_widen_their_project() {
    let (h, admin, _alice, _bob) = harness().await;
    let (_, mut proj) = h.get("/api/v1/projects/mine", &admin).await;
    proj["spec"]["roles"] = json!([{"name": "ci", "policies": [
        "p, proj:mine:ci, projects, update, mine, allow",
        "p, proj:mine:ci, projects, delete, mine, allow",
        "p, proj:mine:ci, applications, get, mine/*, allow",
        "p, proj:mine:ci, applications, sync, mine/*, allow",
        "p, proj:mine:ci, repositories, create, mine/*, allow"
    ]}]);
    let (s, v) = h
        .call(
            Method::PUT,
            "/api/v1/projects/mine",
            &admin,
            Some(json!({"project": proj})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = h
        .post(
            "/api/v1/projects/mine/roles/ci/token",
            &admin,
            json!({"id": "t1"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let ci = v["token"].as_str().unwrap().to_string();
    // it works inside its project
    let (s, v) = h
        .post("/api/v1/applications/mine-app/sync", &ci, json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    // but may not change the project (which would let it allow any repository or destination),
    // mint more tokens, delete it, or read another project's applications
    let (_, mut wider) = h.get("/api/v1/projects/mine", &admin).await;
    wider["spec"]["destinations"] = json!([{"server": "*", "namespace": "*"}]);
    wider["spec"]["sourceRepos"] = json!(["*"]);
    let (s, v) = h
        .call(
            Method::PUT,
            "/api/v1/projects/mine",
            &ci,
            Some(json!({"project": wider})),
        )
        .await;
    assert_eq!(s, 403, "{v}");
    let (s, v) = h
        .post("/api/v1/projects/mine/roles/ci/token", &ci, json!({}))
        .await;
    assert_eq!(s, 403, "{v}");
    let (s, v) = h
        .call(Method::DELETE, "/api/v1/projects/mine", &ci, None)
        .await;
    assert_eq!(s, 403, "{v}");
    let (s, v) = h.get("/api/v1/applications/victim", &ci).await;
    assert_eq!(s, 403, "{v}");
    let (s, v) = h
        .post(
            "/api/v1/repositories",
            &ci,
            json!({"repo": "https://127.0.0.1:1/ci.git", "project": "mine"}),
        )
        .await;
    assert_eq!(s, 403, "{v}");
    let (_, stored) = h.get("/api/v1/projects/mine", &admin).await;
    assert_eq!(stored["spec"]["sourceRepos"], json!([h.repo.url()]));
    h.shutdown().await;
}

/// Syncs an Application of project `mine` (destinations `mine-*` only) whose directory `dir`
/// holds `own` (no namespace) and `extra`, and waits until the controller reports a project
/// violation naming `reason`.
async fn sync_escaping(dir: &str, extra: &str, reason: &str) -> Harness {
    let h = Harness::start(Options {
        controller: true,
        ..Options::default()
    })
    .await;
    let admin = h.admin_token().await;
    let (s, v) = h
        .post(
            "/api/v1/projects",
            &admin,
            json!({"project": {"metadata": {"name": "mine"}, "spec": {
                "sourceRepos": [h.repo.url()],
                "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "mine-*"}]
            }}}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    h.cluster
        .apply(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mine-a"}}))
        .await;
    h.repo.commit(
        &[(
            &format!("{dir}/own.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: own\ndata:\n  k: v\n",
        )],
        &[],
    );
    let mut app = h.application(dir, "mine", dir, "mine-a");
    app["spec"]["syncPolicy"] = json!({"automated": {}});
    let (s, v) = h.post("/api/v1/applications", &admin, app.clone()).await;
    assert_eq!(s, 200, "{v}");
    // the escaping manifest arrives with a later commit: the controller refuses it at sync
    h.repo.commit(&[(&format!("{dir}/extra.yaml"), extra)], &[]);
    let (s, v) = h
        .get(&format!("/api/v1/applications/{dir}?refresh=hard"), &admin)
        .await;
    assert_eq!(s, 200, "{v}");
    // and an application created now, when it renders, is refused at once (also for the admin)
    app["metadata"]["name"] = json!(format!("{dir}-late"));
    let (s, v) = h.post("/api/v1/applications", &admin, app).await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not permitted")
            && v["message"].as_str().unwrap_or_default().contains(reason),
        "{v}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let app = h.cluster.app(dir).await;
        let text = app["status"].to_string();
        if text.contains("not permitted") && text.contains(reason) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{dir}: no project violation reported: {}",
            app["status"]
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // give a (wrong) sync the time to apply
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifests_cannot_create_cluster_resources_outside_the_whitelist() {
    let h = sync_escaping(
        "escape-cr",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: planted-admin\nrules:\n- apiGroups: ['*']\n  resources: ['*']\n  verbs: ['*']\n",
        "clusterResourceWhitelist",
    )
    .await;
    assert!(
        h.cluster
            .get(
                "rbac.authorization.k8s.io/v1",
                "ClusterRole",
                None,
                "planted-admin"
            )
            .await
            .is_none(),
        "a cluster-scoped resource was created without clusterResourceWhitelist"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifests_cannot_write_outside_the_projects_namespaces() {
    let h = sync_escaping(
        "escape-ns",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: planted\n  namespace: kube-system\ndata:\n  k: v\n",
        "kube-system",
    )
    .await;
    assert!(
        h.cluster
            .get("v1", "ConfigMap", Some("kube-system"), "planted")
            .await
            .is_none(),
        "a manifest wrote into kube-system"
    );
    h.shutdown().await;
}
