//! A kubeconfig context as the body of an Argo CD cluster (`server`, `name`, `config` with bearer
//! token, basic auth and `tlsClientConfig`), as `cluster add` stores it. The kubeconfig is untrusted
//! input: any missing or mistyped field is an error naming the file and what is missing.

use serde_json::{Value, json};

use crate::SettingsError;

fn named<'a>(doc: &'a Value, list: &str, name: &str) -> Option<&'a Value> {
    doc.get(list)?
        .as_array()?
        .iter()
        .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
}

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The Argo CD Cluster body (`server`, `name`, `config`) for `context` of the kubeconfig `text` read
/// from `file`. Certificates given as file paths are refused (they would be read on this machine, not
/// stored); the error says how to embed them.
pub fn cluster_from_kubeconfig(
    text_in: &str,
    file: &str,
    context: &str,
) -> Result<Value, SettingsError> {
    let error = |message: String| SettingsError::Object {
        object: file.to_string(),
        message,
    };
    let docs = capstan_yaml::parse_stream(text_in).map_err(|e| error(e.to_string()))?;
    let doc = docs
        .into_iter()
        .next()
        .map(|d| d.value)
        .ok_or_else(|| error("empty kubeconfig".into()))?;
    let ctx = named(&doc, "contexts", context)
        .ok_or_else(|| error(format!("no context named {context:?}")))?;
    let cluster_name = text(ctx, "/context/cluster");
    let user_name = text(ctx, "/context/user");
    let cluster = named(&doc, "clusters", cluster_name)
        .and_then(|c| c.get("cluster"))
        .filter(|c| c.is_object())
        .ok_or_else(|| error(format!("no cluster named {cluster_name:?}")))?;
    let empty = json!({});
    let user = named(&doc, "users", user_name)
        .and_then(|u| u.get("user"))
        .filter(|u| u.is_object())
        .unwrap_or(&empty);
    for (obj, key) in [
        (cluster, "certificate-authority"),
        (user, "client-certificate"),
        (user, "client-key"),
    ] {
        if obj.get(key).is_some() {
            return Err(error(format!(
                "{key} is a file path; embed it first with `kubectl config view --flatten --minify --context {context} > flat.kubeconfig`"
            )));
        }
    }
    let mut tls = serde_json::Map::new();
    tls.insert(
        "insecure".into(),
        json!(
            cluster
                .get("insecure-skip-tls-verify")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        ),
    );
    for (from, obj, to) in [
        ("certificate-authority-data", cluster, "caData"),
        ("client-certificate-data", user, "certData"),
        ("client-key-data", user, "keyData"),
    ] {
        if let Some(v) = obj.get(from).and_then(Value::as_str) {
            tls.insert(to.into(), json!(v));
        }
    }
    if let Some(sn) = cluster.get("tls-server-name").and_then(Value::as_str) {
        tls.insert("serverName".into(), json!(sn));
    }
    let mut config = serde_json::Map::new();
    config.insert("tlsClientConfig".into(), Value::Object(tls));
    if let Some(t) = user.get("token").and_then(Value::as_str) {
        config.insert("bearerToken".into(), json!(t));
    }
    if let Some(u) = user.get("username").and_then(Value::as_str) {
        config.insert("username".into(), json!(u));
        config.insert("password".into(), json!(text(user, "/password")));
    }
    let server = text(cluster, "/server");
    if server.is_empty() {
        return Err(error(format!("cluster {cluster_name:?} has no server")));
    }
    Ok(json!({"server": server, "name": context, "config": config}))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECONFIG: &str = r#"
apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster: {server: "https://10.0.0.1:6443", certificate-authority-data: Q0E=, tls-server-name: api}
contexts:
- name: staging
  context: {cluster: c1, user: u1}
- name: broken
  context: {cluster: nope, user: u1}
users:
- name: u1
  user: {token: abc}
"#;

    #[test]
    fn a_context_becomes_a_cluster() {
        let c = cluster_from_kubeconfig(KUBECONFIG, "kc", "staging").unwrap();
        assert_eq!(c["server"], "https://10.0.0.1:6443");
        assert_eq!(c["config"]["bearerToken"], "abc");
        assert_eq!(c["config"]["tlsClientConfig"]["caData"], "Q0E=");
        assert_eq!(c["config"]["tlsClientConfig"]["serverName"], "api");
        assert_eq!(c["config"]["tlsClientConfig"]["insecure"], false);
    }

    #[test]
    fn errors_name_the_file_and_what_is_missing() {
        let e = cluster_from_kubeconfig(KUBECONFIG, "kc", "broken").unwrap_err();
        assert_eq!(e.to_string(), "kc: no cluster named \"nope\"");
        let e = cluster_from_kubeconfig(KUBECONFIG, "kc", "other").unwrap_err();
        assert_eq!(e.to_string(), "kc: no context named \"other\"");
        let e = cluster_from_kubeconfig("clusters: [", "kc", "x").unwrap_err();
        assert!(e.to_string().starts_with("kc: "), "{e}");
        for odd in [
            "[]",
            "7",
            "contexts: 5",
            "contexts: [{name: x, context: 3}]",
        ] {
            assert!(cluster_from_kubeconfig(odd, "kc", "x").is_err(), "{odd}");
        }
        let path = KUBECONFIG.replace(
            "certificate-authority-data: Q0E=",
            "certificate-authority: /ca",
        );
        let e = cluster_from_kubeconfig(&path, "kc", "staging").unwrap_err();
        assert!(
            e.to_string()
                .contains("certificate-authority is a file path"),
            "{e}"
        );
    }
}
