//! Documents: every format parsed back by real parsers, structural rules of each spec,
//! snapshots, determinism, archive chains, and awkward names.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use feed_rs::model::FeedType;
use tidings::config::Config;
use tidings::documents::{self, Context, DocId, Format};
use tidings::feeds::{Feeds, Page, Scope};
use tidings::posts::Bodies;

use crate::support::{config, load_at, sample_dir, site};

/// A fixed "now" after every sample post, so tests never depend on the clock.
fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
        .map(|d| d.with_timezone(&Utc))
        .expect("valid date")
}

/// Loads a directory and renders every document, keyed by path.
fn render_all(dir: &std::path::Path, cfg: &Config) -> (Feeds, BTreeMap<String, Vec<u8>>) {
    let catalog = load_at(dir, cfg, now());
    assert!(catalog.errors().is_empty(), "{:?}", catalog.errors());
    let feeds = catalog.feeds().clone();
    let bodies = Bodies::default();
    let ctx = Context {
        config: cfg,
        feeds: &feeds,
        bodies: &bodies,
    };
    let docs = documents::all(ctx)
        .into_iter()
        .map(|id| {
            let doc = documents::render(ctx, &id)
                .ok()
                .flatten()
                .unwrap_or_else(|| panic!("{id:?} renders"));
            (id.path(), doc.body.to_vec())
        })
        .collect();
    (feeds, docs)
}

fn sample_config() -> Config {
    config(
        "[site]\ntitle = \"Sample & <Co>\"\nurl = \"https://finews.withounder.com/\"\n\
         base_url = \"https://feeds.example.org/news/\"\nlanguage = \"zh-CN\"\n\
         timezone = \"Asia/Shanghai\"\n[site.author]\nname = \"Desk\"\n\
         [posts]\nid_authority = \"example.org,2022\"\n",
    )
}

#[test]
fn every_document_of_the_sample_site_parses_as_its_format() {
    let cfg = sample_config();
    let (feeds, docs) = render_all(&sample_dir(), &cfg);
    let limit = cfg.feeds.limit;
    let mut checked = 0;
    for feed in feeds.iter() {
        for format in Format::ALL {
            let mut pages = vec![Page::Current];
            pages.extend((1..=feed.archive_pages(limit)).map(Page::Archive));
            for page in pages {
                let id = DocId::Feed {
                    scope: feed.scope.clone(),
                    page,
                    format,
                };
                let body = &docs[&id.path()];
                let parsed = feed_rs::parser::parse(&body[..])
                    .unwrap_or_else(|e| panic!("{}: {e}", id.path()));
                let expected_type = match format {
                    Format::Atom => FeedType::Atom,
                    Format::Rss => FeedType::RSS2,
                    Format::Json => FeedType::JSON,
                    Format::Html => unreachable!("not a feed format"),
                };
                assert_eq!(parsed.feed_type, expected_type, "{}", id.path());
                let entries = feed.page(page, limit).expect("page exists");
                let expected: Vec<&str> = entries.iter().map(|p| p.id.as_str()).collect();
                let got: Vec<&str> = parsed.entries.iter().map(|e| e.id.as_str()).collect();
                assert_eq!(got, expected, "{}", id.path());
                for entry in &parsed.entries {
                    assert!(entry.title.is_some(), "{}: entry without title", id.path());
                    assert!(
                        entry.published.is_some(),
                        "{}: entry without date",
                        id.path()
                    );
                    assert!(
                        entry.links.iter().all(|l| l.href.starts_with("https://")),
                        "{}: relative link",
                        id.path()
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "checked {checked} documents");
    // jekyll-feed's paths are Atom too.
    let parsed = feed_rs::parser::parse(&docs["/feed.xml"][..]).expect("feed.xml parses");
    assert_eq!(parsed.feed_type, FeedType::Atom);
    let parsed = feed_rs::parser::parse(&docs["/feed/shanxiwanbao.xml"][..]).expect("parses");
    assert_eq!(parsed.feed_type, FeedType::Atom);
}

fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Vec<roxmltree::Node<'a, 'i>> {
    n.children()
        .filter(|c| c.tag_name().name() == name)
        .collect()
}

/// Atom: what RFC 4287 requires of a feed and its entries.
#[test]
fn atom_meets_rfc_4287() {
    let cfg = sample_config();
    let (_, docs) = render_all(&sample_dir(), &cfg);
    let text = std::str::from_utf8(&docs["/category/shanxiwanbao.atom"]).expect("utf-8");
    assert!(
        !text.contains("xml-stylesheet"),
        "browsers get the HTML page instead"
    );
    let doc = roxmltree::Document::parse(text).expect("well-formed");
    let feed = doc.root_element();
    assert_eq!(feed.tag_name().name(), "feed");
    assert_eq!(
        feed.tag_name().namespace(),
        Some("http://www.w3.org/2005/Atom")
    );
    assert_eq!(child(feed, "id").len(), 1);
    assert_eq!(child(feed, "title").len(), 1);
    assert_eq!(child(feed, "updated").len(), 1);
    let self_links: Vec<_> = child(feed, "link")
        .into_iter()
        .filter(|l| l.attribute("rel") == Some("self"))
        .collect();
    assert_eq!(self_links.len(), 1);
    assert_eq!(
        self_links[0].attribute("href"),
        Some("https://feeds.example.org/news/category/shanxiwanbao.atom")
    );
    let feed_has_author = !child(feed, "author").is_empty();
    let entries = child(feed, "entry");
    assert_eq!(entries.len(), 20);
    let mut newest_entry_update = String::new();
    for e in &entries {
        for required in ["id", "title", "updated"] {
            assert_eq!(child(*e, required).len(), 1, "entry lacks {required}");
        }
        assert!(feed_has_author || !child(*e, "author").is_empty());
        let content = child(*e, "content");
        assert_eq!(content[0].attribute("type"), Some("html"));
        let updated = child(*e, "updated")[0].text().unwrap_or_default();
        DateTime::parse_from_rfc3339(updated).expect("RFC 3339");
        if updated > newest_entry_update.as_str() {
            newest_entry_update = updated.to_owned();
        }
    }
    // The feed's `updated` is its newest entry's, never the build time.
    assert_eq!(
        child(feed, "updated")[0].text(),
        Some(newest_entry_update.as_str())
    );
}

/// RSS 2.0: required channel elements, RFC 822 dates with the post's own offset, guid rules,
/// `dc:creator` without `author`, `description` before `content:encoded`.
#[test]
fn rss_meets_the_rss_2_spec() {
    let cfg = sample_config();
    let (_, docs) = render_all(&sample_dir(), &cfg);
    let text = std::str::from_utf8(&docs["/feed.rss"]).expect("utf-8");
    let doc = roxmltree::Document::parse(text).expect("well-formed");
    let rss = doc.root_element();
    assert_eq!(rss.attribute("version"), Some("2.0"));
    let channel = rss.first_element_child().expect("channel");
    for required in ["title", "link", "description", "lastBuildDate", "ttl"] {
        assert!(
            channel.children().any(|c| c.tag_name().name() == required),
            "channel lacks {required}"
        );
    }
    let atom_self = channel
        .children()
        .find(|c| {
            c.tag_name().namespace() == Some("http://www.w3.org/2005/Atom")
                && c.attribute("rel") == Some("self")
        })
        .expect("atom:link rel=self");
    assert_eq!(
        atom_self.attribute("href"),
        Some("https://feeds.example.org/news/feed.rss")
    );
    for item in channel.children().filter(|c| c.tag_name().name() == "item") {
        let names: Vec<&str> = item
            .children()
            .filter(|c| c.is_element())
            .map(|c| c.tag_name().name())
            .collect();
        let desc = names
            .iter()
            .position(|n| *n == "description")
            .expect("description");
        let content = names
            .iter()
            .position(|n| *n == "encoded")
            .expect("content:encoded");
        assert!(desc < content, "description comes first");
        assert!(
            !names.contains(&"author"),
            "no author element beside dc:creator"
        );
        assert!(names.contains(&"creator"));
        let guid = item
            .children()
            .find(|c| c.tag_name().name() == "guid")
            .expect("guid");
        assert_eq!(guid.attribute("isPermaLink"), Some("false"));
        let date = item
            .children()
            .find(|c| c.tag_name().name() == "pubDate")
            .and_then(|d| d.text())
            .expect("pubDate");
        let parsed = DateTime::parse_from_rfc2822(date).expect("RFC 822 date");
        assert_eq!(parsed.to_rfc2822(), date, "four-digit year, numeric offset");
    }
    let seed_date = "Thu, 26 May 2022 07:32:30 +0800";
    let all_rss: String = docs
        .iter()
        .filter(|(p, _)| p.ends_with(".rss"))
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .collect();
    assert!(
        all_rss.contains(seed_date),
        "the seed keeps its +0800 offset"
    );
}

#[test]
fn json_feed_meets_version_1_1() {
    let cfg = sample_config();
    let (_, docs) = render_all(&sample_dir(), &cfg);
    let v: serde_json::Value = serde_json::from_slice(
        &docs["/tag/%E5%B1%B1%E8%A5%BF%E6%99%9A%E6%8A%A5%E6%96%B0%E9%97%BB.json"],
    )
    .expect("valid JSON");
    assert_eq!(v["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(
        v["feed_url"],
        "https://feeds.example.org/news/tag/%E5%B1%B1%E8%A5%BF%E6%99%9A%E6%8A%A5%E6%96%B0%E9%97%BB.json"
    );
    assert_eq!(v["language"], "zh-CN");
    let items = v["items"].as_array().expect("items");
    assert!(!items.is_empty());
    for item in items {
        assert!(item["id"].is_string());
        assert!(item["content_html"].is_string());
        let date = item["date_published"].as_str().expect("date");
        DateTime::parse_from_rfc3339(date).expect("RFC 3339");
    }
}

#[test]
fn the_seed_entry_is_pinned_in_every_format() {
    let seed = std::fs::read(sample_dir().join("000_63a78f89bb4a24b3.txt")).expect("seed");
    let dir = site(&[("000_63a78f89bb4a24b3.txt", &seed)]);
    let cfg = sample_config();
    let (_, docs) = render_all(dir.path(), &cfg);
    insta::assert_snapshot!("seed_atom", String::from_utf8_lossy(&docs["/feed.atom"]));
    insta::assert_snapshot!("seed_rss", String::from_utf8_lossy(&docs["/feed.rss"]));
    insta::assert_snapshot!("seed_json", String::from_utf8_lossy(&docs["/feed.json"]));
}

#[test]
fn two_builds_are_byte_identical() {
    let cfg = sample_config();
    let (_, first) = render_all(&sample_dir(), &cfg);
    let (_, second) = render_all(&sample_dir(), &cfg);
    assert_eq!(first, second);

    let out1 = tempfile::tempdir().expect("tempdir");
    let out2 = tempfile::tempdir().expect("tempdir");
    let mut cfg = sample_config();
    cfg.content_dir = sample_dir();
    for out in [&out1, &out2] {
        let report = tidings::export::export(
            &cfg,
            &out.path().join("site"),
            now(),
            tidings::export::Replace::ExportsOnly,
        )
        .expect("export");
        assert!(report.errors.is_empty());
    }
    let files = |root: &std::path::Path| -> BTreeMap<String, Vec<u8>> {
        walkdir::WalkDir::new(root)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let rel = e.path().strip_prefix(root).expect("under root");
                (
                    rel.display().to_string(),
                    std::fs::read(e.path()).expect("read"),
                )
            })
            .collect()
    };
    let a = files(&out1.path().join("site"));
    let b = files(&out2.path().join("site"));
    let documents = a
        .keys()
        .filter(|name| !name.ends_with(".gz") && !name.ends_with(".br"))
        .count();
    assert_eq!(
        documents,
        first.len() + 3,
        "one file per document (besides its compressed copies), the manifest and the nginx \
         snippets"
    );
    assert!(a.contains_key(tidings::export::MANIFEST));
    assert!(a.contains_key(tidings::export::nginx::NGINX));
    assert!(a == b, "exports differ");
    for (path, body) in &first {
        let id = DocId::parse(path).expect("path parses");
        let file = id.file_path().display().to_string();
        assert_eq!(
            a.get(&file),
            Some(body),
            "{file} matches what the server would send"
        );
    }
}

/// Writes `n` posts in category `c`, one a day from 2020-01-01, plus extra categories.
fn numbered_posts(n: usize) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let date = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).expect("date")
                + chrono::Duration::days(i as i64);
            (
                format!("p{i:03}.md"),
                format!("---\ntitle: Post {i}\ndate: {date} 12:00:00 +0800\ncategories: c\n---\nBody {i}\n")
                    .into_bytes(),
            )
        })
        .collect()
}

fn write_posts(posts: &[(String, Vec<u8>)]) -> tempfile::TempDir {
    let files: Vec<(&str, &[u8])> = posts
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    site(&files)
}

/// Follows `prev-archive` (or JSON's `next_url`) from a subscription document to the oldest
/// archive, returning the entry ids of each archive page visited.
fn walk(
    docs: &BTreeMap<String, Vec<u8>>,
    start: &str,
    base: &str,
) -> (Vec<String>, Vec<Vec<String>>) {
    let mut current_ids = Vec::new();
    let mut archives = Vec::new();
    let mut path = Some(start.to_owned());
    let mut first = true;
    while let Some(p) = path.take() {
        let body = docs
            .get(&p)
            .unwrap_or_else(|| panic!("chain points to missing {p}"));
        let parsed = feed_rs::parser::parse(&body[..]).expect("parses");
        let ids: Vec<String> = parsed.entries.iter().map(|e| e.id.clone()).collect();
        let next = if p.ends_with(".json") {
            let v: serde_json::Value = serde_json::from_slice(body).expect("json");
            v["next_url"].as_str().map(str::to_owned)
        } else {
            let text = std::str::from_utf8(body).expect("utf-8");
            let doc = roxmltree::Document::parse(text).expect("xml");
            let is_archive = doc.descendants().any(|n| {
                n.tag_name().name() == "archive"
                    && n.tag_name().namespace() == Some("http://purl.org/syndication/history/1.0")
            });
            assert_eq!(is_archive, !first, "{p}: fh:archive only on archive pages");
            doc.descendants()
                .find(|n| {
                    n.tag_name().name() == "link" && n.attribute("rel") == Some("prev-archive")
                })
                .and_then(|n| n.attribute("href"))
                .map(str::to_owned)
        };
        if first {
            current_ids = ids;
        } else {
            archives.push(ids);
        }
        first = false;
        path = next.map(|u| {
            u.strip_prefix(base)
                .map(|p| format!("/{p}"))
                .expect("under base")
        });
    }
    (current_ids, archives)
}

#[test]
fn archive_chains_reach_every_post_exactly_once() {
    let cfg = config("[site]\nbase_url = \"https://f.example/\"\n[feeds]\nlimit = 10\n");
    let posts = numbered_posts(47);
    let dir = write_posts(&posts);
    let (feeds, docs) = render_all(dir.path(), &cfg);
    assert_eq!(feeds.site.archive_pages(10), 4);
    for start in [
        "/feed.atom",
        "/feed.rss",
        "/feed.json",
        "/category/c.atom",
        "/category/c.rss",
        "/category/c.json",
    ] {
        let (current, archives) = walk(&docs, start, "https://f.example/");
        assert_eq!(current.len(), 10, "{start}: the newest `limit` entries");
        assert_eq!(archives.len(), 4, "{start}");
        assert!(
            archives.iter().all(|a| a.len() == 10),
            "{start}: only full pages are archives"
        );
        let archived: Vec<&String> = archives.iter().flatten().collect();
        let unique: HashSet<&String> = archived.iter().copied().collect();
        assert_eq!(
            unique.len(),
            archived.len(),
            "{start}: no post in two archives"
        );
        let reached: HashSet<&String> = unique.iter().copied().chain(&current).collect();
        assert_eq!(reached.len(), 47, "{start}: every post reachable");
        // The subscription document covers everything newer than the last full page.
        let not_archived = current.iter().filter(|id| !unique.contains(id)).count();
        assert_eq!(not_archived, 7, "{start}");
    }
}

#[test]
fn newer_posts_leave_full_archive_pages_unchanged() {
    let cfg = config("[site]\nbase_url = \"https://f.example/\"\n[feeds]\nlimit = 10\n");
    let all = numbered_posts(50);
    let archive_paths = |docs: &BTreeMap<String, Vec<u8>>| -> BTreeMap<String, Vec<u8>> {
        docs.iter()
            .filter(|(p, _)| p.contains("/archive/") && !p.ends_with(".html"))
            .map(|(p, b)| (p.clone(), b.clone()))
            .collect()
    };
    let (_, before) = render_all(write_posts(&all[..45]).path(), &cfg);
    let (_, after) = render_all(write_posts(&all[..49]).path(), &cfg);
    let before = archive_paths(&before);
    let after = archive_paths(&after);
    assert!(!before.is_empty());
    assert_eq!(before.len(), after.len());
    for (path, body) in &before {
        assert!(
            after.get(path) == Some(body),
            "{path} changed though no page filled"
        );
    }

    // When the next page fills, older pages stay byte-identical; the newest one gains only
    // the `next-archive` link RFC 5005 asks for, and keeps its entries.
    let (_, full) = render_all(write_posts(&all[..50]).path(), &cfg);
    let full = archive_paths(&full);
    for (path, body) in &before {
        let page: usize = path
            .rsplit('/')
            .next()
            .and_then(|f| f.split('.').next())
            .and_then(|n| n.parse().ok())
            .expect("page number");
        if page < 4 {
            assert!(full.get(path) == Some(body), "{path} changed");
        } else {
            let ids = |b: &[u8]| -> Vec<String> {
                feed_rs::parser::parse(b)
                    .expect("parses")
                    .entries
                    .into_iter()
                    .map(|e| e.id)
                    .collect()
            };
            assert_eq!(ids(&full[path]), ids(body), "{path} keeps its entries");
        }
    }
    assert!(full.contains_key("/feed/archive/5.atom"));
}

#[test]
fn awkward_names_get_feeds_and_are_listed_escaped() {
    let names = [
        "New York",
        "a/b",
        "c++",
        "🔥热点",
        "A&B",
        "<b>",
        "100%",
        "#1",
        "why?",
        "v1.2",
        "山西晚报新闻",
    ];
    let yaml_list: Vec<String> = names.iter().map(|n| format!("  - {n:?}")).collect();
    let post = format!(
        "---\ntitle: t\ndate: 2022-05-26\ncategories:\n{}\ntags:\n{}\n---\nx\n",
        yaml_list.join("\n"),
        yaml_list.join("\n")
    );
    let dir = site(&[("a.md", post.as_bytes())]);
    let cfg = config("[site]\nbase_url = \"https://f.example/\"\n");
    let (feeds, docs) = render_all(dir.path(), &cfg);
    let opml = std::str::from_utf8(&docs["/feeds.opml"]).expect("utf-8");
    let opml_doc = roxmltree::Document::parse(opml).expect("OPML is well-formed");
    let xml_urls: HashSet<&str> = opml_doc
        .descendants()
        .filter_map(|n| n.attribute("xmlUrl"))
        .collect();
    let index = std::str::from_utf8(&docs["/"]).expect("utf-8");
    assert!(!index.contains("<b>"), "names are escaped in the index");
    assert!(index.contains("&lt;b&gt;"));
    assert!(index.contains("<link rel=\"alternate\" type=\"application/atom+xml\""));
    for name in names {
        for scope in [Scope::Category(name.into()), Scope::Tag(name.into())] {
            assert!(feeds.get(&scope).is_some(), "{scope:?}");
            for format in Format::ALL {
                let path = DocId::current(scope.clone(), format).path();
                assert!(docs.contains_key(&path), "{path}");
                assert_eq!(
                    DocId::parse(&path),
                    Some(DocId::current(scope.clone(), format))
                );
                assert!(
                    !path[1..]
                        .trim_start_matches("category/")
                        .trim_start_matches("tag/")
                        .contains('/'),
                    "{path}"
                );
            }
            let atom_url = format!(
                "https://f.example{}",
                DocId::current(scope.clone(), Format::Atom).path()
            );
            assert!(
                xml_urls.contains(atom_url.as_str()),
                "OPML lists {atom_url}"
            );
            assert!(index.contains(&atom_url), "index links {atom_url}");
        }
    }
    // Every document, whatever the names, is well-formed.
    for (path, body) in &docs {
        if path.ends_with(".atom") || path.ends_with(".rss") || path.ends_with(".xml") {
            let text = std::str::from_utf8(body).expect("utf-8");
            roxmltree::Document::parse(text).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
    }
}

#[test]
fn hostile_content_never_breaks_a_document() {
    let post = "---\ntitle: \"]]> <x> & \\u0001 \\\"q\\\"\"\ndate: 2022-05-26\ncategories: \"]]>\"\n---\n\
                text ]]> more <![CDATA[ x ]]> &#1; &#xFFFE; \u{7}\n\n<script>alert(1)</script>\n";
    let dir = site(&[("a.md", post.as_bytes())]);
    let cfg = config("");
    let (_, docs) = render_all(dir.path(), &cfg);
    for (path, body) in &docs {
        if path.ends_with(".atom") || path.ends_with(".rss") {
            let text = std::str::from_utf8(body).expect("utf-8");
            let doc = roxmltree::Document::parse(text).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert!(!text.contains("<script>"), "{path}");
            let titles: Vec<&str> = doc
                .descendants()
                .filter(|n| {
                    n.tag_name().name() == "title"
                        && n.parent().is_some_and(|p| {
                            p.tag_name().name() == "entry" || p.tag_name().name() == "item"
                        })
                })
                .filter_map(|n| n.text())
                .collect();
            assert_eq!(titles, ["]]> <x> &  \"q\""], "{path}");
        }
    }
}

#[test]
fn future_posts_wait_for_their_time() {
    let dir = site(&[
        ("past.md", b"---\ndate: 2022-05-26\n---\nx"),
        ("future.md", b"---\ndate: 2031-01-01\n---\nx"),
    ]);
    let cfg = config("");
    let posts = load_at(dir.path(), &cfg, now()).posts();
    let feeds = Feeds::group(&posts, now(), false);
    assert_eq!(feeds.site.posts.len(), 1);
    let feeds = Feeds::group(&posts, now(), true);
    assert_eq!(
        feeds.site.posts.len(),
        2,
        "posts.future publishes them at once"
    );
}

/// What the W3C validator checks beyond the specs' musts: feed-level elements come before the
/// first entry in every format (RFC 4287's schema order, `<fh:archive/>` included), and every
/// OPML outline has a type.
#[test]
fn feed_level_elements_precede_the_entries_and_every_outline_is_typed() {
    let cfg = config("[site]\nbase_url = \"https://f.example/\"\n[feeds]\nlimit = 10\n");
    let (_, docs) = render_all(write_posts(&numbered_posts(25)).path(), &cfg);
    let mut archives = 0;
    for (path, body) in &docs {
        let (container, entry) = if path.ends_with(".atom") || path.ends_with(".xml") {
            ("feed", "entry")
        } else if path.ends_with(".rss") {
            ("channel", "item")
        } else {
            continue;
        };
        let text = std::str::from_utf8(body).expect("utf-8");
        let doc = roxmltree::Document::parse(text).unwrap_or_else(|e| panic!("{path}: {e}"));
        let parent = doc
            .descendants()
            .find(|n| n.tag_name().name() == container)
            .expect("container");
        let names: Vec<&str> = parent
            .children()
            .filter(roxmltree::Node::is_element)
            .map(|n| n.tag_name().name())
            .collect();
        let first_entry = names
            .iter()
            .position(|n| *n == entry)
            .unwrap_or(names.len());
        assert!(
            names[first_entry..].iter().all(|n| *n == entry),
            "{path}: {names:?}"
        );
        if names.contains(&"archive") {
            archives += 1;
        }
    }
    assert!(archives >= 4, "archive pages checked: {archives}");
    let opml = std::str::from_utf8(&docs["/feeds.opml"]).expect("utf-8");
    let doc = roxmltree::Document::parse(opml).expect("OPML parses");
    let outlines: Vec<_> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "outline")
        .collect();
    assert!(outlines.len() > 3);
    for outline in outlines {
        let kind = outline.attribute("type");
        assert!(kind.is_some(), "outline without type: {outline:?}");
        if kind == Some("link") {
            assert!(
                outline
                    .attribute("url")
                    .is_some_and(|u| u.starts_with("https://f.example/#")),
                "{outline:?}"
            );
        }
    }
}

/// A post's lead image — the front matter's, else the body's first — reaches every format as
/// readers look for it, and images in content carry no referrer (image hosts of news sites
/// refuse hotlinks) and load lazily.
#[test]
fn lead_images_reach_every_format_and_content_images_survive_hotlink_checks() {
    let dir = site(&[
        (
            "2022-05-26-body.md",
            b"---\ntitle: Body image\ndate: 2022-05-26\n---\nText.\n\n<img src=\"/i/a.jpg\" width=\"640\" height=\"480\">\n\n![second](b.png)\n",
        ),
        (
            "2022-05-27-front.md",
            b"---\ntitle: Front image\ndate: 2022-05-27\nimage: https://img.example/lead.webp\n---\n![body](https://img.example/other.png)\n",
        ),
    ]);
    let cfg =
        config("[site]\nbase_url = \"https://f.example/\"\nurl = \"https://site.example/\"\n");
    let (_, docs) = render_all(dir.path(), &cfg);
    let text = |path: &str| String::from_utf8(docs[path].clone()).expect("utf-8");
    let body_image = "https://site.example/i/a.jpg";
    let lead = "https://img.example/lead.webp";
    let atom = text("/feed.atom");
    for image in [body_image, lead] {
        assert!(
            atom.contains(&format!("<media:thumbnail url=\"{image}\"")),
            "{atom}"
        );
    }
    assert!(atom.contains(&format!(
        "<media:content medium=\"image\" type=\"image/jpeg\" url=\"{body_image}\""
    )));
    assert!(
        !atom.contains("other.png\"/>"),
        "the front matter's image wins"
    );
    assert!(
        atom.contains("referrerpolicy=&quot;no-referrer&quot;"),
        "{atom}"
    );
    assert!(atom.contains("loading=&quot;lazy&quot;"));
    assert!(atom.contains("width=&quot;640&quot;"), "sizes kept");
    let rss = text("/feed.rss");
    assert!(
        rss.contains(&format!(
            "<enclosure url=\"{body_image}\" length=\"0\" type=\"image/jpeg\"/>"
        )),
        "{rss}"
    );
    assert!(rss.contains(&format!(
        "<enclosure url=\"{lead}\" length=\"0\" type=\"image/webp\"/>"
    )));
    assert!(rss.contains(&format!("<media:thumbnail url=\"{lead}\"")));
    let json: serde_json::Value = serde_json::from_slice(&docs["/feed.json"]).expect("json");
    let items = json["items"].as_array().expect("items");
    assert_eq!(items[0]["image"], lead);
    assert_eq!(items[0]["banner_image"], lead);
    assert_eq!(items[1]["image"], body_image);
    for document in ["/feed.atom", "/feed.rss"] {
        feed_rs::parser::parse(&docs[document][..]).unwrap_or_else(|e| panic!("{document}: {e}"));
    }
}

fn sized_post(i: usize, words: usize, category: &str) -> (String, Vec<u8>) {
    (
        format!("2022-01-{:02}-p{i}.md", i + 1),
        format!(
            "---\ntitle: Post {i}\ndate: 2022-01-{:02}\ncategories: [{category}]\n---\n{}\n",
            i + 1,
            "word ".repeat(words)
        )
        .into_bytes(),
    )
}

/// Readers refuse large documents (CommaFeed at 5 MiB): a huge post still loads and appears,
/// as its summary and a link; a document stays under its budget by giving the oldest entries'
/// content up for their summaries, never by dropping entries.
#[test]
fn large_posts_load_and_documents_stay_within_their_budget() {
    let cfg = config("[site]\nbase_url = \"https://f.example/\"\n");
    // A 5 MB post loads by default (the old 4 MiB limit refused it).
    let five_mb = write_posts(&[sized_post(0, 1_000_000, "huge")]);
    let catalog = crate::support::load(five_mb.path(), &cfg);
    assert!(catalog.errors().is_empty(), "{:?}", catalog.errors());
    assert_eq!(catalog.post_count(), 1);
    // A post over the entry budget (256 KiB of HTML) among ordinary ones.
    let mut posts: Vec<(String, Vec<u8>)> = (0..3).map(|i| sized_post(i, 200, "small")).collect();
    posts.push(sized_post(3, 60_000, "huge"));
    let (_, docs) = render_all(write_posts(&posts).path(), &cfg);
    let atom = String::from_utf8(docs["/category/huge.atom"].clone()).expect("utf-8");
    assert!(
        atom.contains("<title>Post 3</title>"),
        "the huge post is published"
    );
    assert!(
        !atom.contains("<content"),
        "its content is over the entry budget"
    );
    assert!(atom.contains("<summary"));
    let json: serde_json::Value =
        serde_json::from_slice(&docs["/category/huge.json"]).expect("json");
    assert!(json["items"][0].get("content_html").is_none());
    assert!(
        json["items"][0]["content_text"]
            .as_str()
            .is_some_and(|t| t.starts_with("word"))
    );
    let small = String::from_utf8(docs["/category/small.atom"].clone()).expect("utf-8");
    assert_eq!(
        small.matches("<content").count(),
        3,
        "small posts keep their content"
    );

    // Twenty 200 KB posts: 4 MB of content against a 2 MiB budget.
    let posts: Vec<(String, Vec<u8>)> = (0..20).map(|i| sized_post(i, 40_000, "news")).collect();
    let (_, docs) = render_all(write_posts(&posts).path(), &cfg);
    for path in [
        "/feed.atom",
        "/feed.rss",
        "/feed.json",
        "/category/news.atom",
    ] {
        let body = &docs[path];
        assert!(
            body.len() <= 2 * 1024 * 1024,
            "{path}: {} bytes",
            body.len()
        );
        let parsed = feed_rs::parser::parse(&body[..]).expect("parses");
        assert_eq!(parsed.entries.len(), 20, "{path}: every entry stays");
        // The newest keep their content, the oldest carry summaries.
        let has_content: Vec<bool> = if path.ends_with(".json") {
            let json: serde_json::Value = serde_json::from_slice(body).expect("json");
            let items = json["items"].as_array().expect("items");
            items
                .iter()
                .map(|i| i.get("content_html").is_some())
                .collect()
        } else {
            parsed.entries.iter().map(|e| e.content.is_some()).collect()
        };
        assert!(
            has_content[0] && !has_content[19],
            "{path}: {has_content:?}"
        );
        let first_summary_only = has_content.iter().position(|c| !c).expect("some");
        assert!(
            has_content[first_summary_only..].iter().all(|c| !c),
            "{path}: {has_content:?}"
        );
    }
}

#[test]
fn feeds_can_carry_summaries_only_site_wide_or_per_category() {
    let posts: Vec<(String, Vec<u8>)> = vec![sized_post(0, 50, "news"), sized_post(1, 50, "sport")];
    let cfg = config(
        "[site]\nbase_url = \"https://f.example/\"\n[feeds]\ncontent = \"summary\"\n\
         [feeds.content_by_category]\nsport = \"full\"\n",
    );
    let (_, docs) = render_all(write_posts(&posts).path(), &cfg);
    let text = |path: &str| String::from_utf8(docs[path].clone()).expect("utf-8");
    assert!(!text("/feed.atom").contains("<content"));
    assert!(text("/feed.atom").contains("<summary"));
    assert!(!text("/feed.rss").contains("content:encoded"));
    assert!(text("/feed.rss").contains("<description>"));
    assert!(!text("/category/news.atom").contains("<content"));
    assert!(
        text("/category/sport.atom").contains("<content"),
        "the category's own choice"
    );
    assert!(text("/category/sport.rss").contains("content:encoded"));
}

/// `15项&3项` in plain text: the W3C validator warns of undeclared HTML when an `&` before a
/// letter or digit sits on a line without a hexadecimal character reference, so ampersands
/// go out as `&#x26;` — and every parser still reads `15项&3项`.
#[test]
fn ampersands_in_text_are_hex_references_and_read_the_same() {
    let dir = site(&[(
        "2022-05-26-amp.md",
        "---\ntitle: 15项&3项\ndate: 2022-05-26\ncategories: [A&B]\n---\n成果15项&3项，见<a href=\"https://x.example/?a=1&b=2\">此</a>。\n"
            .as_bytes(),
    )]);
    let cfg = config("[site]\nbase_url = \"https://f.example/\"\n");
    let (_, docs) = render_all(dir.path(), &cfg);
    for path in ["/feed.atom", "/feed.rss", "/category/A%26B.atom"] {
        let raw = String::from_utf8(docs[path].clone()).expect("utf-8");
        // Outside CDATA (RSS keeps HTML there as it is), no `&amp;` is left.
        let outside_cdata: String = raw
            .split("<![CDATA[")
            .map(|part| part.split_once("]]>").map_or(part, |(_, after)| after))
            .collect();
        assert!(!outside_cdata.contains("&amp;"), "{path}: {raw}");
        assert!(raw.contains("15项&#x26;3项"), "{path}");
        let parsed = feed_rs::parser::parse(&docs[path][..]).expect("parses");
        let entry = &parsed.entries[0];
        assert_eq!(
            entry.title.as_ref().map(|t| t.content.as_str()),
            Some("15项&3项"),
            "{path}"
        );
        // RSS descriptions are HTML, so there the summary's `&` is the HTML `&amp;`.
        let summary = entry
            .summary
            .as_ref()
            .map(|s| s.content.clone())
            .unwrap_or_default();
        let written = if path.ends_with(".rss") {
            "15项&amp;3项"
        } else {
            "15项&3项"
        };
        assert!(summary.contains(written), "{path}: {summary}");
        let doc = roxmltree::Document::parse(&raw).expect("well-formed");
        assert!(
            doc.descendants().any(|n| n.text() == Some("15项&3项")),
            "{path}: an XML parser reads the title as written"
        );
    }
}
