//! WebSub publishing (W3C Recommendation, 2018): after each rebuild, telling the configured
//! hubs exactly which feeds changed, so subscribers get new posts pushed within moments
//! instead of at their next poll.
//!
//! [`changed_topics`] decides what changed: a feed's subscription documents (every format,
//! and jekyll-feed's path) change when its newest entries or its archive count do, which is
//! known from the feeds themselves without rendering anything. [`Publisher`] sends the news:
//! one thread per hub, so a slow or dead hub never delays another, a rebuild, or a response.
//! Topics a hub has not acknowledged stay pending, merged with whatever changes next, and are
//! retried with exponential backoff for up to [`RETRY_WINDOW`]: a hub outage shorter than
//! that loses nothing. How many topics one request names is a setting
//! (`websub.topics_per_request`): most hubs take `hub.url` repeated, some one `hub.topic`.

pub mod hub;
pub mod subscriptions;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use url::Url;

use crate::config::Config;
use crate::documents::{self, DocId, Format};
use crate::feeds::{Feeds, Page, Scope};
use crate::metrics::{Metrics, PingResult};

/// How long a hub may keep failing before the topics waiting for it are given up.
pub const RETRY_WINDOW: Duration = Duration::from_secs(3600);

/// The first retry comes after this; each next one after twice as long, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Time for one notification, connection included: a hub that hangs is a failed attempt.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// The URLs of every subscription document whose bytes changed between `old` and `new`, for
/// the `scopes` a rebuild touched, sorted.
///
/// These are the feed formats and jekyll-feed's alias among [`documents::changed`]: an edit
/// deep in the archives is not news, and a feed that is gone has nothing to push (its
/// documents answer 404).
pub fn changed_topics(old: &Feeds, new: &Feeds, scopes: &[Scope], config: &Config) -> Vec<String> {
    topics(
        &documents::changed(old, new, scopes, config.feeds.limit),
        new,
        config,
    )
}

/// The WebSub topics among `changed` documents (see [`changed_topics`]), sorted.
pub fn topics(changed: &BTreeSet<DocId>, new: &Feeds, config: &Config) -> Vec<String> {
    let topics: BTreeSet<String> = changed
        .iter()
        .filter(|id| match id {
            DocId::Feed {
                scope,
                page: Page::Current,
                format,
            } => *format != Format::Html && new.get(scope).is_some(),
            DocId::JekyllFeed(None) => true,
            DocId::JekyllFeed(Some(name)) => new.categories.contains_key(name),
            DocId::Feed { .. } | DocId::Opml | DocId::Index => false,
        })
        .map(|id| documents::feed_url(config, &id.path()))
        .collect();
    topics.into_iter().collect()
}

enum Msg {
    Topics(Vec<String>),
    Stop,
}

/// Notifies every configured hub of changed topics, each from a thread of its own, and
/// hands them to the built-in hub when it runs.
#[derive(Debug, Default)]
pub struct Publisher {
    hubs: Vec<(mpsc::Sender<Msg>, JoinHandle<()>)>,
    builtin: Option<Arc<hub::Hub>>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Topics(t) => write!(f, "Topics({})", t.len()),
            Msg::Stop => f.write_str("Stop"),
        }
    }
}

impl Publisher {
    /// Starts a notifier per hub in `config.websub.hubs` (none, and no built-in hub: nothing
    /// is ever sent).
    pub fn start(config: &Config, metrics: Arc<Metrics>, builtin: Option<Arc<hub::Hub>>) -> Self {
        let hubs = config
            .websub
            .hubs
            .iter()
            .filter_map(|hub| {
                let (tx, rx) = mpsc::channel();
                let hub = hub.clone();
                let metrics = Arc::clone(&metrics);
                let per_request = config.websub.topics_per_request.max(1);
                let thread = std::thread::Builder::new()
                    .name("tidings-websub".into())
                    .spawn(move || notify_loop(&hub, per_request, &rx, &metrics));
                match thread {
                    Ok(thread) => Some((tx, thread)),
                    Err(e) => {
                        tracing::error!("cannot start the WebSub notifier: {e}");
                        None
                    }
                }
            })
            .collect();
        Self { hubs, builtin }
    }

    /// Whether any hub is configured or built in.
    pub fn has_hubs(&self) -> bool {
        !self.hubs.is_empty() || self.builtin.is_some()
    }

    /// Queues `topics` for every hub. Never waits for a hub.
    pub fn publish(&self, topics: &[String]) {
        if topics.is_empty() {
            return;
        }
        if let Some(hub) = &self.builtin {
            hub.publish(topics);
        }
        for (tx, _) in &self.hubs {
            let _ = tx.send(Msg::Topics(topics.to_vec()));
        }
    }

    /// Stops the notifiers (what is still pending is dropped, and logged).
    pub fn stop(self) {
        for (tx, _) in &self.hubs {
            let _ = tx.send(Msg::Stop);
        }
        for (_, thread) in self.hubs {
            let _ = thread.join();
        }
    }
}

/// One hub's notifier: collects topics, sends them, retries what failed.
fn notify_loop(hub: &Url, per_request: usize, rx: &mpsc::Receiver<Msg>, metrics: &Metrics) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(PING_TIMEOUT))
        .user_agent(concat!(
            "tidings/",
            env!("CARGO_PKG_VERSION"),
            " (WebSub publisher)"
        ))
        .build()
        .into();
    let mut pending: BTreeSet<String> = BTreeSet::new();
    let mut failing_since: Option<Instant> = None;
    let mut backoff = FIRST_BACKOFF;
    let mut next_try: Option<Instant> = None;
    loop {
        let wait = next_try.map_or(Duration::from_secs(3600), |t| {
            t.saturating_duration_since(Instant::now())
        });
        match rx.recv_timeout(wait) {
            Ok(Msg::Topics(topics)) => {
                pending.extend(topics);
                // What queued meanwhile goes in the same request.
                for msg in rx.try_iter() {
                    match msg {
                        Msg::Topics(more) => pending.extend(more),
                        Msg::Stop => return give_up(hub, &mut pending, metrics, "stopping"),
                    }
                }
                // While backing off, new topics wait for the next attempt.
                next_try.get_or_insert_with(Instant::now);
            }
            Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => {
                return give_up(hub, &mut pending, metrics, "stopping");
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
        if pending.is_empty() || next_try.is_some_and(|t| t > Instant::now()) {
            continue;
        }
        match ping(&agent, hub, per_request, &mut pending, metrics) {
            Ok(()) => {
                if failing_since.take().is_some() {
                    tracing::info!("WebSub hub {hub} answers again");
                }
                backoff = FIRST_BACKOFF;
                next_try = None;
            }
            Err(e) => {
                let since = *failing_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= RETRY_WINDOW {
                    give_up(hub, &mut pending, metrics, &e);
                    failing_since = None;
                    backoff = FIRST_BACKOFF;
                    next_try = None;
                } else {
                    metrics.observe_pings(PingResult::Retried, pending.len());
                    tracing::warn!(
                        "WebSub hub {hub}: {e}; {} topics wait, retrying in {backoff:?}",
                        pending.len()
                    );
                    next_try = Some(Instant::now() + backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

/// Sends every pending topic, `per_request` at a time as repeated `hub.url` (one at a time,
/// also as `hub.topic`), removing each batch the hub accepts (any 2xx); stops at the first
/// failure, leaving the rest pending.
fn ping(
    agent: &ureq::Agent,
    hub: &Url,
    per_request: usize,
    pending: &mut BTreeSet<String>,
    metrics: &Metrics,
) -> Result<(), String> {
    while !pending.is_empty() {
        let batch: Vec<String> = pending.iter().take(per_request).cloned().collect();
        let single = (per_request == 1).then(|| ("hub.topic", batch[0].as_str()));
        let form = std::iter::once(("hub.mode", "publish"))
            .chain(single)
            .chain(batch.iter().map(|t| ("hub.url", t.as_str())));
        agent
            .post(hub.as_str())
            .send_form(form)
            .map_err(|e| e.to_string())?;
        for topic in &batch {
            pending.remove(topic);
        }
        metrics.observe_pings(PingResult::Sent, batch.len());
        tracing::debug!("WebSub hub {hub} told of {} changed feeds", batch.len());
    }
    Ok(())
}

fn give_up(hub: &Url, pending: &mut BTreeSet<String>, metrics: &Metrics, why: &str) {
    if pending.is_empty() {
        return;
    }
    metrics.observe_pings(PingResult::Dropped, pending.len());
    tracing::error!(
        "WebSub hub {hub}: giving up on {} changed feeds ({why})",
        pending.len()
    );
    pending.clear();
}
