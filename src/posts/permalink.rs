//! Permalinks from Jekyll's patterns (`/:categories/:year/:month/:day/:title:output_ext`).
//!
//! The pattern's placeholders take the post's date in the site's time zone, as Jekyll does
//! (it converts every date to local time before building URLs). Names stay as the publisher
//! wrote them — Chinese stays Chinese in the path — and are percent-encoded only when the path
//! becomes a URL.

use chrono::{DateTime, Datelike, FixedOffset, Timelike};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use url::Url;

/// What a permalink is built from.
#[derive(Debug)]
pub struct PermalinkInput<'a> {
    /// The pattern or style name (`date`, `pretty`, `ordinal`, `weekdate`, `none`).
    pub pattern: &'a str,
    /// The post's date, already in the site's time zone.
    pub local_date: DateTime<FixedOffset>,
    /// The slug: front matter `slug`, else the file name without date and extension.
    pub slug: &'a str,
    /// The post's categories, in order.
    pub categories: &'a [String],
}

/// Characters escaped in a URL path: controls, space, non-ASCII (by the encoder itself), and
/// the characters that would end or confuse a path (`?`, `#`, `%`, quotes, brackets...).
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Expands a pattern into a site-relative path such as `/shanxiwanbao/2022/05/26/slug.html`.
pub fn expand(input: &PermalinkInput<'_>) -> String {
    let pattern = match input.pattern.trim() {
        "date" => "/:categories/:year/:month/:day/:title:output_ext",
        "pretty" => "/:categories/:year/:month/:day/:title/",
        "ordinal" => "/:categories/:year/:y_day/:title:output_ext",
        "weekdate" => "/:categories/:year/W:week/:short_day/:title:output_ext",
        "none" => "/:categories/:title:output_ext",
        custom => custom,
    };
    let d = input.local_date;
    let mut out = String::with_capacity(pattern.len() + 32);
    let mut rest = pattern;
    while let Some(colon) = rest.find(':') {
        out.push_str(&rest[..colon]);
        let after = &rest[colon + 1..];
        let name_len = after
            .bytes()
            .take_while(|b| b.is_ascii_lowercase() || *b == b'_')
            .count();
        let name = &after[..name_len];
        let value = match name {
            "year" => Some(format!("{:04}", d.year())),
            "short_year" => Some(format!("{:02}", d.year().rem_euclid(100))),
            "month" => Some(format!("{:02}", d.month())),
            "i_month" => Some(d.month().to_string()),
            "short_month" => Some(d.format("%b").to_string()),
            "long_month" => Some(d.format("%B").to_string()),
            "day" => Some(format!("{:02}", d.day())),
            "i_day" => Some(d.day().to_string()),
            "y_day" => Some(format!("{:03}", d.ordinal())),
            "week" => Some(format!("{:02}", d.iso_week().week())),
            "short_day" => Some(d.format("%a").to_string()),
            "long_day" => Some(d.format("%A").to_string()),
            "hour" => Some(format!("{:02}", d.hour())),
            "minute" => Some(format!("{:02}", d.minute())),
            "second" => Some(format!("{:02}", d.second())),
            "title" => Some(slugify(input.slug, true)),
            "slug" | "name" => Some(slugify(input.slug, false)),
            "categories" => Some(categories_path(input.categories)),
            "output_ext" => Some(".html".to_owned()),
            _ => None,
        };
        match value {
            Some(v) => {
                out.push_str(&v);
                rest = &after[name_len..];
            }
            None => {
                out.push(':');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    normalise_path(&out)
}

/// Makes a site-relative path into an absolute URL under the site URL.
pub fn to_url(site: &Url, path: &str) -> Url {
    let encoded = utf8_percent_encode(path.trim_start_matches('/'), PATH).to_string();
    site.join(&encoded).unwrap_or_else(|_| site.clone())
}

/// Percent-encodes a path for use in a URL (exported for the jekyll-feed id).
pub fn encode_path(path: &str) -> String {
    utf8_percent_encode(path, PATH).to_string()
}

/// Jekyll's `:categories`: lower-cased, de-duplicated, joined with `/`.
fn categories_path(categories: &[String]) -> String {
    let mut seen: Vec<String> = Vec::with_capacity(categories.len());
    for c in categories {
        let c = c.to_lowercase();
        if !seen.contains(&c) {
            seen.push(c);
        }
    }
    seen.join("/")
}

/// Jekyll's `slugify`: the default mode keeps letters and digits (any script) and turns every
/// other run into one hyphen, lower-cased; the "pretty, cased" mode used for `:title` also
/// keeps the punctuation URLs allow and the original case.
pub fn slugify(s: &str, pretty_cased: bool) -> String {
    let keep = |c: char| c.is_alphanumeric() || (pretty_cased && "._~!$&'()+,;=@".contains(c));
    let mut out = String::with_capacity(s.len());
    let mut pending_dash = false;
    for c in s.chars() {
        if keep(c) {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.push(c);
        } else {
            pending_dash = true;
        }
    }
    if pretty_cased {
        out
    } else {
        out.to_lowercase()
    }
}

/// Collapses repeated slashes and makes the path start with one.
fn normalise_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 1);
    out.push('/');
    for seg in p
        .split('/')
        .filter(|s| !s.is_empty() && *s != "." && *s != "..")
    {
        if !out.ends_with('/') {
            out.push('/');
        }
        out.push_str(seg);
    }
    if p.ends_with('/') && !out.ends_with('/') {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2022-05-26T07:32:30+08:00").unwrap()
    }

    #[track_caller]
    fn check(pattern: &str, slug: &str, cats: &[&str], expected: &str) {
        let categories: Vec<String> = cats.iter().map(|s| s.to_string()).collect();
        let got = expand(&PermalinkInput {
            pattern,
            local_date: date(),
            slug,
            categories: &categories,
        });
        assert_eq!(got, expected, "pattern {pattern}");
    }

    #[test]
    fn expands_styles_and_placeholders() {
        check(
            "date",
            "hello-world",
            &["News"],
            "/news/2022/05/26/hello-world.html",
        );
        check("pretty", "hello", &[], "/2022/05/26/hello/");
        check("ordinal", "hello", &["a", "b"], "/a/b/2022/146/hello.html");
        check("none", "hello", &["a"], "/a/hello.html");
        check(
            "/:year/:i_month/:i_day/:slug",
            "Hello World",
            &[],
            "/2022/5/26/hello-world",
        );
        check("/posts/:title/", "山西 新闻", &[], "/posts/山西-新闻/");
        check("/:unknown/:title", "x", &[], "/:unknown/x");
        check("/:categories/:title.html", "x", &[], "/x.html");
    }

    #[test]
    fn encodes_when_made_a_url() {
        let site = Url::parse("https://example.org/blog/").unwrap();
        assert_eq!(
            to_url(&site, "/新闻/a b?.html").as_str(),
            "https://example.org/blog/%E6%96%B0%E9%97%BB/a%20b%3F.html"
        );
    }
}
