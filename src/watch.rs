//! The watcher: notices changes under the content directory and drives rebuilds.
//!
//! One thread owns the [`Catalog`]. It does the first load, then waits for debounced file
//! events (notify with notify-debouncer-full; or, in poll mode for file systems that send no
//! events, its own timer for a rescan) or for the moment the next future-dated post is due,
//! and publishes a new snapshot when something a reader can see changed.
//!
//! Events are interpreted conservatively. A path that may be a post is re-read (and compared
//! by content hash, so a `touch` changes nothing). Anything the watcher cannot account for —
//! a folder created, moved or deleted, an overflowed event queue, a watcher error — triggers a
//! rescan, which compares every file's size and modification and status-change times and
//! re-reads only those that differ. Editors save in many ways (write in place, write a
//! temporary file and rename it, rename the old file to a backup, delete and recreate); each of
//! them ends as events on the post's own path or on its folder, and both paths lead to the
//! files on disk.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use notify::Event;
use notify::RecursiveMode;
use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind, RenameMode};

use crate::config::{Config, WatchMode};
use crate::documents;
use crate::files;
use crate::load::{Catalog, Delta};
use crate::metrics::Metrics;
use crate::purge::{self, Purger};
use crate::store::{Snapshot, Store};
use crate::websub::hub::Hub;
use crate::websub::{self, Publisher};

/// Why watching could not start.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The content directory cannot be resolved.
    #[error("cannot watch {path}: {source}")]
    Root {
        /// The content directory.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The operating system's watcher refused.
    #[error("cannot watch {path}: {source}")]
    Notify {
        /// The content directory.
        path: PathBuf,
        /// What notify said.
        source: notify::Error,
    },
    /// The rebuild thread could not be started.
    #[error("cannot start the rebuild thread: {0}")]
    Thread(std::io::Error),
}

enum Msg {
    Event(notify::Result<Event>),
    /// Someone asked for a full rescan (SIGHUP).
    Rescan,
    Stop,
}

/// Asks a running [`Watcher`] for a full rescan, from any thread.
#[derive(Debug, Clone)]
pub struct Rescanner(mpsc::Sender<Msg>);

impl Rescanner {
    /// Queues a rescan of the whole content directory (a no-op once the watcher stopped).
    pub fn rescan(&self) {
        let _ = self.0.send(Msg::Rescan);
    }
}

/// The running watcher and rebuild thread. Stops when dropped.
pub struct Watcher {
    tx: mpsc::Sender<Msg>,
    thread: Option<JoinHandle<()>>,
}

impl Watcher {
    /// Starts watching `config.content_dir` and loading it in the background. The store
    /// publishes its first snapshot when the initial load is done.
    pub fn start(
        config: Arc<Config>,
        store: Arc<Store>,
        metrics: Arc<Metrics>,
        hub: Option<Arc<Hub>>,
    ) -> Result<Self, WatchError> {
        let sink_config = Arc::clone(&config);
        Self::start_with(config, None, move || ServerSink {
            publisher: Some(Publisher::start(&sink_config, Arc::clone(&metrics), hub)),
            purger: Some(Purger::start(&sink_config, Arc::clone(&metrics))),
            store,
            metrics,
        })
    }

    /// Starts watching `config.content_dir` and rebuilding into the sink `make` makes (on
    /// the rebuild thread). `catalog` is the first load when the caller did it already;
    /// otherwise the rebuild thread loads the content first.
    pub fn start_with<S: Sink>(
        config: Arc<Config>,
        catalog: Option<Catalog>,
        make: impl FnOnce() -> S + Send + 'static,
    ) -> Result<Self, WatchError> {
        // A content directory that is not there at start is an error to report now; later it
        // may come and go, and the rebuild thread follows it.
        config
            .content_dir
            .canonicalize()
            .map_err(|source| WatchError::Root {
                path: config.content_dir.clone(),
                source,
            })?;
        let (tx, rx) = mpsc::channel();
        let events = tx.clone();
        let thread = std::thread::Builder::new()
            .name("tidings-rebuild".into())
            .spawn(move || {
                let mut sink = make();
                rebuild_loop(config, catalog, &mut sink, events, rx);
                sink.stop();
            })
            .map_err(WatchError::Thread)?;
        Ok(Self {
            tx,
            thread: Some(thread),
        })
    }

    /// A handle that asks for a full rescan.
    pub fn rescanner(&self) -> Rescanner {
        Rescanner(self.tx.clone())
    }

    /// Stops watching and waits for a rebuild in progress to finish.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.tx.send(Msg::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The operating system's watcher on `root`, sending each event as it comes: the rebuild
/// loop decides itself when a change is complete (see [`Pending`]).
fn start_watcher(root: &Path, tx: mpsc::Sender<Msg>) -> Result<Box<dyn Send>, WatchError> {
    use notify::Watcher as _;
    let err = |source| WatchError::Notify {
        path: root.to_owned(),
        source,
    };
    let mut watcher = notify::recommended_watcher(move |result: notify::Result<Event>| {
        let _ = tx.send(Msg::Event(result));
    })
    .map_err(err)?;
    watcher.watch(root, RecursiveMode::Recursive).map_err(err)?;
    Ok(Box::new(watcher))
}

/// Events received and not applied yet.
///
/// A debounce window is not free latency: most changes are one file written and closed, or
/// renamed into place whole, and are applied the moment that event arrives. Only a batch with
/// a path whose writer may not be done — created or written to but not yet closed, renamed
/// away or deleted (an editor's save that moves the old file aside first must not publish the
/// post as deleted) — or a burst (events while the previous batch was applied moments ago, as
/// in a `git checkout`), or a folder change, waits until events stop for `debounce_ms`.
#[derive(Debug, Default)]
struct Pending {
    work: Work,
    /// Paths whose latest event leaves them possibly incomplete.
    unsettled: HashSet<String>,
    /// Something only a quiet moment settles (a folder event, an overflow).
    wait_for_quiet: bool,
    /// When the batch's first event arrived (and, on the wall clock, when it was taken).
    first: Option<(Instant, DateTime<Utc>)>,
    /// When the latest event arrived.
    last: Option<Instant>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// Notes that an event arrived now.
    fn arrived(&mut self, now: Instant) {
        if self.first.is_none() {
            self.first = Some((now, Utc::now()));
        }
        self.last = Some(now);
    }

    /// Whether to apply the batch now: everything in it is complete and it is not part of a
    /// burst, or events have stopped for `quiet`. `applied` is when the previous batch was.
    fn ready(&self, now: Instant, quiet: Duration, applied: Option<Instant>) -> bool {
        let (Some((first, _)), Some(last)) = (self.first, self.last) else {
            return false;
        };
        let burst = applied.is_some_and(|a| first.saturating_duration_since(a) < quiet);
        now.saturating_duration_since(last) >= quiet
            || (self.unsettled.is_empty() && !self.wait_for_quiet && !burst)
    }

    /// How long until the batch is ready by quiet alone.
    fn wait(&self, now: Instant, quiet: Duration) -> Option<Duration> {
        self.last
            .map(|last| (last + quiet).saturating_duration_since(now))
    }
}

/// What a batch of events asks for.
#[derive(Debug, Default, PartialEq, Eq)]
struct Work {
    paths: Vec<String>,
    rescan: bool,
}

/// Where rebuilds go: the server's store, or a static export. The rebuild loop — the
/// watcher, debouncing, polling, rescans, scheduled posts, the content directory coming and
/// going — is the same for both.
pub trait Sink: 'static {
    /// The first load is done: `took` is how long it took.
    fn loaded(&mut self, catalog: &Catalog, took: Duration);
    /// The catalog changed by `delta` (which changed what a reader may see, or what the
    /// operator is told: errors, post counts, the content directory). `noticed` is when the
    /// change was noticed; `rescan` whether it came from a rescan.
    fn rebuilt(&mut self, catalog: &Catalog, delta: &Delta, rescan: bool, noticed: Instant);
    /// Every change made to the content before `until` has been handed to the sink.
    fn observed(&mut self, until: DateTime<Utc>) {
        let _ = until;
    }
    /// Whether a change that moves only the content's date (a file touched) is a rebuild:
    /// for a server, whose `Last-Modified` all replicas must agree on, it is.
    fn dates_matter(&self) -> bool {
        false
    }
    /// The watcher stops.
    fn stop(&mut self) {}
}

/// The server's sink: publishes to the store, counts in metrics, tells WebSub hubs and
/// caches what changed.
struct ServerSink {
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    /// Until the watcher stops.
    publisher: Option<Publisher>,
    /// Until the watcher stops.
    purger: Option<Purger>,
}

impl ServerSink {
    /// Tells hubs and caches of the documents whose bytes differ between `before` and
    /// `after`. Computed only when someone listens; neither waits for the network.
    fn tell(&self, before: &Arc<Snapshot>, after: &Snapshot, delta: &Delta) {
        let publisher = self.publisher.as_ref().filter(|p| p.has_hubs());
        let purger = self.purger.as_ref().filter(|p| p.is_active());
        if publisher.is_none() && purger.is_none() {
            return;
        }
        let config = &after.config;
        let changed = documents::changed(
            &before.feeds,
            &after.feeds,
            &delta.scopes,
            config.feeds.limit,
        );
        if let Some(publisher) = publisher {
            publisher.publish(&websub::topics(&changed, &after.feeds, config));
        }
        if let Some(purger) = purger {
            let replaced: Weak<Snapshot> = Arc::downgrade(before);
            let replaced: purge::Version = replaced;
            purger.purge(&purge::targets(config, &changed), &replaced);
        }
    }
}

impl Sink for ServerSink {
    fn loaded(&mut self, catalog: &Catalog, took: Duration) {
        let snapshot = self.store.publish(catalog, None);
        self.metrics.observe_rebuild(took, &snapshot);
        tracing::info!(
            posts = snapshot.posts,
            feeds = snapshot.feeds.len(),
            errors = snapshot.errors.len(),
            ms = took.as_millis() as u64,
            "loaded {}",
            catalog.config().content_dir.display()
        );
        for e in snapshot.errors.iter() {
            tracing::warn!("{e}");
        }
    }

    fn rebuilt(&mut self, catalog: &Catalog, delta: &Delta, rescan: bool, noticed: Instant) {
        let before = self.store.snapshot();
        let snapshot = self.store.publish(catalog, Some(delta));
        // Hubs and caches hear of a change once it is served (a cache refetching at once
        // gets the new bytes), and only of documents whose bytes changed.
        if let Some(before) = before {
            self.tell(&before, &snapshot, delta);
        }
        let took = noticed.elapsed();
        self.metrics.observe_rebuild(took, &snapshot);
        log_rebuild(delta, rescan, took, snapshot.errors.len());
    }

    fn observed(&mut self, until: DateTime<Utc>) {
        self.store.observed(until);
    }

    fn dates_matter(&self) -> bool {
        true
    }

    fn stop(&mut self) {
        if let Some(purger) = self.purger.take() {
            purger.stop();
        }
        if let Some(publisher) = self.publisher.take() {
            publisher.stop();
        }
    }
}

fn rebuild_loop(
    config: Arc<Config>,
    catalog: Option<Catalog>,
    sink: &mut impl Sink,
    events: mpsc::Sender<Msg>,
    rx: mpsc::Receiver<Msg>,
) {
    let mut catalog = match catalog {
        Some(catalog) => catalog,
        None => {
            let started = Instant::now();
            let looked = Utc::now();
            let catalog = Catalog::load(Arc::clone(&config), looked);
            sink.loaded(&catalog, started.elapsed());
            sink.observed(looked);
            catalog
        }
    };

    // The OS watcher starts after the initial load, not before: on Linux every file the load
    // opens is an inotify event, and 100,000 of them overflow the kernel's queue and cost more
    // than the load itself. A rescan right after it starts catches whatever changed during the
    // load, comparing sizes and modification times only.
    let mut watched = Watched::arm(&config, &events);
    if config.server.watch != WatchMode::Off {
        let mut catch_up = Work {
            rescan: true,
            ..Work::default()
        };
        let looked = Utc::now();
        rebuild(&mut catalog, &mut catch_up, Instant::now(), sink);
        sink.observed(looked);
    }
    // How long a change may take to reach the rebuild thread as an event: scheduling slack
    // (events are taken as they come; a batch waiting to settle holds the horizon itself).
    let event_delay = Duration::from_millis(250);
    let quiet = Duration::from_millis(config.server.debounce_ms.max(1));
    let mut pending = Pending::default();
    let mut applied: Option<Instant> = None;

    // Polling rescans on a timer instead of listening for events. It is the catalog's own
    // rescan rather than notify's poll watcher, which compares modification times in whole
    // seconds (missing a second save within the same second) unless it reads every file on
    // every poll; the rescan compares exact times and sizes and reads only what changed.
    let poll_period = Duration::from_millis(config.server.poll_interval_ms.max(10));
    let mut next_poll = watched.polls().then(|| Instant::now() + poll_period);
    loop {
        let mut wait = catalog
            .next_publication()
            .and_then(|at| (at - Utc::now()).to_std().ok())
            .map(|d| d + Duration::from_millis(1))
            // Wake up now and then regardless: cheap, and it bounds the damage of a clock
            // jump on the time a scheduled post waits.
            .unwrap_or(Duration::from_secs(60))
            .min(Duration::from_secs(60));
        if let Some(at) = next_poll {
            wait = wait.min(at.saturating_duration_since(Instant::now()));
        }
        if !matches!(watched, Watched::Off) {
            // No event says that the content directory came back, or that another one was
            // renamed into its place (the OS watcher follows the old one wherever it went):
            // look now and then, at the cost of a stat.
            wait = wait.min(ROOT_CHECK);
        }
        if let Some(settle) = pending.wait(Instant::now(), quiet) {
            wait = wait.min(settle);
        }
        let first = match rx.recv_timeout(wait) {
            Ok(msg) => Some(msg),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let noticed = Instant::now();
        let looked = Utc::now();
        let mut work = Work::default();
        if let Some(at) = next_poll
            && noticed >= at
        {
            work.rescan = true;
            next_poll = Some(noticed + poll_period);
        }
        let mut msgs: Vec<Msg> = first.into_iter().collect();
        // Whatever else queued up meanwhile is handled in the same rebuild.
        msgs.extend(rx.try_iter());
        for msg in msgs {
            match msg {
                Msg::Stop => return,
                Msg::Rescan => work.rescan = true,
                Msg::Event(Ok(event)) => {
                    // Late events from a watcher that is gone have nothing to re-read.
                    if let Some(root) = watched.root() {
                        pending.arrived(noticed);
                        classify(root, &event, &catalog, &mut pending);
                    }
                }
                Msg::Event(Err(e)) => {
                    tracing::warn!("watcher error, rescanning: {e}");
                    work.rescan = true;
                }
            }
        }
        // The content directory may have been deleted, recreated or swapped for another
        // (`mv new content`): the OS watcher still watches the old one, if any. Then watch
        // whatever is there now and rescan it, so the feeds converge to what a fresh start
        // would serve.
        if watched.is_stale(&config) {
            // The old OS watcher goes first: the new one may watch the same path.
            drop(std::mem::replace(&mut watched, Watched::Missing));
            watched = Watched::arm(&config, &events);
            match &watched {
                Watched::Missing => tracing::warn!(
                    "the content directory {} is gone; serving the last good state until it is back",
                    config.content_dir.display()
                ),
                _ => tracing::info!(
                    "the content directory {} was replaced; watching the new one",
                    config.content_dir.display()
                ),
            }
            work.rescan = true;
            if next_poll.is_none() && watched.polls() {
                next_poll = Some(noticed + poll_period);
            }
        }
        // Nothing to re-read is still a rebuild when a scheduled post is due; otherwise (most
        // wake-ups only look at the content directory's identity) there is nothing to do.
        let due = catalog
            .next_publication()
            .is_some_and(|at| at <= Utc::now());
        // Events wait until their batch is complete; anything else that asks for a rebuild
        // takes the waiting events along.
        let urgent = work.rescan || due;
        let take = !pending.is_empty() && (urgent || pending.ready(Instant::now(), quiet, applied));
        if take {
            let batch = std::mem::take(&mut pending);
            work.rescan |= batch.work.rescan;
            work.paths.extend(batch.work.paths);
        }
        // What this wake-up has certainly seen: with events, every change old enough to have
        // arrived as one, but nothing since the first of a batch still waiting; on a timer,
        // only what a rescan walked.
        let seen = match &watched {
            Watched::Native { .. } => Some(match pending.first {
                Some((_, at)) => at.min(looked) - event_delay,
                None => looked - event_delay,
            }),
            _ => work.rescan.then_some(looked),
        };
        if work.rescan || !work.paths.is_empty() || due {
            rebuild(&mut catalog, &mut work, noticed, sink);
            if take {
                applied = Some(Instant::now());
            }
        }
        if let Some(seen) = seen {
            sink.observed(seen);
        }
    }
}

/// How often the watcher checks that the content directory is still the one it watches.
const ROOT_CHECK: Duration = Duration::from_millis(500);

/// What is being watched: the content directory as it was when watching started (its
/// identity, to notice a replacement), and the OS watcher on it.
enum Watched {
    /// The content directory cannot be found.
    Missing,
    /// `server.watch = "off"`: loaded once, never looked at again.
    Off,
    /// Watched by the operating system.
    Native {
        root: PathBuf,
        id: files::DirId,
        _debouncer: Box<dyn Send>,
    },
    /// Rescanned on a timer (poll mode, or the OS watcher refused), or not watched at all.
    Timer { root: PathBuf, id: files::DirId },
}

impl Watched {
    /// Watches the content directory as it is now.
    fn arm(config: &Config, events: &mpsc::Sender<Msg>) -> Self {
        if config.server.watch == WatchMode::Off {
            return Watched::Off;
        }
        let Some((root, id)) = files::dir_identity(&config.content_dir) else {
            return Watched::Missing;
        };
        if config.server.watch == WatchMode::Poll {
            return Watched::Timer { root, id };
        }
        match start_watcher(&root, events.clone()) {
            Ok(debouncer) => Watched::Native {
                root,
                id,
                _debouncer: debouncer,
            },
            Err(e) => {
                tracing::warn!("{e}; polling instead");
                Watched::Timer { root, id }
            }
        }
    }

    /// Whether rescans run on a timer.
    fn polls(&self) -> bool {
        matches!(self, Watched::Timer { .. })
    }

    /// The canonical content directory that events are reported under.
    fn root(&self) -> Option<&Path> {
        match self {
            Watched::Native { root, .. } | Watched::Timer { root, .. } => Some(root),
            Watched::Missing | Watched::Off => None,
        }
    }

    /// Whether the content directory is no longer the one being watched: gone, back, or
    /// another directory (or link target) at the same path.
    fn is_stale(&self, config: &Config) -> bool {
        if matches!(self, Watched::Off) {
            return false;
        }
        let now = files::dir_identity(&config.content_dir).map(|(_, id)| id);
        match self {
            Watched::Off => false,
            Watched::Missing => now.is_some(),
            Watched::Native { id, .. } | Watched::Timer { id, .. } => now.as_ref() != Some(id),
        }
    }
}

/// Applies one batch of work to the catalog and publishes if a reader would see a difference.
fn rebuild(catalog: &mut Catalog, work: &mut Work, noticed: Instant, sink: &mut impl Sink) {
    let work = std::mem::take(work);
    let mut paths = work.paths;
    let now = Utc::now();
    let errors_before = catalog.errors();
    let posts_before = catalog.post_count();
    let missing_before = catalog.content_error().is_some();
    let changed_before = catalog.content_changed();
    let delta = if work.rescan {
        catalog.rescan(now)
    } else {
        paths.sort();
        paths.dedup();
        catalog.refresh(&paths, now)
    };
    let errors_after = catalog.errors();
    // A post loaded but not visible yet changes no feed, but /healthz counts it, and says
    // whether the content directory is there. A file touched changes no bytes, but the
    // date documents carry, which every replica must agree on.
    if !delta.is_visible()
        && errors_before == errors_after
        && posts_before == catalog.post_count()
        && missing_before == catalog.content_error().is_some()
        && (!sink.dates_matter() || changed_before == catalog.content_changed())
    {
        return;
    }
    for e in errors_after.iter().filter(|e| !errors_before.contains(e)) {
        tracing::warn!("{e}");
    }
    sink.rebuilt(catalog, &delta, work.rescan, noticed);
}

fn log_rebuild(delta: &Delta, rescan: bool, took: Duration, errors: usize) {
    tracing::info!(
        added = delta.added,
        modified = delta.modified,
        removed = delta.removed,
        failed = delta.failed,
        published = delta.published,
        feeds = delta.scopes.len(),
        errors,
        rescan,
        us = took.as_micros() as u64,
        "rebuilt"
    );
}

/// Whether the `index`th path of an event is, after it, a whole file: one a writer closed,
/// or one renamed into place. A file created, written to and not closed yet, renamed away or
/// deleted may be in the middle of a save.
fn settles(kind: EventKind, index: usize) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => true,
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => index == 1,
        EventKind::Modify(ModifyKind::Metadata(_)) => true,
        _ => false,
    }
}

/// Adds what one event asks to re-read to `pending`.
fn classify(root: &Path, event: &Event, catalog: &Catalog, pending: &mut Pending) {
    let work = &mut pending.work;
    if event.need_rescan() {
        work.rescan = true;
        pending.wait_for_quiet = true;
    }
    // Reading is not changing. Every open — the rebuild's own walks and reads included — is
    // reported; taking those as changes would rescan forever. Only a close after writing may
    // mean new bytes.
    if matches!(event.kind, EventKind::Access(a) if a != AccessKind::Close(AccessMode::Write)) {
        return;
    }
    {
        for (index, path) in event.paths.iter().enumerate() {
            let Ok(rel) = path.strip_prefix(root) else {
                continue;
            };
            if rel.as_os_str().is_empty() {
                work.rescan = true;
                pending.wait_for_quiet = true;
                continue;
            }
            // Nothing hidden (`.git`, editor swap files) can ever matter.
            if rel
                .components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
            {
                continue;
            }
            let relative = files::slash_path(rel);
            // A name that is not UTF-8 has no exact `relative` to re-read; the walk reports it.
            if rel.to_str().is_none() {
                work.rescan = true;
                pending.wait_for_quiet = true;
                continue;
            }
            if path.is_dir() || catalog.has_files_under(&relative) {
                // A folder appeared, moved or vanished: what is inside it is unknown.
                work.rescan = true;
                pending.wait_for_quiet = true;
            } else if files::is_candidate(rel) {
                if settles(event.kind, index) {
                    pending.unsettled.remove(&relative);
                } else {
                    pending.unsettled.insert(relative.clone());
                }
                work.paths.push(relative);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use notify::event::{CreateKind, DataChange, RemoveKind};

    use super::*;

    fn event(kind: EventKind, path: PathBuf) -> Event {
        Event::new(kind).add_path(path)
    }

    fn classify_all(root: &Path, events: &[Event], catalog: &Catalog, pending: &mut Pending) {
        for e in events {
            classify(root, e, catalog, pending);
        }
    }

    fn catalog_with_a_post() -> (tempfile::TempDir, PathBuf, Catalog) {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        std::fs::write(
            dir.path().join("sub/a.md"),
            "---\ntitle: a\ndate: 2022-05-26\n---\nx\n",
        )
        .expect("write");
        let root = dir.path().canonicalize().expect("canonical");
        let mut config = crate::config::Layers::from_toml("")
            .expect("toml")
            .resolve()
            .expect("config");
        config.content_dir = root.clone();
        let catalog = Catalog::load(Arc::new(config), Utc::now());
        (dir, root, catalog)
    }

    #[test]
    fn reading_the_content_is_not_a_change() {
        let (_dir, root, catalog) = catalog_with_a_post();
        let file = root.join("sub/a.md");

        // What walking and reading the content directory sends.
        let open = EventKind::Access(AccessKind::Open(AccessMode::Any));
        let reads = [
            event(open, root.clone()),
            event(open, root.join("sub")),
            event(open, file.clone()),
            event(
                EventKind::Access(AccessKind::Close(AccessMode::Read)),
                file.clone(),
            ),
            event(EventKind::Access(AccessKind::Read), file.clone()),
        ];
        let mut pending = Pending::default();
        classify_all(&root, &reads, &catalog, &mut pending);
        assert_eq!(pending.work, Work::default());

        // Writes are changes.
        let writes = [
            event(
                EventKind::Modify(ModifyKind::Data(DataChange::Any)),
                file.clone(),
            ),
            event(
                EventKind::Access(AccessKind::Close(AccessMode::Write)),
                file.clone(),
            ),
        ];
        classify_all(&root, &writes, &catalog, &mut pending);
        assert_eq!(pending.work.paths, ["sub/a.md", "sub/a.md"]);
        assert!(!pending.work.rescan);
        classify(
            &root,
            &event(EventKind::Create(CreateKind::Folder), root.join("sub")),
            &catalog,
            &mut pending,
        );
        assert!(pending.work.rescan);
    }

    /// A file written and closed, or renamed into place, is applied as soon as its event
    /// arrives; one still being written, or moved aside or deleted (as editors do on the way
    /// to saving), waits for the events to stop, as does a burst right after a rebuild.
    #[test]
    fn a_whole_file_is_applied_at_once_and_a_save_in_progress_waits() {
        let (_dir, root, catalog) = catalog_with_a_post();
        let file = root.join("sub/a.md");
        let quiet = Duration::from_millis(50);
        let t0 = Instant::now();
        let batch = |events: &[Event]| {
            let mut pending = Pending::default();
            pending.arrived(t0);
            classify_all(&root, events, &catalog, &mut pending);
            pending
        };
        let closed = event(
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            file.clone(),
        );
        let written = event(
            EventKind::Modify(ModifyKind::Data(DataChange::Any)),
            file.clone(),
        );
        let moved_in = event(
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            file.clone(),
        );
        let moved_aside = event(
            EventKind::Modify(ModifyKind::Name(RenameMode::From)),
            file.clone(),
        );
        let deleted = event(EventKind::Remove(RemoveKind::File), file.clone());

        for whole in [
            vec![written.clone(), closed.clone()],
            vec![moved_in.clone()],
        ] {
            assert!(batch(&whole).ready(t0, quiet, None), "{whole:?}");
        }
        for partial in [
            vec![written.clone()],
            vec![closed.clone(), written.clone()],
            vec![moved_aside.clone()],
            vec![deleted.clone()],
        ] {
            let pending = batch(&partial);
            assert!(!pending.ready(t0, quiet, None), "{partial:?}");
            assert!(
                pending.ready(t0 + quiet, quiet, None),
                "{partial:?} once quiet"
            );
        }
        // Moved aside, then the new version written and closed: whole again.
        assert!(batch(&[moved_aside, written, closed.clone()]).ready(t0, quiet, None));
        // The same whole file right after a rebuild is part of a burst: it waits.
        let burst = batch(std::slice::from_ref(&closed));
        assert!(!burst.ready(t0, quiet, Some(t0)));
        assert!(burst.ready(t0 + quiet, quiet, Some(t0)));
        // A folder event waits for quiet too.
        let mut folder = batch(&[closed]);
        classify(
            &root,
            &event(EventKind::Create(CreateKind::Folder), root.join("sub")),
            &catalog,
            &mut folder,
        );
        assert!(!folder.ready(t0, quiet, None));
    }
}
