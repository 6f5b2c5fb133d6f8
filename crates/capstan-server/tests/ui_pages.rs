//! The web UI over plain HTTP (no browser): login redirects and the session cookie, security
//! headers, RBAC reflected in pages, 403/404 pages, CSRF on the create form, the status badge and
//! the embedded assets.

mod common;

use common::{GUESTBOOK, Harness, Options};
use futures::StreamExt;
use reqwest::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};
use serde_json::json;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn start() -> Harness {
    let h = Harness::start(Options {
        cm: Some(json!({"accounts.viewer": "login", "statusbadge.enabled": "true"})),
        rbac: Some(json!({"policy.csv": "g, viewer, role:readonly\n"})),
        ..Options::default()
    })
    .await;
    h.repo
        .commit(&[("guestbook/guestbook-ui.yaml", GUESTBOOK)], &[]);
    h
}

/// Logs in through the form and returns the cookie header value.
async fn form_login(h: &Harness, user: &str, password: &str) -> String {
    let r = client()
        .post(format!("{}/login", h.url))
        .header("origin", &h.url)
        .form(&[
            ("username", user),
            ("password", password),
            ("return_url", "/settings"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], "/settings");
    let cookie = r.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    cookie.split(';').next().unwrap().to_string()
}

async fn page(h: &Harness, cookie: &str, path: &str) -> (u16, String) {
    let r = client()
        .get(format!("{}{path}", h.url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_session_headers_and_logout() {
    let h = start().await;
    let http = client();

    // not logged in: to the login page, coming back afterwards
    let r = http
        .get(format!("{}/applications?health=Degraded", h.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()[LOCATION],
        "/login?return_url=%2Fapplications%3Fhealth%3DDegraded"
    );
    let r = http.get(format!("{}/login", h.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body = r.text().await.unwrap();
    assert!(body.contains("action=\"/login\""));
    assert!(!body.contains("Log in via"), "no SSO configured");

    // a wrong password: the page says so, with 401
    let r = http
        .post(format!("{}/login", h.url))
        .header("origin", &h.url)
        .form(&[("username", "admin"), ("password", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Invalid username or password")
    );

    // an open redirect is refused: the return address stays on this server
    let r = http
        .post(format!("{}/login", h.url))
        .header("origin", &h.url)
        .form(&[
            ("username", "admin"),
            ("password", h.initial_password().await.as_str()),
            ("return_url", "//evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()[LOCATION], "/applications");

    let cookie = form_login(&h, "admin", &h.initial_password().await).await;
    let (status, body) = page(&h, &cookie, "/applications").await;
    assert_eq!(status, 200);
    assert!(body.contains("No applications yet"), "{body}");
    let (status, body) = page(&h, &cookie, "/user-info").await;
    assert_eq!(status, 200);
    assert!(body.contains("<dd id=\"username\">admin</dd>"));

    // logout clears the cookie
    let r = http
        .post(format!("{}/logout", h.url))
        .header("origin", &h.url)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()[LOCATION], "/login");
    assert!(
        r.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .starts_with("argocd.token=;")
    );

    // assets: embedded, cacheable; unknown names are 404
    let r = http
        .get(format!("{}/ui/static/app.js", h.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let r = http
        .get(format!("{}/ui/static/..%2FCargo.toml", h.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_form_rbac_errors_and_badge() {
    let h = start().await;
    let admin_token = h.admin_token().await;
    h.set_password(&admin_token, "viewer", "viewer-password-1")
        .await;
    let admin = form_login(&h, "admin", &h.initial_password().await).await;
    let viewer = form_login(&h, "viewer", "viewer-password-1").await;
    let http = client();
    let form: Vec<(&str, String)> = [
        ("name", "guestbook".to_string()),
        ("project", "default".into()),
        ("repo", h.repo.url()),
        ("path", "guestbook".into()),
        ("revision", "main".into()),
        ("dest_server", "https://kubernetes.default.svc".into()),
        ("dest_namespace", "default".into()),
    ]
    .to_vec();

    // a cookie-authenticated post from another origin is refused (CSRF)
    let r = http
        .post(format!("{}/applications/new", h.url))
        .header("cookie", &admin)
        .header("origin", "http://evil.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("CSRF"));

    // the read-only user gets the form back with the API's 403 message
    let origin = h.url.clone();
    let r = http
        .post(format!("{}/applications/new", h.url))
        .header("cookie", &viewer)
        .header("origin", &origin)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("permission denied: applications, create, default/guestbook, sub: viewer"),
        "{body}"
    );

    // a field error names the field
    let mut bad = form.clone();
    bad[0] = ("name", "Not A Name".to_string());
    let r = http
        .post(format!("{}/applications/new", h.url))
        .header("cookie", &admin)
        .header("origin", &origin)
        .form(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("name: must be a lowercase DNS name")
    );

    // admin creates it
    let r = http
        .post(format!("{}/applications/new", h.url))
        .header("cookie", &admin)
        .header("origin", &origin)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], "/applications/guestbook");

    // RBAC reflected: admin's Sync is enabled, the viewer's is disabled naming the permission
    let (status, body) = page(&h, &admin, "/applications/guestbook").await;
    assert_eq!(status, 200);
    let sync = |body: &str| {
        let tag = body.split("id=\"sync-button\"").nth(1).unwrap().to_string();
        tag[..tag.find('>').unwrap()].to_string()
    };
    assert!(!sync(&body).contains("disabled"), "{}", sync(&body));
    let (status, body) = page(&h, &viewer, "/applications/guestbook").await;
    assert_eq!(status, 200);
    assert!(sync(&body).contains("disabled"));
    assert!(
        sync(&body).contains("You do not have permission: applications, sync, default/guestbook")
    );
    let (_, list) = page(&h, &viewer, "/applications").await;
    assert!(list.contains("data-app=\"guestbook\""));
    assert!(list.contains("You do not have permission: applications, sync, default/guestbook"));

    // 404 page for a missing application; settings pages render
    let (status, body) = page(&h, &admin, "/applications/missing").await;
    assert_eq!(status, 404);
    assert!(body.contains("role=\"alert\""));
    for path in [
        "/settings",
        "/settings/repositories",
        "/settings/clusters",
        "/settings/projects",
        "/settings/projects/default",
        "/settings/accounts",
        "/applications/new",
    ] {
        let (status, body) = page(&h, &admin, path).await;
        assert_eq!(status, 200, "{path}: {body}");
    }

    // the list's compact stream: the page's applications first, then each change, a few bytes each
    let r = http
        .get(format!("{}/ui/stream/applications?names=guestbook", h.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let mut stream = http
        .get(format!("{}/ui/stream/applications?names=guestbook", h.url))
        .header("cookie", &admin)
        .send()
        .await
        .unwrap()
        .bytes_stream();
    let mut next_event = async || -> serde_json::Value {
        loop {
            let chunk = tokio::time::timeout(std::time::Duration::from_secs(20), stream.next())
                .await
                .expect("an event within 20 s")
                .unwrap()
                .unwrap();
            let text = String::from_utf8_lossy(&chunk).to_string();
            if let Some(data) = text.lines().find_map(|l| l.strip_prefix("data: ")) {
                return serde_json::from_str(data).unwrap();
            }
        }
    };
    let first = next_event().await;
    assert_eq!(
        first,
        json!({"type": "MODIFIED", "name": "guestbook", "health": "Unknown", "sync": "Unknown", "op": ""})
    );
    h.cluster
        .patch_app("guestbook", &json!({"metadata": {"labels": {"x": "1"}}}))
        .await;
    let second = next_event().await;
    assert_eq!(second["name"], "guestbook");
    assert_eq!(second["type"], "MODIFIED");
    assert!(second.get("spec").is_none(), "compact: {second}");

    // the badge: public, Unknown before the controller has looked, Not Found for a missing app
    let r = http
        .get(format!(
            "{}/api/badge?name=guestbook&showAppName=true",
            h.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()[CONTENT_TYPE], "image/svg+xml");
    let svg = r.text().await.unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(
        svg.contains(">guestbook<") && svg.contains(">Unknown<"),
        "{svg}"
    );
    let svg = http
        .get(format!("{}/api/badge?name=nope", h.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(svg.contains("Not Found"), "{svg}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_page_offers_sso_when_oidc_is_configured() {
    let h = Harness::start(Options {
        cm: Some(json!({
            "url": "https://capstan.example",
            "oidc.config": "name: Okta\nissuer: https://issuer.example\nclientID: capstan\n"
        })),
        ..Options::default()
    })
    .await;
    let r = client()
        .get(format!("{}/login?return_url=%2Fsettings", h.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("href=\"/auth/login?return_url=%2Fsettings\""),
        "{body}"
    );
    assert!(body.contains("Log in via Okta"), "{body}");
    h.shutdown().await;
}

async fn post_form(h: &Harness, cookie: &str, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = client()
        .post(format!("{}{path}", h.url))
        .header("cookie", cookie)
        .header("origin", &h.url)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get(LOCATION)
        .map(|l| l.to_str().unwrap().to_string());
    let body = r.text().await.unwrap();
    (status, location.unwrap_or(body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameter_forms_project_edits_repository_test_and_graph() {
    let h = start().await;
    let token = h.admin_token().await;
    h.set_password(&token, "viewer", "viewer-password-1").await;
    let admin = form_login(&h, "admin", &h.initial_password().await).await;
    let viewer = form_login(&h, "viewer", "viewer-password-1").await;
    let viewer_token = h.token_of("viewer", "viewer-password-1").await;

    // --- Helm and Kustomize parameter forms, saved through the spec update ---------------------
    let mut charts = h.application("charts", "default", "guestbook", "default");
    charts["spec"]["source"]["helm"] = json!({"releaseName": "r", "parameters": [{"name": "image.tag", "value": "v1", "forceString": true}]});
    let (s, v) = h.post("/api/v1/applications", &token, charts).await;
    assert_eq!(s, 200, "{v}");
    let mut kust = h.application("kust", "default", "guestbook", "default");
    kust["spec"]["source"]["kustomize"] = json!({"namePrefix": "a-"});
    let (s, v) = h.post("/api/v1/applications", &token, kust).await;
    assert_eq!(s, 200, "{v}");

    let (_, body) = page(&h, &admin, "/applications/charts").await;
    assert!(body.contains("Save Helm parameters"), "{body}");
    assert!(body.contains("image.tag=v1"));
    let helm_form = [
        ("tool", "helm"),
        ("source", ""),
        ("values", "replicaCount: 2\n"),
        ("value_files", "values-prod.yaml\n"),
        ("parameters", "image.tag=v2\nservice.type=NodePort\n"),
    ];
    let (status, location) =
        post_form(&h, &admin, "/applications/charts/parameters", &helm_form).await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/applications/charts#parameters")
    );
    let helm = h.cluster.app("charts").await["spec"]["source"]["helm"].clone();
    assert_eq!(helm["values"], "replicaCount: 2\n");
    assert_eq!(helm["valueFiles"], json!(["values-prod.yaml"]));
    assert_eq!(
        helm["parameters"],
        json!([{"name": "image.tag", "value": "v2", "forceString": true},
               {"name": "service.type", "value": "NodePort"}])
    );
    assert_eq!(helm["releaseName"], "r");
    // a bad line is named; a read-only user gets the API's 403; another origin is refused
    let (status, body) = post_form(
        &h,
        &admin,
        "/applications/charts/parameters",
        &[("tool", "helm"), ("parameters", "oops")],
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body.contains("parameters: line 1: expected name=value"),
        "{body}"
    );
    let (status, body) =
        post_form(&h, &viewer, "/applications/charts/parameters", &helm_form).await;
    assert_eq!(status, 403);
    assert!(
        body.contains("permission denied: applications, update, default/charts"),
        "{body}"
    );
    let r = client()
        .post(format!("{}/applications/charts/parameters", h.url))
        .header("cookie", &admin)
        .header("origin", "https://evil.example")
        .form(&helm_form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    let (_, body) = page(&h, &admin, "/applications/kust").await;
    assert!(body.contains("Save Kustomize parameters"), "{body}");
    let (status, _) = post_form(
        &h,
        &admin,
        "/applications/kust/parameters",
        &[
            ("tool", "kustomize"),
            ("images", "nginx=registry.example/nginx:1.27\n"),
            ("name_prefix", "prod-"),
            ("name_suffix", ""),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        h.cluster.app("kust").await["spec"]["source"]["kustomize"],
        json!({"images": ["nginx=registry.example/nginx:1.27"], "namePrefix": "prod-"})
    );

    // --- the graph view and grouping, over HTTP (the browser test looks at them too) -----------
    let (status, body) = page(&h, &admin, "/applications/charts?view=graph&group=kind").await;
    assert_eq!(status, 200);
    assert!(body.contains("<svg class=\"graph\" id=\"tree\""), "{body}");
    let (_, body) = page(&h, &admin, "/applications/charts?group=health").await;
    assert!(
        body.contains("<div class=\"groups\" id=\"tree\" data-group=\"health\">"),
        "{body}"
    );

    // --- project settings: source repos, destinations, roles, sync windows ---------------------
    let edit = "/settings/projects/default/edit";
    let project = async || h.get("/api/v1/projects/default", &token).await.1["spec"].clone();
    let window = [
        ("op", "add-window"),
        ("kind", "deny"),
        ("schedule", "0 22 * * *"),
        ("duration", "1h"),
        ("applications", "charts, kust"),
        ("namespaces", ""),
        ("clusters", ""),
        ("manual_sync", "true"),
        ("time_zone", "Europe/Paris"),
    ];
    let (status, location) = post_form(&h, &admin, edit, &window).await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/settings/projects/default")
    );
    assert_eq!(
        project().await["syncWindows"],
        json!([{"kind": "deny", "schedule": "0 22 * * *", "duration": "1h",
                "applications": ["charts", "kust"], "manualSync": true, "timeZone": "Europe/Paris"}])
    );
    let (_, body) = page(&h, &admin, "/settings/projects/default").await;
    assert!(
        body.contains("Europe/Paris") && body.contains("data-window=\"0\""),
        "{body}"
    );
    let (status, _) = post_form(&h, &admin, edit, &[("op", "remove-window"), ("index", "0")]).await;
    assert_eq!(status, 303);
    assert_eq!(project().await["syncWindows"], json!([]));
    let (status, body) = post_form(
        &h,
        &admin,
        edit,
        &[
            ("op", "add-window"),
            ("kind", "sometimes"),
            ("schedule", "* * * * *"),
            ("duration", "1h"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("kind: must be allow or deny"), "{body}");

    let (status, _) = post_form(
        &h,
        &admin,
        edit,
        &[
            ("op", "add-role"),
            ("role", "ci"),
            ("description", "pipelines"),
            (
                "policies",
                "p, proj:default:ci, applications, sync, default/*, allow",
            ),
            ("groups", "devs"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        project().await["roles"],
        json!([{"name": "ci", "description": "pipelines",
                "policies": ["p, proj:default:ci, applications, sync, default/*, allow"], "groups": ["devs"]}])
    );
    let (status, _) = post_form(
        &h,
        &admin,
        edit,
        &[
            ("op", "add-destination"),
            ("server", "https://kubernetes.default.svc"),
            ("namespace", "team-a"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let dests = project().await["destinations"].clone();
    assert!(
        dests
            .as_array()
            .unwrap()
            .contains(&json!({"server": "https://kubernetes.default.svc", "namespace": "team-a"})),
        "{dests}"
    );
    let (status, _) = post_form(
        &h,
        &admin,
        edit,
        &[("op", "add-repo"), ("repo", "https://git.example/team.git")],
    )
    .await;
    assert_eq!(status, 303);
    assert!(
        project().await["sourceRepos"]
            .as_array()
            .unwrap()
            .contains(&json!("https://git.example/team.git"))
    );
    let (status, _) = post_form(
        &h,
        &admin,
        edit,
        &[
            ("op", "remove-repo"),
            ("repo", "https://git.example/team.git"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert!(
        !project().await["sourceRepos"]
            .as_array()
            .unwrap()
            .contains(&json!("https://git.example/team.git"))
    );
    let (status, _) = post_form(&h, &admin, edit, &[("op", "remove-role"), ("role", "ci")]).await;
    assert_eq!(status, 303);
    assert_eq!(project().await["roles"], json!([]));
    let (status, body) = post_form(&h, &viewer, edit, &window).await;
    assert_eq!(status, 403);
    assert!(
        body.contains("permission denied: projects, update, default"),
        "{body}"
    );

    // --- repositories: "Test connection" (POST /api/v1/repositories/{repo}/validate) ----------
    let (_, body) = page(&h, &admin, "/settings/repositories").await;
    assert!(body.contains("Test connection"), "{body}");
    let validate = |repo: &str| {
        format!(
            "/api/v1/repositories/{}/validate",
            capstan_ui::pages::apps::urlencode_path(repo)
        )
    };
    let good = h.repo.url();
    let (status, v) = h
        .post(&validate(&good), &token, json!({"repo": good}))
        .await;
    assert_eq!((status, v.clone()), (200, json!({})), "{v}");
    let missing = format!("file://{}/missing-repo", h.dir.path().display());
    let (status, v) = h
        .post(&validate(&missing), &token, json!({"repo": missing}))
        .await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or_default()
            .contains("unable to connect to repository"),
        "{v}"
    );
    // as in Argo CD, testing needs repositories/create; nothing was stored
    let (status, v) = h
        .post(&validate(&good), &viewer_token, json!({"repo": good}))
        .await;
    assert_eq!(status, 403, "{v}");
    let (_, list) = h.get("/api/v1/repositories", &token).await;
    assert_eq!(list["items"], json!([]), "validate stores nothing");
    // the wildcard's other methods still answer; a POST that is not /validate is not a route
    let (status, _) = h
        .get(
            &format!(
                "/api/v1/repositories/{}",
                capstan_ui::pages::apps::urlencode_path(&good)
            ),
            &token,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = h
        .post(
            &format!(
                "/api/v1/repositories/{}",
                capstan_ui::pages::apps::urlencode_path(&good)
            ),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(status, 404);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clusters_page_shows_the_controllers_cache_statistics() {
    let h = start().await;
    let password = h.initial_password().await;
    let cookie = form_login(&h, "admin", &password).await;
    // what the controller that owns in-cluster publishes (crates/capstan-controller/src/info.rs)
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    h.cluster
        .apply(&json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "capstan-cluster-info-test", "namespace": "argocd",
                         "labels": {"capstan.dev/cluster-info": "true"}},
            "data": {"server": "https://kubernetes.default.svc", "replica": "r1", "updatedAt": now,
                     "info": json!({
                         "connectionState": {"status": "Successful", "message": "", "attemptedAt": now},
                         "serverVersion": "1.32",
                         "cacheInfo": {"resourcesCount": 1287, "apisCount": 41, "lastCacheSyncTime": now},
                         "applicationsCount": 3}).to_string()}}))
        .await;
    let (s, body) = page(&h, &cookie, "/settings/clusters").await;
    assert_eq!(s, 200);
    for text in [
        "<td>in-cluster</td>".to_string(),
        "<td>41</td>".to_string(),
        "<td>1287</td>".to_string(),
        "<td>3</td>".to_string(),
        format!("<td>{now}</td>"),
    ] {
        assert!(body.contains(&text), "{text} missing in {body}");
    }
    h.shutdown().await;
}
