//! The nginx snippets written into every export, so that nginx serving the folder answers as
//! `tidings serve` does over the same content: the same `Content-Type` (charset included),
//! the same bytes in every encoding (the export's `.gz` and `.br` copies, sent as they are),
//! the same `Cache-Control`, `Vary: Accept-Encoding` and `nosniff`.
//!
//! Both are `server`-level includes with no absolute path in them: the operator's `server`
//! block sets `root` to the export and includes them from there. `brotli_static` is a
//! separate file because nginx refuses to start on a directive of a module it has not
//! loaded; without it, brotli clients get the gzip copy, as from any nginx.

use std::fmt::Write;

use crate::config::FeedsConfig;
use crate::documents::{self, Format};

/// The snippet every nginx can use.
pub const NGINX: &str = "nginx.conf";
/// The snippet for an nginx with the brotli static module loaded.
pub const BROTLI: &str = "nginx-brotli.conf";

/// A document of the export, as nginx sees it.
#[derive(Debug)]
pub struct Served {
    /// The decoded request path (what nginx matches locations against).
    pub uri: String,
    /// Whether it is a full archive page (cached for `archive_max_age`).
    pub full_archive: bool,
}

/// Where archive pages are: anything else cached like an archive page is listed by name.
const ARCHIVE_PATTERN: &str = r"^/.+/archive/[1-9][0-9]*\.(atom|rss|json|html)$";

/// Whether `uri` matches [`ARCHIVE_PATTERN`].
fn looks_archived(uri: &str) -> bool {
    let Some((stem, ext)) = uri.rsplit_once('.') else {
        return false;
    };
    if !matches!(ext, "atom" | "rss" | "json" | "html") {
        return false;
    }
    let Some((before, n)) = stem.rsplit_once("/archive/") else {
        return false;
    };
    before.len() > 1
        && before.starts_with('/')
        && !n.is_empty()
        && !n.starts_with('0')
        && n.bytes().all(|b| b.is_ascii_digit())
}

/// The extensions of the export's documents and their media types, as `tidings serve`
/// sends them.
fn types() -> Vec<(&'static str, &'static [&'static str])> {
    vec![
        (Format::Atom.media_type(), &["atom", "xml"]),
        (Format::Rss.media_type(), &["rss"]),
        (Format::Json.media_type(), &["json"]),
        (Format::Html.media_type(), &["html"]),
        (documents::OPML_MEDIA_TYPE, &["opml"]),
    ]
}

/// A string as an nginx configuration token: always quoted, so spaces, `;`, `{` and `#` in
/// feed names are text.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The snippets: (file name, text). Deterministic: documents in the order given.
pub fn snippets(feeds: &FeedsConfig, served: &[Served]) -> Vec<(&'static str, String)> {
    let headers = |full_archive: bool| {
        format!(
            "        add_header Cache-Control {};\n        \
             add_header Vary Accept-Encoding;\n        \
             add_header X-Content-Type-Options nosniff;\n",
            quoted(&feeds.cache_control(full_archive))
        )
    };
    let mut text = String::new();
    text.push_str(
        "# Written by `tidings build`: serves this export as `tidings serve` serves the same\n\
         # content. A server-level include; in the operator's server block:\n\
         #\n\
         #     root /srv/feeds;                  # this folder\n\
         #     include /srv/feeds/nginx.conf;\n\
         #     include /srv/feeds/nginx-brotli.conf;   # only with the brotli static module\n\
         #\n\
         # It changes when a feed gains an archive page: reload nginx after a build says so.\n\n",
    );
    text.push_str("index index.html;\n");
    text.push_str("# The .gz beside a file for clients that accept gzip; also when a CDN asks.\n");
    text.push_str("gzip_static on;\ngzip_proxied any;\ngzip_http_version 1.0;\n");
    text.push_str("types {\n");
    for (media_type, exts) in types() {
        let _ = writeln!(
            text,
            "    {} {};",
            quoted(&documents::content_type(media_type)),
            exts.join(" ")
        );
    }
    text.push_str("}\ndefault_type application/octet-stream;\n\n");
    text.push_str(
        "# What the export holds besides documents, and the compressed copies by their own\n\
         # names, are not documents: tidings serve answers 404 for them too.\n",
    );
    for name in [super::MANIFEST, NGINX, BROTLI] {
        let _ = writeln!(text, "location = /{name} {{\n    return 404;\n}}");
    }
    text.push_str("location ~ \"\\.(gz|br)$\" {\n    return 404;\n}\n");
    text.push_str("# The index is served for /, not by its file name.\n");
    let _ = write!(
        text,
        "location = /index.html {{\n    internal;\n{}}}\n",
        headers(false).replace("        ", "    ")
    );
    text.push_str("\n# Documents.\n");
    let _ = write!(
        text,
        "location / {{\n{}}}\n",
        headers(false).replace("        ", "    ")
    );
    text.push_str("# Full archive pages never change again.\n");
    let _ = write!(
        text,
        "location ~ {} {{\n{}}}\n",
        quoted(ARCHIVE_PATTERN),
        headers(true).replace("        ", "    ")
    );
    let exceptions: Vec<&Served> = served
        .iter()
        .filter(|s| looks_archived(&s.uri) != s.full_archive)
        .collect();
    if !exceptions.is_empty() {
        text.push_str(
            "# The newest archive page of each feed gains a link to the next one when that\n\
             # fills: cached like a subscription document until then.\n",
        );
    }
    for s in exceptions {
        let _ = write!(
            text,
            "location = {} {{\n{}}}\n",
            quoted(&s.uri),
            headers(s.full_archive).replace("        ", "    ")
        );
    }
    let brotli =
        "# Written by `tidings build`: include after nginx.conf when nginx has the brotli\n\
                  # static module (Debian: libnginx-mod-http-brotli-static) loaded.\n\
                  brotli_static on;\n"
            .to_owned();
    vec![(NGINX, text), (BROTLI, brotli)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_paths_are_told_apart_as_nginx_does() {
        for (uri, archived) in [
            ("/feed/archive/1.atom", true),
            ("/category/news/archive/12.html", true),
            ("/tag/山西/archive/3.rss", true),
            ("/feed/archive/0.atom", false),
            ("/feed/archive/01.atom", false),
            ("/feed.atom", false),
            ("/feed/archive.xml", false),
            ("/archive/1.atom", false),
            ("/feed/archive/1.xml", false),
        ] {
            assert_eq!(looks_archived(uri), archived, "{uri}");
        }
    }

    #[test]
    fn names_are_quoted() {
        assert_eq!(quoted(r#"/tag/a "b"\c;{#}"#), r#""/tag/a \"b\"\\c;{#}""#);
    }
}
