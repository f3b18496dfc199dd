//! The command line: `tidings serve | build | check`.
//!
//! Arguments are parsed by clap into low-level options, then merged with the config file and
//! the environment into one validated [`Config`] before any command runs, so a bad setting is
//! reported up front and no command re-reads settings.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{
    Config, ConfigError, DEFAULT_CONFIG_PATH, Layer, Layers, ServerSettings, Settings, SiteSettings,
};
use crate::export::Replace;
use crate::load::Catalog;

/// Why a command could not run at all (as opposed to finding bad posts, which is a result).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The settings are unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Writing output failed.
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),
    /// The static export could not be written.
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
    /// The service could not start or failed.
    #[error(transparent)]
    Serve(#[from] crate::service::ServeError),
}

#[derive(Debug, Parser)]
#[command(
    name = "tidings",
    version,
    about = "Publishes Jekyll-style posts as RSS, Atom and JSON feeds"
)]
struct Cli {
    /// What to do; `serve` when omitted, so `cargo run --release` serves the sample site.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve every feed over HTTP, rebuilding as the content changes.
    Serve {
        #[command(flatten)]
        common: CommonArgs,
        /// Address to listen on [default: 127.0.0.1:8080]
        #[arg(long, value_name = "HOST:PORT")]
        bind: Option<String>,
    },
    /// Write every document to a folder, for a static host or CDN.
    Build {
        #[command(flatten)]
        common: CommonArgs,
        /// Folder to write to.
        #[arg(long, value_name = "DIR", default_value = "public")]
        out: PathBuf,
        /// Replace --out even if it is not an earlier export.
        #[arg(long)]
        force: bool,
    },
    /// Load every post and report the ones that fail.
    Check {
        #[command(flatten)]
        common: CommonArgs,
    },
}

/// Options every command takes.
#[derive(Debug, Args)]
struct CommonArgs {
    /// Configuration file [default: config/tidings.toml, if present]
    #[arg(long, value_name = "FILE", env = "TIDINGS_CONFIG")]
    config: Option<PathBuf>,
    /// Content directory [default: feeds]
    #[arg(long, value_name = "DIR")]
    content: Option<PathBuf>,
    /// Feed base URL: where tidings is reached (self links, OPML, archives)
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
}

impl CommonArgs {
    /// Merges defaults < file < environment < flags into one [`Config`]. The flag layer is
    /// these flags with `command_flags`, the settings only one command has flags for, over them.
    fn resolve(
        &self,
        env: impl Fn(&str) -> Option<String>,
        command_flags: Settings,
    ) -> Result<Config, ConfigError> {
        let (path, explicit) = match &self.config {
            Some(p) => (p.clone(), true),
            None => (PathBuf::from(DEFAULT_CONFIG_PATH), false),
        };
        let file = Settings::from_file(&path, explicit)?;
        let mut flags = Settings {
            content: self.content.clone(),
            site: SiteSettings {
                base_url: self.base_url.clone(),
                ..SiteSettings::default()
            },
            ..Settings::default()
        };
        flags.merge(command_flags);
        Layers::new()
            .with(Layer::File(path), file)
            .with(Layer::Env, Settings::from_env(env)?)
            .with(Layer::Flags, flags)
            .resolve()
    }
}

/// Runs the command line `args` (program name first). Returns the process exit code:
/// 0 for success, 1 when posts failed to load, and an error when the command could not run.
pub fn run<I, T>(args: I) -> Result<ExitCode, CliError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout and mistakes to stderr itself.
            let _ = e.print();
            return Ok(if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            });
        }
    };
    let env = |k: &str| std::env::var(k).ok();
    let command = cli.command.unwrap_or(Command::Serve {
        common: CommonArgs {
            config: std::env::var_os("TIDINGS_CONFIG").map(PathBuf::from),
            content: None,
            base_url: None,
        },
        bind: None,
    });
    match command {
        Command::Check { common } => {
            let config = common.resolve(env, Settings::default())?;
            let mut out = std::io::stdout().lock();
            check(&config, &mut out)
        }
        Command::Serve { common, bind } => {
            let bind = Settings {
                server: ServerSettings {
                    bind,
                    ..ServerSettings::default()
                },
                ..Settings::default()
            };
            let config = common.resolve(env, bind)?;
            init_logging();
            crate::service::run(config)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Build { common, out, force } => {
            let config = common.resolve(env, Settings::default())?;
            let replace = if force {
                Replace::Anything
            } else {
                Replace::ExportsOnly
            };
            build(&config, &out, replace, &mut std::io::stderr().lock())
        }
    }
}

/// Logs go to stderr; the level comes from `TIDINGS_LOG` (`info` by default), in
/// `tracing-subscriber`'s filter syntax (`debug`, `tidings=debug,actix_server=warn`, ...).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TIDINGS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// `tidings build`: writes every document under `out`; names the posts that failed to load
/// and exits 1 if any did (everything else is still written).
pub fn build(
    config: &Config,
    out: &Path,
    replace: Replace,
    log: &mut impl Write,
) -> Result<ExitCode, CliError> {
    let report = crate::export::export(config, out, chrono::Utc::now(), replace)?;
    for error in &report.errors {
        writeln!(log, "{error}")?;
    }
    writeln!(
        log,
        "wrote {} documents ({} bytes) to {}",
        report.documents,
        report.bytes,
        out.display()
    )?;
    if report.errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        writeln!(log, "{} files failed to load", report.errors.len())?;
        Ok(ExitCode::from(1))
    }
}

/// `tidings check`: one line per bad post (`path[:line]: reason`), exit 1 if there is any;
/// otherwise a one-line summary of what was found, exit 0.
pub fn check(config: &Config, out: &mut impl Write) -> Result<ExitCode, CliError> {
    let catalog = Catalog::load(std::sync::Arc::new(config.clone()), chrono::Utc::now());
    let errors = catalog.errors();
    for error in &errors {
        writeln!(out, "{error}")?;
    }
    let posts = catalog.posts();
    let mut categories = std::collections::BTreeSet::new();
    let mut tags = std::collections::BTreeSet::new();
    for post in &posts {
        categories.extend(post.categories.iter().map(String::as_str));
        tags.extend(post.tags.iter().map(String::as_str));
    }
    if !errors.is_empty() {
        writeln!(
            out,
            "{} of {} files failed to load",
            errors.len(),
            errors.len() + posts.len()
        )?;
        return Ok(ExitCode::from(1));
    }
    writeln!(
        out,
        "{} posts, {} categories, {} tags ({} files skipped: no front matter or unpublished)",
        posts.len(),
        categories.len(),
        tags.len(),
        catalog.skipped_count()
    )?;
    Ok(ExitCode::SUCCESS)
}
