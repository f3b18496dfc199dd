//! The running service: the store, the watcher that feeds it, and the HTTP server that reads
//! it, started in the right order and stopped in the right order. Wiring only: how to serve
//! HTTP (and the actix runtime that does it) is [`http::Server`]'s business.
//!
//! The listener is bound first and the content loads in the background, so `/healthz` answers
//! 503 during the load instead of the port refusing connections — an orchestrator then knows
//! the process is alive but not ready.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use crate::config::{Config, HubMode};
use crate::http::{self, AppState, Connections};
use crate::metrics::Metrics;
use crate::stats::Audience;
use crate::store::Store;
use crate::watch::{Rescanner, WatchError, Watcher};
use crate::websub::hub::Hub;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The configured address.
        addr: String,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The watcher cannot start.
    #[error(transparent)]
    Watch(#[from] WatchError),
    /// The HTTP server failed.
    #[error(transparent)]
    Server(#[from] http::ServerError),
    /// The built-in WebSub hub cannot open its database.
    #[error(transparent)]
    Hub(#[from] crate::websub::subscriptions::DatabaseError),
}

/// Binds the configured address.
pub fn bind(addr: &str) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr).map_err(|source| ServeError::Bind {
        addr: addr.to_owned(),
        source,
    })
}

/// Connections waiting to be accepted. The standard library listens with 128, which a burst
/// of aggregators overflows (the kernel then drops SYNs and clients retry after a second or
/// more); the kernel caps this at `net.core.somaxconn` anyway.
const BACKLOG: i32 = 4096;

/// Listens again with [`BACKLOG`]: on Linux a second `listen` on a listening socket changes
/// only its backlog.
fn widen_backlog(listener: &TcpListener) {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: the descriptor is a listening socket owned by `listener` for this call.
        let done = unsafe { libc::listen(listener.as_raw_fd(), BACKLOG) };
        if done != 0 {
            tracing::warn!(
                "cannot widen the listen backlog: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    #[cfg(not(unix))]
    let _ = listener;
}

/// Gives up on a connection whose peer has not taken the bytes sent to it for `ms`: set on
/// the listener, it is inherited by every accepted socket. A client that pipelines requests
/// and never reads would otherwise hold their responses in memory for as long as it likes;
/// the HTTP server has no write timeout of its own, the kernel's `TCP_USER_TIMEOUT` (which
/// covers a zero receive window since Linux 5.1) does it instead.
fn limit_unread(listener: &TcpListener, ms: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let ms = u32::try_from(ms).unwrap_or(u32::MAX);
        // SAFETY: a valid socket, and a pointer to a u32 of the size given.
        let done = unsafe {
            libc::setsockopt(
                listener.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_USER_TIMEOUT,
                (&ms as *const u32).cast(),
                std::mem::size_of::<u32>() as libc::socklen_t,
            )
        };
        if done != 0 {
            tracing::warn!(
                "cannot bound how long unread responses are kept: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (listener, ms);
}

/// Raises the soft limit on open files to the hard limit: every connection is a descriptor,
/// and the common soft limit of 1,024 would turn the 1,025th client away however idle the
/// others are.
fn raise_open_file_limit() {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `limit` is a valid rlimit for the kernel to fill in and read back.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return;
            }
            if limit.rlim_cur >= limit.rlim_max {
                tracing::info!("open-file limit: {}", limit.rlim_cur);
                return;
            }
            let before = limit.rlim_cur;
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                tracing::info!("open-file limit raised from {before} to {}", limit.rlim_max);
            } else {
                tracing::warn!(
                    "open-file limit stays at {before}: {}",
                    std::io::Error::last_os_error()
                );
            }
        }
    }
}

/// How often the trimmer looks at the connection count.
const TRIM_CHECK: std::time::Duration = std::time::Duration::from_secs(2);

/// Connections that must have closed since the last look for memory to be handed back.
const TRIM_AFTER_CLOSED: usize = 256;

/// Hands memory back to the system after a burst of connections has gone. Each connection
/// holds buffers (up to a request head's worth, over 100 KB for a hostile one); when
/// thousands close together, glibc keeps the freed pages in its arenas for reuse, and the
/// process stays at its peak for good. `malloc_trim` returns whole free pages; it is run only
/// after many connections closed, because it walks every arena under its lock.
struct Trimmer {
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Trimmer {
    fn start(connections: Arc<Connections>) -> Option<Self> {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("tidings-trim".into())
            .spawn(move || {
                // The most connections open since the last trim, and how many were open at
                // the last look: a trim waits until the count has stopped falling, so one
                // trim usually catches the whole burst. On a busy machine the closing can
                // pause long enough to look settled with part of the burst still open; those
                // are remembered (`rest`), and a trim follows once fewer remain, however few
                // they were — otherwise their buffers would stay with the allocator for good.
                let (mut high, mut last) = (0, 0);
                let mut rest: Option<usize> = None;
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(TRIM_CHECK)
                {
                    let live = connections.live();
                    high = high.max(connections.take_peak());
                    let burst_closed = high.saturating_sub(live) >= TRIM_AFTER_CLOSED;
                    let rest_closed = rest.is_some_and(|open| live < open);
                    if live >= last && (burst_closed || rest_closed) {
                        give_back_memory();
                        tracing::debug!(high, live, "returned free memory to the system");
                        high = live;
                        rest = (live > 0).then_some(live);
                    }
                    last = live;
                }
            })
            .ok()?;
        Some(Self { stop, thread })
    }

    fn stop(self) {
        drop(self.stop);
        let _ = self.thread.join();
    }
}

fn give_back_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory glibc's allocator holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Runs the service until SIGTERM or SIGINT, then shuts down gracefully: the server stops
/// accepting and finishes in-flight responses, then the watcher stops.
pub fn run(config: Config) -> Result<(), ServeError> {
    raise_open_file_limit();
    let listener = bind(&config.server.bind)?;
    let mut config = config;
    let follows = config.site.base_url_follows_bind;
    if follows
        && let Ok(addr) = listener.local_addr()
        && let Ok(url) = url::Url::parse(&format!("http://{addr}/"))
    {
        // The address really listened on (a port 0 becomes the port chosen).
        if config.site.url == config.site.base_url {
            config.site.url = url.clone();
        }
        config.site.base_url = url;
    }
    let base_url = config.site.base_url.clone();
    let running = Running::start(config, listener)?;
    if follows {
        tracing::info!(
            "listening on http://{}/ (feeds at {base_url}, the listen address: set site.base_url \
             to publish another)",
            running.addr
        );
    } else {
        tracing::info!(
            "listening on http://{}/ (feeds at {base_url})",
            running.addr
        );
    }
    let hangups = running.rescanner().map(Hangups::start);
    let result = running.wait();
    if let Some(Some(hangups)) = hangups {
        hangups.stop();
    }
    result
}

/// Waits for SIGTERM or SIGINT, turning SIGHUP into a rescan meanwhile: for commands that
/// run a watcher without a server (`build --watch`).
pub fn until_stopped(rescanner: &Rescanner) -> Result<(), std::io::Error> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGHUP, SIGINT, SIGTERM])?;
    for signal in signals.forever() {
        if signal == SIGHUP {
            tracing::info!("SIGHUP: rescanning the content directory");
            rescanner.rescan();
        } else {
            tracing::info!("stopping");
            return Ok(());
        }
    }
    Ok(())
}

/// SIGHUP, the signal operators send to "reload": a full rescan of the content directory.
/// Without a handler it would kill the process without a word. (Settings are read once, at
/// start; changing them needs a restart, which the log line says.)
struct Hangups {
    handle: signal_hook::iterator::Handle,
    thread: std::thread::JoinHandle<()>,
}

impl Hangups {
    fn start(rescanner: Rescanner) -> Option<Self> {
        let mut signals = match signal_hook::iterator::Signals::new([signal_hook::consts::SIGHUP]) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("cannot handle SIGHUP ({e}); it will stop the process");
                return None;
            }
        };
        let handle = signals.handle();
        let thread = std::thread::Builder::new()
            .name("tidings-signals".into())
            .spawn(move || {
                for _ in signals.forever() {
                    tracing::info!(
                        "SIGHUP: rescanning the content directory (settings changes need a restart)"
                    );
                    rescanner.rescan();
                }
            })
            .ok()?;
        Some(Self { handle, thread })
    }

    fn stop(self) {
        self.handle.close();
        let _ = self.thread.join();
    }
}

/// A service running on background threads, for tests and embedding.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The store it publishes from.
    pub store: Arc<Store>,
    /// Its metrics.
    pub metrics: Arc<Metrics>,
    server: Option<http::Server>,
    watcher: Option<Watcher>,
    trimmer: Option<Trimmer>,
    hub: Option<Arc<Hub>>,
}

impl Running {
    /// Starts the service on `listener` in the background.
    pub fn start(config: Config, listener: TcpListener) -> Result<Self, ServeError> {
        widen_backlog(&listener);
        limit_unread(&listener, config.server.send_timeout_ms);
        let config = Arc::new(config);
        let store = Arc::new(Store::new());
        let metrics = Arc::new(Metrics::new());
        let hub = match config.websub.hub {
            HubMode::None => None,
            HubMode::Builtin => Some(Arc::new(Hub::start(
                Arc::clone(&config),
                Arc::clone(&store),
                Arc::clone(&metrics),
            )?)),
        };
        let watcher = Watcher::start(
            Arc::clone(&config),
            Arc::clone(&store),
            Arc::clone(&metrics),
            hub.clone(),
        )?;
        let connections = Arc::new(Connections::default());
        let state = AppState {
            store: Arc::clone(&store),
            metrics: Arc::clone(&metrics),
            audience: Arc::new(Audience::default()),
            connections: Arc::clone(&connections),
            hub: hub.clone(),
        };
        let server = match http::Server::start(state, listener, http::Limits::of(&config.server)) {
            Ok(server) => server,
            Err(e) => {
                watcher.stop();
                return Err(e.into());
            }
        };
        Ok(Self {
            addr: server.addr(),
            store,
            metrics,
            server: Some(server),
            watcher: Some(watcher),
            trimmer: Trimmer::start(connections),
            hub,
        })
    }

    /// Stops gracefully and waits for both threads.
    pub fn stop(mut self) {
        self.shutdown();
    }

    /// Waits until the server stops by itself (SIGTERM or SIGINT: it stops accepting and
    /// finishes in-flight responses), then stops the watcher.
    pub fn wait(mut self) -> Result<(), ServeError> {
        let result = match self.server.take() {
            Some(server) => server.wait(),
            None => Ok(()),
        };
        tracing::info!("shutting down");
        self.shutdown();
        result.map_err(ServeError::from)
    }

    /// A handle that asks the watcher for a full rescan; `None` once stopped.
    pub fn rescanner(&self) -> Option<Rescanner> {
        self.watcher.as_ref().map(Watcher::rescanner)
    }

    /// The server first, so no request sees the watcher gone.
    fn shutdown(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
        if let Some(w) = self.watcher.take() {
            w.stop();
        }
        if let Some(t) = self.trimmer.take() {
            t.stop();
        }
        // Last: the watcher hands it changes until it stops.
        if let Some(hub) = self.hub.take() {
            hub.stop();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}
