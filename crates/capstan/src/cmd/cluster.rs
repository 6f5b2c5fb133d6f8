//! `capstan cluster add | get | list | rm | rotate-auth`: destination clusters (cluster Secrets).
//! `add` takes the server and credentials of a kubeconfig context as they are, or with
//! `--service-account` installs a ServiceAccount in the cluster and stores its token, as
//! `argocd cluster add` does (see `service_account`).

mod service_account;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use serde_json::{Value, json};

use super::client_args::ClientArgs;
use super::output::{Format, Table, colour, print_machine, s};

/// Manage clusters.
///
/// Example: `capstan cluster list`
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: ClusterCommand,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum ClusterCommand {
    /// Add the cluster of a kubeconfig context.
    ///
    /// Example: `capstan cluster add kind-staging --name staging --kubeconfig ~/.kube/config`
    Add {
        /// kubeconfig context.
        #[arg(value_name = "CONTEXT")]
        kube_context: String,
        /// kubeconfig file (default: $KUBECONFIG or ~/.kube/config).
        #[arg(long)]
        kubeconfig: Option<PathBuf>,
        /// Cluster name shown in Capstan (default: the context name).
        #[arg(long)]
        name: Option<String>,
        /// Project the cluster is scoped to.
        #[arg(long)]
        project: Option<String>,
        /// Namespaces Capstan may manage (repeatable; all when absent).
        #[arg(long = "namespace")]
        namespaces: Vec<String>,
        /// Replace an existing cluster.
        #[arg(long)]
        upsert: bool,
        /// Authenticate with a ServiceAccount token instead of the context's credentials. Without
        /// a value, the "argocd-manager" ServiceAccount is created with a ClusterRole (or, with
        /// --namespace, Roles in those namespaces) and binding; with a name, that existing
        /// ServiceAccount is used. Either way a long-lived token Secret is created and its token
        /// stored.
        #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "")]
        service_account: Option<String>,
        /// Namespace of the ServiceAccount.
        #[arg(long, default_value = "kube-system")]
        system_namespace: String,
        /// Do not ask before installing the ServiceAccount (never asked without a terminal).
        #[arg(short = 'y', long)]
        yes: bool,
    },
    /// Show one cluster by server URL or name.
    ///
    /// Example: `capstan cluster get https://kubernetes.default.svc -o json`
    Get {
        #[arg(value_name = "SERVER")]
        cluster: String,
    },
    /// List clusters.
    ///
    /// Example: `capstan cluster list -o wide`
    List,
    /// Remove clusters by server URL or name.
    ///
    /// Example: `capstan cluster rm https://staging.example.com:6443`
    Rm {
        #[arg(required = true, value_name = "SERVER")]
        clusters: Vec<String>,
    },
    /// Replace the ServiceAccount token of a cluster added with --service-account: a new token
    /// Secret is created, the cluster Secret updated, and the old token Secret deleted (the old
    /// token stops working).
    ///
    /// Example: `capstan cluster rotate-auth https://staging.example.com:6443`
    RotateAuth {
        #[arg(value_name = "SERVER")]
        cluster: String,
    },
}

/// The Argo CD Cluster body for a kubeconfig context.
pub fn cluster_from_kubeconfig(path: &Path, context: &str) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(capstan_settings::cluster_from_kubeconfig(
        &text,
        &path.display().to_string(),
        context,
    )?)
}

/// The `cluster list` table; `wide` adds the namespaces and the controller's cache statistics
/// (Argo CD's ClusterInfo: applications, API kinds, cached resources, last full cache sync).
pub fn table(clusters: &[Value], wide: bool) -> Table {
    let mut header = vec!["SERVER", "NAME", "VERSION", "STATUS", "MESSAGE", "PROJECT"];
    if wide {
        header.extend(["NAMESPACES", "APPS", "APIS", "RESOURCES", "LAST SYNC"]);
    }
    let mut t = Table::new(&header);
    let number = |c: &Value, p: &str| c.pointer(p).and_then(Value::as_i64).map(|n| n.to_string());
    for c in clusters {
        let mut row = vec![
            s(c, "/server").to_string(),
            s(c, "/name").to_string(),
            s(c, "/serverVersion").to_string(),
            s(c, "/connectionState/status").to_string(),
            s(c, "/connectionState/message").to_string(),
            s(c, "/project").to_string(),
        ];
        if wide {
            let ns: Vec<&str> = c
                .get("namespaces")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            row.push(if ns.is_empty() {
                "*".into()
            } else {
                ns.join(",")
            });
            let cache = c.pointer("/info/cacheInfo").is_some();
            row.push(number(c, "/info/applicationsCount").unwrap_or_default());
            for p in [
                "/info/cacheInfo/apisCount",
                "/info/cacheInfo/resourcesCount",
            ] {
                // counts are only known from a controller's cache
                row.push(
                    number(c, p).unwrap_or_else(|| if cache { "0".into() } else { String::new() }),
                );
            }
            row.push(s(c, "/info/cacheInfo/lastCacheSyncTime").to_string());
        }
        t.row(row);
    }
    t
}

fn default_kubeconfig() -> anyhow::Result<PathBuf> {
    if let Some(k) = std::env::var_os("KUBECONFIG").filter(|k| !k.is_empty()) {
        let first = std::env::split_paths(&k).next();
        if let Some(p) = first {
            return Ok(p);
        }
    }
    let home =
        std::env::var_os("HOME").ok_or_else(|| anyhow!("HOME is not set: give --kubeconfig"))?;
    Ok(PathBuf::from(home).join(".kube").join("config"))
}

/// Asks on a terminal; without one, the answer is yes (scripts pass `-y` anyway).
fn confirm(question: &str) -> anyhow::Result<bool> {
    use std::io::{BufRead as _, IsTerminal as _, Write as _};
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Ok(true);
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

/// Connects to the kubeconfig context and installs the ServiceAccount; returns its token.
fn install_service_account(
    kubeconfig: &Path,
    context: &str,
    system_namespace: &str,
    existing: Option<&str>,
    namespaces: &[String],
) -> anyhow::Result<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let client = capstan_kube::ClusterClient::from_kubeconfig(
            kubeconfig,
            Some(context),
            capstan_kube::ConnectOptions {
                field_manager: "capstan-cluster-add".into(),
                timeout: Duration::from_secs(30),
                ..capstan_kube::ConnectOptions::default()
            },
        )
        .await?;
        service_account::install(
            &client,
            system_namespace,
            existing,
            namespaces,
            service_account::TOKEN_TIMEOUT,
        )
        .await
    })
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let format = args.client.format();
    match args.command {
        ClusterCommand::Add {
            kube_context: context,
            kubeconfig,
            name,
            project,
            namespaces,
            upsert,
            service_account,
            system_namespace,
            yes,
        } => {
            let path = match kubeconfig {
                Some(p) => p,
                None => default_kubeconfig()?,
            };
            let mut body = cluster_from_kubeconfig(&path, &context)?;
            if let Some(sa) = service_account {
                let existing = Some(sa.as_str()).filter(|s| !s.is_empty());
                let scope = if namespaces.is_empty() {
                    "full cluster level privileges".to_string()
                } else {
                    format!("privileges in namespaces {}", namespaces.join(", "))
                };
                if existing.is_none()
                    && !yes
                    && !confirm(&format!(
                        "WARNING: This will create a service account `{}` on the cluster referenced by context `{context}` with {scope}. Do you want to continue?",
                        service_account::MANAGER_SERVICE_ACCOUNT
                    ))?
                {
                    println!("Cluster '{context}' not added");
                    return Ok(ExitCode::SUCCESS);
                }
                let token = install_service_account(
                    &path,
                    &context,
                    &system_namespace,
                    existing,
                    &namespaces,
                )?;
                body = service_account::with_token(body, &token);
            }
            if let Some(n) = name {
                body["name"] = json!(n);
            }
            if let Some(p) = project {
                body["project"] = json!(p);
            }
            if !namespaces.is_empty() {
                body["namespaces"] = json!(namespaces);
            }
            let client = args.client.client()?;
            let c = client.create_cluster(&body, upsert)?;
            println!("Cluster '{}' added", s(&c, "/server"));
        }
        ClusterCommand::Get { cluster: server } => {
            let c = args.client.client()?.get_cluster(&server)?;
            if !print_machine(&c, &[server], format) {
                print!("{}", table(&[c], format == Format::Wide).render(colour()));
            }
        }
        ClusterCommand::List => {
            let list = args.client.client()?.list_clusters()?;
            let names: Vec<String> = list.iter().map(|c| s(c, "/server").to_string()).collect();
            if !print_machine(&Value::Array(list.clone()), &names, format) {
                print!("{}", table(&list, format == Format::Wide).render(colour()));
            }
        }
        ClusterCommand::RotateAuth { cluster: server } => {
            let client = args.client.client()?;
            client.post(
                &format!(
                    "/api/v1/clusters/{}/rotate-auth",
                    capstan_client::api::escape(&server)
                ),
                &json!({}),
            )?;
            println!("Cluster '{server}' rotated auth");
        }
        ClusterCommand::Rm { clusters: servers } => {
            let client = args.client.client()?;
            for server in servers {
                client.delete_cluster(&server)?;
                println!("Cluster '{server}' removed");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_client::api::items;

    #[test]
    fn list_table() {
        let list = items(&serde_json::from_str(include_str!("testdata/clusters.json")).unwrap());
        insta::assert_snapshot!("cluster_list", table(&list, false).render(false));
        insta::assert_snapshot!("cluster_list_wide", table(&list, true).render(false));
    }

    #[test]
    fn kubeconfig_context_becomes_a_cluster_body() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kc");
        std::fs::write(
            &p,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c1\n  cluster:\n    server: https://10.0.0.1:6443\n    certificate-authority-data: Q0E=\ncontexts:\n- name: ctx\n  context:\n    cluster: c1\n    user: u1\nusers:\n- name: u1\n  user:\n    token: abc\n",
        )
        .unwrap();
        let body = cluster_from_kubeconfig(&p, "ctx").unwrap();
        assert_eq!(
            body,
            json!({"server": "https://10.0.0.1:6443", "name": "ctx",
                   "config": {"tlsClientConfig": {"insecure": false, "caData": "Q0E="}, "bearerToken": "abc"}})
        );
        let err = cluster_from_kubeconfig(&p, "nope").unwrap_err().to_string();
        assert_eq!(err, format!("{}: no context named \"nope\"", p.display()));
    }
}
