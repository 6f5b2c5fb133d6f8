//! One method per REST endpoint, with Argo CD's paths and bodies. Answers are the server's JSON
//! (Argo CD's shapes: Applications, AppProjects, Repository, Cluster, ...).

use serde_json::{Value, json};

use crate::client::ApiClient;
use crate::error::ClientError;

/// Escapes one path segment or query value (a `/` inside a repository URL becomes `%2F`).
pub fn escape(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn app_path(name: &str) -> String {
    format!("/api/v1/applications/{}", escape(name))
}

/// The `items` array of a list answer (`null` items is an empty list).
pub fn items(list: &Value) -> Vec<Value> {
    list.get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Options of a sync request (`POST /api/v1/applications/{name}/sync`).
#[derive(Debug, Clone, Default)]
pub struct SyncRequest {
    pub revision: String,
    pub prune: bool,
    pub dry_run: bool,
    /// `{group, kind, name, namespace}` of the resources to sync (all when empty).
    pub resources: Vec<Value>,
    pub sync_options: Vec<String>,
    /// `apply` or `hook` strategy; `force` applies to apply.
    pub strategy: Option<String>,
    pub force: bool,
}

impl ApiClient {
    /// `POST /api/v1/session`: a session token.
    pub fn login(&self, username: &str, password: &str) -> Result<String, ClientError> {
        let answer = self.post(
            "/api/v1/session",
            &json!({"username": username, "password": password}),
        )?;
        answer
            .get("token")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| ClientError::Decode {
                url: format!("{}/api/v1/session", self.base_url()),
                reason: "no token in the answer".into(),
            })
    }

    /// `DELETE /api/v1/session`.
    pub fn logout(&self) -> Result<(), ClientError> {
        self.delete("/api/v1/session").map(|_| ())
    }

    /// `GET /api/v1/session/userinfo`.
    pub fn user_info(&self) -> Result<Value, ClientError> {
        self.get("/api/v1/session/userinfo")
    }

    /// `GET /api/version`.
    pub fn server_version(&self) -> Result<Value, ClientError> {
        self.get("/api/version")
    }

    /// `GET /api/v1/applications?projects=&selector=`.
    pub fn list_applications(
        &self,
        projects: &[String],
        selector: Option<&str>,
    ) -> Result<Vec<Value>, ClientError> {
        let mut q: Vec<String> = projects
            .iter()
            .map(|p| format!("projects={}", escape(p)))
            .collect();
        if let Some(s) = selector.filter(|s| !s.is_empty()) {
            q.push(format!("selector={}", escape(s)));
        }
        let path = if q.is_empty() {
            "/api/v1/applications".to_string()
        } else {
            format!("/api/v1/applications?{}", q.join("&"))
        };
        Ok(items(&self.get(&path)?))
    }

    /// `GET /api/v1/applications/{name}?refresh=normal|hard`.
    pub fn get_application(&self, name: &str, refresh: Option<&str>) -> Result<Value, ClientError> {
        match refresh {
            Some(r) => self.get(&format!("{}?refresh={r}", app_path(name))),
            None => self.get(&app_path(name)),
        }
    }

    /// `POST /api/v1/applications?upsert=`.
    pub fn create_application(&self, app: &Value, upsert: bool) -> Result<Value, ClientError> {
        self.post(&format!("/api/v1/applications?upsert={upsert}"), app)
    }

    /// `PUT /api/v1/applications/{name}`.
    pub fn update_application(&self, app: &Value) -> Result<Value, ClientError> {
        let name = app
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        self.put(&app_path(name), app)
    }

    /// `PATCH /api/v1/applications/{name}` with a merge or JSON patch (text).
    pub fn patch_application(
        &self,
        name: &str,
        patch: &str,
        patch_type: &str,
    ) -> Result<Value, ClientError> {
        self.patch(
            &app_path(name),
            &json!({"name": name, "patch": patch, "patchType": patch_type}),
        )
    }

    /// `DELETE /api/v1/applications/{name}?cascade=&propagationPolicy=`.
    pub fn delete_application(
        &self,
        name: &str,
        cascade: bool,
        propagation_policy: Option<&str>,
    ) -> Result<(), ClientError> {
        let mut path = format!("{}?cascade={cascade}", app_path(name));
        if let Some(p) = propagation_policy {
            path.push_str(&format!("&propagationPolicy={}", escape(p)));
        }
        self.delete(&path).map(|_| ())
    }

    /// `POST /api/v1/applications/{name}/sync`.
    pub fn sync_application(&self, name: &str, req: &SyncRequest) -> Result<Value, ClientError> {
        let mut body = json!({
            "name": name,
            "revision": req.revision,
            "prune": req.prune,
            "dryRun": req.dry_run,
        });
        if !req.resources.is_empty() {
            body["resources"] = json!(req.resources);
        }
        if !req.sync_options.is_empty() {
            body["syncOptions"] = json!({"items": req.sync_options});
        }
        match req.strategy.as_deref() {
            Some("hook") => body["strategy"] = json!({"hook": {"force": req.force}}),
            Some(_) => body["strategy"] = json!({"apply": {"force": req.force}}),
            None if req.force => body["strategy"] = json!({"apply": {"force": true}}),
            None => {}
        }
        self.post(&format!("{}/sync", app_path(name)), &body)
    }

    /// `POST /api/v1/applications/{name}/rollback`.
    pub fn rollback_application(
        &self,
        name: &str,
        id: i64,
        prune: bool,
        dry_run: bool,
    ) -> Result<Value, ClientError> {
        self.post(
            &format!("{}/rollback", app_path(name)),
            &json!({"name": name, "id": id, "prune": prune, "dryRun": dry_run}),
        )
    }

    /// `DELETE /api/v1/applications/{name}/operation`.
    pub fn terminate_operation(&self, name: &str) -> Result<(), ClientError> {
        self.delete(&format!("{}/operation", app_path(name)))
            .map(|_| ())
    }

    /// `GET /api/v1/applications/{name}/resource-tree`.
    pub fn resource_tree(&self, name: &str) -> Result<Value, ClientError> {
        self.get(&format!("{}/resource-tree", app_path(name)))
    }

    /// `GET /api/v1/applications/{name}/managed-resources`: per resource target/live states (JSON
    /// texts), `modified` and the unified `diff`.
    pub fn managed_resources(&self, name: &str) -> Result<Vec<Value>, ClientError> {
        Ok(items(
            &self.get(&format!("{}/managed-resources", app_path(name)))?,
        ))
    }

    /// `GET /api/v1/applications/{name}/manifests?revision=`: the rendered objects.
    pub fn manifests(&self, name: &str, revision: Option<&str>) -> Result<Vec<Value>, ClientError> {
        let path = match revision {
            Some(r) => format!("{}/manifests?revision={}", app_path(name), escape(r)),
            None => format!("{}/manifests", app_path(name)),
        };
        let answer = self.get(&path)?;
        let texts = answer
            .get("manifests")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        texts
            .iter()
            .map(|t| match t {
                Value::String(s) => serde_json::from_str(s).map_err(|e| ClientError::Decode {
                    url: format!("{}{path}", self.base_url()),
                    reason: e.to_string(),
                }),
                other => Ok(other.clone()),
            })
            .collect()
    }

    /// `GET /api/v1/applications/{name}/events`.
    pub fn application_events(&self, name: &str) -> Result<Vec<Value>, ClientError> {
        Ok(items(&self.get(&format!("{}/events", app_path(name)))?))
    }

    /// `GET /api/v1/projects`.
    pub fn list_projects(&self) -> Result<Vec<Value>, ClientError> {
        Ok(items(&self.get("/api/v1/projects")?))
    }

    /// `GET /api/v1/projects/{name}`.
    pub fn get_project(&self, name: &str) -> Result<Value, ClientError> {
        self.get(&format!("/api/v1/projects/{}", escape(name)))
    }

    /// `POST /api/v1/projects`.
    pub fn create_project(&self, project: &Value, upsert: bool) -> Result<Value, ClientError> {
        self.post(
            "/api/v1/projects",
            &json!({"project": project, "upsert": upsert}),
        )
    }

    /// `PUT /api/v1/projects/{name}`.
    pub fn update_project(&self, project: &Value) -> Result<Value, ClientError> {
        let name = project
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        self.put(
            &format!("/api/v1/projects/{}", escape(name)),
            &json!({"project": project}),
        )
    }

    /// `DELETE /api/v1/projects/{name}`.
    pub fn delete_project(&self, name: &str) -> Result<(), ClientError> {
        self.delete(&format!("/api/v1/projects/{}", escape(name)))
            .map(|_| ())
    }

    /// `POST /api/v1/projects/{name}/roles/{role}/token`.
    pub fn create_project_token(
        &self,
        project: &str,
        role: &str,
        expires_in: i64,
        id: &str,
    ) -> Result<String, ClientError> {
        let answer = self.post(
            &format!(
                "/api/v1/projects/{}/roles/{}/token",
                escape(project),
                escape(role)
            ),
            &json!({"expiresIn": expires_in, "id": id}),
        )?;
        Ok(answer["token"].as_str().unwrap_or_default().to_string())
    }

    /// `GET /api/v1/repositories`.
    pub fn list_repositories(&self) -> Result<Vec<Value>, ClientError> {
        Ok(items(&self.get("/api/v1/repositories")?))
    }

    /// `GET /api/v1/repositories/{url}`.
    pub fn get_repository(&self, url: &str) -> Result<Value, ClientError> {
        self.get(&format!("/api/v1/repositories/{}", escape(url)))
    }

    /// `POST /api/v1/repositories?upsert=`.
    pub fn create_repository(&self, repo: &Value, upsert: bool) -> Result<Value, ClientError> {
        self.post(&format!("/api/v1/repositories?upsert={upsert}"), repo)
    }

    /// `DELETE /api/v1/repositories/{url}`.
    pub fn delete_repository(&self, url: &str) -> Result<(), ClientError> {
        self.delete(&format!("/api/v1/repositories/{}", escape(url)))
            .map(|_| ())
    }

    /// `GET /api/v1/repocreds`.
    pub fn list_repo_creds(&self) -> Result<Vec<Value>, ClientError> {
        Ok(items(&self.get("/api/v1/repocreds")?))
    }

    /// `POST /api/v1/repocreds?upsert=`.
    pub fn create_repo_creds(&self, creds: &Value, upsert: bool) -> Result<Value, ClientError> {
        self.post(&format!("/api/v1/repocreds?upsert={upsert}"), creds)
    }

    /// `DELETE /api/v1/repocreds/{url}`.
    pub fn delete_repo_creds(&self, url: &str) -> Result<(), ClientError> {
        self.delete(&format!("/api/v1/repocreds/{}", escape(url)))
            .map(|_| ())
    }

    /// `GET /api/v1/clusters`.
    pub fn list_clusters(&self) -> Result<Vec<Value>, ClientError> {
        Ok(items(&self.get("/api/v1/clusters")?))
    }

    /// `GET /api/v1/clusters/{server}`.
    pub fn get_cluster(&self, server: &str) -> Result<Value, ClientError> {
        self.get(&format!("/api/v1/clusters/{}", escape(server)))
    }

    /// `POST /api/v1/clusters?upsert=`.
    pub fn create_cluster(&self, cluster: &Value, upsert: bool) -> Result<Value, ClientError> {
        self.post(&format!("/api/v1/clusters?upsert={upsert}"), cluster)
    }

    /// `DELETE /api/v1/clusters/{server}`.
    pub fn delete_cluster(&self, server: &str) -> Result<(), ClientError> {
        self.delete(&format!("/api/v1/clusters/{}", escape(server)))
            .map(|_| ())
    }

    /// `GET /api/v1/account`.
    pub fn list_accounts(&self) -> Result<Vec<Value>, ClientError> {
        Ok(items(&self.get("/api/v1/account")?))
    }

    /// `GET /api/v1/account/{name}`.
    pub fn get_account(&self, name: &str) -> Result<Value, ClientError> {
        self.get(&format!("/api/v1/account/{}", escape(name)))
    }

    /// `PUT /api/v1/account/password`.
    pub fn update_password(
        &self,
        account: &str,
        current: &str,
        new: &str,
    ) -> Result<(), ClientError> {
        self.put(
            "/api/v1/account/password",
            &json!({"name": account, "currentPassword": current, "newPassword": new}),
        )
        .map(|_| ())
    }

    /// `POST /api/v1/account/{name}/token`.
    pub fn create_account_token(
        &self,
        account: &str,
        expires_in: i64,
        id: &str,
    ) -> Result<String, ClientError> {
        let answer = self.post(
            &format!("/api/v1/account/{}/token", escape(account)),
            &json!({"expiresIn": expires_in, "id": id}),
        )?;
        Ok(answer["token"].as_str().unwrap_or_default().to_string())
    }

    /// `GET /api/v1/account/can-i/{resource}/{action}/{subresource}`: `yes` or `no`.
    pub fn can_i(&self, action: &str, resource: &str, object: &str) -> Result<String, ClientError> {
        let answer = self.get(&format!(
            "/api/v1/account/can-i/{}/{}/{}",
            escape(resource),
            escape(action),
            object.split('/').map(escape).collect::<Vec<_>>().join("/")
        ))?;
        Ok(answer["value"].as_str().unwrap_or("no").to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_repository_urls_as_one_segment() {
        assert_eq!(
            escape("https://github.com/a/b.git"),
            "https%3A%2F%2Fgithub.com%2Fa%2Fb.git"
        );
        assert_eq!(items(&json!({"items": null})), Vec::<Value>::new());
    }
}
