//! The built-in WebSub hub (`websub.hub = "builtin"`): subscribers subscribe to this site's
//! feeds at `/hub`, and each change to a feed is pushed to them, so one machine needs nothing
//! else. For internet-scale fan-out an operator points `websub.hubs` at an external hub.
//!
//! What the Recommendation asks of a hub, and where it happens here:
//! - a subscription request is checked at once ([`parse_request`]: the topic must be one of
//!   this site's feeds, the callback an http(s) URL, the secret under 200 bytes) and answered
//!   202; the hub then verifies the subscriber's intent with a GET carrying `hub.challenge`,
//!   and only a callback that echoes it is subscribed (or unsubscribed);
//! - leases are clamped into the configured bounds; a subscriber renews by subscribing again;
//!   an ended lease stops deliveries and is deleted;
//! - each delivery is the feed document as published, with its `Content-Type`, `Link:
//!   rel="hub"` and `rel="self"`, and `X-Hub-Signature: sha256=…` (HMAC of the body) when the
//!   subscriber gave a secret;
//! - a failed delivery is retried with exponential backoff until `delivery_window_seconds`,
//!   then dropped; a `410 Gone` ends the subscription.
//!
//! Work runs on a fixed pool of threads taking jobs (verifications, deliveries) as they come
//! due, with a timeout on every request: a slow or dead subscriber holds one thread for at
//! most that long, and never delays the others beyond it, nor a rebuild, nor a response.
//! Deliveries are per subscription and always send the document as it is when sent, so
//! changes that pile up while a subscriber is failing reach it as one delivery of the latest
//! bytes. Subscriptions live in memory and in SQLite ([`Subscriptions`]), which survives
//! restarts.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use hmac::{KeyInit, Mac};
use url::Url;

use super::subscriptions::{DatabaseError, Subscription, Subscriptions};
use super::{FIRST_BACKOFF, MAX_BACKOFF};
use crate::config::Config;
use crate::documents::{self, DocId};
use crate::feeds::{Page, Scope};
use crate::metrics::{Delivery, Metrics, Verification};
use crate::store::{Lookup, Snapshot, Store};

/// Threads sending verifications and deliveries.
const WORKERS: usize = 16;

/// Time for one verification or delivery, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Subscription requests waiting for verification; more are answered 503.
const MAX_WAITING_REQUESTS: usize = 10_000;

/// The Recommendation: a secret "MUST be less than 200 bytes".
const MAX_SECRET: usize = 199;

/// How often ended leases are looked for when nothing else wakes the workers.
const EXPIRY_CHECK: Duration = Duration::from_secs(60);

/// What a subscriber asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Start (or renew) a subscription.
    Subscribe,
    /// End one.
    Unsubscribe,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Subscribe => "subscribe",
            Mode::Unsubscribe => "unsubscribe",
        }
    }
}

/// A subscription request that passed the checks made before answering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubRequest {
    /// Subscribe or unsubscribe.
    pub mode: Mode,
    /// The feed, in the one spelling its documents use for `rel="self"`.
    pub topic: String,
    /// Where to verify and deliver.
    pub callback: Url,
    /// The lease asked for, if any.
    pub lease_seconds: Option<u64>,
    /// The key to sign deliveries with, if any.
    pub secret: Option<String>,
}

/// Why a request is refused with 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not subscribe or unsubscribe.
    #[error(
        "hub.mode must be subscribe or unsubscribe (this hub serves only this site's feeds, \
         and publishes them itself)"
    )]
    Mode,
    /// No usable callback.
    #[error("hub.callback must be an absolute http:// or https:// URL")]
    Callback,
    /// Not one of this site's feeds.
    #[error("hub.topic must be the URL of one of this site's feeds")]
    Topic,
    /// Not a number.
    #[error("hub.lease_seconds must be a whole number of seconds")]
    Lease,
    /// Too long.
    #[error("hub.secret must be shorter than 200 bytes")]
    Secret,
}

/// Checks a subscription request (an `application/x-www-form-urlencoded` body) against the
/// feeds of `snapshot`.
pub fn parse_request(form: &[u8], snapshot: &Snapshot) -> Result<HubRequest, Refusal> {
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in url::form_urlencoded::parse(form) {
        // The first of a repeated field counts.
        fields
            .entry(name.into_owned())
            .or_insert_with(|| value.into_owned());
    }
    let field = |name: &str| fields.get(name).map(String::as_str);
    let mode = match field("hub.mode") {
        Some("subscribe") => Mode::Subscribe,
        Some("unsubscribe") => Mode::Unsubscribe,
        _ => return Err(Refusal::Mode),
    };
    let callback = field("hub.callback")
        .and_then(|c| Url::parse(c.trim()).ok())
        .filter(|c| matches!(c.scheme(), "http" | "https") && c.host().is_some())
        .ok_or(Refusal::Callback)?;
    let topic = field("hub.topic")
        .and_then(|t| topic_of(&snapshot.config, t))
        .filter(|(id, _)| is_published(snapshot, id))
        .map(|(_, topic)| topic)
        .ok_or(Refusal::Topic)?;
    let lease_seconds = match field("hub.lease_seconds").map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(raw.parse::<u64>().map_err(|_| Refusal::Lease)?),
    };
    let secret = match field("hub.secret") {
        None | Some("") => None,
        Some(s) if s.len() > MAX_SECRET => return Err(Refusal::Secret),
        Some(s) => Some(s.to_owned()),
    };
    Ok(HubRequest {
        mode,
        topic,
        callback,
        lease_seconds,
        secret,
    })
}

/// The document a topic URL names, and the topic in the spelling the documents use, when it
/// is a subscription document under the base URL (however its path is escaped).
fn topic_of(config: &Config, raw: &str) -> Option<(DocId, String)> {
    let url = Url::parse(raw.trim()).ok()?;
    let base = &config.site.base_url;
    if url.origin() != base.origin() || url.query().is_some() {
        return None;
    }
    let below = url.path().strip_prefix(base.path())?;
    let id = DocId::parse(&format!("/{below}"))?;
    let topic = documents::feed_url(config, &id.path());
    Some((id, topic))
}

/// Whether `id` is a subscription document `snapshot` publishes.
fn is_published(snapshot: &Snapshot, id: &DocId) -> bool {
    let scope = match id {
        DocId::Feed {
            scope,
            page: Page::Current,
            ..
        } => scope.clone(),
        DocId::JekyllFeed(None) => Scope::Site,
        DocId::JekyllFeed(Some(category)) => Scope::Category(category.clone()),
        _ => return false,
    };
    snapshot.feeds.get(&scope).is_some()
}

/// Too many requests wait for verification already.
#[derive(Debug, thiserror::Error)]
#[error("too many subscription requests are waiting to be verified")]
pub struct Busy;

/// The built-in hub.
#[derive(Debug)]
pub struct Hub {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    db: Mutex<Subscriptions>,
    store: Arc<Store>,
    config: Arc<Config>,
    metrics: Arc<Metrics>,
    agent: ureq::Agent,
    /// This hub's own URL, for the `Link` header of deliveries.
    url: String,
}

/// A subscription as the workers need it.
#[derive(Debug, Clone)]
struct Lease {
    secret: Option<String>,
    expires: i64,
}

/// One subscription's delivery in progress.
#[derive(Debug)]
struct Pending {
    /// Failed attempts so far.
    attempts: u32,
    /// When the current attempt series began: past the window, it is given up.
    since: Instant,
    /// A worker is sending it now.
    sending: bool,
    /// The topic changed again while it was being sent: send once more.
    again: bool,
}

type Key = (String, String);

#[derive(Debug)]
enum Job {
    Verify(HubRequest),
    Deliver(Key),
}

#[derive(Debug, Default)]
struct State {
    /// topic → callback → lease.
    subscriptions: HashMap<String, HashMap<String, Lease>>,
    pending: HashMap<Key, Pending>,
    /// Jobs by when they are due (and arrival order among equals).
    due: BinaryHeap<Reverse<(Instant, u64)>>,
    jobs: HashMap<u64, Job>,
    next_job: u64,
    verifications: usize,
    next_expiry_check: Option<Instant>,
    stopping: bool,
}

impl State {
    fn schedule(&mut self, at: Instant, job: Job) {
        let n = self.next_job;
        self.next_job += 1;
        self.jobs.insert(n, job);
        self.due.push(Reverse((at, n)));
    }

    fn subscribers(&self) -> usize {
        self.subscriptions.values().map(HashMap::len).sum()
    }
}

impl Hub {
    /// Opens the subscription database, loads the live subscriptions and starts the workers.
    pub fn start(
        config: Arc<Config>,
        store: Arc<Store>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, DatabaseError> {
        let db = Subscriptions::open(&config.websub.hub_database)?;
        let mut state = State::default();
        for s in db.live(unix_now())? {
            state.subscriptions.entry(s.topic).or_default().insert(
                s.callback,
                Lease {
                    secret: s.secret,
                    expires: s.expires,
                },
            );
        }
        metrics.observe_subscribers(state.subscribers());
        tracing::info!(
            "WebSub hub at {}: {} subscriptions",
            config
                .builtin_hub()
                .map_or_else(String::new, |u| u.to_string()),
            state.subscribers()
        );
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            .max_idle_connections(WORKERS * 4)
            .user_agent(concat!(
                "tidings/",
                env!("CARGO_PKG_VERSION"),
                " (WebSub hub)"
            ))
            .build()
            .into();
        let url = config.builtin_hub().map_or_else(String::new, String::from);
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            wake: Condvar::new(),
            db: Mutex::new(db),
            store,
            config,
            metrics,
            agent,
            url,
        });
        for _ in 0..WORKERS {
            let shared = Arc::clone(&shared);
            let started = std::thread::Builder::new()
                .name("tidings-hub".into())
                .spawn(move || work(&shared));
            if let Err(e) = started {
                tracing::error!("cannot start a hub worker: {e}");
            }
        }
        Ok(Self { shared })
    }

    /// Queues a checked request for verification of intent. Never waits for the subscriber.
    pub fn submit(&self, request: HubRequest) -> Result<(), Busy> {
        let mut state = self.shared.lock();
        if state.verifications >= MAX_WAITING_REQUESTS {
            return Err(Busy);
        }
        state.verifications += 1;
        state.schedule(Instant::now(), Job::Verify(request));
        drop(state);
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Queues a delivery of each changed topic to each of its subscribers.
    pub fn publish(&self, topics: &[String]) {
        let (now, unix) = (Instant::now(), unix_now());
        let mut state = self.shared.lock();
        // Whether a worker has something to do now: a delivery, or a sweep of ended leases.
        let mut wake = false;
        for topic in topics {
            let Some(callbacks) = state.subscriptions.get(topic) else {
                continue;
            };
            // An ended lease gets nothing, and a sweep forgets it at once.
            let keys: Vec<Key> = callbacks
                .iter()
                .filter(|(_, lease)| lease.expires > unix)
                .map(|(c, _)| (topic.clone(), c.clone()))
                .collect();
            if keys.len() < callbacks.len() {
                state.next_expiry_check = Some(now);
                wake = true;
            }
            for key in keys {
                match state.pending.get_mut(&key) {
                    Some(p) if p.sending => p.again = true,
                    // Waiting for a retry: that attempt sends the latest bytes anyway.
                    Some(_) => {}
                    None => {
                        state.pending.insert(
                            key.clone(),
                            Pending {
                                attempts: 0,
                                since: now,
                                sending: false,
                                again: false,
                            },
                        );
                        state.schedule(now, Job::Deliver(key));
                        wake = true;
                    }
                }
            }
        }
        drop(state);
        if wake {
            self.shared.wake.notify_all();
        }
    }

    /// Stops the workers; jobs not yet done are dropped (subscriptions are kept on disk).
    /// Idle workers end at once; one in the middle of a request ends when it returns (within
    /// the request timeout), without holding up the caller: a shutdown never waits on a
    /// subscriber.
    pub fn stop(&self) {
        self.shared.lock().stopping = true;
        self.shared.wake.notify_all();
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A worker that panicked mid-update leaves maps that are still consistent enough to
        // serve: every update is a single insert or remove.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn db(&self) -> MutexGuard<'_, Subscriptions> {
        self.db
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The next job that is due, waiting for it; `None` when stopping.
    fn next_job(&self) -> Option<Job> {
        let mut state = self.lock();
        loop {
            if state.stopping {
                return None;
            }
            let now = Instant::now();
            if state.next_expiry_check.is_none_or(|t| t <= now) {
                state.next_expiry_check = Some(now + EXPIRY_CHECK);
                drop(state);
                self.expire();
                state = self.lock();
                continue;
            }
            let wait = match state.due.peek() {
                Some(Reverse((at, n))) if *at <= now => {
                    let n = *n;
                    state.due.pop();
                    match state.jobs.remove(&n) {
                        Some(job) => return Some(job),
                        None => continue,
                    }
                }
                Some(Reverse((at, _))) => *at - now,
                None => EXPIRY_CHECK,
            };
            state = self
                .wake
                .wait_timeout(state, wait)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }

    /// Forgets the subscriptions whose lease ended.
    fn expire(&self) {
        let now = unix_now();
        let mut state = self.lock();
        let mut ended = 0;
        for callbacks in state.subscriptions.values_mut() {
            let before = callbacks.len();
            callbacks.retain(|_, lease| lease.expires > now);
            ended += before - callbacks.len();
        }
        state.subscriptions.retain(|_, c| !c.is_empty());
        let subscribers = state.subscribers();
        drop(state);
        if ended > 0 {
            tracing::info!("WebSub hub: {ended} leases ended");
            if let Err(e) = self.db().expire(now) {
                tracing::error!("{e}");
            }
        }
        self.metrics.observe_subscribers(subscribers);
    }

    fn verify(&self, request: HubRequest) {
        let confirmed = self.ask_intent(&request);
        self.lock().verifications -= 1;
        let (topic, callback) = (request.topic.clone(), request.callback.to_string());
        match confirmed {
            Err(why) => {
                self.metrics.observe_verification(Verification::Refused);
                tracing::info!(
                    "WebSub hub: {} of {callback} to {topic} not confirmed: {why}",
                    request.mode.as_str()
                );
            }
            Ok(lease) => {
                self.metrics.observe_verification(Verification::Confirmed);
                match request.mode {
                    Mode::Subscribe => {
                        let subscription = Subscription {
                            topic,
                            callback,
                            secret: request.secret,
                            expires: unix_now()
                                .saturating_add(i64::try_from(lease).unwrap_or(i64::MAX)),
                        };
                        self.subscribe(subscription);
                    }
                    Mode::Unsubscribe => self.unsubscribe(&topic, &callback),
                }
            }
        }
    }

    /// Verification of intent: a GET to the callback with a fresh challenge, which the
    /// subscriber must echo in a 2xx body. The lease granted when it does.
    fn ask_intent(&self, request: &HubRequest) -> Result<u64, String> {
        let websub = &self.config.websub;
        let lease = request
            .lease_seconds
            .unwrap_or(websub.lease_default_seconds)
            .clamp(websub.lease_min_seconds, websub.lease_max_seconds);
        let challenge = challenge().map_err(|e| format!("no challenge could be drawn: {e}"))?;
        let mut url = request.callback.clone();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("hub.mode", request.mode.as_str())
                .append_pair("hub.topic", &request.topic)
                .append_pair("hub.challenge", &challenge);
            if request.mode == Mode::Subscribe {
                query.append_pair("hub.lease_seconds", &lease.to_string());
            }
        }
        let mut response = self
            .agent
            .get(url.as_str())
            .call()
            .map_err(|e| e.to_string())?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("the callback answered {status}"));
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(challenge.len() as u64 + 1024)
            .read_to_string()
            .map_err(|e| e.to_string())?;
        if body.trim_end() != challenge {
            return Err("the callback did not echo the challenge".into());
        }
        Ok(lease)
    }

    fn subscribe(&self, subscription: Subscription) {
        if let Err(e) = self.db().save(&subscription) {
            tracing::error!("{e}; the subscription lasts until the service restarts");
        }
        tracing::info!(
            "WebSub hub: {} subscribed to {} until {}",
            subscription.callback,
            subscription.topic,
            subscription.expires
        );
        let mut state = self.lock();
        state
            .subscriptions
            .entry(subscription.topic)
            .or_default()
            .insert(
                subscription.callback,
                Lease {
                    secret: subscription.secret,
                    expires: subscription.expires,
                },
            );
        let subscribers = state.subscribers();
        drop(state);
        self.metrics.observe_subscribers(subscribers);
    }

    fn unsubscribe(&self, topic: &str, callback: &str) {
        if let Err(e) = self.db().remove(topic, callback) {
            tracing::error!("{e}");
        }
        tracing::info!("WebSub hub: {callback} unsubscribed from {topic}");
        let mut state = self.lock();
        if let Some(callbacks) = state.subscriptions.get_mut(topic) {
            callbacks.remove(callback);
            if callbacks.is_empty() {
                state.subscriptions.remove(topic);
            }
        }
        state
            .pending
            .remove(&(topic.to_owned(), callback.to_owned()));
        let subscribers = state.subscribers();
        drop(state);
        self.metrics.observe_subscribers(subscribers);
    }

    fn deliver(&self, key: Key) {
        let (topic, callback) = (&key.0.clone(), &key.1.clone());
        let lease = {
            let mut state = self.lock();
            let lease = state
                .subscriptions
                .get(topic)
                .and_then(|c| c.get(callback))
                .filter(|l| l.expires > unix_now())
                .cloned();
            match (lease, state.pending.get_mut(&key)) {
                (Some(lease), Some(pending)) => {
                    pending.sending = true;
                    pending.again = false;
                    lease
                }
                _ => {
                    state.pending.remove(&key);
                    return;
                }
            }
        };
        let outcome = match self.document(topic) {
            Some((body, media_type)) => self.post(callback, topic, &body, media_type, &lease),
            // The feed is gone (its last post removed): nothing to send.
            None => Outcome::Gone,
        };
        let now = Instant::now();
        let mut state = self.lock();
        let Some(pending) = state.pending.get_mut(&key) else {
            return;
        };
        pending.sending = false;
        match outcome {
            Outcome::Delivered => {
                self.metrics.observe_delivery(Delivery::Delivered);
                if pending.again {
                    *pending = Pending {
                        attempts: 0,
                        since: now,
                        sending: false,
                        again: false,
                    };
                    state.schedule(now, Job::Deliver(key));
                    drop(state);
                    self.wake.notify_one();
                } else {
                    state.pending.remove(&key);
                }
            }
            Outcome::Gone => {
                state.pending.remove(&key);
            }
            Outcome::Unsubscribed => {
                drop(state);
                tracing::info!("WebSub hub: {callback} answered 410 Gone");
                self.unsubscribe(topic, callback);
            }
            Outcome::Failed(why) => {
                let window = Duration::from_secs(self.config.websub.delivery_window_seconds);
                if now.duration_since(pending.since) >= window {
                    state.pending.remove(&key);
                    drop(state);
                    self.metrics.observe_delivery(Delivery::Dropped);
                    tracing::warn!(
                        "WebSub hub: giving up delivering {topic} to {callback} ({why})"
                    );
                } else {
                    pending.attempts += 1;
                    let backoff = FIRST_BACKOFF
                        .saturating_mul(1 << pending.attempts.saturating_sub(1).min(16))
                        .min(MAX_BACKOFF);
                    let at = now + backoff;
                    state.schedule(at, Job::Deliver(key));
                    drop(state);
                    self.wake.notify_one();
                    self.metrics.observe_delivery(Delivery::Retried);
                    tracing::debug!(
                        "WebSub hub: delivering {topic} to {callback} failed ({why}); again in {backoff:?}"
                    );
                }
            }
        }
    }

    /// The topic's document as published now, and its media type.
    fn document(&self, topic: &str) -> Option<(bytes::Bytes, &'static str)> {
        let snapshot = self.store.snapshot()?;
        let (id, _) = topic_of(&snapshot.config, topic)?;
        if !is_published(&snapshot, &id) {
            return None;
        }
        match snapshot.document(&id) {
            Lookup::Found(doc) | Lookup::Degraded { document: doc, .. } => {
                Some((doc.identity.clone(), doc.media_type))
            }
            Lookup::NotFound | Lookup::Failed(_) => None,
        }
    }

    fn post(
        &self,
        callback: &str,
        topic: &str,
        body: &[u8],
        media_type: &str,
        lease: &Lease,
    ) -> Outcome {
        let mut request = self
            .agent
            .post(callback)
            .header("Content-Type", media_type)
            .header(
                "Link",
                format!("<{}>; rel=\"hub\", <{topic}>; rel=\"self\"", self.url),
            );
        if let Some(secret) = &lease.secret {
            request = request.header("X-Hub-Signature", signature(secret, body));
        }
        match request.send(body) {
            Ok(response) if response.status().is_success() => Outcome::Delivered,
            Ok(response) if response.status().as_u16() == 410 => Outcome::Unsubscribed,
            Ok(response) => Outcome::Failed(format!("the callback answered {}", response.status())),
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }
}

enum Outcome {
    Delivered,
    /// Nothing to deliver any more.
    Gone,
    /// The subscriber said 410: the subscription ends.
    Unsubscribed,
    Failed(String),
}

fn work(shared: &Shared) {
    while let Some(job) = shared.next_job() {
        match job {
            Job::Verify(request) => shared.verify(request),
            Job::Deliver(key) => shared.deliver(key),
        }
    }
}

/// `sha256=` and the HMAC-SHA256 of `body` under `secret`, in lower-case hex.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut text = String::with_capacity(7 + digest.len() * 2);
    text.push_str("sha256=");
    for byte in digest {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

/// 128 random bits, hex: what a subscriber must echo to prove it asked.
fn challenge() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_in_hex() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn challenges_are_fresh() {
        let (a, b) = (challenge().expect("random"), challenge().expect("random"));
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
