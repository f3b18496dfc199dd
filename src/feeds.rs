//! Feeds: posts grouped into scopes — the whole site, every category, every tag — and each
//! feed cut into pages.
//!
//! Nothing here is configured per feed: a category or tag exists as soon as one visible post
//! names it, under exactly the name the post gives. Grouping is a pure function of the posts,
//! the page size and the moment `now` (posts dated later are not visible yet unless the site
//! publishes the future), so the same inputs always give the same feeds.
//!
//! Pages follow RFC 5005: archive pages are numbered from the oldest post, each holding exactly
//! `limit` entries, so an archive page's entries never change as newer posts arrive; only full
//! pages are archives, and the subscription document holds the newest `limit` entries, which
//! always include every entry not yet archived.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};

use crate::posts::Post;

/// What a feed is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Every post.
    Site,
    /// The posts of one category.
    Category(String),
    /// The posts with one tag.
    Tag(String),
}

impl Scope {
    /// The category or tag name; `None` for the site.
    pub fn name(&self) -> Option<&str> {
        match self {
            Scope::Site => None,
            Scope::Category(n) | Scope::Tag(n) => Some(n),
        }
    }
}

/// One page of a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Page {
    /// The subscription document: the newest entries.
    Current,
    /// Archive page `n`, counted from 1 at the oldest posts.
    Archive(usize),
}

/// The posts of one scope, newest first.
#[derive(Debug, Clone)]
pub struct Feed {
    /// What the feed is about.
    pub scope: Scope,
    /// Every visible post of the scope, in [`Post::newest_first`] order: a persistent
    /// vector, so a rebuild that changes a few posts of a feed of a million shares the rest
    /// with the feed it replaces.
    pub posts: imbl::Vector<Arc<Post>>,
}

impl Feed {
    /// How many full archive pages the feed has.
    pub fn archive_pages(&self, limit: usize) -> usize {
        self.posts.len() / limit.max(1)
    }

    /// The entries of a page, newest first; `None` for a page that does not exist.
    pub fn page(&self, page: Page, limit: usize) -> Option<Vec<Arc<Post>>> {
        let limit = limit.max(1);
        let range = match page {
            Page::Current => 0..self.posts.len().min(limit),
            Page::Archive(n) => {
                if n == 0 || n > self.archive_pages(limit) {
                    return None;
                }
                // Page n holds oldest-first positions (n-1)*limit .. n*limit, which in the
                // newest-first list end `(n-1)*limit` from the end.
                let end = self.posts.len() - (n - 1) * limit;
                end - limit..end
            }
        };
        Some(
            self.posts
                .focus()
                .narrow(range)
                .into_iter()
                .cloned()
                .collect(),
        )
    }

    /// The newest post, if any.
    pub fn newest(&self) -> Option<&Arc<Post>> {
        self.posts.front()
    }

    /// The newest change among `entries`: a document's `updated`, never the build time.
    pub fn last_change<'a>(
        entries: impl IntoIterator<Item = &'a Arc<Post>>,
    ) -> Option<DateTime<FixedOffset>> {
        entries.into_iter().map(|p| p.last_change()).max()
    }
}

/// Every feed of the site.
///
/// Feeds are shared (`Arc`) so that a rebuild can copy the whole set cheaply and replace only
/// the feeds a change touched.
#[derive(Debug, Clone)]
pub struct Feeds {
    /// The feed of every post.
    pub site: Arc<Feed>,
    /// One feed per category, by name.
    pub categories: BTreeMap<String, Arc<Feed>>,
    /// One feed per tag, by name.
    pub tags: BTreeMap<String, Arc<Feed>>,
}

/// One post entering, leaving or changing in the set of visible posts.
#[derive(Debug, Clone)]
pub struct Change {
    /// The version that was visible, if any.
    pub old: Option<Arc<Post>>,
    /// The version that is visible now, if any.
    pub new: Option<Arc<Post>>,
}

impl Feeds {
    /// Groups `posts` (already sorted newest first) into feeds, leaving out posts dated after
    /// `now` unless `future` is set.
    pub fn group(posts: &[Arc<Post>], now: DateTime<Utc>, future: bool) -> Self {
        let visible: Vec<Arc<Post>> = posts
            .iter()
            .filter(|p| future || p.date <= now)
            .cloned()
            .collect();
        let mut categories: BTreeMap<String, Feed> = BTreeMap::new();
        let mut tags: BTreeMap<String, Feed> = BTreeMap::new();
        for post in &visible {
            for name in &post.categories {
                file_under(&mut categories, name, Scope::Category, post);
            }
            for name in &post.tags {
                file_under(&mut tags, name, Scope::Tag, post);
            }
        }
        Self {
            site: Arc::new(Feed {
                scope: Scope::Site,
                posts: visible.into_iter().collect(),
            }),
            categories: categories
                .into_iter()
                .map(|(k, v)| (k, Arc::new(v)))
                .collect(),
            tags: tags.into_iter().map(|(k, v)| (k, Arc::new(v))).collect(),
        }
    }

    /// Applies changes to the visible posts, returning the new feeds and the scopes whose
    /// entries changed. Only those feeds are rebuilt; every other feed is shared with `self`.
    /// The posts of each feed are exactly what [`Feeds::group`] would give for the new set of
    /// posts.
    pub fn apply(&self, changes: &[Change]) -> (Feeds, Vec<Scope>) {
        // Per affected scope: posts leaving it, and posts entering it. Leaving posts are the
        // very `Arc`s the feeds hold, so they are recognised by pointer, not by comparing
        // strings across a 100,000-post feed.
        let mut edits: BTreeMap<Scope, Edit<'_>> = BTreeMap::new();
        for change in changes {
            if let Some(old) = &change.old {
                for scope in scopes_of(old) {
                    edits.entry(scope).or_default().leaving.push(old);
                }
            }
            if let Some(new) = &change.new {
                for scope in scopes_of(new) {
                    edits.entry(scope).or_default().entering.push(new);
                }
            }
        }
        let mut next = self.clone();
        let mut affected = Vec::with_capacity(edits.len());
        for (
            scope,
            Edit {
                leaving,
                mut entering,
            },
        ) in edits
        {
            // The old list is shared, not copied: each post leaving or entering costs a binary
            // search and a change to the one chunk it lies in, whatever the feed's size.
            let mut posts = self
                .get(&scope)
                .map(|f| f.posts.clone())
                .unwrap_or_default();
            for post in leaving {
                let found = match posts.binary_search_by(|p| Post::newest_first(p, post)) {
                    Ok(i) if Arc::ptr_eq(&posts[i], post) => Some(i),
                    // The order is total, so this is never reached; were it, a scan still
                    // finds the post.
                    _ => posts.iter().position(|p| Arc::ptr_eq(p, post)),
                };
                if let Some(i) = found {
                    posts.remove(i);
                }
            }
            entering.sort_by(|a, b| Post::newest_first(a, b));
            for post in entering {
                let (Ok(i) | Err(i)) = posts.binary_search_by(|p| Post::newest_first(p, post));
                posts.insert(i, Arc::clone(post));
            }
            let feed = Arc::new(Feed {
                scope: scope.clone(),
                posts,
            });
            match &scope {
                Scope::Site => next.site = feed,
                Scope::Category(n) | Scope::Tag(n) => {
                    let map = if matches!(scope, Scope::Category(_)) {
                        &mut next.categories
                    } else {
                        &mut next.tags
                    };
                    if feed.posts.is_empty() {
                        map.remove(n);
                    } else {
                        map.insert(n.clone(), feed);
                    }
                }
            }
            affected.push(scope);
        }
        (next, affected)
    }

    /// The feed of a scope.
    pub fn get(&self, scope: &Scope) -> Option<&Feed> {
        match scope {
            Scope::Site => Some(&self.site),
            Scope::Category(n) => self.categories.get(n).map(|f| &**f),
            Scope::Tag(n) => self.tags.get(n).map(|f| &**f),
        }
    }

    /// Every feed: the site first, then categories, then tags, each by name.
    pub fn iter(&self) -> impl Iterator<Item = &Feed> {
        std::iter::once(&*self.site)
            .chain(self.categories.values().map(|f| &**f))
            .chain(self.tags.values().map(|f| &**f))
    }

    /// How many feeds there are.
    pub fn len(&self) -> usize {
        1 + self.categories.len() + self.tags.len()
    }

    /// Never empty: the site feed always exists, even with no posts.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Adds `post` to the feed of `name` in `map`, made with `scope` if it is the first.
fn file_under(
    map: &mut BTreeMap<String, Feed>,
    name: &str,
    scope: fn(String) -> Scope,
    post: &Arc<Post>,
) {
    // Looked up before inserting: an entry() would allocate the key for every post.
    if let Some(feed) = map.get_mut(name) {
        feed.posts.push_back(Arc::clone(post));
        return;
    }
    let mut posts = imbl::Vector::new();
    posts.push_back(Arc::clone(post));
    map.insert(
        name.to_owned(),
        Feed {
            scope: scope(name.to_owned()),
            posts,
        },
    );
}

/// What one change does to one feed.
#[derive(Default)]
struct Edit<'a> {
    leaving: Vec<&'a Arc<Post>>,
    entering: Vec<&'a Arc<Post>>,
}

/// Every scope a post belongs to.
pub fn scopes_of(post: &Post) -> impl Iterator<Item = Scope> + '_ {
    std::iter::once(Scope::Site)
        .chain(
            post.categories
                .iter()
                .map(|c| Scope::Category(c.to_string())),
        )
        .chain(post.tags.iter().map(|t| Scope::Tag(t.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::posts::{Loaded, Source, load_post};

    fn post(i: usize, day: u32, cats: &str, tags: &str) -> Arc<Post> {
        let text = format!(
            "---\ntitle: p{i}\ndate: 2022-05-{day:02} 10:00:00 +0800\ncategories: {cats}\ntags: {tags}\n---\nx"
        );
        let path = format!("p{i}.md");
        match load_post(&Source::new(&path, text.as_bytes()), &Config::defaults()) {
            Ok(Loaded::Post(p)) => p,
            other => panic!("{other:?}"),
        }
    }

    fn ids(feeds: &Feeds) -> Vec<(Scope, Vec<String>)> {
        feeds
            .iter()
            .map(|f| {
                (
                    f.scope.clone(),
                    f.posts.iter().map(|p| p.source.clone()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn applying_changes_equals_regrouping() {
        let now = Utc::now();
        // A deterministic pseudo-random walk of edits: add, change categories, remove.
        let mut current: Vec<Option<Arc<Post>>> = vec![None; 12];
        let mut feeds = Feeds::group(&[], now, false);
        let mut seed = 7u32;
        for step in 0..300 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let i = (seed >> 8) as usize % current.len();
            let day = 1 + (seed >> 4) % 28;
            let cats = ["a", "b", "a b", "c"][(seed >> 12) as usize % 4];
            let tags = ["t", "u", "t u", "v"][(seed >> 16) as usize % 4];
            let new = if (seed >> 20).is_multiple_of(5) {
                None
            } else {
                Some(post(i, day, cats, tags))
            };
            let change = Change {
                old: current[i].clone(),
                new: new.clone(),
            };
            let changed = change.old.is_some() || change.new.is_some();
            current[i] = new;
            let (next, affected) = feeds.apply(&[change]);
            let mut all: Vec<Arc<Post>> = current.iter().flatten().cloned().collect();
            all.sort_by(|a, b| Post::newest_first(a, b));
            let expected = Feeds::group(&all, now, false);
            assert_eq!(ids(&next), ids(&expected), "step {step}");
            assert_eq!(affected.contains(&Scope::Site), changed);
            // Unaffected feeds are shared, not copied.
            for (name, feed) in &next.categories {
                if !affected.contains(&Scope::Category(name.clone())) {
                    assert!(Arc::ptr_eq(feed, &feeds.categories[name]));
                }
            }
            feeds = next;
        }
    }

    #[test]
    fn pages_count_from_the_oldest() {
        let posts: Vec<Arc<Post>> = (0..25)
            .rev()
            .map(|i| post(i, 1 + i as u32, "a", "t"))
            .collect();
        let feed = Feed {
            scope: Scope::Site,
            posts: posts.into_iter().collect(),
        };
        assert_eq!(feed.archive_pages(10), 2);
        let page1: Vec<String> = feed
            .page(Page::Archive(1), 10)
            .unwrap()
            .iter()
            .map(|p| p.source.clone())
            .collect();
        assert_eq!(page1.first().map(String::as_str), Some("p9.md"));
        assert_eq!(page1.last().map(String::as_str), Some("p0.md"));
        assert_eq!(feed.page(Page::Current, 10).unwrap().len(), 10);
        assert!(feed.page(Page::Archive(3), 10).is_none());
        assert!(feed.page(Page::Archive(0), 10).is_none());
    }
}
