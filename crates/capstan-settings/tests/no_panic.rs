//! Settings parsers never panic, whatever the keys and values.

use std::collections::BTreeMap;

use capstan_settings::{ArgoCdConfig, Cluster, CmdParams, RbacConfig, RepoCreds, Repository};
use proptest::prelude::*;
use serde_json::json;

fn keys() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("timeout.reconciliation".to_string()),
        Just("application.resourceTrackingMethod".to_string()),
        Just("resource.exclusions".to_string()),
        Just("resource.compareoptions".to_string()),
        Just("oidc.config".to_string()),
        Just("accounts.alice".to_string()),
        Just("accounts.alice.enabled".to_string()),
        Just("policy.csv".to_string()),
        Just("policy.x.csv".to_string()),
        Just("scopes".to_string()),
        Just("controller.status.processors".to_string()),
        Just("controller.sharding.algorithm".to_string()),
        Just("config".to_string()),
        Just("server".to_string()),
        Just("url".to_string()),
        Just("shard".to_string()),
        "[a-z.]{1,20}",
    ]
}

fn values() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,40}",
        "[a-z0-9 ,:\\-\\[\\]{}\"'\n]{0,60}",
        Just("{\"bearerToken\": 1".to_string())
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn random_data(data in prop::collection::btree_map(keys(), values(), 0..8)) {
        let _ = ArgoCdConfig::from_data("cm", &data);
        let _ = RbacConfig::from_data("cm", &data);
        let _ = CmdParams::from_data("cm", &data);
        let string_data: serde_json::Map<String, serde_json::Value> =
            data.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        for kind in ["cluster", "repository", "repo-creds"] {
            let secret = json!({"kind": "Secret", "metadata": {"name": "s",
                "labels": {"argocd.argoproj.io/secret-type": kind}}, "stringData": string_data});
            let _ = Cluster::from_secret(&secret);
            let _ = Repository::from_secret(&secret);
            let _ = RepoCreds::from_secret(&secret);
        }
        let empty: BTreeMap<String, String> = BTreeMap::new();
        prop_assert!(ArgoCdConfig::from_data("cm", &empty).is_ok());
    }
}
