//! A site's identity from its own `_config.yml`, the file Jekyll keeps at the site's root.
//!
//! Who publishes a site, where it lives and how its entries are named belong to the content,
//! not to the service that publishes it: run against another site, tidings must not lend it
//! the sample's title, URL, language, time zone or — worst, as they are permanent — its entry
//! id authority. So these settings are read from the content directory, with Jekyll's meaning
//! for each key, and a Jekyll site works as it is:
//!
//! | `_config.yml` | setting |
//! | --- | --- |
//! | `title`, `description` | `site.title`, `site.description` |
//! | `url` + `baseurl` | `site.url` (where the posts' pages live) |
//! | `author` (a name, or `name`/`email`/`url`) | `site.author` |
//! | `timezone` | `site.timezone` |
//! | `lang` (else `locale`, `zh_CN` → `zh-CN`) | `site.language` |
//! | `permalink` | `posts.permalink` |
//! | `tidings.id_authority`, `tidings.id_scheme` | `posts.id_authority`, `posts.id_scheme` |
//!
//! Every other key is Jekyll's or a plugin's business and is ignored. The layer sits above the
//! built-in defaults and below tidings' own file, the environment and the flags.

use std::path::Path;

use serde::Deserialize;

use super::{AuthorConfig, ConfigError, IdScheme, Layer, Settings};

/// The name Jekyll gives the file.
pub const FILE_NAME: &str = "_config.yml";

#[derive(Debug, Default, Deserialize)]
struct JekyllConfig {
    title: Option<Scalar>,
    description: Option<Scalar>,
    url: Option<String>,
    baseurl: Option<String>,
    author: Option<JekyllAuthor>,
    timezone: Option<String>,
    lang: Option<String>,
    locale: Option<String>,
    permalink: Option<String>,
    tidings: Option<TidingsSection>,
}

/// A title like `2024` is a number to YAML, and still a title.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Integer(i64),
    Float(f64),
}

impl Scalar {
    fn text(self) -> String {
        match self {
            Scalar::Text(s) => s,
            Scalar::Integer(n) => n.to_string(),
            Scalar::Float(n) => n.to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum JekyllAuthor {
    Name(String),
    Full {
        name: String,
        email: Option<String>,
        url: Option<String>,
        uri: Option<String>,
    },
}

#[derive(Debug, Default, Deserialize)]
struct TidingsSection {
    id_authority: Option<String>,
    id_scheme: Option<IdScheme>,
}

/// The layer `dir/_config.yml` makes; empty when the file is not there.
pub fn read(dir: &Path) -> Result<Settings, ConfigError> {
    let path = dir.join(FILE_NAME);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
        Err(source) => return Err(ConfigError::Read { path, source }),
    };
    parse(&text, Layer::Site(path))
}

/// Reads `_config.yml` text (under resource budgets: it is content, and content may be
/// hostile) into a layer.
pub fn parse(text: &str, layer: Layer) -> Result<Settings, ConfigError> {
    if text.trim().is_empty() {
        return Ok(Settings::default());
    }
    let budget = serde_saphyr::budget! {
        max_events: 200_000,
        max_aliases: 1_000,
        max_anchors: 1_000,
        max_depth: 64,
        max_nodes: 100_000,
        max_total_scalar_bytes: 4 * 1024 * 1024,
    };
    let options = serde_saphyr::options! {
        budget: budget,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
        with_snippet: false,
    };
    let jekyll: JekyllConfig =
        serde_saphyr::from_str_with_options(text, options).map_err(|e| ConfigError::Parse {
            layer: layer.clone(),
            message: e.to_string().lines().next().unwrap_or("").trim().to_owned(),
        })?;
    let mut settings = Settings::default();
    settings.site.title = jekyll.title.map(Scalar::text);
    settings.site.description = jekyll.description.map(Scalar::text);
    settings.site.url = jekyll
        .url
        .map(|url| site_url(&url, jekyll.baseurl.as_deref()));
    settings.site.author = jekyll.author.map(|author| match author {
        JekyllAuthor::Name(name) => AuthorConfig {
            name,
            email: None,
            uri: None,
        },
        JekyllAuthor::Full {
            name,
            email,
            url,
            uri,
        } => AuthorConfig {
            name,
            email,
            uri: url.or(uri),
        },
    });
    settings.site.timezone = jekyll.timezone;
    settings.site.language = jekyll
        .lang
        .or_else(|| jekyll.locale.map(|l| l.replace('_', "-")));
    settings.posts.permalink = jekyll.permalink;
    if let Some(tidings) = jekyll.tidings {
        settings.posts.id_authority = tidings.id_authority;
        settings.posts.id_scheme = tidings.id_scheme;
    }
    Ok(settings)
}

/// Jekyll's `url` (scheme and host) and `baseurl` (the path the site lives under) as one.
fn site_url(url: &str, baseurl: Option<&str>) -> String {
    let base = baseurl.unwrap_or("").trim().trim_matches('/');
    let url = url.trim().trim_end_matches('/');
    if base.is_empty() {
        format!("{url}/")
    } else {
        format!("{url}/{base}/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(yaml: &str) -> Settings {
        parse(yaml, Layer::Text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn jekyll_keys_keep_their_meaning() {
        let s = layer(
            "title: My Blog\ndescription: Notes\nurl: https://example.org\nbaseurl: /blog\n\
             author: {name: Ann, email: ann@example.org, url: https://ann.example}\n\
             timezone: Europe/Paris\nlocale: fr_FR\npermalink: pretty\n\
             plugins: [jekyll-feed]\nexclude: [Gemfile]\n\
             tidings: {id_authority: 'example.org,2024', id_scheme: jekyll-feed}\n",
        );
        assert_eq!(s.site.title.as_deref(), Some("My Blog"));
        assert_eq!(s.site.description.as_deref(), Some("Notes"));
        assert_eq!(s.site.url.as_deref(), Some("https://example.org/blog/"));
        let author = s.site.author.expect("author");
        assert_eq!(
            (
                author.name.as_str(),
                author.email.as_deref(),
                author.uri.as_deref()
            ),
            ("Ann", Some("ann@example.org"), Some("https://ann.example"))
        );
        assert_eq!(s.site.timezone.as_deref(), Some("Europe/Paris"));
        assert_eq!(s.site.language.as_deref(), Some("fr-FR"));
        assert_eq!(s.posts.permalink.as_deref(), Some("pretty"));
        assert_eq!(s.posts.id_authority.as_deref(), Some("example.org,2024"));
        assert_eq!(s.posts.id_scheme, Some(IdScheme::JekyllFeed));
        assert_eq!(
            s.server.bind, None,
            "service settings never come from the site"
        );
    }

    #[test]
    fn a_bare_author_a_numeric_title_and_an_empty_file() {
        let s = layer("title: 2024\nauthor: Ann\nurl: https://example.org/\n");
        assert_eq!(s.site.title.as_deref(), Some("2024"));
        assert_eq!(s.site.author.map(|a| a.name).as_deref(), Some("Ann"));
        assert_eq!(s.site.url.as_deref(), Some("https://example.org/"));
        assert!(layer("").site.title.is_none());
        assert!(layer("# only a comment\n").site.title.is_none());
    }

    #[test]
    fn a_broken_file_is_an_error_naming_it() {
        let err = parse("title: [unclosed\n", Layer::Site("site/_config.yml".into()))
            .expect_err("broken YAML");
        assert!(err.to_string().contains("site/_config.yml"), "{err}");
    }
}
