//! The OpenAPI (Swagger 2.0) document served at `/swagger.json`, built from the table of endpoints
//! below (the same paths the router serves; a test checks that every entry is routed).

use serde_json::{Map, Value, json};

/// One endpoint: method, path, tag, summary, request body definition, response definition.
pub struct Endpoint {
    /// HTTP method (lowercase).
    pub method: &'static str,
    /// Path with `{parameters}`.
    pub path: &'static str,
    /// Group.
    pub tag: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Definition name of the body, if any.
    pub body: Option<&'static str>,
    /// Definition name of the answer.
    pub response: &'static str,
    /// Query parameters.
    pub query: &'static [&'static str],
}

macro_rules! ep {
    ($m:literal, $p:literal, $t:literal, $s:literal, $b:expr, $r:literal $(, [$($q:literal),*])?) => {
        Endpoint { method: $m, path: $p, tag: $t, summary: $s, body: $b, response: $r,
                   query: &[$($($q),*)?] }
    };
}

/// Every endpoint.
pub const ENDPOINTS: &[Endpoint] = &[
    ep!(
        "get",
        "/api/version",
        "VersionService",
        "Version of the server",
        None,
        "Version"
    ),
    ep!(
        "get",
        "/api/v1/settings",
        "SettingsService",
        "Public settings",
        None,
        "Settings"
    ),
    ep!(
        "post",
        "/api/v1/session",
        "SessionService",
        "Create a session (log in) and return a JWT",
        Some("SessionCreateRequest"),
        "SessionResponse"
    ),
    ep!(
        "delete",
        "/api/v1/session",
        "SessionService",
        "Delete the session cookie",
        None,
        "Empty"
    ),
    ep!(
        "get",
        "/api/v1/session/userinfo",
        "SessionService",
        "Information about the current user",
        None,
        "UserInfo"
    ),
    ep!(
        "get",
        "/api/v1/account",
        "AccountService",
        "List local accounts",
        None,
        "AccountList"
    ),
    ep!(
        "get",
        "/api/v1/account/{name}",
        "AccountService",
        "Get a local account",
        None,
        "Account"
    ),
    ep!(
        "put",
        "/api/v1/account/password",
        "AccountService",
        "Change a password",
        Some("UpdatePasswordRequest"),
        "Empty"
    ),
    ep!(
        "post",
        "/api/v1/account/{name}/token",
        "AccountService",
        "Create an API key",
        Some("CreateTokenRequest"),
        "CreateTokenResponse"
    ),
    ep!(
        "delete",
        "/api/v1/account/{name}/token/{id}",
        "AccountService",
        "Delete an API key",
        None,
        "Empty"
    ),
    ep!(
        "get",
        "/api/v1/account/can-i/{resource}/{action}/{subresource}",
        "AccountService",
        "Check an RBAC permission",
        None,
        "CanIResponse"
    ),
    ep!(
        "get",
        "/api/v1/applications",
        "ApplicationService",
        "List applications",
        None,
        "ApplicationList",
        ["projects", "selector", "name", "repo", "appNamespace"]
    ),
    ep!(
        "post",
        "/api/v1/applications",
        "ApplicationService",
        "Create an application",
        Some("Application"),
        "Application",
        ["upsert", "validate"]
    ),
    ep!(
        "get",
        "/api/v1/applications/{name}",
        "ApplicationService",
        "Get an application",
        None,
        "Application",
        ["refresh"]
    ),
    ep!(
        "put",
        "/api/v1/applications/{name}",
        "ApplicationService",
        "Update an application",
        Some("Application"),
        "Application"
    ),
    ep!(
        "patch",
        "/api/v1/applications/{name}",
        "ApplicationService",
        "Patch an application",
        Some("ApplicationPatchRequest"),
        "Application"
    ),
    ep!(
        "delete",
        "/api/v1/applications/{name}",
        "ApplicationService",
        "Delete an application",
        None,
        "Empty",
        ["cascade", "propagationPolicy"]
    ),
    ep!(
        "put",
        "/api/v1/applications/{name}/spec",
        "ApplicationService",
        "Update an application's spec",
        Some("ApplicationSpec"),
        "ApplicationSpec"
    ),
    ep!(
        "post",
        "/api/v1/applications/{name}/sync",
        "ApplicationService",
        "Sync an application",
        Some("ApplicationSyncRequest"),
        "Application"
    ),
    ep!(
        "post",
        "/api/v1/applications/{name}/rollback",
        "ApplicationService",
        "Roll back to a history entry",
        Some("ApplicationRollbackRequest"),
        "Application"
    ),
    ep!(
        "delete",
        "/api/v1/applications/{name}/operation",
        "ApplicationService",
        "Terminate the running operation",
        None,
        "Empty"
    ),
    ep!(
        "get",
        "/api/v1/applications/{name}/resource-tree",
        "ApplicationService",
        "Resource tree",
        None,
        "ApplicationTree"
    ),
    ep!(
        "get",
        "/api/v1/applications/{name}/managed-resources",
        "ApplicationService",
        "Managed resources with diffs (the app's and argocd-cm's ignoreDifferences)",
        None,
        "ManagedResourcesResponse",
        ["serverSideDiff"]
    ),
    ep!(
        "get",
        "/api/v1/applications/{name}/resource",
        "ApplicationService",
        "Live manifest of a resource of the application's tree (Secret values masked)",
        None,
        "ApplicationResourceResponse",
        ["namespace", "resourceName", "version", "group", "kind"]
    ),
    ep!(
        "get",
        "/api/v1/applications/{name}/resource/actions",
        "ApplicationService",
        "Actions available on a managed resource",
        None,
        "ResourceActionsListResponse",
        ["namespace", "resourceName", "version", "group", "kind"]
    ),
    ep!(
        "post",
        "/api/v1/applications/{name}/resource/actions",
        "ApplicationService",
        "Run a resource action (body: the action name)",
        Some("ActionName"),
        "Empty",
        ["namespace", "resourceName", "version", "group", "kind"]
    ),
    ep!(
        "post",
        "/api/v1/applications/{name}/resource/actions/v2",
        "ApplicationService",
        "Run a resource action with parameters",
        Some("ResourceActionRunRequestV2"),
        "Empty"
    ),
    ep!(
        "get",
        "/api/v1/applications/{name}/pods/{pod}/logs",
        "ApplicationService",
        "Log of a Pod of the application (newline-delimited entries)",
        None,
        "LogEntry",
        [
            "namespace",
            "container",
            "tailLines",
            "sinceSeconds",
            "sinceTime",
            "previous",
            "timestamps"
        ]
    ),
    ep!(
        "get",
        "/api/v1/applications/{name}/manifests",
        "ApplicationService",
        "Rendered manifests",
        None,
        "ManifestResponse",
        ["revision"]
    ),
    ep!(
        "get",
        "/api/v1/applications/{name}/events",
        "ApplicationService",
        "Events of an application",
        None,
        "EventList"
    ),
    ep!(
        "get",
        "/api/v1/stream/applications",
        "ApplicationService",
        "Watch applications (Server-Sent Events)",
        None,
        "ApplicationWatchEvent",
        ["name", "projects", "selector"]
    ),
    ep!(
        "get",
        "/api/v1/stream/applications/{name}/resource-tree",
        "ApplicationService",
        "Watch a resource tree (Server-Sent Events)",
        None,
        "ApplicationTree"
    ),
    ep!(
        "get",
        "/api/v1/projects",
        "ProjectService",
        "List projects",
        None,
        "AppProjectList"
    ),
    ep!(
        "post",
        "/api/v1/projects",
        "ProjectService",
        "Create a project",
        Some("ProjectCreateRequest"),
        "AppProject"
    ),
    ep!(
        "get",
        "/api/v1/projects/{name}",
        "ProjectService",
        "Get a project",
        None,
        "AppProject"
    ),
    ep!(
        "put",
        "/api/v1/projects/{name}",
        "ProjectService",
        "Update a project",
        Some("ProjectUpdateRequest"),
        "AppProject"
    ),
    ep!(
        "delete",
        "/api/v1/projects/{name}",
        "ProjectService",
        "Delete a project",
        None,
        "Empty"
    ),
    ep!(
        "post",
        "/api/v1/projects/{name}/roles/{role}/token",
        "ProjectService",
        "Create a project role token",
        Some("ProjectTokenCreateRequest"),
        "CreateTokenResponse"
    ),
    ep!(
        "delete",
        "/api/v1/projects/{name}/roles/{role}/token/{iat}",
        "ProjectService",
        "Delete a project role token",
        None,
        "Empty",
        ["id"]
    ),
    ep!(
        "get",
        "/api/v1/repositories",
        "RepositoryService",
        "List repositories (no credentials)",
        None,
        "RepositoryList"
    ),
    ep!(
        "post",
        "/api/v1/repositories",
        "RepositoryService",
        "Add a repository",
        Some("Repository"),
        "Repository",
        ["upsert"]
    ),
    ep!(
        "get",
        "/api/v1/repositories/{repo}",
        "RepositoryService",
        "Get a repository (no credentials)",
        None,
        "Repository"
    ),
    ep!(
        "delete",
        "/api/v1/repositories/{repo}",
        "RepositoryService",
        "Remove a repository",
        None,
        "Empty"
    ),
    ep!(
        "post",
        "/api/v1/repositories/{repo}/validate",
        "RepositoryService",
        "Test a repository's connection with the given credentials (nothing is stored)",
        Some("Repository"),
        "Repository"
    ),
    ep!(
        "get",
        "/api/v1/repocreds",
        "RepoCredsService",
        "List credential templates",
        None,
        "RepoCredsList"
    ),
    ep!(
        "post",
        "/api/v1/repocreds",
        "RepoCredsService",
        "Add a credential template",
        Some("RepoCreds"),
        "RepoCreds",
        ["upsert"]
    ),
    ep!(
        "delete",
        "/api/v1/repocreds/{url}",
        "RepoCredsService",
        "Remove a credential template",
        None,
        "Empty"
    ),
    ep!(
        "get",
        "/api/v1/clusters",
        "ClusterService",
        "List clusters (no credentials)",
        None,
        "ClusterList"
    ),
    ep!(
        "post",
        "/api/v1/clusters",
        "ClusterService",
        "Add a cluster",
        Some("Cluster"),
        "Cluster",
        ["upsert"]
    ),
    ep!(
        "get",
        "/api/v1/clusters/{server}",
        "ClusterService",
        "Get a cluster",
        None,
        "Cluster",
        ["id.type"]
    ),
    ep!(
        "delete",
        "/api/v1/clusters/{server}",
        "ClusterService",
        "Remove a cluster",
        None,
        "Empty",
        ["id.type"]
    ),
    ep!(
        "post",
        "/api/v1/clusters/{server}/rotate-auth",
        "ClusterService",
        "Rotate a service-account cluster's bearer token",
        None,
        "Empty",
        ["id.type"]
    ),
    ep!(
        "post",
        "/api/webhook",
        "Webhook",
        "Git provider push event",
        Some("WebhookPayload"),
        "WebhookResponse"
    ),
];

fn object(props: &[(&str, &str)]) -> Value {
    let mut p = Map::new();
    for (name, ty) in props {
        p.insert((*name).to_string(), json!({"type": ty}));
    }
    json!({"type": "object", "properties": p})
}

fn definitions() -> Value {
    let mut d = Map::new();
    let free = json!({"type": "object", "additionalProperties": true});
    for name in [
        "Application",
        "ApplicationSpec",
        "ApplicationList",
        "AppProject",
        "AppProjectList",
        "EventList",
        "ApplicationTree",
        "ManagedResourcesResponse",
        "ResourceActionsListResponse",
        "ApplicationResourceResponse",
        "ResourceActionRunRequestV2",
        "LogEntry",
        "Settings",
        "WebhookPayload",
        "AccountList",
        "Account",
        "RepositoryList",
        "RepoCredsList",
        "ClusterList",
        "Cluster",
        "WebhookResponse",
        "ApplicationWatchEvent",
    ] {
        d.insert(name.to_string(), free.clone());
    }
    d.insert("Empty".into(), json!({"type": "object"}));
    d.insert("ActionName".into(), json!({"type": "string"}));
    d.insert(
        "Version".into(),
        object(&[("Version", "string"), ("Platform", "string")]),
    );
    d.insert(
        "SessionCreateRequest".into(),
        object(&[
            ("username", "string"),
            ("password", "string"),
            ("token", "string"),
        ]),
    );
    d.insert("SessionResponse".into(), object(&[("token", "string")]));
    d.insert(
        "UserInfo".into(),
        object(&[
            ("loggedIn", "boolean"),
            ("username", "string"),
            ("iss", "string"),
        ]),
    );
    d.insert(
        "UpdatePasswordRequest".into(),
        object(&[
            ("currentPassword", "string"),
            ("newPassword", "string"),
            ("name", "string"),
        ]),
    );
    d.insert(
        "CreateTokenRequest".into(),
        object(&[("expiresIn", "integer"), ("id", "string")]),
    );
    d.insert(
        "ProjectTokenCreateRequest".into(),
        object(&[
            ("expiresIn", "integer"),
            ("id", "string"),
            ("description", "string"),
        ]),
    );
    d.insert("CreateTokenResponse".into(), object(&[("token", "string")]));
    d.insert("CanIResponse".into(), object(&[("value", "string")]));
    d.insert(
        "ApplicationPatchRequest".into(),
        object(&[("patch", "string"), ("patchType", "string")]),
    );
    d.insert(
        "ApplicationSyncRequest".into(),
        object(&[
            ("revision", "string"),
            ("prune", "boolean"),
            ("dryRun", "boolean"),
            ("strategy", "object"),
            ("resources", "array"),
            ("syncOptions", "object"),
            ("retryStrategy", "object"),
        ]),
    );
    d.insert(
        "ApplicationRollbackRequest".into(),
        object(&[
            ("id", "integer"),
            ("prune", "boolean"),
            ("dryRun", "boolean"),
        ]),
    );
    d.insert(
        "ManifestResponse".into(),
        object(&[
            ("manifests", "array"),
            ("namespace", "string"),
            ("server", "string"),
            ("revision", "string"),
            ("sourceType", "string"),
        ]),
    );
    d.insert(
        "ProjectCreateRequest".into(),
        object(&[("project", "object"), ("upsert", "boolean")]),
    );
    d.insert(
        "ProjectUpdateRequest".into(),
        object(&[("project", "object")]),
    );
    d.insert(
        "Repository".into(),
        object(&[
            ("repo", "string"),
            ("type", "string"),
            ("name", "string"),
            ("project", "string"),
            ("username", "string"),
            ("password", "string"),
            ("sshPrivateKey", "string"),
            ("insecure", "boolean"),
            ("connectionState", "object"),
        ]),
    );
    d.insert(
        "RepoCreds".into(),
        object(&[
            ("url", "string"),
            ("username", "string"),
            ("password", "string"),
            ("sshPrivateKey", "string"),
        ]),
    );
    d.insert(
        "Error".into(),
        object(&[
            ("error", "string"),
            ("code", "integer"),
            ("message", "string"),
        ]),
    );
    Value::Object(d)
}

/// The document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for e in ENDPOINTS {
        let mut params: Vec<Value> = Vec::new();
        for seg in e.path.split('/') {
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                params
                    .push(json!({"name": name, "in": "path", "required": true, "type": "string"}));
            }
        }
        for q in e.query {
            params.push(json!({"name": q, "in": "query", "required": false, "type": "string"}));
        }
        if let Some(b) = e.body {
            params.push(json!({"name": "body", "in": "body", "required": true,
                               "schema": {"$ref": format!("#/definitions/{b}")}}));
        }
        let op = json!({
            "tags": [e.tag],
            "summary": e.summary,
            "operationId": format!("{}_{}", e.tag, e.summary.replace(' ', "")),
            "parameters": params,
            "responses": {
                "200": {"description": "A successful response.", "schema": {"$ref": format!("#/definitions/{}", e.response)}},
                "default": {"description": "An error.", "schema": {"$ref": "#/definitions/Error"}},
            },
        });
        let entry = paths.entry(e.path.to_string()).or_insert_with(|| json!({}));
        entry[e.method] = op;
    }
    json!({
        "swagger": "2.0",
        "info": {"title": "Capstan API (Argo CD compatible)", "version": crate::routes::settings::VERSION},
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "securityDefinitions": {"bearer": {"type": "apiKey", "name": "Authorization", "in": "header"}},
        "security": [{"bearer": []}],
        "paths": paths,
        "definitions": definitions(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_is_defined() {
        let doc = document();
        let defs = doc["definitions"].as_object().unwrap();
        for e in ENDPOINTS {
            assert!(defs.contains_key(e.response), "{}", e.response);
            if let Some(b) = e.body {
                assert!(defs.contains_key(b), "{b}");
            }
        }
        assert!(doc["paths"]["/api/v1/applications/{name}/sync"]["post"].is_object());
    }
}
