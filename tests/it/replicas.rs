//! Replicas that agree: three `tidings serve` processes on one content directory — two
//! watching it natively, one polling it as it would on NFS — behind nginx round-robin. After
//! every kind of change each serves identical bytes, ETags and dates; an ETag from one is a
//! 304 at the others; a client that revalidates by date alone, its polls landing on whichever
//! replica nginx picks, never misses a change; and a replica killed mid-stream and started
//! again rejoins with the same bytes.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::caches::{Front, free_port, nginx_with};
use crate::polling::{copy_in_with_old_time, old_time};
use crate::support::{Response, request, wait_for};

fn post(title: &str, date: &str, category: &str) -> Vec<u8> {
    format!("---\ntitle: {title}\ndate: {date}\ncategory: {category}\ntags: [共同]\n---\nAbout {title}.\n")
        .into_bytes()
}

/// One `tidings serve` process on a fixed port, so that it can be started again where nginx
/// expects it.
struct Replica {
    child: Option<Child>,
    addr: SocketAddr,
    watch: &'static str,
}

impl Replica {
    fn start(dir: &Path, port: u16, watch: &'static str, base: &str) -> Self {
        let mut replica = Self {
            child: None,
            addr: ([127, 0, 0, 1], port).into(),
            watch,
        };
        replica.spawn(dir, base);
        replica
    }

    fn spawn(&mut self, dir: &Path, base: &str) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tidings"));
        for (key, _) in std::env::vars() {
            if key.starts_with("TIDINGS_") {
                cmd.env_remove(key);
            }
        }
        let child = cmd
            .args(["serve", "--config", "/dev/null", "--content"])
            .arg(dir)
            .args(["--bind", &self.addr.to_string(), "--base-url", base])
            .env("TIDINGS_WATCH", self.watch)
            .env("TIDINGS_POLL_INTERVAL_MS", "200")
            .env("TIDINGS_LIMIT", "3")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn tidings");
        self.child = Some(child);
        let addr = self.addr;
        wait_for("a replica's first load", Duration::from_secs(20), || {
            std::net::TcpStream::connect(addr).is_ok()
                && request(addr, "GET", "/healthz", &[]).status == 200
        });
    }

    /// Killed, not stopped: a crash mid-stream.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// nginx on loopback, round-robin over the replicas, caching nothing.
fn round_robin(port: u16, replicas: &[&Replica]) -> Front {
    let servers: String = replicas
        .iter()
        .map(|r| format!("    server {} max_fails=0;\n", r.addr))
        .collect();
    nginx_with(port, "", |_, port| {
        format!(
            "upstream tidings {{\n{servers}  }}\n\
             server {{\n    listen 127.0.0.1:{port};\n    location / {{\n\
             proxy_pass http://tidings;\n      proxy_http_version 1.1;\n\
             proxy_next_upstream error timeout http_503;\n\
             add_header X-Replica $upstream_addr;\n    }}\n  }}"
        )
    })
}

/// Documents of every kind: discovery, the site and a category and a tag in each format, an
/// HTML page, an archive page, jekyll-feed's path.
const PATHS: &[&str] = &[
    "/",
    "/feeds.opml",
    "/feed.atom",
    "/feed.rss",
    "/feed.json",
    "/feed.html",
    "/feed/archive/1.atom",
    "/feed.xml",
    "/category/news.atom",
    "/category/sport.json",
    "/tag/%E5%85%B1%E5%90%8C.rss",
];

/// What every replica serves for `path`: status, body, ETag, date.
type Served = (u16, Vec<u8>, Option<String>, Option<String>);

fn served(r: &Response) -> Served {
    (
        r.status,
        r.body.clone(),
        r.header("etag").map(str::to_owned),
        r.header("last-modified").map(str::to_owned),
    )
}

/// Waits until every live replica serves the same status, bytes, ETag and date for every
/// path, dates given (settled), and the bytes show `expect`; returns what they serve.
fn agree(
    replicas: &[&Replica],
    expect: &dyn Fn(&BTreeMap<&str, Served>) -> bool,
) -> BTreeMap<&'static str, Served> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut now = BTreeMap::new();
        let mut differ = None;
        for path in PATHS {
            let answers: Vec<Served> = replicas
                .iter()
                .map(|r| served(&request(r.addr, "GET", path, &[])))
                .collect();
            if answers.iter().any(|a| *a != answers[0] || a.3.is_none()) {
                let heads: Vec<_> = answers
                    .iter()
                    .map(|a| (a.0, a.1.len(), a.2.clone(), a.3.clone()))
                    .collect();
                differ = Some(format!("{path}: {heads:?}"));
                break;
            }
            now.insert(*path, answers[0].clone());
        }
        if differ.is_none() && expect(&now) {
            return now;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the replicas do not agree: {}",
            differ.as_deref().unwrap_or("(the change is not served)")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn shows(now: &BTreeMap<&str, Served>, path: &str, text: &str) -> bool {
    now.get(path)
        .is_some_and(|s| String::from_utf8_lossy(&s.1).contains(text))
}

/// A client that revalidates by date alone, through nginx, and a record of every version and
/// date any response gave it.
struct DateOnly {
    front: SocketAddr,
    held: BTreeMap<&'static str, (Vec<u8>, Option<String>)>,
    seen: Vec<(&'static str, Vec<u8>, String)>,
}

impl DateOnly {
    fn poll(&mut self) {
        for path in PATHS {
            let since = self.held.get(path).and_then(|h| h.1.clone());
            let headers: Vec<(&str, &str)> = since
                .as_deref()
                .map(|d| vec![("If-Modified-Since", d)])
                .unwrap_or_default();
            let r = request(self.front, "GET", path, &headers);
            match r.status {
                200 => {
                    let date = r.header("last-modified").map(str::to_owned);
                    if let Some(d) = &date {
                        self.seen.push((path, r.body.clone(), d.clone()));
                    }
                    self.held.insert(path, (r.body, date));
                }
                304 => {}
                other => panic!("{path}: {other} through nginx"),
            }
        }
    }

    /// Polls while the replicas converge, then once more: it must hold what they serve. And
    /// every date ever given with other bytes than today's must fetch today's from every
    /// replica.
    fn check(&mut self, replicas: &[&Replica], now: &BTreeMap<&'static str, Served>) {
        self.poll();
        for (path, (_, body, ..)) in now {
            let held = &self.held[path].0;
            assert!(
                held == body,
                "{path}: the date-only client was told its old copy is current"
            );
        }
        for (path, body, date) in &self.seen {
            if *body == now[path].1 {
                continue;
            }
            for r in replicas {
                let answer = request(r.addr, "GET", path, &[("If-Modified-Since", date)]);
                assert_eq!(
                    answer.status, 200,
                    "{path} since {date} at the {} replica {}: an older version had that date",
                    r.watch, r.addr
                );
            }
        }
    }
}

fn all(replicas: &[Replica]) -> Vec<&Replica> {
    replicas.iter().collect()
}

#[test]
fn replicas_behind_a_load_balancer_agree_and_date_only_clients_miss_nothing() {
    let content = tempfile::tempdir().expect("tempdir");
    let dir = content.path();
    for (rel, title, date, category) in [
        ("a.md", "Alpha", "2022-05-26 08:00:00 +0800", "news"),
        ("b.md", "Bravo", "2022-05-27 08:00:00 +0800", "news"),
        ("c.md", "Charlie", "2022-05-28 08:00:00 +0800", "sport"),
        ("d.md", "Delta", "2022-05-29 08:00:00 +0800", "news"),
    ] {
        std::fs::write(dir.join(rel), post(title, date, category)).expect("write");
    }
    let front_port = free_port();
    let base = format!("http://127.0.0.1:{front_port}/");
    let mut replicas = [
        Replica::start(dir, free_port(), "native", &base),
        Replica::start(dir, free_port(), "native", &base),
        Replica::start(dir, free_port(), "poll", &base),
    ];
    let front = round_robin(front_port, &replicas.iter().collect::<Vec<_>>());

    // The same bytes, ETags and dates everywhere; an ETag from one is a 304 at every other,
    // and through nginx whichever replica answers.
    let now = agree(&all(&replicas), &|now| shows(now, "/feed.atom", "Delta"));
    for (path, (_, _, etag, _)) in &now {
        let etag = etag.as_deref().expect("an ETag");
        for r in &replicas {
            let answer = request(r.addr, "GET", path, &[("If-None-Match", etag)]);
            assert_eq!(answer.status, 304, "{path} at {}", r.addr);
        }
        let mut answered_by = std::collections::BTreeSet::new();
        for _ in 0..3 {
            let answer = request(front.addr, "GET", path, &[("If-None-Match", etag)]);
            assert_eq!(answer.status, 304, "{path} through nginx");
            answered_by.insert(answer.header("x-replica").unwrap_or_default().to_owned());
        }
        assert_eq!(
            answered_by.len(),
            3,
            "{path}: round-robin reached every replica"
        );
    }

    let mut client = DateOnly {
        front: front.addr,
        held: BTreeMap::new(),
        seen: Vec::new(),
    };
    client.poll();

    // Every kind of change, each while the client keeps polling across the replicas.
    type Change = Box<dyn Fn(&Path)>;
    let changes: Vec<(&str, Change, &str, &str)> = vec![
        (
            "a correction that keeps the date",
            Box::new(|d: &Path| {
                std::fs::write(
                    d.join("b.md"),
                    post("Bravo, corrected", "2022-05-27 08:00:00 +0800", "news"),
                )
                .expect("write")
            }),
            "/category/news.atom",
            "Bravo, corrected",
        ),
        (
            "a post copied in with an old file time",
            Box::new(|d: &Path| {
                copy_in_with_old_time(
                    d,
                    "e.md",
                    &post("Echo", "2022-05-30 08:00:00 +0800", "sport"),
                )
            }),
            "/category/sport.json",
            "Echo",
        ),
        (
            "two edits within one second",
            Box::new(|d: &Path| {
                std::fs::write(
                    d.join("d.md"),
                    post("Delta 1", "2022-05-29 08:00:00 +0800", "news"),
                )
                .expect("write");
                std::fs::write(
                    d.join("d.md"),
                    post("Delta 2", "2022-05-29 08:00:00 +0800", "news"),
                )
                .expect("write");
            }),
            "/feed.atom",
            "Delta 2",
        ),
        (
            "a post moved to another category in place, its time kept",
            Box::new(|d: &Path| {
                let path = d.join("a.md");
                std::fs::write(&path, post("Alpha", "2022-05-26 08:00:00 +0800", "sport"))
                    .expect("write");
                let file = std::fs::File::options()
                    .write(true)
                    .open(&path)
                    .expect("open");
                file.set_modified(old_time()).expect("set mtime");
            }),
            "/category/sport.json",
            "Alpha",
        ),
    ];
    for (what, change, path, text) in &changes {
        change(dir);
        // Polls land on replicas that have and have not seen the change yet.
        for _ in 0..5 {
            client.poll();
        }
        let now = agree(&all(&replicas), &|now| shows(now, path, text));
        client.check(&all(&replicas), &now);
        eprintln!("agreed after {what}");
    }

    // A deletion, while one replica is down; it comes back to the same bytes and dates.
    replicas[1].kill();
    std::fs::remove_file(dir.join("c.md")).expect("rm");
    for _ in 0..5 {
        client.poll();
    }
    let live = [&replicas[0], &replicas[2]];
    let gone = |now: &BTreeMap<&str, Served>| !shows(now, "/feed.json", "Charlie");
    let now = agree(&live, &gone);
    client.check(&live, &now);
    replicas[1].spawn(dir, &base);
    let rejoined = agree(&all(&replicas), &gone);
    assert_eq!(
        rejoined, now,
        "the restarted replica serves exactly what the others do"
    );
    client.check(&all(&replicas), &rejoined);
}
