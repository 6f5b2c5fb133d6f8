//! `capstan proj ...`: AppProjects (sources, destinations, cluster resource lists, roles and their
//! tokens, sync windows).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, anyhow, bail};
use capstan_client::ApiClient;
use serde_json::{Value, json};

use super::client_args::ClientArgs;
use super::output::{Table, print_machine, s};

/// Manage projects.
///
/// Example: `capstan proj list`
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: ProjCommand,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum ProjCommand {
    /// Create a project.
    ///
    /// Example: `capstan proj create web -d https://kubernetes.default.svc,web -s https://github.com/org/web.git`
    Create {
        /// Project name (taken from the file with -f).
        name: Option<String>,
        /// AppProject manifest (YAML or JSON).
        #[arg(short = 'f', long = "file")]
        file: Option<PathBuf>,
        /// Destination SERVER,NAMESPACE (repeatable).
        #[arg(short = 'd', long = "dest")]
        destinations: Vec<String>,
        /// Allowed source repository (repeatable).
        #[arg(short = 's', long = "src")]
        sources: Vec<String>,
        /// Description.
        #[arg(long)]
        description: Option<String>,
        /// Replace an existing project.
        #[arg(long)]
        upsert: bool,
    },
    /// Show a project.
    ///
    /// Example: `capstan proj get web -o yaml`
    Get { name: String },
    /// List projects.
    ///
    /// Example: `capstan proj list -o name`
    List,
    /// Delete a project.
    ///
    /// Example: `capstan proj delete web`
    Delete { name: String },
    /// Allow a source repository.
    ///
    /// Example: `capstan proj add-source web https://github.com/org/web.git`
    AddSource { name: String, url: String },
    /// Allow a destination.
    ///
    /// Example: `capstan proj add-destination web https://kubernetes.default.svc web`
    AddDestination {
        name: String,
        /// Cluster URL (or name with --name).
        #[arg(value_name = "SERVER")]
        cluster: String,
        namespace: String,
        /// SERVER is a cluster name.
        #[arg(long = "name")]
        by_name: bool,
    },
    /// Allow a cluster-scoped resource (add to the allow list, or with --list deny remove from the deny list).
    ///
    /// Example: `capstan proj allow-cluster-resource web rbac.authorization.k8s.io ClusterRole`
    AllowClusterResource {
        name: String,
        group: String,
        kind: String,
        /// allow or deny list.
        #[arg(short = 'l', long, value_parser = ["allow", "deny"], default_value = "allow")]
        list: String,
    },
    /// Deny a cluster-scoped resource (remove from the allow list, or with --list deny add to the deny list).
    ///
    /// Example: `capstan proj deny-cluster-resource web "" Namespace`
    DenyClusterResource {
        name: String,
        group: String,
        kind: String,
        /// allow or deny list.
        #[arg(short = 'l', long, value_parser = ["allow", "deny"], default_value = "allow")]
        list: String,
    },
    /// Project roles.
    #[command(subcommand)]
    Role(RoleCommand),
    /// Sync windows.
    #[command(subcommand)]
    Windows(WindowsCommand),
}

#[derive(Debug, clap::Subcommand)]
pub enum RoleCommand {
    /// Create a project role.
    ///
    /// Example: `capstan proj role create web ci --description "CI pipeline"`
    Create {
        project: String,
        role: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// Create a token of a project role (printed once).
    ///
    /// Example: `capstan proj role create-token web ci --expires-in 86400`
    CreateToken {
        project: String,
        role: String,
        /// Lifetime in seconds (0: no expiry).
        #[arg(short = 'e', long, default_value_t = 0)]
        expires_in: i64,
        /// Token ID.
        #[arg(short = 'i', long = "id", default_value = "")]
        id: String,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum WindowsCommand {
    /// Add a sync window.
    ///
    /// Example: `capstan proj windows add web --kind deny --schedule "0 22 * * *" --duration 8h --applications '*'`
    Add {
        project: String,
        /// allow or deny.
        #[arg(short = 'k', long, value_parser = ["allow", "deny"])]
        kind: String,
        /// Cron schedule.
        #[arg(long)]
        schedule: String,
        /// Duration, e.g. 1h.
        #[arg(long)]
        duration: String,
        /// Applications (repeatable, globs).
        #[arg(long = "applications")]
        applications: Vec<String>,
        /// Namespaces (repeatable, globs).
        #[arg(long = "namespaces")]
        namespaces: Vec<String>,
        /// Clusters (repeatable, globs).
        #[arg(long = "clusters")]
        clusters: Vec<String>,
        /// Allow manual syncs during the window.
        #[arg(long)]
        manual_sync: bool,
        /// Time zone of the schedule.
        #[arg(long, default_value = "UTC")]
        time_zone: String,
    },
}

fn join(v: Option<&Value>, f: impl Fn(&Value) -> String) -> String {
    let list: Vec<String> = v
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(f)
        .collect();
    if list.is_empty() {
        "<none>".into()
    } else {
        list.join(",")
    }
}

/// The `proj list` table.
pub fn table(projects: &[Value]) -> Table {
    let mut t = Table::new(&[
        "NAME",
        "DESCRIPTION",
        "DESTINATIONS",
        "SOURCES",
        "CLUSTER-RESOURCE-WHITELIST",
        "NAMESPACE-RESOURCE-BLACKLIST",
    ]);
    let gk = |r: &Value| format!("{}/{}", s(r, "/group"), s(r, "/kind"));
    for p in projects {
        t.row(vec![
            s(p, "/metadata/name").to_string(),
            s(p, "/spec/description").to_string(),
            join(p.pointer("/spec/destinations"), |d| {
                let server = if s(d, "/server").is_empty() {
                    s(d, "/name")
                } else {
                    s(d, "/server")
                };
                format!("{server},{}", s(d, "/namespace"))
            }),
            join(p.pointer("/spec/sourceRepos"), |r| {
                r.as_str().unwrap_or("").to_string()
            }),
            join(p.pointer("/spec/clusterResourceWhitelist"), gk),
            join(p.pointer("/spec/namespaceResourceBlacklist"), gk),
        ]);
    }
    t
}

fn push_unique(project: &mut Value, key: &str, item: Value) {
    if !project["spec"].is_object() {
        project["spec"] = json!({});
    }
    let list = &mut project["spec"][key];
    if !list.is_array() {
        *list = json!([]);
    }
    if let Some(a) = list.as_array_mut()
        && !a.contains(&item)
    {
        a.push(item);
    }
}

fn remove(project: &mut Value, key: &str, item: &Value) {
    if let Some(a) = project["spec"][key].as_array_mut() {
        a.retain(|x| x != item);
    }
}

fn update(
    client: &ApiClient,
    name: &str,
    change: impl FnOnce(&mut Value) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut project = client.get_project(name)?;
    change(&mut project)?;
    client.update_project(&project)?;
    Ok(())
}

fn read_project(file: &PathBuf) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let docs = capstan_yaml::parse_stream(&text).map_err(|e| anyhow!("{}:{e}", file.display()))?;
    let doc = docs
        .into_iter()
        .find(|d| !d.value.is_null())
        .ok_or_else(|| anyhow!("{}: the file is empty", file.display()))?;
    if s(&doc.value, "/kind") != "AppProject" {
        let pos = doc.locate(&capstan_yaml::FieldPath::parse("kind"));
        bail!("{}:{pos}: kind: expected AppProject", file.display());
    }
    Ok(doc.value)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let format = args.client.format();
    let client = args.client.client()?;
    match args.command {
        ProjCommand::Create {
            name,
            file,
            destinations,
            sources,
            description,
            upsert,
        } => {
            let mut project = match (&file, &name) {
                (Some(f), _) => read_project(f)?,
                (None, Some(n)) => json!({"metadata": {"name": n}, "spec": {}}),
                (None, None) => bail!("give a project NAME or -f project.yaml"),
            };
            if let Some(n) = &name {
                project["metadata"]["name"] = json!(n);
            }
            if let Some(d) = description {
                project["spec"]["description"] = json!(d);
            }
            for d in &destinations {
                let (server, ns) = d
                    .split_once(',')
                    .ok_or_else(|| anyhow!("--dest {d:?} must be SERVER,NAMESPACE"))?;
                push_unique(
                    &mut project,
                    "destinations",
                    json!({"server": server, "namespace": ns}),
                );
            }
            for src in sources {
                push_unique(&mut project, "sourceRepos", json!(src));
            }
            let created = client.create_project(&project, upsert)?;
            println!("project '{}' created", s(&created, "/metadata/name"));
        }
        ProjCommand::Get { name } => {
            let p = client.get_project(&name)?;
            if !print_machine(&p, &[name], format) {
                print!("{}", table(&[p]).render(false));
            }
        }
        ProjCommand::List => {
            let list = client.list_projects()?;
            let names: Vec<String> = list
                .iter()
                .map(|p| s(p, "/metadata/name").to_string())
                .collect();
            if !print_machine(&Value::Array(list.clone()), &names, format) {
                print!("{}", table(&list).render(false));
            }
        }
        ProjCommand::Delete { name } => {
            client.delete_project(&name)?;
            println!("project '{name}' deleted");
        }
        ProjCommand::AddSource { name, url } => {
            update(&client, &name, |p| {
                push_unique(p, "sourceRepos", json!(url));
                Ok(())
            })?;
            println!("project '{name}' updated");
        }
        ProjCommand::AddDestination {
            name,
            cluster: server,
            namespace,
            by_name,
        } => {
            let key = if by_name { "name" } else { "server" };
            update(&client, &name, |p| {
                push_unique(
                    p,
                    "destinations",
                    json!({key: server, "namespace": namespace}),
                );
                Ok(())
            })?;
            println!("project '{name}' updated");
        }
        ProjCommand::AllowClusterResource {
            name,
            group,
            kind,
            list,
        } => {
            let item = json!({"group": group, "kind": kind});
            update(&client, &name, |p| {
                if list == "allow" {
                    push_unique(p, "clusterResourceWhitelist", item);
                } else {
                    remove(p, "clusterResourceBlacklist", &item);
                }
                Ok(())
            })?;
            println!("project '{name}' updated");
        }
        ProjCommand::DenyClusterResource {
            name,
            group,
            kind,
            list,
        } => {
            let item = json!({"group": group, "kind": kind});
            update(&client, &name, |p| {
                if list == "allow" {
                    remove(p, "clusterResourceWhitelist", &item);
                } else {
                    push_unique(p, "clusterResourceBlacklist", item);
                }
                Ok(())
            })?;
            println!("project '{name}' updated");
        }
        ProjCommand::Role(RoleCommand::Create {
            project,
            role,
            description,
        }) => {
            update(&client, &project, |p| {
                let exists = p["spec"]["roles"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|r| r["name"] == json!(role)));
                if exists {
                    bail!("role '{role}' already exists in project '{project}'");
                }
                let mut r = json!({"name": role});
                if let Some(d) = &description {
                    r["description"] = json!(d);
                }
                push_unique(p, "roles", r);
                Ok(())
            })?;
            println!("role '{role}' created");
        }
        ProjCommand::Role(RoleCommand::CreateToken {
            project,
            role,
            expires_in,
            id,
        }) => {
            let token = client.create_project_token(&project, &role, expires_in, &id)?;
            println!("{token}");
        }
        ProjCommand::Windows(WindowsCommand::Add {
            project,
            kind,
            schedule,
            duration,
            applications,
            namespaces,
            clusters,
            manual_sync,
            time_zone,
        }) => {
            let mut w = json!({"kind": kind, "schedule": schedule, "duration": duration,
                "manualSync": manual_sync, "timeZone": time_zone});
            for (k, v) in [
                ("applications", applications),
                ("namespaces", namespaces),
                ("clusters", clusters),
            ] {
                if !v.is_empty() {
                    w[k] = json!(v);
                }
            }
            update(&client, &project, |p| {
                push_unique(p, "syncWindows", w);
                Ok(())
            })?;
            println!("sync window added to project '{project}'");
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
        let list = items(&serde_json::from_str(include_str!("testdata/projects.json")).unwrap());
        insta::assert_snapshot!("proj_list", table(&list).render(false));
    }

    #[test]
    fn lists_stay_unique() {
        let mut p = json!({"metadata": {"name": "x"}});
        push_unique(&mut p, "sourceRepos", json!("a"));
        push_unique(&mut p, "sourceRepos", json!("a"));
        assert_eq!(p["spec"]["sourceRepos"], json!(["a"]));
        remove(&mut p, "sourceRepos", &json!("a"));
        assert_eq!(p["spec"]["sourceRepos"], json!([]));
    }
}
