//! tidings behind real shared caches — Varnish and nginx `proxy_cache`, the stand-ins for a
//! CDN, started on loopback: through each, every client gets its variant (encoding, browser
//! page or feed), the cache answers repeats and 304s itself, revalidates with tidings by ETag
//! once a document's age is up, and an edit is visible within `max_age`.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use crate::support::{Response, Served, request, wait_for};

fn post(title: &str) -> Vec<u8> {
    format!(
        "---\ntitle: {title}\ndate: 2022-05-26 07:32:30 +0800\ncategories: [news]\n---\n{}\n",
        "Body text. ".repeat(200)
    )
    .into_bytes()
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A cache process, stopped on drop.
pub(crate) struct Front {
    child: Child,
    pub(crate) addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Front {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn require(program: &str) {
    assert!(
        Path::new(program).exists(),
        "{program} is missing: this test runs a real cache; scripts/test installs it"
    );
}

pub(crate) fn world_readable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777));
}

fn varnish(backend: SocketAddr) -> Front {
    varnish_with(
        free_port(),
        &format!(
            "vcl 4.1;\nbackend tidings {{ .host = \"127.0.0.1\"; .port = \"{}\"; }}\n\
             sub vcl_backend_response {{ set beresp.keep = 1m; }}\n",
            backend.port()
        ),
    )
}

/// Varnish on `127.0.0.1:port` running `vcl`.
pub(crate) fn varnish_with(port: u16, vcl_text: &str) -> Front {
    require("/usr/sbin/varnishd");
    let dir = tempfile::tempdir().expect("tempdir");
    world_readable(dir.path());
    let vcl = dir.path().join("tidings.vcl");
    std::fs::write(&vcl, vcl_text).expect("vcl");
    let child = Command::new("/usr/sbin/varnishd")
        .arg("-F")
        .arg("-n")
        .arg(dir.path().join("work"))
        .args(["-a", &format!("127.0.0.1:{port}"), "-s", "malloc,32m"])
        .arg("-f")
        .arg(&vcl)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start varnishd");
    started(child, port, dir)
}

/// nginx on loopback with what every test's configuration has (a foreground process as
/// root, pid, logs and temporary files in a folder of its own, no access log), `main` before
/// the `http` block (modules) and `http` inside it, given the folder and `port`.
pub(crate) fn nginx_with(port: u16, main: &str, http: impl FnOnce(&str, u16) -> String) -> Front {
    require("/usr/sbin/nginx");
    let dir = tempfile::tempdir().expect("tempdir");
    world_readable(dir.path());
    let work = dir.path().display().to_string();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "daemon off;\nworker_processes 1;\nuser root;\npid {work}/nginx.pid;\n\
             error_log {work}/error.log;\n{main}events {{}}\nhttp {{\n  access_log off;\n\
             proxy_temp_path {work}/temp;\nclient_body_temp_path {work}/body;\n\
             fastcgi_temp_path {work}/fastcgi;\nuwsgi_temp_path {work}/uwsgi;\n\
             scgi_temp_path {work}/scgi;\n{}\n}}\n",
            http(&work, port)
        ),
    )
    .expect("nginx.conf");
    let child = Command::new("/usr/sbin/nginx")
        .arg("-c")
        .arg(&conf)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start nginx");
    started(child, port, dir)
}

fn nginx(backend: SocketAddr) -> Front {
    nginx_with(free_port(), "", |work, port| {
        format!(
            "proxy_cache_path {work}/cache keys_zone=feeds:10m;\n\
             server {{\n    listen 127.0.0.1:{port};\n    location / {{\n\
             proxy_pass http://127.0.0.1:{};\n      proxy_http_version 1.1;\n\
             proxy_cache feeds;\n      proxy_cache_revalidate on;\n\
             add_header X-Cache $upstream_cache_status;\n    }}\n  }}",
            backend.port()
        )
    })
}

pub(crate) fn started(child: Child, port: u16, dir: tempfile::TempDir) -> Front {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let front = Front {
        child,
        addr,
        _dir: dir,
    };
    wait_for("the cache to listen", Duration::from_secs(20), || {
        std::net::TcpStream::connect(addr).is_ok()
    });
    front
}

/// How many requests for documents tidings itself answered with `status`.
fn answered(served: &Served, status: u16) -> u64 {
    served
        .get("/metrics")
        .text()
        .lines()
        .filter(|l| {
            l.starts_with("tidings_http_requests_total{")
                && l.contains("kind=\"feed\"")
                && l.contains(&format!("status=\"{status}\""))
        })
        .filter_map(|l| l.rsplit(' ').next().and_then(|n| n.parse::<u64>().ok()))
        .sum()
}

pub(crate) const READER: (&str, &str) = ("Accept", "application/atom+xml, */*;q=0.1");
pub(crate) const BROWSER: (&str, &str) = (
    "Accept",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
);

fn through(front: &Front, headers: &[(&str, &str)]) -> Response {
    request(front.addr, "GET", "/category/news.atom", headers)
}

fn behind(make: fn(SocketAddr) -> Front) {
    let served = Served::start(
        &[("a.md", &post("Alpha"))],
        "[feeds]\nmax_age = 1\nstale_while_revalidate = 0\nstale_if_error = 0\n",
    );
    let front = make(served.running.addr);
    let direct = request(served.running.addr, "GET", "/category/news.atom", &[READER]);

    // A reader, twice: the second answer is the cache's.
    let before = answered(&served, 200);
    let first = through(&front, &[READER]);
    assert_eq!(first.status, 200);
    assert_eq!(first.body, direct.body, "the same bytes");
    assert_eq!(first.header("etag"), direct.header("etag"));
    let again = through(&front, &[READER]);
    assert_eq!(again.body, direct.body);
    // A browser gets the page, a gzip client gzip: each its own variant.
    let page = through(&front, &[BROWSER]);
    assert!(
        page.header("content-type")
            .is_some_and(|t| t.starts_with("text/html"))
    );
    assert!(page.text().starts_with("<!DOCTYPE html>"));
    let gzip = through(&front, &[READER, ("Accept-Encoding", "gzip")]);
    assert_eq!(gzip.header("content-encoding"), Some("gzip"));
    let plain = through(&front, &[READER]);
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(
        plain.body, direct.body,
        "the reader's variant is still the feed"
    );
    // A client that has it gets 304 from the cache.
    let etag = direct.header("etag").expect("etag").to_owned();
    let not_modified = through(&front, &[READER, ("If-None-Match", etag.as_str())]);
    assert_eq!(not_modified.status, 304);
    let fetched = answered(&served, 200) - before;
    assert!(
        fetched <= 3,
        "one fetch per variant at most, not per request: {fetched}"
    );

    // Once the age is up, the cache revalidates with tidings by ETag: a 304 from tidings.
    let revalidated = answered(&served, 304);
    wait_for("the cache to revalidate", Duration::from_secs(10), || {
        through(&front, &[READER]);
        answered(&served, 304) > revalidated
    });

    // An edit is visible through the cache within max-age.
    served.write("a.md", &post("Bravo"));
    wait_for(
        "the edit through the cache",
        Duration::from_secs(10),
        || {
            through(&front, &[READER])
                .text()
                .contains("<title>Bravo</title>")
        },
    );
}

#[test]
fn behind_varnish() {
    behind(varnish);
}

#[test]
fn behind_nginx_proxy_cache() {
    behind(nginx);
}
