//! `capstan render`: print the objects Capstan would deploy for a source, as a YAML stream, without
//! a server. Exit codes: 0 rendered, 1 the source could not be rendered, 2 usage error.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use capstan_repo::git::NoCredentials;
use capstan_repo::render::ConfigManagementPlugin;
use capstan_repo::{ManifestRequest, RepoService, ServiceSettings};
use capstan_types::{
    Application, ApplicationSource, ApplicationSourceDirectory, ApplicationSourceHelm,
    HelmParameter, annotations::MANIFEST_GENERATE_PATHS,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Repository URL or local path of a Git repository (committed content is rendered).
    #[arg(long)]
    pub repo: Option<String>,
    /// Branch, tag or commit.
    #[arg(long)]
    pub revision: Option<String>,
    /// Path inside the repository.
    #[arg(long)]
    pub path: Option<String>,
    /// Render the source(s) of this Application manifest (YAML or JSON); other flags override it.
    #[arg(long)]
    pub app: Option<PathBuf>,
    /// Application name (Helm's default release name, ARGOCD_APP_NAME).
    #[arg(long)]
    pub name: Option<String>,
    /// Destination namespace.
    #[arg(long)]
    pub namespace: Option<String>,
    /// Kubernetes version of the destination.
    #[arg(long, default_value = "1.32.0")]
    pub kube_version: String,
    /// API versions of the destination (repeatable).
    #[arg(long = "api-version")]
    pub api_versions: Vec<String>,
    /// Helm `--set` parameter NAME=VALUE (repeatable).
    #[arg(long = "helm-set")]
    pub helm_set: Vec<String>,
    /// Helm `--set-string` parameter NAME=VALUE (repeatable).
    #[arg(long = "helm-set-string")]
    pub helm_set_string: Vec<String>,
    /// Helm value file, relative to the chart (repeatable).
    #[arg(long = "values")]
    pub values: Vec<String>,
    /// Helm release name.
    #[arg(long)]
    pub release_name: Option<String>,
    /// Read subdirectories of a directory source.
    #[arg(long)]
    pub directory_recurse: bool,
    /// ConfigManagementPlugin file(s) to make available (repeatable).
    #[arg(long = "plugin")]
    pub plugins: Vec<PathBuf>,
    /// Cache directory (default: a temporary directory removed afterwards).
    #[arg(long, env = "CAPSTAN_RENDER_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Time limit of each tool run, in seconds.
    #[arg(long, default_value_t = 90)]
    pub tool_timeout: u64,
    /// Output format.
    #[arg(long, short = 'o', value_parser = ["yaml", "json"], default_value = "yaml")]
    pub output: String,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (requests, plugins) = build_requests(&args)?;
    let tmp;
    let cache_dir = match &args.cache_dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().context("creating a cache directory")?;
            tmp.path().to_path_buf()
        }
    };
    let mut settings = ServiceSettings::new(&cache_dir);
    settings.cache_file = args.cache_dir.as_ref().map(|d| d.join("manifests.redb"));
    settings.tools.timeout = Duration::from_secs(args.tool_timeout.max(1));
    settings.tools.plugins = plugins;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let service = RepoService::new(settings, Arc::new(NoCredentials))
            .context("opening the repository cache")?;
        let mut objects = Vec::new();
        for req in &requests {
            match service.generate(req).await {
                Ok(resp) => objects.extend(resp.manifests),
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(1));
                }
            }
        }
        if args.output == "json" {
            println!("{}", serde_json::to_string_pretty(&objects)?);
        } else {
            print!("{}", capstan_yaml::to_yaml_stream(objects.iter()));
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn split_param(text: &str, force_string: bool) -> anyhow::Result<HelmParameter> {
    let Some((name, value)) = text.split_once('=') else {
        bail!("helm parameter {text:?} must be NAME=VALUE");
    };
    Ok(HelmParameter {
        name: Some(name.to_string()),
        value: Some(value.to_string()),
        force_string: force_string.then_some(true),
        ..Default::default()
    })
}

fn build_requests(
    args: &Args,
) -> anyhow::Result<(Vec<ManifestRequest>, Vec<ConfigManagementPlugin>)> {
    let mut plugins = Vec::new();
    for file in &args.plugins {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        plugins.extend(
            ConfigManagementPlugin::parse(&text, &file.display().to_string())
                .map_err(anyhow::Error::msg)?,
        );
    }
    let mut base = ManifestRequest {
        app_name: args.name.clone().unwrap_or_else(|| "capstan-render".into()),
        namespace: args.namespace.clone().unwrap_or_default(),
        kube_version: Some(args.kube_version.clone()),
        api_versions: args.api_versions.clone(),
        ..Default::default()
    };
    let mut sources: Vec<ApplicationSource> = Vec::new();
    let mut refs = Vec::new();
    if let Some(file) = &args.app {
        let app = read_application(file)?;
        if args.name.is_none()
            && let Some(n) = &app.metadata.name
        {
            base.app_name = n.clone();
        }
        if args.namespace.is_none() {
            base.namespace = app.spec.destination.namespace.clone().unwrap_or_default();
        }
        base.project = app.spec.project.clone();
        base.manifest_generate_paths = app
            .metadata
            .annotation(MANIFEST_GENERATE_PATHS)
            .map(str::to_string);
        let all: Vec<ApplicationSource> = match (&app.spec.source, &app.spec.sources) {
            (_, Some(many)) if !many.is_empty() => many.clone(),
            (Some(one), _) => vec![one.clone()],
            _ => bail!("{}: the Application has no source", file.display()),
        };
        for s in &all {
            if s.reference.as_deref().is_some_and(|r| !r.is_empty()) {
                refs.push(s.clone());
            }
        }
        sources = all
            .into_iter()
            .filter(|s| s.reference.is_none() || s.path.is_some())
            .collect();
    }
    if sources.is_empty() {
        sources.push(ApplicationSource::default());
    }
    let overriding = args.repo.is_some() || args.path.is_some() || args.revision.is_some();
    if overriding && sources.len() > 1 {
        bail!("--repo/--path/--revision cannot override an Application with several sources");
    }
    let mut requests = Vec::new();
    for mut source in sources {
        if let Some(r) = &args.repo {
            source.repo_url = r.clone();
        }
        if let Some(p) = &args.path {
            source.path = Some(p.clone());
        }
        if let Some(r) = &args.revision {
            source.target_revision = Some(r.clone());
        }
        if source.repo_url.is_empty() {
            bail!("give --repo (or --app with an Application that names its repoURL)");
        }
        let helm_flags = !args.helm_set.is_empty()
            || !args.helm_set_string.is_empty()
            || !args.values.is_empty()
            || args.release_name.is_some();
        if helm_flags {
            let helm = source
                .helm
                .get_or_insert_with(ApplicationSourceHelm::default);
            let params = helm.parameters.get_or_insert_with(Vec::new);
            for p in &args.helm_set {
                params.push(split_param(p, false)?);
            }
            for p in &args.helm_set_string {
                params.push(split_param(p, true)?);
            }
            if !args.values.is_empty() {
                helm.value_files
                    .get_or_insert_with(Vec::new)
                    .extend(args.values.iter().cloned());
            }
            if let Some(r) = &args.release_name {
                helm.release_name = Some(r.clone());
            }
        }
        if args.directory_recurse {
            source
                .directory
                .get_or_insert_with(ApplicationSourceDirectory::default)
                .recurse = Some(true);
        }
        let mut req = base.clone();
        req.source = source;
        req.ref_sources = refs.clone();
        requests.push(req);
    }
    Ok((requests, plugins))
}

fn read_application(file: &PathBuf) -> anyhow::Result<Application> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let docs =
        capstan_yaml::parse_stream(&text).map_err(|e| anyhow::anyhow!("{}:{e}", file.display()))?;
    let doc = docs
        .into_iter()
        .find(|d| d.value.get("kind").and_then(|k| k.as_str()) == Some("Application"))
        .ok_or_else(|| anyhow::anyhow!("{}: no Application in the file", file.display()))?;
    capstan_types::decode::<Application>(&doc.value).map_err(|e| {
        let pos = doc.locate(&capstan_yaml::FieldPath::parse(&e.path));
        anyhow::anyhow!("{}:{pos}: {e}", file.display())
    })
}
