//! Denial of service through repository content (issue 13): a directory of huge manifests, a tool
//! or Jsonnet file producing endless output or objects, a chart archive that expands to gigabytes, a
//! Jsonnet file that computes without end, and a repository whose plugin hangs. Each is stopped at
//! its limit with a clear error, and other sources keep rendering.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_manifests_over_the_combined_size_limit_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    let padding = format!("# {}\n", "x".repeat(30_000));
    for i in 0..4 {
        work.write(
            &format!("app/cm{i}.yaml"),
            &format!("{padding}apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n"),
        );
    }
    work.commit("big");
    let repo = work.dir.display().to_string();
    let service = service_tweaked(&tmp.path().join("cache"), |s| {
        s.tools.limits.max_combined_directory_manifests_size = 100_000;
    });
    let err = generate(&service, json!({"repoURL": repo, "path": "app"}))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("exceeded max combined manifest file size of 100000"),
        "{err}"
    );
    // within the limit (a subset of the files) it renders
    let ok = generate(
        &service,
        json!({"repoURL": repo, "path": "app", "directory": {"include": "{cm0,cm1}.yaml"}}),
    )
    .await
    .unwrap();
    assert_eq!(ok.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_count_and_generated_bytes_are_limited() {
    let tmp = tempfile::tempdir().unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    let many: String = (0..50)
        .map(|i| format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n"))
        .collect();
    work.write("many/all.yaml", &many);
    // a List of lists is flattened and counted
    work.write(
        "list/list.yaml",
        &format!(
            "apiVersion: v1\nkind: List\nitems:\n{}",
            (0..50)
                .map(|i| format!(
                    "- {{apiVersion: v1, kind: ConfigMap, metadata: {{name: l{i}}}}}\n"
                ))
                .collect::<String>()
        ),
    );
    work.write("flood/marker.txt", "x");
    work.write(
        "jn/main.jsonnet",
        "[{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' + i }, data: { v: std.repeat('x', 1000) } } for i in std.range(1, 2000)]",
    );
    work.commit("many");
    let repo = work.dir.display().to_string();
    let plugin = "apiVersion: argoproj.io/v1alpha1\nkind: ConfigManagementPlugin\nmetadata:\n  name: flood\nspec:\n  generate:\n    command: [sh, -c, 'while :; do echo \"# flood flood flood flood flood\"; done']\n";
    let plugins = capstan_repo::render::ConfigManagementPlugin::parse(plugin, "p.yaml").unwrap();
    let service = service_tweaked(&tmp.path().join("cache"), |s| {
        s.tools.limits.max_objects = 20;
        s.tools.limits.max_generated_bytes = 1 << 20;
        s.tools.plugins = plugins;
    });
    for path in ["many", "list"] {
        let err = generate(&service, json!({"repoURL": repo, "path": path}))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("more than the maximum of 20"),
            "{err}"
        );
    }
    let started = Instant::now();
    let err = generate(
        &service,
        json!({"repoURL": repo, "path": "flood", "plugin": {"name": "flood"}}),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("1048576"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30));
    let err = generate(&service, json!({"repoURL": repo, "path": "jn"}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("larger than the maximum"), "{err}");
}

fn gzip_zeros(path: &Path, bytes: usize) {
    let file = std::fs::File::create(path).unwrap();
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::best());
    let chunk = vec![0u8; 1 << 20];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len());
        gz.write_all(&chunk[..n]).unwrap();
        left -= n;
    }
    gz.finish().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_archive_bombs_are_refused_before_helm_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: c\nversion: 1.0.0\ndependencies:\n- name: bomb\n  version: 1.0.0\n  repository: https://charts.example.invalid\n",
    );
    work.write("chart/templates/cm.yaml", CM);
    std::fs::create_dir_all(work.dir.join("chart/charts")).unwrap();
    // 64 MiB of zeros: a few tens of KiB in Git
    gzip_zeros(&work.dir.join("chart/charts/bomb-1.0.0.tgz"), 64 << 20);
    work.commit("bomb");
    let service = service_tweaked(&tmp.path().join("cache"), |s| {
        s.tools.limits.helm_max_extracted_size = Some(8 << 20);
        // helm must never be reached
        s.tools.helm = PathBuf::from("/nonexistent/helm");
    });
    let started = Instant::now();
    let err = generate(
        &service,
        json!({"repoURL": work.dir.display().to_string(), "path": "chart"}),
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("charts/bomb-1.0.0.tgz") && text.contains("expands to more than"),
        "{text}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runaway_jsonnet_is_stopped_at_the_time_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    // little memory, a lot of CPU (several seconds even in a release build)
    work.write(
        "jn/main.jsonnet",
        "local inner(i) = std.foldl(function(a, j) a + j % 7, std.range(1, 2000), i);\n{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { n: std.toString(std.foldl(function(a, i) a + inner(i), std.range(1, 2000), 0)) } }\n",
    );
    work.write("app/cm.yaml", CM);
    work.commit("slow");
    let repo = work.dir.display().to_string();
    let service = service_tweaked(&tmp.path().join("cache"), |s| {
        s.tools.timeout = Duration::from_secs(1);
    });
    let started = Instant::now();
    let err = generate(&service, json!({"repoURL": repo, "path": "jn"}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("timed out after 1 s"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // other sources still render meanwhile
    let ok = generate(&service, json!({"repoURL": repo, "path": "app"}))
        .await
        .unwrap();
    assert_eq!(names(&ok), ["ConfigMap/ok"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_plugin_repository_does_not_starve_other_repositories() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = WorkRepo::new(&tmp.path().join("bad"));
    for i in 0..2 {
        bad.write(&format!("app{i}/marker.txt"), "x");
    }
    bad.commit("hangs");
    let good = WorkRepo::new(&tmp.path().join("good"));
    good.write("app/cm.yaml", CM);
    good.commit("fine");
    let plugin = "apiVersion: argoproj.io/v1alpha1\nkind: ConfigManagementPlugin\nmetadata:\n  name: hang\nspec:\n  generate:\n    command: [sh, -c, 'sleep 60']\n";
    let plugins = capstan_repo::render::ConfigManagementPlugin::parse(plugin, "p.yaml").unwrap();
    let service = Arc::new(service_tweaked(&tmp.path().join("cache"), |s| {
        s.parallelism = 2;
        s.tools.plugins = plugins;
        s.tools.timeout = Duration::from_secs(12);
    }));
    let bad_repo = bad.dir.display().to_string();
    let mut hung = Vec::new();
    for i in 0..2 {
        let service = service.clone();
        let source =
            json!({"repoURL": bad_repo, "path": format!("app{i}"), "plugin": {"name": "hang"}});
        hung.push(tokio::spawn(async move {
            let started = Instant::now();
            let result = service.generate(&request(source)).await;
            (result.is_err(), started.elapsed())
        }));
    }
    // let the hung renders take their slots
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let started = Instant::now();
    let ok = service
        .generate(&request(
            json!({"repoURL": good.dir.display().to_string(), "path": "app"}),
        ))
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(names(&ok.manifests), ["ConfigMap/ok"]);
    assert!(
        waited < Duration::from_secs(5),
        "a good repository waited {waited:?} behind a hung one"
    );
    // the running hung render ends at the tool time limit; the one queued behind it is dropped
    let mut hung = hung.into_iter();
    let first = hung.next().unwrap();
    let second = hung.next().unwrap();
    second.abort();
    let (failed, took) = first.await.unwrap();
    assert!(failed);
    assert!(took < Duration::from_secs(30), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yaml_alias_bombs_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    // "billion laughs": under 1 KiB that expands to 10^9 nodes
    let mut bomb = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..9 {
        let prev = format!("*a{}", i - 1);
        bomb.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
    }
    work.write("app/bomb.yaml", &bomb);
    work.commit("bomb");
    let service = service(&tmp.path().join("cache"));
    let started = Instant::now();
    let err = generate(
        &service,
        json!({"repoURL": work.dir.display().to_string(), "path": "app"}),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("bomb.yaml"), "{err}");
    assert!(err.to_string().contains("too large"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generation_of_many_slow_steps_is_stopped_at_the_generation_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.write("app/marker.txt", "x");
    work.commit("slow steps");
    // each step stays under the tool limit; together they do not
    let plugin = "apiVersion: argoproj.io/v1alpha1\nkind: ConfigManagementPlugin\nmetadata:\n  name: slow-steps\nspec:\n  init:\n    command: [sh, -c, 'sleep 3']\n  generate:\n    command: [sh, -c, 'sleep 3; echo \"{}\"']\n";
    let plugins = capstan_repo::render::ConfigManagementPlugin::parse(plugin, "p.yaml").unwrap();
    let service = service_tweaked(&tmp.path().join("cache"), |s| {
        s.tools.plugins = plugins;
        s.tools.timeout = Duration::from_secs(5);
        s.generation_timeout = Duration::from_secs(4);
    });
    let started = Instant::now();
    let err = generate(
        &service,
        json!({"repoURL": work.dir.display().to_string(), "path": "app", "plugin": {"name": "slow-steps"}}),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("manifest generation failed: timed out after 4 s"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
}
