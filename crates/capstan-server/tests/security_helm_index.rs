//! A Helm repository under an attacker's control answers the connection test with an endless
//! `index.yaml`: the API server reads only its beginning and answers at once, and the credentials in
//! the repository URL never appear in the message.

mod common;

use common::*;
use serde_json::json;

/// A Helm repository whose `index.yaml` never ends; `entries` is written first or never.
async fn endless_index(with_entries: bool) -> String {
    let app = axum::Router::new().route(
        "/charts/index.yaml",
        axum::routing::get(move || async move {
            let first = if with_entries {
                "apiVersion: v1\nentries:\n"
            } else {
                "apiVersion: v1\n"
            };
            let head =
                futures::stream::once(
                    async move { Ok::<_, std::io::Error>(bytes::Bytes::from(first)) },
                );
            let filler = futures::stream::repeat_with(|| {
                Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'#'; 64 * 1024]))
            });
            axum::body::Body::from_stream(futures::StreamExt::chain(head, filler))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://helm:index-pass-9d2c@{addr}/charts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_helm_index_is_read_only_as_far_as_needed() {
    let h = Harness::start(Options::default()).await;
    let admin = h.admin_token().await;
    for (with_entries, expected) in [(false, "Failed"), (true, "Successful")] {
        let url = endless_index(with_entries).await;
        let (s, v) = h
            .post(
                "/api/v1/repositories",
                &admin,
                json!({"repo": url, "type": "helm", "name": format!("endless-{with_entries}")}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        let state = &v["connectionState"];
        assert_eq!(state["status"], expected, "{v}");
        if !with_entries {
            // it stopped reading: an endless body gives this answer, not a timeout
            assert!(
                state["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("not a Helm repository index"),
                "{v}"
            );
        }
        assert!(!v.to_string().contains("index-pass-9d2c"), "{v}");
    }
    h.shutdown().await;
}
