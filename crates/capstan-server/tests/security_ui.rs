//! Attacks on the web UI from outside (issue #13, "Web UI"), over HTTP against the running server:
//!
//! * every value is escaped: markup planted in annotations, `spec.info`, the repository URL, the
//!   path and revision, condition and health messages, operation messages, commit metadata,
//!   resource kinds and names, a project's description, a repository, the login form and the
//!   error page renders as text (`stored_markup_renders_as_text`);
//! * only http(s) URLs become links: `javascript:`, `data:`, `vbscript:` in any case mix, with
//!   whitespace, entities or control characters, in link annotations
//!   (`link.argocd.argoproj.io/*`), `status.summary.externalURLs`, `spec.info` and repoURL never
//!   become an `href` (`only_http_urls_become_links`);
//! * security headers on every UI response: CSP without inline script, nosniff, no framing, and no
//!   inline script, event handler or style in any page (`security_headers_on_every_ui_response`);
//! * CSRF for cookie sessions, including from a sibling subdomain: the API and the UI's form posts
//!   refuse a cookie request whose Origin (or Referer) is not this server, or that has neither;
//!   the cookie is `HttpOnly; SameSite=Strict` (`Secure` behind https)
//!   (`cross_site_and_sibling_subdomain_requests_are_refused`);
//! * redirects after login go only to local paths (`login_redirects_stay_on_this_server`);
//! * error text from query parameters is never shown (`query_text_is_never_shown_as_a_message`).
//!
//! The same payloads are opened in headless Chromium by `ui_e2e.py` (no dialog, no script ran).

mod common;

use common::{GUESTBOOK, Harness, Options};
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::{Value, json};

/// Markup that would run or break out of an attribute if a page printed it unescaped.
const XSS: &[&str] = &[
    "<script>window.__xss=1</script>",
    "\"><img src=x onerror=alert(1)>",
    "'><svg onload=alert(1)>",
    "</textarea><script>alert(2)</script>",
    "x\" onmouseover=\"alert(3)",
];

/// What would be in a page if one of [`XSS`] went through unescaped.
const RAW: &[&str] = &[
    "<script>window.__xss",
    "<script>alert(2)",
    "<img src=x",
    "<svg onload",
    "\"><img",
    "</textarea><script>",
    " onmouseover=\"alert(3)",
];

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn start() -> Harness {
    let h = Harness::start(Options {
        cm: Some(json!({"statusbadge.enabled": "true"})),
        ..Options::default()
    })
    .await;
    h.repo
        .commit(&[("guestbook/guestbook-ui.yaml", GUESTBOOK)], &[]);
    h
}

async fn cookie_of(h: &Harness) -> String {
    let r = client()
        .post(format!("{}/login", h.url))
        .header("origin", &h.url)
        .form(&[
            ("username", "admin"),
            ("password", h.initial_password().await.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let set = r.headers()[SET_COOKIE].to_str().unwrap().to_string();
    set.split(';').next().unwrap().to_string()
}

async fn get(h: &Harness, cookie: &str, path: &str) -> (u16, String) {
    let r = client()
        .get(format!("{}{path}", h.url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn assert_inert(path: &str, body: &str) {
    for raw in RAW {
        assert!(
            !body.contains(raw),
            "{path}: unescaped markup {raw:?} in the page:\n{body}"
        );
    }
}

fn unescape(attr: &str) -> String {
    attr.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Every `href` and `src` of a page (attribute values unescaped, as the browser reads them).
fn urls(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in [" href=\"", " src=\"", " action=\"", " formaction=\""] {
        let mut rest = body;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let end = rest.find('"').unwrap_or(rest.len());
            out.push(unescape(&rest[..end]));
            rest = &rest[end..];
        }
    }
    out
}

/// A URL a browser would only ever load from this server or over http(s).
fn harmless(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    (url.starts_with('/') && !url.starts_with("//") && !url.starts_with("/\\"))
        || url.starts_with('#')
        || url.starts_with('?')
        || ((lower.starts_with("https://") || lower.starts_with("http://"))
            && !url.chars().any(|c| c.is_control() || c.is_whitespace()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_markup_renders_as_text() {
    let h = start().await;
    let token = h.admin_token().await;
    let cookie = cookie_of(&h).await;

    // a manifest in the repository carries markup too: it reaches the diff and desired manifest
    h.repo.commit(
        &[(
            "guestbook/xss-cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: xss-cm\n  namespace: default\ndata:\n  page: \"<script>window.__xss=1</script>\"\n",
        )],
        &[],
    );
    // and an Event about a resource of the application
    let event = json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "xss-event", "namespace": "default"},
        "involvedObject": {"kind": "ConfigMap", "namespace": "default", "name": XSS[1]},
        "type": "Warning", "reason": XSS[2], "message": XSS[0], "count": 1});
    h.cluster.client.create(&event, false).await.unwrap();
    let mut app = h.application("xss", "default", "guestbook", "default");
    app["metadata"]["annotations"] =
        json!({"note": XSS[0], "link.argocd.argoproj.io/docs": XSS[1]});
    app["spec"]["info"] =
        json!([{"name": XSS[0], "value": XSS[1]}, {"name": "a", "value": XSS[4]}]);
    app["spec"]["source"]["targetRevision"] = json!(XSS[2]);
    let (s, v) = h.post("/api/v1/applications", &token, app).await;
    assert_eq!(s, 200, "{v}");
    // the rest straight into the stored object, as a controller, a repository or a cluster could
    // put it there
    let resource = |kind: &str, name: &str, message: &str| {
        json!({"group": "", "version": "v1", "kind": kind, "namespace": "default", "name": name,
               "status": "OutOfSync", "health": {"status": "Degraded", "message": message}})
    };
    h.cluster
        .patch_app(
            "xss",
            &json!({
                "spec": {"source": {"repoURL": format!("https://git.example/{}.git", XSS[1]), "path": XSS[3]}},
                "status": {
                    "health": {"status": "Degraded", "message": XSS[0]},
                    "sync": {"status": "OutOfSync", "revision": XSS[1]},
                    "conditions": [{"type": "ComparisonError", "message": XSS[2]}],
                    "summary": {"externalURLs": [XSS[1]]},
                    "resources": [resource(XSS[0], "cm", XSS[3]), resource("ConfigMap", XSS[1], XSS[4])],
                    "history": [{"id": 1, "revision": XSS[0], "deployedAt": "2026-01-01T00:00:00Z",
                                 "initiatedBy": {"username": XSS[1]}}],
                    "operationState": {"phase": "Failed", "message": XSS[0],
                        "startedAt": "2026-01-01T00:00:00Z", "finishedAt": "2026-01-01T00:00:09Z",
                        "operation": {"initiatedBy": {"username": XSS[2]}},
                        "syncResult": {"revision": XSS[3], "revisionMetadata": {"author": XSS[4], "message": XSS[0]},
                            "resources": [{"group": "", "kind": XSS[1], "namespace": "default", "name": XSS[2],
                                           "status": "SyncFailed", "message": XSS[3], "syncPhase": "Sync"}]}}
                }
            }),
        )
        .await;
    let mut project = h.get("/api/v1/projects/default", &token).await.1;
    project["spec"]["description"] = json!(XSS[0]);
    project["spec"]["roles"] = json!([{"name": "r", "description": XSS[1], "groups": [XSS[2]]}]);
    project["spec"]["syncWindows"] = json!([{"kind": "allow", "schedule": "0 1 * * *", "duration": "1h",
        "applications": [XSS[3]], "timeZone": XSS[4]}]);
    let (s, v) = h
        .call(
            reqwest::Method::PUT,
            "/api/v1/projects/default",
            &token,
            Some(json!({"project": project})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = h
        .post(
            "/api/v1/repositories",
            &token,
            json!({"repo": format!("file:///nonexistent/{}", XSS[1]), "type": "git", "project": "default"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");

    let resource_query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("group", "")
        .append_pair("kind", "ConfigMap")
        .append_pair("namespace", "default")
        .append_pair("name", XSS[1])
        .finish();
    let mut checked = 0;
    for path in [
        "/applications".to_string(),
        "/applications?view=list".into(),
        "/applications/xss".into(),
        "/applications/xss?view=list".into(),
        "/applications/xss?view=graph".into(),
        "/applications/xss?view=graph&group=kind".into(),
        "/applications/xss?group=kind".into(),
        "/applications/xss?group=parent&view=list".into(),
        "/applications/xss?group=health".into(),
        format!("/applications/xss/resource?{resource_query}"),
        format!("/applications/xss/resource?{resource_query}&tab=events"),
        "/applications/xss/diff".into(),
        "/settings/projects".into(),
        "/settings/projects/default".into(),
        "/settings/repositories".into(),
        // a name in the path comes back in the error message
        format!(
            "/applications/{}",
            capstan_ui::pages::apps::urlencode_path(XSS[0])
        ),
    ] {
        let (status, body) = get(&h, &cookie, &path).await;
        assert!(
            status == 200 || path.contains("%3Cscript"),
            "{path}: {status}"
        );
        if path.contains("%3Cscript") {
            println!("{path}: {status}: {body}");
        }
        assert_inert(&path, &body);
        checked += 1;
        // the payloads were really on the page, as text
        if path.starts_with("/applications/xss") && status == 200 && !path.contains("/diff") {
            assert!(
                body.contains("&lt;script&gt;")
                    || body.contains("&lt;svg")
                    || body.contains("&lt;img"),
                "{path}: the planted text is shown escaped"
            );
        }
    }
    assert_eq!(checked, 16);
    let (_, events) = get(
        &h,
        &cookie,
        &format!("/applications/xss/resource?{resource_query}&tab=events"),
    )
    .await;
    assert!(
        events.contains("&lt;script&gt;window.__xss=1&lt;/script&gt;"),
        "the event's message, escaped: {events}"
    );
    // (the xss application's repoURL is markup itself, so its diff is an escaped error; an
    // application of the real repository shows the manifest's text)
    let (s, v) = h
        .post(
            "/api/v1/applications",
            &token,
            h.application("xss-diff", "default", "guestbook", "default"),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, diff) = get(&h, &cookie, "/applications/xss-diff/diff").await;
    assert_inert("/applications/xss-diff/diff", &diff);
    assert!(
        diff.contains("&lt;script&gt;window.__xss=1&lt;/script&gt;"),
        "the manifest's text in the diff, escaped: {diff}"
    );
    let (_, page) = get(&h, &cookie, "/applications/xss").await;
    assert!(page.contains("&lt;script&gt;window.__xss=1&lt;/script&gt;"));
    assert!(page.contains("&lt;/textarea&gt;&lt;script&gt;alert(2)&lt;/script&gt;"));

    // the login form echoes the user name it was given, as text in an attribute
    let r = client()
        .post(format!("{}/login", h.url))
        .header("origin", &h.url)
        .form(&[("username", XSS[1]), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body = r.text().await.unwrap();
    assert_inert("/login", &body);
    assert!(
        body.contains("value=\"&quot;&gt;&lt;img src=x onerror=alert(1)&gt;\""),
        "{body}"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_http_urls_become_links() {
    let h = start().await;
    let token = h.admin_token().await;
    let cookie = cookie_of(&h).await;
    let bad = [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "\tjavascript:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "javascript\u{0}:alert(1)",
        "\u{1}javascript:alert(1)",
        "&#106;avascript:alert(1)",
        "javascript&#58;alert(1)",
        "javascript&colon;alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "DaTa:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "VbScRiPt:msgbox(1)",
        "//evil.example/x",
        "/\\evil.example",
        "https:evil.example",
        "https:/\\evil.example",
        "\u{200b}javascript:alert(1)",
    ];
    let good = [
        "https://grafana.example/d/1?a=b&c=d",
        "HTTP://Docs.Example/x",
    ];
    let mut annotations = serde_json::Map::new();
    for (i, url) in bad.iter().chain(good.iter()).enumerate() {
        annotations.insert(format!("link.argocd.argoproj.io/l{i}"), json!(url));
    }
    let mut app = h.application("links", "default", "guestbook", "default");
    let app_annotations = Value::Object(annotations);
    app["metadata"]["annotations"] = app_annotations.clone();
    app["spec"]["info"] = Value::Array(
        bad.iter()
            .chain(good.iter())
            .map(|u| json!({"name": "i", "value": u}))
            .collect(),
    );
    let (s, v) = h.post("/api/v1/applications", &token, app).await;
    assert_eq!(s, 200, "{v}");
    h.cluster
        .patch_app(
            "links",
            &json!({"status": {"summary": {"externalURLs": bad.iter().chain(good.iter()).collect::<Vec<_>>()}}}),
        )
        .await;
    // a live resource of the application with the same link annotations
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "links-cm", "namespace": "default", "annotations": app_annotations.clone()},
        "data": {"k": "v"}});
    h.cluster.client.create(&cm, false).await.unwrap();
    h.cluster
        .patch_app(
            "links",
            &json!({"status": {"resources": [{"group": "", "version": "v1", "kind": "ConfigMap",
                "namespace": "default", "name": "links-cm", "status": "Synced"}]}}),
        )
        .await;
    // a repoURL that only looks like a web address to a careless check
    let mut evil_repo = h.application("evil-repo", "default", "guestbook", "default");
    evil_repo["spec"]["source"]["repoURL"] = json!("javascript:alert(1)//github.com/a/b.git");
    let (s, v) = h.post("/api/v1/applications", &token, evil_repo).await;
    assert_eq!(s, 200, "{v}");

    for path in [
        "/applications",
        "/applications?view=list",
        "/applications/links",
        "/applications/evil-repo",
        "/applications/links/resource?group=&kind=ConfigMap&namespace=default&name=links-cm",
    ] {
        let (status, body) = get(&h, &cookie, path).await;
        assert_eq!(status, 200, "{path}");
        for url in urls(&body) {
            assert!(harmless(&url), "{path}: dangerous link {url:?}");
        }
    }
    let (_, body) = get(&h, &cookie, "/applications/links").await;
    let links = urls(&body);
    assert!(
        links.contains(&"https://grafana.example/d/1?a=b&c=d".to_string()),
        "{links:?}"
    );
    assert!(
        links.contains(&"http://Docs.Example/x".to_string()),
        "{links:?}"
    );
    let (_, body) = get(
        &h,
        &cookie,
        "/applications/links/resource?group=&kind=ConfigMap&namespace=default&name=links-cm",
    )
    .await;
    assert!(
        urls(&body).contains(&"https://grafana.example/d/1?a=b&c=d".to_string()),
        "the resource's own link annotations: {body}"
    );
    assert!(body.contains("vbscript:msgbox(1)"));
    // each refused URL is still shown, as text
    assert!(body.contains("javascript:alert(1)") && body.contains("vbscript:msgbox(1)"));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_on_every_ui_response() {
    let h = start().await;
    let token = h.admin_token().await;
    let cookie = cookie_of(&h).await;
    let (s, v) = h
        .post(
            "/api/v1/applications",
            &token,
            h.application("app", "default", "guestbook", "default"),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let http = client();
    let mut requests: Vec<(reqwest::Method, String, bool)> = [
        "/",
        "/login",
        "/login?return_url=%2Fsettings",
        "/applications",
        "/applications?view=list",
        "/applications/new",
        "/applications/app",
        "/applications/app?view=graph",
        "/applications/app/diff",
        "/applications/app/resource?kind=Service&name=guestbook-ui&namespace=default",
        "/applications/missing",
        "/settings",
        "/settings/repositories",
        "/settings/clusters",
        "/settings/projects",
        "/settings/projects/default",
        "/settings/accounts",
        "/user-info",
        "/api/badge?name=app",
        "/ui/static/app.css",
        "/ui/static/app.js",
        "/ui/static/icon.svg",
        "/ui/static/nope.js",
    ]
    .iter()
    .map(|p| (reqwest::Method::GET, p.to_string(), true))
    .collect();
    // without a session: redirects to the login page
    requests.push((reqwest::Method::GET, "/applications".into(), false));
    requests.push((reqwest::Method::GET, "/settings/projects".into(), false));
    // refused and accepted form posts
    requests.push((reqwest::Method::POST, "/logout".into(), true));
    requests.push((
        reqwest::Method::POST,
        "/applications/app/parameters".into(),
        true,
    ));
    for (method, path, with_cookie) in requests {
        let mut req = http.request(method.clone(), format!("{}{path}", h.url));
        if with_cookie {
            req = req.header("cookie", &cookie);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let what = format!("{method} {path} ({status})");
        let csp = headers
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"))
            .to_str()
            .unwrap()
            .to_string();
        let script_src = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src") || d.starts_with("default-src"))
            .unwrap_or_default();
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{what}: {csp}"
        );
        assert!(
            script_src.contains("'self'") || script_src.contains("'none'"),
            "{what}: {csp}"
        );
        assert!(
            csp.contains("frame-ancestors 'none'") || csp.contains("frame-ancestors 'self'"),
            "{what}: {csp}"
        );
        assert!(
            csp.contains("base-uri 'none'") && csp.contains("form-action 'self'"),
            "{what}: {csp}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
        let xfo = headers["x-frame-options"].to_str().unwrap();
        assert!(xfo == "DENY" || xfo == "SAMEORIGIN", "{what}: {xfo}");
        let body = r.text().await.unwrap();
        if headers
            .get("content-type")
            .is_some_and(|c| c.to_str().unwrap().starts_with("text/html"))
        {
            // no inline script, event handler or style attribute anywhere (the CSP would block
            // them; none is needed)
            let lower = body.to_ascii_lowercase();
            for (i, _) in lower.match_indices("<script") {
                let tag = &lower[i..i + lower[i..].find('>').unwrap()];
                assert!(tag.contains(" src="), "{what}: inline script {tag}");
            }
            assert!(!lower.contains(" style="), "{what}: inline style");
            assert!(!lower.contains("<style"), "{what}: style element");
            for handler in [
                " onclick=",
                " onload=",
                " onerror=",
                " onsubmit=",
                " onchange=",
            ] {
                assert!(!lower.contains(handler), "{what}: inline handler {handler}");
            }
        }
    }
    // the SSE stream of the list (headers only)
    let r = http
        .get(format!("{}/ui/stream/applications?names=app", h.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(r.headers().contains_key("content-security-policy"));
    drop(r);
    h.shutdown().await;
}

/// Origin, Referer and Host headers of a forged request, and what it stands for.
type Attack = (
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_and_sibling_subdomain_requests_are_refused() {
    let h = start().await;
    let token = h.admin_token().await;
    let cookie = cookie_of(&h).await;
    let http = client();
    let host = h.url.trim_start_matches("http://").to_string();

    // how the UI's own API calls authenticate: the HttpOnly, SameSite=Strict session cookie
    let r = http
        .post(format!("{}/login", h.url))
        .header("origin", &h.url)
        .form(&[
            ("username", "admin"),
            ("password", h.initial_password().await.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let set = r.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(set.starts_with("argocd.token="), "{set}");
    assert!(
        set.contains("; HttpOnly") && set.contains("; SameSite=Strict"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "plain http here: {set}");
    // behind a TLS-terminating proxy the cookie is Secure
    let r = http
        .post(format!("{}/login", h.url))
        .header("origin", &h.url)
        .header("x-forwarded-proto", "https")
        .form(&[
            ("username", "admin"),
            ("password", h.initial_password().await.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );

    let app = h.application("target", "default", "guestbook", "default");
    let create = |origin: Option<&str>, referer: Option<&str>, host_header: Option<&str>| {
        let mut req = http
            .post(format!("{}/api/v1/applications", h.url))
            .header("cookie", &cookie)
            .json(&app);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        if let Some(r) = referer {
            req = req.header("referer", r);
        }
        if let Some(hh) = host_header {
            req = req.header("host", hh);
        }
        req.send()
    };
    // a sibling subdomain shares the site (SameSite does not help) but not the origin
    let attacks: &[Attack] = &[
        (None, None, None, "no Origin and no Referer"),
        (Some("http://evil.example"), None, None, "another site"),
        (
            Some("null"),
            None,
            None,
            "an opaque origin (sandboxed frame, data: URL)",
        ),
        (
            None,
            Some("http://evil.example/page"),
            None,
            "a Referer from another site",
        ),
        (
            Some("https://evil.corp.example"),
            None,
            Some("capstan.corp.example"),
            "a sibling subdomain",
        ),
        (
            None,
            Some("https://evil.corp.example/x"),
            Some("capstan.corp.example"),
            "a sibling subdomain's Referer",
        ),
        (
            Some("https://capstan.corp.example.evil.example"),
            None,
            Some("capstan.corp.example"),
            "a look-alike host",
        ),
        (
            Some("https://corp.example"),
            None,
            Some("capstan.corp.example"),
            "the parent domain",
        ),
        (
            Some("http://capstan.corp.example:8081"),
            None,
            Some("capstan.corp.example:8080"),
            "another port",
        ),
    ];
    for (origin, referer, host_header, what) in attacks {
        let r = create(*origin, *referer, *host_header).await.unwrap();
        assert_eq!(r.status(), 403, "{what}");
        assert!(r.text().await.unwrap().contains("CSRF"), "{what}");
    }
    // the same request from this server's own pages works (so the refusals above are the check)
    let r = create(
        Some("https://capstan.corp.example"),
        None,
        Some("capstan.corp.example"),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // a bearer token (the CLI) is not a cookie a browser sends by itself: no Origin needed
    let (s, v) = h
        .call(
            reqwest::Method::POST,
            "/api/v1/applications/target/sync",
            &token,
            Some(json!({"dryRun": true})),
        )
        .await;
    assert_ne!(s, 403, "{v}");

    // the UI's own form posts: log in (login CSRF), log out, create, edit
    let password = h.initial_password().await;
    let posts: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "/login",
            vec![("username", "admin"), ("password", password.as_str())],
        ),
        ("/logout", vec![]),
        (
            "/applications/new",
            vec![("name", "x"), ("project", "default")],
        ),
        ("/applications/target/parameters", vec![("tool", "helm")]),
        (
            "/settings/projects/default/edit",
            vec![("op", "add-repo"), ("repo", "https://evil.example/r.git")],
        ),
    ];
    for (path, form) in &posts {
        for (origin, host_header) in [
            (None, None),
            (Some("http://evil.example".to_string()), None),
            (
                Some("https://evil.corp.example".to_string()),
                Some("capstan.corp.example"),
            ),
        ] {
            let mut req = http
                .post(format!("{}{path}", h.url))
                .header("cookie", &cookie)
                .form(form);
            if let Some(o) = &origin {
                req = req.header("origin", o);
            }
            if let Some(hh) = host_header {
                req = req.header("host", hh);
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), 403, "POST {path} from {origin:?}");
            assert!(
                r.headers().get(SET_COOKIE).is_none(),
                "POST {path}: no cookie set"
            );
        }
    }
    // nothing of it happened
    let (_, project) = h.get("/api/v1/projects/default", &token).await;
    assert!(
        !project["spec"]["sourceRepos"]
            .to_string()
            .contains("evil.example")
    );
    // the refused logout did not end the session
    let r = http
        .get(format!("{}/applications", h.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "host {host}");
    h.shutdown().await;
}

/// Whether a browser on `http://capstan.test/login` that follows `location` stays on that host
/// (the URL standard's parsing: backslashes, missing slashes, control characters and all).
fn stays_here(location: &str) -> bool {
    let base = url::Url::parse("http://capstan.test/login").unwrap();
    location.starts_with('/')
        && base
            .join(location)
            .is_ok_and(|u| u.host_str() == Some("capstan.test") && u.scheme() == "http")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_redirects_stay_on_this_server() {
    let h = start().await;
    let password = h.initial_password().await;
    let http = client();
    let evil = [
        "//evil.example",
        "//evil.example/applications",
        "/\\evil.example",
        "/\\/evil.example",
        "\\/evil.example",
        "\\\\evil.example",
        "https://evil.example",
        "HTTPS://evil.example",
        "http:evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "%2F%2Fevil.example",
        "%252F%252Fevil.example",
        "/%0d%0aLocation:%20https://evil.example",
        "/\r\nLocation: https://evil.example",
        "/\t/evil.example",
        " //evil.example",
        "\u{0}//evil.example",
        "evil.example",
    ];
    for target in evil {
        // the form's hidden field
        let r = http
            .post(format!("{}/login", h.url))
            .header("origin", &h.url)
            .form(&[
                ("username", "admin"),
                ("password", password.as_str()),
                ("return_url", target),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{target:?}");
        let location = r.headers()[LOCATION].to_str().unwrap().to_string();
        assert!(stays_here(&location), "{target:?} -> {location:?}");
        assert!(r.headers().get_all(LOCATION).iter().count() == 1);
        // the login page's own copy of it (from the URL)
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("return_url", target)
            .finish();
        let body = http
            .get(format!("{}/login?{query}", h.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let field = body
            .split("name=\"return_url\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(unescape)
            .unwrap_or_default();
        assert!(
            stays_here(&field),
            "{target:?}: the login page keeps {field:?}"
        );
    }
    // a local path with its query comes back as it was
    let r = http
        .post(format!("{}/login", h.url))
        .header("origin", &h.url)
        .form(&[
            ("username", "admin"),
            ("password", password.as_str()),
            ("return_url", "/applications/a?health=Degraded&view=list"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()[LOCATION],
        "/applications/a?health=Degraded&view=list"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_text_is_never_shown_as_a_message() {
    let h = start().await;
    let cookie = cookie_of(&h).await;
    let marker = "SessionExpiredCallTheHelpdesk";
    let noise = [
        "error",
        "message",
        "msg",
        "err",
        "sso_error",
        "error_description",
        "flash",
        "notice",
        "alert",
        "status",
        "reason",
        "return_url",
    ];
    let query: String = noise
        .iter()
        .map(|k| format!("{k}={marker}"))
        .collect::<Vec<_>>()
        .join("&");
    for (path, with_cookie) in [
        ("/login", false),
        ("/applications", true),
        ("/applications/new", true),
        ("/applications/missing", true),
        ("/settings", true),
        ("/settings/repositories", true),
        ("/settings/projects/default", true),
        ("/settings/projects/missing", true),
        ("/settings/accounts", true),
        ("/user-info", true),
    ] {
        let mut req = client().get(format!("{}{path}?{query}", h.url));
        if with_cookie {
            req = req.header("cookie", &cookie);
        }
        let r = req.send().await.unwrap();
        let body = r.text().await.unwrap();
        assert!(
            !body.contains(marker),
            "{path} shows text from its query:\n{body}"
        );
    }
    // a failed login says the same fixed words, whatever the form carried
    let r = client()
        .post(format!("{}/login?error={marker}", h.url))
        .header("origin", &h.url)
        .form(&[
            ("username", "admin"),
            ("password", "wrong"),
            ("return_url", marker),
        ])
        .send()
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    assert!(body.contains("Invalid username or password"));
    assert!(!body.contains(marker), "{body}");
    h.shutdown().await;
}

/// The SSO callback is where Argo CD-like servers have shown a provider's (or an attacker's)
/// `error_description` as-is; the callback must answer with fixed words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_callback_does_not_echo_query_text() {
    let h = start().await;
    let marker = "SessionExpiredCallTheHelpdesk";
    let r = client()
        .get(format!(
            "{}/auth/callback?error={marker}&error_description={marker}",
            h.url
        ))
        .send()
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    assert!(!body.contains(marker), "{body}");
    // a standard code is named, its description never
    let r = client()
        .get(format!(
            "{}/auth/callback?error=access_denied&error_description={marker}",
            h.url
        ))
        .send()
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    assert!(
        body.contains("access_denied") && !body.contains(marker),
        "{body}"
    );
    h.shutdown().await;
}
