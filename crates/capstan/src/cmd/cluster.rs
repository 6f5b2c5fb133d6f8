//! `capstan cluster add | get | list | rm`: destination clusters (cluster Secrets). `add` takes the
//! server and credentials of a kubeconfig context as they are (argocd instead installs a
//! ServiceAccount in the cluster and uses its token).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, anyhow, bail};
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
}

fn named<'a>(doc: &'a Value, list: &str, name: &str) -> Option<&'a Value> {
    doc.get(list)?
        .as_array()?
        .iter()
        .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
}

/// The Argo CD Cluster body for a kubeconfig context.
pub fn cluster_from_kubeconfig(path: &Path, context: &str) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let docs = capstan_yaml::parse_stream(&text).map_err(|e| anyhow!("{}:{e}", path.display()))?;
    let doc = docs
        .into_iter()
        .next()
        .map(|d| d.value)
        .ok_or_else(|| anyhow!("{}: empty kubeconfig", path.display()))?;
    let ctx = named(&doc, "contexts", context)
        .ok_or_else(|| anyhow!("{}: no context named {context:?}", path.display()))?;
    let cluster_name = s(ctx, "/context/cluster");
    let user_name = s(ctx, "/context/user");
    let cluster = named(&doc, "clusters", cluster_name)
        .and_then(|c| c.get("cluster"))
        .ok_or_else(|| anyhow!("{}: no cluster named {cluster_name:?}", path.display()))?;
    let empty = json!({});
    let user = named(&doc, "users", user_name)
        .and_then(|u| u.get("user"))
        .unwrap_or(&empty);
    for (obj, key) in [
        (cluster, "certificate-authority"),
        (user, "client-certificate"),
        (user, "client-key"),
    ] {
        if obj.get(key).is_some() {
            bail!(
                "{}: {key} is a file path; embed it first with `kubectl config view --flatten --minify --context {context} > flat.kubeconfig`",
                path.display()
            );
        }
    }
    let mut tls = json!({
        "insecure": cluster.get("insecure-skip-tls-verify").and_then(Value::as_bool).unwrap_or(false),
    });
    for (from, obj, to) in [
        ("certificate-authority-data", cluster, "caData"),
        ("client-certificate-data", user, "certData"),
        ("client-key-data", user, "keyData"),
    ] {
        if let Some(v) = obj.get(from).and_then(Value::as_str) {
            tls[to] = json!(v);
        }
    }
    if let Some(sn) = cluster.get("tls-server-name").and_then(Value::as_str) {
        tls["serverName"] = json!(sn);
    }
    let mut config = json!({"tlsClientConfig": tls});
    if let Some(t) = user.get("token").and_then(Value::as_str) {
        config["bearerToken"] = json!(t);
    }
    if let Some(u) = user.get("username").and_then(Value::as_str) {
        config["username"] = json!(u);
        config["password"] = json!(s(user, "/password"));
    }
    let server = s(cluster, "/server");
    if server.is_empty() {
        bail!("{}: cluster {cluster_name:?} has no server", path.display());
    }
    Ok(json!({"server": server, "name": context, "config": config}))
}

/// The `cluster list` table.
pub fn table(clusters: &[Value], wide: bool) -> Table {
    let mut header = vec!["SERVER", "NAME", "VERSION", "STATUS", "MESSAGE", "PROJECT"];
    if wide {
        header.push("NAMESPACES");
    }
    let mut t = Table::new(&header);
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
        } => {
            let path = match kubeconfig {
                Some(p) => p,
                None => default_kubeconfig()?,
            };
            let mut body = cluster_from_kubeconfig(&path, &context)?;
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
