//! Prometheus metrics for `/metrics`.
//!
//! Label values come from small fixed sets (document kind, format, status code), never from
//! category or tag names, so the number of series stays bounded whatever the content holds.

use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::store::Snapshot;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    kind: &'static str,
    format: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
    format: &'static str,
}

/// Every metric the service exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    bytes: Family<KindLabels, Counter>,
    responses: Counter,
    not_modified: Counter,
    not_modified_ratio: Gauge<f64, AtomicU64>,
    rebuilds: Counter,
    rebuild_seconds: Histogram,
    posts: Gauge,
    feeds: Gauge,
    load_errors: Gauge,
    last_rebuild: Gauge<f64, AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tidings");
        let requests = Family::<RequestLabels, Counter>::default();
        let bytes = Family::<KindLabels, Counter>::default();
        let responses = Counter::default();
        let not_modified = Counter::default();
        let not_modified_ratio = Gauge::<f64, AtomicU64>::default();
        let rebuilds = Counter::default();
        // 0.5 ms to ~16 s: a one-post rebuild and a full load of a large site both land
        // inside the range.
        let rebuild_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        let posts = Gauge::default();
        let feeds = Gauge::default();
        let load_errors = Gauge::default();
        let last_rebuild = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "http_requests",
            "HTTP requests by document kind, format and status",
            requests.clone(),
        );
        registry.register(
            "http_response_body_bytes",
            "Body bytes sent, by document kind and format",
            bytes.clone(),
        );
        registry.register(
            "http_not_modified_ratio",
            "Share of successful document responses that were 304 Not Modified",
            not_modified_ratio.clone(),
        );
        registry.register("rebuilds", "Rebuilds published", rebuilds.clone());
        registry.register(
            "rebuild_duration_seconds",
            "Time from a change being noticed to its snapshot being published",
            rebuild_seconds.clone(),
        );
        registry.register("posts", "Posts loaded", posts.clone());
        registry.register("feeds", "Feeds published", feeds.clone());
        registry.register(
            "load_errors",
            "Files that fail to load",
            load_errors.clone(),
        );
        registry.register(
            "last_rebuild_timestamp_seconds",
            "Unix time of the last published rebuild",
            last_rebuild.clone(),
        );
        Self {
            registry,
            requests,
            bytes,
            responses,
            not_modified,
            not_modified_ratio,
            rebuilds,
            rebuild_seconds,
            posts,
            feeds,
            load_errors,
            last_rebuild,
        }
    }

    /// Counts one response.
    pub fn observe_request(
        &self,
        kind: &'static str,
        format: &'static str,
        status: u16,
        body_bytes: u64,
    ) {
        self.requests
            .get_or_create(&RequestLabels {
                kind,
                format,
                status,
            })
            .inc();
        self.bytes
            .get_or_create(&KindLabels { kind, format })
            .inc_by(body_bytes);
        let is_document = !matches!(kind, "healthz" | "metrics" | "unknown");
        if is_document && matches!(status, 200 | 304) {
            self.responses.inc();
            if status == 304 {
                self.not_modified.inc();
            }
        }
    }

    /// Records a published rebuild.
    pub fn observe_rebuild(&self, took: Duration, snapshot: &Snapshot) {
        self.rebuilds.inc();
        self.rebuild_seconds.observe(took.as_secs_f64());
        self.observe_snapshot(snapshot);
    }

    /// Updates the gauges that describe the published site.
    pub fn observe_snapshot(&self, snapshot: &Snapshot) {
        self.posts.set(snapshot.posts as i64);
        self.feeds.set(snapshot.feeds.len() as i64);
        self.load_errors.set(snapshot.errors.len() as i64);
        let at = snapshot
            .published_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        self.last_rebuild.set(at);
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let total = self.responses.get();
        if total > 0 {
            self.not_modified_ratio
                .set(self.not_modified.get() as f64 / total as f64);
        }
        let mut out = String::new();
        // Encoding into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
