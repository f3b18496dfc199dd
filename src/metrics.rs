//! Prometheus metrics for `/metrics`.
//!
//! Label values come from small fixed sets — the enums [`Kind`], [`Format`] and [`Cause`], and
//! the status codes tidings sends — never from category or tag names, so the number of series
//! stays bounded whatever the content holds.

use std::fmt::Write;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime};

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::store::Snapshot;

/// What a request asked for, as the `kind` label.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Kind {
    /// A subscription document (including jekyll-feed's paths).
    Feed,
    /// An archive page.
    Archive,
    /// The OPML list.
    Opml,
    /// The HTML index.
    Index,
    /// `/healthz`.
    Healthz,
    /// `/metrics`.
    Metrics,
    /// `/stats`.
    Stats,
    /// The built-in WebSub hub's endpoint.
    Hub,
    /// A path that names no document.
    Unknown,
}

impl Kind {
    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Feed => "feed",
            Kind::Archive => "archive",
            Kind::Opml => "opml",
            Kind::Index => "index",
            Kind::Healthz => "healthz",
            Kind::Metrics => "metrics",
            Kind::Stats => "stats",
            Kind::Hub => "hub",
            Kind::Unknown => "unknown",
        }
    }

    /// Whether this kind is a published document, which the not-modified ratio counts.
    pub fn is_document(self) -> bool {
        !matches!(
            self,
            Kind::Healthz | Kind::Metrics | Kind::Stats | Kind::Hub | Kind::Unknown
        )
    }
}

/// The format of what a request asked for, as the `format` label.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Format {
    /// Atom.
    Atom,
    /// RSS.
    Rss,
    /// JSON Feed.
    Json,
    /// OPML.
    Opml,
    /// HTML.
    Html,
    /// Not a document.
    None,
}

impl Format {
    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Format::Atom => "atom",
            Format::Rss => "rss",
            Format::Json => "json",
            Format::Opml => "opml",
            Format::Html => "html",
            Format::None => "none",
        }
    }
}

impl From<crate::documents::Format> for Format {
    fn from(format: crate::documents::Format) -> Self {
        match format {
            crate::documents::Format::Atom => Format::Atom,
            crate::documents::Format::Rss => Format::Rss,
            crate::documents::Format::Json => Format::Json,
            crate::documents::Format::Html => Format::Html,
        }
    }
}

/// Why the server failed a request (or served last good bytes instead), as the `cause` label.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Cause {
    /// A document could not be rendered.
    Render,
}

impl Cause {
    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Cause::Render => "render",
        }
    }
}

impl EncodeLabelValue for Kind {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.label())
    }
}

impl EncodeLabelValue for Format {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.label())
    }
}

impl EncodeLabelValue for Cause {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.label())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    kind: Kind,
    format: Format,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: Kind,
    format: Format,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CauseLabels {
    cause: Cause,
}

/// What became of topics sent to a WebSub hub, as the `result` label.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum PingResult {
    /// The hub accepted them.
    Sent,
    /// The hub failed; they wait for the next attempt.
    Retried,
    /// The hub kept failing past the retry window (or the service stopped): given up.
    Dropped,
}

impl EncodeLabelValue for PingResult {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(match self {
            PingResult::Sent => "sent",
            PingResult::Retried => "retried",
            PingResult::Dropped => "dropped",
        })
    }
}

/// How one purge request ended, as the `result` label.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum PurgeRequest {
    /// The cache took it (2xx, or 404: nothing cached to drop).
    Ok,
    /// The cache refused it (any other 4xx): not retried, a configuration problem.
    Refused,
    /// No answer, a timeout, 429 or 5xx: retried.
    Failed,
}

impl EncodeLabelValue for PurgeRequest {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(match self {
            PurgeRequest::Ok => "ok",
            PurgeRequest::Refused => "refused",
            PurgeRequest::Failed => "failed",
        })
    }
}

/// What became of changed URLs queued for a cache, as the `result` label.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum PurgeResult {
    /// The cache dropped them.
    Purged,
    /// The cache failed; they wait for the next attempt.
    Retried,
    /// Given up: refused, failing past the retry window, over the queue's bound, or the
    /// service stopped.
    Dropped,
}

impl EncodeLabelValue for PurgeResult {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(match self {
            PurgeResult::Purged => "purged",
            PurgeResult::Retried => "retried",
            PurgeResult::Dropped => "dropped",
        })
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PurgeRequestLabels {
    result: PurgeRequest,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PurgeUrlLabels {
    result: PurgeResult,
}

/// What became of one delivery attempt of the built-in hub, as the `result` label.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Delivery {
    /// The subscriber took it (2xx).
    Delivered,
    /// It failed and is retried later.
    Retried,
    /// It kept failing past the delivery window: given up.
    Dropped,
}

impl EncodeLabelValue for Delivery {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(match self {
            Delivery::Delivered => "delivered",
            Delivery::Retried => "retried",
            Delivery::Dropped => "dropped",
        })
    }
}

/// How a verification of intent ended, as the `result` label.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Verification {
    /// The callback echoed the challenge.
    Confirmed,
    /// It did not (or could not be reached).
    Refused,
}

impl EncodeLabelValue for Verification {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(match self {
            Verification::Confirmed => "confirmed",
            Verification::Refused => "refused",
        })
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    result: Delivery,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerificationLabels {
    result: Verification,
}

impl EncodeLabelValue for crate::stats::FeedKind {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(match self {
            crate::stats::FeedKind::Site => "site",
            crate::stats::FeedKind::Category => "category",
            crate::stats::FeedKind::Tag => "tag",
        })
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AudienceLabels {
    kind: crate::stats::FeedKind,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PingLabels {
    result: PingResult,
}

/// Every metric the service exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    bytes: Family<KindLabels, Counter>,
    server_errors: Family<CauseLabels, Counter>,
    pings: Family<PingLabels, Counter>,
    purge_requests: Family<PurgeRequestLabels, Counter>,
    purge_urls: Family<PurgeUrlLabels, Counter>,
    pollers: Family<AudienceLabels, Gauge>,
    reported: Family<AudienceLabels, Gauge>,
    responses: Counter,
    not_modified: Counter,
    not_modified_ratio: Gauge<f64, AtomicU64>,
    rebuilds: Counter,
    rebuild_seconds: Histogram,
    posts: Gauge,
    feeds: Gauge,
    load_errors: Gauge,
    content_missing: Gauge,
    last_rebuild: Gauge<f64, AtomicU64>,
    open_connections: Gauge,
    refused_connections: Counter,
    deliveries: Family<DeliveryLabels, Counter>,
    verifications: Family<VerificationLabels, Counter>,
    subscribers: Gauge,
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
        let server_errors = Family::<CauseLabels, Counter>::default();
        let pings = Family::<PingLabels, Counter>::default();
        let purge_requests = Family::<PurgeRequestLabels, Counter>::default();
        let purge_urls = Family::<PurgeUrlLabels, Counter>::default();
        let pollers = Family::<AudienceLabels, Gauge>::default();
        let reported = Family::<AudienceLabels, Gauge>::default();
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
        let content_missing = Gauge::default();
        let last_rebuild = Gauge::<f64, AtomicU64>::default();
        let open_connections = Gauge::default();
        let refused_connections = Counter::default();
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        let verifications = Family::<VerificationLabels, Counter>::default();
        let subscribers = Gauge::default();
        registry.register(
            "websub_hub_deliveries",
            "Deliveries of the built-in WebSub hub, by result",
            deliveries.clone(),
        );
        registry.register(
            "websub_hub_verifications",
            "Verifications of intent of the built-in WebSub hub, by result",
            verifications.clone(),
        );
        registry.register(
            "websub_hub_subscriptions",
            "Live subscriptions of the built-in WebSub hub",
            subscribers.clone(),
        );
        registry.register(
            "http_open_connections",
            "Client connections open now",
            open_connections.clone(),
        );
        registry.register(
            "http_refused_connections",
            "Connections answered 503 and closed because max_connections were open",
            refused_connections.clone(),
        );
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
            "http_server_errors",
            "Server-side failures behind requests, by cause, whether the request then got \
             last good bytes or a 500",
            server_errors.clone(),
        );
        registry.register(
            "feed_pollers",
            "Distinct clients polling feeds in the last 24 hours, by kind of feed",
            pollers.clone(),
        );
        registry.register(
            "feed_reported_subscribers",
            "Subscribers aggregators report in User-Agent (latest per aggregator), by kind of feed",
            reported.clone(),
        );
        registry.register(
            "websub_topics",
            "Changed feeds told to WebSub hubs: sent, retried after a failure, or dropped",
            pings.clone(),
        );
        registry.register(
            "purge_requests",
            "Purge requests sent to caches, by result: ok, refused (4xx, not retried) or \
             failed (retried)",
            purge_requests.clone(),
        );
        registry.register(
            "purge_urls",
            "Changed URLs queued for caches: purged, retried after a failure, or dropped",
            purge_urls.clone(),
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
            "content_missing",
            "1 while the content directory cannot be read (the last good state keeps serving)",
            content_missing.clone(),
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
            server_errors,
            pings,
            purge_requests,
            purge_urls,
            pollers,
            reported,
            responses,
            not_modified,
            not_modified_ratio,
            rebuilds,
            rebuild_seconds,
            posts,
            feeds,
            load_errors,
            content_missing,
            last_rebuild,
            open_connections,
            refused_connections,
            deliveries,
            verifications,
            subscribers,
        }
    }

    /// Counts one response.
    pub fn observe_request(&self, kind: Kind, format: Format, status: u16, body_bytes: u64) {
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
        if kind.is_document() && matches!(status, 200 | 304) {
            self.responses.inc();
            if status == 304 {
                self.not_modified.inc();
            }
        }
    }

    /// Sets the audience gauges from a report: distinct pollers and reported subscribers,
    /// summed by kind of feed (never by name).
    pub fn observe_audience(&self, feeds: &[crate::stats::FeedAudience]) {
        use crate::stats::FeedKind;
        for kind in [FeedKind::Site, FeedKind::Category, FeedKind::Tag] {
            let of_kind = feeds.iter().filter(|f| f.kind == kind);
            let pollers: usize = of_kind.clone().map(|f| f.pollers).sum();
            let reported: u64 = of_kind.map(|f| f.reported).sum();
            let labels = AudienceLabels { kind };
            self.pollers.get_or_create(&labels).set(pollers as i64);
            self.reported.get_or_create(&labels).set(reported as i64);
        }
    }

    /// Counts `topics` changed feeds sent to a hub, retried, or given up.
    pub fn observe_pings(&self, result: PingResult, topics: usize) {
        self.pings
            .get_or_create(&PingLabels { result })
            .inc_by(topics as u64);
    }

    /// Counts one request to a cache.
    pub fn observe_purge_request(&self, result: PurgeRequest) {
        self.purge_requests
            .get_or_create(&PurgeRequestLabels { result })
            .inc();
    }

    /// Counts `urls` changed URLs purged, retried, or given up.
    pub fn observe_purge_urls(&self, result: PurgeResult, urls: usize) {
        self.purge_urls
            .get_or_create(&PurgeUrlLabels { result })
            .inc_by(urls as u64);
    }

    /// Records how many client connections are open.
    pub fn observe_connections(&self, open: usize) {
        self.open_connections
            .set(i64::try_from(open).unwrap_or(i64::MAX));
    }

    /// Counts a delivery attempt of the built-in hub.
    pub fn observe_delivery(&self, result: Delivery) {
        self.deliveries
            .get_or_create(&DeliveryLabels { result })
            .inc();
    }

    /// Counts a verification of intent of the built-in hub.
    pub fn observe_verification(&self, result: Verification) {
        self.verifications
            .get_or_create(&VerificationLabels { result })
            .inc();
    }

    /// Records how many subscriptions the built-in hub holds.
    pub fn observe_subscribers(&self, live: usize) {
        self.subscribers
            .set(i64::try_from(live).unwrap_or(i64::MAX));
    }

    /// Counts a connection turned away with a 503.
    pub fn observe_refused_connection(&self) {
        self.refused_connections.inc();
    }

    /// Counts one server-side failure.
    pub fn observe_server_error(&self, cause: Cause) {
        self.server_errors
            .get_or_create(&CauseLabels { cause })
            .inc();
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
        self.content_missing
            .set(i64::from(snapshot.content_error.is_some()));
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
