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
