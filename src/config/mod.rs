//! The one configuration value every stage reads, and the layers it is built from.
//!
//! Settings come from four layers, later ones winning: built-in defaults, the TOML file
//! (`config/tidings.toml` by default), `TIDINGS_*` environment variables, and command-line
//! flags. Every layer is the same typed partial value, [`Settings`] (`None` where the layer
//! says nothing); [`Layers`] merges them field by field and remembers which layer gave each
//! value, and [`Layers::resolve`] validates the result once into a [`Config`] (a parsed
//! [`Url`], a parsed [`Tz`]...), so later stages never re-parse or re-check a setting.
//!
//! The settings are declared once, in the `settings!` table below: it generates the file's
//! shape, the environment mapping and the key names used in error messages together, so a
//! setting cannot exist in one layer and be missing from another by accident.

pub mod jekyll;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use url::Url;

/// Why a configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named with `--config` (or found by default) could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped keys.
    #[error("invalid {layer}: {message}")]
    Parse {
        /// The file (or text) that failed to parse.
        layer: Layer,
        /// The parser's explanation, with line and column.
        message: String,
    },
    /// A value is unusable: of the wrong type (in the environment; the file's types are checked
    /// when it is parsed), or well-typed but refused (a relative URL, an unknown time zone...).
    #[error(
        "invalid setting `{}` = {value} (from {}): {reason}",
        .setting.key,
        Origin(.layer, .setting)
    )]
    Invalid {
        /// Which setting.
        setting: &'static Setting,
        /// The offending value, as written (strings quoted).
        value: String,
        /// The layer it came from.
        layer: Layer,
        /// Why it was refused.
        reason: String,
    },
    /// A required setting has no value in any layer. Only possible if the built-in defaults
    /// lacked one, which a test rules out.
    #[error("no value for setting `{}`", .setting.key)]
    Unset {
        /// Which setting.
        setting: &'static Setting,
    },
}

/// One layer of settings: where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layer {
    /// The built-in defaults.
    Default,
    /// The site's own `_config.yml`, in the content directory.
    Site(PathBuf),
    /// A TOML config file.
    File(PathBuf),
    /// TOML text handed over directly (tests, embedders), not read from a file.
    Text,
    /// `TIDINGS_*` environment variables.
    Env,
    /// Command-line flags.
    Flags,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layer::Default => f.write_str("built-in default"),
            Layer::Site(path) => write!(f, "site config {}", path.display()),
            Layer::File(path) => write!(f, "config file {}", path.display()),
            Layer::Text => f.write_str("config text"),
            Layer::Env => f.write_str("environment"),
            Layer::Flags => f.write_str("command line"),
        }
    }
}

/// A layer as precisely as an error message can name it: the variable or flag, not just
/// "the environment".
struct Origin<'a>(&'a Layer, &'static Setting);

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, self.1.env, self.1.flag) {
            (Layer::Env, Some(var), _) => write!(f, "environment variable {var}"),
            (Layer::Flags, _, Some(flag)) => write!(f, "flag {flag}"),
            (layer, _, _) => layer.fmt(f),
        }
    }
}

/// One setting's names: its key in the file, and its environment variable and flag if any.
#[derive(Debug, PartialEq, Eq)]
pub struct Setting {
    /// The dotted key, as written in the file (`feeds.limit`).
    pub key: &'static str,
    /// The `TIDINGS_*` variable; `None` for a setting only the file can hold.
    pub env: Option<&'static str>,
    /// The command-line flag (`--bind`), for the few settings that have one.
    pub flag: Option<&'static str>,
}

/// A typed handle on one setting: its names and where it sits in a [`Settings`].
struct Field<T: 'static> {
    setting: Setting,
    get: fn(&Settings) -> Option<&T>,
}

/// The complete, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Site metadata and URLs.
    pub site: SiteConfig,
    /// How posts are read and turned into entries.
    pub posts: PostsConfig,
    /// How feed documents are shaped.
    pub feeds: FeedsConfig,
    /// How the HTTP service runs.
    pub server: ServerConfig,
    /// WebSub: the hubs feeds name and notify.
    pub websub: WebsubConfig,
    /// Caches told to drop what a rebuild changed.
    pub purge: PurgeConfig,
    /// The content directory (`--content`).
    pub content_dir: PathBuf,
}

/// Who publishes the site and where it lives.
#[derive(Debug, Clone)]
pub struct SiteConfig {
    /// Human title of the site; the title of the site-wide feed.
    pub title: String,
    /// One-line description (RSS `description`, Atom `subtitle`).
    pub description: String,
    /// Where the posts' HTML pages live: permalinks and relative links in bodies resolve here.
    pub url: Url,
    /// Where tidings itself is reached: self links, OPML, archives.
    pub base_url: Url,
    /// Default language of entries (BCP 47), when a post has no `lang`.
    pub language: Option<String>,
    /// Time zone given to dates written without an offset.
    pub timezone: Tz,
    /// Author used when a post names none.
    pub author: Option<AuthorConfig>,
    /// Whether `base_url` was left unset and so follows the listen address (the service then
    /// takes the address it really listens on, port 0 included).
    pub base_url_follows_bind: bool,
}

/// A person, as written in the config file.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AuthorConfig {
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: Option<String>,
    /// Home page.
    pub uri: Option<String>,
}

/// Which identifier scheme entries get when a post has no `id`/`guid` of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdScheme {
    /// `tag:` URIs (RFC 4151) from the configured authority and the file's path: they survive
    /// changes of host, scheme, permalink pattern, title, categories and body.
    Tag,
    /// The ids jekyll-feed writes (the absolute post id URL), so a site moving from jekyll-feed
    /// keeps its subscribers' read state.
    JekyllFeed,
}

/// How posts are read.
#[derive(Debug, Clone)]
pub struct PostsConfig {
    /// Permalink pattern with Jekyll placeholders, or one of Jekyll's style names.
    pub permalink: String,
    /// Length of generated summaries, in grapheme clusters.
    pub summary_length: usize,
    /// Files bigger than this are refused (bytes).
    pub max_bytes: usize,
    /// Publish posts dated in the future right away instead of at their time.
    pub future: bool,
    /// Identifier scheme.
    pub id_scheme: IdScheme,
    /// RFC 4151 authority and date for `tag:` ids, e.g. `example.org,2024`.
    pub id_authority: String,
}

/// How documents are shaped.
#[derive(Debug, Clone)]
pub struct FeedsConfig {
    /// Entries per subscription document and per archive page.
    pub limit: usize,
    /// Seconds a client may cache a document (`Cache-Control: max-age`, RSS `ttl` in minutes).
    pub max_age: u32,
    /// Seconds shared caches (CDNs, Varnish) may keep a document (`s-maxage`); 0 leaves it to
    /// `max_age`.
    pub s_maxage: u32,
    /// Seconds a cache may serve a document past its age while it revalidates (RFC 5861).
    pub stale_while_revalidate: u32,
    /// Seconds a cache may serve a document past its age when tidings cannot answer (RFC 5861).
    pub stale_if_error: u32,
    /// Seconds clients and caches may keep a full archive page (one the next page follows):
    /// its entries never change again.
    pub archive_max_age: u32,
    /// Whether entries carry their full content or only their summary.
    pub content: ContentMode,
    /// Categories whose feeds choose otherwise than `content`.
    pub content_by_category: BTreeMap<String, ContentMode>,
    /// An entry whose content is larger than this (bytes of HTML) carries its summary and a
    /// link to the post instead.
    pub max_entry_bytes: usize,
    /// A document stays under this many bytes: the oldest entries give up their content for
    /// their summary until it fits (no entry is ever dropped).
    pub max_document_bytes: usize,
}

impl FeedsConfig {
    /// The `Cache-Control` value of a document: subscription documents (and pages, the index,
    /// OPML) for `max_age` (and `s-maxage` for shared caches, when set), then stale while they
    /// revalidate or while the origin fails (RFC 5861); a full archive page, which never
    /// changes again, for `archive_max_age`. Here rather than in the HTTP layer because the
    /// static export's web-server snippet must state exactly what `tidings serve` sends.
    pub fn cache_control(&self, full_archive: bool) -> String {
        let mut value = if full_archive {
            format!("public, max-age={}", self.archive_max_age)
        } else {
            format!("public, max-age={}", self.max_age)
        };
        if !full_archive && self.s_maxage > 0 {
            value.push_str(&format!(", s-maxage={}", self.s_maxage));
        }
        if self.stale_while_revalidate > 0 {
            value.push_str(&format!(
                ", stale-while-revalidate={}",
                self.stale_while_revalidate
            ));
        }
        if self.stale_if_error > 0 {
            value.push_str(&format!(", stale-if-error={}", self.stale_if_error));
        }
        value
    }
}

impl FeedsConfig {
    /// What the feeds of `category` carry (`None`: the site's and tags' feeds).
    pub fn content_of(&self, category: Option<&str>) -> ContentMode {
        category
            .and_then(|c| self.content_by_category.get(c))
            .copied()
            .unwrap_or(self.content)
    }
}

/// What an entry carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContentMode {
    /// The post's full content, and its summary.
    Full,
    /// The summary only, for publishers who want readers to visit the site: RSS carries
    /// `description` only, Atom `summary` only.
    Summary,
}

/// How content changes are noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WatchMode {
    /// The operating system's change notifications (inotify and friends).
    Native,
    /// Periodic scans, for file systems that send no events (NFS, some container mounts).
    Poll,
    /// Never watch: load once.
    Off,
}

/// Whether tidings is a WebSub hub itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum HubMode {
    /// No hub of its own: only the configured `hubs`.
    #[default]
    None,
    /// The built-in hub at `/hub`, advertised before the configured ones.
    Builtin,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// Lines for people (coloured only on a terminal).
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Push through WebSub (W3C Recommendation, 2018).
#[derive(Debug, Clone, Default)]
pub struct WebsubConfig {
    /// External hubs every feed advertises (`rel="hub"`) and that are told when a feed
    /// changes. Empty (and no built-in hub): nothing is advertised or sent.
    pub hubs: Vec<Url>,
    /// Whether the built-in hub runs.
    pub hub: HubMode,
    /// Where the built-in hub keeps its subscriptions (SQLite).
    pub hub_database: PathBuf,
    /// Leases the built-in hub grants: a request's `hub.lease_seconds` is clamped into
    /// `lease_min_seconds..=lease_max_seconds`, and one without gets `lease_default_seconds`.
    pub lease_min_seconds: u64,
    /// See `lease_min_seconds`.
    pub lease_default_seconds: u64,
    /// See `lease_min_seconds`.
    pub lease_max_seconds: u64,
    /// How long the built-in hub retries a delivery a subscriber keeps failing before it is
    /// dropped.
    pub delivery_window_seconds: u64,
    /// Changed feeds named in one notification, as repeated `hub.url`. At 1, each names its
    /// feed as `hub.topic` too, for hubs that read only that (flask-websub, for one).
    pub topics_per_request: usize,
}

/// Caches in front of tidings, told after each rebuild which URLs changed.
#[derive(Debug, Clone, Default)]
pub struct PurgeConfig {
    /// Where purges go. Empty: nothing is computed or sent.
    pub endpoints: Vec<PurgeEndpoint>,
}

/// One place purges go, as written `METHOD URL [-H Name: value]...` (`purge.endpoints`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeEndpoint {
    /// Where and how.
    pub mode: PurgeMode,
    /// Headers every request to it carries (an API key...), as written after `-H`.
    pub headers: Vec<(String, String)>,
}

/// How an endpoint is told of changed URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PurgeMode {
    /// `PURGE http://cache:6081`: one `PURGE` per changed URL sent to the cache, with the
    /// URL's path as the request target and the site's host as `Host` (Varnish, Squid...).
    Purge(Url),
    /// `BAN http://cache:6081`: one `BAN /` per batch of changed URLs, naming them in
    /// `X-Ban-Url` as an anchored regular expression over paths (query strings included).
    Ban(Url),
    /// `METHOD https://api.example/purge?url={url}`: one request per changed URL to the
    /// template, `{url}` (the absolute URL) and `{path}` filled in (a CDN's purge API).
    Template {
        /// The request method, as written.
        method: String,
        /// The URL with its placeholders.
        template: String,
    },
}

/// The text of `purge.endpoints`: a list in the file; in the environment, endpoints separated
/// by commas or line breaks (each is `METHOD URL`, with a space inside, so white space cannot
/// separate them as it does other lists).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EndpointList(pub Vec<String>);

impl fmt::Debug for EndpointList {
    /// As the list is written, so an error quotes what the operator wrote — but for header
    /// values, which may be secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|raw| redact(raw)))
            .finish()
    }
}

/// What separates an endpoint's headers from its URL and from one another, as in curl.
const HEADER_FLAG: &str = " -H ";

/// An endpoint as written, with every header's value hidden.
fn redact(raw: &str) -> String {
    let mut parts = raw.split(HEADER_FLAG);
    let mut out = parts.next().unwrap_or_default().to_owned();
    for header in parts {
        out.push_str(HEADER_FLAG);
        // Without a colon, where the name ends is a guess: its first word.
        let name = header.split_once(':').map_or_else(
            || header.split_whitespace().next().unwrap_or_default(),
            |(name, _)| name,
        );
        out.push_str(name);
        out.push_str(": …");
    }
    out
}

impl<'de> Deserialize<'de> for EndpointList {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct List;
        impl<'de> Visitor<'de> for List {
            type Value = EndpointList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of endpoints such as \"PURGE http://127.0.0.1:6081\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<EndpointList, E> {
                Ok(EndpointList(
                    text.split([',', '\n'])
                        .map(str::trim)
                        .filter(|item| !item.is_empty())
                        .map(str::to_owned)
                        .collect(),
                ))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<EndpointList, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                Ok(EndpointList(items))
            }
        }
        deserializer.deserialize_any(List)
    }
}

/// How the service runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on.
    pub bind: String,
    /// Change detection.
    pub watch: WatchMode,
    /// Poll interval for [`WatchMode::Poll`], milliseconds.
    pub poll_interval_ms: u64,
    /// How long events must stop before an incomplete batch of them (a save in progress, a
    /// deletion, a folder change, a burst) is applied, milliseconds; whole files are applied
    /// at once.
    pub debounce_ms: u64,
    /// Open connections served at once; a few more are answered 503 and closed, and beyond
    /// those, connections wait in the listen backlog.
    pub max_connections: usize,
    /// Milliseconds a client has to send a request's head before it is disconnected.
    pub request_timeout_ms: u64,
    /// Milliseconds an idle keep-alive connection is kept open.
    pub keep_alive_ms: u64,
    /// Requests that may wait for a document to be rendered or compressed; more get a 503.
    pub max_waiting_renders: usize,
    /// Milliseconds a client may leave the bytes sent to it unread before it is disconnected.
    pub send_timeout_ms: u64,
    /// How log lines are written.
    pub log_format: LogFormat,
}

/// Declares every setting once. From one table it generates the partial [`Settings`] type
/// (the file's exact shape, every field an `Option`), its field-wise merge, the environment
/// layer, and a typed [`Field`] per setting in `mod key` (`key::feeds::limit`) that
/// validation uses to read a value and name it in errors.
///
/// Each setting says where besides the file it may come from: `[env "VAR"]`,
/// `[env "VAR", flag "--flag"]`, or `[file only]`.
macro_rules! settings {
    (@env env $var:literal $(, flag $flag:literal)?) => { Some($var) };
    (@env file only) => { None };
    (@flag env $var:literal) => { None };
    (@flag env $var:literal, flag $flag:literal) => { Some($flag) };
    (@flag file only) => { None };
    (
        root {
            $( $(#[$tdoc:meta])* $top:ident: $tty:ty => [$($thow:tt)+], )*
        }
        $(
            $(#[$sdoc:meta])*
            [$section:ident] $Section:ident {
                $( $(#[$fdoc:meta])* $field:ident: $ty:ty => [$($how:tt)+], )*
            }
        )*
    ) => {
        /// Every setting, `None` where a layer does not set it: one layer of configuration.
        ///
        /// The defaults, the config file, the environment and the flags are each one of these;
        /// [`Layers`] merges them and validates the result into a [`Config`].
        #[derive(Debug, Clone, Default, PartialEq, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Settings {
            $( $(#[$sdoc])* #[serde(default)] pub $section: $Section, )*
            $( $(#[$tdoc])* pub $top: Option<$tty>, )*
        }

        $(
            $(#[$sdoc])*
            #[derive(Debug, Clone, Default, PartialEq, Deserialize)]
            #[serde(deny_unknown_fields)]
            pub struct $Section {
                $( $(#[$fdoc])* pub $field: Option<$ty>, )*
            }
        )*

        /// The typed handle of every setting, named like its key: `key::feeds::limit`.
        #[allow(non_upper_case_globals)]
        mod key {
            use super::*;
            $(
                pub(super) mod $section {
                    use super::*;
                    $(
                        pub(in crate::config) static $field: Field<$ty> = Field {
                            setting: Setting {
                                key: concat!(stringify!($section), ".", stringify!($field)),
                                env: settings!(@env $($how)+),
                                flag: settings!(@flag $($how)+),
                            },
                            get: |s| s.$section.$field.as_ref(),
                        };
                    )*
                }
            )*
            $(
                pub(super) static $top: Field<$tty> = Field {
                    setting: Setting {
                        key: stringify!($top),
                        env: settings!(@env $($thow)+),
                        flag: settings!(@flag $($thow)+),
                    },
                    get: |s| s.$top.as_ref(),
                };
            )*
        }

        /// Every setting, in the table's order (the order of the README and the sample file).
        pub static SETTINGS: &[&Setting] = &[
            $( &key::$top.setting, )*
            $( $( &key::$section::$field.setting, )* )*
        ];

        impl Settings {
            /// Field-wise "later wins": every setting `later` has replaces this one's.
            pub fn merge(&mut self, later: Settings) {
                $( $(
                    if let Some(value) = later.$section.$field {
                        self.$section.$field = Some(value);
                    }
                )* )*
                $(
                    if let Some(value) = later.$top {
                        self.$top = Some(value);
                    }
                )*
            }

            /// The settings this layer has a value for.
            fn present(&self) -> Vec<&'static Setting> {
                let mut present = Vec::new();
                $(
                    if self.$top.is_some() {
                        present.push(&key::$top.setting);
                    }
                )*
                $( $(
                    if self.$section.$field.is_some() {
                        present.push(&key::$section::$field.setting);
                    }
                )* )*
                present
            }

            /// The environment layer: each `TIDINGS_*` variable `lookup` finds, parsed into its
            /// setting's type. Read through `lookup` so tests need not touch the process
            /// environment.
            pub fn from_env(
                lookup: impl Fn(&str) -> Option<String>,
            ) -> Result<Self, ConfigError> {
                let mut settings = Self::default();
                $( $(
                    settings.$section.$field = read_env(&key::$section::$field, &lookup)?;
                )* )*
                $(
                    settings.$top = read_env(&key::$top, &lookup)?;
                )*
                Ok(settings)
            }
        }
    };
}

settings! {
    root {
        /// The content directory.
        content: PathBuf => [env "TIDINGS_CONTENT", flag "--content"],
    }

    /// `[site]`: who publishes the site and where it lives.
    [site] SiteSettings {
        /// Human title of the site.
        title: String => [env "TIDINGS_SITE_TITLE"],
        /// One-line description.
        description: String => [env "TIDINGS_SITE_DESCRIPTION"],
        /// Where the posts' pages live (defaults to `base_url`).
        url: String => [env "TIDINGS_SITE_URL"],
        /// Where tidings itself is reached.
        base_url: String => [env "TIDINGS_BASE_URL", flag "--base-url"],
        /// Default language of entries.
        language: String => [env "TIDINGS_LANGUAGE"],
        /// IANA time zone name for dates without an offset.
        timezone: String => [env "TIDINGS_TIMEZONE"],
        /// Author credited on posts without one. A table: there is no natural way to write it
        /// in one environment variable, so only the file sets it.
        author: AuthorConfig => [file only],
    }

    /// `[posts]`: how posts are read.
    [posts] PostsSettings {
        /// Permalink style or pattern.
        permalink: String => [env "TIDINGS_PERMALINK"],
        /// Summary length in grapheme clusters.
        summary_length: usize => [env "TIDINGS_SUMMARY_LENGTH"],
        /// Largest accepted file, bytes.
        max_bytes: usize => [env "TIDINGS_MAX_BYTES"],
        /// Publish future-dated posts at once.
        future: bool => [env "TIDINGS_FUTURE"],
        /// Identifier scheme.
        id_scheme: IdScheme => [env "TIDINGS_ID_SCHEME"],
        /// RFC 4151 `name,date` for `tag:` ids.
        id_authority: String => [env "TIDINGS_ID_AUTHORITY"],
    }

    /// `[feeds]`: how documents are shaped.
    [feeds] FeedsSettings {
        /// Entries per document.
        limit: usize => [env "TIDINGS_LIMIT"],
        /// Seconds clients may cache.
        max_age: u32 => [env "TIDINGS_MAX_AGE"],
        /// Seconds shared caches may keep a document.
        s_maxage: u32 => [env "TIDINGS_S_MAXAGE"],
        /// Stale-while-revalidate, seconds.
        stale_while_revalidate: u32 => [env "TIDINGS_STALE_WHILE_REVALIDATE"],
        /// Stale-if-error, seconds.
        stale_if_error: u32 => [env "TIDINGS_STALE_IF_ERROR"],
        /// Max-age of full archive pages, seconds.
        archive_max_age: u32 => [env "TIDINGS_ARCHIVE_MAX_AGE"],
        /// Full content or summaries.
        content: ContentMode => [env "TIDINGS_FEEDS_CONTENT"],
        /// Per-category choice of full content or summaries. A table: file only.
        content_by_category: BTreeMap<String, ContentMode> => [file only],
        /// Largest entry content, bytes.
        max_entry_bytes: usize => [env "TIDINGS_MAX_ENTRY_BYTES"],
        /// Largest document, bytes.
        max_document_bytes: usize => [env "TIDINGS_MAX_DOCUMENT_BYTES"],
    }

    /// `[server]`: how the service runs.
    [server] ServerSettings {
        /// Listen address.
        bind: String => [env "TIDINGS_BIND", flag "--bind"],
        /// Change detection.
        watch: WatchMode => [env "TIDINGS_WATCH"],
        /// Poll period, milliseconds.
        poll_interval_ms: u64 => [env "TIDINGS_POLL_INTERVAL_MS"],
        /// Debounce window, milliseconds.
        debounce_ms: u64 => [env "TIDINGS_DEBOUNCE_MS"],
        /// Connections served at once.
        max_connections: usize => [env "TIDINGS_MAX_CONNECTIONS"],
        /// Time to send a request head, milliseconds.
        request_timeout_ms: u64 => [env "TIDINGS_REQUEST_TIMEOUT_MS"],
        /// Idle keep-alive time, milliseconds.
        keep_alive_ms: u64 => [env "TIDINGS_KEEP_ALIVE_MS"],
        /// Requests that may wait for a document to be made.
        max_waiting_renders: usize => [env "TIDINGS_MAX_WAITING_RENDERS"],
        /// Time a client may leave sent bytes unread, milliseconds.
        send_timeout_ms: u64 => [env "TIDINGS_SEND_TIMEOUT_MS"],
        /// Log line format.
        log_format: LogFormat => [env "TIDINGS_LOG_FORMAT"],
    }

    /// `[websub]`: push to subscribers through WebSub hubs.
    [websub] WebsubSettings {
        /// Hubs to advertise and to notify of changes (absolute URLs).
        hubs: Vec<String> => [env "TIDINGS_WEBSUB_HUBS"],
        /// Changed feeds named in one notification.
        topics_per_request: usize => [env "TIDINGS_WEBSUB_TOPICS_PER_REQUEST"],
        /// Run the built-in hub.
        hub: HubMode => [env "TIDINGS_WEBSUB_HUB"],
        /// The built-in hub's subscription database.
        hub_database: PathBuf => [env "TIDINGS_WEBSUB_HUB_DATABASE"],
        /// Shortest lease granted, seconds.
        lease_min_seconds: u64 => [env "TIDINGS_WEBSUB_LEASE_MIN_SECONDS"],
        /// Lease granted when none is asked for, seconds.
        lease_default_seconds: u64 => [env "TIDINGS_WEBSUB_LEASE_DEFAULT_SECONDS"],
        /// Longest lease granted, seconds.
        lease_max_seconds: u64 => [env "TIDINGS_WEBSUB_LEASE_MAX_SECONDS"],
        /// Time a failing delivery is retried, seconds.
        delivery_window_seconds: u64 => [env "TIDINGS_WEBSUB_DELIVERY_WINDOW_SECONDS"],
    }

    /// `[purge]`: caches told to drop what changed.
    [purge] PurgeSettings {
        /// Where purges go: `PURGE URL`, `BAN URL` or `METHOD URL-template`.
        endpoints: EndpointList => [env "TIDINGS_PURGE_ENDPOINTS"],
    }
}

/// Built-in defaults, the bottom layer.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8080/";
/// The default bind address.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// The default configuration file, relative to the working directory.
pub const DEFAULT_CONFIG_PATH: &str = "config/tidings.toml";
/// The default content directory, relative to the working directory.
pub const DEFAULT_CONTENT_DIR: &str = "feeds";
/// The built-in hub's path under the base URL.
pub const HUB_PATH: &str = "hub";
/// The built-in hub's database, relative to the working directory.
pub const DEFAULT_HUB_DATABASE: &str = "tidings-hub.sqlite3";
/// Jekyll's default permalink style.
pub const DEFAULT_PERMALINK: &str = "date";

impl Settings {
    /// The built-in defaults: every setting but the three that are optional by nature
    /// (`site.url` follows `site.base_url`; `site.language` and `site.author` may be absent).
    pub fn defaults() -> Self {
        Self {
            site: SiteSettings {
                title: Some("tidings".into()),
                description: Some("Posts published by tidings".into()),
                url: None,
                base_url: Some(DEFAULT_BASE_URL.into()),
                language: None,
                timezone: Some("UTC".into()),
                author: None,
            },
            posts: PostsSettings {
                permalink: Some(DEFAULT_PERMALINK.into()),
                summary_length: Some(200),
                max_bytes: Some(16 * 1024 * 1024),
                future: Some(false),
                id_scheme: Some(IdScheme::Tag),
                id_authority: Some("tidings.invalid,2026".into()),
            },
            feeds: FeedsSettings {
                limit: Some(20),
                max_age: Some(300),
                s_maxage: Some(0),
                stale_while_revalidate: Some(60),
                stale_if_error: Some(86_400),
                archive_max_age: Some(86_400),
                content: Some(ContentMode::Full),
                content_by_category: Some(BTreeMap::new()),
                max_entry_bytes: Some(256 * 1024),
                max_document_bytes: Some(2 * 1024 * 1024),
            },
            server: ServerSettings {
                bind: Some(DEFAULT_BIND.into()),
                watch: Some(WatchMode::Native),
                poll_interval_ms: Some(1000),
                debounce_ms: Some(50),
                max_connections: Some(10_000),
                request_timeout_ms: Some(5_000),
                keep_alive_ms: Some(5_000),
                max_waiting_renders: Some(1_024),
                send_timeout_ms: Some(30_000),
                log_format: Some(LogFormat::Text),
            },
            websub: WebsubSettings {
                hubs: Some(Vec::new()),
                topics_per_request: Some(50),
                hub: Some(HubMode::None),
                hub_database: Some(DEFAULT_HUB_DATABASE.into()),
                lease_min_seconds: Some(3_600),
                lease_default_seconds: Some(10 * 86_400),
                lease_max_seconds: Some(30 * 86_400),
                delivery_window_seconds: Some(3_600),
            },
            purge: PurgeSettings {
                endpoints: Some(EndpointList::default()),
            },
            content: Some(DEFAULT_CONTENT_DIR.into()),
        }
    }

    /// Reads the config file layer. `explicit` says whether the user named the file: a missing
    /// default file is an empty layer, a missing named file is an error.
    pub fn from_file(path: &Path, explicit: bool) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::default());
            }
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        parse_toml(&text, Layer::File(path.to_owned()))
    }

    /// Parses TOML text (not from a file) into a layer.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        parse_toml(text, Layer::Text)
    }
}

fn parse_toml(text: &str, layer: Layer) -> Result<Settings, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::Parse {
        layer,
        message: e.to_string().trim().to_owned(),
    })
}

/// Reads one setting's variable, if it has one and it is set.
fn read_env<T: DeserializeOwned>(
    field: &'static Field<T>,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Option<T>, ConfigError> {
    let Some(raw) = field.setting.env.and_then(lookup) else {
        return Ok(None);
    };
    T::deserialize(EnvValue(&raw))
        .map(Some)
        .map_err(|e| ConfigError::Invalid {
            setting: &field.setting,
            value: format!("{raw:?}"),
            layer: Layer::Env,
            reason: e.to_string(),
        })
}

/// An environment variable's text as a serde deserializer, so a variable is parsed into its
/// setting's type by the same `Deserialize` impls that read the file: enums accept exactly
/// the names the file does and list them when refusing one. Numbers, booleans and enum names
/// are trimmed; other text is taken as it is, as in the file.
struct EnvValue<'a>(&'a str);

macro_rules! parse_with_from_str {
    ($($method:ident $t:ty => $visit:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            let value: $t = self.0.trim().parse().map_err(de::Error::custom)?;
            visitor.$visit(value)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for EnvValue<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_str(self.0)
    }

    parse_with_from_str! {
        deserialize_bool bool => visit_bool,
        deserialize_i8 i8 => visit_i8,
        deserialize_i16 i16 => visit_i16,
        deserialize_i32 i32 => visit_i32,
        deserialize_i64 i64 => visit_i64,
        deserialize_u8 u8 => visit_u8,
        deserialize_u16 u16 => visit_u16,
        deserialize_u32 u32 => visit_u32,
        deserialize_u64 u64 => visit_u64,
        deserialize_f32 f32 => visit_f32,
        deserialize_f64 f64 => visit_f64,
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_some(self)
    }

    /// A list is written as its items separated by commas or white space
    /// (`TIDINGS_WEBSUB_HUBS="https://a.example/ https://b.example/"`).
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let items = self
            .0
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|item| !item.is_empty())
            .map(EnvValue);
        visitor.visit_seq(de::value::SeqDeserializer::new(items))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let name_only: de::value::StrDeserializer<'_, Self::Error> =
            self.0.trim().into_deserializer();
        de::Deserializer::deserialize_enum(name_only, name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        i128 u128 char str string bytes byte_buf unit unit_struct newtype_struct tuple
        tuple_struct map struct identifier ignored_any
    }
}

impl<'de, 'a> IntoDeserializer<'de, de::value::Error> for EnvValue<'a> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

/// The layers merged so far, with the layer each value came from.
#[derive(Debug, Clone)]
pub struct Layers {
    merged: Settings,
    from: BTreeMap<&'static str, Layer>,
}

impl Default for Layers {
    /// The built-in defaults alone.
    fn default() -> Self {
        let mut layers = Self {
            merged: Settings::default(),
            from: BTreeMap::new(),
        };
        layers.push(Layer::Default, Settings::defaults());
        layers
    }
}

/// A setting's merged value, with what an error about it must say.
struct Found<'a, T> {
    value: &'a T,
    setting: &'static Setting,
    layer: &'a Layer,
}

impl<T: fmt::Debug> Found<'_, T> {
    fn invalid(&self, reason: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            setting: self.setting,
            value: format!("{:?}", self.value),
            layer: self.layer.clone(),
            reason: reason.into(),
        }
    }
}

impl Layers {
    /// The built-in defaults alone, to push the other layers onto.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lays `settings` from `layer` over the layers so far: every value it has wins.
    pub fn push(&mut self, layer: Layer, settings: Settings) {
        for setting in settings.present() {
            self.from.insert(setting.key, layer.clone());
        }
        self.merged.merge(settings);
    }

    /// [`Layers::push`], by value.
    pub fn with(mut self, layer: Layer, settings: Settings) -> Self {
        self.push(layer, settings);
        self
    }

    /// The built-in defaults with TOML text over them: a config as tests write one.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        Ok(Self::new().with(Layer::Text, Settings::from_toml(text)?))
    }

    /// Which layer gave `key`'s value, if any did.
    pub fn layer_of(&self, key: &str) -> Option<&Layer> {
        self.from.get(key)
    }

    /// The content directory these layers name (before validation: the other layers may be
    /// read from it).
    pub fn content_dir(&self) -> PathBuf {
        self.get(&key::content)
            .map_or_else(|| PathBuf::from(DEFAULT_CONTENT_DIR), |c| c.value.clone())
    }

    /// The listen address these layers name.
    pub fn bind(&self) -> String {
        self.get(&key::server::bind)
            .map_or_else(|| DEFAULT_BIND.to_owned(), |b| b.value.clone())
    }

    fn get<T>(&self, field: &'static Field<T>) -> Option<Found<'_, T>> {
        (field.get)(&self.merged).map(|value| Found {
            value,
            setting: &field.setting,
            layer: self.from.get(field.setting.key).unwrap_or(&Layer::Default),
        })
    }

    fn require<T>(&self, field: &'static Field<T>) -> Result<Found<'_, T>, ConfigError> {
        self.get(field).ok_or(ConfigError::Unset {
            setting: &field.setting,
        })
    }

    fn value<T: Clone>(&self, field: &'static Field<T>) -> Result<T, ConfigError> {
        self.require(field).map(|found| found.value.clone())
    }

    /// Validates the merged layers into a [`Config`]: the one place a setting's meaning is
    /// checked, so a later layer can still replace a value an earlier one got wrong.
    pub fn resolve(&self) -> Result<Config, ConfigError> {
        let base_url = parse_base(&self.require(&key::site::base_url)?)?;
        let url = match self.get(&key::site::url) {
            Some(url) => parse_base(&url)?,
            None => base_url.clone(),
        };
        let timezone = self.require(&key::site::timezone)?;
        let timezone = timezone.value.trim().parse().map_err(|_| {
            timezone.invalid("not an IANA time zone name (e.g. `Asia/Shanghai`, `UTC`)")
        })?;
        let limit = self.require(&key::feeds::limit)?;
        if *limit.value == 0 {
            return Err(limit.invalid("a feed needs at least one entry per page"));
        }
        let bind = self.require(&key::server::bind)?;
        let port = bind
            .value
            .rsplit_once(':')
            .filter(|(host, _)| !host.is_empty())
            .and_then(|(_, port)| port.parse::<u16>().ok());
        if port.is_none() {
            return Err(bind.invalid(
                "expected HOST:PORT, such as 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:8080",
            ));
        }
        let max_connections = self.require(&key::server::max_connections)?;
        if *max_connections.value == 0 {
            return Err(max_connections.invalid("the service must accept at least one connection"));
        }
        let request_timeout = self.require(&key::server::request_timeout_ms)?;
        if *request_timeout.value < 1_000 {
            // The HTTP server reads its clock from a cache refreshed twice a second, so a
            // shorter timeout can expire before a prompt client has been read at all.
            return Err(request_timeout.invalid("must be at least 1000 (one second)"));
        }
        let hubs = self.require(&key::websub::hubs)?;
        let hubs = hubs
            .value
            .iter()
            .map(|raw| {
                let url =
                    Url::parse(raw.trim()).map_err(|e| hubs.invalid(format!("{raw}: {e}")))?;
                if matches!(url.scheme(), "http" | "https") {
                    Ok(url)
                } else {
                    Err(hubs.invalid(format!(
                        "{raw}: must be an absolute http:// or https:// URL"
                    )))
                }
            })
            .collect::<Result<Vec<Url>, ConfigError>>()?;
        let topics_per_request = self.require(&key::websub::topics_per_request)?;
        if *topics_per_request.value == 0 {
            return Err(topics_per_request.invalid("a notification names at least one feed"));
        }
        let lease_min = self.require(&key::websub::lease_min_seconds)?;
        if *lease_min.value == 0 {
            return Err(lease_min.invalid("a lease lasts at least one second"));
        }
        let lease_max = self.require(&key::websub::lease_max_seconds)?;
        if *lease_max.value < *lease_min.value {
            return Err(lease_max.invalid(format!(
                "must be at least websub.lease_min_seconds ({})",
                lease_min.value
            )));
        }
        let lease_default = self.require(&key::websub::lease_default_seconds)?;
        if !(*lease_min.value..=*lease_max.value).contains(lease_default.value) {
            return Err(lease_default.invalid(format!(
                "must lie between websub.lease_min_seconds ({}) and websub.lease_max_seconds ({})",
                lease_min.value, lease_max.value
            )));
        }
        let id_authority = self.require(&key::posts::id_authority)?;
        validate_tag_authority(&id_authority)?;
        let endpoints = self.require(&key::purge::endpoints)?;
        let endpoints = endpoints
            .value
            .0
            .iter()
            .map(|raw| {
                parse_endpoint(raw, &base_url)
                    .map_err(|reason| endpoints.invalid(format!("`{}`: {reason}", redact(raw))))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Config {
            site: SiteConfig {
                title: self.value(&key::site::title)?,
                description: self.value(&key::site::description)?,
                url,
                base_url,
                language: self
                    .get(&key::site::language)
                    .map(|l| l.value.trim())
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned),
                timezone,
                author: self.get(&key::site::author).map(|a| a.value.clone()),
                base_url_follows_bind: false,
            },
            posts: PostsConfig {
                permalink: self.value(&key::posts::permalink)?,
                summary_length: self.value(&key::posts::summary_length)?,
                max_bytes: self.value(&key::posts::max_bytes)?,
                future: self.value(&key::posts::future)?,
                id_scheme: self.value(&key::posts::id_scheme)?,
                id_authority: id_authority.value.trim().to_owned(),
            },
            feeds: FeedsConfig {
                limit: *limit.value,
                max_age: self.value(&key::feeds::max_age)?,
                s_maxage: self.value(&key::feeds::s_maxage)?,
                stale_while_revalidate: self.value(&key::feeds::stale_while_revalidate)?,
                stale_if_error: self.value(&key::feeds::stale_if_error)?,
                archive_max_age: self.value(&key::feeds::archive_max_age)?,
                content: self.value(&key::feeds::content)?,
                content_by_category: self.value(&key::feeds::content_by_category)?,
                max_entry_bytes: self.value(&key::feeds::max_entry_bytes)?,
                max_document_bytes: self.value(&key::feeds::max_document_bytes)?,
            },
            server: ServerConfig {
                bind: self.value(&key::server::bind)?,
                watch: self.value(&key::server::watch)?,
                poll_interval_ms: self.value(&key::server::poll_interval_ms)?,
                debounce_ms: self.value(&key::server::debounce_ms)?,
                max_connections: *max_connections.value,
                request_timeout_ms: *request_timeout.value,
                keep_alive_ms: self.value(&key::server::keep_alive_ms)?,
                max_waiting_renders: self.value(&key::server::max_waiting_renders)?,
                send_timeout_ms: self.value(&key::server::send_timeout_ms)?,
                log_format: self.value(&key::server::log_format)?,
            },
            websub: WebsubConfig {
                hubs,
                topics_per_request: *topics_per_request.value,
                hub: self.value(&key::websub::hub)?,
                hub_database: self.value(&key::websub::hub_database)?,
                lease_min_seconds: *lease_min.value,
                lease_default_seconds: *lease_default.value,
                lease_max_seconds: *lease_max.value,
                delivery_window_seconds: self.value(&key::websub::delivery_window_seconds)?,
            },
            purge: PurgeConfig { endpoints },
            content_dir: self.value(&key::content)?,
        })
    }
}

impl Config {
    /// The built-in defaults alone, as used by tests and by a binary run outside a project.
    pub fn defaults() -> Self {
        // The defaults are constants checked by tests, so resolving them cannot fail.
        Layers::new()
            .resolve()
            .unwrap_or_else(|e| unreachable!("built-in defaults are invalid: {e}"))
    }

    /// Where the built-in hub is reached, when it runs.
    pub fn builtin_hub(&self) -> Option<Url> {
        match self.websub.hub {
            HubMode::None => None,
            HubMode::Builtin => self.site.base_url.join(HUB_PATH).ok(),
        }
    }

    /// Every hub the feeds advertise: the built-in one first, then the configured ones.
    pub fn advertised_hubs(&self) -> Vec<Url> {
        self.builtin_hub()
            .into_iter()
            .chain(self.websub.hubs.iter().cloned())
            .collect()
    }
}

/// Parses an absolute http(s) URL used as a base, normalising it to end in `/` so that joining
/// a relative path keeps any path prefix (`https://example.org/blog` + `a` is `/blog/a`).
fn parse_base(raw: &Found<'_, String>) -> Result<Url, ConfigError> {
    let mut url = Url::parse(raw.value.trim()).map_err(|e| raw.invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(raw.invalid("must be an absolute http:// or https:// URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(raw.invalid("must not have a query or fragment"));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// The placeholders a purge URL template may hold.
pub const PURGE_PLACEHOLDERS: [&str; 2] = ["{url}", "{path}"];

/// One `purge.endpoints` item: `METHOD URL [-H Name: value]...`. Without a placeholder the
/// URL is a cache's address, reached with `PURGE` or `BAN`; with one, a template any method
/// is sent to.
fn parse_endpoint(raw: &str, base_url: &Url) -> Result<PurgeEndpoint, String> {
    let mut parts = raw.trim().split(HEADER_FLAG);
    let request = parts.next().unwrap_or_default();
    let headers = parts
        .map(|header| {
            let (name, value) = header
                .split_once(':')
                .ok_or_else(|| "a header is `-H Name: value`, with a colon".to_owned())?;
            let name = name.trim();
            let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            if name.is_empty() || !name.bytes().all(token) {
                return Err(format!("`{name}` is not a header name"));
            }
            if value.chars().any(char::is_control) {
                return Err(format!(
                    "the value of header `{name}` holds control characters"
                ));
            }
            Ok((name.to_owned(), value.trim().to_owned()))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(PurgeEndpoint {
        mode: parse_mode(request, base_url)?,
        headers,
    })
}

fn parse_mode(raw: &str, base_url: &Url) -> Result<PurgeMode, String> {
    let usage = "expected `PURGE http://cache:6081`, `BAN http://cache:6081` or \
                 `METHOD https://api.example/purge?url={url}`, each optionally followed by \
                 headers (`-H Name: value`)";
    let Some((method, target)) = raw.trim().split_once(char::is_whitespace) else {
        return Err(usage.to_owned());
    };
    let target = target.trim();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!("`{method}` is not a method in capitals; {usage}"));
    }
    if target.contains(char::is_whitespace) {
        return Err(format!("`{target}` is not one URL; {usage}"));
    }
    if PURGE_PLACEHOLDERS.iter().any(|p| target.contains(p)) {
        // What a filled-in template looks like decides whether it is usable.
        let sample = target
            .replace("{url}", base_url.as_str())
            .replace("{path}", base_url.path());
        let url = Url::parse(&sample).map_err(|e| format!("{e} once filled in ({sample})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("the template must make an http:// or https:// URL".to_owned());
        }
        return Ok(PurgeMode::Template {
            method: method.to_owned(),
            template: target.to_owned(),
        });
    }
    if !matches!(method, "PURGE" | "BAN") {
        return Err(format!(
            "{method} needs {{url}} or {{path}} in its URL (only PURGE and BAN go to a cache's address)"
        ));
    }
    let url = Url::parse(target).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the cache must be an http:// or https:// URL".to_owned());
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(
            "a cache address has no path or query: the changed paths are sent to it".to_owned(),
        );
    }
    Ok(if method == "PURGE" {
        PurgeMode::Purge(url)
    } else {
        PurgeMode::Ban(url)
    })
}

/// A `tag:` authority is `DNS-name-or-email,YYYY[-MM[-DD]]` (RFC 4151 §2.1).
fn validate_tag_authority(found: &Found<'_, String>) -> Result<(), ConfigError> {
    let raw = found.value.trim();
    let Some((name, date)) = raw.rsplit_once(',') else {
        return Err(found.invalid("expected `name,date` as in RFC 4151, e.g. `example.org,2024`"));
    };
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'@' | b'_'));
    if !name_ok {
        return Err(found.invalid("the name must be a domain name or email address in ASCII"));
    }
    let date_ok = match date.len() {
        4 => date.bytes().all(|b| b.is_ascii_digit()),
        7 | 10 => chrono::NaiveDate::parse_from_str(
            &format!("{}{}", date, if date.len() == 7 { "-01" } else { "" }),
            "%Y-%m-%d",
        )
        .is_ok(),
        _ => false,
    };
    if !date_ok {
        return Err(found.invalid("the date must be YYYY, YYYY-MM or YYYY-MM-DD"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn env_error(var: &str, value: &str) -> ConfigError {
        match Settings::from_env(env(&[(var, value)])) {
            Err(e) => e,
            Ok(s) => panic!("{var}={value:?} was accepted: {s:?}"),
        }
    }

    #[test]
    fn defaults_resolve() {
        let c = Config::defaults();
        assert_eq!(c.site.base_url.as_str(), DEFAULT_BASE_URL);
        assert_eq!(c.site.url, c.site.base_url);
        assert_eq!(c.site.timezone, Tz::UTC);
        assert_eq!(c.feeds.limit, 20);
        assert_eq!(c.content_dir, Path::new(DEFAULT_CONTENT_DIR));
    }

    #[test]
    fn defaults_set_every_setting_but_the_optional_ones() {
        let set: Vec<&str> = Settings::defaults()
            .present()
            .iter()
            .map(|s| s.key)
            .collect();
        let unset: Vec<&str> = SETTINGS
            .iter()
            .map(|s| s.key)
            .filter(|k| !set.contains(k))
            .collect();
        assert_eq!(unset, ["site.url", "site.language", "site.author"]);
    }

    #[test]
    fn layers_override_in_order() {
        let file = Settings::from_toml(
            "content = \"from-file\"\n\
             [site]\nbase_url = \"https://feeds.example.org\"\ntimezone = \"Asia/Shanghai\"\n\
             [feeds]\nlimit = 5\nmax_age = 60\n",
        )
        .unwrap();
        let environment = Settings::from_env(env(&[
            ("TIDINGS_LIMIT", "7"),
            ("TIDINGS_CONTENT", "from-env"),
        ]))
        .unwrap();
        let flags = Settings {
            content: Some("from-flag".into()),
            ..Settings::default()
        };
        let layers = Layers::new()
            .with(Layer::File("tidings.toml".into()), file)
            .with(Layer::Env, environment);
        let c = layers.resolve().unwrap();
        assert_eq!(c.feeds.limit, 7, "the environment beats the file");
        assert_eq!(c.feeds.max_age, 60, "the file beats the defaults");
        assert_eq!(c.posts.summary_length, 200, "defaults fill the rest");
        assert_eq!(c.site.base_url.as_str(), "https://feeds.example.org/");
        assert_eq!(c.site.url.as_str(), "https://feeds.example.org/");
        assert_eq!(c.content_dir, Path::new("from-env"));
        assert_eq!(layers.layer_of("feeds.limit"), Some(&Layer::Env));
        assert_eq!(
            layers.layer_of("feeds.max_age"),
            Some(&Layer::File("tidings.toml".into()))
        );
        assert_eq!(layers.layer_of("posts.future"), Some(&Layer::Default));
        assert_eq!(layers.layer_of("site.language"), None);

        let layers = layers.with(Layer::Flags, flags);
        assert_eq!(
            layers.resolve().unwrap().content_dir,
            Path::new("from-flag")
        );
        assert_eq!(layers.layer_of("content"), Some(&Layer::Flags));
        assert_eq!(
            layers.resolve().unwrap().feeds.limit,
            7,
            "an empty flag keeps it"
        );
    }

    #[test]
    fn merge_is_field_wise_later_wins() {
        let mut earlier = Settings::from_toml("[feeds]\nlimit = 1\nmax_age = 2").unwrap();
        earlier.merge(Settings::from_toml("[feeds]\nlimit = 3").unwrap());
        assert_eq!(earlier.feeds.limit, Some(3));
        assert_eq!(earlier.feeds.max_age, Some(2));
        earlier.merge(Settings::default());
        assert_eq!(earlier.feeds.limit, Some(3));
    }

    #[test]
    fn a_later_layer_replaces_an_invalid_value() {
        let layers =
            Layers::from_toml("[feeds]\nlimit = 0\n[site]\nbase_url = \"ftp://x\"").unwrap();
        assert!(layers.resolve().is_err());
        let fixed = layers
            .with(
                Layer::Env,
                Settings::from_env(env(&[("TIDINGS_LIMIT", "5")])).unwrap(),
            )
            .with(
                Layer::Flags,
                Settings {
                    site: SiteSettings {
                        base_url: Some("https://x.org/".into()),
                        ..SiteSettings::default()
                    },
                    ..Settings::default()
                },
            );
        let c = fixed.resolve().unwrap();
        assert_eq!(c.feeds.limit, 5);
        assert_eq!(c.site.base_url.as_str(), "https://x.org/");
    }

    #[test]
    fn refuses_bad_values() {
        for (toml, key) in [
            ("[site]\ntimezone = \"Mars/Olympus\"", "site.timezone"),
            ("[site]\nurl = \"/relative\"", "site.url"),
            ("[site]\nbase_url = \"ftp://x.org\"", "site.base_url"),
            ("[site]\nbase_url = \"https://x.org/?q\"", "site.base_url"),
            ("[feeds]\nlimit = 0", "feeds.limit"),
            ("[server]\nmax_connections = 0", "server.max_connections"),
            ("[server]\nbind = \"8080\"", "server.bind"),
            ("[server]\nbind = \":8080\"", "server.bind"),
            ("[server]\nbind = \"localhost:http\"", "server.bind"),
            (
                "[websub]\nlease_min_seconds = 0",
                "websub.lease_min_seconds",
            ),
            (
                "[websub]\nlease_min_seconds = 100\nlease_max_seconds = 99",
                "websub.lease_max_seconds",
            ),
            (
                "[websub]\nlease_max_seconds = 7200\nlease_default_seconds = 7201",
                "websub.lease_default_seconds",
            ),
            (
                "[server]\nrequest_timeout_ms = 999",
                "server.request_timeout_ms",
            ),
            ("[posts]\nid_authority = \"nodate\"", "posts.id_authority"),
            (
                "[posts]\nid_authority = \"ex ample.org,2024\"",
                "posts.id_authority",
            ),
            (
                "[posts]\nid_authority = \"example.org,2024-13\"",
                "posts.id_authority",
            ),
        ] {
            match Layers::from_toml(toml).unwrap().resolve() {
                Err(ConfigError::Invalid { setting, layer, .. }) => {
                    assert_eq!(setting.key, key, "{toml}");
                    assert_eq!(layer, Layer::Text, "{toml}");
                }
                other => panic!("{toml}: expected invalid {key}, got {other:?}"),
            }
        }
        for typo in ["[site]\ntypo = 1", "typo = 1", "[feeds]\nlimit = \"many\""] {
            assert!(
                matches!(Settings::from_toml(typo), Err(ConfigError::Parse { .. })),
                "{typo}"
            );
        }
    }

    #[test]
    fn errors_name_the_key_the_value_and_the_layer() {
        let file = Layer::File("conf/site.toml".into());
        let cases = [
            (
                Layers::new().with(
                    file.clone(),
                    Settings::from_toml("[feeds]\nlimit = 0").unwrap(),
                ),
                "invalid setting `feeds.limit` = 0 (from config file conf/site.toml): \
                 a feed needs at least one entry per page",
            ),
            (
                Layers::new().with(
                    Layer::Env,
                    Settings::from_env(env(&[("TIDINGS_TIMEZONE", "Mars")])).unwrap(),
                ),
                "invalid setting `site.timezone` = \"Mars\" (from environment variable \
                 TIDINGS_TIMEZONE): not an IANA time zone name (e.g. `Asia/Shanghai`, `UTC`)",
            ),
            (
                Layers::new().with(
                    Layer::Flags,
                    Settings {
                        site: SiteSettings {
                            base_url: Some("ftp://x.org".into()),
                            ..SiteSettings::default()
                        },
                        ..Settings::default()
                    },
                ),
                "invalid setting `site.base_url` = \"ftp://x.org\" (from flag --base-url): \
                 must be an absolute http:// or https:// URL",
            ),
            (
                Layers::new().with(
                    file,
                    Settings::from_toml("[site]\nurl = \"https://x.org/#top\"").unwrap(),
                ),
                "invalid setting `site.url` = \"https://x.org/#top\" (from config file \
                 conf/site.toml): must not have a query or fragment",
            ),
        ];
        for (layers, message) in cases {
            assert_eq!(layers.resolve().unwrap_err().to_string(), message);
        }
        let parse = Settings::from_toml("[feeds]\nlimit = \"many\"").unwrap_err();
        let message = parse.to_string();
        assert!(message.starts_with("invalid config text: "), "{message}");
        assert!(message.contains("line 2"), "{message}");
    }

    #[test]
    fn every_enum_lists_its_choices_in_file_and_environment() {
        for (key, var, choices) in [
            (
                "posts.id_scheme",
                "TIDINGS_ID_SCHEME",
                "expected `tag` or `jekyll-feed`",
            ),
            (
                "server.watch",
                "TIDINGS_WATCH",
                "expected one of `native`, `poll`, `off`",
            ),
        ] {
            let e = env_error(var, "sometimes");
            let message = e.to_string();
            let ConfigError::Invalid { setting, layer, .. } = &e else {
                panic!("{var}: {e:?}");
            };
            assert_eq!((setting.key, layer), (key, &Layer::Env));
            assert!(message.contains(choices), "{message}");
            assert!(
                message.contains(&format!("environment variable {var}")),
                "{message}"
            );
            assert!(message.contains("\"sometimes\""), "{message}");

            let (section, field) = key.split_once('.').unwrap();
            let toml = format!("[{section}]\n{field} = \"sometimes\"");
            let message = Settings::from_toml(&toml).unwrap_err().to_string();
            assert!(message.contains(choices), "{message}");
        }
        // The names the file accepts are the names the environment accepts, padding aside.
        let s = Settings::from_env(env(&[
            ("TIDINGS_ID_SCHEME", " jekyll-feed "),
            ("TIDINGS_WATCH", "poll"),
        ]))
        .unwrap();
        assert_eq!(s.posts.id_scheme, Some(IdScheme::JekyllFeed));
        assert_eq!(s.server.watch, Some(WatchMode::Poll));
        for name in ["Tag", "tag ,", "jekyll_feed", ""] {
            env_error("TIDINGS_ID_SCHEME", name);
        }
    }

    #[test]
    fn environment_values_of_the_wrong_type_name_the_variable() {
        for (var, value, key) in [
            ("TIDINGS_LIMIT", "abc", "feeds.limit"),
            ("TIDINGS_LIMIT", "-1", "feeds.limit"),
            ("TIDINGS_LIMIT", "", "feeds.limit"),
            ("TIDINGS_MAX_AGE", "99999999999", "feeds.max_age"),
            ("TIDINGS_FUTURE", "yes", "posts.future"),
            ("TIDINGS_DEBOUNCE_MS", "1.5", "server.debounce_ms"),
        ] {
            let e = env_error(var, value);
            match &e {
                ConfigError::Invalid {
                    setting,
                    layer: Layer::Env,
                    value: shown,
                    ..
                } => {
                    assert_eq!(setting.key, key);
                    assert_eq!(*shown, format!("{value:?}"));
                }
                other => panic!("{var}={value:?}: {other:?}"),
            }
            let message = e.to_string();
            assert!(message.contains(var), "{message}");
        }
        let s = Settings::from_env(env(&[
            ("TIDINGS_LIMIT", " 12 "),
            ("TIDINGS_FUTURE", "true"),
            ("TIDINGS_SITE_TITLE", " padded "),
        ]))
        .unwrap();
        assert_eq!(s.feeds.limit, Some(12));
        assert_eq!(s.posts.future, Some(true));
        // Text is taken as written, as it is from the file.
        assert_eq!(s.site.title.as_deref(), Some(" padded "));
    }

    #[test]
    fn every_setting_has_a_file_key_and_all_but_the_file_only_an_env_var() {
        for setting in SETTINGS {
            // A key the file does not know is "unknown field"; a known one with a value of
            // the wrong type fails differently (or parses, for text).
            let toml = match setting.key.split_once('.') {
                Some((section, field)) => format!("[{section}]\n{field} = []"),
                None => format!("{} = []", setting.key),
            };
            // (A list, `websub.hubs`, takes `[]`: then it simply parses.)
            if let Err(e) = Settings::from_toml(&toml) {
                let message = e.to_string();
                assert!(
                    !message.contains("unknown field"),
                    "{}: {message}",
                    setting.key
                );
            }
        }
        let env_only: Vec<&str> = SETTINGS
            .iter()
            .filter(|s| s.env.is_none())
            .map(|s| s.key)
            .collect();
        assert_eq!(
            env_only,
            ["site.author", "feeds.content_by_category"],
            "only tables are file-only"
        );
        let mut vars: Vec<&str> = SETTINGS.iter().filter_map(|s| s.env).collect();
        assert!(vars.iter().all(|v| v.starts_with("TIDINGS_")), "{vars:?}");
        vars.sort_unstable();
        let count = vars.len();
        vars.dedup();
        assert_eq!(vars.len(), count, "one variable per setting");
        // And each variable is read into its own setting.
        let asked = std::cell::RefCell::new(Vec::new());
        let _ = Settings::from_env(|var| {
            asked.borrow_mut().push(var.to_owned());
            None
        });
        let mut asked = asked.into_inner();
        asked.sort_unstable();
        assert_eq!(asked, vars);
        for setting in SETTINGS {
            let Some(var) = setting.env else { continue };
            let value = if setting.key == "posts.id_scheme" {
                "tag"
            } else if setting.key == "server.watch" {
                "off"
            } else if setting.key == "posts.future" {
                "true"
            } else if setting.key == "websub.hub" {
                "builtin"
            } else if setting.key == "feeds.content" {
                "summary"
            } else if setting.key == "server.log_format" {
                "json"
            } else {
                "1"
            };
            let present = Settings::from_env(env(&[(var, value)])).unwrap().present();
            assert_eq!(present, [*setting], "{var}");
        }
    }

    #[test]
    fn the_readme_table_lists_every_setting_with_its_variable_and_flag() {
        let readme = include_str!("../../README.md");
        let mut rows = Vec::new();
        for line in readme.lines() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            // | `key` | `VAR` (`--flag`) | default | meaning |
            let [_, key, env, _, _, _] = cells[..] else {
                continue;
            };
            let Some(key) = key.strip_prefix('`').and_then(|k| k.strip_suffix('`')) else {
                continue;
            };
            let quoted = || env.split('`').skip(1).step_by(2);
            let var = quoted().find(|n| n.starts_with("TIDINGS_"));
            let flag = quoted().find(|n| n.starts_with("--"));
            rows.push((
                key.to_owned(),
                var.map(str::to_owned),
                flag.map(str::to_owned),
            ));
        }
        let expected: Vec<_> = SETTINGS
            .iter()
            .map(|s| {
                (
                    s.key.to_owned(),
                    s.env.map(str::to_owned),
                    s.flag.map(str::to_owned),
                )
            })
            .collect();
        rows.sort();
        let mut expected = expected;
        expected.sort();
        assert_eq!(rows, expected);
    }

    #[test]
    fn missing_default_file_is_fine_but_named_file_is_not() {
        let missing = Path::new("/nonexistent/tidings.toml");
        assert_eq!(
            Settings::from_file(missing, false).unwrap(),
            Settings::default()
        );
        assert!(matches!(
            Settings::from_file(missing, true),
            Err(ConfigError::Read { .. })
        ));
        // Only "not found" means "no file": a default path that cannot be read is an error.
        assert!(matches!(
            Settings::from_file(Path::new("/dev/null/tidings.toml"), false),
            Err(ConfigError::Read { .. })
        ));
    }

    #[test]
    fn the_repository_config_file_is_valid() {
        let file = Settings::from_toml(include_str!("../../config/tidings.toml")).unwrap();
        let layers = Layers::new().with(Layer::File(DEFAULT_CONFIG_PATH.into()), file);
        layers.resolve().unwrap();
        // It sets every service key, so it documents every one; the site's identity is the
        // content's (`_config.yml`), and the base URL follows the listen address.
        for setting in SETTINGS {
            let origin = layers.layer_of(setting.key);
            if IDENTITY.contains(&setting.key) || setting.key == "site.base_url" {
                assert!(
                    matches!(origin, None | Some(Layer::Default)),
                    "{}",
                    setting.key
                );
            } else {
                let file = Layer::File(DEFAULT_CONFIG_PATH.into());
                assert_eq!(origin, Some(&file), "{}", setting.key);
            }
        }
    }

    /// What a site's `_config.yml` says, and so what the service's own file leaves alone.
    const IDENTITY: &[&str] = &[
        "site.title",
        "site.description",
        "site.url",
        "site.language",
        "site.timezone",
        "site.author",
        "posts.permalink",
        "posts.id_scheme",
        "posts.id_authority",
    ];

    #[test]
    fn the_sample_site_carries_its_own_identity() {
        let site = jekyll::read(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/feeds"))).unwrap();
        let file = Settings::from_toml(include_str!("../../config/tidings.toml")).unwrap();
        let layers = Layers::new()
            .with(Layer::Site("feeds/_config.yml".into()), site)
            .with(Layer::File(DEFAULT_CONFIG_PATH.into()), file);
        let c = layers.resolve().unwrap();
        assert_eq!(c.site.title, "山西新闻镜像");
        assert_eq!(c.site.timezone, chrono_tz::Asia::Shanghai);
        assert_eq!(c.site.language.as_deref(), Some("zh-CN"));
        assert_eq!(c.site.url.as_str(), "https://finews.withounder.com/");
        assert_eq!(c.posts.id_authority, "finews.withounder.com,2022");
        assert!(c.site.author.is_some());
        for key in IDENTITY {
            assert_eq!(
                layers.layer_of(key),
                Some(&Layer::Site("feeds/_config.yml".into())),
                "{key}"
            );
        }
    }

    #[test]
    fn purge_endpoints_name_a_cache_or_a_template_and_refusals_name_the_key() {
        let config = Layers::from_toml(
            "[purge]\nendpoints = [\"PURGE http://127.0.0.1:6081\", \"BAN  http://cache:80/\", \
             \"POST https://api.example/purge?url={url}\", \"PURGE {url} -H Fastly-Key: s3cret -H Authorization: Bearer x y\"]",
        )
        .unwrap()
        .resolve()
        .unwrap();
        let plain = |mode| PurgeEndpoint {
            mode,
            headers: Vec::new(),
        };
        assert_eq!(
            config.purge.endpoints,
            [
                plain(PurgeMode::Purge(
                    Url::parse("http://127.0.0.1:6081/").unwrap()
                )),
                plain(PurgeMode::Ban(Url::parse("http://cache/").unwrap())),
                plain(PurgeMode::Template {
                    method: "POST".into(),
                    template: "https://api.example/purge?url={url}".into()
                }),
                PurgeEndpoint {
                    mode: PurgeMode::Template {
                        method: "PURGE".into(),
                        template: "{url}".into()
                    },
                    headers: vec![
                        ("Fastly-Key".into(), "s3cret".into()),
                        ("Authorization".into(), "Bearer x y".into())
                    ],
                },
            ]
        );
        assert!(Config::defaults().purge.endpoints.is_empty());
        // The environment separates endpoints by commas, not by the space inside each.
        let env_layer = Settings::from_env(env(&[(
            "TIDINGS_PURGE_ENDPOINTS",
            "PURGE http://a:6081, BAN http://b:6081",
        )]))
        .unwrap();
        let config = Layers::new().with(Layer::Env, env_layer).resolve().unwrap();
        assert_eq!(config.purge.endpoints.len(), 2);
        for (bad, why) in [
            ("http://cache:6081", "expected"),
            ("purge http://cache:6081", "capitals"),
            ("POST https://api.example/purge", "needs {url} or {path}"),
            ("PURGE http://cache:6081/varnish", "no path"),
            ("BAN ftp://cache", "http"),
            ("GET ftp://x/{path}", "http"),
            ("PURGE not a url", "not one URL"),
            ("PURGE notaurl", "relative URL"),
            ("PURGE {url} -H Key s3cret", "`-H Name: value`"),
            ("PURGE {url} -H K y: s3cret", "not a header name"),
        ] {
            match Layers::from_toml(&format!("[purge]\nendpoints = [\"{bad}\"]"))
                .unwrap()
                .resolve()
            {
                Err(e @ ConfigError::Invalid { setting, .. }) => {
                    assert_eq!(setting.key, "purge.endpoints");
                    assert!(e.to_string().contains(why), "{bad}: {e}");
                    assert!(
                        !e.to_string().contains("s3cret"),
                        "header values stay secret: {e}"
                    );
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn hubs_come_from_the_file_or_the_environment_and_must_be_urls() {
        let config = Layers::from_toml("[websub]\nhubs = [\"https://hub.example/\"]")
            .unwrap()
            .resolve()
            .unwrap();
        assert_eq!(config.websub.hubs[0].as_str(), "https://hub.example/");
        let env = Settings::from_env(|k| {
            (k == "TIDINGS_WEBSUB_HUBS").then(|| "https://a.example/, http://b.example/x".into())
        })
        .unwrap();
        let config = Layers::new().with(Layer::Env, env).resolve().unwrap();
        let hubs: Vec<&str> = config.websub.hubs.iter().map(Url::as_str).collect();
        assert_eq!(hubs, ["https://a.example/", "http://b.example/x"]);
        assert!(Config::defaults().websub.hubs.is_empty());
        match Layers::from_toml("[websub]\nhubs = [\"ftp://x\"]")
            .unwrap()
            .resolve()
        {
            Err(ConfigError::Invalid { setting, .. }) => assert_eq!(setting.key, "websub.hubs"),
            other => panic!("{other:?}"),
        }
    }
}
