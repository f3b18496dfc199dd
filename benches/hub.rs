//! How many subscribers the built-in WebSub hub serves on one machine: the time from a post
//! file being written to every subscriber of its category having the new feed, at several
//! subscriber counts, against a baseline in the same run — the same number of POSTs of the
//! same document from the same 16 threads with a plain HTTP client, which is what the machine
//! and loopback allow whatever the hub does.
//!
//!     cargo bench --bench hub                 # 1,000 and 10,000 subscribers
//!     HUB_SUBSCRIBERS="1000 50000" cargo bench --bench hub
//!
//! The subscribers are one receiver on loopback (a thread per connection, keep-alive) with a
//! distinct callback URL per subscription; subscriptions are written to the hub's database
//! before the service starts, as a restart would find them. Every figure is the median of 3.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tidings::config::Layers;
use tidings::service::Running;
use tidings::websub::subscriptions::{Subscription, Subscriptions};

const ROUNDS: usize = 3;
const CLIENT_THREADS: usize = 16;

fn main() {
    let sizes: Vec<usize> = std::env::var("HUB_SUBSCRIBERS")
        .ok()
        .map(|v| {
            v.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_else(|| vec![1_000, 10_000]);
    let received = Arc::new(AtomicUsize::new(0));
    let receiver = receive(Arc::clone(&received));
    println!(
        "subscribers | hub: write → all delivered | deliveries/s | baseline: same POSTs, plain client | hub / baseline"
    );
    for n in sizes {
        let (hub, document) = measure_hub(n, receiver, &received);
        let baseline = measure_baseline(n, document, receiver, &received);
        println!(
            "{n} | {:.0} ms | {:.0} | {:.0} ms | {:.2}",
            hub.as_secs_f64() * 1e3,
            n as f64 / hub.as_secs_f64(),
            baseline.as_secs_f64() * 1e3,
            hub.as_secs_f64() / baseline.as_secs_f64(),
        );
    }
}

fn post(i: usize) -> String {
    format!(
        "---\ntitle: Post {i}\ndate: 2022-05-26 07:32:30 +0800\ncategories: [news]\n---\n{}\n",
        "A paragraph of news. ".repeat(100)
    )
}

/// The median time to deliver to all `n`, and the document delivered.
fn measure_hub(n: usize, receiver: SocketAddr, received: &AtomicUsize) -> (Duration, Vec<u8>) {
    let content = tempfile::tempdir().expect("tempdir");
    for i in 0..20 {
        std::fs::write(content.path().join(format!("p{i}.md")), post(i)).expect("write");
    }
    let state = tempfile::tempdir().expect("tempdir");
    let database = state.path().join("hub.sqlite3");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}/", listener.local_addr().expect("addr"));
    let topic = format!("{base}category/news.atom");
    {
        let db = Subscriptions::open(&database).expect("database");
        let expires = unix_now() + 86_400;
        for i in 0..n {
            db.save(&Subscription {
                topic: topic.clone(),
                callback: format!("http://{receiver}/cb/{i}"),
                secret: Some(format!("secret {i}")),
                expires,
            })
            .expect("save");
        }
    }
    let toml = format!(
        "content = \"{}\"\n[site]\nbase_url = \"{base}\"\n[server]\ndebounce_ms = 10\n\
         [websub]\nhub = \"builtin\"\nhub_database = \"{}\"\n",
        content.path().display(),
        database.display()
    );
    let config = Layers::from_toml(&toml)
        .and_then(|l| l.resolve())
        .expect("config");
    let running = Running::start(config, listener).expect("start");
    wait("the first load", || {
        http_get(running.addr, "/healthz").starts_with("HTTP/1.1 200")
    });
    let mut times = Vec::new();
    for round in 0..ROUNDS {
        let start = received.load(Ordering::Acquire);
        let began = Instant::now();
        std::fs::write(
            content.path().join(format!("new{round}.md")),
            post(100 + round),
        )
        .expect("write");
        wait("every delivery", || {
            received.load(Ordering::Acquire) >= start + n
        });
        times.push(began.elapsed());
    }
    let feed = http_get(running.addr, "/category/news.atom");
    let document = feed
        .split_once("\r\n\r\n")
        .map_or_else(Vec::new, |(_, body)| body.as_bytes().to_vec());
    running.stop();
    (median(times), document)
}

/// The same number of POSTs of the same document, from the hub's number of threads, with
/// ureq and nothing else.
fn measure_baseline(
    n: usize,
    document: Vec<u8>,
    receiver: SocketAddr,
    received: &AtomicUsize,
) -> Duration {
    let body = Arc::new(document);
    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        let start = received.load(Ordering::Acquire);
        let began = Instant::now();
        let next = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..CLIENT_THREADS)
            .map(|_| {
                let (next, body) = (Arc::clone(&next), Arc::clone(&body));
                std::thread::spawn(move || {
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .timeout_global(Some(Duration::from_secs(10)))
                        .build()
                        .into();
                    loop {
                        let i = next.fetch_add(1, Ordering::AcqRel);
                        if i >= n {
                            return;
                        }
                        let url = format!("http://{receiver}/cb/{i}");
                        let _ = agent
                            .post(&url)
                            .header("Content-Type", "application/atom+xml")
                            .send(&body[..]);
                    }
                })
            })
            .collect();
        for t in threads {
            let _ = t.join();
        }
        wait("every baseline POST", || {
            received.load(Ordering::Acquire) >= start + n
        });
        times.push(began.elapsed());
    }
    median(times)
}

/// A callback server that takes every delivery (and echoes any verification).
fn receive(received: Arc<AtomicUsize>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let received = Arc::clone(&received);
            std::thread::spawn(move || serve(stream, &received));
        }
    });
    addr
}

fn serve(stream: TcpStream, received: &AtomicUsize) {
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(clone);
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let post = line.starts_with("POST");
        let mut length = 0;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if post {
            received.fetch_add(1, Ordering::AcqRel);
        }
        if stream
            .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

fn http_get(addr: SocketAddr, path: &str) -> String {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return String::new();
    };
    let _ = write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
    );
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

fn wait(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(600);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
