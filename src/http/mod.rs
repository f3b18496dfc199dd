//! HTTP: the only module that knows actix.
//!
//! [`Server`] runs the actix server on its own thread over an already bound listener, and
//! stops it gracefully. Every request is answered from memory: the handler loads the current
//! snapshot, looks the path up with [`DocId::parse`], and hands the rendered document to one
//! response builder (`respond`) that owns every caching and content header, and turns the
//! store's version of a document (its fingerprint and modification time) into `ETag` and
//! `Last-Modified`. The decisions the builder needs — 200 or 304 ([`conditional`]), which
//! encoding and which media type ([`negotiate`]) — are pure functions tested without a
//! server. Nothing here touches the file system.
//!
//! A document that fails to render is a server error: logged, counted
//! (`tidings_http_server_errors_total`), and answered with the last good bytes when the store
//! has them, else with a 500 — never with a 404 or an empty 200.

pub mod conditional;
pub mod negotiate;
mod respond;

use std::borrow::Cow;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::ServerHandle;
use actix_web::http::{Method, header};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

use crate::config::ServerConfig;
use crate::documents::{self, DocId};
use crate::feeds::{Page, Scope};
use crate::metrics::{self, Cause, Kind, Metrics};
use crate::stats::{Audience, Poll};
use crate::store::{Encoding, Fault, Lookup, Rendered, Store};
use crate::websub::hub::{self, Hub};
use negotiate::{Available, Client, Coding};

/// Paths longer than this are refused with 414 before any parsing.
const MAX_PATH: usize = 4096;

/// The largest subscription request taken: a form of a topic, a callback, a lease and a
/// secret is well under a kilobyte.
const MAX_HUB_REQUEST: usize = 16 * 1024;

/// Seconds a graceful stop waits for in-flight responses.
const SHUTDOWN_TIMEOUT: u64 = 10;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The published documents.
    pub store: Arc<Store>,
    /// Counters and gauges.
    pub metrics: Arc<Metrics>,
    /// Who reads which feed.
    pub audience: Arc<Audience>,
    /// Open connections.
    pub connections: Arc<Connections>,
    /// The built-in WebSub hub, when it runs: subscription requests at `/hub` go to it.
    pub hub: Option<Arc<Hub>>,
}

/// The state behind every request: the shared state, and what only HTTP keeps.
#[derive(Debug)]
struct Shared {
    state: AppState,
    /// Rendering and compressing: bounded in CPU and in waiting requests.
    work: Work,
    /// `Cache-Control` for documents and for full archive pages. Settings are read once per
    /// process, so the values are made once, from the first snapshot, not per response.
    cache: std::sync::OnceLock<[header::HeaderValue; 2]>,
}

impl Shared {
    /// The `Cache-Control` value for a document (a full archive page, or anything else).
    fn cache_control(
        &self,
        feeds: &crate::config::FeedsConfig,
        full_archive: bool,
    ) -> header::HeaderValue {
        let [document, archive] = self.cache.get_or_init(|| {
            [
                respond::cache_control(feeds, false),
                respond::cache_control(feeds, true),
            ]
        });
        if full_archive { archive } else { document }.clone()
    }
}

/// Permits for rendering and compressing, one per core: requests for documents not made yet
/// queue here (holding no thread), so however many arrive at once, the CPU they take is
/// bounded and cached documents keep their share. The queue itself is bounded too: past
/// `max_waiting`, a request is answered 503 with `Retry-After` at once rather than left to
/// wait behind thousands of others.
#[derive(Debug)]
struct Work {
    permits: tokio::sync::Semaphore,
    waiting: std::sync::atomic::AtomicUsize,
    max_waiting: usize,
}

impl Work {
    fn new(max_waiting: usize) -> Self {
        Self {
            permits: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            ),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            max_waiting,
        }
    }

    /// A permit, once one is free; `None` when too many requests wait already.
    async fn enter(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        use std::sync::atomic::Ordering;
        if let Ok(permit) = self.permits.try_acquire() {
            return Some(permit);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let permit = self.permits.acquire().await.ok();
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        permit
    }
}

/// Open connections, counted as they are accepted and closed.
#[derive(Debug, Default)]
pub struct Connections {
    live: AtomicUsize,
    peak: AtomicUsize,
}

impl Connections {
    /// Connections open now.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    /// The most connections open at once since the last call (or the start).
    pub fn take_peak(&self) -> usize {
        self.peak.swap(self.live(), Ordering::AcqRel)
    }

    /// Counts a new connection; whether it is within `cap`.
    fn admit(self: &Arc<Self>, cap: usize) -> Admission {
        let open = self.live.fetch_add(1, Ordering::AcqRel) + 1;
        self.peak.fetch_max(open, Ordering::AcqRel);
        Admission {
            connections: Arc::clone(self),
            admitted: open <= cap,
        }
    }
}

/// Kept with each connection (actix drops it when the connection closes): whether the
/// connection is within `max_connections`, and the count to give back.
#[derive(Debug)]
struct Admission {
    connections: Arc<Connections>,
    admitted: bool,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.connections.live.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Connections actix accepts beyond `max_connections`, only to be told 503 and closed: past
/// the cap a client hears "come back later" at once instead of waiting unseen in the listen
/// backlog. Past this margin too, connections do wait in the backlog.
fn overflow(max_connections: usize) -> usize {
    (max_connections / 8).clamp(64, 4096)
}

/// Why the HTTP server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The server could not start on the listener.
    #[error("the HTTP server cannot start: {0}")]
    Start(#[source] std::io::Error),
    /// The server failed while running.
    #[error("the HTTP server failed: {0}")]
    Run(#[source] std::io::Error),
    /// The server's thread panicked.
    #[error("the HTTP server's thread panicked")]
    Panicked,
}

/// What one client may hold and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Request threads (one per core).
    pub workers: usize,
    /// Connections served at once, across workers; a few more are answered 503, and beyond
    /// those, connections wait in the listen backlog.
    pub max_connections: usize,
    /// Time to send a request's head: a client that trickles it (slowloris) is dropped.
    pub request_timeout: std::time::Duration,
    /// How long an idle keep-alive connection stays open.
    pub keep_alive: std::time::Duration,
    /// Requests that may wait for a document to be rendered or compressed; more get a 503.
    pub max_waiting: usize,
}

impl Limits {
    /// The limits the server settings ask for.
    pub fn of(server: &ServerConfig) -> Self {
        Self {
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_connections: server.max_connections,
            request_timeout: std::time::Duration::from_millis(server.request_timeout_ms),
            keep_alive: std::time::Duration::from_millis(server.keep_alive_ms),
            max_waiting: server.max_waiting_renders,
        }
    }
}

/// The HTTP server, running on a thread of its own.
///
/// It stops gracefully on SIGTERM and SIGINT (it stops accepting, lets in-flight responses
/// finish, then returns), on [`Server::stop`], and when dropped.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    handle: ServerHandle,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Starts serving `state` on an already bound listener (so callers, and tests binding
    /// port 0, know the address before it runs).
    pub fn start(
        state: AppState,
        listener: TcpListener,
        limits: Limits,
    ) -> Result<Self, ServerError> {
        let addr = listener.local_addr().map_err(ServerError::Start)?;
        let connections = Arc::clone(&state.connections);
        let shared = web::Data::new(Shared {
            state,
            work: Work::new(limits.max_waiting),
            cache: std::sync::OnceLock::new(),
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("tidings-http".into())
            .spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let server = HttpServer::new(move || {
                        let hub_path = format!("/{}", crate::config::HUB_PATH);
                        App::new()
                            .app_data(shared.clone())
                            .app_data(web::PayloadConfig::new(MAX_HUB_REQUEST))
                            .route(&hub_path, web::to(hub_request))
                            .default_service(web::to(handle))
                    })
                    .on_connect(move |_, data| {
                        data.insert(connections.admit(limits.max_connections));
                    })
                    .workers(limits.workers)
                    // actix counts connections per worker.
                    .max_connections(
                        ((limits.max_connections + overflow(limits.max_connections))
                            / limits.workers)
                            .max(1),
                    )
                    .client_request_timeout(limits.request_timeout)
                    .keep_alive(actix_web::http::KeepAlive::Timeout(limits.keep_alive))
                    .listen(listener);
                    let server = match server {
                        Ok(s) => s.shutdown_timeout(SHUTDOWN_TIMEOUT).run(),
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return Ok(());
                        }
                    };
                    let _ = tx.send(Ok(server.handle()));
                    server.await
                })
            })
            .map_err(ServerError::Start)?;
        let started = rx.recv().unwrap_or_else(|_| {
            Err(std::io::Error::other(
                "the HTTP thread ended before the server started",
            ))
        });
        match started {
            Ok(handle) => Ok(Self {
                addr,
                handle,
                thread: Some(thread),
            }),
            Err(e) => {
                let _ = thread.join();
                Err(ServerError::Start(e))
            }
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops gracefully: stops accepting, lets in-flight responses finish, and waits for the
    /// thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    /// Waits until the server stops by itself (SIGTERM or SIGINT).
    pub fn wait(mut self) -> Result<(), ServerError> {
        match self.thread.take() {
            Some(thread) => match thread.join() {
                Ok(result) => result.map_err(ServerError::Run),
                Err(_) => Err(ServerError::Panicked),
            },
            None => Ok(()),
        }
    }

    fn shutdown(&mut self) {
        if let Some(thread) = self.thread.take() {
            // The stop future must be polled for the server to stop; this thread has no
            // runtime of its own, so it gets a throwaway one.
            actix_web::rt::System::new().block_on(self.handle.stop(true));
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn handle(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let state = &shared.state;
    let path = req.uri().path();
    let id = DocId::parse(path);
    let (kind, format) = classify(path, id.as_ref());
    let admitted = req.conn_data::<Admission>().is_none_or(|a| a.admitted);
    let response = if !admitted {
        state.metrics.observe_refused_connection();
        respond::overloaded()
    } else if req.method() != Method::GET && req.method() != Method::HEAD {
        respond::method_not_allowed()
    } else if path.len() > MAX_PATH {
        respond::uri_too_long()
    } else {
        match kind {
            Kind::Healthz => respond::healthz(state.store.snapshot().as_deref()),
            Kind::Metrics => {
                state.metrics.observe_connections(state.connections.live());
                state
                    .metrics
                    .observe_audience(&state.audience.report(Instant::now()));
                respond::metrics(state.metrics.encode())
            }
            Kind::Stats => respond::stats(documents::stats::render(
                &state.audience.report(Instant::now()),
            )),
            _ => document(&req, id, &shared).await,
        }
    };
    let status = response.status().as_u16();
    let bytes = match response.body().size() {
        actix_web::body::BodySize::Sized(n) if req.method() != Method::HEAD => n,
        _ => 0,
    };
    state.metrics.observe_request(kind, format, status, bytes);
    tracing::debug!(method = %req.method(), path, status, bytes, "request");
    response
}

/// A request to the built-in hub: checked at once (400 with the reason, or 202), verified
/// later by the hub. Without a built-in hub, the path names nothing.
async fn hub_request(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let state = &shared.state;
    let admitted = req.conn_data::<Admission>().is_none_or(|a| a.admitted);
    let response = match (&state.hub, state.store.snapshot()) {
        _ if !admitted => {
            state.metrics.observe_refused_connection();
            respond::overloaded()
        }
        (None, _) => respond::not_found(),
        (Some(_), _) if req.method() != Method::POST => respond::hub_post_only(),
        (Some(_), None) => respond::loading(),
        (Some(hub), Some(snapshot)) => {
            let form = req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .is_some_and(|v| {
                    v.trim()
                        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                });
            if !form {
                respond::hub_refused(
                    actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "a subscription request is a form: application/x-www-form-urlencoded",
                )
            } else {
                match hub::parse_request(&body, &snapshot) {
                    Err(refusal) => respond::hub_refused(
                        actix_web::http::StatusCode::BAD_REQUEST,
                        &refusal.to_string(),
                    ),
                    Ok(request) => match hub.submit(request) {
                        Ok(()) => respond::hub_accepted(),
                        Err(_) => respond::busy(),
                    },
                }
            }
        }
    };
    let status = response.status().as_u16();
    let bytes = match response.body().size() {
        actix_web::body::BodySize::Sized(n) => n,
        _ => 0,
    };
    state
        .metrics
        .observe_request(Kind::Hub, metrics::Format::None, status, bytes);
    response
}

/// A document request. What is ready — a rendered document in the encoding asked for — is
/// answered on the request thread; rendering and compressing run on the blocking pool, so
/// the request threads keep answering every cached document and `/healthz` while a large
/// or slow document is being made.
async fn document(req: &HttpRequest, id: Option<DocId>, shared: &Shared) -> HttpResponse {
    let Some(asked) = id else {
        return respond::not_found();
    };
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let (id, vary) = representation(&asked, negotiate::client(accept));
    let Some(snapshot) = shared.state.store.snapshot() else {
        return respond::loading();
    };
    let lookup = match snapshot.cached(&id) {
        Some(doc) => Lookup::Found(doc),
        None => {
            let Some(_permit) = shared.work.enter().await else {
                return respond::busy();
            };
            let (snapshot, id) = (Arc::clone(&snapshot), id.clone());
            match web::block(move || snapshot.document(&id)).await {
                Ok(lookup) => lookup,
                // The pool is gone: the server is shutting down.
                Err(_) => return respond::loading(),
            }
        }
    };
    if let Lookup::Found(doc) | Lookup::Degraded { document: doc, .. } = &lookup {
        let accept_encoding = req
            .headers()
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok());
        let encoding = match negotiate::choose(accept_encoding, available(doc)) {
            Coding::Brotli => Encoding::Brotli,
            Coding::Gzip => Encoding::Gzip,
            Coding::Identity => Encoding::Identity,
        };
        if !doc.has(encoding) {
            let Some(_permit) = shared.work.enter().await else {
                return respond::busy();
            };
            let doc = Arc::clone(doc);
            // A failure here only means the encoding is made inline below.
            let _ = web::block(move || doc.prepare(encoding)).await;
        }
    }
    let meta = respond::Meta {
        cache: shared.cache_control(&snapshot.config.feeds, is_full_archive(&snapshot, &id)),
        link: discovery(&snapshot.config, &asked),
        vary,
        modified: respond::Modified::of(&snapshot),
    };
    let response = answer(req, &id, lookup, meta, shared);
    if matches!(response.status().as_u16(), 200 | 304)
        && let Some(feed) = audience_scope(&id)
    {
        let headers = req.headers();
        shared.state.audience.record(
            Poll {
                feed: &feed,
                client: req.peer_addr().map(|a| a.ip()),
                user_agent: headers
                    .get(header::USER_AGENT)
                    .and_then(|v| v.to_str().ok()),
                conditional: headers.contains_key(header::IF_NONE_MATCH)
                    || headers.contains_key(header::IF_MODIFIED_SINCE),
            },
            Instant::now(),
        );
    }
    response
}

/// What to serve for a request of `asked`: a feed's URL in a feed format gives browsers the
/// feed's HTML page and readers the feed (so its representation varies with `Accept`); every
/// other document is the same for everyone.
fn representation(asked: &DocId, client: Client) -> (DocId, respond::Vary) {
    let page_of = |scope: Scope, page: Page| DocId::Feed {
        scope,
        page,
        format: documents::Format::Html,
    };
    let negotiated = match (asked, client) {
        (
            DocId::Feed {
                format: documents::Format::Html,
                ..
            },
            _,
        ) => None,
        (DocId::Feed { scope, page, .. }, Client::Browser) => Some(page_of(scope.clone(), *page)),
        (DocId::JekyllFeed(category), Client::Browser) => Some(page_of(
            category.clone().map_or(Scope::Site, Scope::Category),
            Page::Current,
        )),
        (DocId::Feed { .. } | DocId::JekyllFeed(_), Client::Reader) => Some(asked.clone()),
        _ => None,
    };
    match negotiated {
        Some(id) => (id, respond::Vary::AcceptAndEncoding),
        None => (asked.clone(), respond::Vary::Encoding),
    }
}

fn is_full_archive(snapshot: &crate::store::Snapshot, id: &DocId) -> bool {
    documents::full_archive(&snapshot.config, &snapshot.feeds, id)
}

/// The `Link` header WebSub prefers for discovery (§4): every hub, and the topic's own URL as
/// `self`, on every feed document (archive pages too); `None` without hubs.
fn discovery(config: &crate::config::Config, id: &DocId) -> Option<header::HeaderValue> {
    if !matches!(id, DocId::Feed { .. } | DocId::JekyllFeed(_)) {
        return None;
    }
    let hubs = config.advertised_hubs();
    if hubs.is_empty() {
        return None;
    }
    let mut value = String::new();
    for hub in &hubs {
        value.push_str(&format!("<{hub}>; rel=\"hub\", "));
    }
    let topic = crate::documents::feed_url(config, &id.path());
    value.push_str(&format!("<{topic}>; rel=\"self\""));
    header::HeaderValue::try_from(value).ok()
}

/// Which encodings a document is offered in.
fn available(doc: &Rendered) -> Available {
    if doc.compressible() {
        Available::Compressed
    } else {
        Available::IdentityOnly
    }
}

/// The response for what the store found.
fn answer(
    req: &HttpRequest,
    id: &DocId,
    lookup: Lookup,
    meta: respond::Meta,
    shared: &Shared,
) -> HttpResponse {
    let doc = match lookup {
        Lookup::Found(doc) => doc,
        Lookup::NotFound => return respond::not_found(),
        Lookup::Degraded { document, fault } => {
            report(
                &fault,
                id,
                "serving the last good bytes",
                &shared.state.metrics,
            );
            document
        }
        Lookup::Failed(fault) => {
            report(&fault, id, "answering 500", &shared.state.metrics);
            return respond::server_error();
        }
    };
    let headers = respond::DocumentHeaders::of(&doc);
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let outcome = conditional::decide(
        header(header::IF_NONE_MATCH),
        header(header::IF_MODIFIED_SINCE),
        headers.etag_str(),
        meta.modified.map(|m| m.at),
    );
    let coding = negotiate::choose(header(header::ACCEPT_ENCODING), available(&doc));
    respond::document(&doc, headers, meta, outcome, coding)
}

/// Logs and counts a server-side failure.
fn report(fault: &Fault, id: &DocId, then: &str, metrics: &Metrics) {
    let cause = match fault {
        Fault::Render(_) => Cause::Render,
    };
    metrics.observe_server_error(cause);
    tracing::error!(path = %id.path(), error = %fault, "{then}");
}

/// The feed a document request counts toward (any format, archives included); `None` for
/// what is not a feed.
fn audience_scope(id: &DocId) -> Option<Cow<'_, Scope>> {
    match id {
        DocId::Feed { scope, .. } => Some(Cow::Borrowed(scope)),
        DocId::JekyllFeed(None) => Some(Cow::Owned(Scope::Site)),
        DocId::JekyllFeed(Some(c)) => Some(Cow::Owned(Scope::Category(c.clone()))),
        DocId::Index | DocId::Opml => None,
    }
}

/// Bounded metric labels for a request path.
fn classify(path: &str, id: Option<&DocId>) -> (Kind, metrics::Format) {
    match path {
        "/healthz" => return (Kind::Healthz, metrics::Format::None),
        "/metrics" => return (Kind::Metrics, metrics::Format::None),
        "/stats" => return (Kind::Stats, metrics::Format::Html),
        _ => {}
    }
    match id {
        Some(DocId::Feed {
            page: Page::Current,
            format,
            ..
        }) => (Kind::Feed, (*format).into()),
        Some(DocId::Feed {
            page: Page::Archive(_),
            format,
            ..
        }) => (Kind::Archive, (*format).into()),
        Some(DocId::JekyllFeed(_)) => (Kind::Feed, metrics::Format::Atom),
        Some(DocId::Opml) => (Kind::Opml, metrics::Format::Opml),
        Some(DocId::Index) => (Kind::Index, metrics::Format::Html),
        None => (Kind::Unknown, metrics::Format::None),
    }
}

#[cfg(test)]
mod tests {
    //! How store faults become responses. No input makes the real serializers fail (see the
    //! store's tests), so these hand the mapping the lookups a failure would produce.

    use actix_web::body::MessageBody;
    use bytes::Bytes;

    use super::*;
    use crate::documents::{Document, RenderError};
    use crate::store::Rendered;

    fn shared() -> Shared {
        Shared {
            state: AppState {
                store: Arc::new(Store::new()),
                metrics: Arc::new(Metrics::new()),
                audience: Arc::default(),
                connections: Arc::default(),
                hub: None,
            },
            work: Work::new(1024),
            cache: std::sync::OnceLock::new(),
        }
    }

    fn rendered(text: &'static str) -> Arc<Rendered> {
        Arc::new(Rendered::new(Document {
            body: Bytes::from_static(text.as_bytes()),
            media_type: "text/html",
        }))
    }

    fn render_fault() -> Fault {
        let cause = serde_json::from_str::<u8>("not json").expect_err("invalid JSON");
        Fault::Render(RenderError::Json(cause))
    }

    fn respond(lookup: Lookup, shared: &Shared) -> (u16, Option<String>, Bytes) {
        let req = actix_web::test::TestRequest::default().to_http_request();
        let response = answer(
            &req,
            &DocId::Index,
            lookup,
            respond::Meta {
                cache: header::HeaderValue::from_static("public, max-age=300"),
                link: None,
                vary: respond::Vary::Encoding,
                modified: None,
            },
            shared,
        );
        let status = response.status().as_u16();
        let cache = response
            .headers()
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let nosniff = response.headers().get(header::X_CONTENT_TYPE_OPTIONS);
        assert_eq!(nosniff.and_then(|v| v.to_str().ok()), Some("nosniff"));
        let body = response.into_body().try_into_bytes().unwrap_or_default();
        (status, cache, body)
    }

    fn server_errors(metrics: &Metrics, cause: &str) -> String {
        let text = metrics.encode();
        text.lines()
            .find(|l| {
                l.starts_with(&format!(
                    "tidings_http_server_errors_total{{cause=\"{cause}\"}}"
                ))
            })
            .unwrap_or("")
            .to_owned()
    }

    #[test]
    fn a_failed_render_is_a_500_that_is_counted() {
        let shared = shared();
        let (status, cache, body) = respond(Lookup::Failed(render_fault()), &shared);
        assert_eq!(status, 500);
        assert_eq!(cache.as_deref(), Some("no-store"));
        assert!(!body.is_empty());
        assert_eq!(
            server_errors(&shared.state.metrics, "render"),
            "tidings_http_server_errors_total{cause=\"render\"} 1"
        );
    }

    #[test]
    fn degraded_lookups_serve_their_bytes_and_are_counted() {
        let shared = shared();
        let document = rendered("last good");
        let (status, cache, body) = respond(
            Lookup::Degraded {
                document: Arc::clone(&document),
                fault: render_fault(),
            },
            &shared,
        );
        assert_eq!(status, 200);
        assert_eq!(cache.as_deref(), Some("public, max-age=300"));
        assert_eq!(body, Bytes::from_static(b"last good"));
        let metrics = &shared.state.metrics;
        assert!(server_errors(metrics, "render").ends_with(" 1"));
    }

    #[test]
    fn found_and_not_found_are_not_server_errors() {
        let shared = shared();
        let (status, _, body) = respond(Lookup::Found(rendered("fine")), &shared);
        assert_eq!((status, &body[..]), (200, &b"fine"[..]));
        let (status, cache, _) = respond(Lookup::NotFound, &shared);
        assert_eq!(status, 404);
        assert_eq!(cache.as_deref(), Some("no-store"));
        assert_eq!(server_errors(&shared.state.metrics, "render"), "");
    }
}
