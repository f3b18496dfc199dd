//! A real feed reader: newsboat subscribes to the served feeds, reloads them into its SQLite
//! cache, and the cache is read back — every item of every feed with the title, id and date a
//! person would see. Later reloads check what a long-lived subscription depends on: newsboat
//! records our validators exactly, an edited entry keeps its id (newsboat updates the item,
//! never duplicates it), and feeds the edit did not touch answer its conditional requests
//! with 304.
//!
//! newsboat and the sqlite3 command-line shell are Debian packages `scripts/test` installs.
//! Without them this test fails (it does not skip): a reader that silently never ran would
//! prove nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tidings::documents::{DocId, Format};
use tidings::feeds::Scope;

use crate::support::Served;

const NEWSBOAT_TIMEOUT: Duration = Duration::from_secs(60);

/// One post as the test writes it.
struct Post {
    rel: &'static str,
    title: &'static str,
    /// The YAML for the title (quoted where YAML needs it).
    yaml_title: &'static str,
    date: &'static str,
    category: &'static str,
    tags: &'static str,
}

const POSTS: [Post; 3] = [
    Post {
        rel: "_posts/2022-05-24-transition.md",
        title: "山西转型发展迈出新步伐",
        yaml_title: "山西转型发展迈出新步伐",
        date: "2022-05-24 09:00:00 +0800",
        category: "新闻",
        tags: "hot economy",
    },
    Post {
        rel: "_posts/2022-05-25-final.md",
        title: "体育 — 决赛之夜",
        yaml_title: "体育 — 决赛之夜",
        date: "2022-05-25 21:30:00 +0800",
        category: "新闻",
        tags: "sport",
    },
    Post {
        rel: "weather/storms.md",
        title: "Weather & <Storms> \"ahead\"",
        yaml_title: "'Weather & <Storms> \"ahead\"'",
        date: "2022-05-26 07:32:30 +0800",
        category: "weather",
        tags: "hot",
    },
];

/// A post's file. `extra` is more front matter (one `key: value` line per line).
fn text(p: &Post, title_yaml: &str, extra: &str) -> String {
    format!(
        "---\ntitle: {title_yaml}\ndate: {}\ncategories: {}\ntags: {}\n{extra}---\nThe story of {}.\n",
        p.date, p.category, p.tags, p.rel
    )
}

fn id(rel: &str) -> String {
    format!("tag:tidings.invalid,2026:{rel}")
}

fn epoch(date: &str) -> i64 {
    chrono::DateTime::parse_from_str(date, "%Y-%m-%d %H:%M:%S %z")
        .expect("a date")
        .timestamp()
}

/// Fails (never skips) when a tool the test drives is missing.
pub(crate) fn require(tool: &str, version_flag: &str) {
    match Command::new(tool)
        .arg(version_flag)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => {}
        Err(e) => panic!(
            "`{tool}` cannot run ({e}). This test drives it for real: install it \
             (`apt-get install newsboat sqlite3`; scripts/test does this)"
        ),
    }
}

/// A newsboat set up entirely inside a temporary directory: its own HOME and XDG folders,
/// config, URL list and cache.
pub(crate) struct Newsboat {
    dir: tempfile::TempDir,
}

impl Newsboat {
    pub(crate) fn new(urls: &[String]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).expect("mkdir home");
        std::fs::write(dir.path().join("urls"), urls.join("\n") + "\n").expect("urls");
        std::fs::write(
            dir.path().join("config"),
            "reload-threads 1\ndownload-timeout 20\ndownload-retries 1\n\
             show-read-feeds yes\nmax-items 0\n",
        )
        .expect("config");
        Self { dir }
    }

    fn cache(&self) -> std::path::PathBuf {
        self.dir.path().join("cache.db")
    }

    /// `newsboat -x reload`, failing the test if it does not finish in time or fails.
    pub(crate) fn reload(&self) {
        let d = self.dir.path();
        let home = d.join("home");
        let log = |name: &str| std::fs::File::create(d.join(name)).expect("log file");
        let mut child = Command::new("newsboat")
            .args(["-x", "reload", "-u"])
            .arg(d.join("urls"))
            .arg("-c")
            .arg(self.cache())
            .arg("-C")
            .arg(d.join("config"))
            .arg("-d")
            .arg(d.join("newsboat.log"))
            .args(["-l", "6"])
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("LANG", "C.UTF-8")
            .env("LC_ALL", "C.UTF-8")
            .stdin(Stdio::null())
            .stdout(log("newsboat.out"))
            .stderr(log("newsboat.err"))
            .spawn()
            .unwrap_or_else(|e| panic!("newsboat cannot start: {e}"));
        let deadline = Instant::now() + NEWSBOAT_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for newsboat") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "newsboat did not finish within {NEWSBOAT_TIMEOUT:?}\n{}",
                    self.output()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(
            status.success(),
            "newsboat failed: {status}\n{}",
            self.output()
        );
    }

    /// What newsboat printed, and the end of its debug log, for failure messages.
    pub(crate) fn output(&self) -> String {
        let read =
            |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        let log = read("newsboat.log");
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        format!(
            "stdout:\n{}\nstderr:\n{}\nend of newsboat.log:\n{}",
            read("newsboat.out"),
            read("newsboat.err"),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    }

    /// Rows of a query on the cache, through `sqlite3 -json`.
    fn query(&self, sql: &str) -> Vec<serde_json::Map<String, serde_json::Value>> {
        query(&self.cache(), sql)
    }

    /// Every item in the cache: feed URL → guid → (title, link, date, content).
    pub(crate) fn items(&self) -> BTreeMap<String, BTreeMap<String, Item>> {
        let mut feeds: BTreeMap<String, BTreeMap<String, Item>> = BTreeMap::new();
        for row in
            self.query("SELECT feedurl, guid, title, url, pubDate, content, deleted FROM rss_item")
        {
            let s = |k: &str| {
                row[k]
                    .as_str()
                    .unwrap_or_else(|| panic!("{k} in {row:?}"))
                    .to_owned()
            };
            let item = Item {
                title: s("title"),
                link: s("url"),
                date: row["pubDate"].as_i64().expect("pubDate"),
                content: s("content"),
            };
            assert_eq!(row["deleted"].as_i64(), Some(0), "{row:?}");
            let previous = feeds
                .entry(s("feedurl"))
                .or_default()
                .insert(s("guid"), item);
            assert!(previous.is_none(), "an item stored twice: {row:?}");
        }
        feeds
    }
}

#[derive(Debug)]
pub(crate) struct Item {
    pub(crate) title: String,
    link: String,
    date: i64,
    content: String,
}

fn query(db: &Path, sql: &str) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let out = Command::new("sqlite3")
        .arg("-json")
        .arg(db)
        .arg(sql)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("sqlite3 cannot run: {e}"));
    assert!(
        out.status.success(),
        "sqlite3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if out.stdout.iter().all(u8::is_ascii_whitespace) {
        return Vec::new(); // no rows: sqlite3 prints nothing at all
    }
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "sqlite3 output is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// How many 304s the service has answered for feed documents, per /metrics.
pub(crate) fn not_modified(served: &Served) -> u64 {
    served
        .get("/metrics")
        .text()
        .lines()
        .filter(|l| {
            l.starts_with("tidings_http_requests_total{kind=\"feed\"")
                && l.contains("status=\"304\"")
        })
        .map(|l| {
            l.rsplit(' ')
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .expect("a count")
        })
        .sum()
}

#[test]
fn newsboat_reads_every_feed_with_the_right_items() {
    require("newsboat", "-v");
    require("sqlite3", "-version");

    let texts: Vec<String> = POSTS.iter().map(|p| text(p, p.yaml_title, "")).collect();
    let files: Vec<(&str, &[u8])> = POSTS
        .iter()
        .zip(&texts)
        .map(|(p, t)| (p.rel, t.as_bytes()))
        .collect();
    let served = Served::start(&files, "");

    // The documents subscribed to, and which posts each must hold. newsboat fetches the URL
    // it is given, so the URLs name the real address (the documents' self links name
    // base_url, http://feeds.test/, which no resolver knows).
    let subscriptions: Vec<(DocId, Vec<&Post>)> = vec![
        (
            DocId::current(Scope::Site, Format::Atom),
            POSTS.iter().collect(),
        ),
        (
            DocId::current(Scope::Site, Format::Rss),
            POSTS.iter().collect(),
        ),
        (
            DocId::current(Scope::Category("新闻".into()), Format::Rss),
            POSTS.iter().filter(|p| p.category == "新闻").collect(),
        ),
        (
            DocId::current(Scope::Category("weather".into()), Format::Atom),
            POSTS.iter().filter(|p| p.category == "weather").collect(),
        ),
        (
            DocId::current(Scope::Tag("hot".into()), Format::Atom),
            POSTS
                .iter()
                .filter(|p| p.tags.split(' ').any(|t| t == "hot"))
                .collect(),
        ),
        (
            DocId::current(Scope::Tag("sport".into()), Format::Rss),
            POSTS.iter().filter(|p| p.tags.contains("sport")).collect(),
        ),
    ];
    let base = format!("http://{}", served.running.addr);
    let url = |id: &DocId| format!("{base}{}", id.path());
    let urls: Vec<String> = subscriptions.iter().map(|(id, _)| url(id)).collect();
    assert!(
        urls.iter()
            .any(|u| u.contains("/category/%E6%96%B0%E9%97%BB.rss")),
        "a percent-encoded category URL: {urls:?}"
    );
    for u in &urls {
        let path = &u[base.len()..];
        assert_eq!(served.get(path).status, 200, "{path} is served");
    }

    // One newsboat per subscription, each with its own cache: newsboat keeps an item once
    // per guid across all its feeds, so a shared cache cannot say which feed held what.
    let readers: Vec<Newsboat> = urls
        .iter()
        .map(|u| Newsboat::new(std::slice::from_ref(u)))
        .collect();
    for reader in &readers {
        reader.reload();
    }
    for ((doc, posts), reader) in subscriptions.iter().zip(&readers) {
        let u = url(doc);
        check_feed(reader, &u);
        let items = reader.items();
        assert_eq!(
            items.keys().cloned().collect::<BTreeSet<_>>(),
            BTreeSet::from([u.clone()]),
            "{u}: items only from the one subscription\n{}",
            reader.output()
        );
        let got = &items[&u];
        let want: BTreeSet<String> = posts.iter().map(|p| id(p.rel)).collect();
        assert_eq!(
            got.keys().cloned().collect::<BTreeSet<_>>(),
            want,
            "{u}: item guids"
        );
        for p in posts {
            let item = &got[&id(p.rel)];
            assert_eq!(item.title, p.title, "{u}: title of {}", p.rel);
            assert_eq!(item.date, epoch(p.date), "{u}: date of {}", p.rel);
            assert!(
                item.link.starts_with("https://site.test/"),
                "{u}: link of {}: {}",
                p.rel,
                item.link
            );
            assert!(
                item.content.contains(&format!("The story of {}.", p.rel)),
                "{u}: content of {}: {}",
                p.rel,
                item.content
            );
        }
    }

    // All subscriptions in one newsboat: an entry has the same id in every feed that holds
    // it, so the reader sees each post once, however many of its feeds it follows.
    let all = Newsboat::new(&urls);
    all.reload();
    for u in &urls {
        check_feed(&all, u);
    }
    let guids: BTreeSet<String> = all
        .items()
        .values()
        .flat_map(|items| items.keys().cloned())
        .collect();
    assert_eq!(
        guids,
        POSTS.iter().map(|p| id(p.rel)).collect::<BTreeSet<_>>()
    );
    assert_eq!(
        all.items().values().map(BTreeMap::len).sum::<usize>(),
        POSTS.len()
    );

    // newsboat records a feed's validators (ETag, Last-Modified) only once the feed is in
    // its cache, so from the second reload on. It must record ours exactly as sent.
    served.settled("/feed.atom");
    for ((doc, _), reader) in subscriptions.iter().zip(&readers) {
        reader.reload();
        let served_etag = served
            .get(&doc.path())
            .header("etag")
            .expect("an ETag")
            .to_owned();
        let stored = reader.query("SELECT etag, lastmodified FROM rss_feed");
        assert_eq!(stored.len(), 1);
        assert_eq!(
            stored[0]["etag"].as_str(),
            Some(served_etag.as_str()),
            "{}",
            doc.path()
        );
        assert!(stored[0]["lastmodified"].as_i64() > Some(0), "{stored:?}");
    }

    // An edit, then another reload: the edited entry keeps its id, so newsboat updates the
    // item it has instead of adding one, and the feeds the edit did not touch answer
    // newsboat's conditional requests with 304. newsboat's libcurl sends If-Modified-Since
    // too and drops any 200 whose Last-Modified is not newer, and HTTP dates count whole
    // seconds, so the edit is made in a later second than the fetches (see
    // `an_edit_that_keeps_the_date_reaches_newsboat`).
    let edited = &POSTS[2];
    let new_title = "Weather: clear skies";
    let next_second_ms = (chrono::Utc::now().timestamp() + 1) * 1000 + 50;
    served.wait_for("the next second", || {
        chrono::Utc::now().timestamp_millis() > next_second_ms
    });
    served.write(
        edited.rel,
        text(edited, &format!("'{new_title}'"), "").as_bytes(),
    );
    served.wait_for("the edit to be served", || {
        served.get("/feed.atom").text().contains(new_title)
    });
    let untouched = subscriptions
        .iter()
        .filter(|(_, posts)| !posts.iter().any(|p| p.rel == edited.rel))
        .count();
    assert!(untouched > 0);
    let before = not_modified(&served);
    for reader in &readers {
        reader.reload();
    }
    assert_eq!(
        not_modified(&served) - before,
        untouched as u64,
        "every feed without the edited post answered 304"
    );
    for ((doc, posts), reader) in subscriptions.iter().zip(&readers) {
        let u = url(doc);
        let items = reader.items();
        let got = &items[&u];
        assert_eq!(got.len(), posts.len(), "{u}: no item added or lost");
        for p in posts {
            let want = if p.rel == edited.rel {
                new_title
            } else {
                p.title
            };
            assert_eq!(got[&id(p.rel)].title, want, "{u}: title of {}", p.rel);
        }
    }
    all.reload();
    let items: BTreeMap<String, String> = all
        .items()
        .into_values()
        .flatten()
        .map(|(guid, item)| (guid, item.title))
        .collect();
    assert_eq!(items.len(), POSTS.len(), "still one item per post");
    assert_eq!(items[&id(edited.rel)], new_title);
}

/// Asserts that newsboat fetched and parsed `url` into a feed with a title.
fn check_feed(reader: &Newsboat, url: &str) {
    let feeds = reader.query("SELECT rssurl, title FROM rss_feed");
    let feed = feeds
        .iter()
        .find(|r| r["rssurl"].as_str() == Some(url))
        .unwrap_or_else(|| {
            panic!(
                "newsboat stored no feed for {url}: {feeds:?}\n{}",
                reader.output()
            )
        });
    assert!(
        feed["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{url} has a title: {feed:?}"
    );
}

#[test]
fn an_edit_that_keeps_the_date_reaches_newsboat() {
    require("newsboat", "-v");
    require("sqlite3", "-version");
    let post = &POSTS[0];
    let served = Served::start(
        &[(post.rel, text(post, post.yaml_title, "").as_bytes())],
        "",
    );
    let feed = format!("http://{}/feed.atom", served.running.addr);
    let reader = Newsboat::new(std::slice::from_ref(&feed));
    // Twice: newsboat records validators only for a feed already in its cache.
    reader.reload();
    reader.reload();

    // HTTP dates have one-second resolution, so no server can tell an If-Modified-Since client
    // about a change made within the same second as its last fetch; real edits come later.
    // (The margin past the second boundary covers the kernel's coarse file timestamps, which
    // can trail the wall clock by a few milliseconds.)
    let next_second_ms = (chrono::Utc::now().timestamp() + 1) * 1000 + 50;
    served.wait_for("the next second", || {
        chrono::Utc::now().timestamp_millis() > next_second_ms
    });
    // A correction that does not touch the date, as most are.
    served.write(post.rel, text(post, "Corrected title", "").as_bytes());
    served.wait_for("the edit to be served", || {
        served.get("/feed.atom").text().contains("Corrected title")
    });
    let before = not_modified(&served);
    reader.reload();
    assert_eq!(not_modified(&served), before, "the server answered 200");
    assert_eq!(
        reader.items()[&feed][&id(post.rel)].title,
        "Corrected title",
        "newsboat shows the correction\n{}",
        reader.output()
    );
}

/// feedparser (behind many readers and aggregators) reads what readers must see: titles with
/// ampersands as written, lead images as Media RSS thumbnails and RSS enclosures, and an entry
/// over the size budget as its summary, in both XML formats, without a parse error.
#[test]
fn feedparser_reads_titles_images_and_budgeted_entries() {
    let big = format!(
        "---\ntitle: Big\ndate: 2022-05-25\n---\n{}\n",
        "word ".repeat(60_000)
    );
    let served = Served::start_reachable(
        &[
            (
                "2022-05-26-amp.md",
                "---\ntitle: 15项&3项\ndate: 2022-05-26\nimage: /i/lead.jpg\n---\n正文。\n"
                    .as_bytes(),
            ),
            ("2022-05-25-big.md", big.as_bytes()),
        ],
        "",
    );
    let base = format!("http://{}", served.running.addr);
    let urls = [format!("{base}/feed.atom"), format!("{base}/feed.rss")];
    let run = std::process::Command::new(crate::websub::peer_python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/peers/feedparser_read.py"))
        .args(&urls)
        .output()
        .expect("run feedparser");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let feeds: Vec<serde_json::Value> = serde_json::from_slice(&run.stdout).expect("json");
    for feed in &feeds {
        assert_eq!(feed["bozo"], false, "{feed}");
        let entries = feed["entries"].as_array().expect("entries");
        assert_eq!(entries[0]["title"], "15项&3项", "{feed}");
        assert_eq!(entries[0]["has_content"], true);
        assert_eq!(
            entries[0]["thumbnails"][0], "https://site.test/i/lead.jpg",
            "{feed}"
        );
        assert_eq!(entries[1]["title"], "Big");
        assert_eq!(
            entries[1]["has_content"], false,
            "over the entry budget: {feed}"
        );
        assert!(
            entries[1]["summary"]
                .as_str()
                .is_some_and(|s| s.starts_with("word"))
        );
    }
    assert_eq!(
        feeds[1]["entries"][0]["enclosures"][0], "https://site.test/i/lead.jpg",
        "RSS enclosure"
    );
}
