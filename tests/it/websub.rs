//! WebSub publishing: every feed names its hubs (in the document and in `Link` headers), and
//! after a change the hub is told exactly which feeds changed — and told again, with backoff,
//! while it fails. The hub here is a real HTTP server on loopback that records what it is
//! sent and fails on purpose at first.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use percent_encoding::percent_decode_str;

use crate::support::Served;

/// A hub that answers `503` to its first `failures` requests and `204` after, recording every
/// request body.
struct Hub {
    url: String,
    bodies: Arc<Mutex<Vec<(u16, String)>>>,
}

impl Hub {
    fn start(failures: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hub", listener.local_addr().expect("addr"));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&bodies);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let mut seen = seen.lock().expect("lock");
                let status = if seen.len() < failures { 503 } else { 204 };
                seen.push((status, String::from_utf8_lossy(&body).into_owned()));
                let reason = if status == 204 {
                    "No Content"
                } else {
                    "Unavailable"
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        Self { url, bodies }
    }

    /// The `hub.url` values of the requests the hub accepted.
    fn accepted_topics(&self) -> BTreeSet<String> {
        let bodies = self.bodies.lock().expect("lock");
        bodies
            .iter()
            .filter(|(status, _)| *status == 204)
            .flat_map(|(_, body)| {
                assert!(body.contains("hub.mode=publish"), "{body}");
                body.split('&')
                    .filter_map(|pair| pair.strip_prefix("hub.url="))
                    .map(|v| {
                        percent_decode_str(&v.replace('+', " "))
                            .decode_utf8_lossy()
                            .into_owned()
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn requests(&self) -> usize {
        self.bodies.lock().expect("lock").len()
    }
}

fn post(title: &str, category: &str) -> Vec<u8> {
    format!("---\ntitle: {title}\ndate: 2022-05-26 08:00:00 +0800\ncategory: {category}\n---\nx\n")
        .into_bytes()
}

#[test]
fn feeds_name_their_hub_and_the_hub_hears_of_exactly_what_changed() {
    let hub = Hub::start(2);
    let served = Served::start(
        &[("a.md", &post("Alpha", "news"))],
        &format!("[websub]\nhubs = [\"{}\"]\n", hub.url),
    );

    // Discovery: in every format, and in the `Link` header WebSub prefers.
    let atom = served.get("/feed.atom");
    assert!(
        atom.text()
            .contains(&format!("<link href=\"{}\" rel=\"hub\"/>", hub.url)),
        "{}",
        atom.text()
    );
    assert_eq!(
        atom.header("link"),
        Some(&*format!(
            "<{}>; rel=\"hub\", <http://feeds.test/feed.atom>; rel=\"self\"",
            hub.url
        ))
    );
    let rss = served.get("/category/news.rss").text();
    assert!(
        rss.contains(&format!("href=\"{}\" rel=\"hub\"", hub.url)),
        "{rss}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&served.get("/feed.json").body).expect("JSON");
    assert_eq!(
        json["hubs"],
        serde_json::json!([{ "type": "WebSub", "url": hub.url }])
    );
    assert!(
        served.get("/feeds.opml").header("link").is_none(),
        "not a topic"
    );
    assert_eq!(hub.requests(), 0, "nothing changed yet");

    // A new post in a new category: the site feed and that category changed; `news` did not.
    served.write("b.md", &post("Bravo", "sport"));
    let expected: BTreeSet<String> = [
        "feed.atom",
        "feed.rss",
        "feed.json",
        "feed.xml",
        "category/sport.atom",
        "category/sport.rss",
        "category/sport.json",
        "feed/sport.xml",
    ]
    .iter()
    .map(|p| format!("http://feeds.test/{p}"))
    .collect();
    // The hub fails twice first: the topics are retried (after 1 s, then 2 s), not lost.
    served.wait_for("the hub to accept the changed topics", || {
        !hub.accepted_topics().is_empty()
    });
    assert_eq!(hub.accepted_topics(), expected);
    assert_eq!(hub.requests(), 3, "two failures, then one batch");
    let metrics = served.get("/metrics").text();
    assert!(
        metrics.contains("tidings_websub_topics_total{result=\"sent\"} 8"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tidings_websub_topics_total{result=\"retried\"} 16"),
        "{metrics}"
    );
}

#[test]
fn without_hubs_nothing_is_advertised() {
    let served = Served::start(&[("a.md", &post("Alpha", "news"))], "");
    let atom = served.get("/feed.atom");
    assert!(atom.header("link").is_none());
    assert!(!atom.text().contains("rel=\"hub\""));
    assert!(!served.get("/feed.json").text().contains("hubs"));
}

/// The Python with flask-websub and Celery that `scripts/test` prepares.
pub(crate) fn peer_python() -> std::path::PathBuf {
    let python = std::env::var_os("TIDINGS_TEST_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/peers/bin/python")
        });
    assert!(
        python.exists(),
        "{} is missing: this test drives flask-websub for real; scripts/test installs it",
        python.display()
    );
    python
}

/// A program from `tests/it/peers/` on a free loopback port (its first argument), with a
/// scratch folder whose `file` is its second argument; killed on drop.
pub(crate) struct PythonPeer {
    child: std::process::Child,
    pub addr: std::net::SocketAddr,
    _scratch: tempfile::TempDir,
}

impl PythonPeer {
    pub(crate) fn start(script: &str, file: &str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let scratch = tempfile::tempdir().expect("tempdir");
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/it/peers")
            .join(script);
        let child = std::process::Command::new(peer_python())
            .arg(&script)
            .arg(port.to_string())
            .arg(scratch.path().join(file))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", script.display()));
        let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
        crate::support::wait_for(
            "the peer to listen",
            std::time::Duration::from_secs(30),
            || std::net::TcpStream::connect(addr).is_ok(),
        );
        Self {
            child,
            addr,
            _scratch: scratch,
        }
    }

    /// A JSON list the peer serves at `path`.
    pub(crate) fn list(&self, path: &str) -> Vec<serde_json::Value> {
        let r = crate::support::request(self.addr, "GET", path, &[]);
        serde_json::from_slice::<Vec<serde_json::Value>>(&r.body).unwrap_or_default()
    }
}

impl Drop for PythonPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An independent WebSub hub and subscriber (flask-websub), on loopback.
struct Peer {
    peer: PythonPeer,
    base: String,
}

impl Peer {
    fn start() -> Self {
        let peer = PythonPeer::start("websub_hub.py", "hub.sqlite");
        let base = format!("http://{}", peer.addr);
        Self { peer, base }
    }

    fn post_form(&self, path: &str, form: &str) -> u16 {
        let addr = self.base.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
            form.len()
        )
        .expect("send");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    fn received(&self) -> Vec<serde_json::Value> {
        self.peer.list("/received")
    }
}

#[test]
fn an_independent_hub_pushes_a_new_post_to_its_subscriber() {
    let peer = Peer::start();
    let hub = format!("{}/hub", peer.base);
    let served = Served::start_reachable(
        &[("a.md", &post("Alpha", "news"))],
        &format!("[websub]\nhubs = [\"{hub}\"]\ntopics_per_request = 1\n"),
    );
    let topic = format!("http://{}/category/news.atom", served.running.addr);
    // The subscriber subscribes through the hub, which verifies its intent (a GET with a
    // challenge) before it records the subscription.
    let form = format!(
        "hub.mode=subscribe&hub.topic={}&hub.callback={}&hub.secret=tidings-test-secret",
        percent_encoding::utf8_percent_encode(&topic, percent_encoding::NON_ALPHANUMERIC),
        percent_encoding::utf8_percent_encode(
            &format!("{}/callback", peer.base),
            percent_encoding::NON_ALPHANUMERIC
        ),
    );
    assert_eq!(peer.post_form("/hub", &form), 202);

    // A new post in the category: tidings tells the hub, the hub fetches the feed (and checks
    // its Link header names a hub and itself), then delivers it, signed.
    served.write("b.md", &post("Bravo", "news"));
    served.wait_for("the subscriber to receive the new post", || {
        peer.received()
            .iter()
            .any(|d| d["body"].as_str().is_some_and(|b| b.contains("Bravo")))
    });
    let deliveries = peer.received();
    let delivery = deliveries
        .iter()
        .find(|d| d["body"].as_str().is_some_and(|b| b.contains("Bravo")))
        .expect("a delivery");
    assert_eq!(
        delivery["signed"], true,
        "X-Hub-Signature verifies: {delivery}"
    );
    assert!(
        delivery["link"]
            .as_str()
            .is_some_and(|l| l.contains(&format!("<{topic}>; rel=\"self\""))),
        "{delivery}"
    );
    // Only the subscribed topic is delivered, though the hub heard of every changed feed.
    assert!(
        deliveries
            .iter()
            .all(|d| d["body"].as_str().is_some_and(|b| b.contains("<feed")))
    );
}
