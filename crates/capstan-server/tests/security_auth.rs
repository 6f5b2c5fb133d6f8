//! Security: authentication and brute force, attacked from outside over HTTP (issue 13).
//!
//! - the initial admin password is random and only its bcrypt hash is kept in argocd-secret;
//! - forged tokens (alg none in any case, wrong key, tampered claims, HS/RS confusion, other HS
//!   algorithms, expired, issued before a password change, of a disabled account) get 401 - also
//!   with anonymous access enabled, where a bad token must never fall back to anonymous;
//! - OIDC: ID tokens with a wrong audience, issuer, expiry or key are refused, the login flow's
//!   `state`, nonce and PKCE verifier are random and checked, and a provider whose TLS certificate
//!   is not trusted is refused (a provider run in the test process, see `security/idp.rs`);
//! - login: unknown users get the same answer after the same bcrypt work as wrong passwords; a few
//!   hundred parallel attempts are throttled (not all checked) without harming the server; random
//!   user names from many addresses do not reset a user's count and are throttled themselves.

mod common;
#[path = "security/idp.rs"]
mod idp;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use capstan_server::auth::ratelimit::Limits;
use common::*;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};

fn hs256(key: &[u8], header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn secret_data(h: &Harness) -> std::collections::BTreeMap<String, String> {
    let secret = h
        .cluster
        .get("v1", "Secret", Some("argocd"), "argocd-secret")
        .await
        .expect("argocd-secret exists");
    capstan_settings::secret_data(&secret)
        .unwrap()
        .into_iter()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_admin_password_is_random_and_only_hashed() {
    let a = Harness::start(Options::default()).await;
    let b = Harness::start(Options::default()).await;
    let (pa, pb) = (a.initial_password().await, b.initial_password().await);
    assert_ne!(pa, pb, "two installations got the same initial password");
    assert!(pa.len() >= 16, "initial password too short: {}", pa.len());
    assert!(pa.chars().all(|c| c.is_ascii_alphanumeric()));
    let data = secret_data(&a).await;
    let hash = data.get("admin.password").expect("admin.password is set");
    assert!(
        hash.starts_with("$2"),
        "admin.password is not a bcrypt hash"
    );
    assert!(
        !data.values().any(|v| v == &pa),
        "plaintext in argocd-secret"
    );
    assert!(data.contains_key("admin.passwordMtime"));
    assert!(data.get("server.secretkey").is_some_and(|k| k.len() >= 32));
    // the password works, a well-known default does not
    assert_eq!(a.login("admin", &pa).await.status(), 200);
    for guess in ["admin", "password", "argocd"] {
        assert_eq!(a.login("admin", guess).await.status(), 401);
    }
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_tokens_get_401_even_with_anonymous_access() {
    let h = Harness::start(Options {
        cm: Some(json!({
            "users.anonymous.enabled": "true",
            "accounts.carol": "login",
            "accounts.ci": "apiKey",
        })),
        rbac: Some(json!({"policy.default": "role:readonly"})),
        ..Options::default()
    })
    .await;
    let admin = h.admin_token().await;
    // anonymous (no token at all) is read-only
    let (s, _) = h.get("/api/v1/applications", "").await;
    assert_eq!(s, 200, "anonymous access is enabled");
    let (s, _) = h
        .post(
            "/api/v1/projects",
            "",
            json!({"project": {"metadata": {"name": "anon"}, "spec": {}}}),
        )
        .await;
    assert_eq!(s, 403, "anonymous may not create projects");

    let key = secret_data(&h).await["server.secretkey"].clone();
    let parts: Vec<&str> = admin.split('.').collect();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let body = parts[1];
    let mut forged: Vec<(&str, String)> = Vec::new();
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
        forged.push(("alg none, empty signature", format!("{header}.{body}.")));
        forged.push(("alg none, no signature part", format!("{header}.{body}")));
        forged.push((
            "alg none, original signature",
            format!("{header}.{body}.{}", parts[2]),
        ));
    }
    let hs = json!({"alg": "HS256", "typ": "JWT"});
    forged.push(("signed with a guessed key", hs256(b"secret", &hs, &claims)));
    forged.push(("signed with an empty key", hs256(b"", &hs, &claims)));
    let mut root = claims.clone();
    root["sub"] = json!("root");
    forged.push((
        "tampered subject, original signature",
        format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(root.to_string()),
            parts[2]
        ),
    ));
    forged.push((
        "HS512 header",
        hs256(key.as_bytes(), &json!({"alg": "HS512"}), &claims),
    ));
    // HS/RS confusion: RS256 in the header, an HMAC by the server key as signature
    forged.push((
        "RS256 header with an HMAC signature",
        hs256(
            key.as_bytes(),
            &json!({"alg": "RS256", "typ": "JWT"}),
            &claims,
        ),
    ));
    // signed with the real key, but expired / not yet valid / issued before the password's mtime
    let mut expired = claims.clone();
    expired["exp"] = json!(now() - 10);
    forged.push(("expired", hs256(key.as_bytes(), &hs, &expired)));
    let mut future = claims.clone();
    future["nbf"] = json!(now() + 3600);
    forged.push(("not yet valid", hs256(key.as_bytes(), &hs, &future)));
    let mut stale = claims.clone();
    stale["iat"] = json!(1_000_000);
    stale["nbf"] = json!(1_000_000);
    forged.push((
        "issued before the password change",
        hs256(key.as_bytes(), &hs, &stale),
    ));
    forged.push(("garbage", "a.b.c".to_string()));
    for (what, token) in &forged {
        for path in ["/api/v1/applications", "/api/v1/account"] {
            let (s, v) = h.get(path, token).await;
            assert_eq!(s, 401, "{what} at {path}: {v}");
        }
        // the cookie is checked the same way
        let r = h
            .http
            .get(format!("{}/api/v1/applications", h.url))
            .header("cookie", format!("argocd.token={token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{what} as cookie");
        // and userinfo does not call it logged in
        let (_, info) = h.get("/api/v1/session/userinfo", token).await;
        assert_eq!(info["loggedIn"], false, "{what}");
    }
    // the real token still works
    assert_eq!(h.get("/api/v1/account", &admin).await.0, 200);

    // sessions and API keys end when the account is disabled
    h.set_password(&admin, "carol", "carol-password").await;
    let carol = h.token_of("carol", "carol-password").await;
    let (s, v) = h
        .post("/api/v1/account/ci/token", &admin, json!({"id": "k1"}))
        .await;
    assert_eq!(s, 200, "{v}");
    let api_key = v["token"].as_str().unwrap().to_string();
    assert_eq!(h.get("/api/v1/applications", &carol).await.0, 200);
    assert_eq!(h.get("/api/v1/applications", &api_key).await.0, 200);
    h.cluster
        .apply(&config_map(
            "argocd-cm",
            json!({
                "users.anonymous.enabled": "true",
                "accounts.carol": "login", "accounts.carol.enabled": "false",
                "accounts.ci": "apiKey", "accounts.ci.enabled": "false",
            }),
        ))
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let c = h.get("/api/v1/applications", &carol).await.0;
        let k = h.get("/api/v1/applications", &api_key).await.0;
        if c == 401 && k == 401 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "disabled accounts accepted: {c} {k}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // a password change ends the sessions issued before it (iat < passwordMtime)
    let pw = h.initial_password().await;
    let (s, v) = h
        .call(
            Method::PUT,
            "/api/v1/account/password",
            &admin,
            Some(json!({"currentPassword": pw, "newPassword": "changed-admin-pw"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(h.get("/api/v1/account", &admin).await.0, 401);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_users_get_the_same_answer_after_the_same_work() {
    let h = Harness::start(Options {
        cm: Some(json!({"accounts.carol": "login"})),
        limits: Limits {
            max_failures: 1000,
            max_source_failures: 1000,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            ..Limits::default()
        },
        ..Options::default()
    })
    .await;
    let admin = h.admin_token().await;
    h.set_password(&admin, "carol", "carol-password").await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    let mut bodies = std::collections::BTreeSet::new();
    for i in 0..8 {
        for (user, times) in [("carol", &mut known), ("nobody-here", &mut unknown)] {
            let started = Instant::now();
            let r = h.login(user, &format!("wrong-{i}")).await;
            times.push(started.elapsed());
            assert_eq!(r.status(), 401);
            bodies.insert(r.text().await.unwrap());
        }
    }
    assert_eq!(bodies.len(), 1, "different answers: {bodies:?}");
    known.sort();
    unknown.sort();
    let (k, u) = (known[known.len() / 2], unknown[unknown.len() / 2]);
    // an unknown user costs a bcrypt check too: without it the answer would come in well under
    // a tenth of the time
    assert!(
        u * 2 >= k && k * 2 >= u,
        "median answer: known user {k:?}, unknown user {u:?}"
    );
    h.shutdown().await;
}

/// A client whose connections come from `ip` (any 127.0.0.0/8 address reaches the server).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn login_from(client: &reqwest::Client, url: &str, user: &str, pw: &str) -> u16 {
    client
        .post(format!("{url}/api/v1/session"))
        .json(&json!({"username": user, "password": pw}))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_and_random_name_floods_are_throttled() {
    let h = Harness::start(Options {
        cm: Some(json!({"accounts.carol": "login"})),
        limits: Limits {
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(100),
            max_users: 50,
            ..Limits::default()
        },
        ..Options::default()
    })
    .await;
    let admin = h.admin_token().await;
    h.set_password(&admin, "carol", "carol-password").await;

    // 300 parallel guesses of admin's password from one address: only the first few are checked
    let started = Instant::now();
    let attacker = client_from("127.0.0.2");
    let mut tasks = Vec::new();
    for i in 0..300 {
        let (c, url) = (attacker.clone(), h.url.clone());
        tasks.push(tokio::spawn(async move {
            login_from(&c, &url, "admin", &format!("guess-{i}")).await
        }));
    }
    let mut counts = std::collections::BTreeMap::new();
    for t in tasks {
        *counts.entry(t.await.unwrap()).or_insert(0) += 1;
    }
    let took = started.elapsed();
    assert_eq!(counts.get(&200), None, "{counts:?}");
    assert!(counts.get(&401).copied().unwrap_or(0) <= 5, "{counts:?}");
    assert_eq!(
        counts.get(&401).copied().unwrap_or(0) + counts.get(&429).copied().unwrap_or(0),
        300,
        "every attempt answered 401 or 429: {counts:?}"
    );
    // the server is alive and serves others (admin's own session still works)
    assert_eq!(h.get("/api/v1/account", &admin).await.0, 200);
    assert_eq!(
        reqwest::get(format!("{}/healthz", h.url))
            .await
            .unwrap()
            .status(),
        200
    );
    eprintln!("300 parallel attempts answered in {took:?}: {counts:?}");

    // carol: three failures from one address
    let c1 = client_from("127.0.0.3");
    for _ in 0..3 {
        assert_eq!(login_from(&c1, &h.url, "carol", "wrong").await, 401);
    }
    // a flood of random names from 40 addresses (below each address's own limit) fills the
    // bounded table: carol's count is not reset, and the new names are throttled themselves
    let mut flood = Vec::new();
    for a in 0..40 {
        let c = client_from(&format!("127.0.1.{}", a + 1));
        let url = h.url.clone();
        flood.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in 0..5 {
                out.push(login_from(&c, &url, &format!("random-{a}-{i}"), "x").await);
            }
            out
        }));
    }
    let mut flood_codes = Vec::new();
    for t in flood {
        flood_codes.extend(t.await.unwrap());
    }
    assert!(
        flood_codes.iter().all(|c| *c == 401 || *c == 429),
        "{flood_codes:?}"
    );
    assert!(
        flood_codes.contains(&429),
        "random names in a full table were never throttled"
    );
    // two more failures lock carol (5 in all), even from a fresh address with the right password
    let c2 = client_from("127.0.0.4");
    for _ in 0..2 {
        let code = login_from(&c2, &h.url, "carol", "wrong").await;
        assert_eq!(code, 401);
    }
    let c3 = client_from("127.0.0.5");
    assert_eq!(
        login_from(&c3, &h.url, "carol", "carol-password").await,
        429
    );
    h.shutdown().await;
}

// ---------------------------------------------------------------- OIDC

async fn with_oidc(h: &Harness, issuer: &str) {
    h.cluster
        .apply(&config_map(
            "argocd-cm",
            json!({
                "url": h.url,
                "oidc.config": format!(
                    "name: Test\nissuer: {issuer}\nclientID: capstan\nclientSecret: $oidc.clientSecret\ncliClientID: capstan-cli\n"
                ),
            }),
        ))
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, s) = h.get("/api/v1/settings", "").await;
        if s["oidcConfig"]["issuer"] == json!(issuer) {
            return;
        }
        assert!(Instant::now() < deadline, "oidc.config not picked up: {s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn id_claims(issuer: &str, aud: &str, nonce: Option<&str>) -> Value {
    let mut c = json!({"iss": issuer, "sub": "sso-user", "aud": aud, "iat": now(),
                       "exp": now() + 300, "groups": ["devs"]});
    if let Some(n) = nonce {
        c["nonce"] = json!(n);
    }
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_tokens_and_login_flow_are_verified() {
    let key = idp::RsaKey::generate();
    let other = idp::RsaKey::generate();
    let provider = idp::Idp::start(json!({"keys": [key.jwk("k1")]}), false).await;
    let h = Harness::start(Options {
        rbac: Some(json!({"policy.csv": "g, devs, role:readonly\n"})),
        secret: Some(json!({"oidc.clientSecret": "client-secret-value"})),
        ..Options::default()
    })
    .await;
    with_oidc(&h, &provider.issuer).await;
    let iss = provider.issuer.clone();
    let rs = |kid: &str| json!({"alg": "RS256", "typ": "JWT", "kid": kid});

    // ID tokens as bearer tokens: the good one, then every broken variant
    let good = key.sign(&rs("k1"), &id_claims(&iss, "capstan-cli", None));
    let (s, v) = h.get("/api/v1/applications", &good).await;
    assert_eq!(s, 200, "{v}");
    let mut bad: Vec<(&str, String)> = vec![
        (
            "wrong audience",
            key.sign(&rs("k1"), &id_claims(&iss, "someone-else", None)),
        ),
        (
            "wrong issuer",
            key.sign(
                &rs("k1"),
                &id_claims("https://evil.example", "capstan", None),
            ),
        ),
        (
            "signed by another key",
            other.sign(&rs("k1"), &id_claims(&iss, "capstan", None)),
        ),
        (
            "unknown kid, other key",
            other.sign(&rs("k9"), &id_claims(&iss, "capstan", None)),
        ),
    ];
    let mut expired = id_claims(&iss, "capstan", None);
    expired["exp"] = json!(now() - 5);
    bad.push(("expired", key.sign(&rs("k1"), &expired)));
    let mut no_exp = id_claims(&iss, "capstan", None);
    no_exp.as_object_mut().unwrap().remove("exp");
    bad.push(("no expiry", key.sign(&rs("k1"), &no_exp)));
    // HS/RS confusion: HS256 with the provider's public key (as JWK text and modulus) as secret
    let claims = id_claims(&iss, "capstan", None);
    bad.push((
        "HS256 keyed with the public JWK",
        hs256(
            key.jwk("k1").to_string().as_bytes(),
            &json!({"alg": "HS256"}),
            &claims,
        ),
    ));
    bad.push((
        "HS256 keyed with the modulus",
        hs256(&key.n, &json!({"alg": "HS256"}), &claims),
    ));
    let parts: Vec<String> = good.split('.').map(String::from).collect();
    let mut admin_claims = id_claims(&iss, "capstan-cli", None);
    admin_claims["groups"] = json!(["admins", "devs"]);
    admin_claims["sub"] = json!("admin");
    bad.push((
        "tampered claims",
        format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(admin_claims.to_string()),
            parts[2]
        ),
    ));
    for (what, token) in &bad {
        let (s, v) = h.get("/api/v1/applications", token).await;
        assert_eq!(s, 401, "{what}: {v}");
    }
    // made-up key ids do not make the server fetch the provider's keys each time
    let before = provider.state.lock().unwrap().jwks_fetches;
    for i in 0..20 {
        let t = other.sign(
            &rs(&format!("made-up-{i}")),
            &id_claims(&iss, "capstan", None),
        );
        assert_eq!(h.get("/api/v1/applications", &t).await.0, 401);
    }
    let fetched = provider.state.lock().unwrap().jwks_fetches - before;
    assert!(
        fetched <= 2,
        "{fetched} JWKS fetches for 20 unknown key ids"
    );

    // the browser flow: state, nonce and PKCE verifier are random per login
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut logins = Vec::new();
    for _ in 0..2 {
        let r = no_redirect
            .get(format!(
                "{}/auth/login?return_url=https://evil.example/",
                h.url
            ))
            .send()
            .await
            .unwrap();
        if r.status() != 303 {
            let status = r.status();
            panic!(
                "/auth/login answered {status}: {}",
                r.text().await.unwrap_or_default()
            );
        }
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
        let location = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        let q: std::collections::HashMap<String, String> =
            location.query_pairs().into_owned().collect();
        assert_eq!(q["code_challenge_method"], "S256");
        assert!(q["state"].len() >= 20 && q["nonce"].len() >= 20, "{q:?}");
        assert!(!cookie.contains(&q["state"]) || cookie.contains("HttpOnly"));
        logins.push((q, cookie.split(';').next().unwrap().to_string()));
    }
    let (q1, c1) = &logins[0];
    let (q2, _) = &logins[1];
    for k in ["state", "nonce", "code_challenge"] {
        assert_ne!(q1[k], q2[k], "{k} repeats between logins");
    }
    let callback = |state: &str, cookie: &str| {
        no_redirect
            .get(format!("{}/auth/callback?code=c0de&state={state}", h.url))
            .header("cookie", cookie.to_string())
            .send()
    };
    provider.state.lock().unwrap().challenge = q1["code_challenge"].clone();
    // a state of another login, a made-up state, or no login cookie: refused
    for (state, cookie) in [
        (q2["state"].as_str(), c1.as_str()),
        ("guessed", c1.as_str()),
        (q1["state"].as_str(), "argocd.oauthstate=forged.AAAA"),
        (q1["state"].as_str(), ""),
    ] {
        let r = callback(state, cookie).await.unwrap();
        assert_eq!(r.status(), 401, "state {state} cookie {cookie}");
    }
    // the right state, but the ID token carries another login's nonce: refused
    provider.state.lock().unwrap().id_token =
        key.sign(&rs("k1"), &id_claims(&iss, "capstan", Some(&q2["nonce"])));
    let r = callback(&q1["state"], c1).await.unwrap();
    assert_eq!(r.status(), 401, "{}", r.text().await.unwrap());
    // the verifier the server sent matches the challenge of its login (the provider checked it)
    let verifier = provider
        .state
        .lock()
        .unwrap()
        .verifier_seen
        .clone()
        .unwrap();
    assert!(verifier.len() >= 43, "PKCE verifier too short");
    // wrong audience through the flow: refused
    provider.state.lock().unwrap().id_token = key.sign(
        &rs("k1"),
        &id_claims(&iss, "capstan-other", Some(&q1["nonce"])),
    );
    assert_eq!(callback(&q1["state"], c1).await.unwrap().status(), 401);
    // everything right: a session, and back to a path of this server only
    provider.state.lock().unwrap().id_token =
        key.sign(&rs("k1"), &id_claims(&iss, "capstan", Some(&q1["nonce"])));
    let r = callback(&q1["state"], c1).await.unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with('/') && !location.starts_with("//") && !location.contains("evil"),
        "redirect after login leaves the server: {location}"
    );
    assert!(
        r.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("argocd.token=")),
        "no session cookie"
    );
    provider.stop();
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idp_with_an_untrusted_certificate_is_refused() {
    let key = idp::RsaKey::generate();
    let provider = idp::Idp::start(json!({"keys": [key.jwk("k1")]}), true).await;
    assert!(provider.issuer.starts_with("https://"));
    let h = Harness::start(Options {
        rbac: Some(json!({"policy.default": "role:readonly"})),
        ..Options::default()
    })
    .await;
    with_oidc(&h, &provider.issuer).await;
    // a correctly signed ID token is useless: the keys cannot be fetched over untrusted TLS
    let token = key.sign(
        &json!({"alg": "RS256", "kid": "k1"}),
        &id_claims(&provider.issuer, "capstan", None),
    );
    let (s, v) = h.get("/api/v1/applications", &token).await;
    assert!(s == 401 || s == 503, "{s} {v}");
    assert_eq!(provider.state.lock().unwrap().jwks_fetches, 0);
    // nor does the login start
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/auth/login", h.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let text = r.text().await.unwrap();
    assert!(text.contains("OIDC provider"), "{text}");
    provider.stop();
    h.shutdown().await;
}
