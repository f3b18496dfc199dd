//! The catalog: the rebuilder's private, mutable record of every file and post, and the
//! incremental path from "these files changed" to "these feeds changed".
//!
//! In the service only the rebuild thread owns a catalog; readers never see it. They see the
//! immutable snapshots the store builds from it. That split keeps the request path lock-free
//! and lets the catalog use plain maps.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rayon::prelude::*;

use super::{FileRead, LoadError, read_all};
use crate::config::Config;
use crate::feeds::{Change, Feeds, Scope};
use crate::files::{self, Stamp, WalkError};
use crate::posts::{self, Loaded, Post};

/// What the catalog knows about one file.
#[derive(Debug)]
struct FileEntry {
    /// Hash of the bytes last read, good or bad: the same bytes are never parsed twice.
    hash: posts::ContentHash,
    /// Modification time and size when last read, for cheap rescans.
    stamp: Option<Stamp>,
    /// The last version that loaded. Kept while the file is broken, so a bad edit never
    /// takes a post out of the feeds.
    post: Option<Arc<Post>>,
    /// Why the current bytes do not load, if they don't (boxed: rare, and large).
    error: Option<Box<LoadError>>,
    /// The current bytes are not a post (no front matter) or an unpublished one.
    skipped: bool,
}

impl FileEntry {
    /// A file not read yet: its hash matches no bytes, so the first read always counts.
    fn unread(hash: posts::ContentHash) -> Self {
        Self {
            hash,
            stamp: None,
            post: None,
            error: None,
            skipped: false,
        }
    }
}

/// What one refresh changed, for logs and metrics.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Delta {
    /// Posts that appeared.
    pub added: usize,
    /// Posts whose bytes changed and still load.
    pub modified: usize,
    /// Posts that left (file deleted, front matter removed, unpublished).
    pub removed: usize,
    /// Files that now fail to load (their last good version stays).
    pub failed: usize,
    /// Posts that became visible because their time came.
    pub published: usize,
    /// Scopes whose entries changed.
    pub scopes: Vec<Scope>,
}

impl Delta {
    /// Whether anything a reader can see changed.
    pub fn is_visible(&self) -> bool {
        !self.scopes.is_empty()
    }
}

/// A post's date as a sort key, newest first: seconds and nanoseconds since the epoch.
type Newest = std::cmp::Reverse<(i64, u32)>;

/// Every file and post under the content directory.
pub struct Catalog {
    config: Arc<Config>,
    root: PathBuf,
    pool: rayon::ThreadPool,
    /// Category and tag names, shared by the posts that use them.
    names: posts::Names,
    /// Ordered, so "is anything under this folder" is a range lookup.
    files: BTreeMap<String, FileEntry>,
    /// The visibility cutoff the current feeds were grouped with.
    now: DateTime<Utc>,
    feeds: Feeds,
    /// Every current error by path, and how many files hold a post: kept up to date with
    /// each file's entry so that a rebuild never has to count the whole site.
    errors: BTreeMap<String, LoadError>,
    loaded: usize,
    skipped: usize,
    /// Loaded posts not visible yet, by date, so that finding what becomes visible (and when
    /// to wake up for it) looks at the waiting posts only, not at every post of the site.
    pending: BTreeSet<(DateTime<Utc>, String)>,
    /// Why the content directory itself cannot be read, while it cannot (deleted, replaced,
    /// unmounted). Nothing is applied meanwhile: the last good state keeps serving.
    root_error: Option<String>,
    /// The newest status change (`ctime`) seen under the content directory: of any post file
    /// read, any folder walked, the folder a file vanished from, the site's `_config.yml`.
    /// Only ever grows.
    status_changed: Option<(i64, i64)>,
}

impl Catalog {
    /// Loads the whole content directory named by `config.content_dir`, with `now` deciding
    /// which future-dated posts are visible yet.
    pub fn load(config: Arc<Config>, now: DateTime<Utc>) -> Self {
        let root = config.content_dir.clone();
        let mut catalog = Self {
            feeds: Feeds::group(&[], now, config.posts.future),
            config,
            root,
            pool: super::pool(),
            names: posts::Names::default(),
            files: BTreeMap::new(),
            now,
            errors: BTreeMap::new(),
            loaded: 0,
            skipped: 0,
            pending: BTreeSet::new(),
            root_error: None,
            status_changed: None,
        };
        catalog.check_root();
        let walk = files::discover(&catalog.root);
        catalog.saw_walk(walk.dirs_changed);
        let paths: Vec<String> = walk.found.into_iter().map(|f| f.relative).collect();
        let reads = read_all(
            &catalog.pool,
            &catalog.root,
            paths,
            &catalog.config,
            &catalog.names,
        );
        catalog.fill(reads);
        for e in walk.errors {
            catalog.record_walk_error(e);
        }
        let posts = catalog.posts();
        catalog.feeds = Feeds::group(&posts, now, catalog.config.posts.future);
        catalog
    }

    /// The current feeds.
    pub fn feeds(&self) -> &Feeds {
        &self.feeds
    }

    /// When the content last changed, as the file system tells it: the newest status change
    /// of any post file, of any folder walked (a deletion leaves only that behind) and of the
    /// site's `_config.yml`, or the date of the newest visible post if later (a scheduled post
    /// appears at its date, with no file touched). A function of what is on disk, so every
    /// process serving the same directory — replicas, or this one after a restart — arrives at
    /// the same time for the same content, and it moves forward with every change a reader
    /// could see (and some they cannot).
    pub fn content_changed(&self) -> Option<DateTime<Utc>> {
        let status = self.status_changed.and_then(|(secs, nanos)| {
            DateTime::from_timestamp(secs, nanos.clamp(0, 999_999_999) as u32)
        });
        let newest = self.feeds.site.newest().map(|p| p.date.to_utc());
        status.max(newest)
    }

    /// Folds a status-change time into [`Catalog::content_changed`].
    fn saw_change(&mut self, changed: Option<(i64, i64)>) {
        self.status_changed = self.status_changed.max(changed);
    }

    /// What a walk says about the folders, and the site's `_config.yml` beside them.
    fn saw_walk(&mut self, dirs_changed: Option<(i64, i64)>) {
        self.saw_change(dirs_changed);
        self.saw_change(files::status_change(&self.root.join("_config.yml")));
    }

    /// The configuration the catalog loads with.
    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// Every file that currently fails to load, by path.
    pub fn errors(&self) -> Vec<LoadError> {
        self.errors.values().cloned().collect()
    }

    /// A path the walk could not turn into a file to read (a name that is not UTF-8, an
    /// unreadable folder): known, and reported, until a walk no longer reports it.
    fn record_walk_error(&mut self, e: WalkError) {
        let e = LoadError::from(e);
        let entry = self
            .files
            .entry(e.path.clone())
            .or_insert_with(|| FileEntry::unread([0; 16]));
        entry.error = Some(Box::new(e.clone()));
        self.errors.insert(e.path.clone(), e);
    }

    /// Whether any known file lies under the folder `relative` (so an event on that folder
    /// may have moved or removed posts).
    pub fn has_files_under(&self, relative: &str) -> bool {
        let prefix = format!("{}/", relative.trim_end_matches('/'));
        self.files
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&prefix))
    }

    /// How many posts loaded (visible or not yet).
    pub fn post_count(&self) -> usize {
        self.loaded
    }

    /// How many files were passed over: a post extension but no front matter, or
    /// `published: false`.
    pub fn skipped_count(&self) -> usize {
        self.skipped
    }

    /// Every loaded post (visible or not yet), newest first (see [`Post::newest_first`]).
    pub fn posts(&self) -> Vec<Arc<Post>> {
        // Sorted by the instant held beside each pointer, the posts themselves compared only
        // for equal dates: comparing through the pointers reached posts scattered over the
        // heap, a cache miss or two per comparison (1.5 s of a million posts' start).
        let mut keyed: Vec<(Newest, &Arc<Post>)> = self
            .files
            .values()
            .filter_map(|f| f.post.as_ref())
            .map(|p| {
                let instant = (p.date.timestamp(), p.date.timestamp_subsec_nanos());
                (std::cmp::Reverse(instant), p)
            })
            .collect();
        self.pool.install(|| {
            keyed.par_sort_unstable_by(|a, b| {
                a.0.cmp(&b.0).then_with(|| Post::newest_first(a.1, b.1))
            })
        });
        keyed.into_iter().map(|(_, p)| Arc::clone(p)).collect()
    }

    /// When the next future-dated post becomes visible, if one is waiting.
    pub fn next_publication(&self) -> Option<DateTime<Utc>> {
        if self.config.posts.future {
            return None;
        }
        self.pending.first().map(|(date, _)| *date)
    }

    /// Keeps `pending` in step when a file's post changes from `old` to `new`.
    fn track_pending(&mut self, path: &str, old: Option<&Arc<Post>>, new: Option<&Arc<Post>>) {
        if let Some(old) = old {
            self.pending
                .remove(&(old.date.with_timezone(&Utc), path.to_owned()));
        }
        if let Some(new) = new
            && !self.config.posts.future
            && new.date > self.now
        {
            self.pending
                .insert((new.date.with_timezone(&Utc), path.to_owned()));
        }
    }

    /// Why the content directory cannot be read, while it cannot.
    pub fn content_error(&self) -> Option<&str> {
        self.root_error.as_deref()
    }

    /// The content directory, canonical, if it can be read; otherwise records why not.
    fn check_root(&mut self) -> Option<PathBuf> {
        match files::readable_dir(&self.root) {
            Ok(root) => {
                self.root_error = None;
                Some(root)
            }
            Err(why) => {
                self.root_error = Some(format!(
                    "the content directory {} cannot be read: {why}",
                    self.root.display()
                ));
                None
            }
        }
    }

    /// Re-reads the given files (paths relative to the content directory, `/`-separated) and
    /// applies what changed. A file whose bytes did not change is not parsed again.
    ///
    /// Each path must pass the walk's rule for symbolic links (see [`files::is_inside`]): a
    /// link out of the content directory that a watcher reports is treated as absent, exactly
    /// as a fresh start would treat it. While the content directory itself cannot be read,
    /// nothing is applied (only posts whose time comes are published).
    pub fn refresh(&mut self, paths: &[String], now: DateTime<Utc>) -> Delta {
        let Some(root) = self.check_root() else {
            let mut delta = Delta::default();
            self.publish(Vec::new(), now, &mut delta);
            return delta;
        };
        let (inside, outside): (Vec<String>, Vec<String>) = paths
            .iter()
            .cloned()
            .partition(|p| files::is_inside(&root, p));
        let mut reads = read_all(&self.pool, &self.root, inside, &self.config, &self.names);
        reads.extend(outside.into_iter().map(|p| (p, FileRead::Gone)));
        let (changes, mut delta) = self.apply_reads(reads);
        self.publish(changes, now, &mut delta);
        delta
    }

    /// Walks the whole tree again: for when events were lost, a folder moved, or the
    /// watcher cannot say what changed. Files whose size and modification and status-change
    /// times are unchanged are not read.
    pub fn rescan(&mut self, now: DateTime<Utc>) -> Delta {
        if self.check_root().is_none() {
            // Not "every file is gone": a deleted or unmounted content directory is reported
            // and the last good state kept until it is back.
            let mut delta = Delta::default();
            self.publish(Vec::new(), now, &mut delta);
            return delta;
        }
        let walk = files::discover(&self.root);
        self.saw_walk(walk.dirs_changed);
        let (found, walk_errors) = (walk.found, walk.errors);
        // Paths the walk reports as errors (a name that is not UTF-8, an unreadable folder)
        // are still there: they stay known, and reported.
        let present: HashSet<&str> = found
            .iter()
            .map(|f| f.relative.as_str())
            .chain(walk_errors.iter().map(|e| e.path.as_str()))
            .collect();
        let mut stale: Vec<String> = self
            .files
            .keys()
            .filter(|k| !present.contains(k.as_str()))
            .cloned()
            .collect();
        for f in &found {
            let known = self.files.get(&f.relative).and_then(|e| e.stamp);
            if known.is_none() || known != files::stamp(&f.path) {
                stale.push(f.relative.clone());
            }
        }
        let delta = self.refresh(&stale, now);
        for e in walk_errors {
            self.record_walk_error(e);
        }
        delta
    }

    /// The first load's [`Catalog::apply_reads`]: every file is new, so the maps are built in
    /// one pass (the reads come in path order, which the file map is then built from in bulk)
    /// and no changes are collected — the feeds are grouped from scratch.
    fn fill(&mut self, reads: Vec<(String, FileRead)>) {
        let mut files = Vec::with_capacity(reads.len());
        for (path, read) in reads {
            let FileRead::Read {
                hash,
                stamp,
                result,
            } = read
            else {
                continue;
            };
            self.saw_change(stamp.and_then(|s| s.changed));
            let mut entry = FileEntry::unread(hash);
            entry.stamp = stamp;
            match result {
                Ok(Loaded::Post(post)) => {
                    self.loaded += 1;
                    self.track_pending(&path, None, Some(&post));
                    entry.post = Some(post);
                }
                Ok(Loaded::NotAPost | Loaded::Unpublished) => {
                    self.skipped += 1;
                    entry.skipped = true;
                }
                Err(e) => {
                    self.errors.insert(path.clone(), e.clone());
                    entry.error = Some(Box::new(e));
                }
            }
            files.push((path, entry));
        }
        // Sorted already (the walk's order): collecting builds the tree bottom-up, where
        // inserting searched it a hundred thousand times. Nothing is in it yet: walk errors
        // are recorded after.
        debug_assert!(self.files.is_empty());
        self.files = files.into_iter().collect();
    }

    /// Records what each file now holds, returning the changes to loaded posts.
    fn apply_reads(&mut self, reads: Vec<(String, FileRead)>) -> (Vec<Change>, Delta) {
        let mut changes = Vec::new();
        let mut delta = Delta::default();
        for (path, read) in reads {
            self.apply_read(path, read, &mut changes, &mut delta);
        }
        for c in &changes {
            if let Some(post) = c.new.as_ref().or(c.old.as_ref()) {
                self.track_pending(&post.source, c.old.as_ref(), c.new.as_ref());
            }
        }
        (changes, delta)
    }

    fn apply_read(
        &mut self,
        path: String,
        read: FileRead,
        changes: &mut Vec<Change>,
        delta: &mut Delta,
    ) {
        match read {
            FileRead::Gone => {
                self.errors.remove(&path);
                let Some(entry) = self.files.remove(&path) else {
                    return;
                };
                // Gone leaves no time of its own: its folder's says when.
                self.saw_change(files::folder_changed(&self.root, &path));
                if entry.skipped {
                    self.skipped -= 1;
                }
                if entry.post.is_some() {
                    self.loaded -= 1;
                    delta.removed += 1;
                    changes.push(Change {
                        old: entry.post,
                        new: None,
                    });
                }
            }
            FileRead::Read {
                hash,
                stamp,
                result,
            } => {
                let entry = self
                    .files
                    .entry(path.clone())
                    .or_insert_with(|| FileEntry::unread([0xff; 16]));
                let had_post = entry.post.is_some();
                let was_skipped = entry.skipped;
                entry.stamp = stamp;
                self.status_changed = self.status_changed.max(stamp.and_then(|s| s.changed));
                if entry.hash == hash {
                    // A touch, or an event for bytes we already have (good or bad).
                    return;
                }
                entry.hash = hash;
                entry.skipped = matches!(result, Ok(Loaded::NotAPost | Loaded::Unpublished));
                match result {
                    Ok(Loaded::Post(post)) => {
                        entry.error = None;
                        match entry.post.replace(Arc::clone(&post)) {
                            Some(old) => {
                                delta.modified += 1;
                                changes.push(Change {
                                    old: Some(old),
                                    new: Some(post),
                                });
                            }
                            None => {
                                delta.added += 1;
                                changes.push(Change {
                                    old: None,
                                    new: Some(post),
                                });
                            }
                        }
                    }
                    Ok(Loaded::NotAPost | Loaded::Unpublished) => {
                        entry.error = None;
                        if let Some(old) = entry.post.take() {
                            delta.removed += 1;
                            changes.push(Change {
                                old: Some(old),
                                new: None,
                            });
                        }
                    }
                    Err(e) => {
                        delta.failed += 1;
                        entry.error = Some(Box::new(e));
                    }
                }
                match (had_post, entry.post.is_some()) {
                    (false, true) => self.loaded += 1,
                    (true, false) => self.loaded -= 1,
                    _ => {}
                }
                match (was_skipped, entry.skipped) {
                    (false, true) => self.skipped += 1,
                    (true, false) => self.skipped -= 1,
                    _ => {}
                }
                match &entry.error {
                    Some(e) => {
                        self.errors.insert(path, (**e).clone());
                    }
                    None => {
                        self.errors.remove(&path);
                    }
                }
            }
        }
    }

    /// Turns changes of loaded posts into changes of visible posts, including posts whose time came since the last
    /// rebuild, and regroups only the feeds they touch.
    fn publish(&mut self, changes: Vec<Change>, now: DateTime<Utc>, delta: &mut Delta) {
        let future = self.config.posts.future;
        let was_visible = |p: &Post| future || p.date <= self.now;
        let is_visible = |p: &Post| future || p.date <= now;
        let mut feed_changes: Vec<Change> = changes
            .into_iter()
            .map(|c| Change {
                old: c.old.filter(|p| was_visible(p)),
                new: c.new.filter(|p| is_visible(p)),
            })
            .filter(|c| c.old.is_some() || c.new.is_some())
            .collect();
        if now > self.now && !future {
            let changed: HashSet<&str> = feed_changes
                .iter()
                .flat_map(|c| c.new.iter().chain(c.old.iter()))
                .map(|p| p.source.as_str())
                .collect();
            let due: Vec<(DateTime<Utc>, String)> = self
                .pending
                .iter()
                .take_while(|(date, _)| *date <= now)
                .cloned()
                .collect();
            let mut coming = Vec::with_capacity(due.len());
            for key in due {
                self.pending.remove(&key);
                if let Some(post) = self.files.get(&key.1).and_then(|f| f.post.as_ref())
                    && !changed.contains(key.1.as_str())
                {
                    coming.push(Change {
                        old: None,
                        new: Some(Arc::clone(post)),
                    });
                }
            }
            delta.published += coming.len();
            feed_changes.append(&mut coming);
        }
        self.now = self.now.max(now);
        if feed_changes.is_empty() {
            return;
        }
        let (feeds, scopes) = self.feeds.apply(&feed_changes);
        self.feeds = feeds;
        delta.scopes = scopes;
    }
}
