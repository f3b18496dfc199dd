//! Who reads which feed: the distinct pollers of each feed in a sliding window, the subscriber
//! counts aggregators announce in their `User-Agent` (`Feedly/1.0 (…; 12 subscribers)`), and
//! the share of requests that are conditional.
//!
//! No personal data outlives the window: a poller is a keyed hash of its address and
//! `User-Agent` (the key is random per process, so the hashes mean nothing elsewhere), kept
//! only while it keeps polling and forgotten once it has not been seen for a whole window.
//! Aggregators report their own audience, which is why their figures are taken as the latest
//! one each reports per feed, never summed over polls.
//!
//! Recording sits on the request path, so the state is split into shards by feed: two
//! requests lock the same shard only when they are for feeds that share one.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::feeds::Scope;

/// How long a poller counts after its last request.
pub const WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Pollers kept per feed: past this, new ones are not counted (the figure is then a floor).
const MAX_POLLERS_PER_FEED: usize = 100_000;

const SHARDS: usize = 16;

/// What kind of feed a request was for (the label of the aggregate metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FeedKind {
    /// The whole site.
    Site,
    /// One category.
    Category,
    /// One tag.
    Tag,
}

impl FeedKind {
    /// The kind of a scope's feed.
    pub fn of(scope: &Scope) -> Self {
        match scope {
            Scope::Site => FeedKind::Site,
            Scope::Category(_) => FeedKind::Category,
            Scope::Tag(_) => FeedKind::Tag,
        }
    }
}

/// One request for a feed document.
#[derive(Debug, Clone, Copy)]
pub struct Poll<'a> {
    /// The feed (any of its formats and archive pages).
    pub feed: &'a Scope,
    /// The client's address.
    pub client: Option<IpAddr>,
    /// The `User-Agent` header.
    pub user_agent: Option<&'a str>,
    /// Whether it carried `If-None-Match` or `If-Modified-Since`.
    pub conditional: bool,
}

/// The audience of one feed, as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedAudience {
    /// The feed.
    pub feed: Scope,
    /// What kind of feed.
    pub kind: FeedKind,
    /// Distinct clients seen in the window.
    pub pollers: usize,
    /// Subscribers the aggregators polling it report, each aggregator's latest figure, summed.
    pub reported: u64,
    /// Those figures by aggregator, largest first.
    pub aggregators: Vec<(String, u64)>,
    /// Requests since the service started.
    pub requests: u64,
    /// How many of them were conditional.
    pub conditional: u64,
}

#[derive(Debug, Default)]
struct Entry {
    pollers: HashMap<u64, Instant>,
    /// Aggregator → (subscribers it reported last, when).
    reported: HashMap<String, (u64, Instant)>,
    requests: u64,
    conditional: u64,
}

/// The audiences of every feed.
#[derive(Debug)]
pub struct Audience {
    shards: Vec<Mutex<HashMap<Scope, Entry>>>,
    keys: std::collections::hash_map::RandomState,
    window: Duration,
}

impl Default for Audience {
    fn default() -> Self {
        Self::new(WINDOW)
    }
}

impl Audience {
    /// Counts pollers over `window`.
    pub fn new(window: Duration) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            keys: std::collections::hash_map::RandomState::new(),
            window,
        }
    }

    fn shard(&self, feed: &Scope) -> &Mutex<HashMap<Scope, Entry>> {
        let i = (self.keys.hash_one(feed) as usize) % SHARDS;
        &self.shards[i]
    }

    /// Records one poll made at `now`.
    pub fn record(&self, poll: Poll<'_>, now: Instant) {
        // Digits are left out of the agent: an aggregator's announced subscriber count (and
        // its version) changes while it stays the same poller.
        let poller = {
            let mut h = self.keys.build_hasher();
            poll.client.hash(&mut h);
            // The runs between digits, each written whole: the hasher sees the same bytes
            // as byte by byte, at a tenth of the calls (this is on every feed request).
            for run in poll
                .user_agent
                .unwrap_or("")
                .split(|c: char| c.is_ascii_digit())
            {
                h.write(run.as_bytes());
            }
            h.finish()
        };
        let reported = poll.user_agent.and_then(reported_subscribers);
        let mut shard = self
            .shard(poll.feed)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Looked up by reference: the scope is copied once per feed, not once per request.
        let entry = match shard.get_mut(poll.feed) {
            Some(entry) => entry,
            None => shard.entry(poll.feed.clone()).or_default(),
        };
        entry.requests += 1;
        entry.conditional += u64::from(poll.conditional);
        if entry.pollers.len() < MAX_POLLERS_PER_FEED || entry.pollers.contains_key(&poller) {
            entry.pollers.insert(poller, now);
        }
        if let Some((aggregator, count)) = reported {
            entry.reported.insert(aggregator, (count, now));
        }
    }

    /// Every feed's audience as of `now`, feeds by path; pollers and reports older than the
    /// window are forgotten on the way.
    pub fn report(&self, now: Instant) -> Vec<FeedAudience> {
        let mut out = Vec::new();
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            for (feed, entry) in shard.iter_mut() {
                entry
                    .pollers
                    .retain(|_, seen| now.saturating_duration_since(*seen) < self.window);
                entry
                    .reported
                    .retain(|_, (_, seen)| now.saturating_duration_since(*seen) < self.window);
                let mut aggregators: Vec<(String, u64)> = entry
                    .reported
                    .iter()
                    .map(|(name, (count, _))| (name.clone(), *count))
                    .collect();
                aggregators.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                out.push(FeedAudience {
                    feed: feed.clone(),
                    kind: FeedKind::of(feed),
                    pollers: entry.pollers.len(),
                    reported: aggregators.iter().map(|(_, n)| n).sum(),
                    aggregators,
                    requests: entry.requests,
                    conditional: entry.conditional,
                });
            }
        }
        out.sort_by(|a, b| a.feed.cmp(&b.feed));
        out
    }
}

/// The subscriber count an aggregator announces in its `User-Agent`, with the aggregator's
/// name: `Feedly/1.0 (+http://www.feedly.com/fetcher.html; 12 subscribers)` is
/// `("Feedly", 12)`; `Mozilla/5.0 (compatible; Inoreader; 3 readers)` is `("Inoreader", 3)`.
pub fn reported_subscribers(user_agent: &str) -> Option<(String, u64)> {
    // Most agents report nothing: they are told apart without copying the header.
    let bytes = user_agent.as_bytes();
    let names_a_count = (0..bytes.len()).any(|i| {
        let rest = &bytes[i..];
        rest.get(..6)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"reader"))
            || rest
                .get(..10)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"subscriber"))
    });
    if !names_a_count {
        return None;
    }
    let lower = user_agent.to_ascii_lowercase();
    let count = ["subscribers", "subscriber", "readers", "reader"]
        .iter()
        .find_map(|word| {
            let at = lower.find(word)?;
            let digits: String = lower[..at]
                .trim_end()
                .chars()
                .rev()
                .take_while(char::is_ascii_digit)
                .collect();
            let digits: String = digits.chars().rev().collect();
            digits.parse::<u64>().ok()
        })?;
    let product = user_agent.split(['/', ' ']).next().unwrap_or("").trim();
    let name = if product.eq_ignore_ascii_case("mozilla") {
        // Browser-style agents name themselves inside the parentheses, after `compatible`.
        user_agent
            .split_once('(')
            .and_then(|(_, rest)| rest.split(')').next())
            .and_then(|inside| {
                inside
                    .split(';')
                    .map(str::trim)
                    .find(|part| !part.is_empty() && !part.eq_ignore_ascii_case("compatible"))
            })
            .unwrap_or(product)
    } else {
        product
    };
    let name: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
    (!name.is_empty()).then_some((name, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_aggregators_report() {
        for (ua, expected) in [
            (
                "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 12 subscribers; )",
                Some(("Feedly", 12)),
            ),
            (
                "Mozilla/5.0 (compatible; inoreader.com; 3 subscribers)",
                Some(("inoreader.com", 3)),
            ),
            (
                "NewsBlur Feed Fetcher - 27 subscribers - http://x",
                Some(("NewsBlur", 27)),
            ),
            ("Feedbin feed-id:1 - 1 subscriber", Some(("Feedbin", 1))),
            (
                "Mozilla/5.0 (compatible; Inoreader; 3 Readers)",
                Some(("Inoreader", 3)),
            ),
            ("newsboat/2.30", None),
            ("Mozilla/5.0 (X11; Linux x86_64)", None),
            ("weird 99999999999999999999999 subscribers", None),
        ] {
            let got = reported_subscribers(ua);
            assert_eq!(
                got.as_ref().map(|(n, c)| (n.as_str(), *c)),
                expected,
                "{ua}"
            );
        }
    }

    #[test]
    fn counts_distinct_pollers_in_the_window_and_each_aggregators_latest_figure() {
        let audience = Audience::new(Duration::from_secs(100));
        let t0 = Instant::now();
        let ip = |n: u8| Some(IpAddr::from([10, 0, 0, n]));
        let poll = |client, ua, conditional| Poll {
            feed: &Scope::Site,
            client,
            user_agent: ua,
            conditional,
        };
        audience.record(poll(ip(1), Some("newsboat/2.30"), false), t0);
        audience.record(poll(ip(1), Some("newsboat/2.30"), true), t0);
        audience.record(poll(ip(2), Some("Feedly/1.0 (5 subscribers)"), true), t0);
        audience.record(
            poll(ip(3), Some("Feedly/1.0 (7 subscribers)"), true),
            t0 + Duration::from_secs(50),
        );
        // The same aggregator with a new count is the same poller.
        audience.record(
            poll(ip(3), Some("Feedly/1.0 (8 subscribers)"), true),
            t0 + Duration::from_secs(50),
        );
        let report = audience.report(t0 + Duration::from_secs(60));
        assert_eq!(report.len(), 1);
        let site = &report[0];
        assert_eq!(site.pollers, 3);
        assert_eq!(site.reported, 8, "Feedly's latest figure, not 5 + 7 + 8");
        assert_eq!(site.aggregators, [("Feedly".to_owned(), 8)]);
        assert_eq!((site.requests, site.conditional), (5, 4));
        // A window later only the last poller is remembered.
        let later = audience.report(t0 + Duration::from_secs(120));
        assert_eq!(later[0].pollers, 1);
        assert_eq!(later[0].reported, 8);
        let much_later = audience.report(t0 + Duration::from_secs(200));
        assert_eq!((much_later[0].pollers, much_later[0].reported), (0, 0));
    }
}
