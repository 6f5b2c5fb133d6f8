//! Endpoints about one synced application's resources: managed-resources compared as the controller
//! compares (the Application's ignoreDifferences and argocd-cm's), Secret values masked, server-side
//! diff; resource actions (built-in and argocd-cm Lua); pod logs.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const SECRET: &str = "apiVersion: v1
kind: Secret
metadata:
  name: guestbook-secret
type: Opaque
data:
  password: c3VwZXItc2VjcmV0LXZhbHVl
";

const CM: &str = "jsonPointers:\n- /metadata/labels/drifted\n";

const SERVICE_ACTIONS: &str = "discovery.lua: |
  return {label = {}}
definitions:
- name: label
  action.lua: |
    if obj.metadata.labels == nil then obj.metadata.labels = {} end
    obj.metadata.labels[\"acted\"] = actionParams[\"value\"] or \"yes\"
    return obj
";

async fn synced(h: &Harness, token: &str, name: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (_, app) = h.get(&format!("/api/v1/applications/{name}"), token).await;
        if sync_status(&app) == "Synced" && health(&app) == "Healthy" {
            return app;
        }
        assert!(Instant::now() < deadline, "never synced: {}", app["status"]);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn modified(list: &Value, kind: &str) -> bool {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {list}"))["modified"]
        .as_bool()
        .unwrap()
}

async fn patch_live(h: &Harness, api_version: &str, kind: &str, name: &str, patch: Value) {
    let rt = h.cluster.client.resolve(api_version, kind).await.unwrap();
    h.cluster
        .client
        .merge_patch(&rt, Some("default"), name, &patch)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_resources_honour_ignore_differences() {
    let h = Harness::start(Options {
        controller: true,
        cm: Some(json!({
            "resource.customizations.ignoreDifferences.all": CM,
            "resource.customizations.actions.Service": SERVICE_ACTIONS,
            "accounts.bob": "login",
        })),
        rbac: Some(json!({"policy.default": "role:readonly"})),
        ..Options::default()
    })
    .await;
    h.repo.commit(
        &[
            ("guestbook/guestbook-ui.yaml", GUESTBOOK),
            ("guestbook/secret.yaml", SECRET),
        ],
        &[],
    );
    let token = h.admin_token().await;
    let mut app = h.application("guestbook", "default", "guestbook", "default");
    app["spec"]["syncPolicy"] = json!({"automated": {}});
    app["spec"]["ignoreDifferences"] =
        json!([{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}]);
    let (s, v) = h.post("/api/v1/applications", &token, app).await;
    assert_eq!(s, 200, "{v}");
    synced(&h, &token, "guestbook").await;

    // drift only in ignored fields: the app's rule (replicas), argocd-cm's rule (a label)
    patch_live(
        &h,
        "apps/v1",
        "Deployment",
        "guestbook-ui",
        json!({"spec": {"replicas": 3}}),
    )
    .await;
    patch_live(
        &h,
        "v1",
        "Service",
        "guestbook-ui",
        json!({"metadata": {"labels": {"drifted": "yes"}}}),
    )
    .await;
    let (s, list) = h
        .get("/api/v1/applications/guestbook/managed-resources", &token)
        .await;
    assert_eq!(s, 200, "{list}");
    assert!(!modified(&list, "Deployment"), "{list}");
    assert!(!modified(&list, "Service"), "{list}");
    assert!(!modified(&list, "Secret"), "{list}");
    // Secret values never come back, in any state
    let text = list.to_string();
    assert!(!text.contains("c3VwZXItc2VjcmV0LXZhbHVl"), "{text}");
    assert!(!text.contains("super-secret-value"), "{text}");

    // a difference no rule covers
    patch_live(
        &h,
        "apps/v1",
        "Deployment",
        "guestbook-ui",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "guestbook-ui", "image": "nginx:drifted"}]}}}}),
    )
    .await;
    let (s, list) = h
        .get("/api/v1/applications/guestbook/managed-resources", &token)
        .await;
    assert_eq!(s, 200, "{list}");
    assert!(modified(&list, "Deployment"), "{list}");
    assert!(!modified(&list, "Service"), "{list}");
    let deployment = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "Deployment")
        .unwrap();
    let diff = deployment["diff"].as_str().unwrap();
    assert!(diff.contains("nginx:drifted"), "{diff}");
    assert!(
        !diff.contains("replicas: 3"),
        "ignored field shown in the diff: {diff}"
    );

    // server-side diff (an apply dry run of each desired object) sees the same
    let (s, list) = h
        .get(
            "/api/v1/applications/guestbook/managed-resources?serverSideDiff=true",
            &token,
        )
        .await;
    assert_eq!(s, 200, "{list}");
    assert!(modified(&list, "Deployment"), "{list}");
    assert!(!modified(&list, "Service"), "{list}");
    assert!(!list.to_string().contains("c3VwZXItc2VjcmV0LXZhbHVl"));

    // resource actions: the built-in ones of a Deployment, a configured Lua action of a Service
    let deployment_q =
        "namespace=default&resourceName=guestbook-ui&group=apps&kind=Deployment&version=v1";
    let (s, v) = h
        .get(
            &format!("/api/v1/applications/guestbook/resource/actions?{deployment_q}"),
            &token,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let names: Vec<&str> = v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pause", "restart", "resume", "scale"], "{v}");
    // Argo CD's v1 request: the action name as a JSON string, the resource in the query
    let (s, v) = h
        .post(
            &format!("/api/v1/applications/guestbook/resource/actions?{deployment_q}"),
            &token,
            json!("restart"),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let live = h
        .cluster
        .get("apps/v1", "Deployment", Some("default"), "guestbook-ui")
        .await
        .unwrap();
    let restarted =
        &live["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"];
    assert!(
        restarted.as_str().is_some_and(|t| t.ends_with('Z')),
        "{live}"
    );
    // v2: everything in the body, with parameters
    let (s, v) = h
        .post(
            "/api/v1/applications/guestbook/resource/actions/v2",
            &token,
            json!({"action": "label", "namespace": "default", "resourceName": "guestbook-ui",
                   "group": "", "kind": "Service", "version": "v1",
                   "resourceActionParameters": [{"name": "value", "value": "by-lua"}]}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let service = h
        .cluster
        .get("v1", "Service", Some("default"), "guestbook-ui")
        .await
        .unwrap();
    assert_eq!(
        service["metadata"]["labels"]["acted"], "by-lua",
        "{service}"
    );
    // an action that does not exist, a resource the application does not manage
    let (s, v) = h
        .post(
            &format!("/api/v1/applications/guestbook/resource/actions?{deployment_q}"),
            &token,
            json!("explode"),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("restart"), "{v}");
    let (s, v) = h
        .get(
            "/api/v1/applications/guestbook/resource/actions?namespace=default&resourceName=other&group=apps&kind=Deployment",
            &token,
        )
        .await;
    assert_eq!(s, 404, "{v}");
    // a read-only user lists actions but may not run them
    h.set_password(&token, "bob", "bob-password-1").await;
    let bob = h.token_of("bob", "bob-password-1").await;
    let (s, _) = h
        .get(
            &format!("/api/v1/applications/guestbook/resource/actions?{deployment_q}"),
            &bob,
        )
        .await;
    assert_eq!(s, 200);
    let (s, v) = h
        .post(
            &format!("/api/v1/applications/guestbook/resource/actions?{deployment_q}"),
            &bob,
            json!("restart"),
        )
        .await;
    assert_eq!(s, 403, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("action/apps/Deployment/restart"),
        "{v}"
    );

    // pod logs: a Pod of the resource tree (the restart above rolls the Pods: until the new one runs,
    // the tree may still show one that is going away, so look again until one answers)
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let (pod, r) = loop {
        let (_, tree) = h
            .get("/api/v1/applications/guestbook/resource-tree", &token)
            .await;
        let pod = tree["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["kind"] == "Pod")
            .unwrap_or_else(|| panic!("no Pod in {tree}"))["name"]
            .as_str()
            .unwrap()
            .to_string();
        let r = h
            .http
            .get(format!(
                "{}/api/v1/applications/guestbook/pods/{pod}/logs?namespace=default&container=guestbook-ui",
                h.url
            ))
            .bearer_auth(&bob)
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            break (pod, r);
        }
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        assert!(
            std::time::Instant::now() < deadline,
            "logs of {pod}: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let text = r.text().await.unwrap();
    let entries: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(entries.len() >= 2, "{text}");
    assert_eq!(entries.last().unwrap()["result"]["last"], true);
    assert_eq!(entries[0]["result"]["podName"], pod.as_str());
    assert!(
        !entries[0]["result"]["content"].as_str().unwrap().is_empty(),
        "{text}"
    );
    let (s, v) = h
        .get(
            "/api/v1/applications/guestbook/pods/not-a-pod-of-the-app/logs?namespace=default",
            &token,
        )
        .await;
    assert_eq!(s, 404, "{v}");
    let (s, v) = h
        .get(
            &format!(
                "/api/v1/applications/guestbook/pods/{pod}/logs?namespace=default&container=nope"
            ),
            &token,
        )
        .await;
    assert!(s == 400 || s == 404, "{s} {v}");
    assert!(v["message"].as_str().unwrap().contains("nope"), "{v}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_endpoints_act_on_the_destination_cluster() {
    let h = Harness::start(Options {
        controller: true,
        ..Options::default()
    })
    .await;
    let remote = capstan_testkit::Cluster::start(
        &h.dir.path().join("remote-api"),
        Duration::from_millis(300),
    )
    .await;
    h.repo
        .commit(&[("guestbook/guestbook-ui.yaml", GUESTBOOK)], &[]);
    let token = h.admin_token().await;
    let server = remote.client.server().to_string();
    let (s, v) = h
        .post(
            "/api/v1/clusters",
            &token,
            json!({"server": server, "name": "remote", "config": {"tlsClientConfig": {"insecure": true}}}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let mut app = h.application("guestbook", "default", "guestbook", "default");
    app["spec"]["destination"] = json!({"server": server, "namespace": "default"});
    app["spec"]["syncPolicy"] = json!({"automated": {}});
    let (s, v) = h.post("/api/v1/applications", &token, app).await;
    assert_eq!(s, 200, "{v}");
    synced(&h, &token, "guestbook").await;
    assert!(
        h.cluster
            .get("apps/v1", "Deployment", Some("default"), "guestbook-ui")
            .await
            .is_none(),
        "deployed to the control plane instead of the destination"
    );

    // the live state comes from the destination
    let (s, list) = h
        .get("/api/v1/applications/guestbook/managed-resources", &token)
        .await;
    assert_eq!(s, 200, "{list}");
    let deployment = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "Deployment")
        .unwrap();
    assert_ne!(deployment["liveState"], "null", "{deployment}");
    assert_eq!(deployment["modified"], false, "{deployment}");
    let (s, tree) = h
        .get("/api/v1/applications/guestbook/resource-tree", &token)
        .await;
    assert_eq!(s, 200, "{tree}");
    let pod = tree["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "Pod")
        .unwrap_or_else(|| panic!("no Pod in {tree}"))["name"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _) = h
        .get(
            &format!("/api/v1/applications/guestbook/pods/{pod}/logs?namespace=default"),
            &token,
        )
        .await;
    assert_eq!(s, 200);
    // an action changes the destination's object
    let (s, v) = h
        .post(
            "/api/v1/applications/guestbook/resource/actions?namespace=default&resourceName=guestbook-ui&group=apps&kind=Deployment&version=v1",
            &token,
            json!("restart"),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let live = remote
        .get("apps/v1", "Deployment", Some("default"), "guestbook-ui")
        .await
        .unwrap();
    assert!(
        live["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
            .is_string(),
        "{live}"
    );
    remote.apiserver.stop().await;
    h.shutdown().await;
}
