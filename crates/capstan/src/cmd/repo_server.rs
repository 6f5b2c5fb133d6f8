//! `capstan repo-server`: the repository server over HTTP/JSON (POST /api/v1/manifests,
//! GET /healthz), for running manifest generation apart from the controller.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use capstan_repo::render::ConfigManagementPlugin;
use capstan_repo::{RepoService, SecretCredentials, ServiceSettings};
use capstan_settings::{RepoCreds, Repository};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on (plain HTTP). Port 0 picks a free port.
    #[arg(
        long,
        env = "CAPSTAN_REPO_SERVER_LISTEN",
        default_value = "127.0.0.1:8081"
    )]
    pub listen: SocketAddr,
    /// Directory for the Git caches, checkouts and the manifest cache.
    #[arg(long, env = "CAPSTAN_REPO_SERVER_CACHE_DIR")]
    pub cache_dir: PathBuf,
    /// Most manifest generations at once.
    #[arg(long, env = "CAPSTAN_REPO_SERVER_PARALLELISM", default_value_t = 4)]
    pub parallelism: usize,
    /// Time limit of each tool run (kustomize, helm, plugins) and Jsonnet evaluation: seconds or a
    /// duration (`90s`, `2m`), as Argo CD's ARGOCD_EXEC_TIMEOUT.
    #[arg(
        long,
        env = "ARGOCD_EXEC_TIMEOUT",
        default_value = "90s",
        value_parser = capstan_repo::exec::parse_timeout
    )]
    pub tool_timeout: Duration,
    /// Time limit of one whole manifest generation once it holds a render slot (checkout and all
    /// tool runs together): seconds or a duration.
    #[arg(
        long,
        env = "CAPSTAN_REPO_SERVER_GENERATION_TIMEOUT",
        default_value = "180s",
        value_parser = capstan_repo::exec::parse_timeout
    )]
    pub generation_timeout: Duration,
    /// Most bytes of manifest files one directory source may read (Argo CD's flag and default).
    #[arg(
        long,
        env = "ARGOCD_REPO_SERVER_MAX_COMBINED_DIRECTORY_MANIFESTS_SIZE",
        default_value = "10M",
        value_parser = capstan_repo::render::parse_size
    )]
    pub max_combined_directory_manifests_size: u64,
    /// Most bytes a chart archive (charts/*.tgz) may expand to (Argo CD's flag and default).
    #[arg(
        long,
        env = "ARGOCD_REPO_SERVER_HELM_MANIFEST_MAX_EXTRACTED_SIZE",
        default_value = "1G",
        value_parser = capstan_repo::render::parse_size
    )]
    pub helm_manifest_max_extracted_size: u64,
    /// Do not limit the expanded size of chart archives.
    #[arg(
        long,
        env = "ARGOCD_REPO_SERVER_DISABLE_HELM_MANIFEST_MAX_EXTRACTED_SIZE"
    )]
    pub disable_helm_manifest_max_extracted_size: bool,
    /// Most bytes of YAML/JSON one tool run or Jsonnet file may produce.
    #[arg(
        long,
        env = "CAPSTAN_REPO_SERVER_MAX_GENERATED_MANIFESTS_SIZE",
        default_value = "256Mi",
        value_parser = capstan_repo::render::parse_size
    )]
    pub max_generated_manifests_size: u64,
    /// Most objects one source may produce.
    #[arg(
        long,
        env = "CAPSTAN_REPO_SERVER_MAX_OBJECTS",
        default_value_t = 100_000
    )]
    pub max_objects: usize,
    /// Time limit of each git command, in seconds.
    #[arg(long, default_value_t = 90)]
    pub git_timeout: u64,
    /// YAML stream of repository / repo-creds Secrets (Argo CD format) with credentials.
    #[arg(long)]
    pub secrets: Option<PathBuf>,
    /// known_hosts file for ssh repositories (the content of argocd-ssh-known-hosts-cm).
    #[arg(long)]
    pub ssh_known_hosts: Option<PathBuf>,
    /// ConfigManagementPlugin file(s) (repeatable).
    #[arg(long = "plugin")]
    pub plugins: Vec<PathBuf>,
    /// The helm program.
    #[arg(long, env = "CAPSTAN_HELM", default_value = "helm")]
    pub helm: PathBuf,
    /// A kustomize binary (default: kustomize on PATH, else `kubectl kustomize`).
    #[arg(long, env = "CAPSTAN_KUSTOMIZE")]
    pub kustomize: Option<PathBuf>,
    /// Extra `kustomize build` options (argocd-cm `kustomize.buildOptions`), space-separated.
    #[arg(long, default_value = "")]
    pub kustomize_build_options: String,
    /// Kubernetes version used when a request names none.
    #[arg(long, default_value = "1.32.0")]
    pub default_kube_version: String,
}

fn read_secrets(file: &PathBuf) -> anyhow::Result<SecretCredentials> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let docs =
        capstan_yaml::parse_stream(&text).map_err(|e| anyhow::anyhow!("{}:{e}", file.display()))?;
    let mut creds = SecretCredentials::default();
    for doc in docs {
        let kind = doc
            .value
            .pointer("/metadata/labels/argocd.argoproj.io~1secret-type")
            .and_then(|v| v.as_str());
        match kind {
            Some("repository") => creds.repositories.push(
                Repository::from_secret(&doc.value)
                    .map_err(|e| anyhow::anyhow!("{}:{}: {e}", file.display(), doc.start))?,
            ),
            Some("repo-creds") => creds.templates.push(
                RepoCreds::from_secret(&doc.value)
                    .map_err(|e| anyhow::anyhow!("{}:{}: {e}", file.display(), doc.start))?,
            ),
            _ => {}
        }
    }
    Ok(creds)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut settings = ServiceSettings::new(&args.cache_dir);
    settings.parallelism = args.parallelism.max(1);
    settings.tools.timeout = args.tool_timeout.max(Duration::from_secs(1));
    settings.generation_timeout = args.generation_timeout.max(Duration::from_secs(1));
    settings.git.timeout = Duration::from_secs(args.git_timeout.max(1));
    settings.tools.limits = capstan_repo::render::Limits {
        max_combined_directory_manifests_size: args.max_combined_directory_manifests_size,
        helm_max_extracted_size: (!args.disable_helm_manifest_max_extracted_size)
            .then_some(args.helm_manifest_max_extracted_size),
        max_generated_bytes: args.max_generated_manifests_size,
        max_objects: args.max_objects,
    };
    settings.tools.helm = args.helm.clone();
    if args.kustomize.is_some() {
        settings.tools.kustomize = args.kustomize.clone();
    }
    settings.tools.kustomize_build_options = args
        .kustomize_build_options
        .split_whitespace()
        .map(str::to_string)
        .collect();
    settings.default_kube_version = args.default_kube_version.clone();
    if let Some(file) = &args.ssh_known_hosts {
        settings.git.ssh.known_hosts = Some(
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?,
        );
    }
    for file in &args.plugins {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        settings.tools.plugins.extend(
            ConfigManagementPlugin::parse(&text, &file.display().to_string())
                .map_err(anyhow::Error::msg)?,
        );
    }
    let creds = match &args.secrets {
        Some(f) => read_secrets(f)?,
        None => SecretCredentials::default(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let service = Arc::new(
            RepoService::new(settings, Arc::new(creds)).context("opening the repository cache")?,
        );
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let addr = listener.local_addr()?;
        eprintln!("capstan repo-server listening on http://{addr}");
        axum::serve(listener, capstan_repo::server::router(service))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("serving")?;
        Ok(ExitCode::SUCCESS)
    })
}
