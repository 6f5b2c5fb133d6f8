//! `capstan notifications` (the notifications controller, as Argo CD's
//! argocd-notifications-controller) and `capstan admin notifications trigger run|template notify`
//! (trying a trigger or a template against an Application, as Argo CD's CLI allows).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use capstan_kube::{ClusterClient, ConnectOptions};
use capstan_notifications::config::{configmap_data, secret_data};
use capstan_notifications::expr::Env;
use capstan_notifications::subscriptions::parse_recipient;
use capstan_notifications::{Config, ControllerOptions, Metrics, RetryPolicy};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// Run the notifications controller: send Argo CD notifications (argocd-notifications-cm,
/// argocd-notifications-secret, subscription annotations) when Applications change.
///
/// Example: `capstan notifications --kubeconfig .capstan/kubeconfig --metrics-listen 0.0.0.0:9001`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// kubeconfig of the control-plane cluster (in-cluster configuration when absent).
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context.
    #[arg(long)]
    pub context: Option<String>,
    /// Namespace of Applications, AppProjects and the notifications ConfigMap and Secret.
    #[arg(long, env = "ARGOCD_NAMESPACE", default_value = "argocd")]
    pub namespace: String,
    /// Where to serve Prometheus metrics (`/metrics`); Argo CD's controller uses port 9001.
    #[arg(long, env = "ARGOCD_NOTIFICATIONS_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Attempts per notification before it counts as failed.
    #[arg(long, default_value_t = 5)]
    pub attempts: u32,
}

/// Options of the controller for `args`.
pub fn controller_options(
    namespace: &str,
    attempts: u32,
    metrics: Arc<Metrics>,
) -> ControllerOptions {
    ControllerOptions {
        namespace: namespace.to_string(),
        retry: RetryPolicy {
            attempts: attempts.max(1),
            ..RetryPolicy::default()
        },
        metrics,
        ..ControllerOptions::default()
    }
}

async fn connect(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> anyhow::Result<ClusterClient> {
    capstan_kube::install_crypto_provider();
    let options = ConnectOptions::default();
    match kubeconfig {
        Some(path) => ClusterClient::from_kubeconfig(path, context, options).await,
        None => ClusterClient::infer(options).await,
    }
    .context("connecting to the control-plane cluster")
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let client = connect(args.kubeconfig.as_deref(), args.context.as_deref()).await?;
        let cancel = CancellationToken::new();
        let metrics = Arc::new(Metrics::default());
        if let Some(addr) = args.metrics_listen {
            let bound =
                capstan_notifications::metrics::serve(addr, metrics.clone(), cancel.clone())
                    .await?;
            tracing::info!("notifications metrics on http://{bound}/metrics");
        }
        let options = controller_options(&args.namespace, args.attempts, metrics);
        let task = tokio::spawn(capstan_notifications::run_controller(
            client,
            options,
            cancel.clone(),
        ));
        tokio::select! {
            _ = super::controller::shutdown_signal() => {}
            result = task => {
                result.context("notifications controller task")??;
                anyhow::bail!("the notifications controller stopped: its watches ended");
            }
        }
        cancel.cancel();
        Ok(ExitCode::SUCCESS)
    })
}

/// `capstan admin notifications ...`.
#[derive(Debug, clap::Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    command: AdminCommand,
    /// An argocd-notifications-cm ConfigMap file (read from the cluster when absent and the
    /// Application is named rather than given as a file; the catalog alone otherwise).
    #[arg(long, global = true, value_name = "FILE")]
    config_map: Option<PathBuf>,
    /// An argocd-notifications-secret Secret file.
    #[arg(long, global = true, value_name = "FILE")]
    secret: Option<PathBuf>,
    /// kubeconfig, to read a named Application (and the settings) from the cluster.
    #[arg(long, global = true, env = "KUBECONFIG")]
    kubeconfig: Option<PathBuf>,
    /// kubeconfig context.
    #[arg(long, global = true)]
    context: Option<String>,
    /// Namespace of Applications and settings.
    #[arg(long, global = true, default_value = "argocd")]
    namespace: String,
}

#[derive(Debug, clap::Subcommand)]
enum AdminCommand {
    /// Triggers.
    Trigger {
        #[command(subcommand)]
        command: TriggerCommand,
    },
    /// Templates.
    Template {
        #[command(subcommand)]
        command: TemplateCommand,
    },
}

#[derive(Debug, clap::Subcommand)]
enum TriggerCommand {
    /// Evaluate each condition of a trigger against an Application (a file, or a name in the
    /// cluster) and print the results (exit 0; 1 when a condition cannot be evaluated).
    ///
    /// Example: `capstan admin notifications trigger run on-sync-failed app.yaml --config-map cm.yaml`
    Run {
        /// The trigger.
        trigger: String,
        /// Application file or name.
        application: String,
    },
    /// List the triggers (the catalog's and the ConfigMap's).
    Get,
}

#[derive(Debug, clap::Subcommand)]
enum TemplateCommand {
    /// Render a template for an Application and print it (`--recipient console:stdout`, the
    /// default) or send it (`--recipient <service>:<recipient>`, a service of the ConfigMap).
    ///
    /// Example: `capstan admin notifications template notify app-sync-failed app.yaml --recipient slack:ops`
    Notify {
        /// The template.
        template: String,
        /// Application file or name.
        application: String,
        /// Where to: `console:stdout` or `<service>:<recipient>`.
        #[arg(long, default_value = "console:stdout")]
        recipient: Vec<String>,
    },
    /// List the templates (the catalog's and the ConfigMap's).
    Get,
}

fn read_object(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let docs =
        capstan_yaml::parse_stream(&text).with_context(|| format!("parsing {}", path.display()))?;
    docs.into_iter()
        .next()
        .map(|d| d.value)
        .ok_or_else(|| anyhow::anyhow!("{} is empty", path.display()))
}

struct Loaded {
    config: Config,
    app: Option<Value>,
}

async fn load(args: &AdminArgs, application: Option<&str>) -> anyhow::Result<Loaded> {
    let app_file = application.map(Path::new).filter(|p| p.is_file());
    let needs_cluster = (application.is_some() && app_file.is_none())
        || (args.config_map.is_none() && args.kubeconfig.is_some());
    let client = if needs_cluster {
        Some(connect(args.kubeconfig.as_deref(), args.context.as_deref()).await?)
    } else {
        None
    };
    let ns = Some(args.namespace.as_str());
    let cm = match (&args.config_map, &client) {
        (Some(path), _) => Some(read_object(path)?),
        (None, Some(client)) => {
            let rt = client.resolve("v1", "ConfigMap").await?;
            client.get(&rt, ns, "argocd-notifications-cm").await?
        }
        (None, None) => None,
    };
    let secret = match (&args.secret, &client) {
        (Some(path), _) => Some(read_object(path)?),
        (None, Some(client)) if args.config_map.is_none() => {
            let rt = client.resolve("v1", "Secret").await?;
            client.get(&rt, ns, "argocd-notifications-secret").await?
        }
        _ => None,
    };
    let (config, problems) =
        Config::from_data(&configmap_data(cm.as_ref()), &secret_data(secret.as_ref()));
    for p in &problems {
        eprintln!("warning: argocd-notifications-cm: {p}");
    }
    let app = match (application, app_file, &client) {
        (None, _, _) => None,
        (Some(_), Some(path), _) => Some(read_object(path)?),
        (Some(name), None, Some(client)) => {
            let rt = client
                .resolve("argoproj.io/v1alpha1", "Application")
                .await?;
            Some(client.get(&rt, ns, name).await?.ok_or_else(|| {
                anyhow::anyhow!("Application {}/{name} not found", args.namespace)
            })?)
        }
        (Some(name), None, None) => {
            anyhow::bail!("{name} is not a file and no cluster is configured")
        }
    };
    Ok(Loaded { config, app })
}

pub fn admin(args: AdminArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        match &args.command {
            AdminCommand::Trigger {
                command: TriggerCommand::Get,
            } => {
                let loaded = load(&args, None).await?;
                println!("{:<28} {:<28} DESCRIPTION", "NAME", "TEMPLATE");
                for t in loaded.config.triggers.values() {
                    for c in &t.conditions {
                        println!("{:<28} {:<28} {}", t.name, c.send.join(","), c.description);
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            AdminCommand::Template {
                command: TemplateCommand::Get,
            } => {
                let loaded = load(&args, None).await?;
                println!("NAME");
                for name in loaded.config.templates.keys() {
                    println!("{name}");
                }
                Ok(ExitCode::SUCCESS)
            }
            AdminCommand::Trigger {
                command:
                    TriggerCommand::Run {
                        trigger,
                        application,
                    },
            } => {
                let loaded = load(&args, Some(application)).await?;
                let app = loaded.app.unwrap_or_default();
                let (table, failed) = trigger_table(&loaded.config, trigger, &app)?;
                print!("{table}");
                Ok(if failed {
                    ExitCode::from(1)
                } else {
                    ExitCode::SUCCESS
                })
            }
            AdminCommand::Template {
                command:
                    TemplateCommand::Notify {
                        template,
                        application,
                        recipient,
                    },
            } => {
                let loaded = load(&args, Some(application)).await?;
                let app = loaded.app.unwrap_or_default();
                let now = capstan_notifications::render::now();
                for r in recipient {
                    let dest = parse_recipient(r);
                    if dest.service == "console" {
                        print!("{}", console(&loaded.config, template, &app, now)?);
                        continue;
                    }
                    let entry = loaded.config.services.get(&dest.service).ok_or_else(|| {
                        anyhow::anyhow!(
                            "service {:?} is not configured in argocd-notifications-cm",
                            dest.service
                        )
                    })?;
                    let n = capstan_notifications::render::render(
                        &loaded.config,
                        std::slice::from_ref(template),
                        &app,
                        &entry.kind,
                        &dest.recipient,
                        now,
                    )?;
                    tokio::time::timeout(
                        Duration::from_secs(60),
                        entry.service.send(&n, &dest.recipient),
                    )
                    .await
                    .map_err(|_| anyhow::anyhow!("sending to {r}: timed out"))?
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "sending to {r}: {}",
                            capstan_notifications::redact::redact(
                                &e.message,
                                &loaded.config.secret_values
                            )
                        )
                    })?;
                    eprintln!("sent to {r}");
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

/// `trigger run`'s table, and whether a condition could not be evaluated.
fn trigger_table(config: &Config, trigger: &str, app: &Value) -> anyhow::Result<(String, bool)> {
    let env = Env::for_app(app);
    let Some(results) = capstan_notifications::state::run_trigger(config, trigger, &env) else {
        anyhow::bail!("trigger {trigger:?} is not defined");
    };
    let mut failed = false;
    let mut out = format!("{:<8} CONDITION\n", "RESULT");
    for (when, result) in results {
        let shown = match result {
            Ok(b) => b.to_string(),
            Err(e) => {
                failed = true;
                format!("error: {e}")
            }
        };
        out.push_str(&format!("{shown:<8} {when}\n"));
    }
    Ok((out, failed))
}

/// `template notify --recipient console:stdout`: the rendered notification as YAML.
fn console(
    config: &Config,
    template: &str,
    app: &Value,
    now: capstan_notifications::render::Timestamp,
) -> anyhow::Result<String> {
    let n = capstan_notifications::render::render(
        config,
        &[template.to_string()],
        app,
        "console",
        "stdout",
        now,
    )?;
    let mut out = serde_json::Map::new();
    out.insert("message".into(), Value::String(n.message));
    out.extend(n.fields);
    Ok(capstan_yaml::to_yaml_string(&Value::Object(out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: web, namespace: argocd}\nspec:\n  source: {repoURL: 'https://example.com/r.git'}\nstatus:\n  sync: {status: Synced}\n  operationState: {phase: Failed, message: boom, finishedAt: '2026-01-01T10:00:00Z'}\n";
    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argocd-notifications-cm}\ndata:\n  context: |\n    argocdUrl: https://cd.example.com\n  trigger.odd: |\n    - when: app.status.sync.status == 'Synced'\n      send: [app-created]\n    - when: time.Parse(app.metadata.name) == nil\n      send: [app-created]\n";

    fn admin_args(dir: &Path) -> AdminArgs {
        std::fs::write(dir.join("cm.yaml"), CM).unwrap();
        AdminArgs {
            command: AdminCommand::Trigger {
                command: TriggerCommand::Get,
            },
            config_map: Some(dir.join("cm.yaml")),
            secret: None,
            kubeconfig: None,
            context: None,
            namespace: "argocd".into(),
        }
    }

    #[tokio::test]
    async fn trigger_run_and_console_notify_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let app_path = dir.path().join("app.yaml");
        std::fs::write(&app_path, APP).unwrap();
        let args = admin_args(dir.path());
        let loaded = load(&args, Some(app_path.to_str().unwrap())).await.unwrap();
        let app = loaded.app.unwrap();

        let (table, failed) = trigger_table(&loaded.config, "on-sync-failed", &app).unwrap();
        assert!(!failed);
        assert_eq!(
            table,
            "RESULT   CONDITION\ntrue     app.status.operationState != nil and app.status.operationState.phase in ['Error', 'Failed']\n"
        );
        let (table, failed) = trigger_table(&loaded.config, "odd", &app).unwrap();
        assert!(failed);
        assert!(
            table.contains("true     app.status.sync.status == 'Synced'"),
            "{table}"
        );
        assert!(table.contains("error: time.Parse"), "{table}");
        assert!(trigger_table(&loaded.config, "nope", &app).is_err());

        let out = console(
            &loaded.config,
            "app-sync-failed",
            &app,
            capstan_notifications::render::now(),
        )
        .unwrap();
        assert!(
            out.contains("subject: Failed to sync application web."),
            "{out}"
        );
        assert!(
            out.contains("https://cd.example.com/applications/web?operation=true"),
            "{out}"
        );
        assert!(
            console(
                &loaded.config,
                "nope",
                &app,
                capstan_notifications::render::now()
            )
            .is_err()
        );
    }
}
