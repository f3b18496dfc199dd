//! The one configuration value every stage reads.
//!
//! Settings come from four layers, later ones winning: built-in defaults, the TOML file
//! (`config/tidings.toml` by default), `TIDINGS_*` environment variables, and command-line
//! flags. This module owns the first three; [`crate::cli`] applies the flags. Everything is
//! validated here, once, into typed values (a parsed [`Url`], a parsed [`Tz`]), so later
//! stages never re-parse or re-check a setting.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono_tz::Tz;
use serde::Deserialize;
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
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's explanation, with line and column.
        message: String,
    },
    /// A value is syntactically fine but unusable (a relative URL, an unknown time zone...).
    #[error("invalid setting `{key}` = {value:?}: {reason}")]
    Invalid {
        /// The dotted key, as written in the file.
        key: &'static str,
        /// The offending value.
        value: String,
        /// Why it was refused.
        reason: String,
    },
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

/// How the service runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on.
    pub bind: String,
    /// Change detection.
    pub watch: WatchMode,
    /// Poll interval for [`WatchMode::Poll`], milliseconds.
    pub poll_interval_ms: u64,
    /// Debounce window for change events, milliseconds.
    pub debounce_ms: u64,
}

/// The file's shape: every key optional, unknown keys refused so typos are caught.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    site: FileSite,
    #[serde(default)]
    posts: FilePosts,
    #[serde(default)]
    feeds: FileFeeds,
    #[serde(default)]
    server: FileServer,
    content: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSite {
    title: Option<String>,
    description: Option<String>,
    url: Option<String>,
    base_url: Option<String>,
    language: Option<String>,
    timezone: Option<String>,
    author: Option<AuthorConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePosts {
    permalink: Option<String>,
    summary_length: Option<usize>,
    max_bytes: Option<usize>,
    future: Option<bool>,
    id_scheme: Option<IdScheme>,
    id_authority: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFeeds {
    limit: Option<usize>,
    max_age: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileServer {
    bind: Option<String>,
    watch: Option<WatchMode>,
    poll_interval_ms: Option<u64>,
    debounce_ms: Option<u64>,
}

/// Built-in defaults, the bottom layer.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8080/";
/// The default bind address.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// The default configuration file, relative to the working directory.
pub const DEFAULT_CONFIG_PATH: &str = "config/tidings.toml";
/// The default content directory, relative to the working directory.
pub const DEFAULT_CONTENT_DIR: &str = "feeds";
/// Jekyll's default permalink style.
pub const DEFAULT_PERMALINK: &str = "date";

/// Raw (unvalidated) values for every setting, gathered layer by layer.
///
/// Keeping the layers as plain strings until the end means a flag can override a value from
/// the file that would not even have parsed, and every validation error names the final value.
#[derive(Debug, Clone, Default)]
pub struct Layers {
    values: std::collections::BTreeMap<&'static str, String>,
    author: Option<AuthorConfig>,
}

/// Every key a layer may set, with its `TIDINGS_*` environment variable.
const KEYS: &[(&str, &str)] = &[
    ("site.title", "TIDINGS_SITE_TITLE"),
    ("site.description", "TIDINGS_SITE_DESCRIPTION"),
    ("site.url", "TIDINGS_SITE_URL"),
    ("site.base_url", "TIDINGS_BASE_URL"),
    ("site.language", "TIDINGS_LANGUAGE"),
    ("site.timezone", "TIDINGS_TIMEZONE"),
    ("posts.permalink", "TIDINGS_PERMALINK"),
    ("posts.summary_length", "TIDINGS_SUMMARY_LENGTH"),
    ("posts.max_bytes", "TIDINGS_MAX_BYTES"),
    ("posts.future", "TIDINGS_FUTURE"),
    ("posts.id_scheme", "TIDINGS_ID_SCHEME"),
    ("posts.id_authority", "TIDINGS_ID_AUTHORITY"),
    ("feeds.limit", "TIDINGS_LIMIT"),
    ("feeds.max_age", "TIDINGS_MAX_AGE"),
    ("server.bind", "TIDINGS_BIND"),
    ("server.watch", "TIDINGS_WATCH"),
    ("server.poll_interval_ms", "TIDINGS_POLL_INTERVAL_MS"),
    ("server.debounce_ms", "TIDINGS_DEBOUNCE_MS"),
    ("content", "TIDINGS_CONTENT"),
];

impl Layers {
    /// Reads the config file layer. `explicit` says whether the user named the file: a missing
    /// default file means built-in defaults, a missing named file is an error.
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
        Self::from_toml(&text).map_err(|message| ConfigError::Parse {
            path: path.to_owned(),
            message,
        })
    }

    /// Parses TOML text into a layer.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let file: FileConfig = toml::from_str(text).map_err(|e| e.to_string().trim().to_owned())?;
        let mut layers = Self {
            author: file.site.author,
            ..Self::default()
        };
        let FileSite {
            title,
            description,
            url,
            base_url,
            language,
            timezone,
            author: _,
        } = file.site;
        layers.put("site.title", title);
        layers.put("site.description", description);
        layers.put("site.url", url);
        layers.put("site.base_url", base_url);
        layers.put("site.language", language);
        layers.put("site.timezone", timezone);
        let p = file.posts;
        layers.put("posts.permalink", p.permalink);
        layers.put(
            "posts.summary_length",
            p.summary_length.map(|v| v.to_string()),
        );
        layers.put("posts.max_bytes", p.max_bytes.map(|v| v.to_string()));
        layers.put("posts.future", p.future.map(|v| v.to_string()));
        layers.put("posts.id_scheme", p.id_scheme.map(id_scheme_name));
        layers.put("posts.id_authority", p.id_authority);
        layers.put("feeds.limit", file.feeds.limit.map(|v| v.to_string()));
        layers.put("feeds.max_age", file.feeds.max_age.map(|v| v.to_string()));
        let s = file.server;
        layers.put("server.bind", s.bind);
        layers.put("server.watch", s.watch.map(watch_name));
        layers.put(
            "server.poll_interval_ms",
            s.poll_interval_ms.map(|v| v.to_string()),
        );
        layers.put("server.debounce_ms", s.debounce_ms.map(|v| v.to_string()));
        layers.put("content", file.content);
        Ok(layers)
    }

    /// Applies `TIDINGS_*` variables, read through `lookup` so tests need not touch the
    /// process environment.
    pub fn apply_env(&mut self, lookup: impl Fn(&str) -> Option<String>) {
        for (key, var) in KEYS {
            if let Some(value) = lookup(var) {
                self.values.insert(key, value);
            }
        }
    }

    /// Sets one key (used by the flag layer). Unknown keys are a programming error, so they
    /// are ignored in release builds and caught by tests.
    pub fn set(&mut self, key: &'static str, value: impl Into<String>) {
        debug_assert!(KEYS.iter().any(|(k, _)| *k == key), "unknown key {key}");
        self.values.insert(key, value.into());
    }

    fn put(&mut self, key: &'static str, value: Option<String>) {
        if let Some(value) = value {
            self.values.insert(key, value);
        }
    }

    fn get(&self, key: &'static str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    fn parse<T: FromStr>(&self, key: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(key) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|e: T::Err| ConfigError::Invalid {
                    key,
                    value: raw.to_owned(),
                    reason: e.to_string(),
                }),
        }
    }

    /// Validates the merged layers into a [`Config`].
    pub fn resolve(&self) -> Result<Config, ConfigError> {
        let base_url = parse_base(
            "site.base_url",
            self.get("site.base_url").unwrap_or(DEFAULT_BASE_URL),
        )?;
        let url = match self.get("site.url") {
            Some(raw) => parse_base("site.url", raw)?,
            None => base_url.clone(),
        };
        let timezone = match self.get("site.timezone") {
            None => Tz::UTC,
            Some(raw) => raw.trim().parse().map_err(|_| ConfigError::Invalid {
                key: "site.timezone",
                value: raw.to_owned(),
                reason: "not an IANA time zone name (e.g. `Asia/Shanghai`, `UTC`)".into(),
            })?,
        };
        let limit: usize = self.parse("feeds.limit", 20)?;
        if limit == 0 {
            return Err(ConfigError::Invalid {
                key: "feeds.limit",
                value: "0".into(),
                reason: "a feed needs at least one entry per page".into(),
            });
        }
        let id_scheme = match self.get("posts.id_scheme").map(str::trim) {
            None | Some("tag") => IdScheme::Tag,
            Some("jekyll-feed") => IdScheme::JekyllFeed,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    key: "posts.id_scheme",
                    value: other.to_owned(),
                    reason: "expected `tag` or `jekyll-feed`".into(),
                });
            }
        };
        let id_authority = self
            .get("posts.id_authority")
            .unwrap_or("tidings.invalid,2026")
            .trim()
            .to_owned();
        validate_tag_authority(&id_authority)?;
        let watch = match self.get("server.watch").map(str::trim) {
            None | Some("native") => WatchMode::Native,
            Some("poll") => WatchMode::Poll,
            Some("off") => WatchMode::Off,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    key: "server.watch",
                    value: other.to_owned(),
                    reason: "expected `native`, `poll` or `off`".into(),
                });
            }
        };
        Ok(Config {
            site: SiteConfig {
                title: self.get("site.title").unwrap_or("tidings").to_owned(),
                description: self
                    .get("site.description")
                    .unwrap_or("Posts published by tidings")
                    .to_owned(),
                url,
                base_url,
                language: self
                    .get("site.language")
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned),
                timezone,
                author: self.author.clone(),
            },
            posts: PostsConfig {
                permalink: self
                    .get("posts.permalink")
                    .unwrap_or(DEFAULT_PERMALINK)
                    .to_owned(),
                summary_length: self.parse("posts.summary_length", 200)?,
                max_bytes: self.parse("posts.max_bytes", 4 * 1024 * 1024)?,
                future: self.parse("posts.future", false)?,
                id_scheme,
                id_authority,
            },
            feeds: FeedsConfig {
                limit,
                max_age: self.parse("feeds.max_age", 300)?,
            },
            server: ServerConfig {
                bind: self.get("server.bind").unwrap_or(DEFAULT_BIND).to_owned(),
                watch,
                poll_interval_ms: self.parse("server.poll_interval_ms", 1000)?,
                debounce_ms: self.parse("server.debounce_ms", 50)?,
            },
            content_dir: PathBuf::from(self.get("content").unwrap_or(DEFAULT_CONTENT_DIR)),
        })
    }
}

impl Config {
    /// The built-in defaults alone, as used by tests and by a binary run outside a project.
    pub fn defaults() -> Self {
        // The defaults are constants checked by tests, so resolving them cannot fail; still,
        // no panic path: fall back to a hand-built value if it ever did.
        Layers::default()
            .resolve()
            .unwrap_or_else(|e| unreachable!("built-in defaults are invalid: {e}"))
    }
}

fn id_scheme_name(s: IdScheme) -> String {
    match s {
        IdScheme::Tag => "tag",
        IdScheme::JekyllFeed => "jekyll-feed",
    }
    .to_owned()
}

fn watch_name(w: WatchMode) -> String {
    match w {
        WatchMode::Native => "native",
        WatchMode::Poll => "poll",
        WatchMode::Off => "off",
    }
    .to_owned()
}

/// Parses an absolute http(s) URL used as a base, normalising it to end in `/` so that joining
/// a relative path keeps any path prefix (`https://example.org/blog` + `a` is `/blog/a`).
fn parse_base(key: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        key,
        value: raw.to_owned(),
        reason,
    };
    let mut url = Url::parse(raw.trim()).map_err(|e| invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(
            "must be an absolute http:// or https:// URL".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("must not have a query or fragment".into()));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// A `tag:` authority is `DNS-name-or-email,YYYY[-MM[-DD]]` (RFC 4151 §2.1).
fn validate_tag_authority(raw: &str) -> Result<(), ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        key: "posts.id_authority",
        value: raw.to_owned(),
        reason: reason.to_owned(),
    };
    let Some((name, date)) = raw.rsplit_once(',') else {
        return Err(invalid(
            "expected `name,date` as in RFC 4151, e.g. `example.org,2024`",
        ));
    };
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'@' | b'_'));
    if !name_ok {
        return Err(invalid(
            "the name must be a domain name or email address in ASCII",
        ));
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
        return Err(invalid("the date must be YYYY, YYYY-MM or YYYY-MM-DD"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_resolve() {
        let c = Config::defaults();
        assert_eq!(c.site.base_url.as_str(), DEFAULT_BASE_URL);
        assert_eq!(c.site.url, c.site.base_url);
        assert_eq!(c.site.timezone, Tz::UTC);
        assert_eq!(c.feeds.limit, 20);
    }

    #[test]
    fn layers_override_in_order() {
        let mut l = Layers::from_toml(
            "[site]\nbase_url = \"https://feeds.example.org\"\ntimezone = \"Asia/Shanghai\"\n[feeds]\nlimit = 5\n",
        )
        .unwrap();
        l.apply_env(|k| (k == "TIDINGS_LIMIT").then(|| "7".to_owned()));
        let c = l.resolve().unwrap();
        assert_eq!(c.feeds.limit, 7);
        assert_eq!(c.site.base_url.as_str(), "https://feeds.example.org/");
        assert_eq!(c.site.url.as_str(), "https://feeds.example.org/");
        l.set("feeds.limit", "9");
        assert_eq!(l.resolve().unwrap().feeds.limit, 9);
    }

    #[test]
    fn refuses_bad_values() {
        for (toml, key) in [
            ("[site]\ntimezone = \"Mars/Olympus\"", "site.timezone"),
            ("[site]\nurl = \"/relative\"", "site.url"),
            ("[site]\nbase_url = \"ftp://x.org\"", "site.base_url"),
            ("[feeds]\nlimit = 0", "feeds.limit"),
            ("[posts]\nid_authority = \"nodate\"", "posts.id_authority"),
        ] {
            match Layers::from_toml(toml).unwrap().resolve() {
                Err(ConfigError::Invalid { key: k, .. }) => assert_eq!(k, key, "{toml}"),
                other => panic!("{toml}: expected invalid {key}, got {other:?}"),
            }
        }
        assert!(Layers::from_toml("[site]\ntypo = 1").is_err());
    }

    #[test]
    fn missing_default_file_is_fine_but_named_file_is_not() {
        let missing = Path::new("/nonexistent/tidings.toml");
        assert!(Layers::from_file(missing, false).is_ok());
        assert!(matches!(
            Layers::from_file(missing, true),
            Err(ConfigError::Read { .. })
        ));
    }
}
