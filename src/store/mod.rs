//! The store: what the service publishes right now, and how a change becomes the next version.
//!
//! Readers load the current [`Snapshot`] with one atomic pointer read (arc-swap) and keep it
//! for the whole request, so every response's ETag matches its body even while a rebuild
//! swaps in a new snapshot. The one writer — the rebuild thread — owns a [`Catalog`], applies
//! changes to it, and publishes a new snapshot that shares every unaffected feed and every
//! unaffected rendered document with the previous one. A rebuild that finds only broken files
//! changes nothing readers see: the last good version of each post stays.
//!
//! The same holds one level down, for documents: [`Snapshot::document`] answers with a
//! [`Lookup`] that tells a document that does not exist from one that failed to render, and
//! a document whose render fails keeps serving the last good bytes it had, if any.

mod cache;

use std::any::Any;
use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use arc_swap::ArcSwapOption;
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::documents::{self, Context, DocId, Document, RenderError};
use crate::feeds::{Feeds, Page, Scope};
use crate::load::{Catalog, Delta, LoadError};
use crate::posts::Bodies;
pub use cache::{Effort, Encoding, Fingerprint, Rendered};

/// One published version of the site.
pub struct Snapshot {
    /// The configuration it was built with.
    pub config: Arc<Config>,
    /// The feeds.
    pub feeds: Feeds,
    /// Files that currently fail to load.
    pub errors: Arc<Vec<LoadError>>,
    /// Posts loaded (including those not yet visible).
    pub posts: usize,
    /// When this version was published (for `/healthz` and metrics, never for documents).
    pub published_at: SystemTime,
    /// Counts up with every published version.
    pub generation: u64,
    /// When the content last changed ([`Catalog::content_changed`]): what `Last-Modified`
    /// is made of. The same for every document of a version, because a change to one post
    /// can reorder any feed (its category changed) and only the file system, which every
    /// replica shares, may say when.
    pub modified: Option<DateTime<Utc>>,
    /// Every change made to the content before this instant (milliseconds since the epoch)
    /// is in this version, as far as the watcher can tell; `i64::MIN` until it says.
    observed: AtomicI64,
    /// What whoever serves this version derives from it once (see [`Rendered::memo`]).
    memo: OnceLock<Box<dyn Any + Send + Sync>>,
    /// Why the content directory cannot be read, while it cannot: this version is then the
    /// last good state, kept serving until the directory is back.
    pub content_error: Option<String>,
    /// Subscription documents, feed pages, the index, OPML: a handful per feed, requested
    /// all the time, so kept for this version and carried over to the next — within a byte
    /// bound, because a thousand feeds of large entries, each requested once, would otherwise
    /// hold gigabytes.
    cache: DocumentCache,
    /// Renderings shared by every version of one store: archive pages (thousands at
    /// news-site scale and rarely requested) and the last good rendering of each document,
    /// both bounded by bytes.
    renderings: Arc<Renderings>,
    /// Entries' rendered bodies, shared across versions: an edit re-renders one post's body,
    /// not those of every post in the feeds it touched.
    bodies: Arc<Bodies>,
}

/// Bytes of subscription documents (all encodings) one version keeps.
const DOCUMENT_CACHE_BYTES: u64 = 256 * 1024 * 1024;

/// The documents of one version, by id.
type DocumentCache = quick_cache::sync::Cache<DocId, Arc<Rendered>, RenderedWeight>;

fn new_document_cache(bytes: u64) -> DocumentCache {
    quick_cache::sync::Cache::with_weighter(16_384, bytes, RenderedWeight)
}

/// Bytes of rendered archive pages (all encodings) kept across versions.
const ARCHIVE_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// Bytes of last good renderings kept for documents whose re-render fails. Most of them are
/// the very renderings the current snapshot serves (shared, not copied), so this bounds how
/// many documents have a fallback more than it adds memory.
const LAST_GOOD_BYTES: u64 = 32 * 1024 * 1024;

#[derive(Clone)]
struct RenderedWeight;

impl quick_cache::Weighter<[u8; 32], Arc<Rendered>> for RenderedWeight {
    fn weight(&self, _key: &[u8; 32], doc: &Arc<Rendered>) -> u64 {
        doc.weight() as u64
    }
}

impl quick_cache::Weighter<DocId, Arc<Rendered>> for RenderedWeight {
    fn weight(&self, _key: &DocId, doc: &Arc<Rendered>) -> u64 {
        doc.weight() as u64
    }
}

impl quick_cache::Weighter<DocId, LastGood> for RenderedWeight {
    fn weight(&self, _key: &DocId, good: &LastGood) -> u64 {
        good.document.weight() as u64
    }
}

/// A good rendering, and the version that rendered it (so an old snapshot that renders late
/// does not replace a newer version's bytes).
#[derive(Clone)]
struct LastGood {
    generation: u64,
    document: Arc<Rendered>,
}

/// Renderings kept across versions, shared by every snapshot of one store.
struct Renderings {
    /// Archive pages keyed by a fingerprint of everything they are rendered from, so a page
    /// whose entries did not change is found again whatever version asks for it.
    archives: quick_cache::sync::Cache<[u8; 32], Arc<Rendered>, RenderedWeight>,
    /// The newest good rendering of each document, served when a later version fails to
    /// render it: a rebuild must never replace good bytes with nothing.
    last_good: quick_cache::sync::Cache<DocId, LastGood, RenderedWeight>,
}

impl Renderings {
    fn new() -> Self {
        Self {
            archives: quick_cache::sync::Cache::with_weighter(
                4_096,
                ARCHIVE_CACHE_BYTES,
                RenderedWeight,
            ),
            last_good: quick_cache::sync::Cache::with_weighter(
                4_096,
                LAST_GOOD_BYTES,
                RenderedWeight,
            ),
        }
    }

    fn remember(&self, id: &DocId, generation: u64, document: &Arc<Rendered>) {
        // Two versions racing here may both pass the check; either result is a good
        // rendering, which is all a fallback needs.
        if self
            .last_good
            .get(id)
            .is_none_or(|kept| kept.generation <= generation)
        {
            self.last_good.insert(
                id.clone(),
                LastGood {
                    generation,
                    document: Arc::clone(document),
                },
            );
        }
    }

    fn last_good(&self, id: &DocId) -> Option<Arc<Rendered>> {
        self.last_good.get(id).map(|kept| kept.document)
    }
}

/// What [`Snapshot::document`] found.
#[derive(Debug)]
pub enum Lookup {
    /// The document.
    Found(Arc<Rendered>),
    /// No such document in this version: an unknown category, an archive page past the last.
    NotFound,
    /// The document failed to render, but its last good bytes can serve. The fault is
    /// reported once; later lookups of the same document in this version find those bytes.
    Degraded {
        /// What to serve.
        document: Arc<Rendered>,
        /// What went wrong.
        fault: Fault,
    },
    /// The document exists but could not be rendered, and there are no good bytes to serve.
    Failed(Fault),
}

/// A server-side failure behind a [`Lookup`].
#[derive(Debug, thiserror::Error)]
pub enum Fault {
    /// The document could not be rendered.
    #[error(transparent)]
    Render(#[from] RenderError),
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("generation", &self.generation)
            .field("posts", &self.posts)
            .field("feeds", &self.feeds.len())
            .finish_non_exhaustive()
    }
}

impl Snapshot {
    /// Until when every change to the content is in this version (see [`Store::observed`]);
    /// `None` before the watcher has said.
    pub fn observed(&self) -> Option<DateTime<Utc>> {
        match self.observed.load(Ordering::Acquire) {
            i64::MIN => None,
            ms => DateTime::from_timestamp_millis(ms),
        }
    }

    /// What the serving layer derives from this version once, made on first use.
    pub fn memo<T: Any + Send + Sync>(&self, init: impl FnOnce() -> T) -> Option<&T> {
        self.memo
            .get_or_init(|| Box::new(init()))
            .downcast_ref::<T>()
    }

    /// The rendered document for `id`, rendering it on first request (compressed encodings
    /// follow on first use, see [`Rendered`]).
    pub fn document(&self, id: &DocId) -> Lookup {
        self.document_with(id, documents::render)
    }

    /// [`Snapshot::document`] with the renderer as a parameter, so tests can make it fail:
    /// the real serializers cannot be made to fail from any input.
    fn document_with(
        &self,
        id: &DocId,
        render: impl Fn(Context<'_>, &DocId) -> Result<Option<Document>, RenderError>,
    ) -> Lookup {
        let ctx = Context {
            config: &self.config,
            feeds: &self.feeds,
            bodies: &self.bodies,
        };
        if let DocId::Feed {
            page: Page::Archive(_),
            ..
        } = id
        {
            let Some(key) = documents::archive_key(&self.config, &self.feeds, id) else {
                return Lookup::NotFound;
            };
            let mut fault = None;
            if let Some(hit) = self.renderings.archives.get(&key) {
                return Lookup::Found(hit);
            }
            let mut incomplete = None;
            let found = self.renderings.archives.get_or_insert_with(&key, || {
                match render(ctx, id) {
                    // Right for this moment only: served, never kept.
                    Ok(Some(doc)) if !doc.complete => {
                        incomplete = Some(self.wrap(id, doc));
                        Err(())
                    }
                    Ok(Some(doc)) => Ok(self.remember(id, doc)),
                    Ok(None) => Err(()),
                    // Kept under this key, the last good bytes serve until the page's
                    // entries change: rendering the same entries again would fail again.
                    Err(e) => {
                        fault = Some(Fault::Render(e));
                        self.renderings.last_good(id).ok_or(())
                    }
                }
            });
            if let Some(document) = incomplete {
                return Lookup::Found(document);
            }
            return match (found, fault) {
                (Ok(document), None) => Lookup::Found(document),
                (Ok(document), Some(fault)) => Lookup::Degraded { document, fault },
                (Err(()), None) => Lookup::NotFound,
                (Err(()), Some(fault)) => Lookup::Failed(fault),
            };
        }
        if let Some(hit) = self.cache.get(id) {
            return Lookup::Found(hit);
        }
        // Rendered outside the cache: two requests racing for the same document both render
        // it, which costs a little CPU once but never blocks other documents' readers.
        let (rendered, fault) = match render(ctx, id) {
            // Right for this moment only: served, never kept.
            Ok(Some(doc)) if !doc.complete => return Lookup::Found(self.wrap(id, doc)),
            Ok(Some(doc)) => (self.remember(id, doc), None),
            Ok(None) => return Lookup::NotFound,
            Err(e) => match self.renderings.last_good(id) {
                // Cached in this version, the last good bytes serve until the next one: the
                // same inputs would fail the same way.
                Some(good) => (good, Some(Fault::Render(e))),
                None => return Lookup::Failed(Fault::Render(e)),
            },
        };
        let document = match self.cache.get(id) {
            // Another request rendered it meanwhile: every response of this version gets the
            // same bytes, so the ETag a client saw keeps matching.
            Some(first) => first,
            None => {
                self.cache.insert(id.clone(), Arc::clone(&rendered));
                rendered
            }
        };
        match fault {
            Some(fault) => Lookup::Degraded { document, fault },
            None => Lookup::Found(document),
        }
    }

    /// The document for `id` if it is rendered already; `None` when getting it means work
    /// (rendering, or finding out that it does not exist). A request can take this without
    /// leaving its thread; anything else goes to the render pool.
    pub fn cached(&self, id: &DocId) -> Option<Arc<Rendered>> {
        if let DocId::Feed {
            page: Page::Archive(_),
            ..
        } = id
        {
            let key = documents::archive_key(&self.config, &self.feeds, id)?;
            return self.renderings.archives.get(&key);
        }
        self.cache.get(id)
    }

    /// A newly rendered document, hashed and ready to compress with the effort `id` is worth.
    fn wrap(&self, id: &DocId, doc: Document) -> Arc<Rendered> {
        Arc::new(Rendered::with_effort(doc, Effort::of(id)))
    }

    /// Wraps a newly rendered document and keeps it as the last good rendering of `id`.
    ///
    /// Archive pages are not kept as fallbacks: they are thousands, kept by their entries in
    /// the archive cache already, and never change once full; holding their last good bytes
    /// too would keep a walk of the archives in memory beyond that cache's bound. They are
    /// compressed with [`Effort::Quick`] (see [`Effort::of`]), so that walking them cannot cost much more CPU than
    /// serving them.
    fn remember(&self, id: &DocId, doc: Document) -> Arc<Rendered> {
        let rendered = self.wrap(id, doc);
        let archive = matches!(
            id,
            DocId::Feed {
                page: Page::Archive(_),
                ..
            }
        );
        if !archive {
            self.renderings.remember(id, self.generation, &rendered);
        }
        rendered
    }
}

/// The currently published snapshot, shared by every request handler.
pub struct Store {
    current: ArcSwapOption<Snapshot>,
    renderings: Arc<Renderings>,
    bodies: Arc<Bodies>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// An empty store: nothing published until the first load is done.
    pub fn new() -> Self {
        Self {
            current: ArcSwapOption::empty(),
            renderings: Arc::new(Renderings::new()),
            bodies: Arc::new(Bodies::default()),
        }
    }

    /// The current snapshot, or `None` before the first load.
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.current.load_full()
    }

    /// Records that every change made to the content before `until` is in the current
    /// snapshot. Only the thread that publishes may say so, between its publishes.
    pub fn observed(&self, until: DateTime<Utc>) {
        if let Some(current) = self.current.load().as_ref() {
            current
                .observed
                .fetch_max(until.timestamp_millis(), Ordering::Release);
        }
    }

    /// Publishes the catalog's current state. Rendered documents of scopes not in `delta`
    /// are carried over from the previous snapshot; everything else renders on demand.
    pub fn publish(&self, catalog: &Catalog, delta: Option<&Delta>) -> Arc<Snapshot> {
        self.bodies
            .read_from(Arc::new(crate::load::ContentFiles::new(catalog.config())));
        let previous = self.snapshot();
        let cache = new_document_cache(DOCUMENT_CACHE_BYTES);
        if let (Some(prev), Some(delta)) = (&previous, delta) {
            let affected: HashSet<&Scope> = delta.scopes.iter().collect();
            for (id, doc) in prev.cache.iter() {
                if !documents::depends_on(&id, &affected) {
                    cache.insert(id, doc);
                }
            }
        }
        let snapshot = Arc::new(Snapshot {
            config: Arc::clone(catalog.config()),
            feeds: catalog.feeds().clone(),
            errors: Arc::new(catalog.errors()),
            posts: catalog.post_count(),
            content_error: catalog.content_error().map(str::to_owned),
            published_at: SystemTime::now(),
            generation: previous.map_or(1, |p| p.generation + 1),
            modified: catalog.content_changed(),
            observed: AtomicI64::new(i64::MIN),
            memo: OnceLock::new(),
            cache,
            renderings: Arc::clone(&self.renderings),
            bodies: Arc::clone(&self.bodies),
        });
        self.current.store(Some(Arc::clone(&snapshot)));
        snapshot
    }
}

#[cfg(test)]
mod tests {
    //! The fault paths of `Snapshot::document`. No input makes the real serializers fail, so
    //! these drive it with a fake renderer.

    use std::sync::atomic::{AtomicU64, Ordering};

    use bytes::Bytes;
    use chrono::Utc;

    use super::*;
    use crate::documents::Format;
    use crate::posts::{self, Loaded};

    /// Snapshots of one store, as `publish` would make them, with fixed posts.
    struct Versions {
        config: Arc<Config>,
        feeds: Feeds,
        renderings: Arc<Renderings>,
        generation: AtomicU64,
    }

    impl Versions {
        /// Five posts, two per page: the site feed has two archive pages.
        fn new() -> Self {
            let mut config = Config::defaults();
            config.feeds.limit = 2;
            let posts: Vec<_> = (1..=5)
                .map(|d| {
                    let text = format!("---\ntitle: Post {d}\ndate: 2022-05-0{d}\n---\nBody {d}\n");
                    let path = format!("p{d}.md");
                    match posts::load_post(&posts::Source::new(&path, text.as_bytes()), &config) {
                        Ok(Loaded::Post(p)) => p,
                        other => panic!("a post: {other:?}"),
                    }
                })
                .collect();
            let feeds = Feeds::group(&posts, Utc::now(), false);
            Self {
                config: Arc::new(config),
                feeds,
                renderings: Arc::new(Renderings::new()),
                generation: AtomicU64::new(0),
            }
        }

        /// The next version, with nothing rendered yet.
        fn next(&self) -> Snapshot {
            Snapshot {
                config: Arc::clone(&self.config),
                feeds: self.feeds.clone(),
                errors: Arc::new(Vec::new()),
                posts: 5,
                content_error: None,
                published_at: SystemTime::now(),
                generation: self.generation.fetch_add(1, Ordering::Relaxed) + 1,
                modified: None,
                observed: AtomicI64::new(i64::MIN),
                memo: OnceLock::new(),
                cache: new_document_cache(DOCUMENT_CACHE_BYTES),
                renderings: Arc::clone(&self.renderings),
                bodies: Arc::new(Bodies::default()),
            }
        }
    }

    fn good(
        text: &'static str,
    ) -> impl Fn(Context<'_>, &DocId) -> Result<Option<Document>, RenderError> {
        move |_, _| {
            Ok(Some(Document {
                body: Bytes::from_static(text.as_bytes()),
                media_type: "text/html",
                complete: true,
            }))
        }
    }

    fn failing(_: Context<'_>, _: &DocId) -> Result<Option<Document>, RenderError> {
        let cause = serde_json::from_str::<u8>("not json").expect_err("invalid JSON");
        Err(RenderError::Json(cause))
    }

    fn body(lookup: &Lookup) -> Option<&[u8]> {
        match lookup {
            Lookup::Found(doc) | Lookup::Degraded { document: doc, .. } => Some(&doc.identity),
            Lookup::NotFound | Lookup::Failed(_) => None,
        }
    }

    #[test]
    fn a_failed_render_without_good_bytes_is_a_failure_not_a_miss() {
        let versions = Versions::new();
        let snapshot = versions.next();
        for id in [
            DocId::Index,
            DocId::Feed {
                scope: Scope::Site,
                page: Page::Archive(1),
                format: Format::Atom,
            },
        ] {
            let lookup = snapshot.document_with(&id, failing);
            assert!(
                matches!(lookup, Lookup::Failed(Fault::Render(RenderError::Json(_)))),
                "{id:?}: {lookup:?}"
            );
            // Nothing was cached: the next request tries again.
            assert!(matches!(
                snapshot.document_with(&id, good("now fine")),
                Lookup::Found(_)
            ));
        }
    }

    #[test]
    fn a_failed_render_serves_the_last_good_bytes_and_reports_once() {
        let versions = Versions::new();
        for id in [DocId::Index, DocId::current(Scope::Site, Format::Json)] {
            let first = versions.next();
            let lookup = first.document_with(&id, good("version one"));
            assert!(matches!(lookup, Lookup::Found(_)), "{id:?}");

            let second = versions.next();
            let lookup = second.document_with(&id, failing);
            assert!(
                matches!(
                    lookup,
                    Lookup::Degraded {
                        fault: Fault::Render(_),
                        ..
                    }
                ),
                "{id:?}: {lookup:?}"
            );
            assert_eq!(body(&lookup), Some(&b"version one"[..]), "{id:?}");
            // Reported once: the same inputs would fail again, so the good bytes stay.
            let again = second.document_with(&id, failing);
            assert!(matches!(again, Lookup::Found(_)), "{id:?}: {again:?}");
            assert_eq!(body(&again), Some(&b"version one"[..]));
        }
    }

    #[test]
    fn archive_pages_are_not_kept_twice() {
        // They live in the archive cache, keyed by their entries; a page whose entries changed
        // and that fails to render has no fallback (a 500), rather than every archive page
        // ever rendered being held beyond that cache's bound.
        let versions = Versions::new();
        let id = DocId::Feed {
            scope: Scope::Site,
            page: Page::Archive(2),
            format: Format::Rss,
        };
        let first = versions.next();
        assert!(matches!(
            first.document_with(&id, good("page")),
            Lookup::Found(_)
        ));
        assert!(versions.renderings.last_good(&id).is_none());
        versions.renderings.archives.clear();
        let lookup = versions.next().document_with(&id, failing);
        assert!(matches!(lookup, Lookup::Failed(_)), "{lookup:?}");
    }

    #[test]
    fn a_late_render_of_an_old_version_does_not_replace_newer_good_bytes() {
        let versions = Versions::new();
        let old = versions.next();
        let new = versions.next();
        assert!(matches!(
            new.document_with(&DocId::Index, good("new")),
            Lookup::Found(_)
        ));
        assert!(matches!(
            old.document_with(&DocId::Index, good("old")),
            Lookup::Found(_)
        ));
        let newest = versions.next();
        assert_eq!(
            body(&newest.document_with(&DocId::Index, failing)),
            Some(&b"new"[..])
        );
    }

    #[test]
    fn missing_documents_are_not_found_whatever_the_renderer() {
        let versions = Versions::new();
        let snapshot = versions.next();
        let past_the_last = DocId::Feed {
            scope: Scope::Site,
            page: Page::Archive(3),
            format: Format::Atom,
        };
        // The store itself knows which archive pages exist; for everything else the
        // renderer says.
        assert!(matches!(
            snapshot.document_with(&past_the_last, failing),
            Lookup::NotFound
        ));
        let unknown = DocId::current(Scope::Category("nope".into()), Format::Atom);
        assert!(matches!(snapshot.document(&unknown), Lookup::NotFound));
        assert!(matches!(
            snapshot.document_with(&DocId::Index, |_, _| Ok(None)),
            Lookup::NotFound
        ));
    }

    #[test]
    fn the_documents_of_a_version_are_bounded_by_bytes() {
        let versions = Versions::new();
        let snapshot = Snapshot {
            cache: new_document_cache(4096),
            ..versions.next()
        };
        let big: &'static str = "x".repeat(1500).leak();
        let ids: Vec<DocId> = [Format::Atom, Format::Rss, Format::Json]
            .into_iter()
            .map(|f| DocId::current(Scope::Site, f))
            .collect();
        for id in &ids {
            assert!(matches!(
                snapshot.document_with(id, good(big)),
                Lookup::Found(_)
            ));
        }
        // Three documents of ~2.3 KB each do not all fit in 4 KB: some were let go, and
        // render again when asked for (correctly, just not for free).
        assert!(
            snapshot.cache.weight() <= 4096,
            "{}",
            snapshot.cache.weight()
        );
        assert!(ids.iter().any(|id| snapshot.cached(id).is_none()));
        for id in &ids {
            assert_eq!(
                body(&snapshot.document_with(id, good(big))),
                Some(big.as_bytes())
            );
        }
    }
}
