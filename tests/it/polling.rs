//! Polling that never misses a change: whenever a document's bytes change, its
//! `Last-Modified` moves past every value served before, so a client that revalidates by date
//! alone — `curl -z`, or newsboat, whose libcurl throws a 200's body away when the date did not
//! move — sees the change. Each way a change can leave entry dates and file times standing
//! still is tried with real files and real clients.

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use crate::reader::{Newsboat, not_modified, require};
use crate::support::Served;

fn post(title: &str, date: &str, category: &str) -> Vec<u8> {
    format!("---\ntitle: {title}\ndate: {date}\ncategory: {category}\n---\nAbout {title}.\n")
        .into_bytes()
}

/// Puts a file in place with an old modification time, the way `rsync -a` does: written to a
/// hidden temporary file, its time set, then renamed over the target, so the service never
/// sees it with any other time.
pub(crate) fn copy_in_with_old_time(dir: &std::path::Path, rel: &str, bytes: &[u8]) {
    let staged = dir.join(format!(".{rel}.tmp"));
    std::fs::write(&staged, bytes).expect("write");
    let file = std::fs::File::options()
        .write(true)
        .open(&staged)
        .expect("open");
    file.set_modified(old_time()).expect("set mtime");
    drop(file);
    std::fs::rename(&staged, dir.join(rel)).expect("rename into place");
}

/// `curl -z DATE URL`: a conditional GET by date alone. Returns the status and the body.
fn curl_since(url: &str, since: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "-z", since, "-w", "\n%{http_code}", url])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("curl cannot run ({e}); scripts/test installs it"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').expect("a status line");
    (status.trim().parse().expect("a status"), body.to_owned())
}

/// The `Last-Modified` a document is served with, once it has one.
fn last_modified(served: &Served, path: &str) -> String {
    served.settled(path)
}

/// Waits until the wall clock is in a later second than now: HTTP dates have one-second
/// resolution, and real edits come after the fetch they follow.
fn next_second(served: &Served) {
    let next_ms = (chrono::Utc::now().timestamp() + 1) * 1000 + 50;
    served.wait_for("the next second", || {
        chrono::Utc::now().timestamp_millis() > next_ms
    });
}

pub(crate) fn old_time() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_640_995_200) // 2022-01-01
}

#[test]
fn date_only_clients_see_every_kind_of_change() {
    require("newsboat", "-v");
    require("sqlite3", "-version");
    let served = Served::start(
        &[
            ("a.md", &post("Alpha", "2022-05-26 08:00:00 +0800", "news")),
            ("b.md", &post("Bravo", "2022-05-27 08:00:00 +0800", "news")),
        ],
        "",
    );
    let base = format!("http://{}", served.running.addr);
    let feeds = [
        format!("{base}/feed.atom"),
        format!("{base}/category/news.atom"),
        format!("{base}/category/sport.atom"),
    ];
    // One feed for newsboat: it stores an entry once whatever feeds carry it (by guid).
    let reader = Newsboat::new(&feeds[..1]);
    // Twice: newsboat records validators only for a feed already in its cache.
    reader.reload();
    reader.reload();

    // 1. A post copied in with its old file time kept, dated after every entry but before
    //    the feed's Last-Modified (which counts the other files' write times).
    let before = last_modified(&served, "/feed.atom");
    next_second(&served);
    copy_in_with_old_time(
        &served.path(""),
        "c.md",
        &post("Charlie", "2022-05-28 08:00:00 +0800", "news"),
    );
    served.wait_for("Charlie to be served", || {
        served.get("/feed.atom").text().contains("Charlie")
    });
    for url in &feeds[..2] {
        let (status, body) = curl_since(url, &before);
        assert_eq!(status, 200, "{url} since {before}");
        assert!(body.contains("Charlie"), "{url}");
    }
    let fetched_before = not_modified(&served);
    reader.reload();
    assert_eq!(not_modified(&served), fetched_before, "newsboat got 200s");
    let items = reader.items();
    for url in &feeds[..1] {
        assert!(
            items
                .get(url)
                .is_some_and(|feed| feed.values().any(|i| i.title == "Charlie")),
            "newsboat shows Charlie in {url}: {:?}\n{}",
            items.keys().collect::<Vec<_>>(),
            reader.output()
        );
    }

    // 2. A post deleted: the entries left are all older, and no file was written.
    let before = last_modified(&served, "/feed.atom");
    next_second(&served);
    std::fs::remove_file(served.path("b.md")).expect("rm");
    served.wait_for("Bravo to be gone", || {
        !served.get("/feed.atom").text().contains("Bravo")
    });
    let (status, body) = curl_since(&feeds[0], &before);
    assert_eq!(status, 200, "a deletion is a change");
    assert!(!body.contains("Bravo"));
    let fetched_before = not_modified(&served);
    reader.reload();
    assert_eq!(
        not_modified(&served),
        fetched_before,
        "newsboat fetched the feed that lost a post\n{}",
        reader.output()
    );

    // 3. A post moved to another category, its file time kept: both category feeds change.
    let news_before = last_modified(&served, "/category/news.atom");
    next_second(&served);
    copy_in_with_old_time(
        &served.path(""),
        "a.md",
        &post("Alpha", "2022-05-26 08:00:00 +0800", "sport"),
    );
    served.wait_for("Alpha to move", || {
        served.get("/category/sport.atom").status == 200
            && !served.get("/category/news.atom").text().contains("Alpha")
    });
    let (status, body) = curl_since(&feeds[1], &news_before);
    assert_eq!(status, 200, "the category Alpha left");
    assert!(!body.contains("Alpha"));
    let (status, body) = curl_since(&feeds[2], &news_before);
    assert_eq!(status, 200, "the category Alpha joined");
    assert!(body.contains("Alpha"));

    // And nothing changed is still a 304, by date as by ETag.
    let now = last_modified(&served, "/feed.atom");
    assert_eq!(curl_since(&feeds[0], &now).0, 304);
}
