//! Measurements of the web UI for docs/benchmarks.md (not a test): the first page of the
//! applications list with 10,000 Applications (tiles, list view, a filter, a late page), and the
//! page of one application with 1,500 resources (server time, and the pure tree render time).
//!
//! `cargo run --release -p capstan-server --example bench_ui -- [apps] [resources]`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use capstan_server::{Listen, ServerConfig};
use futures::StreamExt;
use serde_json::{Value, json};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn timed(
    http: &reqwest::Client,
    url: &str,
    cookie: &str,
    n: usize,
) -> (Vec<Duration>, usize) {
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..n {
        let started = Instant::now();
        let r = http.get(url).header("cookie", cookie).send().await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
        size = r.bytes().await.unwrap().len();
        times.push(started.elapsed());
    }
    times.sort();
    (times, size)
}

fn report(label: &str, (times, size): &(Vec<Duration>, usize)) {
    println!(
        "{label}: p50 {:?}, p99 {:?}, max {:?} ({} requests, {} KiB)",
        percentile(times, 0.5),
        percentile(times, 0.99),
        times.last().unwrap(),
        times.len(),
        size / 1024
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let apps: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let resources: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1_500);
    let dir = tempfile::tempdir().unwrap();
    let cluster =
        capstan_testkit::Cluster::start(&dir.path().join("api"), Duration::from_millis(100)).await;
    let started = Instant::now();
    let statuses = [
        ("Healthy", "Synced"),
        ("Degraded", "OutOfSync"),
        ("Progressing", "Synced"),
    ];
    futures::stream::iter(0..apps)
        .for_each_concurrent(64, |i| {
            let client = cluster.client.clone();
            async move {
                let mut app = capstan_testkit::application(
                    &format!("app-{i:05}"),
                    "https://github.com/argoproj/argocd-example-apps.git",
                    "guestbook",
                    "default",
                    json!({}),
                );
                app["metadata"]["labels"] = json!({"team": format!("t{}", i % 10)});
                let (health, sync) = statuses[i % statuses.len()];
                app["status"] = json!({"health": {"status": health}, "sync": {"status": sync}});
                client.create(&app, false).await.unwrap();
            }
        })
        .await;
    eprintln!("created {apps} applications in {:?}", started.elapsed());

    // one application with many resources: ConfigMaps listed in its status
    futures::stream::iter(0..resources)
        .for_each_concurrent(64, |i| {
            let client = cluster.client.clone();
            async move {
                let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": format!("cm-{i:04}"), "namespace": "default"},
                    "data": {"k": "v"}});
                client.create(&cm, false).await.unwrap();
            }
        })
        .await;
    let mut big = capstan_testkit::application(
        "big",
        "https://github.com/argoproj/argocd-example-apps.git",
        "guestbook",
        "default",
        json!({}),
    );
    let listed: Vec<Value> = (0..resources)
        .map(|i| {
            json!({"group": "", "version": "v1", "kind": "ConfigMap", "namespace": "default",
            "name": format!("cm-{i:04}"), "status": "Synced", "health": {"status": "Healthy"}})
        })
        .collect();
    big["status"] = json!({"health": {"status": "Healthy"}, "sync": {"status": "Synced"},
        "resources": listed});
    cluster.client.create(&big, false).await.unwrap();

    let server = capstan_server::start(
        Listen {
            api: "127.0.0.1:0".parse().unwrap(),
            metrics: None,
            tls: None,
        },
        cluster.client.clone(),
        ServerConfig::default(),
        None,
    )
    .await
    .unwrap();
    let url = server.url();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let secret = cluster
        .get(
            "v1",
            "Secret",
            Some("argocd"),
            "argocd-initial-admin-secret",
        )
        .await
        .unwrap();
    let password = capstan_settings::secret_data(&secret).unwrap()["password"].clone();
    let r = http
        .post(format!("{url}/login"))
        .header("origin", &url)
        .form(&[("username", "admin"), ("password", password.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();

    // warm up (the Application cache's initial list)
    let _ = timed(&http, &format!("{url}/applications"), &cookie, 1).await;
    println!("applications: {}", apps + 1);
    report(
        "GET /applications (first page, 60 tiles)",
        &timed(&http, &format!("{url}/applications"), &cookie, 30).await,
    );
    report(
        "GET /applications?view=list&per_page=500",
        &timed(
            &http,
            &format!("{url}/applications?view=list&per_page=500"),
            &cookie,
            10,
        )
        .await,
    );
    report(
        "GET /applications?health=Degraded&labels=team%3Dt3&search=app-0",
        &timed(
            &http,
            &format!("{url}/applications?health=Degraded&labels=team%3Dt3&search=app-0"),
            &cookie,
            30,
        )
        .await,
    );
    report(
        "GET /applications?page=150",
        &timed(&http, &format!("{url}/applications?page=150"), &cookie, 30).await,
    );
    // where the list page's time goes, in-process
    let principal = capstan_server::auth::Principal {
        subject: "admin".into(),
        groups: Vec::new(),
        kind: capstan_server::auth::PrincipalKind::Session,
        claims: None,
    };
    let (mut t_visible, mut t_summary, mut t_page) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..10 {
        let started = Instant::now();
        let snapshot = server
            .state
            .visible_applications(&principal, &Default::default())
            .await
            .unwrap();
        t_visible.push(started.elapsed());
        let started = Instant::now();
        let values: Vec<&Value> = snapshot.apps.iter().map(|a| &a.value).collect();
        t_summary.push(started.elapsed());
        let started = Instant::now();
        let page =
            capstan_ui::filters::paginate_json(&values, &capstan_ui::filters::ListQuery::parse(""));
        assert_eq!(page.items.len(), 60);
        t_page.push(started.elapsed());
    }
    for t in [&mut t_visible, &mut t_summary, &mut t_page] {
        t.sort();
    }
    println!(
        "in-process p50: visible_applications {:?}, collect {:?}, filter+count+sort+page (view models of one page) {:?}",
        percentile(&t_visible, 0.5),
        percentile(&t_summary, 0.5),
        percentile(&t_page, 0.5)
    );
    println!("application with {resources} resources:");
    report(
        "GET /applications/big (tree read from the cluster + render)",
        &timed(
            &http,
            &format!("{url}/applications/big?view=tree"),
            &cookie,
            5,
        )
        .await,
    );
    report(
        "GET /applications/big?view=graph (SVG)",
        &timed(
            &http,
            &format!("{url}/applications/big?view=graph"),
            &cookie,
            5,
        )
        .await,
    );
    report(
        "GET /applications/big?view=graph&group=kind",
        &timed(
            &http,
            &format!("{url}/applications/big?view=graph&group=kind"),
            &cookie,
            5,
        )
        .await,
    );
    report(
        "GET /applications/big?group=kind (sections)",
        &timed(
            &http,
            &format!("{url}/applications/big?group=kind"),
            &cookie,
            5,
        )
        .await,
    );
    report(
        "GET /applications/big?view=list",
        &timed(
            &http,
            &format!("{url}/applications/big?view=list"),
            &cookie,
            5,
        )
        .await,
    );

    // the pure part: building and rendering the tree from the resource-tree JSON, flat (ConfigMaps)
    // and as workloads (Deployment -> ReplicaSet -> 3 Pods, 5 nodes each)
    let nodes: Vec<Value> = (0..resources)
        .map(|i| {
            json!({"group": "", "version": "v1", "kind": "ConfigMap", "namespace": "default",
            "name": format!("cm-{i:04}"), "uid": format!("u{i}"), "health": {"status": "Healthy"}})
        })
        .collect();
    let flat_json = json!({"nodes": nodes});
    let mut workload_nodes = Vec::new();
    for d in 0..resources / 5 {
        workload_nodes.push(json!({"group": "apps", "kind": "Deployment", "namespace": "default",
            "name": format!("web-{d:04}"), "uid": format!("d{d}"), "health": {"status": "Healthy"}}));
        workload_nodes.push(json!({"group": "apps", "kind": "ReplicaSet", "namespace": "default",
            "name": format!("web-{d:04}-1"), "uid": format!("r{d}"), "parentRefs": [{"uid": format!("d{d}")}],
            "health": {"status": "Healthy"}}));
        for p in 0..3 {
            workload_nodes.push(json!({"kind": "Pod", "namespace": "default",
                "name": format!("web-{d:04}-1-{p}"), "uid": format!("p{d}-{p}"),
                "parentRefs": [{"uid": format!("r{d}")}], "health": {"status": "Healthy"}}));
        }
    }
    let workload_json = json!({"nodes": workload_nodes});
    let app = cluster.app("big").await;
    for (label, tree_json, query) in [
        ("flat, tree view", &flat_json, "view=tree"),
        ("flat, graph view", &flat_json, "view=graph"),
        ("workloads, tree view", &workload_json, "view=tree"),
        ("workloads, graph view", &workload_json, "view=graph"),
        (
            "workloads, graph grouped by kind",
            &workload_json,
            "view=graph&group=kind",
        ),
        (
            "workloads, list grouped by parent",
            &workload_json,
            "view=list&group=parent",
        ),
    ] {
        pure_render(&app, tree_json, query, label, resources);
    }
    if std::env::var_os("BENCH_UI_BROWSER").is_some() {
        browser(&url, &cookie);
    }
    server.stop().await;
    cluster.apiserver.stop().await;
}

/// Build + render of the application page in-process (no HTTP, no cluster).
fn pure_render(app: &Value, tree_json: &Value, query: &str, label: &str, resources: usize) {
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..20 {
        let started = Instant::now();
        let tree = capstan_ui::tree::build(tree_json, &app["status"]["resources"]);
        let view = capstan_ui::pages::app::AppView {
            user: "admin".into(),
            app: capstan_ui::model::AppDetail::from_json(app),
            tree,
            filter: capstan_ui::tree::TreeFilter::parse(query),
            tree_error: None,
            perms: capstan_ui::pages::app::AppPerms {
                sync: capstan_ui::pages::Perm::yes(),
                delete: capstan_ui::pages::Perm::yes(),
                get: capstan_ui::pages::Perm::yes(),
                update: capstan_ui::pages::Perm::yes(),
            },
            badge_url: None,
            spec_json: String::new(),
            params: Vec::new(),
        };
        let html = capstan_ui::pages::app::render(&view);
        assert!(html.len() > resources * 50, "{label}");
        size = html.len();
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "capstan-ui build + render, {resources} nodes, {label}: p50 {:?}, max {:?} ({} KiB)",
        percentile(&times, 0.5),
        times.last().unwrap(),
        size / 1024
    );
}

/// The pages in headless Chromium (Playwright for Python, Debian's chromium): time to the load
/// event, DOM size, and how long the page takes to answer (a filter typed, a scroll to the end,
/// each measured to the next painted frame).
fn browser(url: &str, cookie: &str) {
    let (name, value) = cookie.split_once('=').unwrap();
    let script = r#"
import sys, json
from playwright.sync_api import sync_playwright
url, name, value = sys.argv[1], sys.argv[2], sys.argv[3]
with sync_playwright() as pw:
    b = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-dev-shm-usage"])
    ctx = b.new_context(viewport={"width": 1280, "height": 900})
    ctx.add_cookies([{"name": name, "value": value, "url": url}])
    page = ctx.new_page()
    for q in ["view=tree", "view=list", "view=graph", "view=graph&group=kind", "group=kind"]:
        loads = []
        for _ in range(3):
            page.goto(url + "/applications/big?" + q, wait_until="load")
            loads.append(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
        nodes = page.evaluate("document.getElementsByTagName('*').length")
        scroll = page.evaluate("""() => new Promise(r => { const t = performance.now();
            window.scrollTo(0, document.body.scrollHeight);
            const g = document.querySelector('.graph-scroll'); if (g) g.scrollTop = g.scrollHeight;
            requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now() - t))); })""")
        typed = page.evaluate("""() => new Promise(r => { const t = performance.now();
            const q = document.getElementById('tree-q'); q.value = 'cm-14'; q.dispatchEvent(new Event('input', {bubbles: true}));
            requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now() - t))); })""")
        loads.sort()
        print(f"chromium /applications/big?{q}: load event {loads[1]:.0f} ms (median of 3), {nodes} DOM elements, scroll to end {scroll:.0f} ms, typing in the filter {typed:.0f} ms")
    b.close()
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script, url, name, value])
        .output()
        .expect("python3 runs");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
}
