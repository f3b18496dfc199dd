//! The static export behind a real nginx (Debian's, with the brotli static module), set up
//! only with the snippets the export carries: for every document, nginx answers as `tidings
//! serve` does over the same content — status, `Content-Type`, the very same bytes in
//! identity, gzip and brotli, `Cache-Control`, `Vary` and `nosniff` — and the compressed
//! bytes decompress to the document.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::caches::{Front, free_port, nginx_with};
use crate::support::{Response, Served, request, site};

const BROTLI_MODULE: &str = "/usr/lib/nginx/modules/ngx_http_brotli_static_module.so";

/// The settings both sides run with (those of `Served`, plus small pages so feeds have
/// archives).
const SETTINGS: &str = "[feeds]\nlimit = 3\n";

/// A site of several categories and tags, Chinese names among them, with archive pages, a
/// name with a space, and a post short enough that some documents are not worth compressing.
fn files() -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let cats = ["news", "山西晚报", "sport"];
    let tags = ["经济", "two words", "rust"];
    for i in 1..=11u32 {
        let body = if i == 11 {
            "Short.".to_owned()
        } else {
            format!("Paragraph {i} of the body. ").repeat(30)
        };
        let text = format!(
            "---\ntitle: Post {i} · 第{i}篇\ndate: 2024-01-{i:02} 10:00:00 +0800\n\
             categories: [{}]\ntags: [{}, {}]\n---\n{body}\n",
            cats[i as usize % 3],
            tags[i as usize % 3],
            tags[(i as usize + 1) % 3]
        );
        files.push((format!("_posts/2024-01-{i:02}-p{i}.md"), text.into_bytes()));
    }
    files.push((
        "_posts/2024-02-01-tiny.md".to_owned(),
        b"---\ntitle: T\ndate: 2024-02-01\ntags: [tiny]\n---\nx\n".to_vec(),
    ));
    files
}

/// nginx on loopback serving `root` with the export's own snippets; stopped on drop.
fn nginx(root: &Path) -> Front {
    assert!(
        Path::new(BROTLI_MODULE).exists(),
        "{BROTLI_MODULE} is missing: scripts/test installs libnginx-mod-http-brotli-static"
    );
    let root = root.display();
    // Only what any nginx.conf has (listen, root); every header and type comes from the
    // export's snippets.
    nginx_with(
        free_port(),
        &format!("load_module {BROTLI_MODULE};\n"),
        |_, port| {
            format!(
                "server {{\n    listen 127.0.0.1:{port};\n    root {root};\n\
                 include {root}/nginx.conf;\n    include {root}/nginx-brotli.conf;\n  }}"
            )
        },
    )
}

/// The export's documents (not their compressed copies, the manifest or the snippets), as
/// relative paths.
fn documents(root: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).expect("under root").to_owned());
            }
        }
    }
    let mut all = Vec::new();
    walk(root, root, &mut all);
    let mut docs: Vec<PathBuf> = all
        .into_iter()
        .filter(|p| {
            let name = p.to_string_lossy();
            !name.ends_with(".gz")
                && !name.ends_with(".br")
                && !matches!(
                    &*name,
                    "tidings-export.json" | "nginx.conf" | "nginx-brotli.conf"
                )
        })
        .collect();
    docs.sort();
    docs
}

/// The request path of an exported file: `/` for the index, each segment percent-encoded as
/// tidings links to it.
fn request_path(rel: &Path) -> String {
    if rel == Path::new("index.html") {
        return "/".to_owned();
    }
    const NAME: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    rel.components()
        .map(|c| {
            format!(
                "/{}",
                percent_encoding::utf8_percent_encode(&c.as_os_str().to_string_lossy(), NAME)
            )
        })
        .collect()
}

fn decoded(response: &Response) -> Vec<u8> {
    let mut out = Vec::new();
    match response.header("content-encoding") {
        None => out.extend_from_slice(&response.body),
        Some("gzip") => {
            flate2::read::GzDecoder::new(&response.body[..])
                .read_to_end(&mut out)
                .expect("gunzip");
        }
        Some("br") => {
            brotli::Decompressor::new(&response.body[..], 4096)
                .read_to_end(&mut out)
                .expect("unbrotli");
        }
        Some(other) => panic!("unexpected coding {other}"),
    }
    out
}

#[test]
fn nginx_serving_the_export_answers_as_tidings_does() {
    let files = files();
    let borrowed: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    let served = Served::start_in(site(&borrowed), SETTINGS);

    // The export, made with exactly the settings the server runs with.
    let mut config = crate::support::config(&format!(
        "[site]\nbase_url = \"http://feeds.test/\"\nurl = \"https://site.test/\"\n{SETTINGS}"
    ));
    config.content_dir = served.dir.path().to_owned();
    let out = tempfile::tempdir().expect("tempdir");
    let root = out.path().join("public");
    let report = tidings::export::export(
        &config,
        &root,
        chrono::Utc::now(),
        tidings::export::Replace::ExportsOnly,
    )
    .expect("export");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let front = nginx(&root);

    let docs = documents(&root);
    assert_eq!(docs.len(), report.documents);
    for needed in [
        "index.html",
        "feeds.opml",
        "feed.xml",
        "feed/archive/1.atom",
        "category/山西晚报.rss",
        "category/山西晚报/archive/1.json",
        "tag/经济.html",
        "tag/two words.atom",
        "feed/news.xml",
        "feed/山西晚报.xml",
    ] {
        assert!(docs.contains(&PathBuf::from(needed)), "{needed} exported");
    }

    let mut compared = [0usize; 3];
    let mut archives = [0usize; 2];
    for rel in &docs {
        let path = request_path(rel);
        let file = std::fs::read(root.join(rel)).expect("the file");
        for (i, accept) in [None, Some("gzip"), Some("br")].into_iter().enumerate() {
            let headers: Vec<(&str, &str)> =
                accept.map(|a| ("Accept-Encoding", a)).into_iter().collect();
            let from_tidings = served.request("GET", &path, &headers);
            let from_nginx = request(front.addr, "GET", &path, &headers);
            let what = format!("{path} ({})", accept.unwrap_or("identity"));
            assert_eq!(from_tidings.status, 200, "{what}");
            assert_eq!(from_nginx.status, 200, "{what}");
            for header in ["content-type", "content-encoding", "cache-control"] {
                assert_eq!(
                    from_nginx.header(header),
                    from_tidings.header(header),
                    "{what}: {header}"
                );
            }
            assert_eq!(from_nginx.header("x-content-type-options"), Some("nosniff"));
            // tidings adds `Accept` where a browser gets the page instead; nginx serves the
            // feed to everyone, so its answers vary by the coding alone.
            assert_eq!(
                from_nginx
                    .headers
                    .iter()
                    .filter(|(n, _)| n == "vary")
                    .map(|(_, v)| v.as_str())
                    .collect::<Vec<_>>(),
                ["Accept-Encoding"],
                "{what}"
            );
            assert!(
                from_tidings
                    .header("vary")
                    .is_some_and(|v| v.ends_with("Accept-Encoding")),
                "{what}"
            );
            assert!(
                from_nginx.body == from_tidings.body,
                "{what}: the same bytes"
            );
            assert!(
                decoded(&from_nginx) == file,
                "{what}: decodes to the document"
            );
            if from_nginx.header("content-encoding").is_some() {
                compared[i] += 1;
            }
        }
        if rel.to_string_lossy().contains("/archive/") {
            let long = served
                .get(&path)
                .header("cache-control")
                .is_some_and(|c| c.contains("max-age=86400"));
            archives[usize::from(long)] += 1;
        }
    }
    // The walk covered what it claims: every document in identity, most compressed, both
    // kinds of archive page; and some documents too small to be worth compressing.
    assert!(compared[1] > docs.len() / 2, "gzip answers: {compared:?}");
    assert_eq!(compared[1], compared[2], "gzip and brotli alike");
    assert!(
        compared[1] < docs.len(),
        "some documents are sent as they are"
    );
    assert!(
        archives[0] > 0 && archives[1] > 0,
        "newest and full archive pages: {archives:?}"
    );

    // What a browser sends: tidings and nginx both pick brotli.
    let both = request(
        front.addr,
        "GET",
        "/feed.atom",
        &[("Accept-Encoding", "gzip, deflate, br")],
    );
    assert_eq!(both.header("content-encoding"), Some("br"));

    // What is not a document is not found on either.
    for path in [
        "/tidings-export.json",
        "/nginx.conf",
        "/nginx-brotli.conf",
        "/feed.atom.gz",
        "/feed.atom.br",
        "/index.html",
        "/nothing.atom",
    ] {
        assert_eq!(served.get(path).status, 404, "tidings {path}");
        assert_eq!(
            request(front.addr, "GET", path, &[]).status,
            404,
            "nginx {path}"
        );
    }

    // A second export from scratch is byte for byte the same, compressed copies included.
    let again = out.path().join("again");
    tidings::export::export(
        &config,
        &again,
        chrono::Utc::now(),
        tidings::export::Replace::ExportsOnly,
    )
    .expect("export again");
    let listing = |dir: &Path| {
        let mut all = Vec::new();
        for rel in documents(dir) {
            for suffix in ["", ".gz", ".br"] {
                let name = format!("{}{suffix}", rel.display());
                if let Ok(bytes) = std::fs::read(dir.join(&name)) {
                    all.push((name, bytes));
                }
            }
        }
        all
    };
    assert!(listing(&root) == listing(&again), "deterministic");
}
