//! Settings from the cluster: the input is read as the data map of a ConfigMap or Secret and given to
//! every reader of Argo CD's settings objects (argocd-cm, argocd-rbac-cm, argocd-cmd-params-cm,
//! argocd-secret, repository, repo-creds and cluster Secrets).
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(docs) = capstan_yaml::parse_stream(text) else {
        return;
    };
    let Some(Value::Object(map)) = docs.into_iter().next().map(|d| d.value) else {
        return;
    };
    let data: BTreeMap<String, String> = map
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
        .collect();
    let _ = capstan_settings::ArgoCdConfig::from_data("ConfigMap/argocd/argocd-cm", &data);
    let _ = capstan_settings::RbacConfig::from_data("ConfigMap/argocd/argocd-rbac-cm", &data);
    let _ = capstan_settings::ArgoCdSecret::from_data(&data);
    // the same map as a ConfigMap and as a Secret (stringData and base64 data), and as it came
    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "argocd-cm", "namespace": "argocd"}, "data": Value::Object(map.clone())});
    let _ = capstan_settings::ArgoCdConfig::from_config_map(&config_map);
    let _ = capstan_settings::CmdParams::from_config_map(&config_map);
    for body in ["stringData", "data"] {
        let secret = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "namespace": "argocd", "labels": {
                "argocd.argoproj.io/secret-type": map.get("type").cloned().unwrap_or(json!("cluster"))}},
            body: Value::Object(map.clone())});
        let _ = capstan_settings::Cluster::from_secret(&secret);
        let _ = capstan_settings::Repository::from_secret(&secret);
        let _ = capstan_settings::RepoCreds::from_secret(&secret);
        let _ = capstan_settings::ArgoCdSecret::from_secret(&secret);
    }
});
