//! Get, list, apply, patch, create, replace and delete on objects held as JSON values.

use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, PropagationPolicy,
};
use serde_json::Value;

use crate::connect::ClusterClient;
use crate::discovery::ResourceType;
use crate::error::KubeError;

/// Options of a server-side apply.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Take ownership of conflicting fields.
    pub force: bool,
    /// Only validate (`dryRun=All`).
    pub dry_run: bool,
    /// Field manager (the client's default when None).
    pub field_manager: Option<String>,
}

/// Options of a [`ClusterClient::patch`].
#[derive(Debug, Clone, Default)]
pub struct PatchOptions {
    /// A strategic merge patch (built-in kinds); otherwise a JSON merge patch.
    pub strategic: bool,
    /// Only validate (`dryRun=All`).
    pub dry_run: bool,
    /// Field manager (the client's default when None).
    pub field_manager: Option<String>,
}

/// Options of a delete.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// `Foreground`, `Background` or `Orphan`.
    pub propagation: Option<String>,
    /// Only validate.
    pub dry_run: bool,
}

fn text<'a>(obj: &'a Value, pointer: &str) -> Option<&'a str> {
    obj.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn to_value(obj: DynamicObject) -> Result<Value, KubeError> {
    serde_json::to_value(obj).map_err(|e| KubeError::InvalidObject(e.to_string()))
}

fn to_dynamic(obj: &Value) -> Result<DynamicObject, KubeError> {
    serde_json::from_value(obj.clone()).map_err(|e| KubeError::InvalidObject(e.to_string()))
}

/// `Kind namespace/name` for messages.
pub(crate) fn describe(rt: &ResourceType, namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) if rt.namespaced => format!("{} {ns}/{name}", rt.kind),
        _ => format!("{} {name}", rt.kind),
    }
}

impl ClusterClient {
    pub(crate) fn api(&self, rt: &ResourceType, namespace: Option<&str>) -> Api<DynamicObject> {
        let resource = rt.api_resource();
        match namespace {
            Some(ns) if rt.namespaced => Api::namespaced_with(self.client.clone(), ns, &resource),
            _ => Api::all_with(self.client.clone(), &resource),
        }
    }

    /// The resource type and (namespace, name) of an object, resolved through discovery.
    pub async fn locate(
        &self,
        obj: &Value,
    ) -> Result<(ResourceType, Option<String>, String), KubeError> {
        let api_version = text(obj, "/apiVersion")
            .ok_or_else(|| KubeError::InvalidObject("apiVersion is missing".into()))?;
        let kind =
            text(obj, "/kind").ok_or_else(|| KubeError::InvalidObject("kind is missing".into()))?;
        let name = text(obj, "/metadata/name")
            .ok_or_else(|| KubeError::InvalidObject(format!("{kind} has no metadata.name")))?;
        let rt = self.resolve(api_version, kind).await?;
        let namespace = if rt.namespaced {
            text(obj, "/metadata/namespace").map(str::to_string)
        } else {
            None
        };
        Ok((rt, namespace, name.to_string()))
    }

    /// Reads one object; `None` when it does not exist.
    pub async fn get(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, KubeError> {
        self.throttle.wait().await;
        match self.api(rt, namespace).get_opt(name).await {
            Ok(Some(obj)) => Ok(Some(to_value(obj)?)),
            Ok(None) => Ok(None),
            Err(e) => Err(KubeError::from_kube(
                e,
                describe(rt, namespace, name),
                &self.server,
            )),
        }
    }

    /// Lists objects (all namespaces when `namespace` is None), with an optional label selector.
    /// Returns the objects and the list's resourceVersion.
    pub async fn list(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        label_selector: Option<&str>,
    ) -> Result<(Vec<Value>, String), KubeError> {
        self.throttle.wait().await;
        let mut params = ListParams::default();
        if let Some(selector) = label_selector {
            params = params.labels(selector);
        }
        let list =
            self.api(rt, namespace).list(&params).await.map_err(|e| {
                KubeError::from_kube(e, format!("list {}", rt.plural), &self.server)
            })?;
        let rv = list.metadata.resource_version.clone().unwrap_or_default();
        let mut items = Vec::with_capacity(list.items.len());
        for mut item in list.items {
            // list items carry no type fields; put them back so every object is self-describing
            item.types = Some(kube::core::TypeMeta {
                api_version: rt.api_version(),
                kind: rt.kind.clone(),
            });
            items.push(to_value(item)?);
        }
        Ok((items, rv))
    }

    /// Server-side apply of `obj` (with Capstan's field manager unless told otherwise).
    pub async fn apply(&self, obj: &Value, options: &ApplyOptions) -> Result<Value, KubeError> {
        self.throttle.wait().await;
        let (rt, namespace, name) = self.locate(obj).await?;
        let manager = options
            .field_manager
            .clone()
            .unwrap_or_else(|| self.options.field_manager.clone());
        let mut params = PatchParams::apply(&manager);
        params.force = options.force;
        params.dry_run = options.dry_run;
        let mut body = obj.clone();
        if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
            // fields the server owns must not be sent with an apply
            for field in [
                "managedFields",
                "resourceVersion",
                "uid",
                "creationTimestamp",
                "generation",
            ] {
                meta.remove(field);
            }
        }
        self.api(&rt, namespace.as_deref())
            .patch(&name, &params, &Patch::Apply(&body))
            .await
            .map_err(|e| {
                KubeError::from_kube(e, describe(&rt, namespace.as_deref(), &name), &self.server)
            })
            .and_then(to_value)
    }

    /// JSON merge patch of one object.
    pub async fn merge_patch(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        patch: &Value,
    ) -> Result<Value, KubeError> {
        self.throttle.wait().await;
        let params = PatchParams {
            field_manager: Some(self.options.field_manager.clone()),
            ..Default::default()
        };
        self.api(rt, namespace)
            .patch(name, &params, &Patch::Merge(patch))
            .await
            .map_err(|e| KubeError::from_kube(e, describe(rt, namespace, name), &self.server))
            .and_then(to_value)
    }

    /// Strategic merge or JSON merge patch of one object, optionally as a dry run.
    pub async fn patch(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        patch: &Value,
        options: &PatchOptions,
    ) -> Result<Value, KubeError> {
        self.throttle.wait().await;
        let params = PatchParams {
            field_manager: Some(
                options
                    .field_manager
                    .clone()
                    .unwrap_or_else(|| self.options.field_manager.clone()),
            ),
            dry_run: options.dry_run,
            ..Default::default()
        };
        let api = self.api(rt, namespace);
        let result = if options.strategic {
            api.patch(name, &params, &Patch::Strategic(patch)).await
        } else {
            api.patch(name, &params, &Patch::Merge(patch)).await
        };
        result
            .map_err(|e| KubeError::from_kube(e, describe(rt, namespace, name), &self.server))
            .and_then(to_value)
    }

    /// Creates an object (honouring `generateName`).
    pub async fn create(&self, obj: &Value, dry_run: bool) -> Result<Value, KubeError> {
        self.throttle.wait().await;
        let api_version = text(obj, "/apiVersion")
            .ok_or_else(|| KubeError::InvalidObject("apiVersion is missing".into()))?;
        let kind =
            text(obj, "/kind").ok_or_else(|| KubeError::InvalidObject("kind is missing".into()))?;
        let rt = self.resolve(api_version, kind).await?;
        let namespace = if rt.namespaced {
            text(obj, "/metadata/namespace")
        } else {
            None
        };
        let name = text(obj, "/metadata/name")
            .or_else(|| text(obj, "/metadata/generateName"))
            .unwrap_or_default();
        let params = PostParams {
            dry_run,
            field_manager: Some(self.options.field_manager.clone()),
        };
        self.api(&rt, namespace)
            .create(&params, &to_dynamic(obj)?)
            .await
            .map_err(|e| KubeError::from_kube(e, describe(&rt, namespace, name), &self.server))
            .and_then(to_value)
    }

    /// Replaces an object (PUT); the object's resourceVersion, if any, guards against lost updates.
    pub async fn replace(&self, obj: &Value, dry_run: bool) -> Result<Value, KubeError> {
        self.throttle.wait().await;
        let (rt, namespace, name) = self.locate(obj).await?;
        let params = PostParams {
            dry_run,
            field_manager: Some(self.options.field_manager.clone()),
        };
        self.api(&rt, namespace.as_deref())
            .replace(&name, &params, &to_dynamic(obj)?)
            .await
            .map_err(|e| {
                KubeError::from_kube(e, describe(&rt, namespace.as_deref(), &name), &self.server)
            })
            .and_then(to_value)
    }

    /// Deletes an object; a missing object is not an error.
    pub async fn delete(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<(), KubeError> {
        self.throttle.wait().await;
        let propagation = match options.propagation.as_deref() {
            Some("Foreground") | Some("foreground") => Some(PropagationPolicy::Foreground),
            Some("Background") | Some("background") => Some(PropagationPolicy::Background),
            Some("Orphan") | Some("orphan") => Some(PropagationPolicy::Orphan),
            _ => None,
        };
        let params = DeleteParams {
            dry_run: options.dry_run,
            propagation_policy: propagation,
            ..Default::default()
        };
        match self.api(rt, namespace).delete(name, &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(e) => Err(KubeError::from_kube(
                e,
                describe(rt, namespace, name),
                &self.server,
            )),
        }
    }
}
