//! The cluster an Application deploys to (`spec.destination.server` or `.name`): the control-plane
//! client for the in-cluster destination, otherwise a client built from the registered cluster
//! Secret's credentials, kept per server while its configuration stays the same. The resource tree,
//! managed-resources, resource actions and pod logs read and act there.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use capstan_kube::{ClusterClient, ConnectOptions};
use capstan_settings::{IN_CLUSTER_NAME, IN_CLUSTER_SERVER};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::routes::repositories::same_url;
use crate::state::AppState;

/// Clients of destination clusters, by server URL and a hash of the cluster's configuration.
#[derive(Default)]
pub struct DestinationClients {
    clients: Mutex<HashMap<String, (u64, ClusterClient)>>,
}

fn text<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or_default()
}

impl AppState {
    /// The client of the cluster `app` deploys to.
    pub async fn destination_client(&self, app: &Value) -> ApiResult<ClusterClient> {
        let server = text(app, "/spec/destination/server");
        let name = text(app, "/spec/destination/name");
        let clusters = crate::routes::clusters::clusters(self).await?;
        let found = clusters.into_iter().find(|c| {
            (!server.is_empty() && same_url(&c.server, server))
                || (!name.is_empty() && c.name == name)
        });
        let Some(cluster) = found else {
            if same_url(server, IN_CLUSTER_SERVER) || (server.is_empty() && name == IN_CLUSTER_NAME)
            {
                return Ok(self.client.clone());
            }
            return Err(ApiError::FailedPrecondition(format!(
                "the destination cluster {} is not registered",
                if server.is_empty() { name } else { server }
            )));
        };
        if same_url(&cluster.server, IN_CLUSTER_SERVER)
            && cluster.config.bearer_token.is_none()
            && cluster.config.username.is_none()
        {
            return Ok(self.client.clone());
        }
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        format!("{:?}", cluster.config).hash(&mut hasher);
        let fingerprint = hasher.finish();
        let mut clients = self
            .destinations
            .clients
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some((f, client)) = clients.get(&cluster.server)
            && *f == fingerprint
        {
            return Ok(client.clone());
        }
        let client = ClusterClient::from_cluster(&cluster, ConnectOptions::default())
            .map_err(|e| ApiError::FailedPrecondition(format!("destination cluster: {e}")))?;
        clients.insert(cluster.server.clone(), (fingerprint, client.clone()));
        Ok(client)
    }
}
