//! Building and changing Application specs: `app create` (flags or `-f app.yaml`), `app set`,
//! `app unset`, `app patch`.

use std::path::Path;

use anyhow::{Context as _, anyhow, bail};
use capstan_types::Application;
use serde_json::{Value, json};

/// Flags that describe an Application's source, destination and sync policy (argocd's names).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SpecFlags {
    /// Repository URL.
    #[arg(long)]
    pub repo: Option<String>,
    /// Path in the repository.
    #[arg(long)]
    pub path: Option<String>,
    /// Target revision (branch, tag, commit).
    #[arg(long)]
    pub revision: Option<String>,
    /// Helm chart name (Helm repositories).
    #[arg(long)]
    pub helm_chart: Option<String>,
    /// Destination cluster URL.
    #[arg(long)]
    pub dest_server: Option<String>,
    /// Destination cluster name.
    #[arg(long)]
    pub dest_name: Option<String>,
    /// Destination namespace.
    #[arg(long)]
    pub dest_namespace: Option<String>,
    /// Project.
    #[arg(long)]
    pub project: Option<String>,
    /// Sync policy: automated (alias auto) or none (alias manual).
    #[arg(long, value_parser = ["automated", "auto", "none", "manual"])]
    pub sync_policy: Option<String>,
    /// Automated sync prunes resources no longer in Git.
    #[arg(long)]
    pub auto_prune: Option<bool>,
    /// Automated sync reverts changes made in the cluster.
    #[arg(long)]
    pub self_heal: Option<bool>,
    /// Sync option, e.g. CreateNamespace=true (repeatable).
    #[arg(long = "sync-option")]
    pub sync_options: Vec<String>,
    /// Helm parameter NAME=VALUE (repeatable).
    #[arg(long = "helm-set")]
    pub helm_set: Vec<String>,
    /// Helm string parameter NAME=VALUE (repeatable).
    #[arg(long = "helm-set-string")]
    pub helm_set_string: Vec<String>,
    /// Helm values file in the repository (repeatable).
    #[arg(long = "values")]
    pub values: Vec<String>,
    /// Helm release name.
    #[arg(long)]
    pub release_name: Option<String>,
    /// Read subdirectories of a directory source.
    #[arg(long)]
    pub directory_recurse: Option<bool>,
    /// Kustomize name prefix.
    #[arg(long)]
    pub nameprefix: Option<String>,
    /// Kustomize name suffix.
    #[arg(long)]
    pub namesuffix: Option<String>,
}

fn param(text: &str, force_string: bool) -> anyhow::Result<Value> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| anyhow!("helm parameter {text:?} must be NAME=VALUE"))?;
    let mut p = json!({"name": name, "value": value});
    if force_string {
        p["forceString"] = json!(true);
    }
    Ok(p)
}

fn obj<'a>(v: &'a mut Value, key: &str) -> &'a mut Value {
    if !v[key].is_object() {
        v[key] = json!({});
    }
    &mut v[key]
}

/// Applies the flags to an Application JSON (the first source when it has several).
pub fn apply(app: &mut Value, f: &SpecFlags) -> anyhow::Result<()> {
    let spec = obj(app, "spec");
    if let Some(p) = &f.project {
        spec["project"] = json!(p);
    }
    let dest = obj(spec, "destination");
    if let Some(s) = &f.dest_server {
        dest["server"] = json!(s);
    }
    if let Some(n) = &f.dest_name {
        dest["name"] = json!(n);
    }
    if let Some(n) = &f.dest_namespace {
        dest["namespace"] = json!(n);
    }
    let source = match spec.get_mut("sources").and_then(Value::as_array_mut) {
        Some(many) if !many.is_empty() => &mut many[0],
        _ => obj(spec, "source"),
    };
    if let Some(r) = &f.repo {
        source["repoURL"] = json!(r);
    }
    if let Some(p) = &f.path {
        source["path"] = json!(p);
    }
    if let Some(r) = &f.revision {
        source["targetRevision"] = json!(r);
    }
    if let Some(c) = &f.helm_chart {
        source["chart"] = json!(c);
    }
    if let Some(r) = f.directory_recurse {
        obj(source, "directory")["recurse"] = json!(r);
    }
    if f.nameprefix.is_some() || f.namesuffix.is_some() {
        let k = obj(source, "kustomize");
        if let Some(p) = &f.nameprefix {
            k["namePrefix"] = json!(p);
        }
        if let Some(s) = &f.namesuffix {
            k["nameSuffix"] = json!(s);
        }
    }
    let helm_flags = !f.helm_set.is_empty()
        || !f.helm_set_string.is_empty()
        || !f.values.is_empty()
        || f.release_name.is_some();
    if helm_flags {
        let helm = obj(source, "helm");
        let mut params: Vec<Value> = helm["parameters"].as_array().cloned().unwrap_or_default();
        for (text, force) in f
            .helm_set
            .iter()
            .map(|t| (t, false))
            .chain(f.helm_set_string.iter().map(|t| (t, true)))
        {
            let p = param(text, force)?;
            params.retain(|x| x["name"] != p["name"]);
            params.push(p);
        }
        if !params.is_empty() {
            helm["parameters"] = json!(params);
        }
        if !f.values.is_empty() {
            let mut files: Vec<Value> = helm["valueFiles"].as_array().cloned().unwrap_or_default();
            for v in &f.values {
                if !files.contains(&json!(v)) {
                    files.push(json!(v));
                }
            }
            helm["valueFiles"] = json!(files);
        }
        if let Some(r) = &f.release_name {
            helm["releaseName"] = json!(r);
        }
    }
    match f.sync_policy.as_deref() {
        Some("automated" | "auto") => {
            obj(obj(spec, "syncPolicy"), "automated");
        }
        Some(_) => {
            if let Some(sp) = spec.get_mut("syncPolicy").and_then(Value::as_object_mut) {
                sp.remove("automated");
            }
        }
        None => {}
    }
    if f.auto_prune.is_some() || f.self_heal.is_some() {
        let automated = spec
            .pointer_mut("/syncPolicy/automated")
            .filter(|a| a.is_object());
        let Some(a) = automated else {
            bail!("--auto-prune and --self-heal need --sync-policy automated");
        };
        if let Some(p) = f.auto_prune {
            a["prune"] = json!(p);
        }
        if let Some(h) = f.self_heal {
            a["selfHeal"] = json!(h);
        }
    }
    if !f.sync_options.is_empty() {
        let sp = obj(spec, "syncPolicy");
        let mut opts: Vec<Value> = sp["syncOptions"].as_array().cloned().unwrap_or_default();
        for o in &f.sync_options {
            let key = o.split('=').next().unwrap_or(o);
            opts.retain(|x| x.as_str().and_then(|t| t.split('=').next()) != Some(key));
            opts.push(json!(o));
        }
        sp["syncOptions"] = json!(opts);
    }
    Ok(())
}

/// Reads an Application manifest (YAML or JSON); errors name the file, line and field.
pub fn read_file(file: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let docs = capstan_yaml::parse_stream(&text).map_err(|e| anyhow!("{}:{e}", file.display()))?;
    let doc = docs
        .into_iter()
        .find(|d| !d.value.is_null())
        .ok_or_else(|| anyhow!("{}: the file is empty", file.display()))?;
    let kind = doc.value.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind != "Application" {
        let pos = doc.locate(&capstan_yaml::FieldPath::parse("kind"));
        bail!(
            "{}:{pos}: kind: expected Application, found {:?}",
            file.display(),
            kind
        );
    }
    capstan_types::decode::<Application>(&doc.value).map_err(|e| {
        let pos = doc.locate(&capstan_yaml::FieldPath::parse(&e.path));
        anyhow!("{}:{pos}: {e}", file.display())
    })?;
    Ok(doc.value)
}

/// An Application from the name and flags.
pub fn from_flags(name: &str, f: &SpecFlags) -> anyhow::Result<Value> {
    let mut app = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {"project": "default", "source": {}, "destination": {}},
    });
    apply(&mut app, f)?;
    if s(&app, "/spec/source/repoURL").is_empty() {
        bail!("--repo is required (or give -f app.yaml)");
    }
    if s(&app, "/spec/destination/server").is_empty()
        && s(&app, "/spec/destination/name").is_empty()
    {
        bail!("--dest-server or --dest-name is required");
    }
    Ok(app)
}

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    crate::cmd::output::s(v, p)
}

/// `app unset` flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct UnsetFlags {
    /// Helm parameter to remove (repeatable).
    #[arg(short = 'p', long = "parameter")]
    pub parameters: Vec<String>,
    /// Helm values file to remove (repeatable).
    #[arg(long = "values")]
    pub values: Vec<String>,
    /// Remove the Helm values literal.
    #[arg(long)]
    pub values_literal: bool,
    /// Remove the Kustomize name prefix.
    #[arg(long)]
    pub nameprefix: bool,
    /// Remove the Kustomize name suffix.
    #[arg(long)]
    pub namesuffix: bool,
    /// Sync option to remove, by key (repeatable).
    #[arg(long = "sync-option")]
    pub sync_options: Vec<String>,
}

/// Removes what the unset flags name; returns whether anything changed.
pub fn unset(app: &mut Value, f: &UnsetFlags) -> bool {
    let before = app.clone();
    if let Some(helm) = app
        .pointer_mut("/spec/source/helm")
        .and_then(Value::as_object_mut)
    {
        if let Some(ps) = helm.get_mut("parameters").and_then(Value::as_array_mut) {
            ps.retain(|p| !f.parameters.iter().any(|n| p["name"] == json!(n)));
        }
        if let Some(vf) = helm.get_mut("valueFiles").and_then(Value::as_array_mut) {
            vf.retain(|v| !f.values.iter().any(|n| v == &json!(n)));
        }
        if f.values_literal {
            helm.remove("values");
            helm.remove("valuesObject");
        }
    }
    if let Some(k) = app
        .pointer_mut("/spec/source/kustomize")
        .and_then(Value::as_object_mut)
    {
        if f.nameprefix {
            k.remove("namePrefix");
        }
        if f.namesuffix {
            k.remove("nameSuffix");
        }
    }
    if let Some(opts) = app
        .pointer_mut("/spec/syncPolicy/syncOptions")
        .and_then(Value::as_array_mut)
    {
        opts.retain(|o| {
            let key = o.as_str().and_then(|t| t.split('=').next()).unwrap_or("");
            !f.sync_options
                .iter()
                .any(|n| n.split('=').next() == Some(key))
        });
    }
    *app != before
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_build_an_application() {
        let f = SpecFlags {
            repo: Some("https://g/r.git".into()),
            path: Some("guestbook".into()),
            dest_server: Some("https://kubernetes.default.svc".into()),
            dest_namespace: Some("default".into()),
            sync_policy: Some("automated".into()),
            self_heal: Some(true),
            sync_options: vec!["CreateNamespace=true".into()],
            helm_set: vec!["a=1".into()],
            ..SpecFlags::default()
        };
        let app = from_flags("gb", &f).unwrap();
        assert_eq!(app["spec"]["source"]["path"], "guestbook");
        assert_eq!(app["spec"]["syncPolicy"]["automated"]["selfHeal"], true);
        assert_eq!(
            app["spec"]["syncPolicy"]["syncOptions"][0],
            "CreateNamespace=true"
        );
        assert_eq!(app["spec"]["source"]["helm"]["parameters"][0]["value"], "1");
        let mut app = app;
        assert!(unset(
            &mut app,
            &UnsetFlags {
                parameters: vec!["a".into()],
                sync_options: vec!["CreateNamespace".into()],
                ..UnsetFlags::default()
            }
        ));
        assert_eq!(app["spec"]["source"]["helm"]["parameters"], json!([]));
        assert!(from_flags("x", &SpecFlags::default()).is_err());
        let bad = SpecFlags {
            helm_set: vec!["novalue".into()],
            ..f
        };
        assert_eq!(
            from_flags("gb", &bad).unwrap_err().to_string(),
            "helm parameter \"novalue\" must be NAME=VALUE"
        );
    }

    #[test]
    fn malformed_file_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.yaml");
        std::fs::write(
            &p,
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: a\nspec:\n  source: [1, 2]\n",
        )
        .unwrap();
        let err = read_file(&p).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}:6:", p.display())), "{err}");
        assert!(!err.contains('\n'), "{err}");
        std::fs::write(&p, "a: [\n").unwrap();
        let err = read_file(&p).unwrap_err().to_string();
        assert!(err.starts_with(&p.display().to_string()), "{err}");
    }
}
