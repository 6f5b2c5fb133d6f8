//! The application page's parameter forms: Helm (values, value files, parameters) and Kustomize
//! (images, name prefix and suffix), one per source, posted to `/applications/{name}/parameters`
//! (a same-origin form post; the server saves the spec through the API's spec update).

use maud::{Markup, html};

use crate::pages::Perm;
use crate::pages::app::app_path;
use crate::params::{SourceParams, Tool};

fn field_id(p: &SourceParams, field: &str) -> String {
    match p.index {
        Some(i) => format!("{field}-{i}"),
        None => field.to_string(),
    }
}

/// The parameters section (nothing for an application without sources).
pub fn section(app: &str, sources: &[SourceParams], update: &Perm) -> Markup {
    let action = format!("{}/parameters", app_path(app));
    html! {
        @if !sources.is_empty() {
            details.parameters #parameters {
                summary { "Parameters" }
                @for p in sources {
                    @let source = p.index.map(|i| i.to_string()).unwrap_or_default();
                    @let id = |f: &str| field_id(p, f);
                    section.source-params aria-label={ "Parameters of " (p.repo) } {
                        h3 { (p.repo) @if !p.path.is_empty() { " · " (p.path) } }
                        @match p.tool {
                            Tool::Helm => {
                                form.params.helm-params method="post" action=(action) {
                                    input type="hidden" name="tool" value="helm";
                                    input type="hidden" name="source" value=(source);
                                    label for=(id("helm-values")) { "Values (YAML)" }
                                    textarea id=(id("helm-values")) name="values" rows="8" spellcheck="false" { (p.values) }
                                    label for=(id("helm-value-files")) { "Value files (one per line)" }
                                    textarea id=(id("helm-value-files")) name="value_files" rows="3" spellcheck="false" { (p.value_files.join("\n")) }
                                    label for=(id("helm-parameters")) { "Parameters (name=value, one per line)" }
                                    textarea id=(id("helm-parameters")) name="parameters" rows="5" spellcheck="false" { (p.parameters.join("\n")) }
                                    div.buttons {
                                        button.primary type="submit" disabled[!update.allowed] title=[update.tooltip()] { "Save Helm parameters" }
                                    }
                                }
                            }
                            Tool::Kustomize => {
                                form.params.kustomize-params method="post" action=(action) {
                                    input type="hidden" name="tool" value="kustomize";
                                    input type="hidden" name="source" value=(source);
                                    label for=(id("kustomize-images")) { "Images (one per line: name=newName:tag, name:tag, name@digest)" }
                                    textarea id=(id("kustomize-images")) name="images" rows="4" spellcheck="false" { (p.images.join("\n")) }
                                    label for=(id("kustomize-prefix")) { "Name prefix" }
                                    input id=(id("kustomize-prefix")) name="name_prefix" value=(p.name_prefix);
                                    label for=(id("kustomize-suffix")) { "Name suffix" }
                                    input id=(id("kustomize-suffix")) name="name_suffix" value=(p.name_suffix);
                                    div.buttons {
                                        button.primary type="submit" disabled[!update.allowed] title=[update.tooltip()] { "Save Kustomize parameters" }
                                    }
                                }
                            }
                            Tool::Other => {
                                p.message { "A plain directory (or Jsonnet, or plugin) source: no Helm or Kustomize parameters. Edit the spec below." }
                            }
                        }
                    }
                }
            }
        }
    }
}
