//! The running service: the store, the watcher that feeds it, and the HTTP server that reads
//! it, started in the right order and stopped in the right order. Wiring only: how to serve
//! HTTP (and the actix runtime that does it) is [`http::Server`]'s business.
//!
//! The listener is bound first and the content loads in the background, so `/healthz` answers
//! 503 during the load instead of the port refusing connections — an orchestrator then knows
//! the process is alive but not ready.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use crate::config::Config;
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::stats::Audience;
use crate::store::Store;
use crate::watch::{Rescanner, WatchError, Watcher};

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

/// Runs the service until SIGTERM or SIGINT, then shuts down gracefully: the server stops
/// accepting and finishes in-flight responses, then the watcher stops.
pub fn run(config: Config) -> Result<(), ServeError> {
    raise_open_file_limit();
    let listener = bind(&config.server.bind)?;
    let base_url = config.site.base_url.clone();
    let running = Running::start(config, listener)?;
    tracing::info!(
        "listening on http://{}/ (feeds at {base_url})",
        running.addr
    );
    let hangups = running.rescanner().map(Hangups::start);
    let result = running.wait();
    if let Some(Some(hangups)) = hangups {
        hangups.stop();
    }
    result
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
}

impl Running {
    /// Starts the service on `listener` in the background.
    pub fn start(config: Config, listener: TcpListener) -> Result<Self, ServeError> {
        widen_backlog(&listener);
        limit_unread(&listener, config.server.send_timeout_ms);
        let config = Arc::new(config);
        let store = Arc::new(Store::new());
        let metrics = Arc::new(Metrics::new());
        let watcher = Watcher::start(
            Arc::clone(&config),
            Arc::clone(&store),
            Arc::clone(&metrics),
        )?;
        let state = AppState {
            store: Arc::clone(&store),
            metrics: Arc::clone(&metrics),
            audience: Arc::new(Audience::default()),
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
        if let Some(w) = self.watcher.take() {
            w.stop();
        }
        result.map_err(ServeError::from)
    }

    /// The server first, so no request sees the watcher gone.
    /// A handle that asks the watcher for a full rescan; `None` once stopped.
    pub fn rescanner(&self) -> Option<Rescanner> {
        self.watcher.as_ref().map(Watcher::rescanner)
    }

    fn shutdown(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
        if let Some(w) = self.watcher.take() {
            w.stop();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}
