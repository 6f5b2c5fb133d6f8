//! `capstan cluster add --service-account`: as `argocd cluster add` does, installs the
//! `argocd-manager` ServiceAccount in the target cluster's system namespace with a ClusterRole
//! `argocd-manager-role` (every verb on every resource and non-resource URL) bound by the
//! ClusterRoleBinding `argocd-manager-role-binding` — or, with `--namespace`, a Role and RoleBinding
//! of those names in each namespace — then creates the long-lived token Secret
//! `argocd-manager-long-lived-token` (type `kubernetes.io/service-account-token`) and waits until
//! the cluster's token controller has filled in its token. A named `--service-account` is used as it
//! is (no RBAC installed), as Argo CD does.

use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use capstan_kube::{ApplyOptions, ClusterClient, KubeError};
use serde_json::{Value, json};

/// The ServiceAccount, ClusterRole and binding names Argo CD uses.
pub const MANAGER_SERVICE_ACCOUNT: &str = "argocd-manager";
pub const MANAGER_ROLE: &str = "argocd-manager-role";
pub const MANAGER_ROLE_BINDING: &str = "argocd-manager-role-binding";
/// Suffix of the token Secret's name.
pub const TOKEN_SECRET_SUFFIX: &str = "-long-lived-token";
/// How long to wait for the token controller.
pub const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);

const FIELD_MANAGER: &str = "capstan-cluster-add";

fn cluster_rules() -> Value {
    json!([
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
        {"nonResourceURLs": ["*"], "verbs": ["*"]},
    ])
}

fn namespace_rules() -> Value {
    json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}])
}

/// The RBAC objects for the manager ServiceAccount in `system_namespace`: a ClusterRole and its
/// binding, or a Role and RoleBinding in each of `namespaces`.
pub fn rbac_objects(system_namespace: &str, namespaces: &[String]) -> Vec<Value> {
    let subject = json!({"kind": "ServiceAccount", "name": MANAGER_SERVICE_ACCOUNT, "namespace": system_namespace});
    if namespaces.is_empty() {
        return vec![
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                   "metadata": {"name": MANAGER_ROLE}, "rules": cluster_rules()}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                   "metadata": {"name": MANAGER_ROLE_BINDING},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": MANAGER_ROLE},
                   "subjects": [subject]}),
        ];
    }
    let mut out = Vec::new();
    for ns in namespaces {
        out.push(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
               "metadata": {"name": MANAGER_ROLE, "namespace": ns}, "rules": namespace_rules()}),
        );
        out.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": MANAGER_ROLE_BINDING, "namespace": ns},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": MANAGER_ROLE},
               "subjects": [subject.clone()]}));
    }
    out
}

/// The long-lived token Secret of ServiceAccount `sa`.
pub fn token_secret(system_namespace: &str, sa: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": format!("{sa}{TOKEN_SECRET_SUFFIX}"), "namespace": system_namespace,
            "annotations": {"kubernetes.io/service-account.name": sa}},
        "type": "kubernetes.io/service-account-token",
    })
}

/// Creates `obj` unless it exists.
async fn create_if_absent(client: &ClusterClient, obj: &Value) -> anyhow::Result<bool> {
    match client.create(obj, false).await {
        Ok(_) => Ok(true),
        // 409 AlreadyExists
        Err(KubeError::Conflict { .. }) => Ok(false),
        Err(e) => Err(anyhow!(e)),
    }
}

fn describe(obj: &Value) -> String {
    let kind = obj["kind"].as_str().unwrap_or_default();
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    match obj["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{kind} \"{ns}/{name}\""),
        None => format!("{kind} \"{name}\""),
    }
}

/// Installs the manager ServiceAccount (unless `existing` names one to use) and returns the bearer
/// token of its long-lived token Secret.
pub async fn install(
    client: &ClusterClient,
    system_namespace: &str,
    existing: Option<&str>,
    namespaces: &[String],
    timeout: Duration,
) -> anyhow::Result<String> {
    let sa = existing.unwrap_or(MANAGER_SERVICE_ACCOUNT);
    if existing.is_none() {
        let account = json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": sa, "namespace": system_namespace}});
        let created = create_if_absent(client, &account)
            .await
            .with_context(|| format!("creating {}", describe(&account)))?;
        eprintln!(
            "ServiceAccount \"{sa}\" {} in namespace \"{system_namespace}\"",
            if created { "created" } else { "already exists" }
        );
        let options = ApplyOptions {
            force: true,
            field_manager: Some(FIELD_MANAGER.into()),
            ..ApplyOptions::default()
        };
        for obj in rbac_objects(system_namespace, namespaces) {
            client
                .apply(&obj, &options)
                .await
                .with_context(|| format!("creating or updating {}", describe(&obj)))?;
            eprintln!("{} created or updated", describe(&obj));
        }
    }
    let secret = token_secret(system_namespace, sa);
    let name = secret["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let created = create_if_absent(client, &secret)
        .await
        .with_context(|| format!("creating {}", describe(&secret)))?;
    if created {
        eprintln!("Created bearer token secret \"{name}\" for ServiceAccount \"{sa}\"");
    } else {
        eprintln!("Using existing bearer token secret \"{name}\" for ServiceAccount \"{sa}\"");
    }
    wait_for_token(client, system_namespace, &name, timeout)
        .await
        .with_context(|| format!("getting the token for ServiceAccount \"{sa}\""))
}

/// Polls the token Secret until the token controller has written `data.token`.
pub async fn wait_for_token(
    client: &ClusterClient,
    namespace: &str,
    name: &str,
    timeout: Duration,
) -> anyhow::Result<String> {
    let rt = client.resolve("v1", "Secret").await?;
    let start = Instant::now();
    loop {
        let secret = client
            .get(&rt, Some(namespace), name)
            .await?
            .ok_or_else(|| anyhow!("Secret \"{namespace}/{name}\" disappeared"))?;
        let data = capstan_settings::secret_data(&secret)?;
        if let Some(token) = data.get("token").filter(|t| !t.is_empty()) {
            return Ok(token.clone());
        }
        if start.elapsed() > timeout {
            bail!(
                "Secret \"{namespace}/{name}\" got no token within {} s (does the cluster run a token controller?)",
                timeout.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The cluster body for the token: the kubeconfig's server and CA, the ServiceAccount's token, and
/// no client certificate or basic-auth credentials.
pub fn with_token(mut body: Value, token: &str) -> Value {
    let tls = body
        .pointer("/config/tlsClientConfig")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut kept = json!({"insecure": tls.get("insecure").cloned().unwrap_or(json!(false))});
    for key in ["caData", "serverName"] {
        if let Some(v) = tls.get(key) {
            kept[key] = v.clone();
        }
    }
    body["config"] = json!({"bearerToken": token, "tlsClientConfig": kept});
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_wide_and_namespaced_rbac() {
        let all = rbac_objects("kube-system", &[]);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0]["kind"], "ClusterRole");
        assert_eq!(all[0]["rules"][1]["nonResourceURLs"], json!(["*"]));
        assert_eq!(all[1]["metadata"]["name"], "argocd-manager-role-binding");
        assert_eq!(
            all[1]["subjects"][0],
            json!({"kind": "ServiceAccount", "name": "argocd-manager", "namespace": "kube-system"})
        );
        let scoped = rbac_objects("sys", &["a".into(), "b".into()]);
        let kinds: Vec<String> = scoped
            .iter()
            .map(|o| {
                format!(
                    "{}/{}",
                    o["kind"].as_str().unwrap(),
                    o["metadata"]["namespace"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            kinds,
            ["Role/a", "RoleBinding/a", "Role/b", "RoleBinding/b"]
        );
        assert_eq!(scoped[0]["rules"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn token_body_keeps_ca_and_drops_other_credentials() {
        let body = json!({"server": "https://x", "name": "x", "config": {
            "tlsClientConfig": {"insecure": false, "caData": "Q0E=", "certData": "Yw==", "keyData": "aw=="},
            "username": "u", "password": "p"}});
        assert_eq!(
            with_token(body, "tok")["config"],
            json!({"bearerToken": "tok", "tlsClientConfig": {"insecure": false, "caData": "Q0E="}})
        );
    }
}
