//! Documents: feeds turned into bytes — RSS 2.0, Atom 1.0, JSON Feed 1.1, OPML 2.0, the HTML
//! index and each feed's HTML page.
//!
//! [`render`] is a pure function of (config, feeds, document id): no clock, no file system,
//! no network. That is what makes the bytes identical run after run and machine after
//! machine, and so what makes a hash of them a trustworthy ETag. It tells a document that
//! does not exist (`Ok(None)`) from one that exists but could not be written
//! ([`RenderError`]), so a serializer failure can never pass for an empty document. Start at [`render`]; each
//! format lives in its own submodule and only serializes the [`PageView`] built here, so that
//! the three formats cannot disagree about titles, links, dates or archive chains.

mod atom;
mod changes;
pub mod encoding;
mod html;
mod index;
mod json;
mod opml;
pub mod paths;
mod rss;
pub mod stats;

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, FixedOffset};

use crate::config::{Config, ContentMode};
use crate::feeds::{Feed, Feeds, Page, Scope};
use crate::posts::{Bodies, Body, Post};
pub use changes::changed;
pub use paths::{DocId, Format};

/// The media type of the OPML list.
pub const OPML_MEDIA_TYPE: &str = "text/x-opml";

/// The generator named in every feed.
pub const GENERATOR: &str = "tidings";

/// A rendered document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The bytes, shared rather than copied wherever they go.
    pub body: Bytes,
    /// Media type without parameters; every document is UTF-8.
    pub media_type: &'static str,
    /// Whether every entry's body was there. An entry whose file changed underneath, not yet
    /// reloaded, shows its summary alone; such a document is right for this moment only and
    /// must not be kept (the reload that follows changes its feed anyway).
    pub complete: bool,
}

/// Why a document that exists could not be written. The serializers write into memory, so
/// none of these is expected; each would be a bug in a writer or in the values handed to it,
/// and the caller decides what to serve instead (the server keeps the last good bytes).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The Atom writer failed.
    #[error("cannot write the Atom document: {0}")]
    Atom(#[source] atom_syndication::Error),
    /// The RSS writer failed.
    #[error("cannot write the RSS document: {0}")]
    Rss(#[source] ::rss::Error),
    /// The JSON Feed serializer failed.
    #[error("cannot write the JSON Feed document: {0}")]
    Json(#[source] serde_json::Error),
    /// The OPML writer failed.
    #[error("cannot write the OPML document: {0}")]
    Opml(#[source] std::io::Error),
}

/// What every document is rendered from.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The site's configuration.
    pub config: &'a Config,
    /// The site's feeds.
    pub feeds: &'a Feeds,
    /// Where entries' rendered bodies are kept between documents.
    pub bodies: &'a Bodies,
}

/// Renders one document: `Ok(None)` if it does not exist (an unknown category, an archive
/// page past the last one), an error if it exists but a serializer failed.
pub fn render(ctx: Context<'_>, id: &DocId) -> Result<Option<Document>, RenderError> {
    match id {
        DocId::Feed {
            scope,
            page,
            format,
        } => feed_document(ctx, scope, *page, *format, id),
        DocId::JekyllFeed(category) => {
            let scope = match category {
                None => Scope::Site,
                Some(name) => Scope::Category(name.clone()),
            };
            feed_document(ctx, &scope, Page::Current, Format::Atom, id)
        }
        DocId::Opml => Ok(Some(Document {
            body: opml::render(ctx)?,
            media_type: OPML_MEDIA_TYPE,
            complete: true,
        })),
        DocId::Index => Ok(Some(Document {
            body: index::render(ctx),
            media_type: "text/html",
            complete: true,
        })),
    }
}

/// A feed document of `scope`, `None` if the scope or the page does not exist.
fn feed_document(
    ctx: Context<'_>,
    scope: &Scope,
    page: Page,
    format: Format,
    id: &DocId,
) -> Result<Option<Document>, RenderError> {
    let Some(feed) = ctx.feeds.get(scope) else {
        return Ok(None);
    };
    let Some(view) = PageView::new(ctx, feed, page, format, id.path()) else {
        return Ok(None);
    };
    let place = html::Place {
        scope,
        page,
        pages: feed.archive_pages(ctx.config.feeds.limit),
    };
    let mut view = view;
    let mut document = render_feed(&view, format, &place)?;
    // Over the document budget, the oldest entries still carrying content give it up for
    // their summary, as many at a time as their content would make up the excess, until the
    // document fits or none is left (entries themselves are never dropped).
    let budget = ctx.config.feeds.max_document_bytes;
    while format != Format::Html && document.body.len() > budget {
        let mut excess = document.body.len() - budget;
        let mut dropped = false;
        for i in (0..view.entries.len()).rev() {
            if excess == 0 {
                break;
            }
            if view.full_content[i] {
                view.full_content[i] = false;
                excess = excess.saturating_sub(view.bodies[i].html.len());
                dropped = true;
            }
        }
        if !dropped {
            break;
        }
        document = render_feed(&view, format, &place)?;
    }
    Ok(Some(document))
}

fn render_feed(
    view: &PageView<'_>,
    format: Format,
    place: &html::Place<'_>,
) -> Result<Document, RenderError> {
    let body = match format {
        Format::Atom => atom::render(view)?,
        Format::Rss => rss::render(view)?,
        Format::Json => json::render(view)?,
        Format::Html => html::render(view, place),
    };
    Ok(Document {
        body,
        media_type: format.media_type(),
        complete: view.complete,
    })
}

/// Every document of the site, in a stable order: discovery pages, then each feed's
/// subscription documents and archive pages in every format and as HTML pages, then
/// jekyll-feed's paths.
pub fn all(ctx: Context<'_>) -> Vec<DocId> {
    let limit = ctx.config.feeds.limit;
    let mut ids = vec![DocId::Index, DocId::Opml];
    for feed in ctx.feeds.iter() {
        for format in Format::ALL.into_iter().chain([Format::Html]) {
            ids.push(DocId::current(feed.scope.clone(), format));
            for n in 1..=feed.archive_pages(limit) {
                ids.push(DocId::Feed {
                    scope: feed.scope.clone(),
                    page: Page::Archive(n),
                    format,
                });
            }
        }
    }
    ids.push(DocId::JekyllFeed(None));
    ids.extend(
        ctx.feeds
            .categories
            .keys()
            .map(|c| DocId::JekyllFeed(Some(c.clone()))),
    );
    ids
}

/// Whether `id` is an archive page the next page follows: its entries never change again,
/// so caches may keep it longer ([`crate::config::FeedsConfig::cache_control`]).
pub fn full_archive(config: &Config, feeds: &Feeds, id: &DocId) -> bool {
    match id {
        DocId::Feed {
            scope,
            page: Page::Archive(n),
            ..
        } => feeds
            .get(scope)
            .is_some_and(|feed| *n < feed.archive_pages(config.feeds.limit)),
        _ => false,
    }
}

/// Whether a document's bytes may change when `affected` scopes change. The index and the
/// OPML list show every feed (and counts), so they depend on all of them.
pub fn depends_on(id: &DocId, affected: &HashSet<&Scope>) -> bool {
    match id {
        DocId::Feed { scope, .. } => affected.contains(scope),
        DocId::JekyllFeed(None) => affected.contains(&Scope::Site),
        DocId::JekyllFeed(Some(c)) => affected.contains(&Scope::Category(c.clone())),
        DocId::Index | DocId::Opml => !affected.is_empty(),
    }
}

/// What an archive page's bytes are a function of, hashed; `None` when `id` is not an
/// archive page that exists. The page's bytes depend on its path, its entries, and whether
/// a newer archive page exists (its `next-archive` link); nothing else varies while the
/// configuration does not. Equal keys mean equal bytes, so a page whose key did not change
/// need not be rendered again.
pub fn archive_key(config: &Config, feeds: &Feeds, id: &DocId) -> Option<[u8; 32]> {
    let DocId::Feed {
        scope,
        page: Page::Archive(n),
        ..
    } = id
    else {
        return None;
    };
    let feed = feeds.get(scope)?;
    let limit = config.feeds.limit;
    let entries = feed.page(Page::Archive(*n), limit)?;
    let mut h = blake3::Hasher::new();
    h.update(id.path().as_bytes());
    h.update(&[u8::from(*n < feed.archive_pages(limit))]);
    for post in entries {
        h.update(&post.content_hash);
        h.update(post.source.as_bytes());
    }
    Some(*h.finalize().as_bytes())
}

/// The `Content-Type` of a document of `media_type`: every document is UTF-8.
pub fn content_type(media_type: &str) -> String {
    format!("{media_type}; charset=utf-8")
}

/// The human title of a scope's feed.
pub fn feed_title(config: &Config, scope: &Scope) -> String {
    match scope {
        Scope::Site => config.site.title.clone(),
        Scope::Category(name) => format!("{} · {}", config.site.title, name),
        Scope::Tag(name) => format!("{} · #{}", config.site.title, name),
    }
}

/// An absolute URL under the feed base URL for a document path.
pub fn feed_url(config: &Config, path: &str) -> String {
    let relative = path.trim_start_matches('/');
    match config.site.base_url.join(relative) {
        Ok(u) => u.to_string(),
        Err(_) => format!("{}{}", config.site.base_url, relative),
    }
}

/// Everything a feed document says, computed once for all formats.
pub(crate) struct PageView<'a> {
    pub(crate) config: &'a Config,
    /// Each entry's body, in order.
    pub(crate) bodies: Vec<Body>,
    /// Whether every entry's body was there (see [`Document::complete`]).
    pub(crate) complete: bool,
    pub(crate) title: String,
    pub(crate) description: String,
    /// A permanent id for the feed (Atom `id`): a `tag:` URI under the configured authority,
    /// so moving the service to another host does not make readers see a new feed.
    pub(crate) feed_id: String,
    pub(crate) self_url: String,
    pub(crate) home_url: String,
    pub(crate) entries: Vec<Arc<Post>>,
    pub(crate) updated: Option<DateTime<FixedOffset>>,
    pub(crate) is_archive: bool,
    pub(crate) current_url: Option<String>,
    pub(crate) prev_archive: Option<String>,
    pub(crate) next_archive: Option<String>,
    /// For each entry, whether it carries its full content (else its summary only): the
    /// feed's content mode, each entry's size, and the document's size decide.
    pub(crate) full_content: Vec<bool>,
}

impl<'a> PageView<'a> {
    /// Each entry with its body and whether it carries its full content.
    pub(crate) fn items(&self) -> impl Iterator<Item = (&Arc<Post>, &Body, bool)> {
        self.entries
            .iter()
            .zip(&self.bodies)
            .zip(&self.full_content)
            .map(|((post, body), &full)| (post, body, full))
    }

    fn new(
        ctx: Context<'a>,
        feed: &'a Feed,
        page: Page,
        format: Format,
        self_path: String,
    ) -> Option<Self> {
        let config = ctx.config;
        let limit = config.feeds.limit;
        let entries = feed.page(page, limit)?;
        let pages = feed.archive_pages(limit);
        let archive_url = |n: usize| {
            feed_url(
                config,
                &DocId::Feed {
                    scope: feed.scope.clone(),
                    page: Page::Archive(n),
                    format,
                }
                .path(),
            )
        };
        let (prev, next, current) = match page {
            Page::Current => ((pages > 0).then(|| archive_url(pages)), None, None),
            Page::Archive(n) => (
                (n > 1).then(|| archive_url(n - 1)),
                (n < pages).then(|| archive_url(n + 1)),
                Some(feed_url(
                    config,
                    &DocId::current(feed.scope.clone(), format).path(),
                )),
            ),
        };
        let scope_key = match &feed.scope {
            Scope::Site => String::from("feed"),
            Scope::Category(_) | Scope::Tag(_) => DocId::current(feed.scope.clone(), Format::Atom)
                .path()
                .trim_start_matches('/')
                .trim_end_matches(".atom")
                .to_owned(),
        };
        let mut title = feed_title(config, &feed.scope);
        if let Page::Archive(n) = page {
            // Not "n of total": the total grows, and an archive page's bytes must not.
            title = format!("{title} (archive {n})");
        }
        let mode = config.feeds.content_of(match &feed.scope {
            Scope::Category(name) => Some(name.as_str()),
            Scope::Site | Scope::Tag(_) => None,
        });
        // A body whose file changed underneath (not yet reloaded) is left out, and the
        // document said to be incomplete, rather than shown next to metadata of another
        // version of its post.
        let found: Vec<Option<Body>> = entries.iter().map(|post| ctx.bodies.get(post)).collect();
        let complete = found.iter().all(Option::is_some);
        let full_content = found
            .iter()
            .map(|body| {
                mode == ContentMode::Full
                    && body
                        .as_ref()
                        .is_some_and(|b| b.html.len() <= config.feeds.max_entry_bytes)
            })
            .collect();
        let bodies = found
            .into_iter()
            .zip(&entries)
            .map(|(body, post)| {
                body.unwrap_or_else(|| Body {
                    html: Arc::from(""),
                    summary: post.description.clone().unwrap_or_else(|| Arc::from("")),
                })
            })
            .collect();
        Some(Self {
            config,
            bodies,
            complete,
            full_content,
            title,
            description: config.site.description.clone(),
            feed_id: format!("tag:{}:{}", config.posts.id_authority, scope_key),
            self_url: feed_url(config, &self_path),
            home_url: config.site.url.to_string(),
            updated: Feed::last_change(&entries),
            entries,
            is_archive: matches!(page, Page::Archive(_)),
            current_url: current,
            prev_archive: prev,
            next_archive: next,
        })
    }

    /// The WebSub hubs the feed names (none unless a hub is configured or built in).
    pub(crate) fn hubs(&self) -> Vec<String> {
        self.config
            .advertised_hubs()
            .into_iter()
            .map(String::from)
            .collect()
    }

    /// The entry's language, or the site's.
    pub(crate) fn lang_of<'p>(&'p self, post: &'p Post) -> Option<&'p str> {
        post.lang
            .as_deref()
            .or(self.config.site.language.as_deref())
    }

    /// The feed's `updated`, with a fixed, clock-free value for a feed with no entries.
    pub(crate) fn updated_or_epoch(&self) -> DateTime<FixedOffset> {
        self.updated
            .unwrap_or_else(|| DateTime::UNIX_EPOCH.fixed_offset())
    }
}

/// Writes every escaped ampersand of an XML document as `&#x26;` instead of `&amp;`, outside
/// CDATA sections (where `&amp;` is literal text). Parsers read the same characters either way;
/// the W3C feed validator, though, takes `&` followed by a letter or digit in plain text
/// (`15项&3项`) for undeclared HTML unless the source line shows a hexadecimal character
/// reference, which tells it the ampersand was meant.
pub(crate) fn hex_ampersands(xml: Vec<u8>) -> Vec<u8> {
    const AMP: &[u8] = b"&amp;";
    const HEX: &[u8] = b"&#x26;";
    const CDATA_OPEN: &[u8] = b"<![CDATA[";
    const CDATA_CLOSE: &[u8] = b"]]>";
    if !xml.windows(AMP.len()).any(|w| w == AMP) {
        return xml;
    }
    let mut out = Vec::with_capacity(xml.len() + xml.len() / 64);
    let mut i = 0;
    while i < xml.len() {
        let rest = &xml[i..];
        if rest.starts_with(CDATA_OPEN) {
            let end = rest
                .windows(CDATA_CLOSE.len())
                .position(|w| w == CDATA_CLOSE)
                .map_or(rest.len(), |at| at + CDATA_CLOSE.len());
            out.extend_from_slice(&rest[..end]);
            i += end;
        } else if rest.starts_with(AMP) {
            out.extend_from_slice(HEX);
            i += AMP.len();
        } else {
            out.push(xml[i]);
            i += 1;
        }
    }
    out
}

/// An image's media type, from its file extension; `None` when the name does not say.
pub(crate) fn image_type(url: &url::Url) -> Option<&'static str> {
    let ext = url.path().rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "svg" => "image/svg+xml",
        _ => return None,
    })
}

/// The Media RSS elements of a lead image, as (name, attributes): a thumbnail, and the image
/// as content (with its type when known).
pub(crate) fn media_elements(image: &url::Url) -> [(&'static str, Vec<(&'static str, String)>); 2] {
    let url = image.as_str().to_owned();
    let mut content = vec![("url", url.clone()), ("medium", "image".to_owned())];
    if let Some(kind) = image_type(image) {
        content.push(("type", kind.to_owned()));
    }
    [
        ("media:thumbnail", vec![("url", url)]),
        ("media:content", content),
    ]
}

/// Plain text made safe to embed where HTML is expected (RSS `description`).
pub(crate) fn text_as_html(s: &str) -> String {
    quick_xml::escape::partial_escape(s).into_owned()
}
