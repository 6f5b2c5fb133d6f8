use std::sync::Arc;

use base64::Engine;
use serde_json::json;

use super::controller::{Outcome, sync_secret};
use super::*;
use crate::ops::{Cluster, DeleteOptions, WriteOpts};

fn cluster(dir: &Path) -> Cluster {
    let cluster = Cluster::new(Arc::new(crate::store::Store::open(dir).unwrap()));
    let ns = cluster.registry.lookup("", "v1", "namespaces").unwrap();
    cluster
        .create(
            &ns,
            "",
            json!({"metadata": {"name": "kube-system"}}),
            &WriteOpts::default(),
        )
        .unwrap();
    cluster
}

fn create(cluster: &Cluster, resource: &str, obj: Value) -> Value {
    let rt = cluster.registry.lookup("", "v1", resource).unwrap();
    cluster
        .create(&rt, "kube-system", obj, &WriteOpts::default())
        .unwrap()
        .object
}

fn delete(cluster: &Cluster, resource: &str, name: &str) {
    let rt = cluster.registry.lookup("", "v1", resource).unwrap();
    cluster
        .delete(&rt, "kube-system", name, &DeleteOptions::default())
        .unwrap();
}

fn token_secret(name: &str, sa: &str) -> Value {
    json!({"metadata": {"name": name, "annotations": {SA_NAME: sa}}, "type": SECRET_TYPE})
}

fn token_of(cluster: &Cluster, name: &str) -> String {
    let s = stored(cluster, "secrets", "kube-system", name).unwrap();
    let b = base64::engine::general_purpose::STANDARD
        .decode(s["data"]["token"].as_str().unwrap())
        .unwrap();
    String::from_utf8(b).unwrap()
}

#[test]
fn token_secret_is_filled_and_authenticates_until_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(dir.path());
    let tokens = Tokens::load(dir.path(), Some("PEM".into())).unwrap();
    let sa = create(&c, "serviceaccounts", json!({"metadata": {"name": "mgr"}}));
    create(&c, "secrets", token_secret("mgr-token", "mgr"));
    create(
        &c,
        "secrets",
        json!({"metadata": {"name": "plain"}, "type": "Opaque"}),
    );
    assert_eq!(
        sync_secret(&c, &tokens, "kube-system", "mgr-token").unwrap(),
        Outcome::Filled
    );
    assert_eq!(
        sync_secret(&c, &tokens, "kube-system", "mgr-token").unwrap(),
        Outcome::Unchanged
    );
    assert_eq!(
        sync_secret(&c, &tokens, "kube-system", "plain").unwrap(),
        Outcome::Unchanged
    );
    let secret = stored(&c, "secrets", "kube-system", "mgr-token").unwrap();
    assert_eq!(secret["data"]["namespace"], json!(b64(b"kube-system")));
    assert_eq!(secret["data"]["ca.crt"], json!(b64(b"PEM")));
    assert_eq!(meta::annotation(&secret, SA_UID), Some(meta::uid(&sa)));
    let token = token_of(&c, "mgr-token");
    let who = tokens.authenticate(&c, &token).expect("valid token");
    assert_eq!(who.username(), "system:serviceaccount:kube-system:mgr");
    assert_eq!(who.uid, meta::uid(&sa));
    // the claims Argo CD's rotate-auth reads
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        claims["kubernetes.io/serviceaccount/secret.name"],
        "mgr-token"
    );
    assert_eq!(
        claims["kubernetes.io/serviceaccount/namespace"],
        "kube-system"
    );

    // forged or altered tokens are refused
    let mut altered = token.clone();
    altered.pop();
    altered.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert!(tokens.authenticate(&c, &altered).is_none());
    let other_key = Tokens::ephemeral(None).unwrap();
    assert!(other_key.authenticate(&c, &token).is_none());
    assert!(tokens.authenticate(&c, "not-a-jwt").is_none());
    // a second key file load gives the same key (tokens survive a restart)
    let again = Tokens::load(dir.path(), None).unwrap();
    assert!(again.authenticate(&c, &token).is_some());

    // deleting the Secret revokes the token
    delete(&c, "secrets", "mgr-token");
    assert!(tokens.authenticate(&c, &token).is_none());
}

#[test]
fn deleted_or_recreated_service_account_revokes_its_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(dir.path());
    let tokens = Tokens::ephemeral(None).unwrap();
    create(&c, "serviceaccounts", json!({"metadata": {"name": "mgr"}}));
    create(&c, "secrets", token_secret("t1", "mgr"));
    sync_secret(&c, &tokens, "kube-system", "t1").unwrap();
    let token = token_of(&c, "t1");
    assert!(tokens.authenticate(&c, &token).is_some());
    delete(&c, "serviceaccounts", "mgr");
    assert!(tokens.authenticate(&c, &token).is_none());
    // same name, new uid: the old token stays invalid, and its Secret is deleted by the controller
    create(&c, "serviceaccounts", json!({"metadata": {"name": "mgr"}}));
    assert!(tokens.authenticate(&c, &token).is_none());
    assert_eq!(
        sync_secret(&c, &tokens, "kube-system", "t1").unwrap(),
        Outcome::Deleted
    );
    // a token Secret for a ServiceAccount that does not exist is deleted, as Kubernetes does
    create(&c, "secrets", token_secret("t2", "nobody"));
    assert_eq!(
        sync_secret(&c, &tokens, "kube-system", "t2").unwrap(),
        Outcome::Deleted
    );
    assert!(stored(&c, "secrets", "kube-system", "t2").is_none());
}

#[test]
fn token_request_issues_expiring_bound_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(dir.path());
    let tokens = Tokens::ephemeral(None).unwrap();
    let sa = create(&c, "serviceaccounts", json!({"metadata": {"name": "mgr"}}));
    let out = tokens
        .token_request(
            &c,
            "kube-system",
            "mgr",
            json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                   "spec": {"audiences": ["https://kubernetes.default.svc"], "expirationSeconds": 900}}),
        )
        .unwrap();
    let token = out["status"]["token"].as_str().unwrap();
    assert!(out["status"]["expirationTimestamp"].is_string());
    assert_eq!(tokens.authenticate(&c, token).unwrap().uid, meta::uid(&sa));
    let short = tokens.token_request(
        &c,
        "kube-system",
        "mgr",
        json!({"spec": {"expirationSeconds": 60}}),
    );
    assert_eq!(short.unwrap_err().code, 422);
    let missing = tokens.token_request(&c, "kube-system", "nobody", json!({}));
    assert_eq!(missing.unwrap_err().code, 404);
    // an expired bound token is refused
    let identity = ServiceAccountIdentity {
        namespace: "kube-system".into(),
        name: "mgr".into(),
        uid: meta::uid(&sa).to_string(),
    };
    let (expired, _) = tokens.issue_bound(&identity, &[], -5);
    assert!(tokens.authenticate(&c, &expired).is_none());
    delete(&c, "serviceaccounts", "mgr");
    assert!(tokens.authenticate(&c, token).is_none());
}

#[test]
fn token_secret_without_service_account_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(dir.path());
    let rt = c.registry.lookup("", "v1", "secrets").unwrap();
    let err = c
        .create(
            &rt,
            "kube-system",
            json!({"metadata": {"name": "t"}, "type": SECRET_TYPE}),
            &WriteOpts::default(),
        )
        .unwrap_err();
    assert_eq!(err.code, 422);
    assert!(
        err.to_status()
            .to_string()
            .contains("kubernetes.io/service-account.name"),
        "{}",
        err.to_status()
    );
}
