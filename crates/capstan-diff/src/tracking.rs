//! Resource tracking (Argo CD's `util/argo/resource_tracking.go`): which application a live object
//! belongs to, by the `argocd.argoproj.io/tracking-id` annotation (default), the instance label, or both.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use capstan_types::annotations::{DEFAULT_INSTANCE_LABEL, TRACKING_ID};
use serde::Serialize;
use serde_json::{Map, Value};

/// Maximum length of a label value.
pub const LABEL_VALUE_MAX_LENGTH: usize = 63;

/// Errors of tracking values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackingError {
    /// A tracking-id that is not `<app>:<group>/<kind>:<namespace>/<name>`.
    #[error("invalid tracking id {0:?}: expected <app>:<group>/<kind>:<namespace>/<name>")]
    InvalidTrackingId(String),
    /// An unknown `application.resourceTrackingMethod`.
    #[error(
        "unknown resource tracking method {0:?}: expected annotation, label or annotation+label"
    )]
    UnknownMethod(String),
    /// The application instance name does not fit a label value.
    #[error(
        "application instance name {name:?} is {len} characters long; label values are limited to 63 characters (use annotation tracking)"
    )]
    LabelTooLong {
        /// The name.
        name: String,
        /// Its length.
        len: usize,
    },
    /// The object has no `metadata` map to write into.
    #[error("object has no metadata map")]
    NoMetadata,
}

/// `application.resourceTrackingMethod`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum TrackingMethod {
    /// The tracking-id annotation (default since Argo CD 3.0).
    #[default]
    Annotation,
    /// The instance label.
    Label,
    /// The annotation decides; the label is also written (for tools that select by label).
    AnnotationAndLabel,
}

impl FromStr for TrackingMethod {
    type Err = TrackingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" | "annotation" => Ok(TrackingMethod::Annotation),
            "label" => Ok(TrackingMethod::Label),
            "annotation+label" => Ok(TrackingMethod::AnnotationAndLabel),
            other => Err(TrackingError::UnknownMethod(other.to_string())),
        }
    }
}

/// Tracking settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracking {
    /// The method.
    pub method: TrackingMethod,
    /// `application.instanceLabelKey`.
    pub instance_label_key: String,
}

impl Default for Tracking {
    fn default() -> Self {
        Tracking {
            method: TrackingMethod::Annotation,
            instance_label_key: DEFAULT_INSTANCE_LABEL.to_string(),
        }
    }
}

/// A parsed tracking-id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TrackingId {
    /// Application instance name (`<app>` or `<appNamespace>_<app>`).
    pub app_instance: String,
    /// API group of the object (empty for core).
    pub group: String,
    /// Kind of the object.
    pub kind: String,
    /// Namespace of the object (empty for cluster-scoped).
    pub namespace: String,
    /// Name of the object.
    pub name: String,
}

impl fmt::Display for TrackingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}/{}:{}/{}",
            self.app_instance, self.group, self.kind, self.namespace, self.name
        )
    }
}

impl FromStr for TrackingId {
    type Err = TrackingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || TrackingError::InvalidTrackingId(s.to_string());
        let parts: Vec<&str> = s.split(':').collect();
        let [app, group_kind, namespace_name] = parts.as_slice() else {
            return Err(invalid());
        };
        let (group, kind) = group_kind.split_once('/').ok_or_else(invalid)?;
        let (namespace, name) = namespace_name.split_once('/').ok_or_else(invalid)?;
        if app.is_empty()
            || kind.is_empty()
            || name.is_empty()
            || kind.contains('/')
            || name.contains('/')
        {
            return Err(invalid());
        }
        Ok(TrackingId {
            app_instance: (*app).to_string(),
            group: group.to_string(),
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        })
    }
}

impl TrackingId {
    /// The tracking-id an object of this application should carry.
    pub fn for_object(app_instance: &str, obj: &Value) -> TrackingId {
        let id = ObjectId::of(obj);
        TrackingId {
            app_instance: app_instance.to_string(),
            group: id.group,
            kind: id.kind,
            namespace: id.namespace,
            name: id.name,
        }
    }

    /// True when the id names this object (a copied object keeps a tracking-id that names another).
    pub fn names(&self, obj: &Value) -> bool {
        let id = ObjectId::of(obj);
        self.group == id.group
            && self.kind == id.kind
            && self.name == id.name
            && (id.namespace.is_empty() || self.namespace == id.namespace)
    }
}

/// `<app>`, or `<appNamespace>_<app>` when the Application lives outside the control-plane namespace.
pub fn app_instance_name(app: &str, app_namespace: &str, control_plane_namespace: &str) -> String {
    if app_namespace.is_empty() || app_namespace == control_plane_namespace {
        app.to_string()
    } else {
        format!("{app_namespace}_{app}")
    }
}

/// Splits an instance name into (namespace, app), with `default_namespace` for the plain form.
pub fn parse_app_instance_name(instance: &str, default_namespace: &str) -> (String, String) {
    match instance.split_once('_') {
        Some((namespace, app)) => (namespace.to_string(), app.to_string()),
        None => (default_namespace.to_string(), instance.to_string()),
    }
}

/// Group, kind, namespace and name of an object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectId {
    /// API group.
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ObjectId {
    /// The identity of an object.
    pub fn of(obj: &Value) -> ObjectId {
        let s = |p: &str| {
            obj.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let api_version = s("/apiVersion");
        ObjectId {
            group: api_version
                .rsplit_once('/')
                .map(|(g, _)| g.to_string())
                .unwrap_or_default(),
            kind: s("/kind"),
            namespace: s("/metadata/namespace"),
            name: s("/metadata/name"),
        }
    }
}

impl Tracking {
    /// The application instance that owns a live object, if any.
    pub fn app_instance(&self, obj: &Value) -> Option<String> {
        let annotation = || {
            let raw = obj
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(TRACKING_ID))
                .and_then(Value::as_str)?;
            let id: TrackingId = raw.parse().ok()?;
            id.names(obj).then_some(id.app_instance)
        };
        let label = || {
            obj.pointer("/metadata/labels")
                .and_then(|l| l.get(&self.instance_label_key))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        match self.method {
            TrackingMethod::Annotation | TrackingMethod::AnnotationAndLabel => annotation(),
            TrackingMethod::Label => label(),
        }
    }

    /// Writes the tracking annotation and/or label of `app_instance` into a desired object.
    pub fn set_app_instance(
        &self,
        obj: &mut Value,
        app_instance: &str,
    ) -> Result<(), TrackingError> {
        let id = TrackingId::for_object(app_instance, obj).to_string();
        let label_needed = matches!(
            self.method,
            TrackingMethod::Label | TrackingMethod::AnnotationAndLabel
        );
        if label_needed && app_instance.len() > LABEL_VALUE_MAX_LENGTH {
            return Err(TrackingError::LabelTooLong {
                name: app_instance.to_string(),
                len: app_instance.len(),
            });
        }
        let meta = obj
            .as_object_mut()
            .ok_or(TrackingError::NoMetadata)?
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .ok_or(TrackingError::NoMetadata)?;
        let mut set = |field: &str, key: &str, value: &str| -> Result<(), TrackingError> {
            let map = meta
                .entry(field)
                .or_insert_with(|| Value::Object(Map::new()));
            if map.is_null() {
                *map = Value::Object(Map::new());
            }
            map.as_object_mut()
                .ok_or(TrackingError::NoMetadata)?
                .insert(key.to_string(), Value::String(value.to_string()));
            Ok(())
        };
        if matches!(
            self.method,
            TrackingMethod::Annotation | TrackingMethod::AnnotationAndLabel
        ) {
            set("annotations", TRACKING_ID, &id)?;
        }
        if label_needed {
            set("labels", &self.instance_label_key, app_instance)?;
        }
        Ok(())
    }

    /// The SharedResourceWarning case: a desired object of `app_instance` whose live object is
    /// tracked by another application. Returns the other application's instance name.
    pub fn claimed_by_other(&self, live: &Value, app_instance: &str) -> Option<String> {
        self.app_instance(live)
            .filter(|owner| owner != app_instance)
    }
}

/// An object desired by more than one application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharedResource {
    /// The object.
    pub object: ObjectId,
    /// The applications (instance names), sorted.
    pub apps: Vec<String>,
}

/// Objects that several applications desire (each pair is an application instance and one of its
/// desired objects).
pub fn find_shared_resources<'a>(
    claims: impl IntoIterator<Item = (&'a str, &'a Value)>,
) -> Vec<SharedResource> {
    let mut by_object: BTreeMap<ObjectId, Vec<String>> = BTreeMap::new();
    for (app, obj) in claims {
        let apps = by_object.entry(ObjectId::of(obj)).or_default();
        if !apps.iter().any(|a| a == app) {
            apps.push(app.to_string());
        }
    }
    by_object
        .into_iter()
        .filter(|(_, apps)| apps.len() > 1)
        .map(|(object, mut apps)| {
            apps.sort();
            SharedResource { object, apps }
        })
        .collect()
}

/// Pairs desired and live objects by group, kind, namespace and name (desired objects without a
/// namespace take `default_namespace`; cluster-scoped objects have none on either side). Desired
/// objects come first in their order, then live objects nobody desires.
pub fn pair_by_identity<'a>(
    desired: &'a [Value],
    live: &'a [Value],
    default_namespace: &str,
) -> Vec<(Option<&'a Value>, Option<&'a Value>)> {
    let key = |obj: &Value, default_ns: &str| {
        let mut id = ObjectId::of(obj);
        if id.namespace.is_empty() {
            id.namespace = default_ns.to_string();
        }
        id
    };
    let live_keys: Vec<ObjectId> = live.iter().map(|l| key(l, default_namespace)).collect();
    let live_keys_unscoped: Vec<ObjectId> = live.iter().map(ObjectId::of).collect();
    let mut used = vec![false; live.len()];
    let mut pairs = Vec::with_capacity(desired.len() + live.len());
    for d in desired {
        let wanted = key(d, default_namespace);
        let unscoped = ObjectId::of(d);
        let found = (0..live.len()).find(|&i| {
            !used[i]
                && (live_keys[i] == wanted
                    || (unscoped.namespace.is_empty() && live_keys_unscoped[i] == unscoped))
        });
        match found {
            Some(i) => {
                used[i] = true;
                pairs.push((Some(d), Some(&live[i])));
            }
            None => pairs.push((Some(d), None)),
        }
    }
    pairs.extend(
        live.iter()
            .zip(&used)
            .filter(|(_, u)| !**u)
            .map(|(l, _)| (None, Some(l))),
    );
    pairs
}
