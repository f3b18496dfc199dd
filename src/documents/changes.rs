//! Which documents a rebuild changed: the one answer WebSub (which feeds to announce) and
//! cache purging (which URLs to evict) both need, decided from the feeds alone, without
//! rendering anything.
//!
//! Within one process the configuration is fixed, so a document's bytes are a function of the
//! feeds only, and of little of them:
//!
//! - a subscription document (every format, the HTML page, jekyll-feed's alias): its newest
//!   `limit` entries, and how many archive pages there are (its `prev-archive` link);
//! - archive page `n`: its entries, and whether page `n + 1` exists (its `next-archive` link;
//!   the HTML page's "newer" link points at the subscription page otherwise);
//! - the HTML index: which feeds exist and how many posts each holds;
//! - the OPML list: which feeds exist, and the newest change among all posts (`dateModified`).
//!
//! A post is a new `Arc` whenever it changes (an unchanged file keeps its `Arc`), so entries
//! are compared by pointer: cheap even for a feed of 100,000 posts.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{DocId, Format};
use crate::feeds::{Feed, Feeds, Page, Scope};

/// Every format a feed page is served in, the HTML page included.
const EVERY_FORMAT: [Format; 4] = [Format::Atom, Format::Rss, Format::Json, Format::Html];

/// Every document whose bytes differ between `old` and `new`, given the `scopes` whose
/// entries changed (what [`Feeds::apply`] reports; other feeds are the same). Documents that
/// no longer exist (a feed that lost its last post, an archive page that emptied) are
/// included: their URLs now answer 404. Each page is listed under every format and alias.
pub fn changed(old: &Feeds, new: &Feeds, scopes: &[Scope], limit: usize) -> BTreeSet<DocId> {
    let mut ids = BTreeSet::new();
    let mut listing = false;
    for scope in scopes {
        let (before, after) = (old.get(scope), new.get(scope));
        if before.is_none() && after.is_none() {
            continue;
        }
        listing |= before.map(|f| f.posts.len()) != after.map(|f| f.posts.len());
        changed_pages(scope, before, after, limit, &mut ids);
    }
    // The index counts each feed's posts, so a feed appearing, vanishing or changing size
    // changes it. The OPML list shows no counts, only the feeds and the newest change.
    let feeds_differ = old.categories.len() != new.categories.len()
        || old.tags.len() != new.tags.len()
        || !old.categories.keys().eq(new.categories.keys())
        || !old.tags.keys().eq(new.tags.keys());
    if listing || feeds_differ {
        ids.insert(DocId::Index);
    }
    if feeds_differ
        || (scopes.contains(&Scope::Site)
            && Feed::last_change(&old.site.posts) != Feed::last_change(&new.site.posts))
    {
        ids.insert(DocId::Opml);
    }
    ids
}

/// The pages of one feed whose bytes changed; a side that is `None` has no such feed.
fn changed_pages(
    scope: &Scope,
    before: Option<&Feed>,
    after: Option<&Feed>,
    limit: usize,
    ids: &mut BTreeSet<DocId>,
) {
    let pages_before = before.map_or(0, |f| f.archive_pages(limit));
    let pages_after = after.map_or(0, |f| f.archive_pages(limit));
    let current_changed = pages_before != pages_after || !same(before, after, Page::Current, limit);
    if current_changed {
        ids.extend(
            EVERY_FORMAT
                .into_iter()
                .map(|format| DocId::current(scope.clone(), format)),
        );
        match scope {
            Scope::Site => {
                ids.insert(DocId::JekyllFeed(None));
            }
            Scope::Category(name) => {
                ids.insert(DocId::JekyllFeed(Some(name.clone())));
            }
            Scope::Tag(_) => {}
        }
    }
    for n in 1..=pages_before.max(pages_after) {
        let page = Page::Archive(n);
        let has_next = |pages: usize| n < pages;
        // A page that exists on one side only fails `same` (one side is `None`).
        if has_next(pages_before) != has_next(pages_after) || !same(before, after, page, limit) {
            ids.extend(EVERY_FORMAT.into_iter().map(|format| DocId::Feed {
                scope: scope.clone(),
                page,
                format,
            }));
        }
    }
}

/// Whether a page holds the very same posts on both sides (pointer equality: a changed post
/// is a new `Arc`). A page missing on either side is not the same. Compared in place, without
/// copying the pages out of the feeds' persistent vectors.
fn same(a: Option<&Feed>, b: Option<&Feed>, page: Page, limit: usize) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return false;
    };
    let (Some(ra), Some(rb)) = (range(a, page, limit), range(b, page, limit)) else {
        return false;
    };
    if ra.len() != rb.len() {
        return false;
    }
    let (fa, fb) = (a.posts.focus().narrow(ra), b.posts.focus().narrow(rb));
    fa.into_iter().zip(fb).all(|(x, y)| Arc::ptr_eq(x, y))
}

/// Where a page's entries sit in its feed's newest-first list (as [`Feed::page`] cuts it);
/// `None` for a page that does not exist.
fn range(feed: &Feed, page: Page, limit: usize) -> Option<std::ops::Range<usize>> {
    let limit = limit.max(1);
    let len = feed.posts.len();
    match page {
        Page::Current => Some(0..len.min(limit)),
        Page::Archive(n) => {
            if n == 0 || n > feed.archive_pages(limit) {
                return None;
            }
            let end = len - (n - 1) * limit;
            Some(end - limit..end)
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::config::Config;
    use crate::feeds::Change;
    use crate::posts::{Loaded, Post, Source, load_post};

    fn post(i: usize, title: &str, cats: &str, tags: &str) -> Arc<Post> {
        let text = format!(
            "---\ntitle: {title}\ndate: 2022-05-{:02} 10:00:00 +0800\ncategories: {cats}\ntags: {tags}\n---\nx",
            1 + i
        );
        match load_post(
            &Source::new(&format!("p{i}.md"), text.as_bytes()),
            &Config::defaults(),
        ) {
            Ok(Loaded::Post(p)) => p,
            other => panic!("{other:?}"),
        }
    }

    /// Feeds of `n` posts (post `i` dated day `i + 1`), all in category `a`, odd ones tagged `t`.
    fn site(n: usize) -> (Vec<Arc<Post>>, Feeds) {
        let posts: Vec<Arc<Post>> = (0..n)
            .map(|i| {
                post(
                    i,
                    &format!("p{i}"),
                    "a",
                    if i % 2 == 1 { "t" } else { "[]" },
                )
            })
            .collect();
        let mut sorted = posts.clone();
        sorted.sort_by(|a, b| Post::newest_first(a, b));
        (posts, Feeds::group(&sorted, Utc::now(), true))
    }

    fn apply(feeds: &Feeds, changes: Vec<Change>) -> (Feeds, Vec<Scope>) {
        feeds.apply(&changes)
    }

    fn paths(ids: &BTreeSet<DocId>) -> Vec<String> {
        let mut paths: Vec<String> = ids.iter().map(DocId::path).collect();
        paths.sort();
        paths
    }

    fn every_format(stem: &str) -> Vec<String> {
        ["atom", "html", "json", "rss"]
            .iter()
            .map(|ext| format!("{stem}.{ext}"))
            .collect()
    }

    #[test]
    fn an_edit_deep_in_the_archives_changes_only_the_page_that_holds_it() {
        // Limit 2, 7 posts: archive pages 1 (p0, p1), 2 (p2, p3), 3 (p4, p5); current p6, p5.
        let (posts, feeds) = site(7);
        let edited = post(2, "p2 edited", "a", "[]");
        let (next, scopes) = apply(
            &feeds,
            vec![Change {
                old: Some(Arc::clone(&posts[2])),
                new: Some(edited),
            }],
        );
        let ids = changed(&feeds, &next, &scopes, 2);
        let mut expected = every_format("/category/a/archive/2");
        expected.extend(every_format("/feed/archive/2"));
        expected.sort();
        assert_eq!(paths(&ids), expected);
    }

    #[test]
    fn an_edit_of_a_newest_post_changes_its_subscription_pages_and_aliases() {
        let (posts, feeds) = site(7);
        let edited = post(5, "p5 edited", "a", "t");
        let (next, scopes) = apply(
            &feeds,
            vec![Change {
                old: Some(Arc::clone(&posts[5])),
                new: Some(edited),
            }],
        );
        let ids = changed(&feeds, &next, &scopes, 2);
        // p5 is on the current pages (and the site's and category's third archive page); in
        // the tag `t` (p1, p3, p5) it is the current page, and not yet archived past page 1.
        let mut expected = Vec::new();
        for stem in ["/category/a", "/feed", "/tag/t"] {
            expected.extend(every_format(stem));
        }
        expected.extend(every_format("/category/a/archive/3"));
        expected.extend(every_format("/feed/archive/3"));
        expected.push("/feed.xml".into());
        expected.push("/feed/a.xml".into());
        expected.sort();
        assert_eq!(paths(&ids), expected);
        assert!(!ids.contains(&DocId::Index), "counts are the same");
        assert!(!ids.contains(&DocId::Opml), "the newest date is the same");
    }

    #[test]
    fn a_new_post_changes_the_subscription_pages_of_its_scopes_and_the_listings() {
        let (_, feeds) = site(6);
        // A seventh post: the current pages change; 7 posts still make 3 full pages of 2.
        let (next, scopes) = apply(
            &feeds,
            vec![Change {
                old: None,
                new: Some(post(6, "p6", "b", "[]")),
            }],
        );
        let ids = changed(&feeds, &next, &scopes, 2);
        let mut expected = Vec::new();
        for stem in ["/category/b", "/feed"] {
            expected.extend(every_format(stem));
        }
        expected.extend(["/", "/feed.xml", "/feed/b.xml", "/feeds.opml"].map(String::from));
        expected.sort();
        assert_eq!(paths(&ids), expected);
    }

    #[test]
    fn a_page_filling_up_changes_the_page_before_it_and_nothing_older() {
        // 5 posts at limit 2: archive pages 1 and 2; a sixth post fills page 3.
        let (_, feeds) = site(5);
        let (next, scopes) = apply(
            &feeds,
            vec![Change {
                old: None,
                new: Some(post(5, "p5", "a", "[]")),
            }],
        );
        let ids = changed(&feeds, &next, &scopes, 2);
        let site: Vec<String> = paths(&ids)
            .into_iter()
            .filter(|p| p.starts_with("/feed/archive/"))
            .collect();
        let mut expected = every_format("/feed/archive/2");
        expected.extend(every_format("/feed/archive/3"));
        expected.sort();
        assert_eq!(site, expected, "page 2 gains its next link; page 3 appears");
        assert!(paths(&ids).contains(&"/feed.atom".to_owned()));
    }

    #[test]
    fn a_feed_that_vanishes_is_listed_whole() {
        let (posts, feeds) = site(5);
        // The tag `t` holds p1 and p3; remove both.
        let (next, scopes) = apply(
            &feeds,
            vec![
                Change {
                    old: Some(Arc::clone(&posts[1])),
                    new: None,
                },
                Change {
                    old: Some(Arc::clone(&posts[3])),
                    new: None,
                },
            ],
        );
        assert!(next.get(&Scope::Tag("t".into())).is_none());
        let ids = changed(&feeds, &next, &scopes, 2);
        let tag: Vec<String> = paths(&ids)
            .into_iter()
            .filter(|p| p.starts_with("/tag/"))
            .collect();
        let mut expected = every_format("/tag/t");
        expected.extend(every_format("/tag/t/archive/1"));
        expected.sort();
        assert_eq!(tag, expected);
        assert!(ids.contains(&DocId::Index) && ids.contains(&DocId::Opml));
    }

    #[test]
    fn nothing_changed_is_nothing() {
        let (_, feeds) = site(5);
        assert!(changed(&feeds, &feeds, &[Scope::Site], 2).is_empty());
        assert!(changed(&feeds, &feeds, &[], 2).is_empty());
    }
}
