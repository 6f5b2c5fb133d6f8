//! `capstan app ...`: create, inspect, sync, diff, roll back, wait for and delete applications.

mod diff;
mod edit;
pub mod view;
mod wait;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail};
use capstan_client::ApiClient;
use capstan_client::api::SyncRequest;
use serde_json::{Value, json};

use super::client_args::ClientArgs;
use super::output::{Format, colour, print_machine, s, serialize, stdout_is_tty};
use wait::{Outcome, Want};

/// Manage applications.
///
/// Example: `capstan app list -o wide`
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: AppCommand,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum AppCommand {
    /// Create an application from flags or from a manifest.
    ///
    /// Example: `capstan app create guestbook --repo https://github.com/argoproj/argocd-example-apps.git --path guestbook --dest-server https://kubernetes.default.svc --dest-namespace default`
    /// or `capstan app create -f app.yaml`
    Create {
        /// Application name (taken from the file with -f).
        name: Option<String>,
        /// Application manifest (YAML or JSON); flags override its fields.
        #[arg(short = 'f', long = "file")]
        file: Option<PathBuf>,
        /// Replace an existing application with a different spec.
        #[arg(long)]
        upsert: bool,
        #[command(flatten)]
        spec: edit::SpecFlags,
    },
    /// Show an application: summary, then its resources.
    ///
    /// Example: `capstan app get guestbook --refresh`
    Get {
        name: String,
        /// Refresh (compare with Git again) before showing.
        #[arg(long)]
        refresh: bool,
        /// Refresh and regenerate manifests (bypass the manifest cache).
        #[arg(long)]
        hard_refresh: bool,
    },
    /// List applications.
    ///
    /// Example: `capstan app list -p default -l team=web -o name`
    List {
        /// Only these projects (repeatable).
        #[arg(short = 'p', long = "project")]
        projects: Vec<String>,
        /// Label selector.
        #[arg(short = 'l', long)]
        selector: Option<String>,
    },
    /// Sync applications to their target state, waiting for the operation to end (unless --async).
    ///
    /// Example: `capstan app sync guestbook --prune --wait --timeout 300`
    Sync {
        #[arg(required = true)]
        names: Vec<String>,
        /// Sync to this revision instead of the target revision.
        #[arg(long)]
        revision: Option<String>,
        /// Delete resources no longer in Git.
        #[arg(long)]
        prune: bool,
        /// Preview only.
        #[arg(long)]
        dry_run: bool,
        /// Only this resource, GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME (repeatable).
        #[arg(long = "resource")]
        resources: Vec<String>,
        /// Sync option, e.g. ServerSideApply=true (repeatable).
        #[arg(long = "sync-option")]
        sync_options: Vec<String>,
        /// Use a force apply.
        #[arg(long)]
        force: bool,
        /// Sync strategy.
        #[arg(long, value_parser = ["apply", "hook"])]
        strategy: Option<String>,
        /// Do not wait for the operation.
        #[arg(long = "async", conflicts_with = "wait")]
        no_wait: bool,
        /// Also wait until the application is healthy.
        #[arg(long)]
        wait: bool,
        /// Seconds to wait (0: no limit).
        #[arg(long, default_value_t = 0)]
        timeout: u64,
    },
    /// Show differences between the target state and the live state (exit 0 none, 1 some, 2 error).
    ///
    /// Example: `capstan app diff guestbook --local ./guestbook` or `--revision feature-x`
    Diff {
        name: String,
        /// Render this local directory with the application's source settings and compare it.
        #[arg(long, conflicts_with = "revision")]
        local: Option<PathBuf>,
        /// Compare the manifests of this revision.
        #[arg(long)]
        revision: Option<String>,
        /// Refresh before comparing.
        #[arg(long)]
        refresh: bool,
        /// Refresh and regenerate manifests before comparing.
        #[arg(long)]
        hard_refresh: bool,
    },
    /// Show the deployment history.
    ///
    /// Example: `capstan app history guestbook`
    History { name: String },
    /// Roll back to a history entry (the previous one by default) and wait for the operation.
    ///
    /// Example: `capstan app rollback guestbook 3`
    Rollback {
        name: String,
        /// History ID (default: the one before the current).
        id: Option<i64>,
        /// Delete resources no longer in that revision.
        #[arg(long)]
        prune: bool,
        /// Preview only.
        #[arg(long)]
        dry_run: bool,
        /// Do not wait for the operation.
        #[arg(long = "async")]
        no_wait: bool,
        /// Seconds to wait (0: no limit).
        #[arg(long, default_value_t = 0)]
        timeout: u64,
    },
    /// Wait until applications are synced, healthy and their operation finished (all three by default).
    ///
    /// Example: `capstan app wait guestbook --health --timeout 120`
    Wait {
        #[arg(required = true)]
        names: Vec<String>,
        /// Wait until synced.
        #[arg(long)]
        sync: bool,
        /// Wait until healthy.
        #[arg(long)]
        health: bool,
        /// Wait until the running operation ends.
        #[arg(long)]
        operation: bool,
        /// Seconds to wait (0: no limit).
        #[arg(long, default_value_t = 0)]
        timeout: u64,
    },
    /// Delete applications; with cascade (the default) their resources are deleted too.
    ///
    /// Example: `capstan app delete guestbook -y --wait`
    Delete {
        #[arg(required = true)]
        names: Vec<String>,
        /// Delete the application's resources too.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        cascade: bool,
        /// foreground or background.
        #[arg(long, value_parser = ["foreground", "background"])]
        propagation_policy: Option<String>,
        /// Do not ask for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
        /// Wait until the application is gone.
        #[arg(long)]
        wait: bool,
        /// Seconds to wait (0: no limit).
        #[arg(long, default_value_t = 0)]
        timeout: u64,
    },
    /// Change an application's spec.
    ///
    /// Example: `capstan app set guestbook --revision v2 --sync-policy automated --self-heal true`
    Set {
        name: String,
        #[command(flatten)]
        spec: edit::SpecFlags,
    },
    /// Remove parameters and options from an application's spec.
    ///
    /// Example: `capstan app unset guestbook -p image.tag --values values-dev.yaml`
    Unset {
        name: String,
        #[command(flatten)]
        flags: edit::UnsetFlags,
    },
    /// Print the application's manifests from Git (default) or the live objects.
    ///
    /// Example: `capstan app manifests guestbook --source live`
    Manifests {
        name: String,
        /// git or live.
        #[arg(long, value_parser = ["git", "live"], default_value = "git")]
        source: String,
        /// Revision of the Git manifests.
        #[arg(long)]
        revision: Option<String>,
    },
    /// List the application's resources.
    ///
    /// Example: `capstan app resources guestbook -o wide`
    Resources { name: String },
    /// Terminate the running operation.
    ///
    /// Example: `capstan app terminate-op guestbook`
    TerminateOp { name: String },
    /// Patch an application with a JSON merge patch or a JSON patch.
    ///
    /// Example: `capstan app patch guestbook --patch '{"spec":{"source":{"targetRevision":"v2"}}}' --type merge`
    Patch {
        name: String,
        /// The patch (JSON text).
        #[arg(long)]
        patch: String,
        /// merge or json.
        #[arg(long = "type", value_parser = ["merge", "json"], default_value = "merge")]
        patch_type: String,
    },
}

fn timeout(secs: u64) -> Duration {
    if secs == 0 {
        Duration::from_secs(u64::MAX / 4)
    } else {
        Duration::from_secs(secs)
    }
}

fn parse_resource(text: &str) -> anyhow::Result<Value> {
    let parts: Vec<&str> = text.splitn(3, ':').collect();
    let [group, kind, rest] = parts.as_slice() else {
        bail!("--resource {text:?} must be GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME");
    };
    let (namespace, name) = rest.split_once('/').unwrap_or(("", rest));
    if kind.is_empty() || name.is_empty() {
        bail!("--resource {text:?} must be GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME");
    }
    Ok(json!({"group": group, "kind": kind, "namespace": namespace, "name": name}))
}

/// Prints an application as `get` does, in the chosen format.
fn print_app(client: &ApiClient, app: &Value, format: Format) {
    let names = [view::qualified_name(app)];
    if print_machine(app, &names, format) {
        return;
    }
    print!("{}", view::summary(app, client.base_url()));
    let table = view::resources_table(app, format == Format::Wide);
    println!();
    print!("{}", table.render(colour()));
}

/// Waits and prints the result; exit 1 on failure or timeout.
fn finish_wait(
    client: &ApiClient,
    name: &str,
    want: Want,
    secs: u64,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let tty = stdout_is_tty() && matches!(format, Format::Table | Format::Wide);
    match wait::wait(client, name, want, timeout(secs), tty)? {
        Outcome::Done(Some(app)) => {
            print_app(client, &app, format);
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Done(None) => {
            println!("application '{name}' deleted");
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Failed(app, msg) => {
            print_app(client, &app, format);
            eprintln!(
                "error: operation of application '{name}' {}: {msg}",
                s(&app, "/status/operationState/phase")
            );
            Ok(ExitCode::from(1))
        }
        Outcome::TimedOut(text) => {
            eprintln!("error: {text}");
            Ok(ExitCode::from(1))
        }
    }
}

fn confirm(question: &str) -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Ok(true);
    }
    eprint!("{question} [y/n] ");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

fn worst(codes: Vec<ExitCode>) -> ExitCode {
    codes
        .into_iter()
        .find(|c| *c != ExitCode::SUCCESS)
        .unwrap_or(ExitCode::SUCCESS)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let format = args.client.format();
    let client = args.client.client()?;
    match args.command {
        AppCommand::Create {
            name,
            file,
            upsert,
            spec,
        } => {
            let app = match (&file, &name) {
                (Some(f), _) => {
                    let mut app = edit::read_file(f)?;
                    if let Some(n) = &name {
                        app["metadata"]["name"] = json!(n);
                    }
                    edit::apply(&mut app, &spec)?;
                    app
                }
                (None, Some(n)) => edit::from_flags(n, &spec)?,
                (None, None) => bail!("give an application NAME with flags, or -f app.yaml"),
            };
            let created = client.create_application(&app, upsert)?;
            if !print_machine(&created, &[view::qualified_name(&created)], format) {
                println!("application '{}' created", s(&created, "/metadata/name"));
            }
            Ok(ExitCode::SUCCESS)
        }
        AppCommand::Get {
            name,
            refresh,
            hard_refresh,
        } => {
            let r = if hard_refresh {
                Some("hard")
            } else if refresh {
                Some("normal")
            } else {
                None
            };
            let app = client.get_application(&name, r)?;
            print_app(&client, &app, format);
            Ok(ExitCode::SUCCESS)
        }
        AppCommand::List { projects, selector } => {
            let apps = client.list_applications(&projects, selector.as_deref())?;
            let names: Vec<String> = apps.iter().map(view::qualified_name).collect();
            if !print_machine(&Value::Array(apps.clone()), &names, format) {
                print!(
                    "{}",
                    view::list_table(&apps, format == Format::Wide).render(colour())
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        AppCommand::Sync {
            names,
            revision,
            prune,
            dry_run,
            resources,
            sync_options,
            force,
            strategy,
            no_wait,
            wait,
            timeout,
        } => {
            let req = SyncRequest {
                revision: revision.unwrap_or_default(),
                prune,
                dry_run,
                resources: resources
                    .iter()
                    .map(|r| parse_resource(r))
                    .collect::<anyhow::Result<_>>()?,
                sync_options,
                strategy,
                force,
            };
            let mut codes = Vec::new();
            for name in &names {
                client.sync_application(name, &req)?;
                if no_wait {
                    println!("sync of application '{name}' requested");
                    continue;
                }
                let want = Want {
                    operation: true,
                    health: wait && !dry_run,
                    ..Want::default()
                };
                codes.push(finish_wait(&client, name, want, timeout, format)?);
            }
            Ok(worst(codes))
        }
        AppCommand::Diff {
            name,
            local,
            revision,
            refresh,
            hard_refresh,
        } => {
            let r = if hard_refresh {
                Some("hard")
            } else if refresh {
                Some("normal")
            } else {
                None
            };
            diff::run(&client, &name, local.as_deref(), revision.as_deref(), r)
        }
        AppCommand::History { name } => {
            let app = client.get_application(&name, None)?;
            let history = app.pointer("/status/history").cloned().unwrap_or(json!([]));
            let ids: Vec<String> = history
                .as_array()
                .into_iter()
                .flatten()
                .map(|h| h["id"].to_string())
                .collect();
            if !print_machine(&history, &ids, format) {
                print!(
                    "{}",
                    view::history_table(&app, format == Format::Wide).render(false)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        AppCommand::Rollback {
            name,
            id,
            prune,
            dry_run,
            no_wait,
            timeout,
        } => {
            let app = client.get_application(&name, None)?;
            let ids: Vec<i64> = app
                .pointer("/status/history")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|h| h["id"].as_i64())
                .collect();
            let id = match id {
                Some(i) => i,
                None => match ids.len() {
                    0 | 1 => bail!(
                        "application '{name}' has no earlier deployment to roll back to (see `capstan app history {name}`)"
                    ),
                    n => ids[n - 2],
                },
            };
            client.rollback_application(&name, id, prune, dry_run)?;
            if no_wait {
                println!("rollback of application '{name}' to history ID {id} requested");
                return Ok(ExitCode::SUCCESS);
            }
            let want = Want {
                operation: true,
                ..Want::default()
            };
            finish_wait(&client, &name, want, timeout, format)
        }
        AppCommand::Wait {
            names,
            sync,
            health,
            operation,
            timeout,
        } => {
            let all = !(sync || health || operation);
            let want = Want {
                sync: sync || all,
                health: health || all,
                operation: operation || all,
                deleted: false,
            };
            let mut codes = Vec::new();
            for name in &names {
                codes.push(finish_wait(&client, name, want, timeout, format)?);
            }
            Ok(worst(codes))
        }
        AppCommand::Delete {
            names,
            cascade,
            propagation_policy,
            yes,
            wait,
            timeout,
        } => {
            let mut codes = Vec::new();
            for name in &names {
                let what = if cascade {
                    " and all its resources"
                } else {
                    ""
                };
                if !yes && !confirm(&format!("Delete application '{name}'{what}?"))? {
                    println!("application '{name}' not deleted");
                    continue;
                }
                client.delete_application(name, cascade, propagation_policy.as_deref())?;
                if wait {
                    let want = Want {
                        deleted: true,
                        ..Want::default()
                    };
                    codes.push(finish_wait(&client, name, want, timeout, format)?);
                } else {
                    println!("application '{name}' deletion requested");
                }
            }
            Ok(worst(codes))
        }
        AppCommand::Set { name, spec } => {
            let mut app = client.get_application(&name, None)?;
            edit::apply(&mut app, &spec)?;
            client.update_application(&app)?;
            println!("application '{name}' updated");
            Ok(ExitCode::SUCCESS)
        }
        AppCommand::Unset { name, flags } => {
            let mut app = client.get_application(&name, None)?;
            if edit::unset(&mut app, &flags) {
                client.update_application(&app)?;
                println!("application '{name}' updated");
            } else {
                println!("application '{name}' unchanged: nothing to unset");
            }
            Ok(ExitCode::SUCCESS)
        }
        AppCommand::Manifests {
            name,
            source,
            revision,
        } => {
            let objects = if source == "live" {
                client
                    .managed_resources(&name)?
                    .iter()
                    .filter_map(|i| serde_json::from_str::<Value>(s(i, "/liveState")).ok())
                    .filter(|v| !v.is_null())
                    .collect()
            } else {
                client.manifests(&name, revision.as_deref())?
            };
            if format == Format::Json {
                print!("{}", serialize(&Value::Array(objects), Format::Json));
            } else {
                print!("{}", capstan_yaml::to_yaml_stream(objects.iter()));
            }
            Ok(ExitCode::SUCCESS)
        }
        AppCommand::Resources { name } => {
            let app = client.get_application(&name, None)?;
            let resources = app
                .pointer("/status/resources")
                .cloned()
                .unwrap_or(json!([]));
            let names: Vec<String> = resources
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| format!("{}/{}", s(r, "/kind"), s(r, "/name")))
                .collect();
            if !print_machine(&resources, &names, format) {
                print!(
                    "{}",
                    view::resource_list_table(&app, format == Format::Wide).render(false)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        AppCommand::TerminateOp { name } => {
            client.terminate_operation(&name)?;
            println!("application '{name}' operation terminating");
            Ok(ExitCode::SUCCESS)
        }
        AppCommand::Patch {
            name,
            patch,
            patch_type,
        } => {
            serde_json::from_str::<Value>(&patch)
                .map_err(|e| anyhow!("--patch is not JSON: {e}"))?;
            let app = client.patch_application(&name, &patch, &patch_type)?;
            if !print_machine(&app, &[view::qualified_name(&app)], format) {
                println!("application '{name}' patched");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_client::api::items;

    fn apps() -> Vec<Value> {
        items(&serde_json::from_str(include_str!("testdata/applications.json")).unwrap())
    }

    #[test]
    fn list_tables() {
        insta::assert_snapshot!("app_list", view::list_table(&apps(), false).render(false));
        insta::assert_snapshot!(
            "app_list_wide",
            view::list_table(&apps(), true).render(false)
        );
    }

    #[test]
    fn get_summary_and_resources() {
        let app = &apps()[0];
        let text = format!(
            "{}\n{}",
            view::summary(app, "https://capstan.example.com"),
            view::resources_table(app, false).render(false)
        );
        insta::assert_snapshot!("app_get", text);
        insta::assert_snapshot!(
            "app_get_wide",
            view::resources_table(app, true).render(false)
        );
        insta::assert_snapshot!("app_get_conditions", view::summary(&apps()[1], "https://c"));
    }

    #[test]
    fn history_and_resources_tables() {
        let app = &apps()[0];
        insta::assert_snapshot!("app_history", view::history_table(app, false).render(false));
        insta::assert_snapshot!(
            "app_resources",
            view::resource_list_table(app, true).render(false)
        );
    }

    #[test]
    fn get_and_list_json_keep_the_api_shape() {
        let list = Value::Array(apps());
        insta::assert_snapshot!("app_list_json", serialize(&list, Format::Json));
        insta::assert_snapshot!("app_get_yaml", serialize(&apps()[1], Format::Yaml));
    }

    #[test]
    fn sync_resource_flag() {
        assert_eq!(
            parse_resource("apps:Deployment:default/web").unwrap(),
            json!({"group": "apps", "kind": "Deployment", "namespace": "default", "name": "web"})
        );
        assert_eq!(parse_resource(":Service:web").unwrap()["namespace"], "");
        assert!(parse_resource("Deployment/web").is_err());
    }
}
