//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tidings::config::{Config, Layers};
use tidings::load::Catalog;
use tidings::posts::{self, Loaded, Post, PostError, Source};

/// The repository's own sample site.
pub fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds")
}

/// A config from TOML text on top of the defaults.
pub fn config(toml: &str) -> Config {
    Layers::from_toml(toml)
        .unwrap_or_else(|e| panic!("bad test config: {e}"))
        .resolve()
        .unwrap_or_else(|e| panic!("bad test config: {e}"))
}

/// Loads one post from text, expecting an entry.
#[track_caller]
pub fn post(path: &str, text: &str, config: &Config) -> Post {
    match posts::load_post(&Source::new(path, text.as_bytes()), config) {
        Ok(Loaded::Post(p)) => {
            std::sync::Arc::into_inner(p).unwrap_or_else(|| panic!("{path}: the post is shared"))
        }
        Ok(other) => panic!("{path}: expected a post, got {other:?}"),
        Err(e) => panic!("{path}: expected a post, got error {e}"),
    }
}

/// Loads one post from bytes, expecting an error.
#[track_caller]
pub fn error(path: &str, bytes: &[u8], config: &Config) -> PostError {
    match posts::load_post(&Source::new(path, bytes), config) {
        Err(e) => e,
        Ok(other) => panic!("{path}: expected an error, got {other:?}"),
    }
}

/// Loads a whole content directory as every command does, `now` deciding which
/// future-dated posts are visible.
pub fn load_at(dir: &Path, config: &Config, now: DateTime<Utc>) -> Catalog {
    let mut config = config.clone();
    config.content_dir = dir.to_owned();
    Catalog::load(Arc::new(config), now)
}

/// Loads a whole content directory now.
pub fn load(dir: &Path, config: &Config) -> Catalog {
    load_at(dir, config, Utc::now())
}

/// Writes `files` (relative path, contents) under a new temporary directory.
pub fn site(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    for (rel, bytes) in files {
        let path = dir.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir: {e}"));
        }
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {rel}: {e}"));
    }
    dir
}

/// A service running on `127.0.0.1:0` over a temporary content directory.
pub struct Served {
    /// The running service.
    pub running: tidings::service::Running,
    /// The content directory (deleted on drop).
    pub dir: tempfile::TempDir,
}

impl Served {
    /// Starts the service over `files` with extra TOML settings, and waits until the first
    /// load is published.
    pub fn start(files: &[(&str, &[u8])], toml: &str) -> Self {
        let dir = site(files);
        Self::start_in(dir, toml)
    }

    /// Starts the service over an existing directory.
    pub fn start_in(dir: tempfile::TempDir, toml: &str) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        Self::launch(dir, listener, "http://feeds.test/", toml)
    }

    /// Starts the service over `files` with its base URL at its own address, so that the
    /// URLs in its documents can be fetched by another program (a WebSub hub, say).
    pub fn start_reachable(files: &[(&str, &[u8])], toml: &str) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}/", listener.local_addr().expect("addr"));
        Self::launch(site(files), listener, &base, toml)
    }

    fn launch(
        dir: tempfile::TempDir,
        listener: std::net::TcpListener,
        base_url: &str,
        toml: &str,
    ) -> Self {
        let mut cfg = config(&format!(
            "[site]\nbase_url = \"{base_url}\"\nurl = \"https://site.test/\"\n\
             [server]\ndebounce_ms = 20\n{toml}"
        ));
        cfg.content_dir = dir.path().to_owned();
        let running = tidings::service::Running::start(cfg, listener)
            .unwrap_or_else(|e| panic!("start: {e}"));
        let served = Self { running, dir };
        served.wait_for("the first load", || served.get("/healthz").status == 200);
        served
    }

    /// A GET.
    pub fn get(&self, path: &str) -> Response {
        request(self.running.addr, "GET", path, &[])
    }

    /// Any request.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        request(self.running.addr, method, path, headers)
    }

    /// Waits until `condition` holds, failing the test after a generous deadline.
    #[track_caller]
    pub fn wait_for(&self, what: &str, condition: impl FnMut() -> bool) {
        wait_for(what, std::time::Duration::from_secs(10), condition);
    }

    /// Waits until documents carry `Last-Modified` (once the second of the content's last
    /// change is settled; see `validator_date`), and returns the one `path` carries.
    #[track_caller]
    pub fn settled(&self, path: &str) -> String {
        let mut date = None;
        self.wait_for("Last-Modified to be given", || {
            date = self.get(path).header("last-modified").map(str::to_owned);
            date.is_some()
        });
        date.unwrap_or_default()
    }

    /// Writes a file under the content directory (creating folders).
    pub fn write(&self, rel: &str, bytes: &[u8]) {
        let path = self.dir.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, bytes).expect("write");
    }

    /// The path of a file under the content directory.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
}

/// Polls `condition` until it holds or `limit` passes.
#[track_caller]
pub fn wait_for(what: &str, limit: std::time::Duration, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if condition() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// An HTTP response as it came off the socket.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body bytes exactly as sent.
    pub body: Vec<u8>,
}

impl Response {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one HTTP/1.1 request over a fresh TCP connection and reads the whole response. The
/// path is sent exactly as given, so tests can send what real clients would never produce.
pub fn request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Response {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: feeds.test\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    // Caches in front may stream a body they transform (a gunzipped variant) chunked.
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked { dechunk(&body) } else { body };
    Response {
        status,
        headers,
        body,
    }
}

/// The payload of a chunked body.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&raw[..end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        out.extend_from_slice(&raw[start..(start + size).min(raw.len())]);
        raw = raw.get(start + size + 2..).unwrap_or(&[]);
    }
    out
}

/// A post's category or tag names, as plain text for comparisons.
pub fn names(names: &[std::sync::Arc<str>]) -> Vec<&str> {
    names.iter().map(|n| &**n).collect()
}
