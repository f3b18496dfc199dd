//! Purging caches on change: after each rebuild, telling the caches in front of tidings
//! (Varnish, a CDN) to drop exactly the URLs whose bytes changed, so an edit is visible
//! through them at once instead of after their `max-age` — and the documents that did not
//! change stay cached.
//!
//! What changed comes from [`documents::changed`] (the same answer WebSub uses); [`targets`]
//! spells each document as the caches see it: the public path (under the base URL's path)
//! and the absolute URL. A [`Purger`] runs one thread per endpoint (`purge.endpoints`), so a
//! slow or dead cache never delays another, a rebuild, or a response. Each thread keeps a set
//! of pending URLs, bounded, to which every publish adds its own (the same URL changing twice
//! is purged once); it sends them, and keeps what failed for the next attempt, with
//! exponential backoff, for as long as a cache could still be holding an old copy (the
//! longest lifetime tidings grants a document): after that the cache has let it expire
//! itself and a purge would change nothing.
//!
//! Purges are sent after the new snapshot is published, so a cache that refetches at once
//! gets the new bytes — and once no request is still answering from the previous version
//! (up to [`SETTLE_LIMIT`]): a cache miss whose fetch began just before the publish would
//! otherwise store the old bytes right after the purge, for a whole `max-age`.

use std::any::Any;
use std::collections::BTreeSet;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use url::Url;

use crate::config::{Config, PurgeEndpoint, PurgeMode};
use crate::documents::{self, DocId};
use crate::metrics::{Metrics, PurgeRequest, PurgeResult};

/// The header a `BAN` request names its URLs in, as an anchored regular expression over
/// request targets (paths, with any query string).
pub const BAN_HEADER: &str = "X-Ban-Url";

/// The first retry comes after this; each next one after twice as long, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Time for one purge request, connection included: a cache that hangs is a failed attempt,
/// and a thread stopping waits at most this long for the request in flight.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The longest a purge waits for requests still answering from the version before the
/// change (a render in progress, a slow hub delivery): past it, the purge goes anyway.
pub const SETTLE_LIMIT: Duration = Duration::from_secs(2);

/// Anything a version of the site is held by while requests answer from it.
pub type Version = Weak<dyn Any + Send + Sync>;

/// URLs one endpoint may hold pending: far more than any rebuild changes (a site's every
/// document is a few per feed), so only a cache down through a storm of changes can reach it.
const MAX_PENDING: usize = 100_000;

/// Bytes of one `BAN` header's expression: Varnish refuses request headers over 8 KiB by
/// default (`http_req_hdr_len`).
const MAX_BAN_BYTES: usize = 4_000;

/// Query-value encoding: everything but RFC 3986's unreserved characters escaped.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One URL to purge, as caches see it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    /// The path requests use (under the base URL's path), percent-encoded: what a Varnish
    /// `PURGE` names and a `BAN` matches.
    pub path: String,
    /// The absolute public URL.
    pub url: String,
}

/// Every URL of the `changed` documents, sorted by path.
pub fn targets(config: &Config, changed: &BTreeSet<DocId>) -> Vec<Target> {
    let mut targets: Vec<Target> = changed
        .iter()
        .map(|id| {
            let url = documents::feed_url(config, &id.path());
            let path = Url::parse(&url).map_or_else(|_| id.path(), |u| u.path().to_owned());
            Target { path, url }
        })
        .collect();
    targets.sort();
    targets.dedup();
    targets
}

/// The `Host` header purges sent to a cache carry: the one the site is served under, which
/// is part of every cached object's key.
fn site_host(config: &Config) -> String {
    let url = &config.site.base_url;
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// A URL template filled in for one target: as written where the template is a URL or path
/// already (before its `?`), encoded as a query value after it.
pub fn expand(template: &str, target: &Target) -> String {
    let (head, query) = template
        .find('?')
        .map_or((template, ""), |at| template.split_at(at));
    let url = utf8_percent_encode(&target.url, QUERY_VALUE).to_string();
    let path = utf8_percent_encode(&target.path, QUERY_VALUE).to_string();
    let head = head
        .replace("{url}", &target.url)
        .replace("{path}", &target.path);
    let query = query.replace("{url}", &url).replace("{path}", &path);
    head + &query
}

/// The `BAN` expressions for `targets`, each with how many targets it covers (in order): an
/// anchored alternation of their paths, with or without a query string, no longer than
/// [`MAX_BAN_BYTES`] unless one path alone is.
pub fn ban_expressions(targets: &[Target]) -> Vec<(String, usize)> {
    const END: &str = ")([?].*)?$";
    let mut out = Vec::new();
    let mut current = String::new();
    let mut covers = 0;
    for target in targets {
        let escaped = regex_literal(&target.path);
        if covers > 0 && current.len() + 1 + escaped.len() + END.len() > MAX_BAN_BYTES {
            out.push((std::mem::take(&mut current) + END, covers));
            covers = 0;
        }
        current.push_str(if covers == 0 { "^(" } else { "|" });
        current.push_str(&escaped);
        covers += 1;
    }
    if covers > 0 {
        out.push((current + END, covers));
    }
    out
}

/// A path as a regular expression matching it alone. Paths are percent-encoded, so only a
/// few characters are special; each is put in a class (`[.]`) rather than escaped with a
/// backslash, which Varnish's ban-expression parser would take for its own escape.
fn regex_literal(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    for c in path.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '/' | '%' | '_' | '~' | '-' => out.push(c),
            // Special even inside a class; never in a percent-encoded path, and matching any
            // one character there bans a little more, never less.
            '^' | ']' | '\\' => out.push('.'),
            c => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
        }
    }
    out
}

/// How long a cache could keep serving an old copy without being told: the longest freshness
/// tidings grants any document, and the stale-while-revalidate grace after it.
fn retry_window(config: &Config) -> Duration {
    let feeds = &config.feeds;
    let fresh = feeds.max_age.max(feeds.s_maxage).max(feeds.archive_max_age);
    Duration::from_secs(u64::from(fresh) + u64::from(feeds.stale_while_revalidate))
        .max(Duration::from_secs(60))
}

/// What one endpoint's thread has to do, shared with the rebuild thread.
#[derive(Default)]
struct State {
    pending: BTreeSet<Target>,
    /// Versions replaced by the changes pending, that requests may still answer from.
    replaced: Vec<Version>,
    stop: bool,
}

struct Queue {
    state: Mutex<State>,
    wake: Condvar,
}

impl Queue {
    /// The state, even if a thread panicked holding it: a set of URLs cannot be left
    /// inconsistent by a panic.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Sends purges to every configured endpoint, each from a thread of its own.
pub struct Purger {
    endpoints: Vec<(Arc<Queue>, JoinHandle<()>)>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Purger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Purger")
            .field("endpoints", &self.endpoints.len())
            .finish()
    }
}

impl Purger {
    /// Starts a sender per endpoint in `config.purge.endpoints` (none: nothing is ever
    /// computed or sent).
    pub fn start(config: &Config, metrics: Arc<Metrics>) -> Self {
        let host = site_host(config);
        let window = retry_window(config);
        let endpoints = config
            .purge
            .endpoints
            .iter()
            .filter_map(|endpoint| {
                let queue = Arc::new(Queue {
                    state: Mutex::new(State::default()),
                    wake: Condvar::new(),
                });
                let sender = Sender {
                    endpoint: endpoint.clone(),
                    host: host.clone(),
                    window,
                    metrics: Arc::clone(&metrics),
                    agent: agent(),
                };
                let shared = Arc::clone(&queue);
                let thread = std::thread::Builder::new()
                    .name("tidings-purge".into())
                    .spawn(move || sender.run(&shared));
                match thread {
                    Ok(thread) => Some((queue, thread)),
                    Err(e) => {
                        tracing::error!(
                            "cannot start the purge sender for {:?}: {e}",
                            endpoint.mode
                        );
                        None
                    }
                }
            })
            .collect();
        Self { endpoints, metrics }
    }

    /// Whether any endpoint is configured: otherwise there is nothing to compute.
    pub fn is_active(&self) -> bool {
        !self.endpoints.is_empty()
    }

    /// Queues `targets` for every endpoint, to be sent once `replaced` (the version of the
    /// site before the change) is no longer in use. Never waits for a cache: it only takes
    /// each endpoint's lock, which its sender holds just long enough to take the set out.
    pub fn purge(&self, targets: &[Target], replaced: &Version) {
        if targets.is_empty() {
            return;
        }
        for (queue, _) in &self.endpoints {
            let mut state = queue.lock();
            // Versions no request holds any more need no waiting for.
            state.replaced.retain(|v| v.strong_count() > 0);
            state.replaced.push(Weak::clone(replaced));
            let mut dropped = 0;
            for target in targets {
                if state.pending.len() < MAX_PENDING {
                    state.pending.insert(target.clone());
                } else if !state.pending.contains(target) {
                    dropped += 1;
                }
            }
            drop(state);
            if dropped > 0 {
                self.metrics
                    .observe_purge_urls(PurgeResult::Dropped, dropped);
                tracing::warn!(
                    "purge queue full ({MAX_PENDING} URLs wait for a cache that does not \
                     answer): {dropped} changed URLs dropped; caches keep them until they expire"
                );
            }
            queue.wake.notify_one();
        }
    }

    /// Stops the senders, waiting for a request in flight (what is still pending is
    /// dropped, and logged).
    pub fn stop(self) {
        for (queue, _) in &self.endpoints {
            queue.lock().stop = true;
            queue.wake.notify_one();
        }
        for (_, thread) in self.endpoints {
            let _ = thread.join();
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(REQUEST_TIMEOUT))
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .http_status_as_error(false)
        .allow_non_standard_methods(true)
        // A purge is addressed to one cache; following a redirect would purge another.
        .max_redirects(0)
        .user_agent(concat!("tidings/", env!("CARGO_PKG_VERSION"), " (purge)"))
        .build()
        .into()
}

/// Waits until no request answers from a `replaced` version any more, at most
/// [`SETTLE_LIMIT`]. Usually at once: requests hold a version for microseconds unless they
/// render.
fn settle(replaced: &[Version]) {
    let deadline = Instant::now() + SETTLE_LIMIT;
    while replaced.iter().any(|v| v.strong_count() > 0) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// One endpoint's sender.
struct Sender {
    endpoint: PurgeEndpoint,
    host: String,
    window: Duration,
    metrics: Arc<Metrics>,
    agent: ureq::Agent,
}

/// Why a batch stopped: the targets not yet purged, and what went wrong.
struct Unsent {
    rest: Vec<Target>,
    error: String,
}

impl Sender {
    fn run(&self, queue: &Queue) {
        let mut failing_since: Option<Instant> = None;
        let mut backoff = FIRST_BACKOFF;
        let mut next_try: Option<Instant> = None;
        loop {
            let (batch, replaced): (Vec<Target>, Vec<Version>) = {
                let mut state = queue.lock();
                loop {
                    if state.stop {
                        let left = state.pending.len();
                        drop(state);
                        self.give_up(left, "stopping");
                        return;
                    }
                    let now = Instant::now();
                    let due = next_try.is_none_or(|at| at <= now);
                    if due && !state.pending.is_empty() {
                        break;
                    }
                    state = match next_try.filter(|_| !due) {
                        Some(at) => {
                            queue
                                .wake
                                .wait_timeout(state, at - now)
                                .unwrap_or_else(PoisonError::into_inner)
                                .0
                        }
                        None => queue
                            .wake
                            .wait(state)
                            .unwrap_or_else(PoisonError::into_inner),
                    };
                }
                (
                    std::mem::take(&mut state.pending).into_iter().collect(),
                    std::mem::take(&mut state.replaced),
                )
            };
            settle(&replaced);
            let unsent = self.send(batch, queue);
            let stopped = queue.lock().stop;
            if stopped && let Some(Unsent { rest, .. }) = &unsent {
                // Left for the top of the loop to give up on, with everything else pending.
                queue.lock().pending.extend(rest.iter().cloned());
                continue;
            }
            match unsent {
                None => {
                    if failing_since.take().is_some() {
                        tracing::info!("purge endpoint {} answers again", self.name());
                    }
                    backoff = FIRST_BACKOFF;
                    next_try = None;
                }
                Some(Unsent { rest, error }) => {
                    let since = *failing_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= self.window {
                        self.give_up(rest.len(), &error);
                        failing_since = None;
                        backoff = FIRST_BACKOFF;
                        next_try = None;
                    } else {
                        self.metrics
                            .observe_purge_urls(PurgeResult::Retried, rest.len());
                        tracing::warn!(
                            "purge endpoint {}: {error}; {} URLs wait, retrying in {backoff:?}",
                            self.name(),
                            rest.len()
                        );
                        queue.lock().pending.extend(rest);
                        next_try = Some(Instant::now() + backoff);
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                }
            }
        }
    }

    /// The endpoint as the operator wrote it, for log lines (its headers, which may hold
    /// secrets, left out).
    fn name(&self) -> String {
        match &self.endpoint.mode {
            PurgeMode::Purge(url) => format!("PURGE {url}"),
            PurgeMode::Ban(url) => format!("BAN {url}"),
            PurgeMode::Template { method, template } => format!("{method} {template}"),
        }
    }

    fn give_up(&self, urls: usize, why: &str) {
        if urls == 0 {
            return;
        }
        self.metrics.observe_purge_urls(PurgeResult::Dropped, urls);
        tracing::error!(
            "purge endpoint {}: giving up on {urls} changed URLs ({why}); caches keep them \
             until they expire",
            self.name()
        );
    }

    /// Sends `batch` in order, stopping at the first failure worth retrying, or when the
    /// service stops (a batch to a slow cache can take long); `None` when nothing is left.
    fn send(&self, batch: Vec<Target>, queue: &Queue) -> Option<Unsent> {
        let stopping = || queue.lock().stop;
        match &self.endpoint.mode {
            PurgeMode::Ban(cache) => {
                let mut sent = 0;
                for (expression, covers) in ban_expressions(&batch) {
                    if stopping() {
                        return Some(Unsent {
                            rest: batch[sent..].to_vec(),
                            error: "stopping".to_owned(),
                        });
                    }
                    let request = ureq::http::Request::builder()
                        .method("BAN")
                        .uri(cache.as_str())
                        .header("Host", &self.host)
                        .header(BAN_HEADER, &expression);
                    if let Err(error) = self.one(request, &batch[sent..sent + covers]) {
                        return Some(Unsent {
                            rest: batch[sent..].to_vec(),
                            error,
                        });
                    }
                    sent += covers;
                }
                None
            }
            PurgeMode::Purge(cache) => {
                let origin = cache.as_str().trim_end_matches('/');
                self.each(batch, stopping, |target| {
                    ureq::http::Request::builder()
                        .method("PURGE")
                        .uri(format!("{origin}{}", target.path))
                        .header("Host", &self.host)
                })
            }
            PurgeMode::Template { method, template } => self.each(batch, stopping, |target| {
                ureq::http::Request::builder()
                    .method(method.as_str())
                    .uri(expand(template, target))
            }),
        }
    }

    /// One request per target.
    fn each(
        &self,
        batch: Vec<Target>,
        stopping: impl Fn() -> bool,
        request: impl Fn(&Target) -> ureq::http::request::Builder,
    ) -> Option<Unsent> {
        for (i, target) in batch.iter().enumerate() {
            if stopping() {
                return Some(Unsent {
                    rest: batch[i..].to_vec(),
                    error: "stopping".to_owned(),
                });
            }
            if let Err(error) = self.one(request(target), std::slice::from_ref(target)) {
                return Some(Unsent {
                    rest: batch[i..].to_vec(),
                    error,
                });
            }
        }
        None
    }

    /// Sends one request covering `targets`. `Err` when it is worth retrying; a refusal is
    /// given up at once (retrying cannot change the answer).
    fn one(
        &self,
        mut request: ureq::http::request::Builder,
        targets: &[Target],
    ) -> Result<(), String> {
        for (name, value) in &self.endpoint.headers {
            request = request.header(name, value);
        }
        // An empty body of known length: `Content-Length: 0`, which a POST to an API needs
        // (and nothing else minds), rather than an empty chunked body.
        let empty: &[u8] = &[];
        let request = request.body(empty).map_err(|e| e.to_string())?;
        let target = request.uri().to_string();
        let status = match self.agent.run(request) {
            Ok(response) => response.status().as_u16(),
            Err(e) => {
                self.metrics.observe_purge_request(PurgeRequest::Failed);
                return Err(e.to_string());
            }
        };
        match status {
            // A 404 is a cache with nothing stored under that URL: nothing to drop.
            200..=299 | 404 => {
                self.metrics.observe_purge_request(PurgeRequest::Ok);
                self.metrics
                    .observe_purge_urls(PurgeResult::Purged, targets.len());
                tracing::debug!("purged {} URLs at {}", targets.len(), self.name());
                Ok(())
            }
            429 | 500..=599 => {
                self.metrics.observe_purge_request(PurgeRequest::Failed);
                Err(format!("{target} answered {status}"))
            }
            _ => {
                self.metrics.observe_purge_request(PurgeRequest::Refused);
                self.metrics
                    .observe_purge_urls(PurgeResult::Dropped, targets.len());
                tracing::error!(
                    "purge endpoint {}: {target} refused with {status}; not retried (is this \
                     host allowed to purge?)",
                    self.name()
                );
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::Scope;

    fn config(base: &str) -> Config {
        let mut config = Config::defaults();
        config.site.base_url = Url::parse(base).unwrap();
        config
    }

    #[test]
    fn targets_are_public_paths_and_urls_in_order() {
        let config = config("https://example.org/blog/");
        let ids: BTreeSet<DocId> = [
            DocId::Index,
            DocId::current(Scope::Category("山西 news".into()), documents::Format::Atom),
            DocId::JekyllFeed(None),
        ]
        .into();
        let targets = targets(&config, &ids);
        let paths: Vec<&str> = targets.iter().map(|t| t.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/blog/",
                "/blog/category/%E5%B1%B1%E8%A5%BF%20news.atom",
                "/blog/feed.xml"
            ]
        );
        assert_eq!(targets[2].url, "https://example.org/blog/feed.xml");
        assert_eq!(site_host(&config), "example.org");
        assert_eq!(
            site_host(&self::config("http://127.0.0.1:8080/")),
            "127.0.0.1:8080"
        );
    }

    #[test]
    fn templates_encode_what_stands_in_a_query() {
        let target = Target {
            path: "/category/a%2Fb.atom".into(),
            url: "https://example.org/category/a%2Fb.atom".into(),
        };
        assert_eq!(
            expand("https://api.example/purge?url={url}&p={path}", &target),
            "https://api.example/purge?url=https%3A%2F%2Fexample.org%2Fcategory%2Fa%252Fb.atom\
             &p=%2Fcategory%2Fa%252Fb.atom"
        );
        assert_eq!(expand("{url}", &target), target.url);
        assert_eq!(
            expand("https://cdn.example/zone/7{path}", &target),
            "https://cdn.example/zone/7/category/a%2Fb.atom"
        );
    }

    #[test]
    fn ban_expressions_match_exactly_the_paths_and_stay_short() {
        let targets: Vec<Target> = ["/", "/feed.atom", "/tag/c%2B%2B.rss"]
            .iter()
            .map(|p| Target {
                path: (*p).into(),
                url: format!("http://x{p}"),
            })
            .collect();
        assert_eq!(
            ban_expressions(&targets),
            [(
                "^(/|/feed[.]atom|/tag/c%2B%2B[.]rss)([?].*)?$".to_owned(),
                3
            )]
        );
        let many: Vec<Target> = (0..1000)
            .map(|i| Target {
                path: format!("/category/n{i}.atom"),
                url: String::new(),
            })
            .collect();
        let expressions = ban_expressions(&many);
        assert!(expressions.len() > 1);
        assert!(expressions.iter().all(|(e, _)| e.len() <= MAX_BAN_BYTES));
        let covered: usize = expressions.iter().map(|(_, n)| n).sum();
        assert_eq!(covered, many.len());
    }
}
