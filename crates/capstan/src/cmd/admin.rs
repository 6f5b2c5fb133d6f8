//! `capstan admin ...`: operator tools that work offline.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

/// Operator tools.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, clap::Subcommand)]
enum AdminCommand {
    /// Try notification triggers and templates against an Application (offline with files).
    ///
    /// Example: `capstan admin notifications trigger run on-sync-failed app.yaml --config-map cm.yaml`
    Notifications(super::notifications::AdminArgs),
    /// Print deploy/install.yaml: the CRDs followed by the components file (deploy/components.yaml).
    ///
    /// Example: `capstan admin install-manifest > deploy/install.yaml`
    InstallManifest {
        /// The components file.
        #[arg(long, default_value = "deploy/components.yaml")]
        components: PathBuf,
    },
    /// Print the health of each object in a YAML/JSON file, as Capstan (and Argo CD) assess it,
    /// including custom Lua checks from an argocd-cm file.
    ///
    /// Example: `capstan admin health deployment.yaml --settings argocd-cm.yaml -o json`
    Health {
        /// File with one or more live objects.
        file: PathBuf,
        /// An argocd-cm ConfigMap (for resource.customizations.health.* Lua checks).
        #[arg(long)]
        settings: Option<PathBuf>,
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = Format::Text)]
        output: Format,
    },
    /// Diff a desired object against a live one as the controller would (exit 0 same, 1 different,
    /// 2 error), with ignoreDifferences and compare options from an argocd-cm file.
    ///
    /// Example: `capstan admin diff --desired deploy.yaml --live live.yaml --settings argocd-cm.yaml`
    Diff {
        /// The desired (rendered) object.
        #[arg(long)]
        desired: PathBuf,
        /// The live object (as `kubectl get -o yaml` prints it).
        #[arg(long)]
        live: PathBuf,
        /// An argocd-cm ConfigMap (ignoreDifferences, compare options).
        #[arg(long)]
        settings: Option<PathBuf>,
        /// Compare as for server-side apply by this field manager (three-way through managedFields).
        #[arg(long, value_name = "MANAGER")]
        server_side_apply: Option<String>,
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = Format::Text)]
        output: Format,
    },
    /// Print the CustomResourceDefinitions of Application, AppProject and ApplicationSet
    /// (generated from the types), or write them into a directory.
    ///
    /// Example: `capstan admin crds --write deploy/crds`
    Crds {
        /// Write one file per CRD into this directory instead of printing them.
        #[arg(long, value_name = "DIR")]
        write: Option<PathBuf>,
    },
    /// Print the initial admin password that `capstan server` generated (Secret
    /// argocd-initial-admin-secret). Delete that Secret once the password has been changed.
    ///
    /// Example: `capstan admin initial-password --kubeconfig .capstan/kubeconfig`
    InitialPassword {
        /// kubeconfig of the control-plane cluster (in-cluster configuration when absent).
        #[arg(long, env = "KUBECONFIG")]
        kubeconfig: Option<PathBuf>,
        /// kubeconfig context.
        #[arg(long)]
        context: Option<String>,
        /// Namespace of the settings.
        #[arg(long, env = "ARGOCD_NAMESPACE", default_value = "argocd")]
        namespace: String,
    },
}

/// Output formats of the admin tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

fn read_objects(path: &std::path::Path) -> anyhow::Result<Vec<serde_json::Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let docs =
        capstan_yaml::parse_stream(&text).map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?;
    let mut objects = Vec::new();
    for doc in docs {
        // a List is flattened, as kubectl prints several objects
        match doc.value.get("items").and_then(|i| i.as_array()) {
            Some(items)
                if doc
                    .value
                    .get("kind")
                    .and_then(|k| k.as_str())
                    .is_some_and(|k| k.ends_with("List")) =>
            {
                objects.extend(items.iter().cloned())
            }
            _ => objects.push(doc.value),
        }
    }
    Ok(objects)
}

fn read_settings(
    path: Option<&PathBuf>,
) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    let Some(path) = path else {
        return Ok(Default::default());
    };
    let objects = read_objects(path)?;
    let cm = objects
        .first()
        .ok_or_else(|| anyhow::anyhow!("{}: no ConfigMap in the file", path.display()))?;
    capstan_settings::config_map_data(cm).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn one_object(path: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let mut objects = read_objects(path)?;
    anyhow::ensure!(
        objects.len() == 1,
        "{}: expected exactly one object, found {}",
        path.display(),
        objects.len()
    );
    Ok(objects.remove(0))
}

fn health(
    file: &std::path::Path,
    settings: Option<&PathBuf>,
    output: Format,
) -> anyhow::Result<ExitCode> {
    let data = read_settings(settings)?;
    let overrides = capstan_health::HealthOverrides::from_config_map_data(&data).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e}",
            settings
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        )
    })?;
    let objects = read_objects(file)?;
    let results = capstan_health::assess_all(objects.iter(), &overrides);
    match output {
        Format::Json => println!("{}", serde_json::to_string_pretty(&results)?),
        Format::Text => {
            for r in &results {
                let group = if r.group.is_empty() {
                    String::new()
                } else {
                    format!(".{}", r.group)
                };
                let ns = if r.namespace.is_empty() {
                    String::new()
                } else {
                    format!("{}/", r.namespace)
                };
                match &r.health {
                    Some(h) if h.message.is_empty() => {
                        println!("{}{group}/{ns}{}: {}", r.kind, r.name, h.status)
                    }
                    Some(h) => println!(
                        "{}{group}/{ns}{}: {} ({})",
                        r.kind, r.name, h.status, h.message
                    ),
                    None => println!(
                        "{}{group}/{ns}{}: no health check for this kind",
                        r.kind, r.name
                    ),
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn diff(
    desired: &std::path::Path,
    live: &std::path::Path,
    settings: Option<&PathBuf>,
    server_side_apply: Option<String>,
    output: Format,
) -> anyhow::Result<ExitCode> {
    let data = read_settings(settings)?;
    let system = capstan_diff::SystemDiffSettings::from_config_map_data(&data)?;
    let mut options = system.options_for_app(&[]);
    if let Some(manager) = server_side_apply {
        options.server_side_apply = true;
        options.manager = manager;
    }
    let desired = one_object(desired)?;
    let live = one_object(live)?;
    let result = capstan_diff::diff(Some(&desired), Some(&live), &options)?;
    let label = format!(
        "{}/{}",
        desired
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or("object"),
        desired
            .pointer("/metadata/name")
            .and_then(|k| k.as_str())
            .unwrap_or("")
    );
    match output {
        Format::Json => {
            let json = serde_json::json!({
                "modified": result.modified,
                "diff": capstan_diff::output::unified_yaml_diff(&result, &label),
            });
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        Format::Text => print!(
            "{}",
            capstan_diff::output::unified_yaml_diff(&result, &label)
        ),
    }
    Ok(if result.modified {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn initial_password(
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    namespace: &str,
) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let password = rt.block_on(async {
        capstan_kube::install_crypto_provider();
        let options = capstan_kube::ConnectOptions::default();
        let client = match &kubeconfig {
            Some(path) => {
                capstan_kube::ClusterClient::from_kubeconfig(path, context.as_deref(), options)
                    .await
            }
            None => capstan_kube::ClusterClient::infer(options).await,
        }
        .context("connecting to the control-plane cluster")?;
        let rt = client.resolve("v1", "Secret").await?;
        let name = capstan_settings::names::ARGOCD_INITIAL_ADMIN_SECRET;
        let secret = client
            .get(&rt, Some(namespace), name)
            .await?
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "Secret {namespace}/{name} does not exist (already deleted, or the server has not started yet)"
                )
            })?;
        let data = capstan_settings::secret_data(&secret)?;
        data.get("password")
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("Secret {namespace}/{name} has no key \"password\""))
    })?;
    println!("{password}");
    Ok(ExitCode::SUCCESS)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        AdminCommand::Notifications(args) => super::notifications::admin(args),
        AdminCommand::InitialPassword {
            kubeconfig,
            context,
            namespace,
        } => initial_password(kubeconfig, context, &namespace),
        AdminCommand::InstallManifest { components } => {
            let text = std::fs::read_to_string(&components)
                .with_context(|| format!("reading {}", components.display()))?;
            print!("{}", capstan_crds::install_manifest(&text));
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::Health {
            file,
            settings,
            output,
        } => health(&file, settings.as_ref(), output),
        AdminCommand::Diff {
            desired,
            live,
            settings,
            server_side_apply,
            output,
        } => diff(
            &desired,
            &live,
            settings.as_ref(),
            server_side_apply,
            output,
        ),
        AdminCommand::Crds { write } => {
            let crds = capstan_crds::crds();
            match write {
                Some(dir) => {
                    std::fs::create_dir_all(&dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                    for crd in &crds {
                        let path = dir.join(crd.file_name);
                        std::fs::write(&path, capstan_crds::render(crd))
                            .with_context(|| format!("writing {}", path.display()))?;
                        eprintln!("wrote {}", path.display());
                    }
                }
                None => {
                    let objects: Vec<&serde_json::Value> = crds.iter().map(|c| &c.object).collect();
                    print!("{}", capstan_yaml::to_yaml_stream(objects));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
