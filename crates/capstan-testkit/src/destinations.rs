//! Destination clusters of a controller under test: extra in-process apiservers registered with
//! cluster Secrets, the Leases through which controller replicas share them, and the `probe`
//! ConfigMap that tests deploy to a destination to see which commit reached it.

use std::collections::BTreeMap;
use std::path::Path;

use capstan_kube::ClusterClient;
use serde_json::{Value, json};

use crate::Cluster;

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
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn destinations_probes_and_lease_holders() {
        let dir = tempfile::tempdir().unwrap();
        let control = Cluster::start(&dir.path().join("control"), Duration::from_millis(100)).await;
        let dest = control
            .add_destination(&dir.path().join("dest"), "dest-0")
            .await;
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
