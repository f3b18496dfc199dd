//! `Feeds::apply` for one changed post — what every live rebuild does once the file is read —
//! at 10,000 and 100,000 posts (the site feed of that size plus every category and tag feed),
//! against the baseline in the same run: `Feeds::group` of all the posts from scratch.
//!
//!     cargo bench --bench feeds_apply
//!     FEEDS_SIZES="10000 100000 1000000" cargo bench --bench feeds_apply
//!     cargo bench --bench feeds_apply -- --warm-up-time 1 --measurement-time 2   # quick
//!
//! The posts: the front matter of a sample of corpus-shaped posts (`benches/support/mod.rs`;
//! 40 categories, Zipf-distributed, as in `scripts/bench.sh`), repeated with distinct paths
//! and evenly spread distinct dates, each with a one-line body (bodies play no part in
//! grouping).

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tidings::config::Config;
use tidings::feeds::{Change, Feeds};
use tidings::posts::front_matter::{self, Split};
use tidings::posts::{self, Loaded, Post, Source};

#[path = "support/mod.rs"]
mod support;

/// A site of `n` posts: each post's file text and path, and the posts newest first.
struct Site {
    texts: Vec<String>,
    paths: Vec<String>,
    index: HashMap<String, usize>,
    posts: Vec<Arc<Post>>,
    config: Config,
}

impl Site {
    fn new(front_matters: &[String], n: usize) -> Self {
        let config = Config::defaults();
        let first = Utc.with_ymd_and_hms(2015, 1, 1, 0, 0, 0).unwrap();
        // Twelve years, evenly: a few thousand seconds apart even at a million posts.
        let step = (12 * 365 * 86_400) / n.max(1) as i64;
        let mut texts = Vec::with_capacity(n);
        let mut paths = Vec::with_capacity(n);
        for i in 0..n {
            let date = first + Duration::seconds(step * i as i64);
            texts.push(with_date(&front_matters[i % front_matters.len()], date));
            paths.push(format!("posts/{i:07}.txt"));
        }
        let mut site = Self {
            index: paths.iter().cloned().zip(0..).collect(),
            texts,
            paths,
            posts: Vec::new(),
            config,
        };
        let mut posts: Vec<Arc<Post>> = (0..n).map(|i| site.load(i, None)).collect();
        posts.sort_by(|a, b| Post::newest_first(a, b));
        site.posts = posts;
        site
    }

    /// Post `i`, with its title replaced when `title` is given.
    fn load(&self, i: usize, title: Option<&str>) -> Arc<Post> {
        let text = match title {
            Some(t) => replace_line(&self.texts[i], "title:", &format!("title: \"{t}\"")),
            None => self.texts[i].clone(),
        };
        match posts::load_post(&Source::new(&self.paths[i], text.as_bytes()), &self.config) {
            Ok(Loaded::Post(p)) => p,
            other => panic!("post {i} does not load: {other:?}"),
        }
    }

    /// The post at `position` in the site feed, edited (its title only: same date, same
    /// categories and tags).
    fn edit(&self, feeds: &Feeds, position: usize) -> Change {
        let old = Arc::clone(&feeds.site.posts[position]);
        let new = self.load(self.index[&old.source], Some("an edited title"));
        Change {
            old: Some(old),
            new: Some(new),
        }
    }
}

/// The front matter of each sample post, with a one-line body.
fn front_matters() -> Vec<String> {
    let (files, _tmp) = support::sample(1000);
    let out: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let text = std::str::from_utf8(&f.bytes).ok()?;
            match front_matter::split(text) {
                Split::Parts { yaml, .. } => Some(format!("---\n{yaml}---\nA paragraph.\n")),
                _ => None,
            }
        })
        .collect();
    assert!(!out.is_empty(), "no sample post has front matter");
    out
}

fn replace_line(text: &str, key: &str, line: &str) -> String {
    let mut out = String::with_capacity(text.len() + line.len());
    let mut done = false;
    for l in text.split_inclusive('\n') {
        if !done && l.starts_with(key) {
            out.push_str(line);
            out.push('\n');
            done = true;
        } else {
            out.push_str(l);
        }
    }
    out
}

fn with_date(text: &str, date: DateTime<Utc>) -> String {
    let line = format!(
        "date: {}",
        date.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
            .format("%Y-%m-%d %H:%M:%S %z")
    );
    if text.lines().any(|l| l.starts_with("date:")) {
        replace_line(text, "date:", &line)
    } else {
        text.replacen("---\n", &format!("---\n{line}\n"), 1)
    }
}

fn feeds_apply(c: &mut Criterion) {
    let sizes: Vec<usize> = std::env::var("FEEDS_SIZES")
        .ok()
        .map(|v| {
            v.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_else(|| vec![10_000, 100_000]);
    let front_matters = front_matters();
    let now = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
    let mut group = c.benchmark_group("feeds");
    group.sample_size(20);
    for n in sizes {
        let site = Site::new(&front_matters, n);
        let feeds = Feeds::group(&site.posts, now, false);
        eprintln!(
            "{n} posts: {} feeds ({} categories, {} tags); the largest category holds {} posts",
            feeds.len(),
            feeds.categories.len(),
            feeds.tags.len(),
            feeds
                .categories
                .values()
                .map(|f| f.posts.len())
                .max()
                .unwrap_or(0)
        );
        let newest = site.edit(&feeds, 0);
        let middle = site.edit(&feeds, n / 2);
        let added = Change {
            old: None,
            new: Some({
                let mut p = site.load(0, Some("a new post"));
                // A new file, newer than every other post.
                let post = Arc::get_mut(&mut p).expect("not shared yet");
                post.source = "posts/new.txt".into();
                post.id.push_str("-new");
                post.date = site.posts[0].date + Duration::seconds(60);
                p
            }),
        };
        for (name, change) in [
            ("apply: the newest post edited", &newest),
            ("apply: a post halfway down edited", &middle),
            ("apply: a new newest post", &added),
        ] {
            group.bench_with_input(BenchmarkId::new(name, n), change, |b, change| {
                b.iter(|| feeds.apply(black_box(std::slice::from_ref(change))))
            });
        }
        group.bench_with_input(
            BenchmarkId::new("baseline: Feeds::group from scratch", n),
            &site.posts,
            |b, posts| b.iter(|| Feeds::group(black_box(posts), now, false)),
        );
    }
    group.finish();
}

criterion_group!(benches, feeds_apply);
criterion_main!(benches);
