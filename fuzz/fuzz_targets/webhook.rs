//! Webhook requests from anyone on the network: the first byte picks the provider headers, the rest is
//! the body; verification (with and without a configured secret) and payload parsing must only ever
//! answer Ok or an error.
#![no_main]

use http::HeaderMap;
use libfuzzer_sys::fuzz_target;

const EVENTS: &[(&str, &str)] = &[
    ("x-github-event", "push"),
    ("x-github-event", "ping"),
    ("x-gitlab-event", "Push Hook"),
    ("x-gitlab-event", "Tag Push Hook"),
    ("x-event-key", "repo:push"),
    ("x-gitea-event", "push"),
    ("x-gogs-event", "push"),
    ("x-unknown", "push"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let (name, value) = EVENTS[usize::from(selector) % EVENTS.len()];
    let mut headers = HeaderMap::new();
    headers.insert(name, http::HeaderValue::from_static(value));
    if selector & 0x80 != 0 {
        headers.insert(
            "x-hub-signature-256",
            http::HeaderValue::from_static("sha256=00"),
        );
        headers.insert("x-gitlab-token", http::HeaderValue::from_static("t"));
    }
    let with_secret = |_: &str| Some("s3cret".to_string());
    let without = |_: &str| None;
    let _ = capstan_webhook::verify(&headers, body, with_secret);
    if let Ok(provider) = capstan_webhook::verify(&headers, body, without)
        && let Ok(Some(push)) = capstan_webhook::parse(provider, &headers, body)
    {
        for url in &push.urls {
            let _ = capstan_webhook::canonical_url(url);
        }
        let source = serde_json::json!({"repoURL": push.urls.first(), "path": push.revision,
            "targetRevision": push.default_branch});
        let _ = capstan_webhook::source_affected(&source, Some(&push.revision), &push);
    }
});
