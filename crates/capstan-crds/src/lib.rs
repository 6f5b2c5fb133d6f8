//! The three CustomResourceDefinitions (`applications`, `appprojects`, `applicationsets` in
//! `argoproj.io/v1alpha1`), generated from the Rust types in `capstan-types`, with structural OpenAPI v3
//! schemas that Kubernetes accepts. `deploy/crds/` holds the generated files; a test checks they are
//! up to date, so they are never edited by hand. Regenerate with `capstan admin crds --write deploy/crds`.

mod structural;

use capstan_types::{AppProject, Application, ApplicationSet};
use schemars::JsonSchema;
use serde_json::{Value, json};

/// One generated CRD.
#[derive(Debug, Clone)]
pub struct Crd {
    /// File name under `deploy/crds/`.
    pub file_name: &'static str,
    /// The CRD object.
    pub object: Value,
}

struct Names {
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    short: &'static [&'static str],
}

fn schema_of<T: JsonSchema>() -> Value {
    let generator = schemars::generate::SchemaSettings::openapi3().into_generator();
    let schema = generator.into_root_schema_for::<T>();
    structural::make_structural(schema.to_value())
}

fn crd(names: &Names, schema: Value, printer_columns: Value) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": format!("{}.argoproj.io", names.plural),
            "labels": {
                "app.kubernetes.io/name": format!("{}.argoproj.io", names.plural),
                "app.kubernetes.io/part-of": "capstan",
            },
        },
        "spec": {
            "group": "argoproj.io",
            "names": {
                "kind": names.kind,
                "listKind": format!("{}List", names.kind),
                "plural": names.plural,
                "singular": names.singular,
                "shortNames": names.short,
            },
            "scope": "Namespaced",
            "versions": [{
                "name": "v1alpha1",
                "served": true,
                "storage": true,
                "additionalPrinterColumns": printer_columns,
                "schema": {"openAPIV3Schema": schema},
                "subresources": {},
            }],
        },
    })
}

/// The three CRDs, in a stable order.
pub fn crds() -> Vec<Crd> {
    let app_columns = json!([
        {"name": "Sync Status", "type": "string", "jsonPath": ".status.sync.status"},
        {"name": "Health Status", "type": "string", "jsonPath": ".status.health.status"},
        {"name": "Revision", "type": "string", "jsonPath": ".status.sync.revision", "priority": 10},
        {"name": "Project", "type": "string", "jsonPath": ".spec.project", "priority": 10},
    ]);
    vec![
        Crd {
            file_name: "application-crd.yaml",
            object: crd(
                &Names {
                    kind: "Application",
                    plural: "applications",
                    singular: "application",
                    short: &["app", "apps"],
                },
                schema_of::<Application>(),
                app_columns,
            ),
        },
        Crd {
            file_name: "appproject-crd.yaml",
            object: crd(
                &Names {
                    kind: "AppProject",
                    plural: "appprojects",
                    singular: "appproject",
                    short: &["appproj", "appprojs"],
                },
                schema_of::<AppProject>(),
                json!([]),
            ),
        },
        Crd {
            file_name: "applicationset-crd.yaml",
            object: crd(
                &Names {
                    kind: "ApplicationSet",
                    plural: "applicationsets",
                    singular: "applicationset",
                    short: &["appset", "appsets"],
                },
                schema_of::<ApplicationSet>(),
                json!([]),
            ),
        },
    ]
}

/// The YAML text of a CRD file, with a header saying it is generated.
pub fn render(crd: &Crd) -> String {
    format!(
        "# Generated from crates/capstan-types by `capstan admin crds --write deploy/crds`. Do not edit.\n{}",
        capstan_yaml::to_yaml_string(&crd.object)
    )
}
