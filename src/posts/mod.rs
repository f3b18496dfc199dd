//! Posts: one file's bytes in, one entry (or a reason it is not one) out.
//!
//! [`load_post`] is a pure function of a [`Source`] (the file's path, its bytes, when it was
//! written) and the config: no file system, no clock. That is what lets the service re-load
//! the one file that changed and leave the other hundred thousand alone, and what makes it
//! safe to fuzz. Reading files and running the loader over a whole site is the `load` stage's
//! job; nothing here imports anything that does I/O.
//!
//! Start at [`load_post`]; it reads as its steps, and the submodules are their parts: [`front_matter`] splits and parses
//! the YAML, [`dates`] reads dates, [`permalink`] builds URLs, [`body`] renders and sanitizes.
//! Rendering is the expensive step and most posts are never shown (only the newest of each
//! feed are, until someone walks the archives), so it happens lazily, when a document needs
//! the body, through a [`Bodies`] cache its owner bounds by bytes. For the same reason a post
//! loaded from a file does not keep its body at all, only where it lies in the file: the
//! body is read again when a document needs it (through [`PostFiles`], which the owner of the
//! cache provides), and used only if the file still holds the very bytes the post was loaded
//! from. A post loaded from bytes alone keeps its body, LZ4-compressed.

pub mod body;
pub mod dates;
pub mod front_matter;
pub mod permalink;
pub mod text;

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, OnceLock};

use chrono::{DateTime, FixedOffset};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use url::Url;

use crate::config::{Config, IdScheme};
use body::Renderer;
use dates::DateError;
use front_matter::{Split, Yaml};
use text::clean_field;

/// One entry, ready for the documents.
///
/// Every text field is trimmed and free of characters XML forbids, so no later stage needs to
/// check again.
#[derive(Debug)]
pub struct Post {
    /// The file's path under the content directory, `/`-separated.
    pub source: String,
    /// The file's bytes hashed ([`content_hash`]): a change that leaves the bytes alone (a
    /// `touch`) is no change at all.
    pub content_hash: ContentHash,
    /// The stable identifier (Atom `id`, RSS `guid`, JSON `id`).
    pub id: String,
    /// Plain-text title.
    pub title: String,
    /// Publication date, with the offset the post was written in.
    pub date: DateTime<FixedOffset>,
    /// Last change, when the front matter gives one (`last_modified_at` or `updated`).
    pub updated: Option<DateTime<FixedOffset>>,
    /// Categories in order, duplicates removed (shared with every post of the same
    /// category when loaded through [`Names`]).
    pub categories: Box<[Arc<str>]>,
    /// Tags in order, duplicates removed (shared likewise).
    pub tags: Box<[Arc<str>]>,
    /// Absolute URL of the post's page.
    pub permalink: Url,
    /// The post's author, or the site's (shared: most posts have none of their own).
    pub author: Option<Arc<Author>>,
    /// An image for thumbnails, absolute.
    pub image: Option<Url>,
    /// The post's language (`lang` or `language`), when it names one.
    pub lang: Option<String>,
    /// `description` or `excerpt` from the front matter.
    pub description: Option<Arc<str>>,
    /// Where the body is.
    body: Stored,
    /// Identifies this version of this post's rendered body (see [`Post::render_key`]).
    render_key: u64,
    summary_length: usize,
}

/// A person credited for a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// Display name (never empty).
    pub name: String,
    /// Email address.
    pub email: Option<String>,
    /// Home page, absolute.
    pub uri: Option<String>,
}

/// Where a post's body is kept.
#[derive(Debug)]
enum Stored {
    /// In memory, LZ4-compressed (size-prepended): for a post loaded from bytes alone.
    Inline(Box<[u8]>),
    /// In the post's file, at these bytes: read again when a document needs it.
    File { offset: u32, len: u32 },
}

/// Reads a post's file again, for its body: provided by whoever loaded the posts from files,
/// so that this module never touches the disk itself.
pub trait PostFiles: Send + Sync {
    /// The current bytes of the file at `path` (relative to the content directory), if it
    /// can be read.
    fn read(&self, path: &str) -> Option<Vec<u8>>;
}

/// A post's body as documents show it.
#[derive(Debug, Clone)]
pub struct Body {
    /// The full, sanitized HTML.
    pub html: Arc<str>,
    /// The summary: the front matter's `description`/`excerpt`, else the plain text of the
    /// first paragraph, cut on a grapheme boundary.
    pub summary: Arc<str>,
}

/// The one global: the Markdown renderer and sanitizer are fixed (they depend on no setting),
/// and building them for every post would cost more than rendering a short one.
static RENDERER: LazyLock<Renderer> = LazyLock::new(Renderer::new);

/// Rendered bodies, kept by whoever publishes documents (the service's store, the export) in
/// a cache bounded by bytes and keyed by everything the HTML depends on
/// ([`Post::render_key`]), so a hit is exactly what rendering again would give.
///
/// Rendering is the expensive step of a document and most posts are never shown until someone
/// walks the archives; at 100,000 posts the HTML of every post would not fit the memory
/// budget, and only the posts of recently rendered documents are ever needed again.
pub struct Bodies {
    cache: quick_cache::sync::Cache<u64, Body, BodyWeight>,
    /// Where bodies kept in files are read from; set once, by the owner.
    files: OnceLock<Arc<dyn PostFiles>>,
}

/// Bytes of rendered HTML kept by default. Enough for the posts of every subscription
/// document of a site with hundreds of feeds; archive walks cycle through it without growing it.
pub const BODY_CACHE_BYTES: u64 = 32 * 1024 * 1024;

#[derive(Clone)]
struct BodyWeight;

impl quick_cache::Weighter<u64, Body> for BodyWeight {
    fn weight(&self, _key: &u64, value: &Body) -> u64 {
        (value.html.len() + value.summary.len() + 64) as u64
    }
}

impl Bodies {
    /// A cache holding at most about `max_bytes` of rendered HTML.
    pub fn new(max_bytes: u64) -> Self {
        Self {
            cache: quick_cache::sync::Cache::with_weighter(8_192, max_bytes, BodyWeight),
            files: OnceLock::new(),
        }
    }

    /// Reads the bodies of posts loaded from files through `files` (the first call wins: a
    /// cache serves one content directory).
    pub fn read_from(&self, files: Arc<dyn PostFiles>) {
        let _ = self.files.set(files);
    }

    /// The post's body, rendered on first use; `None` when its file no longer holds the bytes
    /// the post was loaded from (changed or deleted, and not yet reloaded), or cannot be read.
    pub fn get(&self, post: &Post) -> Option<Body> {
        let rendered = self
            .cache
            .get_or_insert_with(&post.render_key, || {
                post.markup(self.files.get().map(|f| &**f)).ok_or(())
            })
            .ok()?;
        Some(post.with_description(rendered))
    }
}

impl Default for Bodies {
    fn default() -> Self {
        Self::new(BODY_CACHE_BYTES)
    }
}

impl std::fmt::Debug for Bodies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bodies")
            .field("entries", &self.cache.len())
            .field("bytes", &self.cache.weight())
            .finish()
    }
}

impl Post {
    /// Renders the body of a post loaded from bytes alone now, without any cache (documents
    /// go through [`Bodies`]); an empty body for a post whose body stayed in its file.
    pub fn render(&self) -> Body {
        let markup = self.markup(None).unwrap_or_else(|| Body {
            html: Arc::from(""),
            summary: Arc::from(""),
        });
        self.with_description(markup)
    }

    /// The Markdown rendered and sanitized, and the summary taken from it: what [`Bodies`]
    /// caches, since a `description` costs nothing to apply afterwards.
    fn markup(&self, files: Option<&dyn PostFiles>) -> Option<Body> {
        let text = self.text(files)?;
        let html = RENDERER.render(&text, &self.permalink);
        let summary = body::summarize(&html, self.summary_length);
        Some(Body {
            html: html.into(),
            summary: summary.into(),
        })
    }

    /// The body as written: from memory, or from the file if it still holds the bytes this
    /// post was loaded from.
    fn text(&self, files: Option<&dyn PostFiles>) -> Option<String> {
        match &self.body {
            Stored::Inline(lz4) => lz4_flex::decompress_size_prepended(lz4)
                .ok()
                .and_then(|b| String::from_utf8(b).ok()),
            Stored::File { offset, len } => {
                let bytes = files?.read(&self.source)?;
                let hashed = bytes.strip_prefix(BOM).unwrap_or(&bytes);
                if content_hash(hashed) != self.content_hash {
                    return None;
                }
                let start = *offset as usize;
                let body = bytes.get(start..start.checked_add(*len as usize)?)?;
                String::from_utf8(body.to_vec()).ok()
            }
        }
    }

    fn with_description(&self, rendered: Body) -> Body {
        match &self.description {
            Some(d) => Body {
                html: rendered.html,
                summary: Arc::clone(d),
            },
            None => rendered,
        }
    }

    /// A fingerprint of everything the rendered body depends on: equal keys, equal HTML.
    pub fn render_key(&self) -> u64 {
        self.render_key
    }

    /// The body as written in the file (after the front matter), for a post loaded from
    /// bytes alone; empty for one whose body stayed in its file.
    pub fn body_text(&self) -> String {
        self.text(None).unwrap_or_default()
    }

    /// The newest of the post's dates: what a feed's `updated` is computed from.
    pub fn last_change(&self) -> DateTime<FixedOffset> {
        match self.updated {
            Some(u) if u > self.date => u,
            _ => self.date,
        }
    }

    /// The order of every list of posts: newest first, then by id, then by file, so that
    /// equal dates never leave the order to thread timing.
    pub fn newest_first(a: &Post, b: &Post) -> std::cmp::Ordering {
        b.date
            .cmp(&a.date)
            .then_with(|| a.id.cmp(&b.id))
            .then_with(|| a.source.cmp(&b.source))
    }
}

/// Why a file's bytes are not an entry, in words a publisher understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    /// Zero bytes.
    #[error("the file is empty")]
    Empty,
    /// Over `posts.max_bytes`.
    #[error("the file is {size} bytes, over the limit of {limit} bytes (posts.max_bytes)")]
    TooLarge {
        /// The file's size.
        size: u64,
        /// The configured limit.
        limit: usize,
    },
    /// Not UTF-8 text.
    #[error("the file is not UTF-8 text (invalid byte at offset {0})")]
    InvalidUtf8(usize),
    /// `---` on the first line and never again.
    #[error("the front matter that opens with `---` on line 1 is never closed with `---`")]
    UnclosedFrontMatter,
    /// The YAML does not parse (or exceeds the parser's resource budget).
    #[error("the front matter is not valid YAML: {0}")]
    Yaml(String),
    /// The YAML is a list or a scalar.
    #[error("the front matter must be `key: value` lines, but it is {0}")]
    NotAMapping(&'static str),
    /// No date in the front matter and none in the file name.
    #[error(
        "no date: add `date: YYYY-MM-DD HH:MM:SS +ZZZZ` to the front matter or name the file YYYY-MM-DD-title.md"
    )]
    NoDate,
    /// A date that is not a date.
    #[error("`{field}`: {error}")]
    BadDate {
        /// Which field.
        field: &'static str,
        /// What is wrong with it.
        error: DateError,
    },
    /// A field of the wrong shape.
    #[error("`{field}`: {reason}")]
    BadField {
        /// Which field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// Why a post did not load, and where in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct PostError {
    /// The line (1-based) the problem is on, where known.
    pub line: Option<usize>,
    /// What is wrong.
    pub reason: Reason,
}

impl PostError {
    fn at(line: Option<usize>, reason: Reason) -> Self {
        Self { line, reason }
    }
}

/// What one file turned out to be.
#[derive(Debug)]
pub enum Loaded {
    /// An entry, already shared: made where it is loaded (a loader thread), so its
    /// allocation sits with its fields' instead of leaving a hole where a box was copied
    /// out — at 100,000 posts those holes were 50 MB that could never be handed back.
    Post(Arc<Post>),
    /// No front matter: not a post, as Jekyll would copy it unprocessed.
    NotAPost,
    /// `published: false`.
    Unpublished,
}

/// One file as the loader sees it. The loader never looks at the disk: whoever read the file
/// says what it is called, and whether it can read it again.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The file's path under the content directory, `/`-separated: the post's identity.
    pub path: &'a str,
    /// Its bytes.
    pub bytes: &'a [u8],
    /// Whether the file can be read again for its body (see [`PostFiles`]); if not, the post
    /// keeps its body in memory.
    pub on_disk: bool,
}

impl<'a> Source<'a> {
    /// Bytes that exist only here: the post keeps its body.
    pub fn new(path: &'a str, bytes: &'a [u8]) -> Self {
        Self {
            path,
            bytes,
            on_disk: false,
        }
    }

    /// The bytes of the file at `path`, which can be read again: the post keeps only where
    /// its body lies.
    pub fn on_disk(path: &'a str, bytes: &'a [u8]) -> Self {
        Self {
            path,
            bytes,
            on_disk: true,
        }
    }
}

/// Category and tag names seen so far, each kept once and shared by every post that names
/// it. Grows only with the names a site has ever used.
#[derive(Debug, Default)]
pub struct Names(std::sync::Mutex<HashSet<Arc<str>>>);

impl Names {
    /// `names`, each the shared copy.
    fn share(&self, names: Vec<String>) -> Box<[Arc<str>]> {
        if names.is_empty() {
            return Box::default();
        }
        // A poisoned lock only means another loader panicked mid-insert; the set is still
        // a set of names.
        let mut set = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        names
            .into_iter()
            .map(|name| match set.get(name.as_str()) {
                Some(shared) => Arc::clone(shared),
                None => {
                    let shared: Arc<str> = Arc::from(name);
                    set.insert(Arc::clone(&shared));
                    shared
                }
            })
            .collect()
    }
}

/// What identifies a file's bytes: 128 bits of XXH3. It tells a file that changed from one
/// that did not, and a body read again from the one a post was loaded from; it is never a
/// defence against someone who writes the content (they publish what they like anyway), so
/// a cryptographic hash would buy nothing for its cost — BLAKE3 was 4.4 µs of a 9 KB post's
/// ~30 µs start, XXH3 is 0.5 µs.
pub type ContentHash = [u8; 16];

/// The [`ContentHash`] of `bytes`.
pub fn content_hash(bytes: &[u8]) -> ContentHash {
    xxhash_rust::xxh3::xxh3_128(bytes).to_le_bytes()
}

/// UTF-8's byte order mark, which a file may start with and the content hash leaves out.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Where a post keeps `body`, a slice of `source`'s bytes.
fn stored(source: &Source<'_>, body: &str) -> Stored {
    let start = (body.as_ptr() as usize).wrapping_sub(source.bytes.as_ptr() as usize);
    let within = start <= source.bytes.len() && body.len() <= source.bytes.len() - start;
    match (u32::try_from(start), u32::try_from(body.len())) {
        (Ok(offset), Ok(len)) if source.on_disk && within => Stored::File { offset, len },
        _ => Stored::Inline(lz4_flex::compress_prepend_size(body.as_bytes()).into_boxed_slice()),
    }
}

/// Loads one post. Pure: the same source and config always give the same result.
///
/// The steps, each its own function below: open the front matter ([`open`]), then read the
/// dates, the names, the permalink, the identity, the people and the rest of the metadata,
/// and keep the body for rendering on first use.
pub fn load_post(source: &Source<'_>, config: &Config) -> Result<Loaded, PostError> {
    load_post_with(source, config, &Names::default())
}

/// [`load_post`], with category and tag names shared through `names`: a site has a few
/// hundred names and a million posts, so each post holds pointers, not copies.
pub fn load_post_with(
    source: &Source<'_>,
    config: &Config,
    names: &Names,
) -> Result<Loaded, PostError> {
    let path = source.path;
    let (fm, body_text) = match open(source.bytes, config.posts.max_bytes)? {
        Opened::Post { front_matter, body } => (front_matter, body),
        Opened::NotAPost => return Ok(Loaded::NotAPost),
        Opened::Unpublished => return Ok(Loaded::Unpublished),
    };
    let name = FileName::of(path);
    let (date, updated) = dates_of(&fm, name.date, config.site.timezone)?;
    let slug_owned = fm.text("slug");
    let slug = slug_owned.as_deref().unwrap_or(name.slug);
    let title = fm
        .text("title")
        .unwrap_or_else(|| clean_field(&titleize_slug(name.slug)));
    let categories = names_of(&fm, "categories", "category")?;
    let tags = names_of(&fm, "tags", "tag")?;
    let local_date = date.with_timezone(&config.site.timezone).fixed_offset();
    let permalink = permalink_of(&fm, config, local_date, slug, &categories);
    let id = identity(&fm, config, path, &permalink, slug);
    let author = author_of(&fm, config, &permalink)?.map(Arc::new);
    // The lead image: the front matter's, else the body's first.
    let image = image_of(&fm, &permalink)
        .or_else(|| body::first_image(body_text).and_then(|raw| absolute_http(&permalink, raw)));
    let lang = fm.text("lang").or_else(|| fm.text("language"));
    let description = fm
        .text("description")
        .or_else(|| fm.text("excerpt"))
        .map(|d| Arc::from(text::collapse_whitespace(&d)));
    let content_hash = content_hash(fm.bytes);
    Ok(Loaded::Post(Arc::new(Post {
        source: path.to_owned(),
        content_hash,
        id,
        title,
        date,
        updated,
        categories: names.share(categories),
        tags: names.share(tags),
        render_key: render_key(&content_hash, &permalink, config.posts.summary_length),
        permalink,
        author,
        image,
        lang,
        description,
        body: stored(source, body_text),
        summary_length: config.posts.summary_length,
    })))
}

/// What the first step found in a file's bytes.
enum Opened<'a> {
    /// A post: its front matter and its body.
    Post {
        front_matter: FrontMatter<'a>,
        body: &'a str,
    },
    /// No front matter: not a post.
    NotAPost,
    /// `published: false`.
    Unpublished,
}

/// The front matter of a post, with what is needed to say on which line a field is written.
struct FrontMatter<'a> {
    /// The parsed mapping (an empty one for an empty front matter).
    entries: Yaml,
    /// The YAML text, for finding a field's line.
    yaml: &'a str,
    /// The file's line on which the YAML starts.
    first_line: usize,
    /// The file's bytes after any BOM: what the content hash covers.
    bytes: &'a [u8],
}

impl FrontMatter<'_> {
    fn get(&self, key: &str) -> Option<&Yaml> {
        self.entries.get(key)
    }

    fn text(&self, key: &str) -> Option<String> {
        text_field(&self.entries, key)
    }

    /// An error about `field`, on the line where it is written.
    fn error(&self, field: &'static str, reason: Reason) -> PostError {
        let line = key_line(self.yaml, field).map(|l| l + self.first_line - 1);
        PostError::at(line, reason)
    }
}

/// Checks the bytes, splits off the front matter and parses it: everything that decides
/// whether a file is a post at all.
fn open(bytes: &[u8], max_bytes: usize) -> Result<Opened<'_>, PostError> {
    if bytes.is_empty() {
        return Err(PostError::at(None, Reason::Empty));
    }
    if bytes.len() > max_bytes {
        return Err(PostError::at(
            None,
            Reason::TooLarge {
                size: bytes.len() as u64,
                limit: max_bytes,
            },
        ));
    }
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    // A file that does not start with `---` is not a post whatever its encoding, so that
    // check comes before UTF-8 validation: a binary file with a post extension is skipped.
    if !bytes.starts_with(b"---") {
        return Ok(Opened::NotAPost);
    }
    // simdutf8 validates the common (valid) case several times faster than the standard
    // library; only on failure is the standard library asked where the bad byte is.
    let text = match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => {
            let valid = std::str::from_utf8(bytes)
                .err()
                .map_or(0, |e| e.valid_up_to());
            let line = bytes[..valid].iter().filter(|&&b| b == b'\n').count() + 1;
            return Err(PostError::at(Some(line), Reason::InvalidUtf8(valid)));
        }
    };
    let (yaml, body, first_line) = match front_matter::split(text) {
        Split::NoFrontMatter => return Ok(Opened::NotAPost),
        Split::Unclosed => return Err(PostError::at(Some(1), Reason::UnclosedFrontMatter)),
        Split::Parts {
            yaml,
            body,
            yaml_line,
        } => (yaml, body, yaml_line),
    };
    let parsed = front_matter::parse_yaml(yaml)
        .map_err(|e| PostError::at(e.line.map(|l| l + first_line - 1), Reason::Yaml(e.message)))?;
    let entries = match parsed {
        Yaml::Map(_) => parsed,
        Yaml::Null => Yaml::Map(Vec::new()),
        Yaml::Seq(_) => {
            return Err(PostError::at(
                Some(first_line),
                Reason::NotAMapping("a list"),
            ));
        }
        _ => {
            return Err(PostError::at(
                Some(first_line),
                Reason::NotAMapping("a single value"),
            ));
        }
    };
    let published = entries.get("published");
    if matches!(published, Some(Yaml::Bool(false)))
        || published
            .and_then(Yaml::as_text)
            .is_some_and(|t| t.trim() == "false")
    {
        return Ok(Opened::Unpublished);
    }
    Ok(Opened::Post {
        front_matter: FrontMatter {
            entries,
            yaml,
            first_line,
            bytes,
        },
        body,
    })
}

/// The publication date (the front matter's, else the file name's) and the last change.
fn dates_of(
    fm: &FrontMatter<'_>,
    name_date: Option<chrono::NaiveDate>,
    tz: chrono_tz::Tz,
) -> Result<(DateTime<FixedOffset>, Option<DateTime<FixedOffset>>), PostError> {
    let date = match fm.get("date") {
        Some(value) if !matches!(value, Yaml::Null) => {
            let raw = value.as_text().ok_or_else(|| {
                fm.error(
                    "date",
                    Reason::BadField {
                        field: "date",
                        reason: "must be a single value such as `2022-05-26 07:32:30 +0800`".into(),
                    },
                )
            })?;
            dates::parse_date(&raw, tz).map_err(|error| {
                fm.error(
                    "date",
                    Reason::BadDate {
                        field: "date",
                        error,
                    },
                )
            })?
        }
        _ => match name_date {
            Some(d) => dates::in_range(
                dates::in_zone(d.and_time(chrono::NaiveTime::MIN), tz),
                &d.to_string(),
            )
            .map_err(|error| {
                PostError::at(
                    None,
                    Reason::BadDate {
                        field: "file name",
                        error,
                    },
                )
            })?,
            None => return Err(PostError::at(None, Reason::NoDate)),
        },
    };
    // Jekyll's `last_modified_at` (jekyll-last-modified-at) wins over a plain `updated`.
    for field in ["last_modified_at", "updated"] {
        if let Some(raw) = fm.get(field).and_then(Yaml::as_text) {
            let updated = dates::parse_date(&raw, tz)
                .map_err(|error| fm.error(field, Reason::BadDate { field, error }))?;
            return Ok((date, Some(updated)));
        }
    }
    Ok((date, None))
}

/// The post's absolute URL: its own `permalink` (an absolute URL, or a pattern), else the
/// site's pattern, resolved against the site URL.
fn permalink_of(
    fm: &FrontMatter<'_>,
    config: &Config,
    local_date: DateTime<FixedOffset>,
    slug: &str,
    categories: &[String],
) -> Url {
    let expand = |pattern: &str| {
        permalink::expand(&permalink::PermalinkInput {
            pattern,
            local_date,
            slug,
            categories,
        })
    };
    let path = match fm.text("permalink") {
        Some(p) if p.starts_with("http://") || p.starts_with("https://") => p,
        Some(p) => expand(&p),
        None => expand(&config.posts.permalink),
    };
    match Url::parse(&path) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u,
        _ => permalink::to_url(&config.site.url, &path),
    }
}

/// The entry's permanent id: its own `id`/`guid`, else one minted by the configured scheme.
fn identity(
    fm: &FrontMatter<'_>,
    config: &Config,
    path: &str,
    permalink: &Url,
    slug: &str,
) -> String {
    match fm.text("id").or_else(|| fm.text("guid")) {
        Some(id) => id,
        None => match config.posts.id_scheme {
            IdScheme::Tag => tag_id(&config.posts.id_authority, path),
            IdScheme::JekyllFeed => jekyll_feed_id(permalink, slug),
        },
    }
}

/// The post's author, else the site's.
fn author_of(
    fm: &FrontMatter<'_>,
    config: &Config,
    permalink: &Url,
) -> Result<Option<Author>, PostError> {
    let own = match fm.get("author") {
        Some(v) => read_author(v, permalink).map_err(|reason| fm.error("author", reason))?,
        None => None,
    };
    Ok(own.or_else(|| {
        config.site.author.as_ref().map(|a| Author {
            name: clean_field(&a.name),
            email: a.email.as_deref().map(clean_field),
            uri: a.uri.as_deref().map(clean_field),
        })
    }))
}

/// `image: url`, or jekyll-seo-tag's `image: { path: url }`, made absolute.
fn image_of(fm: &FrontMatter<'_>, permalink: &Url) -> Option<Url> {
    let raw = match fm.get("image") {
        Some(map @ Yaml::Map(_)) => map
            .get("path")
            .or_else(|| map.get("url"))
            .and_then(Yaml::as_text),
        Some(v) => v.as_text(),
        None => None,
    }?;
    absolute_http(permalink, raw.trim())
}

/// Everything the rendered body depends on: the bytes, the permalink (the base of relative
/// links, which also carries the site URL and the path) and the summary length.
fn render_key(content_hash: &ContentHash, permalink: &Url, summary_length: usize) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(content_hash);
    h.update(permalink.as_str().as_bytes());
    h.update(&(summary_length as u64).to_le_bytes());
    h.digest()
}

/// The file name's share of a post: a date and a slug (`2022-05-26-hello.md`).
struct FileName<'a> {
    date: Option<chrono::NaiveDate>,
    slug: &'a str,
}

impl<'a> FileName<'a> {
    fn of(path: &'a str) -> Self {
        let file_name = path.rsplit('/').next().unwrap_or(path);
        let stem = file_name
            .rsplit_once('.')
            .map_or(file_name, |(stem, _)| stem);
        match dates::split_dated_name(stem) {
            Some((date, slug)) => Self {
                date: Some(date),
                slug,
            },
            None => Self {
                date: None,
                slug: stem,
            },
        }
    }
}
/// A scalar field as cleaned text, `None` when absent, empty or not a scalar.
fn text_field(map: &Yaml, key: &str) -> Option<String> {
    map.get(key)
        .and_then(Yaml::as_text)
        .map(|s| clean_field(&s))
        .filter(|s| !s.is_empty())
}

/// The most categories (and, separately, tags) one post may have. Each is a feed of its own;
/// a post with more is almost certainly a mistake (a list pasted into the wrong field), and
/// refusing it keeps one file from creating thousands of feeds.
pub const MAX_NAMES: usize = 1_000;

/// Jekyll's rules for categories and tags: the plural key takes a list, or a string split on
/// white space (`categories: news local` is two categories); the singular key is one name,
/// never split (`category: New York` is one). Any scalar is read as text (`tags: 2024`).
/// Duplicates are dropped, keeping the first; more than [`MAX_NAMES`] is an error.
fn names_of(
    fm: &FrontMatter<'_>,
    plural: &'static str,
    singular: &str,
) -> Result<Vec<String>, PostError> {
    let mut out: Vec<String> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut push = |name: String| {
        let name = clean_field(&name);
        if !name.is_empty() && seen.insert(name.clone()) {
            out.push(name);
        }
        out.len() <= MAX_NAMES
    };
    let mut within = true;
    match fm.get(plural) {
        Some(Yaml::Seq(items)) => {
            for t in items.iter().filter_map(Yaml::as_text) {
                within = push(t);
                if !within {
                    break;
                }
            }
        }
        Some(other) => {
            if let Some(t) = other.as_text() {
                for word in t.split_whitespace() {
                    within = push(word.to_owned());
                    if !within {
                        break;
                    }
                }
            }
        }
        None => {}
    }
    if within && let Some(t) = fm.get(singular).and_then(Yaml::as_text) {
        within = push(t);
    }
    if !within {
        return Err(fm.error(
            plural,
            Reason::BadField {
                field: plural,
                reason: format!("more than {MAX_NAMES} names; each one is a feed of its own"),
            },
        ));
    }
    Ok(out)
}

/// Jekyll's title from a slug: words split on `-`, each capitalised.
fn titleize_slug(slug: &str) -> String {
    slug.split('-')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The characters a `tag:` URI's specific part may hold unescaped (RFC 4151: pchar, `/`, `?`),
/// less `?`, which is kept escaped so the id never looks like it has a query.
const TAG_SPECIFIC: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// `tag:example.org,2024:path/to/post.md` — independent of host, scheme, permalink pattern,
/// title, categories and body; it changes only if the file is renamed or moved.
fn tag_id(authority: &str, path: &str) -> String {
    format!(
        "tag:{authority}:{}",
        utf8_percent_encode(path, TAG_SPECIFIC)
    )
}

/// jekyll-feed's id: the post's URL directory joined with its slug, made absolute.
fn jekyll_feed_id(permalink: &Url, slug: &str) -> String {
    let mut url = permalink.clone();
    let dir = match permalink.path().rfind('/') {
        Some(i) => &permalink.path()[..i],
        None => "",
    };
    let path = format!("{dir}/{}", permalink::encode_path(slug));
    url.set_path(&path);
    url.to_string()
}

fn read_author(v: &Yaml, base: &Url) -> Result<Option<Author>, Reason> {
    let bad = |reason: &str| Reason::BadField {
        field: "author",
        reason: reason.to_owned(),
    };
    match v {
        Yaml::Null => Ok(None),
        Yaml::Map(_) => {
            let name = text_field(v, "name")
                .ok_or_else(|| bad("a mapping needs a `name` (and may have `email`, `uri`)"))?;
            Ok(Some(Author {
                name,
                email: text_field(v, "email"),
                uri: text_field(v, "uri")
                    .or_else(|| text_field(v, "url"))
                    .and_then(|u| absolute_http(base, &u))
                    .map(String::from),
            }))
        }
        Yaml::Seq(items) => match items.first() {
            Some(first) => read_author(first, base),
            None => Ok(None),
        },
        scalar => Ok(scalar
            .as_text()
            .map(|s| clean_field(&s))
            .filter(|s| !s.is_empty())
            .map(|name| Author {
                name,
                email: None,
                uri: None,
            })),
    }
}

/// Resolves `raw` against `base`, keeping it only if it is http(s).
fn absolute_http(base: &Url, raw: &str) -> Option<Url> {
    base.join(raw)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

/// The line (1-based, within the YAML) on which a top-level key is written.
fn key_line(yaml: &str, key: &str) -> Option<usize> {
    yaml.lines()
        .position(|line| {
            line.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    //! Each step of [`load_post`] on its own; `tests/it/loader.rs` drives the whole loader.

    use super::*;

    /// The front matter of `yaml` as `open` hands it to the later steps.
    fn front_matter(yaml: &str) -> FrontMatter<'static> {
        let text: &'static str = Box::leak(format!("---\n{yaml}---\nbody\n").into_boxed_str());
        match open(text.as_bytes(), usize::MAX) {
            Ok(Opened::Post { front_matter, .. }) => front_matter,
            Ok(_) => panic!("not a post: {yaml}"),
            Err(e) => panic!("{yaml}: {e}"),
        }
    }

    #[test]
    fn open_decides_what_is_a_post() {
        let kind = |bytes: &[u8]| match open(bytes, 64) {
            Ok(Opened::Post { body, .. }) => format!("post {body:?}"),
            Ok(Opened::NotAPost) => "not a post".to_owned(),
            Ok(Opened::Unpublished) => "unpublished".to_owned(),
            Err(e) => e.to_string(),
        };
        assert_eq!(kind(b"---\ntitle: a\n---\nhi\n"), "post \"hi\\n\"");
        assert_eq!(kind(b"\xEF\xBB\xBF---\n---\nx"), "post \"x\"");
        assert_eq!(kind(b"plain text"), "not a post");
        assert_eq!(kind(b"---\npublished: false\n---\n"), "unpublished");
        assert_eq!(kind(b""), "the file is empty");
        assert_eq!(
            kind(b"---\n- a\n---\n"),
            "line 2: the front matter must be `key: value` lines, but it is a list"
        );
        assert!(kind(&[b'-'; 65]).contains("over the limit of 64 bytes"));
        assert!(kind(b"---\ntitle: \xff\n---\n").starts_with("line 2: the file is not UTF-8"));
    }

    #[test]
    fn dates_come_from_the_front_matter_else_the_file_name() {
        let tz = chrono_tz::Asia::Shanghai;
        let name = chrono::NaiveDate::from_ymd_opt(2022, 5, 26);
        let (date, updated) =
            dates_of(&front_matter("date: 2022-05-27 10:00:00 +0000\n"), name, tz).unwrap();
        assert_eq!(date.to_rfc3339(), "2022-05-27T10:00:00+00:00");
        assert_eq!(updated, None);
        let (date, _) = dates_of(&front_matter("title: x\n"), name, tz).unwrap();
        assert_eq!(date.to_rfc3339(), "2022-05-26T00:00:00+08:00");
        let fm =
            front_matter("date: 2022-05-26\nupdated: 2022-06-01\nlast_modified_at: 2022-07-01\n");
        let (_, updated) = dates_of(&fm, None, tz).unwrap();
        assert_eq!(
            updated.map(|u| u.to_rfc3339()).as_deref(),
            Some("2022-07-01T00:00:00+08:00")
        );
        let e = dates_of(&front_matter("title: x\nupdated: someday\n"), name, tz).unwrap_err();
        assert_eq!(e.line, Some(3), "the line of `updated` in the file");
        assert_eq!(
            dates_of(&front_matter("title: x\n"), None, tz)
                .unwrap_err()
                .reason,
            Reason::NoDate
        );
    }

    #[test]
    fn permalink_and_identity() {
        let config = Config::defaults();
        let date = DateTime::parse_from_rfc3339("2022-05-26T07:32:30+08:00").unwrap();
        let cats = vec!["news".to_owned()];
        let url = |yaml: &str| {
            permalink_of(&front_matter(yaml), &config, date, "hello", &cats).to_string()
        };
        assert_eq!(
            url("title: x\n"),
            "http://127.0.0.1:8080/news/2022/05/26/hello.html"
        );
        assert_eq!(
            url("permalink: /a/:title/\n"),
            "http://127.0.0.1:8080/a/hello/"
        );
        assert_eq!(
            url("permalink: https://elsewhere.test/p\n"),
            "https://elsewhere.test/p"
        );

        let link = Url::parse("https://site.test/news/2022/05/26/hello.html").unwrap();
        let id = |yaml: &str| {
            identity(
                &front_matter(yaml),
                &config,
                "_posts/a b.md",
                &link,
                "hello",
            )
        };
        assert_eq!(id("title: x\n"), "tag:tidings.invalid,2026:_posts/a%20b.md");
        assert_eq!(id("guid: urn:x\n"), "urn:x");
        let mut jekyll = Config::defaults();
        jekyll.posts.id_scheme = IdScheme::JekyllFeed;
        assert_eq!(
            identity(&front_matter("title: x\n"), &jekyll, "a.md", &link, "hello"),
            "https://site.test/news/2022/05/26/hello"
        );
    }

    #[test]
    fn author_and_image() {
        let mut config = Config::defaults();
        let link = Url::parse("https://site.test/2022/p.html").unwrap();
        let author = |yaml: &str, config: &Config| {
            author_of(&front_matter(yaml), config, &link).map(|a| a.map(|a| (a.name, a.uri)))
        };
        assert_eq!(author("title: x\n", &config), Ok(None));
        assert_eq!(
            author("author: {name: Ann, url: /ann}\n", &config),
            Ok(Some((
                "Ann".to_owned(),
                Some("https://site.test/ann".to_owned())
            )))
        );
        assert_eq!(
            author("author: {email: a@b}\n", &config).unwrap_err().line,
            Some(2)
        );
        config.site.author = Some(crate::config::AuthorConfig {
            name: "Desk".into(),
            email: None,
            uri: None,
        });
        assert_eq!(
            author("title: x\n", &config),
            Ok(Some(("Desk".to_owned(), None)))
        );

        let image = |yaml: &str| image_of(&front_matter(yaml), &link).map(String::from);
        assert_eq!(
            image("image: /i.png\n").as_deref(),
            Some("https://site.test/i.png")
        );
        assert_eq!(
            image("image: {path: i.png}\n").as_deref(),
            Some("https://site.test/2022/i.png")
        );
        assert_eq!(image("image: javascript:alert(1)\n"), None);
    }
}
