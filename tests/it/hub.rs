//! The built-in WebSub hub, end to end: subscription requests over real HTTP, verification
//! of intent against real callbacks on loopback, signed deliveries when a post file is
//! written, and the failure paths — a refused verification, a dead and a slow callback, a
//! lease that ends, a 410, a restart with live subscriptions. One test drives flask-websub's
//! own subscriber through the hub.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{KeyInit, Mac};
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::support::{Served, request};
use crate::websub::PythonPeer;

fn post(title: &str, category: &str) -> Vec<u8> {
    format!("---\ntitle: {title}\ndate: 2022-05-26 07:32:30 +0800\ncategories: [{category}]\n---\n{title} body.\n")
        .into_bytes()
}

/// How a callback answers.
#[derive(Clone, Copy, Debug)]
enum Callback {
    /// Echoes the challenge and takes every delivery.
    Willing,
    /// Answers the verification 404: it never asked.
    Refusing,
    /// Confirms, then answers every delivery 503.
    Failing,
    /// Confirms, then takes each delivery only after a long pause.
    Slow,
    /// Confirms, then answers deliveries 410 Gone.
    Gone,
    /// Confirms, then stops listening: deliveries find the port closed.
    Down,
}

/// What a callback was sent.
#[derive(Debug, Clone)]
struct Delivery {
    headers: HashMap<String, String>,
    body: String,
}

/// A subscriber's callback: a real HTTP server on loopback.
struct Subscriber {
    url: String,
    verifications: Arc<Mutex<Vec<HashMap<String, String>>>>,
    deliveries: Arc<Mutex<Vec<Delivery>>>,
}

impl Subscriber {
    fn start(behaviour: Callback) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!(
            "http://{}/callback?id=1",
            listener.local_addr().expect("addr")
        );
        let verifications = Arc::new(Mutex::new(Vec::new()));
        let deliveries = Arc::new(Mutex::new(Vec::new()));
        let (v, d) = (Arc::clone(&verifications), Arc::clone(&deliveries));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (v, d) = (Arc::clone(&v), Arc::clone(&d));
                if matches!(behaviour, Callback::Down) {
                    // Answer the verification, then close the port for good.
                    answer(stream, behaviour, &v, &d);
                    return;
                }
                std::thread::spawn(move || answer(stream, behaviour, &v, &d));
            }
        });
        Self {
            url,
            verifications,
            deliveries,
        }
    }

    fn deliveries(&self) -> Vec<Delivery> {
        self.deliveries.lock().expect("lock").clone()
    }

    fn verifications(&self) -> Vec<HashMap<String, String>> {
        self.verifications.lock().expect("lock").clone()
    }

    fn received(&self, title: &str) -> bool {
        self.deliveries()
            .iter()
            .any(|d| d.body.contains(&format!("<title>{title}</title>")))
    }
}

/// Serves one connection (keep-alive: the hub reuses connections).
fn answer(
    stream: TcpStream,
    behaviour: Callback,
    verifications: &Mutex<Vec<HashMap<String, String>>>,
    deliveries: &Mutex<Vec<Delivery>>,
) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let (method, target) = (method.to_owned(), target.to_owned());
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
        }
        let length = headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (status, text) = if method == "GET" {
            let query: HashMap<String, String> = target
                .split_once('?')
                .map(|(_, q)| q)
                .unwrap_or("")
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| {
                    let decode = |s: &str| {
                        percent_decode_str(&s.replace('+', " "))
                            .decode_utf8_lossy()
                            .into_owned()
                    };
                    (decode(k), decode(v))
                })
                .collect();
            let challenge = query.get("hub.challenge").cloned().unwrap_or_default();
            verifications.lock().expect("lock").push(query);
            match behaviour {
                Callback::Refusing => (404, String::new()),
                Callback::Down => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{challenge}",
                        challenge.len()
                    );
                    return;
                }
                _ => (200, challenge),
            }
        } else {
            if matches!(behaviour, Callback::Slow) {
                std::thread::sleep(Duration::from_secs(8));
            }
            deliveries.lock().expect("lock").push(Delivery {
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            match behaviour {
                Callback::Failing => (503, String::new()),
                Callback::Gone => (410, String::new()),
                _ => (204, String::new()),
            }
        };
        let ok = write!(
            stream,
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\n\r\n{text}",
            text.len()
        );
        if ok.is_err() {
            return;
        }
    }
}

/// A service with the built-in hub, its subscriptions in `db`.
fn served_with_hub(files: &[(&str, &[u8])], db: &std::path::Path, extra: &str) -> Served {
    Served::start(files, &hub_settings(db, extra))
}

fn hub_settings(db: &std::path::Path, extra: &str) -> String {
    format!(
        "[websub]\nhub = \"builtin\"\nhub_database = \"{}\"\nlease_min_seconds = 1\n{extra}",
        db.display()
    )
}

/// POSTs a form to the hub; the status and body.
fn to_hub(addr: SocketAddr, form: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "POST /hub HTTP/1.1\r\nHost: feeds.test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
        form.len()
    )
    .expect("send");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
        .collect::<Vec<_>>()
        .join("&")
}

fn subscribe(served: &Served, topic: &str, callback: &str, extra: &[(&str, &str)]) {
    let mut fields = vec![
        ("hub.mode", "subscribe"),
        ("hub.topic", topic),
        ("hub.callback", callback),
    ];
    fields.extend_from_slice(extra);
    let (status, body) = to_hub(served.running.addr, &form(&fields));
    assert_eq!(status, 202, "{body}");
}

/// The value of a metric line without labels (or with exactly `labels`).
fn metric(served: &Served, name: &str) -> f64 {
    let text = served.get("/metrics").text();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

const NEWS: &str = "http://feeds.test/category/news.atom";
const SECRET: &str = "a secret only the subscriber and the hub know";

#[test]
fn a_subscriber_receives_each_new_post_signed_with_its_secret() {
    let db = tempfile::tempdir().expect("tempdir");
    let served = served_with_hub(
        &[("a.md", &post("Alpha", "news"))],
        &db.path().join("hub.db"),
        "",
    );
    // The feed advertises the built-in hub, in the document and in the Link header.
    let feed = served.get("/category/news.atom");
    assert!(
        feed.text()
            .contains("<link href=\"http://feeds.test/hub\" rel=\"hub\"/>"),
        "{}",
        feed.text()
    );
    assert!(
        feed.header("link")
            .is_some_and(|l| l.contains("<http://feeds.test/hub>; rel=\"hub\"")),
        "{:?}",
        feed.header("link")
    );
    let subscriber = Subscriber::start(Callback::Willing);
    subscribe(
        &served,
        NEWS,
        &subscriber.url,
        &[("hub.secret", SECRET), ("hub.lease_seconds", "86400")],
    );
    served.wait_for("the subscription to be confirmed", || {
        metric(&served, "tidings_websub_hub_subscriptions") == 1.0
    });
    let verification = &subscriber.verifications()[0];
    assert_eq!(verification["hub.mode"], "subscribe");
    assert_eq!(verification["hub.topic"], NEWS);
    assert_eq!(verification["hub.lease_seconds"], "86400");
    assert!(verification["hub.challenge"].len() >= 16);

    served.write("b.md", &post("Bravo", "news"));
    served.wait_for("the new post to be delivered", || {
        subscriber.received("Bravo")
    });
    let delivery = subscriber
        .deliveries()
        .into_iter()
        .find(|d| d.body.contains("<title>Bravo</title>"))
        .expect("delivered");
    // The document as published: the same bytes a GET returns now.
    assert_eq!(delivery.body, served.get("/category/news.atom").text());
    assert_eq!(delivery.headers["content-type"], "application/atom+xml");
    assert_eq!(
        delivery.headers["link"],
        format!("<http://feeds.test/hub>; rel=\"hub\", <{NEWS}>; rel=\"self\"")
    );
    assert_eq!(
        delivery.headers["x-hub-signature"],
        signature(SECRET, &delivery.body)
    );

    // Subscribing again renews: one subscription, the new lease and the new secret.
    subscribe(
        &served,
        NEWS,
        &subscriber.url,
        &[
            ("hub.secret", "another"),
            ("hub.lease_seconds", "999999999"),
        ],
    );
    served.wait_for("the renewal to be confirmed", || {
        metric(
            &served,
            "tidings_websub_hub_verifications_total{result=\"confirmed\"}",
        ) == 2.0
    });
    assert_eq!(
        subscriber.verifications()[1]["hub.lease_seconds"],
        (30 * 86_400).to_string(),
        "clamped to websub.lease_max_seconds"
    );
    assert_eq!(metric(&served, "tidings_websub_hub_subscriptions"), 1.0);
    served.write("c.md", &post("Charlie", "news"));
    served.wait_for("the next post", || subscriber.received("Charlie"));
    let delivery = subscriber.deliveries().pop().expect("delivered");
    assert_eq!(
        delivery.headers["x-hub-signature"],
        signature("another", &delivery.body)
    );
}

/// `X-Hub-Signature` as the Recommendation defines it, computed here independently.
fn signature(secret: &str, body: &str) -> String {
    let mut mac =
        <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(body.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

#[test]
fn requests_the_hub_cannot_take_are_refused_with_the_reason() {
    let db = tempfile::tempdir().expect("tempdir");
    let served = served_with_hub(
        &[("a.md", &post("Alpha", "news"))],
        &db.path().join("hub.db"),
        "",
    );
    let addr = served.running.addr;
    let callback = "http://127.0.0.1:9/cb";
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("hub.mode", "publish"), ("hub.url", NEWS)], "hub.mode"),
        (
            &[("hub.mode", "subscribe"), ("hub.topic", NEWS)],
            "hub.callback",
        ),
        (
            &[
                ("hub.mode", "subscribe"),
                ("hub.topic", NEWS),
                ("hub.callback", "ftp://x/"),
            ],
            "hub.callback",
        ),
        (
            &[
                ("hub.mode", "subscribe"),
                ("hub.topic", "http://elsewhere.test/feed.atom"),
                ("hub.callback", callback),
            ],
            "hub.topic",
        ),
        (
            &[
                ("hub.mode", "subscribe"),
                ("hub.topic", "http://feeds.test/category/nothing.atom"),
                ("hub.callback", callback),
            ],
            "hub.topic",
        ),
        (
            &[
                ("hub.mode", "subscribe"),
                ("hub.topic", "http://feeds.test/category/news/page/1.atom"),
                ("hub.callback", callback),
            ],
            "hub.topic",
        ),
        (
            &[
                ("hub.mode", "subscribe"),
                ("hub.topic", NEWS),
                ("hub.callback", callback),
                ("hub.lease_seconds", "soon"),
            ],
            "hub.lease_seconds",
        ),
        (
            &[
                ("hub.mode", "subscribe"),
                ("hub.topic", NEWS),
                ("hub.callback", callback),
                ("hub.secret", &"s".repeat(200)),
            ],
            "hub.secret",
        ),
    ];
    for (fields, named) in cases {
        let (status, body) = to_hub(addr, &form(fields));
        assert_eq!(status, 400, "{fields:?}: {body}");
        assert!(body.contains(named), "{fields:?}: {body}");
    }
    let get = request(addr, "GET", "/hub", &[]);
    assert_eq!((get.status, get.header("allow")), (405, Some("POST")));
    let json = request(
        addr,
        "POST",
        "/hub",
        &[("content-type", "application/json")],
    );
    assert_eq!(json.status, 415);
    // A topic spelled with its escapes undone is still the same feed.
    let served_cjk = served_with_hub(
        &[("c.md", &post("Gamma", "山西新闻"))],
        &db.path().join("cjk.db"),
        "",
    );
    let (status, body) = to_hub(
        served_cjk.running.addr,
        &form(&[
            ("hub.mode", "subscribe"),
            ("hub.topic", "http://feeds.test/category/山西新闻.atom"),
            ("hub.callback", callback),
        ]),
    );
    assert_eq!(status, 202, "{body}");
}

#[test]
fn without_confirmed_intent_nothing_is_subscribed_or_sent() {
    let db = tempfile::tempdir().expect("tempdir");
    let served = served_with_hub(
        &[("a.md", &post("Alpha", "news"))],
        &db.path().join("hub.db"),
        "",
    );
    let refusing = Subscriber::start(Callback::Refusing);
    let willing = Subscriber::start(Callback::Willing);
    subscribe(&served, NEWS, &refusing.url, &[]);
    served.wait_for("the refusal", || {
        served
            .get("/metrics")
            .text()
            .contains("tidings_websub_hub_verifications_total{result=\"refused\"} 1")
    });
    subscribe(&served, NEWS, &willing.url, &[]);
    served.wait_for("the other subscription", || {
        metric(&served, "tidings_websub_hub_subscriptions") == 1.0
    });
    served.write("b.md", &post("Bravo", "news"));
    // Both were queued by the same change, had there been two subscriptions.
    served.wait_for("the willing subscriber's delivery", || {
        willing.received("Bravo")
    });
    assert!(refusing.deliveries().is_empty());

    // Unsubscribing is verified the same way, and then nothing more arrives.
    let (status, _) = to_hub(
        served.running.addr,
        &form(&[
            ("hub.mode", "unsubscribe"),
            ("hub.topic", NEWS),
            ("hub.callback", &willing.url),
        ]),
    );
    assert_eq!(status, 202);
    served.wait_for("the unsubscription", || {
        metric(&served, "tidings_websub_hub_subscriptions") == 0.0
    });
    assert_eq!(
        willing
            .verifications()
            .last()
            .map(|v| v["hub.mode"].clone()),
        Some("unsubscribe".into())
    );
}

#[test]
fn a_dead_or_slow_subscriber_never_delays_the_others_and_is_given_up_on() {
    let db = tempfile::tempdir().expect("tempdir");
    let served = served_with_hub(
        &[("a.md", &post("Alpha", "news"))],
        &db.path().join("hub.db"),
        "delivery_window_seconds = 2\n",
    );
    let failing = Subscriber::start(Callback::Failing);
    let down = Subscriber::start(Callback::Down);
    let slow = Subscriber::start(Callback::Slow);
    let willing = Subscriber::start(Callback::Willing);
    for s in [&failing, &down, &slow, &willing] {
        subscribe(&served, NEWS, &s.url, &[]);
    }
    served.wait_for("four subscriptions", || {
        metric(&served, "tidings_websub_hub_subscriptions") == 4.0
    });
    served.write("b.md", &post("Bravo", "news"));
    // The slow callback holds its delivery for 8 s, the failing and the closed ones are being
    // retried: the willing one has its post at once all the same.
    crate::support::wait_for(
        "the willing subscriber's delivery",
        Duration::from_secs(3),
        || willing.received("Bravo"),
    );
    assert!(!slow.received("Bravo"), "still pausing");
    // Failed deliveries are retried with backoff, then dropped once the window has passed.
    served.wait_for("the failing delivery to be given up", || {
        served
            .get("/metrics")
            .text()
            .contains("tidings_websub_hub_deliveries_total{result=\"dropped\"} 2")
    });
    assert!(failing.deliveries().len() >= 2, "retried before giving up");
    assert!(down.deliveries().is_empty());
    assert_eq!(willing.deliveries().len(), 1, "delivered once");
}

#[test]
fn a_lease_ends_and_a_410_ends_a_subscription() {
    let db = tempfile::tempdir().expect("tempdir");
    let served = served_with_hub(
        &[("a.md", &post("Alpha", "news"))],
        &db.path().join("hub.db"),
        "",
    );
    let short = Subscriber::start(Callback::Willing);
    let gone = Subscriber::start(Callback::Gone);
    let long = Subscriber::start(Callback::Willing);
    subscribe(&served, NEWS, &short.url, &[("hub.lease_seconds", "1")]);
    subscribe(&served, NEWS, &gone.url, &[]);
    subscribe(&served, NEWS, &long.url, &[]);
    served.wait_for("three subscriptions", || {
        metric(&served, "tidings_websub_hub_subscriptions") == 3.0
    });
    assert_eq!(short.verifications()[0]["hub.lease_seconds"], "1");
    // Let the short lease run out (the hub counts whole seconds).
    let ends = std::time::SystemTime::now() + Duration::from_secs(2);
    served.wait_for("the short lease to end", || {
        std::time::SystemTime::now() >= ends
    });
    served.write("b.md", &post("Bravo", "news"));
    served.wait_for("the long lease's delivery", || long.received("Bravo"));
    served.wait_for("the 410 to end its subscription", || {
        metric(&served, "tidings_websub_hub_subscriptions") == 1.0
    });
    assert!(
        short.deliveries().is_empty(),
        "nothing after the lease ended"
    );
    assert_eq!(gone.deliveries().len(), 1);
    served.write("c.md", &post("Charlie", "news"));
    served.wait_for("the next delivery", || long.received("Charlie"));
    assert_eq!(gone.deliveries().len(), 1, "nothing after the 410");
}

#[test]
fn subscriptions_survive_a_restart() {
    let db = tempfile::tempdir().expect("tempdir");
    let path = db.path().join("hub.db");
    let served = served_with_hub(&[("a.md", &post("Alpha", "news"))], &path, "");
    let subscriber = Subscriber::start(Callback::Willing);
    subscribe(&served, NEWS, &subscriber.url, &[("hub.secret", SECRET)]);
    served.wait_for("the subscription", || {
        metric(&served, "tidings_websub_hub_subscriptions") == 1.0
    });
    let Served { running, dir } = served;
    running.stop();
    let served = Served::start_in(dir, &hub_settings(&path, ""));
    assert_eq!(metric(&served, "tidings_websub_hub_subscriptions"), 1.0);
    served.write("b.md", &post("Bravo", "news"));
    served.wait_for("the delivery after the restart", || {
        subscriber.received("Bravo")
    });
    assert_eq!(
        subscriber.verifications().len(),
        1,
        "no new verification needed"
    );
    let delivery = subscriber.deliveries().pop().expect("delivered");
    assert!(
        delivery.headers["x-hub-signature"].starts_with("sha256="),
        "still signed"
    );
}

#[test]
fn flask_websubs_subscriber_receives_a_new_post_through_the_hub() {
    let db = tempfile::tempdir().expect("tempdir");
    let served = Served::start_reachable(
        &[("a.md", &post("Alpha", "news"))],
        &hub_settings(&db.path().join("hub.db"), ""),
    );
    let base = format!("http://{}", served.running.addr);
    let topic = format!("{base}/category/news.atom");
    // flask-websub's own subscriber, with the secret it draws itself.
    let python = PythonPeer::start("websub_subscriber.py", "subscriber.sqlite");
    let mut stream = TcpStream::connect(python.addr).expect("connect");
    let body = form(&[("topic", &topic), ("hub", &format!("{base}/hub"))]);
    write!(
        stream,
        "POST /subscribe HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        python.addr,
        body.len()
    )
    .expect("send");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
    served.wait_for("flask-websub to confirm the subscription", || {
        python
            .list("/subscribed")
            .iter()
            .any(|s| s["topic"] == topic.as_str() && s["mode"] == "subscribe")
    });
    served.write("b.md", &post("Bravo", "news"));
    // flask-websub hands a delivery to its listener only when the signature verifies under
    // the secret it chose.
    served.wait_for("the signed delivery", || {
        python.list("/received").iter().any(|d| {
            d["topic"] == topic.as_str()
                && d["body"]
                    .as_str()
                    .is_some_and(|b| b.contains("<title>Bravo</title>"))
        })
    });
}
