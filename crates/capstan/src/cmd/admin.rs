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
    /// Print the CustomResourceDefinitions of Application, AppProject and ApplicationSet
    /// (generated from the types), or write them into a directory.
    ///
    /// Example: `capstan admin crds --write deploy/crds`
    Crds {
        /// Write one file per CRD into this directory instead of printing them.
        #[arg(long, value_name = "DIR")]
        write: Option<PathBuf>,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
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
