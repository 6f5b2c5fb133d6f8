//! Destination clusters of a controller under test: extra in-process apiservers registered with
//! cluster Secrets, the Leases through which controller replicas share them, and the `probe`
//! ConfigMap that tests deploy to a destination to see which commit reached it.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use capstan_kube::ClusterClient;
use serde_json::{Value, json};

use crate::{Cluster, poll};

/// A cluster Secret `secret_name` in `argocd` for the cluster `name` at `server`, with `config`
/// (Argo CD's cluster config JSON: bearer token, TLS settings).
pub fn cluster_secret(secret_name: &str, name: &str, server: &str, config: &Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": secret_name, "namespace": "argocd",
            "labels": {"argocd.argoproj.io/secret-type": "cluster"}},
        "stringData": {"name": name, "server": server, "config": config.to_string()}
    })
}

/// YAML of the ConfigMap `probe` with `data.value` set to `value`.
pub fn probe_config_map(value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\ndata:\n  value: {value}\n")
}

/// The ConfigMap `probe` in `default` of `client`'s cluster; `None` when it is absent or the
/// cluster does not answer.
pub async fn probe(client: &ClusterClient) -> Option<Value> {
    let rt = client.resolve("v1", "ConfigMap").await.ok()?;
    client.get(&rt, Some("default"), "probe").await.ok()?
}

impl Cluster {
    /// Starts a plain-HTTP apiserver (no CRDs) under `dir` and registers it as the cluster `name`
    /// with a cluster Secret of the same name and no credentials.
    pub async fn add_destination(&self, dir: &Path, name: &str) -> capstan_apiserver::Running {
        let running = capstan_apiserver::start(capstan_apiserver::Config::new(
            "127.0.0.1:0".parse().unwrap(),
            dir.to_path_buf(),
        ))
        .await
        .expect("destination apiserver starts");
        self.apply(&cluster_secret(name, name, &running.url(), &json!({})))
            .await;
        running
    }

    /// [`Cluster::add_destination`] `count` times: the clusters `dest-0`, `dest-1`, ... with their
    /// data in the directories of the same names under `dir`.
    pub async fn add_destinations(
        &self,
        dir: &Path,
        count: usize,
    ) -> Vec<capstan_apiserver::Running> {
        let mut destinations = Vec::with_capacity(count);
        for i in 0..count {
            let name = format!("dest-{i}");
            destinations.push(self.add_destination(&dir.join(&name), &name).await);
        }
        destinations
    }
}

/// Polls the probe ConfigMap of `client`'s cluster every 200 ms until its `data.value` is `value`;
/// after `timeout` the test fails with "WHAT: " and the last value seen.
pub async fn wait_probe(client: &ClusterClient, value: &str, timeout: Duration, what: &str) {
    poll(timeout, Duration::from_millis(200), async || {
        let seen = probe(client)
            .await
            .and_then(|c| c.pointer("/data/value").cloned());
        if seen.as_ref().and_then(Value::as_str) == Some(value) {
            Ok(())
        } else {
            Err(format!("{what}: {seen:?}"))
        }
    })
    .await;
}

/// Cluster server -> the replica holding its Lease (`capstan.dev/controller-lease=cluster` in
/// `argocd`), for Leases that have a holder.
pub async fn cluster_lease_holders(control: &Cluster) -> BTreeMap<String, String> {
    let rt = control
        .client
        .resolve("coordination.k8s.io/v1", "Lease")
        .await
        .unwrap();
    let (leases, _) = control
        .client
        .list(
            &rt,
            Some("argocd"),
            Some("capstan.dev/controller-lease=cluster"),
        )
        .await
        .unwrap();
    leases
        .iter()
        .filter_map(|l| {
            let server = l
                .pointer("/metadata/annotations/capstan.dev~1cluster-server")?
                .as_str()?;
            let holder = l.pointer("/spec/holderIdentity")?.as_str()?;
            Some((server.to_string(), holder.to_string()))
        })
        .filter(|(_, h)| !h.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn destinations_probes_and_lease_holders() {
        let dir = tempfile::tempdir().unwrap();
        let control = Cluster::start(&dir.path().join("control"), Duration::from_millis(100)).await;
        let mut destinations = control.add_destinations(dir.path(), 1).await;
        let dest = destinations.pop().unwrap();
        let secret = control
            .get("v1", "Secret", Some("argocd"), "dest-0")
            .await
            .expect("cluster Secret");
        assert_eq!(
            secret["metadata"]["labels"]["argocd.argoproj.io/secret-type"],
            "cluster"
        );
        let data = secret_data(&secret);
        assert_eq!(data["server"], dest.url());
        assert_eq!(data["config"], "{}");

        // the probe ConfigMap: absent, then there with its value
        let client = ClusterClient::from_kubeconfig(
            &dest.kubeconfig,
            None,
            capstan_kube::ConnectOptions::default(),
        )
        .await
        .unwrap();
        assert!(probe(&client).await.is_none());
        let doc = capstan_yaml::parse_stream(&probe_config_map("one")).unwrap();
        let mut cm = doc[0].value.clone();
        cm["metadata"]["namespace"] = json!("default");
        client
            .apply(&cm, &capstan_kube::ApplyOptions::default())
            .await
            .unwrap();
        assert_eq!(probe(&client).await.unwrap()["data"]["value"], "one");
        wait_probe(&client, "one", Duration::from_secs(5), "probe").await;

        // Leases: only those with a holder count
        assert!(cluster_lease_holders(&control).await.is_empty());
        for (name, holder) in [("a", "replica-a"), ("b", "")] {
            control
                .apply(&json!({
                    "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": name, "namespace": "argocd",
                        "labels": {"capstan.dev/controller-lease": "cluster"},
                        "annotations": {"capstan.dev/cluster-server": format!("https://{name}")}},
                    "spec": {"holderIdentity": holder}
                }))
                .await;
        }
        let holders = cluster_lease_holders(&control).await;
        assert_eq!(
            holders,
            BTreeMap::from([("https://a".to_string(), "replica-a".to_string())])
        );

        // deleting through the Cluster
        control
            .delete("v1", "Secret", Some("argocd"), "dest-0")
            .await;
        assert!(
            control
                .get("v1", "Secret", Some("argocd"), "dest-0")
                .await
                .is_none()
        );
        dest.stop().await;
        control.apiserver.stop().await;
    }

    /// The Secret's `stringData` as the apiserver stored it: decoded from `data`.
    fn secret_data(secret: &Value) -> BTreeMap<String, String> {
        use base64::Engine;
        secret["data"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(v.as_str().unwrap())
                    .unwrap();
                (k.clone(), String::from_utf8(bytes).unwrap())
            })
            .collect()
    }
}
