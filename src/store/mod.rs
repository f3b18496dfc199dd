//! The store: what the service publishes right now, and how a change becomes the next version.
//!
//! Readers load the current [`Snapshot`] with one atomic pointer read (arc-swap) and keep it
//! for the whole request, so every response's ETag matches its body even while a rebuild
//! swaps in a new snapshot. The one writer — the rebuild thread — owns a [`Catalog`], applies
//! changes to it, and publishes a new snapshot that shares every unaffected feed and every
//! unaffected rendered document with the previous one. A rebuild that finds only broken files
//! changes nothing readers see: the last good version of each post stays.

mod cache;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use arc_swap::ArcSwapOption;

use crate::config::Config;
use crate::documents::{self, Context, DocId};
use crate::feeds::{Feeds, Page, Scope};
use crate::load::{Catalog, Delta, LoadError};
use crate::posts::Bodies;
pub use cache::Rendered;

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
    /// Subscription documents, the index, OPML, the stylesheet: few (a handful per feed),
    /// requested all the time, so kept for as long as this version and carried over.
    cache: RwLock<HashMap<DocId, Arc<Rendered>>>,
    /// Archive pages: thousands at news-site scale and rarely requested, so shared across
    /// versions and bounded by bytes.
    archives: Arc<ArchiveCache>,
    /// Entries' rendered bodies, shared across versions: an edit re-renders one post's body,
    /// not those of every post in the feeds it touched.
    bodies: Arc<Bodies>,
}

/// Bytes of rendered archive pages (all encodings) kept across versions.
const ARCHIVE_CACHE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Clone)]
struct RenderedWeight;

impl quick_cache::Weighter<[u8; 32], Arc<Rendered>> for RenderedWeight {
    fn weight(&self, _key: &[u8; 32], doc: &Arc<Rendered>) -> u64 {
        doc.weight() as u64
    }
}

/// Archive pages keyed by a fingerprint of everything they are rendered from, so a page
/// whose entries did not change is found again whatever version asks for it.
type ArchiveCache = quick_cache::sync::Cache<[u8; 32], Arc<Rendered>, RenderedWeight>;

fn new_archive_cache() -> ArchiveCache {
    quick_cache::sync::Cache::with_weighter(4_096, ARCHIVE_CACHE_BYTES, RenderedWeight)
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
    /// The rendered document for `id`, rendering and compressing it on first request.
    /// `None` when the document does not exist in this version.
    pub fn document(&self, id: &DocId) -> Option<Arc<Rendered>> {
        let ctx = Context {
            config: &self.config,
            feeds: &self.feeds,
            bodies: &self.bodies,
        };
        if let DocId::Feed {
            scope,
            page: Page::Archive(n),
            ..
        } = id
        {
            let feed = self.feeds.get(scope)?;
            let limit = self.config.feeds.limit;
            let entries = feed.page(Page::Archive(*n), limit)?;
            // The page's bytes depend on its path, its entries, and whether a newer archive
            // page exists (its `next-archive` link); nothing else varies within one store.
            let mut h = blake3::Hasher::new();
            h.update(id.path().as_bytes());
            h.update(&[u8::from(*n < feed.archive_pages(limit))]);
            for post in entries {
                h.update(&post.content_hash);
                h.update(post.source.as_bytes());
            }
            let key = *h.finalize().as_bytes();
            return self
                .archives
                .get_or_insert_with(&key, || {
                    documents::render(ctx, id)
                        .map(|doc| Arc::new(Rendered::new(doc)))
                        .ok_or(())
                })
                .ok();
        }
        if let Some(hit) = self.cache.read().ok()?.get(id) {
            return Some(Arc::clone(hit));
        }
        // Rendered outside the lock: two requests racing for the same document both render
        // it, which costs a little CPU once but never blocks other documents' readers.
        let rendered = Arc::new(Rendered::new(documents::render(ctx, id)?));
        let mut cache = self.cache.write().ok()?;
        Some(Arc::clone(cache.entry(id.clone()).or_insert(rendered)))
    }
}

/// The currently published snapshot, shared by every request handler.
pub struct Store {
    current: ArcSwapOption<Snapshot>,
    archives: Arc<ArchiveCache>,
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
            archives: Arc::new(new_archive_cache()),
            bodies: Arc::new(Bodies::default()),
        }
    }

    /// The current snapshot, or `None` before the first load.
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.current.load_full()
    }

    /// Publishes the catalog's current state. Rendered documents of scopes not in `delta`
    /// are carried over from the previous snapshot; everything else renders on demand.
    pub fn publish(&self, catalog: &Catalog, delta: Option<&Delta>) -> Arc<Snapshot> {
        let previous = self.snapshot();
        let mut cache = HashMap::new();
        if let (Some(prev), Some(delta)) = (&previous, delta) {
            let affected: HashSet<&Scope> = delta.scopes.iter().collect();
            if let Ok(old) = prev.cache.read() {
                for (id, doc) in old.iter() {
                    if !depends_on(id, &affected) {
                        cache.insert(id.clone(), Arc::clone(doc));
                    }
                }
            }
        }
        let snapshot = Arc::new(Snapshot {
            config: Arc::clone(catalog.config()),
            feeds: catalog.feeds().clone(),
            errors: Arc::new(catalog.errors()),
            posts: catalog.post_count(),
            published_at: SystemTime::now(),
            generation: previous.map_or(1, |p| p.generation + 1),
            cache: RwLock::new(cache),
            archives: Arc::clone(&self.archives),
            bodies: Arc::clone(&self.bodies),
        });
        self.current.store(Some(Arc::clone(&snapshot)));
        snapshot
    }
}

/// Whether a document's bytes may change when `affected` scopes change. The index and the
/// OPML list show every feed (and counts), so they depend on all of them.
fn depends_on(id: &DocId, affected: &HashSet<&Scope>) -> bool {
    match id {
        DocId::Feed { scope, .. } => affected.contains(scope),
        DocId::JekyllFeed(None) => affected.contains(&Scope::Site),
        DocId::JekyllFeed(Some(c)) => affected.contains(&Scope::Category(c.clone())),
        DocId::Index | DocId::Opml => !affected.is_empty(),
        DocId::Stylesheet => false,
    }
}
