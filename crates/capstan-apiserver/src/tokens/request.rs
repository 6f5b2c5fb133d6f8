//! `POST /api/v1/namespaces/NS/serviceaccounts/NAME/token` (TokenRequest): a bound token that
//! expires (one hour unless `spec.expirationSeconds` says otherwise, at least ten minutes).

use serde_json::{Value, json};

use super::{BOUND_ISSUER, ServiceAccountIdentity, Tokens, stored};
use crate::error::{ApiError, ApiResult};
use crate::meta;
use crate::ops::Cluster;

const DEFAULT_SECONDS: i64 = 3600;
const MIN_SECONDS: i64 = 600;

impl Tokens {
    /// Answers a TokenRequest for ServiceAccount `ns/name`.
    pub fn token_request(
        &self,
        cluster: &Cluster,
        ns: &str,
        name: &str,
        mut request: Value,
    ) -> ApiResult<Value> {
        if !request.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a TokenRequest object",
            ));
        }
        let account = stored(cluster, "serviceaccounts", ns, name)
            .filter(|a| meta::deletion_timestamp(a).is_none())
            .ok_or_else(|| ApiError::not_found("", "serviceaccounts", name))?;
        let seconds = match request.pointer("/spec/expirationSeconds") {
            None | Some(Value::Null) => DEFAULT_SECONDS,
            Some(v) => v.as_i64().ok_or_else(|| {
                ApiError::bad_request("spec.expirationSeconds: must be an integer")
            })?,
        };
        if seconds < MIN_SECONDS {
            return Err(ApiError::new(
                422,
                "Invalid",
                "spec.expirationSeconds: Invalid value: may not specify a duration less than 10 minutes",
            ));
        }
        let audiences: Vec<String> = request
            .pointer("/spec/audiences")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .filter(|a: &Vec<String>| !a.is_empty())
            .unwrap_or_else(|| vec![BOUND_ISSUER.to_string()]);
        let identity = ServiceAccountIdentity {
            namespace: ns.to_string(),
            name: name.to_string(),
            uid: meta::uid(&account).to_string(),
        };
        let (token, exp) = self.issue_bound(&identity, &audiences, seconds);
        request["apiVersion"] = json!("authentication.k8s.io/v1");
        request["kind"] = json!("TokenRequest");
        if !request.get("metadata").is_some_and(Value::is_object) {
            request["metadata"] = json!({});
        }
        request["metadata"]["name"] = json!(name);
        request["metadata"]["namespace"] = json!(ns);
        request["metadata"]["creationTimestamp"] = json!(meta::now());
        request["spec"]["audiences"] = json!(audiences);
        request["spec"]["expirationSeconds"] = json!(seconds);
        request["status"] = json!({
            "token": token,
            "expirationTimestamp": exp.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        });
        Ok(request)
    }
}
