//! Purge on change: tidings behind a real Varnish on loopback, with documents cached for five
//! minutes, tells it after each rebuild to drop exactly the URLs whose bytes changed — so an
//! edit shows through the cache at once in every spelling (formats, the HTML page, the
//! browser's variant of a feed URL, jekyll-feed's alias), while an unrelated feed stays
//! cached. The same with `BAN`; a CDN-style URL template receives exactly the changed URLs; a
//! dead or hanging cache delays no rebuild and its retries are counted.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use percent_encoding::percent_decode_str;

use crate::caches::{BROWSER, Front, READER, free_port, varnish_with};
use crate::support::{Response, Served, request, wait_for};

/// The VCL the README recommends for purging, with the backend filled in: `PURGE` drops one
/// URL (every variant of it), `BAN` drops every object whose URL matches `X-Ban-Url`, both
/// only from loopback; objects remember their URL and host for the ban lurker.
pub(crate) fn purge_vcl(backend: SocketAddr) -> String {
    format!(
        r#"vcl 4.1;

backend tidings {{ .host = "127.0.0.1"; .port = "{port}"; }}

acl purgers {{ "127.0.0.1"; "::1"; }}

sub vcl_recv {{
    if (req.method == "PURGE") {{
        if (client.ip !~ purgers) {{ return (synth(405, "Not allowed")); }}
        return (purge);
    }}
    if (req.method == "BAN") {{
        if (client.ip !~ purgers) {{ return (synth(405, "Not allowed")); }}
        if (!req.http.X-Ban-Url) {{ return (synth(400, "X-Ban-Url required")); }}
        ban("obj.http.x-host == " + req.http.host + " && obj.http.x-url ~ " + req.http.X-Ban-Url);
        return (synth(200, "Banned"));
    }}
}}

sub vcl_backend_response {{
    set beresp.http.x-url = bereq.url;
    set beresp.http.x-host = bereq.http.host;
}}

sub vcl_deliver {{
    unset resp.http.x-url;
    unset resp.http.x-host;
}}
"#,
        port = backend.port()
    )
}

fn post(title: &str, category: &str) -> Vec<u8> {
    format!("---\ntitle: {title}\ndate: 2022-05-26 08:00:00 +0800\ncategory: {category}\n---\nx\n")
        .into_bytes()
}

fn other_post() -> Vec<u8> {
    "---\ntitle: Elsewhere\ndate: 2022-05-20 08:00:00 +0800\ncategory: sport\n---\ny\n"
        .as_bytes()
        .to_vec()
}

/// Long enough that only a purge explains a change showing through the cache in a test.
const CACHED_FOR: &str = "[feeds]\nmax_age = 300\nstale_while_revalidate = 0\n";

/// Every spelling of the `news` category's subscription documents: path, and the request
/// headers a client sends.
const NEWS: &[(&str, &[(&str, &str)])] = &[
    ("/category/news.atom", &[READER]),
    ("/category/news.atom", &[BROWSER]),
    ("/category/news.rss", &[]),
    ("/category/news.json", &[]),
    ("/category/news.html", &[]),
    ("/feed/news.xml", &[]),
    ("/feed.atom", &[READER]),
];

fn through(front: &Front, path: &str, headers: &[(&str, &str)]) -> Response {
    request(front.addr, "GET", path, headers)
}

/// Whether Varnish answered from its cache: `X-Varnish` then names this request and the one
/// that stored the object.
fn hit(response: &Response) -> bool {
    response
        .header("x-varnish")
        .is_some_and(|ids| ids.split_whitespace().count() == 2)
}

/// Starts tidings purging `endpoint` (with `{cache}` standing for the cache's address), and
/// Varnish in front of it with the recommended VCL.
fn behind_varnish(endpoint: &str) -> (Served, Front) {
    let port = free_port();
    let endpoint = endpoint.replace("{cache}", &format!("http://127.0.0.1:{port}"));
    let served = Served::start(
        &[("a.md", &post("Alpha", "news")), ("b.md", &other_post())],
        &format!("{CACHED_FOR}[purge]\nendpoints = [\"{endpoint}\"]\n"),
    );
    let front = varnish_with(port, &purge_vcl(served.running.addr));
    (served, front)
}

/// An edit shows through Varnish at once in every spelling, and the unrelated feed stays a
/// cache hit.
fn edit_shows_through(served: &Served, front: &Front) {
    for (path, headers) in NEWS {
        let first = through(front, path, headers);
        assert_eq!(first.status, 200, "{path}");
        assert!(first.text().contains("Alpha"), "{path}");
        let again = through(front, path, headers);
        assert!(hit(&again), "{path} is cached: {:?}", again.headers);
    }
    let sport = through(front, "/category/sport.atom", &[READER]);
    assert!(hit(&through(front, "/category/sport.atom", &[READER])));

    let edited = Instant::now();
    served.write("a.md", &post("Bravo", "news"));
    for (path, headers) in NEWS {
        wait_for(
            &format!("the edit through the cache at {path}"),
            Duration::from_secs(10),
            || {
                let text = through(front, path, headers).text();
                text.contains("Bravo") && !text.contains("Alpha")
            },
        );
    }
    eprintln!(
        "edit visible through Varnish in every spelling after {:?} (max-age 300 s)",
        edited.elapsed()
    );

    let still = through(front, "/category/sport.atom", &[READER]);
    assert!(
        hit(&still),
        "an unrelated feed stays cached: {:?}",
        still.headers
    );
    assert_eq!(still.body, sport.body);
}

#[test]
fn an_edit_is_visible_through_varnish_at_once_with_purge() {
    let (served, front) = behind_varnish("PURGE {cache}");
    edit_shows_through(&served, &front);
    let metrics = served.get("/metrics").text();
    assert!(counter(&metrics, "tidings_purge_requests_total", "ok") > 0);
    assert_eq!(counter(&metrics, "tidings_purge_urls_total", "dropped"), 0);
}

#[test]
fn an_edit_is_visible_through_varnish_at_once_with_ban() {
    let (served, front) = behind_varnish("BAN {cache}");
    edit_shows_through(&served, &front);
    // A ban covers a query string's variant of a URL too, which PURGE cannot name.
    let tracked = "/category/news.rss?utm_source=x";
    assert!(through(&front, tracked, &[]).text().contains("Bravo"));
    assert!(hit(&through(&front, tracked, &[])));
    served.write("a.md", &post("Charlie", "news"));
    wait_for(
        "the ban of a URL with a query",
        Duration::from_secs(10),
        || through(&front, tracked, &[]).text().contains("Charlie"),
    );
    let metrics = served.get("/metrics").text();
    assert!(counter(&metrics, "tidings_purge_requests_total", "ok") > 0);
}

/// A counter's value for one `result` label (0 when absent).
fn counter(metrics: &str, name: &str, result: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(name) && l.contains(&format!("result=\"{result}\"")))
        .filter_map(|l| l.rsplit(' ').next().and_then(|n| n.parse::<u64>().ok()))
        .sum()
}

#[test]
fn a_dead_or_hanging_cache_delays_no_rebuild_and_its_retries_are_counted() {
    // One port nothing listens on, one that accepts connections and never answers.
    let dead = free_port();
    let hanging = TcpListener::bind("127.0.0.1:0").expect("bind");
    let hanging_port = hanging.local_addr().expect("addr").port();
    let served = Served::start(
        &[("a.md", &post("Alpha", "news"))],
        &format!(
            "{CACHED_FOR}[purge]\nendpoints = [\"PURGE http://127.0.0.1:{dead}\", \
             \"BAN http://127.0.0.1:{hanging_port}\", \
             \"POST http://127.0.0.1:{dead}/purge?url={{url}}\"]\n"
        ),
    );
    for title in ["Bravo", "Charlie", "Delta"] {
        served.write("a.md", &post(title, "news"));
        served.wait_for(&format!("{title} served directly"), || {
            served.get("/category/news.atom").text().contains(title)
        });
    }
    served.wait_for("the failures counted as retries", || {
        let metrics = served.get("/metrics").text();
        counter(&metrics, "tidings_purge_urls_total", "retried") > 0
            && counter(&metrics, "tidings_purge_requests_total", "failed") > 0
    });
    drop(hanging);
}

/// A stand-in for a CDN's purge API: records the method, target and `X-Api-Key` of every
/// request and answers 200.
struct Api {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Api {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let log = Arc::clone(&log);
                // A connection per endpoint, kept alive: each is served on its own.
                std::thread::spawn(move || serve(stream, &log));
            }
        });
        Self { addr, seen }
    }

    /// The URLs purged with `method`, decoded from the `url` query value, each once.
    fn purged(&self, method: &str) -> Vec<String> {
        let seen = self.seen.lock().expect("lock");
        seen.iter()
            .filter_map(|line| line.strip_prefix(&format!("{method} /purge?url=")))
            .filter_map(|rest| rest.split(' ').next())
            .map(|v| percent_decode_str(v).decode_utf8_lossy().into_owned())
            .collect()
    }

    /// The paths purged with `DELETE /zone{path}`.
    fn zone_paths(&self) -> Vec<String> {
        let seen = self.seen.lock().expect("lock");
        seen.iter()
            .filter_map(|line| line.strip_prefix("DELETE /zone"))
            .filter_map(|rest| rest.split(' ').next())
            .map(str::to_owned)
            .collect()
    }
}

/// Answers every request on one connection with 200, recording its request line.
fn serve(mut stream: std::net::TcpStream, log: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let mut length = 0;
        let mut key = String::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                } else if name.eq_ignore_ascii_case("x-api-key") {
                    key = value.trim().to_owned();
                }
            }
        }
        let mut body = vec![0; length];
        let _ = std::io::Read::read_exact(&mut reader, &mut body);
        log.lock()
            .expect("lock")
            .push(format!("{} key={key}", line.trim_end()));
        let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    }
}

fn urls(paths: &[&str]) -> BTreeSet<String> {
    paths
        .iter()
        .map(|p| format!("http://feeds.test{p}"))
        .collect()
}

/// The complete batch of URLs one change purged through each of the API's two endpoints
/// (`POST /purge?url=`, `DELETE /zone{path}`), each in the order sent.
///
/// Waiting for the expected number is not enough: a wrong extra URL could still be on its
/// way. So once `at_least` arrived, a fence change follows — a new post, which changes the
/// index `/`, the first path of any batch — and its purges are awaited. An endpoint sends
/// one batch after another, each sorted, so the fence's batch begins at the first URL out of
/// order, and everything before it is the change's batch, complete.
fn batch(api: &Api, served: &Served, at_least: usize) -> (Vec<String>, Vec<String>) {
    served.wait_for("the change's purges", || {
        api.purged("POST").len() >= at_least && api.zone_paths().len() >= at_least
    });
    served.write(
        "fence.md",
        b"---\ntitle: fence\ndate: 2020-01-01\ntags: [fence]\n---\nz\n",
    );
    served.wait_for("the fence's purges", || {
        api.purged("POST")
            .iter()
            .any(|u| u.ends_with("/tag/fence.atom"))
            && api
                .zone_paths()
                .iter()
                .any(|p| p.ends_with("/tag/fence.atom"))
    });
    let before_fence = |sent: Vec<String>| {
        let end = (1..sent.len())
            .find(|&i| sent[i] < sent[i - 1])
            .unwrap_or(sent.len());
        sent[..end].to_vec()
    };
    (
        before_fence(api.purged("POST")),
        before_fence(api.zone_paths()),
    )
}

fn api_endpoints(api: &Api) -> String {
    format!(
        "[\"POST http://{0}/purge?url={{url}} -H X-Api-Key: s3cret\", \
         \"DELETE http://{0}/zone{{path}}\"]",
        api.addr
    )
}

/// Checks one batch against `expected` (absolute URLs): each once, sorted, through both
/// endpoints, every POST with the endpoint's header.
fn assert_purged(
    api: &Api,
    (posted, zoned): (Vec<String>, Vec<String>),
    expected: &BTreeSet<String>,
) {
    let expected: Vec<String> = expected.iter().cloned().collect();
    assert_eq!(posted, expected, "each changed URL once, sorted");
    let paths: Vec<String> = expected
        .iter()
        .map(|u| u.trim_start_matches("http://feeds.test").to_owned())
        .collect();
    assert_eq!(zoned, paths);
    assert!(
        api.seen
            .lock()
            .expect("lock")
            .iter()
            .all(|line| line.starts_with("DELETE") || line.ends_with("key=s3cret")),
        "the endpoint's header on every request"
    );
}

#[test]
fn a_cdn_template_receives_exactly_the_changed_urls() {
    let api = Api::start();
    let served = Served::start(
        &[("a.md", &post("Alpha", "news")), ("b.md", &other_post())],
        &format!("[purge]\nendpoints = {}\n", api_endpoints(&api)),
    );
    // A title edit: the pages that show the post, in every spelling; not the index (the
    // counts are the same), not OPML (so is the newest date), not the other category.
    served.write("a.md", &post("Bravo", "news"));
    let expected = urls(&[
        "/category/news.atom",
        "/category/news.html",
        "/category/news.json",
        "/category/news.rss",
        "/feed.atom",
        "/feed.html",
        "/feed.json",
        "/feed.rss",
        "/feed.xml",
        "/feed/news.xml",
    ]);
    assert_purged(&api, batch(&api, &served, expected.len()), &expected);
}

#[test]
fn a_new_feed_purges_its_urls_the_site_feed_and_the_listings() {
    let api = Api::start();
    let served = Served::start(
        &[("a.md", &post("Alpha", "news"))],
        &format!("[purge]\nendpoints = {}\n", api_endpoints(&api)),
    );
    // That feed appears (its URLs may hold a cached 404), the site feed changes, and so do
    // the index and OPML, which list the feeds.
    served.write("c.md", &post("Charlie", "weather"));
    let expected = urls(&[
        "/",
        "/category/weather.atom",
        "/category/weather.html",
        "/category/weather.json",
        "/category/weather.rss",
        "/feed.atom",
        "/feed.html",
        "/feed.json",
        "/feed.rss",
        "/feed.xml",
        "/feed/weather.xml",
        "/feeds.opml",
    ]);
    assert_purged(&api, batch(&api, &served, expected.len()), &expected);
}

#[test]
fn an_old_posts_edit_purges_the_archive_page_holding_it_not_the_feeds() {
    // One entry per page: the site feed's archive page 1 holds the older post, page 2 the
    // newer, and its subscription page the newer too.
    let api = Api::start();
    let served = Served::start(
        &[("a.md", &post("Alpha", "news")), ("b.md", &other_post())],
        &format!(
            "[feeds]\nlimit = 1\n[purge]\nendpoints = {}\n",
            api_endpoints(&api)
        ),
    );
    served.write(
        "b.md",
        &String::from_utf8_lossy(&other_post())
            .replace("Elsewhere", "Elsewhere, edited")
            .into_bytes(),
    );
    let mut expected = urls(&["/feed/sport.xml"]);
    for stem in [
        "/feed/archive/1",
        "/category/sport",
        "/category/sport/archive/1",
    ] {
        for ext in ["atom", "html", "json", "rss"] {
            expected.insert(format!("http://feeds.test{stem}.{ext}"));
        }
    }
    assert_purged(&api, batch(&api, &served, expected.len()), &expected);
}
