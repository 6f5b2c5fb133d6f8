//! Workload simulation seen through kubectl: StatefulSets, DaemonSets (per simulated node),
//! Jobs (success and the documented failure annotation), PVC binding, LoadBalancer Services and
//! Ingresses getting an address.

mod common;

use std::time::Duration;

use common::{TestServer, eventually};

const WORKLOADS: &str = r#"apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: "postgres:16"}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: "busybox:1.36"}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: ok}
spec:
  template:
    spec: {restartPolicy: Never, containers: [{name: c, image: "busybox:1.36"}]}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: bad
  annotations: {simulate.capstan.dev/fail: "true"}
spec:
  backoffLimit: 1
  template:
    spec: {restartPolicy: Never, containers: [{name: c, image: "busybox:1.36"}]}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 2Gi}}
---
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  selector: {app: db}
  ports: [{port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules:
  - host: example.com
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: lb, port: {number: 80}}}}]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workloads_progress_like_on_a_cluster() {
    let s = TestServer::start_with(|c| c.simulation.nodes = 3).await;
    let f = s.file("workloads.yaml", WORKLOADS);
    s.ok(&["apply", "-f", f.to_str().unwrap()]).await;
    s.ok(&["rollout", "status", "statefulset/db", "--timeout=40s"])
        .await;
    let pods = s.get_json(&["pods", "-l", "app=db"]).await;
    let mut names: Vec<String> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, vec!["db-0", "db-1"]);
    s.ok(&["rollout", "status", "daemonset/agent", "--timeout=40s"])
        .await;
    let ds = s.get_json(&["ds", "agent"]).await;
    assert_eq!(ds["status"]["desiredNumberScheduled"], 3);
    assert_eq!(ds["status"]["numberReady"], 3);
    let agents = s.get_json(&["pods", "-l", "app=agent"]).await;
    let mut nodes: Vec<String> = agents["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["spec"]["nodeName"].as_str().unwrap().to_string())
        .collect();
    nodes.sort();
    assert_eq!(
        nodes,
        vec!["capstan-node-0", "capstan-node-1", "capstan-node-2"]
    );
    s.ok(&[
        "wait",
        "--for=condition=Complete",
        "job/ok",
        "--timeout=40s",
    ])
    .await;
    assert_eq!(s.get_json(&["job", "ok"]).await["status"]["succeeded"], 1);
    s.ok(&["wait", "--for=condition=Failed", "job/bad", "--timeout=40s"])
        .await;
    let bad = s.get_json(&["job", "bad"]).await;
    assert_eq!(
        bad["status"]["failed"], 2,
        "backoffLimit 1 allows one retry"
    );
    s.ok(&[
        "wait",
        "--for=jsonpath={.status.phase}=Bound",
        "pvc/data",
        "--timeout=40s",
    ])
    .await;
    assert_eq!(
        s.get_json(&["pvc", "data"]).await["status"]["capacity"]["storage"],
        "2Gi"
    );
    eventually("LoadBalancer address", Duration::from_secs(20), || async {
        s.get_json(&["svc", "lb"]).await["status"]["loadBalancer"]["ingress"][0]["ip"].is_string()
    })
    .await;
    eventually("Ingress address", Duration::from_secs(20), || async {
        s.get_json(&["ingress", "web"]).await["status"]["loadBalancer"]["ingress"][0]["ip"]
            .is_string()
    })
    .await;
    let events = s.ok(&["get", "events", "-o", "name"]).await;
    assert!(events.lines().count() >= 5, "{events}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_logs_of_a_simulated_pod() {
    let s = TestServer::start().await;
    s.ok(&["run", "p1", "--image=nginx:1.27"]).await;
    s.ok(&["wait", "--for=condition=Ready", "pod/p1", "--timeout=30s"])
        .await;
    let out = s.ok(&["logs", "p1"]).await;
    assert!(out.contains("p1") && out.contains("nginx:1.27"), "{out}");
    let err = s.fails(&["logs", "p1", "-c", "nope"]).await;
    assert!(err.contains("not valid"), "{err}");
}
