//! Patch metadata of the built-in Kubernetes kinds: which lists merge by which key (strategic
//! merge patch `patchMergeKey`/`patchStrategy`), which lists are sets or associative lists for
//! server-side apply (`x-kubernetes-list-type`, `x-kubernetes-list-map-keys`), which objects are
//! atomic (`x-kubernetes-map-type: atomic`) and which carry `retainKeys`.
//!
//! Only fields that differ from the defaults are listed. Defaults: objects merge field by
//! field, lists are replaced as a whole (SMP) / atomic (SSA), scalars are leaves.

mod builtin;

pub use builtin::is_builtin;

/// How a field is merged.
#[derive(Debug)]
pub enum Field {
    /// An object with known sub-fields; fields not listed use the defaults.
    Object(&'static TypeDef),
    /// A list of objects merged by key.
    MapList(&'static ListDef),
    /// A list of scalars merged as a set (SMP `patchStrategy: merge`, SSA `listType: set`).
    SetList,
    /// An object that server-side apply treats as one value (`x-kubernetes-map-type: atomic`,
    /// e.g. a LabelSelector). Strategic merge patch still merges it field by field.
    AtomicObject,
    /// An object with `patchStrategy: replace` (a PodDisruptionBudget's `selector`): a
    /// strategic merge patch replaces it whole, and server-side apply treats it as atomic.
    ReplacedObject,
}

/// An associative list.
#[derive(Debug)]
pub struct ListDef {
    /// The strategic merge patch `patchMergeKey`.
    pub smp_key: &'static str,
    /// The server-side apply `x-kubernetes-list-map-keys`, each with its schema default (used
    /// when an item omits it, as `protocol: TCP` for ports). Empty: the list is atomic for
    /// server-side apply (`x-kubernetes-list-type: atomic`, e.g. a Job's status conditions).
    pub ssa_keys: &'static [(&'static str, Option<&'static str>)],
    /// Whether each item is atomic for server-side apply (`x-kubernetes-map-type: atomic`
    /// items such as owner references and image pull secrets: `k:{"uid":"…"}: {}`).
    pub atomic_items: bool,
    /// The item type.
    pub item: &'static TypeDef,
    /// Whether the items carry `patchStrategy: retainKeys`.
    pub retain_keys: bool,
}

/// An object type: its special fields.
#[derive(Debug)]
pub struct TypeDef {
    pub fields: &'static [(&'static str, Field)],
    /// `patchStrategy: retainKeys` on this object (e.g. a Deployment's `strategy`).
    pub retain_keys: bool,
}

impl TypeDef {
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, f)| f)
    }
}

/// The empty type: every field uses the defaults.
pub static ANY: TypeDef = TypeDef {
    fields: &[],
    retain_keys: false,
};

/// What is known about a value's type while walking an object.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// An object type (possibly with no special fields).
    Object(&'static TypeDef),
    /// An atomic object.
    AtomicObject,
    /// An object replaced whole by strategic merge patch (atomic for server-side apply).
    ReplacedObject,
    /// A list of the given kind.
    MapList(&'static ListDef),
    SetList,
    /// A list with no merge information: replaced (SMP) / atomic (SSA).
    AtomicList,
    /// Nothing known (a scalar, or an unknown value).
    Unknown,
}

impl Ty {
    /// The type of the member `name` of an object of this type.
    pub fn member(self, name: &str) -> Ty {
        match self {
            Ty::Object(def) => match def.field(name) {
                Some(Field::Object(d)) => Ty::Object(d),
                Some(Field::MapList(l)) => Ty::MapList(l),
                Some(Field::SetList) => Ty::SetList,
                Some(Field::AtomicObject) => Ty::AtomicObject,
                Some(Field::ReplacedObject) => Ty::ReplacedObject,
                None => Ty::Unknown,
            },
            _ => Ty::Unknown,
        }
    }

    /// The object type to use for an object value of this type.
    pub fn object_def(self) -> &'static TypeDef {
        match self {
            Ty::Object(d) => d,
            _ => &ANY,
        }
    }

    /// The type of one item of a list of this type.
    pub fn item(self) -> Ty {
        match self {
            Ty::MapList(l) if l.atomic_items => Ty::AtomicObject,
            Ty::MapList(l) => Ty::Object(l.item),
            _ => Ty::Unknown,
        }
    }

    /// Whether server-side apply treats an object of this type as one value.
    pub fn is_atomic_object(self) -> bool {
        matches!(self, Ty::AtomicObject | Ty::ReplacedObject)
    }

    /// Whether server-side apply tracks the items of a list of this type one by one
    /// (associative lists with keys, and sets).
    pub fn is_keyed_list(self) -> bool {
        match self {
            Ty::MapList(l) => !l.ssa_keys.is_empty(),
            Ty::SetList => true,
            _ => false,
        }
    }
}

/// The root type of `apiVersion`/`kind`: the built-in schema for built-in kinds, otherwise a
/// generic object whose only known part is `metadata`.
pub fn root(api_version: &str, kind: &str) -> Ty {
    Ty::Object(builtin::root(api_version, kind).unwrap_or(&builtin::GENERIC))
}

/// The group of an `apiVersion` (`""` for the core group).
pub fn group_of(api_version: &str) -> &str {
    match api_version.rsplit_once('/') {
        Some((g, _)) => g,
        None => "",
    }
}
