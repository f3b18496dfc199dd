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
    Config, ConfigError, DEFAULT_CONFIG_PATH, IdScheme, Layer, Layers, LogFormat, ServerSettings,
    Settings, SiteSettings, jekyll,
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
    /// The content directory is missing or unreadable.
    #[error(transparent)]
    Content(#[from] crate::load::ContentDirError),
}

#[derive(Debug, Parser)]
#[command(
    name = "tidings",
    version,
    about = "Publishes Jekyll-style posts as RSS, Atom and JSON feeds",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    /// What to do; `serve` when omitted (with `serve`'s options), so `cargo run --release`
    /// serves the sample site.
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

/// `serve`'s options, which the bare command takes too.
#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Address to listen on [env: TIDINGS_BIND] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "HOST:PORT")]
    bind: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve every feed over HTTP, rebuilding as the content changes.
    Serve(ServeArgs),
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
        /// After the build, keep watching the content and export again on every change
        /// (only what changed is rewritten), until SIGTERM or SIGINT.
        #[arg(long)]
        watch: bool,
    },
    /// Load every post and report the ones that fail.
    Check {
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Ask the service running on this machine whether it is ready (`/healthz` on the
    /// address the settings name): exit 0 if so, 1 if not. For container health checks.
    Health(ServeArgs),
}

/// Options every command takes.
#[derive(Debug, Args)]
struct CommonArgs {
    /// Configuration file [default: config/tidings.toml, if present]
    #[arg(long, value_name = "FILE", env = "TIDINGS_CONFIG")]
    config: Option<PathBuf>,
    /// Content directory, with the site's _config.yml [env: TIDINGS_CONTENT] [default: feeds]
    #[arg(long, value_name = "DIR")]
    content: Option<PathBuf>,
    /// Feed base URL: where tidings is reached (self links, OPML, archives)
    /// [env: TIDINGS_BASE_URL] [default: http:// and the listen address]
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
}

/// The layers the operator gives (file, environment, flags), kept apart so the site's own
/// layer can go beneath them.
struct OperatorLayers {
    path: PathBuf,
    file: Settings,
    env: Settings,
    flags: Settings,
}

impl OperatorLayers {
    fn merged(&self) -> Layers {
        Layers::new()
            .with(Layer::File(self.path.clone()), self.file.clone())
            .with(Layer::Env, self.env.clone())
            .with(Layer::Flags, self.flags.clone())
    }
}

impl CommonArgs {
    /// The file, environment and flag layers. The flag layer is these flags with
    /// `command_flags`, the settings only one command has flags for, over them.
    fn operator(
        &self,
        env: impl Fn(&str) -> Option<String>,
        command_flags: Settings,
    ) -> Result<OperatorLayers, ConfigError> {
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
        Ok(OperatorLayers {
            path,
            file,
            env: Settings::from_env(env)?,
            flags,
        })
    }

    /// Merges defaults < the site's `_config.yml` < file < environment < flags into one
    /// [`Config`]. The site's layer is read from the content directory the other layers name.
    /// An unset base URL follows the listen address.
    fn resolve(
        &self,
        env: impl Fn(&str) -> Option<String>,
        command_flags: Settings,
    ) -> Result<Config, CliError> {
        let given = self.operator(env, command_flags)?;
        let operator = given.merged();
        let content = operator.content_dir();
        let site = jekyll::read(&content)?;
        let bind = operator.bind();
        let following = Settings {
            site: SiteSettings {
                base_url: Some(format!("http://{bind}/")),
                ..SiteSettings::default()
            },
            ..Settings::default()
        };
        let layers = Layers::new()
            .with(Layer::Default, following)
            .with(Layer::Site(content.join(jekyll::FILE_NAME)), site)
            .with(Layer::File(given.path), given.file)
            .with(Layer::Env, given.env)
            .with(Layer::Flags, given.flags);
        let mut config = layers.resolve()?;
        crate::load::require_content_dir(&config.content_dir)?;
        let defaulted = |key| matches!(layers.layer_of(key), None | Some(Layer::Default));
        config.site.base_url_follows_bind = defaulted("site.base_url");
        if config.site.base_url_follows_bind && bind_is_wildcard(&bind) {
            warn(&format!(
                "server.bind is {bind} and there is no site.base_url: feeds link to {}, which \
                 readers cannot reach; set site.base_url (TIDINGS_BASE_URL, --base-url) to the \
                 public address",
                config.site.base_url
            ));
        }
        if config.posts.id_scheme == IdScheme::Tag && defaulted("posts.id_authority") {
            warn(&format!(
                "entry ids are minted under the placeholder authority `{}`; ids are permanent, so \
                 before anyone subscribes set `tidings: {{id_authority: \"example.org,2024\"}}` in \
                 {} (or posts.id_authority) to a domain you own and a date",
                config.posts.id_authority,
                content.join(jekyll::FILE_NAME).display()
            ));
        }
        Ok(config)
    }
}

/// The flag layer of `--bind`.
fn bind_flag(bind: Option<String>) -> Settings {
    Settings {
        server: ServerSettings {
            bind,
            ..ServerSettings::default()
        },
        ..Settings::default()
    }
}

/// `tidings health`: 0 when the service at `bind` answers `/healthz` with 200 within a few
/// seconds, 1 otherwise. A wildcard address is asked on loopback.
fn health(bind: &str) -> ExitCode {
    use std::io::Read;
    use std::net::ToSocketAddrs;
    let (host, port) = bind.rsplit_once(':').unwrap_or((bind, "8080"));
    let host = match host {
        "0.0.0.0" | "" => "127.0.0.1",
        "[::]" | "::" => "[::1]",
        other => other,
    };
    let timeout = std::time::Duration::from_secs(2);
    let answer = format!("{host}:{port}")
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .and_then(|addr| std::net::TcpStream::connect_timeout(&addr, timeout).ok())
        .and_then(|mut stream| {
            stream.set_read_timeout(Some(timeout)).ok()?;
            stream
                .write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
                .ok()?;
            let mut head = [0u8; 12];
            stream.read_exact(&mut head).ok()?;
            Some(head)
        });
    match answer {
        Some(head) if head.ends_with(b" 200") => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    }
}

/// A one-off warning before logging starts (settings are read before the log is set up).
fn warn(message: &str) {
    eprintln!("tidings: warning: {message}");
}

/// Whether `bind` listens on every interface, so its address is not one readers use.
fn bind_is_wildcard(bind: &str) -> bool {
    let host = bind.rsplit_once(':').map_or(bind, |(h, _)| h);
    matches!(host, "0.0.0.0" | "[::]" | "::" | "")
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
    let command = cli.command.unwrap_or(Command::Serve(cli.serve));
    match command {
        Command::Health(ServeArgs { common, bind }) => {
            let layers = common.operator(env, bind_flag(bind))?.merged();
            Ok(health(&layers.bind()))
        }
        Command::Check { common } => {
            let config = common.resolve(env, Settings::default())?;
            let mut out = std::io::stdout().lock();
            check(&config, &mut out)
        }
        Command::Serve(ServeArgs { common, bind }) => {
            let config = common.resolve(env, bind_flag(bind))?;
            init_logging(config.server.log_format);
            crate::service::run(config)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Build {
            common,
            out,
            force,
            watch,
        } => {
            let config = common.resolve(env, Settings::default())?;
            let replace = if force {
                Replace::Anything
            } else {
                Replace::ExportsOnly
            };
            if watch {
                init_logging(config.server.log_format);
                build_and_watch(config, &out, replace)
            } else {
                build(&config, &out, replace, &mut std::io::stderr().lock())
            }
        }
    }
}

/// Logs go to stderr; the level comes from `TIDINGS_LOG` (`info` by default), in
/// `tracing-subscriber`'s filter syntax (`debug`, `tidings=debug,actix_server=warn`, ...).
/// Text is coloured only when stderr is a terminal and `NO_COLOR` is unset or empty: a file,
/// journald or `docker logs` gets plain lines. JSON lines are for log shippers.
fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("TIDINGS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(colour).try_init(),
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
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
    writeln!(log, "{}", summary(out, &report))?;
    if report.server_config_changed {
        writeln!(
            log,
            "{}: the nginx snippets changed (reload nginx if it serves this folder)",
            out.display()
        )?;
    }

    if report.errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        writeln!(log, "{} files failed to load", report.errors.len())?;
        Ok(ExitCode::from(1))
    }
}

/// `tidings build --watch`: builds as `build` does (failing the same way on a bad `--out`),
/// then exports again on every change until SIGTERM or SIGINT. Posts that fail to load are
/// logged, not fatal: they are fixed while it runs.
fn build_and_watch(config: Config, out: &Path, replace: Replace) -> Result<ExitCode, CliError> {
    let started = std::time::Instant::now();
    let mut exporter = crate::export::Exporter::new(out, replace)?;
    let config = std::sync::Arc::new(config);
    let catalog = Catalog::load(std::sync::Arc::clone(&config), chrono::Utc::now());
    let report = exporter.write(&catalog, None)?;
    for error in &report.errors {
        tracing::warn!("{error}");
    }
    tracing::info!(
        ms = started.elapsed().as_millis() as u64,
        "{}; watching {}",
        summary(out, &report),
        config.content_dir.display()
    );
    let watcher = crate::export::watch(std::sync::Arc::clone(&config), catalog, exporter)?;
    let stopped = crate::service::until_stopped(&watcher.rescanner());
    watcher.stop();
    stopped?;
    Ok(ExitCode::SUCCESS)
}

/// One line of what an export did. Files are counted with their compressed copies.
pub fn summary(out: &Path, report: &crate::export::ExportReport) -> String {
    format!(
        "{}: {} documents ({} bytes) and {} compressed copies: {} files written, {} unchanged, \
         {} removed",
        out.display(),
        report.documents,
        report.bytes,
        report.compressed,
        report.written,
        report.kept,
        report.removed
    )
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
        categories.extend(post.categories.iter().map(|n| &**n));
        tags.extend(post.tags.iter().map(|n| &**n));
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
