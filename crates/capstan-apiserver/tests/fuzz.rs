//! Property test: random methods, paths, content types and bodies never make the server panic
//! or answer 5xx, and leave the store consistent (every listed object readable at its
//! resourceVersion, the same after a restart).

use std::time::Duration;

use proptest::prelude::*;
use serde_json::{Value, json};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-zA-Z0-9_./:-]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("metadata".to_string()),
                    Just("name".to_string()),
                    Just("namespace".to_string()),
                    Just("spec".to_string()),
                    Just("status".to_string()),
                    Just("labels".to_string()),
                    Just("finalizers".to_string()),
                    Just("ownerReferences".to_string()),
                    Just("resourceVersion".to_string()),
                    Just("data".to_string()),
                    Just("apiVersion".to_string()),
                    Just("kind".to_string()),
                    "[a-z$]{1,8}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn object_body() -> impl Strategy<Value = Value> {
    (prop_oneof![Just("v1"), Just("apps/v1"), Just("x/v1"), Just("")], prop_oneof![Just("ConfigMap"), Just("Deployment"), Just("Secret"), Just("Nope")], "[a-z0-9-]{1,10}", json_value(), json_value())
        .prop_map(|(av, kind, name, spec, data)| json!({"apiVersion": av, "kind": kind, "metadata": {"name": name, "labels": {"f": "z"}}, "spec": spec, "data": data}))
}

fn path() -> impl Strategy<Value = String> {
    let seg = prop_oneof![
        Just("api".to_string()),
        Just("apis".to_string()),
        Just("v1".to_string()),
        Just("apps".to_string()),
        Just("namespaces".to_string()),
        Just("default".to_string()),
        Just("configmaps".to_string()),
        Just("deployments".to_string()),
        Just("secrets".to_string()),
        Just("status".to_string()),
        Just("scale".to_string()),
        "[a-z0-9%.-]{1,8}",
    ];
    let structured = (
        "[a-z0-9-]{1,6}",
        prop_oneof![Just("configmaps"), Just("secrets")],
        prop::option::of(prop_oneof![Just("/status"), Just("/scale"), Just("/x")]),
    )
        .prop_map(|(name, res, sub)| {
            format!(
                "/api/v1/namespaces/default/{res}/{name}{}",
                sub.unwrap_or("")
            )
        });
    let q = prop::option::of(prop_oneof![
        Just("?watch=true&timeoutSeconds=0".to_string()),
        Just("?dryRun=All".to_string()),
        Just("?labelSelector=a%20in%20(".to_string()),
        Just("?fieldSelector=metadata.name%3Dx".to_string()),
        Just("?fieldManager=f&force=true".to_string()),
        "\\?[a-zA-Z=&%0-9]{0,16}",
    ]);
    (
        prop_oneof![
            prop::collection::vec(seg, 0..7).prop_map(|s| format!("/{}", s.join("/"))),
            Just("/api/v1/namespaces/default/configmaps".to_string()),
            structured
        ],
        q,
    )
        .prop_map(|(p, q)| format!("{p}{}", q.unwrap_or_default()))
}

#[derive(Debug, Clone)]
struct Req {
    method: reqwest::Method,
    path: String,
    ct: &'static str,
    body: Vec<u8>,
}

fn request() -> impl Strategy<Value = Req> {
    let method = prop_oneof![
        Just(reqwest::Method::GET),
        Just(reqwest::Method::POST),
        Just(reqwest::Method::PUT),
        Just(reqwest::Method::PATCH),
        Just(reqwest::Method::DELETE)
    ];
    let ct = prop_oneof![
        Just("application/json"),
        Just("application/yaml"),
        Just("application/merge-patch+json"),
        Just("application/strategic-merge-patch+json"),
        Just("application/json-patch+json"),
        Just("application/apply-patch+yaml"),
        Just("application/vnd.kubernetes.protobuf"),
        Just("text/plain"),
    ];
    let body = prop_oneof![
        object_body().prop_map(|v| v.to_string().into_bytes()),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..200),
        prop::collection::vec(any::<u8>(), 0..60).prop_map(|mut b| {
            let mut v = b"k8s\0".to_vec();
            v.append(&mut b);
            v
        }),
    ];
    (method, path(), ct, body).prop_map(|(method, path, ct, body)| Req {
        method,
        path,
        ct,
        body,
    })
}

#[test]
fn random_requests_never_panic_or_corrupt_the_store() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let running = rt.block_on(async {
        let mut c = capstan_apiserver::Config::new("127.0.0.1:0".parse().unwrap(), &data);
        c.simulation.enabled = false;
        capstan_apiserver::start(c).await.unwrap()
    });
    let url = running.url();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 1000,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(&request(), |r| {
            let resp = rt.block_on(
                client
                    .request(r.method.clone(), format!("{url}{}", r.path))
                    .header("Content-Type", r.ct)
                    .body(r.body.clone())
                    .send(),
            );
            let resp = resp
                .map_err(|e| TestCaseError::fail(format!("request failed (server down?): {e}")))?;
            let code = resp.status().as_u16();
            prop_assert!(code < 500, "{} {} -> {code}", r.method, r.path);
            let health = rt
                .block_on(client.get(format!("{url}/healthz")).send())
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(health.status().as_u16(), 200);
            Ok(())
        })
        .unwrap();
    // Consistency: every listed object is readable at the same resourceVersion.
    let snapshot = |url: &str| -> Vec<Value> {
        let mut all = Vec::new();
        for p in [
            "/api/v1/configmaps",
            "/api/v1/secrets",
            "/apis/apps/v1/deployments",
            "/api/v1/namespaces",
        ] {
            let list: Value = rt.block_on(async {
                client
                    .get(format!("{url}{p}"))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap()
            });
            let list_rv: u64 = list["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            for item in list["items"].as_array().unwrap() {
                let rv: u64 = item["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(rv <= list_rv);
                all.push(item.clone());
            }
        }
        all
    };
    let before = snapshot(&url);
    for o in &before {
        let ns = o["metadata"]["namespace"].as_str();
        let name = o["metadata"]["name"].as_str().unwrap();
        let kind = o["kind"].as_str().unwrap();
        let path = match (kind, ns) {
            ("ConfigMap", Some(ns)) => format!("/api/v1/namespaces/{ns}/configmaps/{name}"),
            ("Secret", Some(ns)) => format!("/api/v1/namespaces/{ns}/secrets/{name}"),
            ("Deployment", Some(ns)) => format!("/apis/apps/v1/namespaces/{ns}/deployments/{name}"),
            (_, _) => format!("/api/v1/namespaces/{name}"),
        };
        let got: Value = rt.block_on(async {
            client
                .get(format!("{url}{path}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        assert_eq!(&got, o);
    }
    rt.block_on(running.stop());
    let running = rt.block_on(async {
        let mut c = capstan_apiserver::Config::new("127.0.0.1:0".parse().unwrap(), &data);
        c.simulation.enabled = false;
        capstan_apiserver::start(c).await.unwrap()
    });
    let after = snapshot(&running.url());
    assert_eq!(before, after, "objects are the same after a restart");
    rt.block_on(running.stop());
}
