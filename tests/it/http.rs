//! The HTTP service over real sockets: conditional GET, compression, HEAD, errors, hostile
//! paths, discovery endpoints, replicas, and readers racing a writer.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::support::{Response, Served, request, sample_dir};

fn post(title: &str, date: &str, category: &str) -> Vec<u8> {
    format!("---\ntitle: \"{title}\"\ndate: {date}\ncategories: {category}\ntags: 山西晚报新闻\n---\n<p>{title} body</p>\n\n{}\n", "text ".repeat(200))
        .into_bytes()
}

fn small_site() -> Served {
    let a = post("First", "2022-05-26 07:32:30 +0800", "news");
    let b = post("Second", "2022-05-27 08:00:00 +0800", "news");
    let c = post("Third", "2022-05-28 09:00:00 +0800", "sport");
    Served::start(&[("a.md", &a), ("b.md", &b), ("c.md", &c)], "")
}

fn assert_cache_headers(r: &Response, etag: &str) {
    assert_eq!(r.header("etag"), Some(etag));
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=300, stale-while-revalidate=60, stale-if-error=86400")
    );
    // Feed URLs also vary by `Accept` (browsers get the HTML page).
    assert_eq!(r.header("vary"), Some("Accept, Accept-Encoding"));
}

#[test]
fn conditional_get_matrix() {
    let s = small_site();
    let modified = s.settled("/feed.atom");
    let full = s.get("/feed.atom");
    assert_eq!(full.status, 200);
    let etag = full.header("etag").expect("etag").to_owned();
    assert!(etag.starts_with("W/\""), "{etag}");
    let strong_form = etag.trim_start_matches("W/").to_owned();
    // When the content last changed: here when the files were written, which is later than
    // every post's date.
    let at = httpdate::parse_http_date(&modified).expect("an HTTP date");
    let newest_entry = httpdate::parse_http_date("Sat, 28 May 2022 01:00:00 GMT").expect("date");
    assert!(at >= newest_entry);
    let second = std::time::Duration::from_secs(1);
    let before = httpdate::fmt_http_date(at - second);
    let after = httpdate::fmt_http_date(at + 3600 * second);
    let (before, after) = (before.as_str(), after.as_str());
    let list = format!("\"nope\", {etag}");
    let cases: Vec<(Vec<(&str, &str)>, u16)> = vec![
        (vec![("If-None-Match", etag.as_str())], 304),
        (vec![("If-None-Match", strong_form.as_str())], 304),
        (vec![("If-None-Match", "\"nope\"")], 200),
        (vec![("If-None-Match", "W/\"nope\"")], 200),
        (vec![("If-None-Match", list.as_str())], 304),
        (vec![("If-None-Match", "*")], 304),
        (vec![("If-Modified-Since", modified.as_str())], 304),
        (vec![("If-Modified-Since", after)], 304),
        (vec![("If-Modified-Since", before)], 200),
        (vec![("If-Modified-Since", "yesterday-ish")], 200),
        // If-None-Match takes precedence over If-Modified-Since, both ways.
        (
            vec![("If-None-Match", "\"nope\""), ("If-Modified-Since", after)],
            200,
        ),
        (
            vec![
                ("If-None-Match", etag.as_str()),
                ("If-Modified-Since", before),
            ],
            304,
        ),
    ];
    for (headers, expected) in cases {
        let r = s.request("GET", "/feed.atom", &headers);
        assert_eq!(r.status, expected, "{headers:?}");
        assert_cache_headers(&r, &etag);
        if expected == 304 {
            assert!(r.body.is_empty(), "a 304 has no body");
        } else {
            assert_eq!(r.body, full.body);
        }
    }
    // The same ETag validates a HEAD.
    let r = s.request("HEAD", "/feed.atom", &[("If-None-Match", etag.as_str())]);
    assert_eq!(r.status, 304);
}

#[test]
fn compression_round_trips_and_honours_q_values() {
    let s = small_site();
    let identity = s.get("/feed.rss");
    assert_eq!(identity.header("content-encoding"), None);
    let etag = identity.header("etag").expect("etag").to_owned();

    let gz = s.request("GET", "/feed.rss", &[("Accept-Encoding", "gzip")]);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&gz.body[..])
        .read_to_end(&mut decoded)
        .expect("valid gzip");
    assert_eq!(decoded, identity.body);
    assert!(gz.body.len() < identity.body.len());
    assert_cache_headers(&gz, &etag);

    let br = s.request(
        "GET",
        "/feed.rss",
        &[("Accept-Encoding", "gzip, deflate, br")],
    );
    assert_eq!(br.header("content-encoding"), Some("br"));
    let mut decoded = Vec::new();
    brotli::Decompressor::new(&br.body[..], 4096)
        .read_to_end(&mut decoded)
        .expect("valid brotli");
    assert_eq!(decoded, identity.body);
    assert_cache_headers(&br, &etag);

    let r = s.request(
        "GET",
        "/feed.rss",
        &[("Accept-Encoding", "br;q=0.1, gzip;q=0.9")],
    );
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let r = s.request(
        "GET",
        "/feed.rss",
        &[("Accept-Encoding", "br;q=0, gzip;q=0")],
    );
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.body, identity.body);
    // One weak ETag across encodings: a client that switches encodings still revalidates.
    let r = s.request(
        "GET",
        "/feed.rss",
        &[("Accept-Encoding", "br"), ("If-None-Match", etag.as_str())],
    );
    assert_eq!(r.status, 304);
}

#[test]
fn head_answers_like_get_without_a_body() {
    let s = small_site();
    for path in [
        "/feed.atom",
        "/category/news.json",
        "/feeds.opml",
        "/",
        "/feed.html",
        "/nope",
    ] {
        for enc in ["identity", "gzip", "br"] {
            let get = s.request("GET", path, &[("Accept-Encoding", enc)]);
            let head = s.request("HEAD", path, &[("Accept-Encoding", enc)]);
            assert_eq!(head.status, get.status, "{path}");
            assert!(head.body.is_empty(), "{path}: HEAD sent a body");
            let without_date = |r: &Response| {
                let mut h: Vec<_> = r
                    .headers
                    .iter()
                    .filter(|(n, _)| n != "date")
                    .cloned()
                    .collect();
                h.sort();
                h
            };
            assert_eq!(without_date(&head), without_date(&get), "{path} {enc}");
            assert_eq!(
                head.header("content-length")
                    .and_then(|l| l.parse::<usize>().ok()),
                Some(get.body.len()),
                "{path} {enc}"
            );
        }
    }
}

#[test]
fn content_types_carry_a_charset() {
    let s = small_site();
    for (path, ctype) in [
        ("/feed.atom", "application/atom+xml; charset=utf-8"),
        ("/feed.rss", "application/rss+xml; charset=utf-8"),
        ("/feed.json", "application/feed+json; charset=utf-8"),
        ("/feed.xml", "application/atom+xml; charset=utf-8"),
        ("/feed/news.xml", "application/atom+xml; charset=utf-8"),
        ("/feeds.opml", "text/x-opml; charset=utf-8"),
        ("/", "text/html; charset=utf-8"),
        ("/feed.html", "text/html; charset=utf-8"),
        (
            "/tag/%E5%B1%B1%E8%A5%BF%E6%99%9A%E6%8A%A5%E6%96%B0%E9%97%BB.rss",
            "application/rss+xml; charset=utf-8",
        ),
    ] {
        let r = s.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(ctype), "{path}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
}

#[test]
fn browsers_get_a_feed_as_a_page_and_readers_get_the_feed() {
    let s = small_site();
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let simplepie = "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, \
                     application/xml;q=0.8, text/xml;q=0.8, text/html;q=0.7, */*;q=0.1";
    for (path, page, reader_type) in [
        (
            "/feed.atom",
            "/feed.html",
            "application/atom+xml; charset=utf-8",
        ),
        (
            "/category/news.rss",
            "/category/news.html",
            "application/rss+xml; charset=utf-8",
        ),
        (
            "/feed.json",
            "/feed.html",
            "application/feed+json; charset=utf-8",
        ),
        (
            "/feed.xml",
            "/feed.html",
            "application/atom+xml; charset=utf-8",
        ),
    ] {
        let seen = s.request("GET", path, &[("Accept", browser)]);
        assert_eq!(seen.status, 200, "{path}");
        assert_eq!(
            seen.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{path}"
        );
        assert_eq!(
            seen.header("vary"),
            Some("Accept, Accept-Encoding"),
            "{path}"
        );
        assert!(seen.text().starts_with("<!DOCTYPE html>"), "{path}");
        // The page has its own URL, with the same bytes and tag, the same for everyone.
        let direct = s.get(page);
        assert_eq!(direct.body, seen.body, "{path}");
        assert_eq!(direct.header("etag"), seen.header("etag"), "{path}");
        assert_eq!(direct.header("vary"), Some("Accept-Encoding"), "{page}");
        for accept in ["application/atom+xml, */*;q=0.1", simplepie, "*/*"] {
            let read = s.request("GET", path, &[("Accept", accept)]);
            assert_eq!(
                read.header("content-type"),
                Some(reader_type),
                "{path} {accept}"
            );
            assert_eq!(
                read.header("vary"),
                Some("Accept, Accept-Encoding"),
                "{path}"
            );
            assert_ne!(
                read.header("etag"),
                seen.header("etag"),
                "one tag per representation"
            );
        }
        let etag = seen.header("etag").expect("etag").to_owned();
        let again = s.request(
            "GET",
            path,
            &[("Accept", browser), ("If-None-Match", etag.as_str())],
        );
        assert_eq!(again.status, 304, "{path}");
    }
    // Other documents do not depend on Accept.
    let opml = s.request("GET", "/feeds.opml", &[("Accept", browser)]);
    assert_eq!(opml.header("vary"), Some("Accept-Encoding"));
}

#[test]
fn unknown_methods_paths_and_hostile_input_are_4xx() {
    let s = small_site();
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let r = s.request(method, "/feed.atom", &[]);
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"));
    }
    let long = format!("/category/{}.atom", "a".repeat(20_000));
    let overlong = format!("/{}", "%2e%2e/".repeat(2000));
    for path in [
        "/category/unknown.atom",
        "/tag/nope.rss",
        "/feed/archive/1.atom",
        "/feed/archive/0.atom",
        "/feed.htm",
        "/..%2f..%2fetc/passwd",
        "/category/..%2f..%2fetc%2fpasswd.atom",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/category/%C0%AE%C0%AE%2Fconfig.atom",
        "/category/%ff%fe.atom",
        "/category/%zz.atom",
        "/../Cargo.toml",
        "/feed.atom%00.txt",
        "/category/news.atom/..",
        long.as_str(),
        overlong.as_str(),
    ] {
        let r = s.request("GET", path, &[]);
        assert!(
            (400..500).contains(&r.status),
            "{}: {}",
            &path[..path.len().min(60)],
            r.status
        );
        assert!(!r.text().contains("[package]"), "{path} leaked a file");
    }
    assert_eq!(s.get("/category/unknown.atom").status, 404);
    assert_eq!(s.get("/category/unknown.atom").text(), "no such feed\n");
    // The service is still fine afterwards.
    assert_eq!(s.get("/feed.atom").status, 200);
}

#[test]
fn healthz_and_metrics_report_the_state() {
    let s = small_site();
    let h = s.get("/healthz");
    assert_eq!(h.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&h.body).expect("json");
    assert_eq!(v["status"], "ok");
    assert_eq!(v["posts"], 3);
    assert_eq!(v["load_errors"], 0);
    assert!(v["feeds"].as_u64() >= Some(4));
    let etag = s.get("/feed.atom").header("etag").expect("etag").to_owned();
    s.request("GET", "/feed.atom", &[("If-None-Match", etag.as_str())]);
    s.get("/category/nothing.rss");
    let m = s.get("/metrics");
    assert_eq!(m.status, 200);
    assert!(
        m.header("content-type")
            .is_some_and(|c| c.starts_with("text/plain"))
    );
    let text = m.text();
    for expected in [
        "tidings_http_requests_total{kind=\"feed\",format=\"atom\",status=\"200\"} 1",
        "tidings_http_requests_total{kind=\"feed\",format=\"atom\",status=\"304\"} 1",
        "tidings_http_requests_total{kind=\"feed\",format=\"rss\",status=\"404\"} 1",
        "tidings_http_not_modified_ratio 0.5",
        "tidings_posts 3",
        "tidings_load_errors 0",
        "tidings_rebuilds_total 1",
        "tidings_rebuild_duration_seconds_count 1",
        "tidings_http_response_body_bytes_total{kind=\"feed\",format=\"atom\"}",
        "tidings_last_rebuild_timestamp_seconds",
    ] {
        assert!(text.contains(expected), "metrics lack {expected}:\n{text}");
    }
    assert!(!text.contains("news"), "no category names as labels");
}

#[test]
fn healthz_is_503_until_the_first_load() {
    // A store that has published nothing yet, behind the real server.
    let store = Arc::new(tidings::store::Store::new());
    let metrics = Arc::new(tidings::metrics::Metrics::new());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = tidings::http::AppState {
        store,
        metrics,
        audience: Arc::default(),
        connections: Arc::default(),
        hub: None,
    };
    let limits = tidings::http::Limits::of(&tidings::config::Config::defaults().server);
    let server = tidings::http::Server::start(state, listener, limits).expect("server");
    assert_eq!(server.addr(), addr);
    let h = request(addr, "GET", "/healthz", &[]);
    assert_eq!(h.status, 503);
    assert_eq!(h.header("retry-after"), Some("1"), "polite while loading");
    assert_eq!(h.header("cache-control"), Some("no-store"));
    let feed = request(addr, "GET", "/feed.atom", &[]);
    assert_eq!(feed.status, 503);
    assert_eq!(feed.header("retry-after"), Some("1"));
    assert_eq!(feed.header("cache-control"), Some("no-store"));
    server.stop();
    // Stopped means stopped: the port no longer answers.
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn replicas_serve_identical_bytes_and_etags() {
    let copy = |s: &Served| {
        for entry in std::fs::read_dir(sample_dir()).expect("sample") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), s.path(&entry.file_name().to_string_lossy()))
                .expect("copy");
        }
    };
    let a = Served::start(&[], "");
    let b = Served::start(&[], "");
    copy(&a);
    copy(&b);
    for s in [&a, &b] {
        s.wait_for("the sample to load", || {
            serde_json::from_slice::<serde_json::Value>(&s.get("/healthz").body)
                .is_ok_and(|v| v["posts"] == 61)
        });
    }
    for path in [
        "/feed.atom",
        "/feed.rss",
        "/feed.json",
        "/category/shanxiwanbao.atom",
        "/feeds.opml",
        "/",
    ] {
        let ra = a.request("GET", path, &[("Accept-Encoding", "br")]);
        let rb = b.request("GET", path, &[("Accept-Encoding", "br")]);
        assert_eq!(ra.status, 200);
        assert_eq!(ra.header("etag"), rb.header("etag"), "{path}");
        assert!(ra.body == rb.body, "{path}: replicas differ");
    }
}

#[test]
fn readers_racing_a_writer_always_get_consistent_documents() {
    let s = Arc::new(small_site());
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let s = Arc::clone(&s);
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) && i < 200 {
                let title = format!("Edit {i}");
                s.write(
                    &format!("w{}.md", i % 5),
                    &post(&title, "2022-06-01 10:00:00 +0800", "news"),
                );
                i += 1;
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            i
        })
    };
    let readers: Vec<_> = (0..4)
        .map(|r| {
            let s = Arc::clone(&s);
            std::thread::spawn(move || {
                let mut seen: HashMap<String, blake3::Hash> = HashMap::new();
                let paths = ["/feed.atom", "/category/news.rss", "/feed.json"];
                for n in 0..150 {
                    let path = paths[(n + r) % paths.len()];
                    let resp = s.request("GET", path, &[("Accept-Encoding", "gzip")]);
                    assert_eq!(resp.status, 200, "{path}");
                    let mut body = Vec::new();
                    flate2::read::GzDecoder::new(&resp.body[..])
                        .read_to_end(&mut body)
                        .expect("gzip");
                    if path.ends_with(".json") {
                        serde_json::from_slice::<serde_json::Value>(&body)
                            .expect("well-formed JSON");
                    } else {
                        let text = std::str::from_utf8(&body).expect("utf-8");
                        roxmltree::Document::parse(text).expect("well-formed XML");
                    }
                    let etag = resp.header("etag").expect("etag").to_owned();
                    let hash = blake3::hash(&body);
                    if let Some(previous) = seen.insert(format!("{path} {etag}"), hash) {
                        assert_eq!(previous, hash, "{path}: one ETag, two bodies");
                    }
                }
                seen.len()
            })
        })
        .collect();
    let mut versions = 0;
    for r in readers {
        versions += r.join().expect("reader");
    }
    stop.store(true, Ordering::Relaxed);
    let writes = writer.join().expect("writer");
    assert!(writes > 10);
    assert!(
        versions > 3,
        "readers saw the content change ({versions} versions)"
    );
}

#[test]
fn archive_pages_are_served_and_survive_newer_edits() {
    let posts: Vec<(String, Vec<u8>)> = (1..=5)
        .map(|d| {
            (
                format!("p{d}.md"),
                post(
                    &format!("Post {d}"),
                    &format!("2022-05-0{d} 10:00:00 +0800"),
                    "news",
                ),
            )
        })
        .collect();
    let files: Vec<(&str, &[u8])> = posts
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    let s = Served::start(&files, "[feeds]\nlimit = 2\n");
    let titles = |r: &Response| -> Vec<String> {
        feed_rs::parser::parse(&r.body[..])
            .expect("parses")
            .entries
            .into_iter()
            .filter_map(|e| e.title.map(|t| t.content))
            .collect()
    };
    let first = s.get("/category/news/archive/1.atom");
    assert_eq!(first.status, 200);
    // A full archive page (page 2 follows it) never changes again: caches keep it long; the
    // newest archive page and the subscription document change, so theirs stay short.
    let long = "public, max-age=86400, stale-while-revalidate=60, stale-if-error=86400";
    assert_eq!(first.header("cache-control"), Some(long));
    let short = "public, max-age=300, stale-while-revalidate=60, stale-if-error=86400";
    assert_eq!(
        s.get("/category/news/archive/2.atom")
            .header("cache-control"),
        Some(short)
    );
    assert_eq!(
        s.get("/category/news.atom").header("cache-control"),
        Some(short)
    );
    assert_eq!(
        titles(&first),
        ["Post 2", "Post 1"],
        "page 1 holds the oldest posts"
    );
    assert_eq!(titles(&s.get("/feed/archive/2.json")), ["Post 4", "Post 3"]);
    assert_eq!(
        s.get("/feed/archive/3.atom").status,
        404,
        "only full pages exist"
    );
    let etag = first.header("etag").expect("etag").to_owned();

    // Editing the newest post changes the subscription document, not the archive page.
    s.write(
        "p5.md",
        &post("Post 5, corrected", "2022-05-05 10:00:00 +0800", "news"),
    );
    s.wait_for("the edit", || {
        s.get("/category/news.atom").text().contains("corrected")
    });
    let again = s.request(
        "GET",
        "/category/news/archive/1.atom",
        &[("If-None-Match", etag.as_str())],
    );
    assert_eq!(again.status, 304, "the archive page kept its ETag");
}

#[test]
fn every_response_states_its_cache_policy_and_feeds_keep_their_headers() {
    let s = small_site();
    s.settled("/feed.atom");
    fn names(r: &Response) -> Vec<&str> {
        let mut n: Vec<&str> = r
            .headers
            .iter()
            .map(|(n, _)| n.as_str())
            // Added by actix, and an answer to the test client's `Connection: close`.
            .filter(|n| !matches!(*n, "date" | "connection"))
            .collect();
        n.sort_unstable();
        n
    }
    // A feed: exactly these headers, and an ETag that is the first 128 bits of the BLAKE3
    // hash of the identity bytes, so ETags stay what clients already hold.
    let full = s.get("/feed.atom");
    assert_eq!(
        names(&full),
        [
            "cache-control",
            "content-length",
            "content-type",
            "etag",
            "last-modified",
            "vary",
            "x-content-type-options"
        ]
    );
    let etag = full.header("etag").expect("etag");
    assert_eq!(
        etag,
        format!("W/\"{}\"", &blake3::hash(&full.body).to_hex()[..32])
    );
    let gz = s.request("GET", "/feed.atom", &[("Accept-Encoding", "gzip")]);
    assert_eq!(names(&gz).len(), names(&full).len() + 1);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let not_modified = s.request("GET", "/feed.atom", &[("If-None-Match", etag)]);
    assert_eq!(not_modified.status, 304);
    assert_eq!(
        names(&not_modified),
        [
            "cache-control",
            "etag",
            "last-modified",
            "vary",
            "x-content-type-options"
        ]
    );

    // Everything else describes this moment: never stored, never sniffed.
    let long = format!("/{}", "a".repeat(5000));
    for (method, path, status) in [
        ("GET", "/healthz", 200),
        ("GET", "/metrics", 200),
        ("GET", "/category/nope.atom", 404),
        ("GET", "/nope", 404),
        ("POST", "/feed.atom", 405),
        ("GET", long.as_str(), 414),
    ] {
        let r = s.request(method, path, &[]);
        let path = &path[..path.len().min(20)];
        assert_eq!(r.status, status, "{path}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(r.header("vary"), None, "{path}");
        assert!(r.header("content-type").is_some(), "{path}");
    }
}

#[test]
fn the_operator_sees_who_reads_which_feed() {
    let s = small_site();
    // Every document carries the same date; asking the OPML list counts no poller.
    s.settled("/feeds.opml");
    let ua = |agent: &str| [("User-Agent", agent.to_owned())];
    let get = |path: &str, agent: &str, extra: &[(&str, &str)]| {
        let agent = ua(agent);
        let mut headers: Vec<(&str, &str)> = vec![(agent[0].0, agent[0].1.as_str())];
        headers.extend_from_slice(extra);
        s.request("GET", path, &headers).status
    };
    // An aggregator reports its audience on every poll: its latest figure counts.
    assert_eq!(
        get(
            "/feed.atom",
            "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 12 subscribers)",
            &[]
        ),
        200
    );
    assert_eq!(
        get(
            "/feed.rss",
            "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 30 subscribers)",
            &[]
        ),
        200
    );
    // A reader polling conditionally, in another format of the same feed.
    assert_eq!(
        get(
            "/feed.json",
            "newsboat/2.30",
            &[("If-Modified-Since", "Thu, 01 Jan 2099 00:00:00 GMT")]
        ),
        304
    );
    assert_eq!(
        get(
            "/category/news.atom",
            "Mozilla/5.0 (compatible; inoreader.com; 3 subscribers)",
            &[]
        ),
        200
    );
    assert_eq!(
        get("/category/nope.atom", "Feedly/1.0 (999 subscribers)", &[]),
        404
    );

    let page = s.get("/stats");
    assert_eq!(page.status, 200);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let html = page.text();
    assert!(html.contains("<td><a href=\"/feed.atom\">/feed.atom</a></td><td>site</td><td class=\"n\">2</td><td class=\"n\">30</td><td>Feedly 30</td><td class=\"n\">3</td><td class=\"n\">33%</td>"), "{html}");
    assert!(html.contains("inoreader.com 3"), "{html}");
    assert!(
        !html.contains("nope") && !html.contains("999"),
        "only feeds that exist"
    );
    let metrics = s.get("/metrics").text();
    for line in [
        "tidings_feed_pollers{kind=\"site\"} 2",
        "tidings_feed_reported_subscribers{kind=\"site\"} 30",
        "tidings_feed_reported_subscribers{kind=\"category\"} 3",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
}

#[test]
fn a_cdn_operator_sets_the_cache_policy() {
    let s = Served::start(
        &[("a.md", &post("First", "2022-05-26 07:32:30 +0800", "news"))],
        "[feeds]\nmax_age = 60\ns_maxage = 600\nstale_while_revalidate = 30\nstale_if_error = 0\n",
    );
    for path in ["/feed.atom", "/category/news.html", "/feeds.opml", "/"] {
        assert_eq!(
            s.get(path).header("cache-control"),
            Some("public, max-age=60, s-maxage=600, stale-while-revalidate=30"),
            "{path}"
        );
    }
}
