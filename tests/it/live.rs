//! Live rebuilds: real files changed the ways editors, sync tools and people change them —
//! in place, through a temporary file, through a backup, deleted and recreated, whole folders
//! moved — with the real server and watcher running, and the served feeds checked over HTTP
//! to end up matching the files on disk.
//!
//! Every check waits for a condition and compares whole documents: the exact (id, title)
//! entries of `/feed.{atom,rss,json}` and of every category and tag feed, the documents that
//! must have gone (404), and what `/healthz` reports. (The one fixed pause, in the touch test,
//! only widens what that test can catch; it passes without it.)
//!
//! Writes that must be seen as exactly one change — where a test counts snapshots — never go
//! through an empty or half-written file on the way (see [`overwrite`] and [`replace`]).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::Utc;
use tidings::documents::{DocId, Format};
use tidings::feeds::Scope;
use tidings::store::Lookup;

use crate::support::Served;

/// Every post's date, unless a test is about dates.
const DATE: &str = "2022-05-26 07:32:30 +0800";

/// (entry id, entry title), sorted: a feed's entries as a reader sees them.
type Entries = Vec<(String, String)>;

/// What one post file says.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Meta {
    title: String,
    category: String,
    tag: String,
    date: String,
}

/// What the content directory holds, as the test wrote it: relative path → post.
#[derive(Debug, Clone, Default)]
struct Model {
    posts: BTreeMap<String, Meta>,
}

impl Model {
    /// Records a post and returns its file text.
    fn put(&mut self, rel: &str, title: &str, category: &str, tag: &str) -> String {
        self.put_dated(rel, title, category, tag, DATE)
    }

    fn put_dated(
        &mut self,
        rel: &str,
        title: &str,
        category: &str,
        tag: &str,
        date: &str,
    ) -> String {
        let meta = Meta {
            title: title.to_owned(),
            category: category.to_owned(),
            tag: tag.to_owned(),
            date: date.to_owned(),
        };
        let text = text(&meta);
        self.posts.insert(rel.to_owned(), meta);
        text
    }

    fn remove(&mut self, rel: &str) {
        assert!(
            self.posts.remove(rel).is_some(),
            "{rel} was not in the model"
        );
    }

    /// Moves every post under folder `from` to folder `to`: the same posts, new paths.
    fn move_folder(&mut self, from: &str, to: &str) {
        let prefix = format!("{from}/");
        let moved: Vec<String> = self
            .posts
            .keys()
            .filter(|k| k.starts_with(&prefix))
            .cloned()
            .collect();
        assert!(!moved.is_empty(), "nothing under {from}");
        for rel in moved {
            let meta = self.posts.remove(&rel).expect("present");
            self.posts
                .insert(format!("{to}/{}", &rel[prefix.len()..]), meta);
        }
    }

    /// Takes out every post under `folder`, returning them with paths relative to it.
    fn take_folder(&mut self, folder: &str) -> Model {
        let taken = Model {
            posts: self
                .posts
                .iter()
                .filter_map(|(k, v)| {
                    k.strip_prefix(folder)
                        .and_then(|r| r.strip_prefix('/'))
                        .map(|r| (r.to_owned(), v.clone()))
                })
                .collect(),
        };
        self.posts
            .retain(|k, _| !k.starts_with(&format!("{folder}/")));
        taken
    }

    /// Adds the posts of `other` under `folder`.
    fn add_folder(&mut self, folder: &str, other: &Model) {
        for (rel, meta) in &other.posts {
            self.posts.insert(format!("{folder}/{rel}"), meta.clone());
        }
    }

    /// The file text of a post in the model.
    fn text(&self, rel: &str) -> String {
        text(&self.posts[rel])
    }

    /// The files to start a server over.
    fn files(&self) -> Vec<(String, String)> {
        self.posts
            .keys()
            .map(|rel| (rel.clone(), self.text(rel)))
            .collect()
    }

    /// Every document the model implies, with its entries: the site feed in each format,
    /// every category feed (Atom and RSS) and every tag feed (Atom).
    fn documents(&self) -> BTreeMap<String, Entries> {
        // The site feed exists even when empty.
        let mut docs: BTreeMap<String, Entries> = Format::ALL
            .into_iter()
            .map(|f| (DocId::current(Scope::Site, f).path(), Vec::new()))
            .collect();
        let mut add = |scope: Scope, formats: &[Format], entry: (String, String)| {
            for &f in formats {
                docs.entry(DocId::current(scope.clone(), f).path())
                    .or_default()
                    .push(entry.clone());
            }
        };
        for (rel, meta) in &self.posts {
            let entry = (id(rel), meta.title.clone());
            add(Scope::Site, &Format::ALL, entry.clone());
            add(
                Scope::Category(meta.category.clone()),
                &[Format::Atom, Format::Rss],
                entry.clone(),
            );
            add(Scope::Tag(meta.tag.clone()), &[Format::Atom], entry);
        }
        for entries in docs.values_mut() {
            entries.sort();
        }
        docs
    }
}

fn text(meta: &Meta) -> String {
    format!(
        "---\ntitle: {}\ndate: {}\ncategories: {}\ntags: {}\n---\nThe body of {}.\n",
        meta.title, meta.date, meta.category, meta.tag, meta.title
    )
}

/// A post's entry id: derived from its path under the content directory.
fn id(rel: &str) -> String {
    format!("tag:tidings.invalid,2026:{rel}")
}

fn category(name: &str) -> String {
    DocId::current(Scope::Category(name.to_owned()), Format::Atom).path()
}

/// Every document of a category or tag scope, for asserting that it has gone.
fn scope_docs(scope: Scope) -> Vec<String> {
    Format::ALL
        .into_iter()
        .map(|f| DocId::current(scope.clone(), f).path())
        .collect()
}

fn start(model: &Model, toml: &str) -> Served {
    let files = model.files();
    let files: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(rel, text)| (rel.as_str(), text.as_bytes()))
        .collect();
    Served::start(&files, toml)
}

/// A feed document's entries, or `None` when it is 404.
fn entries(served: &Served, path: &str) -> Option<Entries> {
    let r = served.get(path);
    match r.status {
        404 => None,
        200 => {
            let feed = feed_rs::parser::parse(&r.body[..])
                .unwrap_or_else(|e| panic!("{path} does not parse: {e}\n{}", r.text()));
            let mut entries: Entries = feed
                .entries
                .into_iter()
                .map(|e| (e.id, e.title.map(|t| t.content).unwrap_or_default()))
                .collect();
            entries.sort();
            Some(entries)
        }
        s => panic!("{path}: unexpected status {s}: {}", r.text()),
    }
}

fn titles(served: &Served, path: &str) -> BTreeSet<String> {
    entries(served, path)
        .unwrap_or_default()
        .into_iter()
        .map(|(_, t)| t)
        .collect()
}

/// What `/healthz` says.
#[derive(Debug, PartialEq)]
struct Health {
    posts: u64,
    load_errors: u64,
    errors: Vec<String>,
    generation: u64,
}

fn health(served: &Served) -> Health {
    let r = served.get("/healthz");
    assert_eq!(r.status, 200, "/healthz: {}", r.text());
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("/healthz is JSON");
    Health {
        posts: v["posts"].as_u64().expect("posts"),
        load_errors: v["load_errors"].as_u64().expect("load_errors"),
        errors: v["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e.as_str().expect("error string").to_owned())
            .collect(),
        generation: v["generation"].as_u64().expect("generation"),
    }
}

fn etag(served: &Served, path: &str) -> String {
    let r = served.get(path);
    assert_eq!(r.status, 200, "{path}");
    r.header("etag").expect("an ETag").to_owned()
}

fn generation(served: &Served) -> u64 {
    served
        .running
        .store
        .snapshot()
        .expect("a snapshot")
        .generation
}

/// Replaces a file's bytes in one `write` without truncating it first, so that no reader —
/// the watcher included — can ever see it empty or half-written. Plain `std::fs::write`
/// truncates first, and a watcher that reads in that window sees an empty file: reported,
/// then repaired, which publishes two snapshots more than the edit itself — noise for the
/// tests that count snapshots. The new bytes must be at least as long as the old, so that
/// nothing of the old is left over.
fn overwrite(path: &std::path::Path, bytes: &[u8]) {
    let old = std::fs::metadata(path).expect("stat").len();
    assert!(
        bytes.len() as u64 >= old,
        "overwrite needs at least {old} bytes"
    );
    let mut file = std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open");
    file.write_all(bytes).expect("write");
}

/// Replaces a post atomically: the new bytes go to a temporary name no watcher considers,
/// which is then renamed over the post.
fn replace(served: &Served, rel: &str, bytes: &[u8]) {
    let tmp = format!("{rel}.tmp");
    served.write(&tmp, bytes);
    std::fs::rename(served.path(&tmp), served.path(rel)).expect("rename");
}

/// Prints the last difference seen if the wait it guards times out.
struct LastSeen<'a>(&'a RefCell<String>);

impl Drop for LastSeen<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("last difference seen:\n{}", self.0.borrow());
        }
    }
}

/// Waits until everything served matches `model`: the exact entries of every document the
/// model implies, a 404 for every path in `gone`, and `/healthz` counting the model's posts
/// and reporting exactly the files in `broken` (each error naming its file).
#[track_caller]
fn settle(served: &Served, model: &Model, gone: &[String], broken: &[&str]) {
    let mut expected: BTreeMap<String, Option<Entries>> = model
        .documents()
        .into_iter()
        .map(|(path, entries)| (path, Some(entries)))
        .collect();
    for path in gone {
        assert!(
            expected.insert(path.clone(), None).is_none(),
            "{path} is both expected and gone"
        );
    }
    let last = RefCell::new(String::new());
    let _report = LastSeen(&last);
    served.wait_for("the served feeds to match the files", || {
        let mut diffs = Vec::new();
        for (path, want) in &expected {
            let got = entries(served, path);
            if &got != want {
                diffs.push(format!("{path}:\n  expected {want:?}\n  served   {got:?}"));
            }
        }
        let h = health(served);
        if h.posts != model.posts.len() as u64 {
            diffs.push(format!(
                "/healthz posts {} != {}",
                h.posts,
                model.posts.len()
            ));
        }
        let named = |file: &&str| h.errors.iter().any(|e| e.contains(*file));
        if h.load_errors != broken.len() as u64
            || h.errors.len() != broken.len()
            || !broken.iter().all(named)
        {
            diffs.push(format!(
                "/healthz errors {:?} ({}), expected errors naming {broken:?}",
                h.errors, h.load_errors
            ));
        }
        let done = diffs.is_empty();
        *last.borrow_mut() = diffs.join("\n");
        done
    });
}

/// Two posts in two categories with two tags: the starting point of most tests.
fn two_posts() -> Model {
    let mut m = Model::default();
    m.put("_posts/2022-05-26-a.md", "Post A", "news", "t1");
    m.put("_posts/2022-05-27-b.md", "Post B", "sport", "t2");
    m
}

const A: &str = "_posts/2022-05-26-a.md";
const B: &str = "_posts/2022-05-27-b.md";

#[test]
fn an_in_place_write_shows_the_new_title() {
    let mut model = two_posts();
    let served = start(&model, "");
    settle(&served, &model, &[], &[]);
    let site = etag(&served, "/feed.atom");
    let news = etag(&served, &category("news"));
    let sport = etag(&served, &category("sport"));

    let text = model.put(A, "新标题 A", "news", "t1");
    served.write(A, text.as_bytes());
    settle(&served, &model, &[], &[]);

    assert_ne!(etag(&served, "/feed.atom"), site, "/feed.atom changed");
    assert_ne!(
        etag(&served, &category("news")),
        news,
        "the post's category changed"
    );
    assert_eq!(
        etag(&served, &category("sport")),
        sport,
        "a category the edit did not touch keeps its ETag"
    );
}

#[test]
fn a_temporary_file_renamed_over_the_post_replaces_it() {
    let mut model = two_posts();
    let served = start(&model, "");
    settle(&served, &model, &[], &[]);
    let site = etag(&served, "/feed.atom");

    // Editors and atomic writers: the new bytes go to a temporary file (never a candidate),
    // which then replaces the post in one rename.
    let tmp = format!("{A}.tmp");
    let text = model.put(A, "Post A, saved atomically", "news", "t1");
    served.write(&tmp, text.as_bytes());
    std::fs::rename(served.path(&tmp), served.path(A)).expect("rename");
    settle(&served, &model, &[], &[]);
    assert_ne!(etag(&served, "/feed.atom"), site);
    assert!(!served.path(&tmp).exists());

    // Once more, moving the post to another category on the way.
    let text = model.put(A, "Post A, moved to weather", "weather", "t1");
    served.write(&tmp, text.as_bytes());
    std::fs::rename(served.path(&tmp), served.path(A)).expect("rename");
    settle(
        &served,
        &model,
        &scope_docs(Scope::Category("news".into())),
        &[],
    );
}

#[test]
fn a_post_renamed_to_a_backup_and_written_anew_is_replaced() {
    let mut model = two_posts();
    let served = start(&model, "");
    settle(&served, &model, &[], &[]);

    // vim (backupcopy=no/auto) and emacs: a swap file and vim's writability probe come and
    // go, the post becomes `post.md~`, and a new `post.md` is written.
    let dir = served.path("_posts");
    served.write("_posts/.2022-05-26-a.md.swp", b"vim swap");
    served.write("_posts/4913", b"");
    std::fs::remove_file(dir.join("4913")).expect("rm 4913");
    let backup = format!("{A}~");
    std::fs::rename(served.path(A), served.path(&backup)).expect("rename to backup");
    let text = model.put(A, "Post A, saved by vim", "news", "t1");
    served.write(A, text.as_bytes());
    std::fs::remove_file(dir.join(".2022-05-26-a.md.swp")).expect("rm swap");
    settle(&served, &model, &[], &[]);

    // The next save replaces the backup.
    std::fs::rename(served.path(A), served.path(&backup)).expect("rename to backup");
    let text = model.put(A, "Post A, saved again", "news", "t1");
    served.write(A, text.as_bytes());
    settle(&served, &model, &[], &[]);
    assert!(served.path(&backup).exists());
}

#[test]
fn a_post_deleted_and_recreated_shows_the_new_version() {
    let mut model = two_posts();
    let served = start(&model, "");
    settle(&served, &model, &[], &[]);

    // Straight away: both events may land in one batch.
    std::fs::remove_file(served.path(A)).expect("rm");
    let text = model.put(A, "Post A, recreated", "news", "t1");
    served.write(A, text.as_bytes());
    settle(&served, &model, &[], &[]);

    // With the deletion seen first.
    std::fs::remove_file(served.path(A)).expect("rm");
    model.remove(A);
    let gone: Vec<String> = [Scope::Category("news".into()), Scope::Tag("t1".into())]
        .into_iter()
        .flat_map(scope_docs)
        .collect();
    settle(&served, &model, &gone, &[]);
    let text = model.put(A, "Post A, back again", "news", "t1");
    served.write(A, text.as_bytes());
    settle(&served, &model, &[], &[]);
}

#[test]
fn folders_moved_in_out_renamed_and_deleted_carry_their_posts() {
    let mut model = two_posts();
    let served = start(&model, "");
    settle(&served, &model, &[], &[]);

    // A folder (with a subfolder) prepared outside the content directory, on the same file
    // system so that moving it is a rename.
    let parent = served.dir.path().parent().expect("a parent");
    let outside = tempfile::tempdir_in(parent).expect("tempdir");
    let prepared = outside.path().join("travel");
    std::fs::create_dir_all(prepared.join("asia")).expect("mkdir");
    let mut travel = Model::default();
    for (rel, title) in [
        ("x.md", "Trip X"),
        ("y.md", "Trip Y"),
        ("asia/z.md", "Trip Z"),
    ] {
        let text = travel.put(rel, title, "travel", "t3");
        std::fs::write(prepared.join(rel), text).expect("write");
    }
    let gone: Vec<String> = [Scope::Category("travel".into()), Scope::Tag("t3".into())]
        .into_iter()
        .flat_map(scope_docs)
        .collect();

    std::fs::rename(&prepared, served.path("travel")).expect("move in");
    model.add_folder("travel", &travel);
    settle(&served, &model, &[], &[]);

    let away = outside.path().join("away");
    std::fs::rename(served.path("travel"), &away).expect("move out");
    model.take_folder("travel");
    settle(&served, &model, &gone, &[]);

    // Back in (the same folder, watched before), then renamed inside the content directory:
    // the ids follow the paths, the titles stay.
    std::fs::rename(&away, served.path("travel")).expect("move back in");
    model.add_folder("travel", &travel);
    settle(&served, &model, &[], &[]);

    std::fs::rename(served.path("travel"), served.path("journeys")).expect("rename");
    model.move_folder("travel", "journeys");
    settle(&served, &model, &[], &[]);
    assert_eq!(
        titles(&served, &category("travel")),
        BTreeSet::from(["Trip X".into(), "Trip Y".into(), "Trip Z".into()])
    );

    // The renamed folder and its subfolder are watched under their new names.
    for (rel, title) in [
        ("journeys/x.md", "Trip X, revised"),
        ("journeys/asia/z.md", "Trip Z, revised"),
        ("journeys/asia/w.md", "Trip W"),
    ] {
        let text = model.put(rel, title, "travel", "t3");
        served.write(rel, text.as_bytes());
    }
    settle(&served, &model, &[], &[]);

    // A single post moved in from outside, and out again.
    let solo = outside.path().join("solo.md");
    let text = model.put("_posts/solo.md", "Solo", "news", "t1");
    std::fs::write(&solo, text).expect("write");
    std::fs::rename(&solo, served.path("_posts/solo.md")).expect("move in");
    settle(&served, &model, &[], &[]);
    std::fs::rename(served.path("_posts/solo.md"), &solo).expect("move out");
    model.remove("_posts/solo.md");
    settle(&served, &model, &[], &[]);

    // The whole folder deleted.
    std::fs::remove_dir_all(served.path("journeys")).expect("rm -r");
    model.take_folder("journeys");
    settle(&served, &model, &gone, &[]);

    // A post written into folders that do not exist yet (created on the way, as `mkdir -p`
    // then a save would).
    let text = model.put("2024/05/new.md", "New, in new folders", "travel", "t3");
    served.write("2024/05/new.md", text.as_bytes());
    settle(&served, &model, &[], &[]);
}

#[test]
fn a_post_added_then_one_deleted() {
    let mut model = two_posts();
    let served = start(&model, "");
    settle(&served, &model, &[], &[]);

    let rel = "_posts/2022-05-28-c.md";
    let text = model.put(rel, "Post C", "weather", "t3");
    served.write(rel, text.as_bytes());
    settle(&served, &model, &[], &[]);
    assert!(entries(&served, &category("weather")).is_some());

    // B was the only post of `sport` and of `t2`: those feeds go, in every format.
    std::fs::remove_file(served.path(B)).expect("rm");
    model.remove(B);
    let gone: Vec<String> = [Scope::Category("sport".into()), Scope::Tag("t2".into())]
        .into_iter()
        .flat_map(scope_docs)
        .collect();
    settle(&served, &model, &gone, &[]);
    assert_eq!(served.get(&category("sport")).status, 404);
}

#[test]
fn posts_renamed_moved_to_drafts_and_back() {
    let mut model = two_posts();
    let served = start(&model, "");
    settle(&served, &model, &[], &[]);

    // Renamed: a new path, so a new id.
    let renamed = "_posts/2022-05-27-b-renamed.md";
    std::fs::rename(served.path(B), served.path(renamed)).expect("rename");
    let meta = model.posts.remove(B).expect("B");
    model.posts.insert(renamed.to_owned(), meta);
    settle(&served, &model, &[], &[]);

    // Renamed over another post: that one is replaced.
    std::fs::rename(served.path(renamed), served.path(A)).expect("rename over");
    let meta = model.posts.remove(renamed).expect("renamed");
    model.posts.insert(A.to_owned(), meta);
    let gone: Vec<String> = [Scope::Category("news".into()), Scope::Tag("t1".into())]
        .into_iter()
        .flat_map(scope_docs)
        .collect();
    settle(&served, &model, &gone, &[]);

    // Jekyll's `_drafts` is never published: moving a post there unpublishes it, moving it
    // out publishes it.
    std::fs::create_dir(served.path("_drafts")).expect("mkdir");
    std::fs::rename(served.path(A), served.path("_drafts/a.md")).expect("to drafts");
    let meta = model.posts.remove(A).expect("A");
    settle(&served, &model, &[], &[]);
    let text = model.put("_drafts/draft.md", "A draft", "drafts", "t9");
    model.remove("_drafts/draft.md");
    served.write("_drafts/draft.md", text.as_bytes());
    std::fs::rename(served.path("_drafts/a.md"), served.path("_posts/a.md")).expect("publish");
    model.posts.insert("_posts/a.md".to_owned(), meta);
    settle(&served, &model, &[], &[]);
    assert_eq!(served.get(&category("drafts")).status, 404);

    // A folder renamed to a hidden name takes its posts out; renamed back, they return.
    std::fs::rename(served.path("_posts"), served.path(".posts")).expect("hide");
    let hidden = model.take_folder("_posts");
    settle(&served, &model, &[], &[]);
    std::fs::rename(served.path(".posts"), served.path("_posts")).expect("unhide");
    model.add_folder("_posts", &hidden);
    settle(&served, &model, &[], &[]);
}

#[test]
fn a_file_name_that_is_not_utf8_is_reported_while_running() {
    use std::os::unix::ffi::OsStrExt;

    let mut model = two_posts();
    let served = start(&model, "");
    settle(&served, &model, &[], &[]);

    // Reported by its lossy name, the post itself not loaded.
    let bad = served
        .dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"bad-\xff.md"));
    std::fs::write(&bad, model.text(A)).expect("write");
    let shown = "bad-\u{FFFD}.md";
    settle(&served, &model, &[], &[shown]);

    // Still reported after a rescan (a folder appearing forces one).
    let text = model.put("new/c.md", "Post C", "news", "t1");
    served.write("new/c.md", text.as_bytes());
    settle(&served, &model, &[], &[shown]);

    std::fs::remove_file(&bad).expect("rm");
    settle(&served, &model, &[], &[]);
}

#[test]
fn a_touch_changes_nothing() {
    let mut model = two_posts();
    let served = start(&model, "");
    settle(&served, &model, &[], &[]);
    let site_etag = etag(&served, "/feed.atom");
    let news_path = category("news");
    let news_etag = etag(&served, &news_path);

    // The published state before the touches: its generation, the `news` feed (shared by
    // reference between snapshots while untouched), and its rendered Atom document (rendered
    // now, so later snapshots carry it over — unless something marks `news` as changed).
    let news_id = DocId::current(Scope::Category("news".into()), Format::Atom);
    let before = served.running.store.snapshot().expect("a snapshot");
    let news_feed = Arc::clone(&before.feeds.categories["news"]);
    let Lookup::Found(news_doc) = before.document(&news_id) else {
        panic!("news renders");
    };
    let g0 = before.generation;

    // Three touches of A: identical bytes rewritten (in one write over the same bytes, so
    // the file never differs from what was loaded), a bare modification time change, and an
    // open for writing that writes nothing. None changes what a reader can see.
    overwrite(&served.path(A), model.text(A).as_bytes());
    let file = std::fs::File::options()
        .write(true)
        .open(served.path(A))
        .expect("open");
    file.set_modified(SystemTime::now() - Duration::from_secs(3600))
        .expect("set mtime");
    drop(file);
    drop(std::fs::File::options().append(true).open(served.path(A)));
    // Not needed for a correct watcher to pass; it only makes it likely that the touches are
    // handled in a batch of their own, where a touch that published anything would show as
    // an extra generation. (Within the shared batch, the identity checks below catch it.)
    std::thread::sleep(Duration::from_millis(150));

    // A real change to another file, made atomically so that it is exactly one change. The
    // watcher delivers events in order, so once it is visible every event of the touches has
    // been handled.
    let text = model.put(B, "Post B, edited", "sport", "t2");
    replace(&served, B, text.as_bytes());
    settle(&served, &model, &[], &[]);

    // A touch moves the content's date (every replica must give the same `Last-Modified`),
    // so it may publish a version of its own; but that version carries over every feed and
    // every rendered document.
    let after = served.running.store.snapshot().expect("a snapshot");
    assert!(after.generation > g0);
    let g1 = after.generation;
    assert!(
        Arc::ptr_eq(&after.feeds.categories["news"], &news_feed),
        "the touched post's category was rebuilt"
    );
    let Lookup::Found(news_after) = after.document(&news_id) else {
        panic!("news renders");
    };
    assert!(
        Arc::ptr_eq(&news_after, &news_doc),
        "the touched post's category document was rendered anew"
    );
    assert_eq!(etag(&served, &news_path), news_etag);
    assert_ne!(etag(&served, "/feed.atom"), site_etag, "B's edit shows");

    // Undo B's edit: the site feed's bytes, and so its ETag, are back where they started.
    let text = model.put(B, "Post B", "sport", "t2");
    replace(&served, B, text.as_bytes());
    settle(&served, &model, &[], &[]);
    assert_eq!(etag(&served, "/feed.atom"), site_etag);
    assert_eq!(generation(&served), g1 + 1);
    assert!(Arc::ptr_eq(
        &served
            .running
            .store
            .snapshot()
            .expect("a snapshot")
            .feeds
            .categories["news"],
        &news_feed
    ));
    assert_eq!(etag(&served, &news_path), news_etag);
}

#[test]
fn a_broken_post_keeps_its_last_good_version_until_repaired() {
    let mut model = two_posts();
    let served = start(&model, "");
    settle(&served, &model, &[], &[]);
    let site = etag(&served, "/feed.atom");
    let g0 = generation(&served);

    // Written in place in one write (longer than the good version, so nothing is left over):
    // the watcher only ever sees the good bytes or the broken ones.
    let broken = format!(
        "---\ntitle: [Post A, broken\ndate: {DATE}\ncategories: news\ntags: t1\n---\n{}\n",
        "The flow sequence above is never closed. ".repeat(3)
    );
    overwrite(&served.path(A), broken.as_bytes());
    // Reported, and nothing else changes: "Post A" is still served.
    settle(&served, &model, &[], &[A]);
    assert_eq!(etag(&served, "/feed.atom"), site);
    assert_eq!(generation(&served), g0 + 1, "one snapshot, for the error");

    let text = model.put(A, "Post A, repaired", "news", "t1");
    served.write(A, text.as_bytes());
    settle(&served, &model, &[], &[]);
    assert_ne!(etag(&served, "/feed.atom"), site);
}

#[test]
fn a_half_written_post_is_reported_and_keeps_the_previous_version() {
    let mut model = two_posts();
    let served = start(&model, "");
    settle(&served, &model, &[], &[]);
    let previous = model.clone();

    // A post whose new version is only half there — the front matter's opening fence and
    // title, no closing fence — as a copy or download interrupted half way leaves it. (It
    // arrives by rename so that the watcher never sees the file empty on the way.)
    let text = model.put(A, "Post A, rewritten", "news", "t1");
    let (first, rest) = text.split_at(text.find("date:").expect("a date line"));
    assert_eq!(first, "---\ntitle: Post A, rewritten\n");
    let part = format!("{A}.part");
    served.write(&part, first.as_bytes());
    std::fs::rename(served.path(&part), served.path(A)).expect("rename");
    settle(&served, &previous, &[], &[A]);
    let errors = health(&served).errors;
    assert!(errors[0].contains("never closed"), "{errors:?}");

    // The rest arrives.
    let mut file = std::fs::File::options()
        .append(true)
        .open(served.path(A))
        .expect("open");
    file.write_all(rest.as_bytes()).expect("write");
    drop(file);
    settle(&served, &model, &[], &[]);
}

#[test]
fn a_burst_of_writes_ends_matching_the_last_contents() {
    let mut model = Model::default();
    for i in 0..10 {
        model.put(
            &format!("_posts/p{i}.md"),
            &format!("Post {i}"),
            "start",
            "t-start",
        );
    }
    let served = start(&model, "[feeds]\nlimit = 100\n");
    settle(&served, &model, &[], &[]);

    // 50 writes, round-robin over the 10 files, as fast as the disk takes them; titles,
    // categories and tags move around so every kind of feed changes.
    for round in 0..5 {
        for i in 0..10 {
            let rel = format!("_posts/p{i}.md");
            let text = model.put(
                &rel,
                &format!("Post {i} v{round}"),
                &format!("c{}", (i + round) % 3),
                &format!("t{round}"),
            );
            served.write(&rel, text.as_bytes());
        }
    }
    let gone: Vec<String> = ["t-start", "t0", "t1", "t2", "t3"]
        .into_iter()
        .flat_map(|n| scope_docs(Scope::Tag(n.into())))
        .chain(scope_docs(Scope::Category("start".into())))
        .collect();
    settle(&served, &model, &gone, &[]);
    let expected: BTreeSet<String> = (0..10).map(|i| format!("Post {i} v4")).collect();
    assert_eq!(titles(&served, "/feed.atom"), expected);
}

/// A date `secs` seconds from now in the front-matter form, cut to whole seconds (so 1 to
/// `secs` seconds away), and the moment it names.
fn due_in(secs: i64) -> (String, chrono::DateTime<Utc>) {
    let at = Utc::now() + chrono::Duration::seconds(secs);
    let text = at.format("%Y-%m-%d %H:%M:%S +0000").to_string();
    let at = chrono::DateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S %z")
        .expect("round trip")
        .with_timezone(&Utc);
    (text, at)
}

/// Asserts that no post of `model` beyond those of `visible` is served yet, though all of
/// them are loaded. Only meaningful before `due`, the earliest due time, which it checks.
#[track_caller]
fn assert_not_yet_served(
    served: &Served,
    model: &Model,
    visible: &Model,
    due: chrono::DateTime<Utc>,
) {
    let h = health(served);
    let site = titles(served, "/feed.atom");
    let later = served.get(&category("later")).status;
    let checked_at = Utc::now();
    assert!(
        checked_at < due,
        "the check ran too late to mean anything ({checked_at} >= {due})"
    );
    assert_eq!(h.posts, model.posts.len() as u64, "every post is loaded");
    let want: BTreeSet<String> = visible.posts.values().map(|m| m.title.clone()).collect();
    assert_eq!(site, want, "nothing dated in the future is served");
    assert_eq!(later, 404, "the future posts' category does not exist yet");
}

#[test]
fn a_future_post_appears_on_its_own_when_due() {
    let mut model = two_posts();
    let visible = model.clone();
    // One there from the start.
    let (date1, due1) = due_in(4);
    model.put_dated("_posts/later-1.md", "Later 1", "later", "t9", &date1);
    let served = start(&model, "");
    assert_not_yet_served(&served, &model, &visible, due1);

    // One written while running.
    let (date2, due2) = due_in(4);
    let text = model.put_dated("_posts/later-2.md", "Later 2", "later", "t9", &date2);
    served.write("_posts/later-2.md", text.as_bytes());
    served.wait_for("the watcher to load the future post", || {
        health(&served).posts == model.posts.len() as u64
    });
    assert_not_yet_served(&served, &model, &visible, due1.min(due2));
    let g = generation(&served);

    // No file changes from here on: both appear when due, and not before.
    settle(&served, &model, &[], &[]);
    assert!(Utc::now() >= due1.max(due2));
    assert!(generation(&served) > g);
}

#[test]
fn the_polling_watcher_sees_changes() {
    let mut model = two_posts();
    // Appended inside the `[server]` table `Served` writes.
    let served = start(&model, "watch = \"poll\"\npoll_interval_ms = 100\n");
    settle(&served, &model, &[], &[]);
    let site = etag(&served, "/feed.atom");

    let text = model.put(A, "Post A, polled", "news", "t1");
    served.write(A, text.as_bytes());
    settle(&served, &model, &[], &[]);
    assert_ne!(etag(&served, "/feed.atom"), site);

    // A second save straight after the first, most likely within the same second: notify's
    // poll watcher keeps modification times in whole seconds, so only a content comparison
    // sees this one.
    let text = model.put(A, "Post A, polled twice", "news", "t1");
    served.write(A, text.as_bytes());
    settle(&served, &model, &[], &[]);

    let rel = "_posts/2022-05-28-c.md";
    let text = model.put(rel, "Post C, polled", "weather", "t3");
    served.write(rel, text.as_bytes());
    std::fs::remove_file(served.path(B)).expect("rm");
    model.remove(B);
    let gone: Vec<String> = [Scope::Category("sport".into()), Scope::Tag("t2".into())]
        .into_iter()
        .flat_map(scope_docs)
        .collect();
    settle(&served, &model, &gone, &[]);
}

#[test]
fn an_emptied_post_is_reported_and_keeps_its_last_version() {
    let mut model = two_posts();
    let served = start(&model, "");
    settle(&served, &model, &[], &[]);
    let previous = model.clone();

    // What `std::fs::write` and most in-place saves do first, left that way: a watcher
    // reading between the truncation and the write sees exactly this.
    std::fs::File::create(served.path(A)).expect("truncate");
    settle(&served, &previous, &[], &[A]);
    let errors = health(&served).errors;
    assert!(errors[0].contains("empty"), "{errors:?}");

    let text = model.put(A, "Post A, written at last", "news", "t1");
    served.write(A, text.as_bytes());
    settle(&served, &model, &[], &[]);
}
