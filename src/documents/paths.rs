//! The public URL contract: which path names which document, both ways.
//!
//! | path | document |
//! | --- | --- |
//! | `/feed.{atom,rss,json}` | every post |
//! | `/category/{name}.{ext}`, `/tag/{name}.{ext}` | one category / tag |
//! | `/feed/archive/{n}.{ext}` | archive page `n` of the site feed (1 = oldest) |
//! | `/category/{name}/archive/{n}.{ext}`, `/tag/{name}/archive/{n}.{ext}` | archive pages |
//! | `/feed.xml`, `/feed/{category}.xml` | jekyll-feed compatible Atom |
//! | `/feeds.opml`, `/` | OPML list, HTML index |
//!
//! Names are percent-encoded UTF-8 with everything but RFC 3986's unreserved characters
//! escaped, so a `/` in a name is `%2F` and never a path separator, and only the last dot of
//! the final segment starts the extension. Parsing is the exact inverse of [`DocId::path`]
//! (tested as a round trip), plus one leniency: a name written with literal slashes, as a
//! static host that decodes `%2F` would see it, is accepted too.

use std::path::PathBuf;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::feeds::{Page, Scope};

/// Everything but RFC 3986 unreserved characters is escaped in a name.
const NAME: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The three feed formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// Atom 1.0 (RFC 4287).
    Atom,
    /// RSS 2.0.
    Rss,
    /// JSON Feed 1.1.
    Json,
    /// The page a person sees: the feed as HTML, for browsers (not a feed format).
    Html,
}

impl Format {
    /// Every feed format, in the order documents list them (the HTML page is not one).
    pub const ALL: [Format; 3] = [Format::Atom, Format::Rss, Format::Json];

    /// The file extension.
    pub fn ext(self) -> &'static str {
        match self {
            Format::Atom => "atom",
            Format::Rss => "rss",
            Format::Json => "json",
            Format::Html => "html",
        }
    }

    /// The media type (without parameters).
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Atom => "application/atom+xml",
            Format::Rss => "application/rss+xml",
            Format::Json => "application/feed+json",
            Format::Html => "text/html",
        }
    }

    /// The name people know the format by.
    pub fn label(self) -> &'static str {
        match self {
            Format::Atom => "Atom",
            Format::Rss => "RSS",
            Format::Json => "JSON Feed",
            Format::Html => "Web page",
        }
    }

    fn from_ext(ext: &str) -> Option<Self> {
        [Format::Atom, Format::Rss, Format::Json, Format::Html]
            .into_iter()
            .find(|f| f.ext() == ext)
    }
}

/// A document the service publishes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DocId {
    /// A page of a feed in one format.
    Feed {
        /// Which feed.
        scope: Scope,
        /// Which page.
        page: Page,
        /// Which format.
        format: Format,
    },
    /// jekyll-feed's Atom paths: `/feed.xml` (`None`) and `/feed/{category}.xml`.
    JekyllFeed(Option<String>),
    /// `/feeds.opml`.
    Opml,
    /// `/`.
    Index,
}

impl DocId {
    /// The subscription document of a scope in a format.
    pub fn current(scope: Scope, format: Format) -> Self {
        DocId::Feed {
            scope,
            page: Page::Current,
            format,
        }
    }

    /// The document's path, percent-encoded, starting with `/`.
    pub fn path(&self) -> String {
        match self {
            DocId::Feed {
                scope,
                page,
                format,
            } => {
                let base = match scope {
                    Scope::Site => "/feed".to_owned(),
                    Scope::Category(n) => format!("/category/{}", encode(n)),
                    Scope::Tag(n) => format!("/tag/{}", encode(n)),
                };
                match page {
                    Page::Current => format!("{base}.{}", format.ext()),
                    Page::Archive(n) => format!("{base}/archive/{n}.{}", format.ext()),
                }
            }
            DocId::JekyllFeed(None) => "/feed.xml".to_owned(),
            DocId::JekyllFeed(Some(c)) => format!("/feed/{}.xml", encode(c)),
            DocId::Opml => "/feeds.opml".to_owned(),
            DocId::Index => "/".to_owned(),
        }
    }

    /// The document a request path names, if any. `path` is the raw (still percent-encoded)
    /// path of the request, without query. Anything malformed — bad escapes, invalid UTF-8,
    /// empty names, page 0 — names nothing.
    pub fn parse(path: &str) -> Option<Self> {
        match path {
            "/" => return Some(DocId::Index),
            "/feeds.opml" => return Some(DocId::Opml),
            "/feed.xml" => return Some(DocId::JekyllFeed(None)),
            _ => {}
        }
        if let Some(rest) = path.strip_prefix("/feed/archive/") {
            let (n, format) = parse_archive_file(rest)?;
            return Some(DocId::Feed {
                scope: Scope::Site,
                page: Page::Archive(n),
                format,
            });
        }
        if let Some(rest) = path.strip_prefix("/feed/") {
            let name = decode(rest.strip_suffix(".xml")?)?;
            return Some(DocId::JekyllFeed(Some(name)));
        }
        if let Some((stem, ext)) = path.rsplit_once('.')
            && stem == "/feed"
        {
            return Some(DocId::current(Scope::Site, Format::from_ext(ext)?));
        }
        let (kind, rest): (fn(String) -> Scope, &str) =
            if let Some(rest) = path.strip_prefix("/category/") {
                (Scope::Category, rest)
            } else if let Some(rest) = path.strip_prefix("/tag/") {
                (Scope::Tag, rest)
            } else {
                return None;
            };
        // The archive suffix is matched on the raw path, so a name containing an encoded
        // `/archive/2` stays a name.
        if let Some(i) = rest.rfind("/archive/")
            && let Some((n, format)) = parse_archive_file(&rest[i + "/archive/".len()..])
        {
            let name = decode(&rest[..i])?;
            return Some(DocId::Feed {
                scope: kind(name),
                page: Page::Archive(n),
                format,
            });
        }
        let (stem, ext) = rest.rsplit_once('.')?;
        let format = Format::from_ext(ext)?;
        Some(DocId::current(kind(decode(stem)?), format))
    }

    /// Where the static export writes the document, relative to the output folder: the
    /// decoded path, which is what static hosts and object stores look up. A segment that
    /// would be unsafe or meaningless on disk (`..`, `.`, empty, a backslash) keeps its
    /// percent-encoded form instead.
    pub fn file_path(&self) -> PathBuf {
        let path = self.path();
        if path == "/" {
            return PathBuf::from("index.html");
        }
        let mut out = PathBuf::new();
        for raw in path.trim_start_matches('/').split('/') {
            let decoded = percent_decode_str(raw).decode_utf8().ok();
            let safe = decoded.as_deref().filter(|d| {
                d.split('/')
                    .all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains(['\\', '\0']))
            });
            match safe {
                Some(d) => d.split('/').for_each(|s| out.push(s)),
                None => out.push(raw),
            }
        }
        out
    }
}

fn encode(name: &str) -> String {
    utf8_percent_encode(name, NAME).to_string()
}

fn decode(raw: &str) -> Option<String> {
    let name = percent_decode_str(raw).decode_utf8().ok()?;
    (!name.is_empty()).then(|| name.into_owned())
}

/// `{n}.{ext}` with `n` a positive decimal number without leading zeros.
fn parse_archive_file(s: &str) -> Option<(usize, Format)> {
    let (n, ext) = s.split_once('.')?;
    if n.is_empty() || n.starts_with('0') || !n.bytes().all(|b| b.is_ascii_digit()) || n.len() > 9 {
        return None;
    }
    Some((n.parse().ok()?, Format::from_ext(ext)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        let names = [
            "shanxiwanbao",
            "New York",
            "a/b",
            "c++",
            "🔥热点",
            "v1.2",
            "x/archive/3",
            "%",
            "#?&<",
        ];
        for name in names {
            for scope in [Scope::Category(name.into()), Scope::Tag(name.into())] {
                for page in [Page::Current, Page::Archive(1), Page::Archive(42)] {
                    for format in Format::ALL {
                        let id = DocId::Feed {
                            scope: scope.clone(),
                            page,
                            format,
                        };
                        assert_eq!(DocId::parse(&id.path()), Some(id.clone()), "{}", id.path());
                    }
                }
            }
            let j = DocId::JekyllFeed(Some(name.into()));
            assert_eq!(DocId::parse(&j.path()), Some(j));
        }
        for id in [DocId::Index, DocId::Opml, DocId::JekyllFeed(None)] {
            assert_eq!(DocId::parse(&id.path()), Some(id));
        }
    }

    #[test]
    fn names_are_encoded() {
        let id = DocId::current(Scope::Category("a/b c.d".into()), Format::Atom);
        assert_eq!(id.path(), "/category/a%2Fb%20c.d.atom");
        let id = DocId::current(Scope::Tag("山西".into()), Format::Rss);
        assert_eq!(id.path(), "/tag/%E5%B1%B1%E8%A5%BF.rss");
    }

    #[test]
    fn refuses_malformed_paths() {
        for bad in [
            "/feed.xhtml",
            "/category/.atom",
            "/category/x",
            "/category/%ff.atom",
            "/category/%C0%AE%C0%AE.atom",
            "/feed/archive/0.atom",
            "/feed/archive/01.atom",
            "/feed/archive/-1.atom",
            "/feed/archive/99999999999999999999.atom",
            "/nothing",
            "",
        ] {
            assert_eq!(DocId::parse(bad), None, "{bad}");
        }
        // Traversal-looking names are just names, looked up in memory, never on disk.
        assert_eq!(
            DocId::parse("/category/..%2F..%2Fetc%2Fpasswd.atom"),
            Some(DocId::current(
                Scope::Category("../../etc/passwd".into()),
                Format::Atom
            ))
        );
    }

    #[test]
    fn files_are_safe() {
        let id = DocId::current(Scope::Category("../../etc".into()), Format::Atom);
        let p = id.file_path();
        assert!(
            p.components()
                .all(|c| matches!(c, std::path::Component::Normal(_))),
            "{p:?}"
        );
        let id = DocId::current(Scope::Category("New York".into()), Format::Atom);
        assert_eq!(id.file_path(), PathBuf::from("category/New York.atom"));
        assert_eq!(DocId::Index.file_path(), PathBuf::from("index.html"));
    }
}
