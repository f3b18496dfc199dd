//! From a post body (Markdown mixed with raw, sometimes malformed HTML) to HTML a feed reader
//! can show safely.
//!
//! Three steps, in this order because each relies on the previous one:
//! 1. comrak renders Markdown with raw HTML passed through (GFM, CJK-friendly emphasis so
//!    `**重要。**但是` is bold as in kramdown, smart punctuation as kramdown's defaults);
//! 2. ammonia parses the result with a real HTML5 parser — which repairs bad nesting such as
//!    the seed's `<p><strong>…</p><p></strong>` — and keeps only what feed readers render,
//!    dropping scripts, event handlers and styles;
//! 3. during sanitizing every relative or protocol-relative URL in `href`, `src`, `srcset` and
//!    `poster` is made absolute, because many readers ignore `xml:base`.
//!
//! Relative URLs resolve against the post's own permalink (under the site URL), as a browser
//! reading the post's page would, and as jekyll-feed's `xml:base` said.

use std::borrow::Cow;

use comrak::options::Options as ComrakOptions;
use url::Url;

use super::text::{html_to_text, truncate_graphemes, xml_clean};

/// Renders post bodies. Built once per configuration and shared by every thread.
pub struct Renderer {
    markdown: ComrakOptions<'static>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Renderer")
    }
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl Renderer {
    /// The renderer with tidings' fixed Markdown dialect.
    pub fn new() -> Self {
        let mut markdown = ComrakOptions::default();
        let ext = &mut markdown.extension;
        ext.strikethrough = true;
        ext.table = true;
        ext.autolink = true;
        ext.tasklist = true;
        ext.footnotes = true;
        ext.cjk_friendly_emphasis = true;
        markdown.parse.smart = true;
        // Raw HTML is the norm in these posts; it is made safe by ammonia right after.
        markdown.render.r#unsafe = true;
        Self { markdown }
    }

    /// Renders `body` to sanitized HTML with absolute URLs and no character XML forbids.
    ///
    /// HTML nested deeper than [`MAX_NESTING`] is shown as its plain text instead: the HTML5
    /// parser checks the stack of open elements for every tag, so its cost grows with depth
    /// times length — 100,000 nested `<div>`s took it most of a minute — while no real post
    /// nests more than a few dozen levels.
    pub fn render(&self, body: &str, base: &Url) -> String {
        let body = xml_clean(body);
        let html = comrak::markdown_to_html(&body, &self.markdown);
        let depth = nesting_depth(&html);
        if depth > MAX_NESTING {
            tracing::warn!(
                "{base}: the body nests HTML {depth} levels deep (the limit is {MAX_NESTING}); \
                 it is shown as plain text"
            );
            return as_plain_text(&html);
        }
        let clean = polite_images(&sanitizer(base).clean(&html).to_string());
        // Character references in the source (`&#1;`) decode to characters XML forbids; the
        // serializer writes them back raw, so the final text is cleaned once more.
        match xml_clean(&clean) {
            Cow::Borrowed(_) => clean,
            Cow::Owned(cleaned) => cleaned,
        }
    }
}

/// What every image carries: news image hosts often refuse images whose `Referer` is not
/// their own site, so readers would show them broken; no referrer, and loading only when
/// scrolled to.
const IMAGE_ATTRIBUTES: &str = " loading=\"lazy\" referrerpolicy=\"no-referrer\"";

/// Adds [`IMAGE_ATTRIBUTES`] to every `<img>` of sanitized HTML (which allows neither, so
/// none is there twice). ammonia can set attribute values itself, but writes several in an
/// order that changes from run to run, and documents must not. In the serializer's output a
/// `<` outside a tag always opens one (text has `&lt;`), and attribute values are always
/// double-quoted, so one scan that skips quoted values finds every image tag and nothing else.
fn polite_images(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + html.matches("<img").count() * 48);
    let bytes = html.as_bytes();
    let (mut in_tag, mut in_value) = (false, false);
    let mut copied = 0;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'<' if !in_tag => {
                in_tag = true;
                let tag = &bytes[i..];
                if tag.starts_with(b"<img") && matches!(tag.get(4), Some(b' ' | b'>' | b'/')) {
                    out.push_str(&html[copied..i + 4]);
                    out.push_str(IMAGE_ATTRIBUTES);
                    copied = i + 4;
                }
            }
            b'"' if in_tag => in_value = !in_value,
            b'>' if in_tag && !in_value => in_tag = false,
            _ => {}
        }
    }
    out.push_str(&html[copied..]);
    out
}

/// The address of the body's first image, as written: an HTML `<img src>` or a Markdown
/// `![alt](url)`, whichever comes first. Runs at load for every post, so it is SIMD
/// substring searches (`memmem`) and no rendering.
pub fn first_image(body: &str) -> Option<&str> {
    let bytes = body.as_bytes();
    let html_at = memchr::memmem::find(bytes, b"<img");
    let html = html_at.and_then(|at| {
        let tag = &body[at..];
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        let src = tag.find("src=")? + 4;
        let rest = &tag[src..];
        let value = match rest.chars().next()? {
            q @ ('"' | '\'') => rest[1..].split(q).next()?,
            _ => rest.split(|c: char| c.is_whitespace() || c == '>').next()?,
        };
        Some(value)
    });
    // A Markdown image after a usable `<img>` cannot come first: only the text before it is
    // searched then.
    let scope = match (html, html_at) {
        (Some(_), Some(at)) => &bytes[..at],
        _ => bytes,
    };
    let markdown = memchr::memmem::find(scope, b"![").and_then(|at| {
        let rest = &body[at..];
        let open = rest.find("](")? + 2;
        let target = &rest[open..];
        let end = target.find([')', ' ', '\n'])?;
        Some(&target[..end])
    });
    markdown.or(html).map(str::trim).filter(|v| !v.is_empty())
}

/// How deeply HTML may nest before a body is shown as plain text (see [`Renderer::render`]).
pub const MAX_NESTING: usize = 512;

/// Elements that never hold others, so never deepen the nesting.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// The deepest nesting of elements in `html`, by one linear scan of its tags: an open tag
/// deepens it, a close tag ends one level (an unclosed tag never does, as a parser would
/// keep it open). Comments and stray `<` may miscount slightly, always toward the safe side.
pub fn nesting_depth(html: &str) -> usize {
    let bytes = html.as_bytes();
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut i = 0;
    while let Some(lt) = bytes[i..].iter().position(|&b| b == b'<') {
        i += lt + 1;
        match bytes.get(i) {
            Some(b'/') => depth = depth.saturating_sub(1),
            Some(c) if c.is_ascii_alphabetic() => {
                let name_len = bytes[i..]
                    .iter()
                    .position(|b| !b.is_ascii_alphanumeric())
                    .unwrap_or(bytes.len() - i);
                let name = &html[i..i + name_len];
                // The tag ends at its `>`; a `<` first means it never closed. Stopping there
                // keeps the scan linear on input such as `<a<a<a…`.
                let end = bytes[i..]
                    .iter()
                    .position(|&b| b == b'>' || b == b'<')
                    .map(|e| i + e);
                let self_closing = end.is_some_and(|e| bytes[e] == b'>' && bytes[e - 1] == b'/');
                if !self_closing && !VOID.iter().any(|v| v.eq_ignore_ascii_case(name)) {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
            }
            _ => {}
        }
    }
    deepest
}

/// A body's text as one escaped paragraph: what is shown when its HTML cannot be parsed at a
/// reasonable cost. Linear in the length, and safe whatever the input.
fn as_plain_text(html: &str) -> String {
    let text = html_to_text(html);
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    match xml_clean(&escaped) {
        Cow::Borrowed(_) => format!("<p>{escaped}</p>"),
        Cow::Owned(cleaned) => format!("<p>{cleaned}</p>"),
    }
}

/// The sanitizer policy. It is rebuilt per post because the base for relative URLs is the
/// post's permalink; building it is a handful of small set insertions, negligible next to
/// parsing the HTML.
fn sanitizer(base: &Url) -> ammonia::Builder<'static> {
    let mut b = ammonia::Builder::default();
    b.add_tags([
        "figure",
        "figcaption",
        "picture",
        "source",
        "video",
        "audio",
    ])
    .add_tag_attributes("img", ["srcset", "sizes", "width", "height"])
    .add_tag_attributes("source", ["src", "srcset", "type", "media", "sizes"])
    .add_tag_attributes("video", ["src", "poster", "controls", "width", "height"])
    .add_tag_attributes("audio", ["src", "controls"])
    .add_tag_attributes("a", ["title"])
    .add_tag_attributes("ol", ["start", "reversed", "type"])
    .add_tag_attributes("li", ["value"])
    .add_tag_attributes("td", ["colspan", "rowspan", "align"])
    .add_tag_attributes("th", ["colspan", "rowspan", "align", "scope"])
    .add_tag_attributes("time", ["datetime"])
    .add_tag_attributes("input", ["type", "checked", "disabled"])
    .add_tags(["input"])
    .link_rel(None)
    .url_relative(ammonia::UrlRelative::RewriteWithBase(base.clone()))
    .strip_comments(true);
    let srcset_base = base.clone();
    b.attribute_filter(move |_element, attribute, value| match attribute {
        "srcset" => absolutize_srcset(value, &srcset_base).map(Cow::Owned),
        // Task-list checkboxes are the only inputs comrak writes; anything else goes.
        "type" if _element == "input" && value != "checkbox" => None,
        _ => Some(Cow::Borrowed(value)),
    });
    b
}

/// Rewrites each candidate URL of a `srcset` against `base`, keeping its descriptor. Returns
/// `None` (drop the attribute) when no candidate is an http(s) URL.
fn absolutize_srcset(value: &str, base: &Url) -> Option<String> {
    let mut out = Vec::new();
    for candidate in value.split(',') {
        let mut parts = candidate.split_whitespace();
        let Some(url) = parts.next() else { continue };
        let Ok(abs) = base.join(url) else { continue };
        if !matches!(abs.scheme(), "http" | "https") {
            continue;
        }
        let descriptor: Vec<&str> = parts.collect();
        if descriptor.is_empty() {
            out.push(abs.to_string());
        } else {
            out.push(format!("{} {}", abs, descriptor.join(" ")));
        }
    }
    (!out.is_empty()).then(|| out.join(", "))
}

/// The plain text of the first non-empty paragraph of sanitized HTML, cut to `max` graphemes;
/// the whole text when there is no paragraph.
pub fn summarize(html: &str, max: usize) -> String {
    let mut rest = html;
    while let Some(start) = find_p_open(rest) {
        let inner_start = match rest[start..].find('>') {
            Some(gt) => start + gt + 1,
            None => break,
        };
        let inner_end = rest[inner_start..]
            .find("</p>")
            .map_or(rest.len(), |e| inner_start + e);
        let text = html_to_text(&rest[inner_start..inner_end]);
        if !text.is_empty() {
            return truncate_graphemes(&text, max);
        }
        rest = &rest[inner_end..];
    }
    truncate_graphemes(&html_to_text(html), max)
}

fn find_p_open(s: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find("<p") {
        let at = from + i;
        match s.as_bytes().get(at + 2) {
            Some(b'>') | Some(b' ') => return Some(at),
            _ => from = at + 2,
        }
    }
    None
}

#[cfg(test)]
mod image_tests {
    use super::*;

    #[test]
    fn the_first_image_is_found_in_html_or_markdown() {
        assert_eq!(
            first_image("x <img alt=a src=\"/a.jpg\"> ![b](b.png)"),
            Some("/a.jpg")
        );
        assert_eq!(
            first_image("![b](b.png \"t\") <img src='a.jpg'>"),
            Some("b.png")
        );
        assert_eq!(
            first_image("<IMG src=x>"),
            None,
            "tags are lower case in practice"
        );
        assert_eq!(first_image("<img src=a.gif width=3>"), Some("a.gif"));
        assert_eq!(first_image("<img alt=none>"), None);
        assert_eq!(first_image("<img alt=none> ![b](b.png)"), Some("b.png"));
        assert_eq!(first_image("![a](a.png) <img alt=none>"), Some("a.png"));
        assert_eq!(first_image("no images"), None);
    }

    #[test]
    fn images_carry_no_referrer_and_load_lazily() {
        let base = Url::parse("https://example.org/p/").expect("url");
        let html = Renderer::new().render(
            "<img src=\"https://img.example/a.jpg\" width=\"640\" height=\"480\" loading=\"eager\">",
            &base,
        );
        assert!(html.contains("referrerpolicy=\"no-referrer\""), "{html}");
        assert!(html.contains("loading=\"lazy\""), "{html}");
        assert!(!html.contains("eager"), "{html}");
        assert!(
            html.contains("width=\"640\"") && html.contains("height=\"480\""),
            "{html}"
        );
        // Only image tags: not text, not attribute values that look like one.
        let html = Renderer::new().render("&lt;img x&gt; <img alt=\"<img y>\" src=a.png>", &base);
        assert_eq!(html.matches("referrerpolicy").count(), 1, "{html}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://example.org/blog/2022/05/26/post.html").unwrap()
    }

    #[test]
    fn renders_markdown_and_repairs_html() {
        let r = Renderer::new();
        let html = r.render(
            "<p><strong>标题</p>\n <p></strong>正文</p>\n\n**重要。**但是 \"quoted\"\n",
            &base(),
        );
        assert_eq!(
            html.matches("<strong>").count(),
            html.matches("</strong>").count()
        );
        assert!(html.contains("<strong>重要。</strong>但是"), "{html}");
        assert!(html.contains("“quoted”"), "{html}");
    }

    #[test]
    fn strips_what_is_unsafe() {
        let html = Renderer::new().render(
            "<script>alert(1)</script><p onclick=\"x()\" style=\"color:red\">hi</p>\
             <a href=\"javascript:alert(1)\">j</a><iframe src=\"//evil\"></iframe>",
            &base(),
        );
        assert!(!html.contains("script"), "{html}");
        assert!(!html.contains("onclick"), "{html}");
        assert!(!html.contains("style"), "{html}");
        assert!(!html.contains("javascript"), "{html}");
        assert!(!html.contains("iframe"), "{html}");
    }

    #[test]
    fn makes_urls_absolute() {
        let html = Renderer::new().render(
            "[a](//cdn.example.com/x) ![i](img.png) [r](/root)\n\n\
             <img srcset=\"a.png 1x, //cdn.example.com/b.png 2x\">\
             <video poster=\"p.jpg\" src=\"v.mp4\"></video>",
            &base(),
        );
        for expected in [
            "href=\"https://cdn.example.com/x\"",
            "src=\"https://example.org/blog/2022/05/26/img.png\"",
            "href=\"https://example.org/root\"",
            "srcset=\"https://example.org/blog/2022/05/26/a.png 1x, https://cdn.example.com/b.png 2x\"",
            "poster=\"https://example.org/blog/2022/05/26/p.jpg\"",
        ] {
            assert!(html.contains(expected), "missing {expected} in {html}");
        }
    }

    #[test]
    fn summarizes_first_paragraph() {
        assert_eq!(
            summarize("<h1>T</h1><p> </p><p>a &amp; b</p><p>c</p>", 10),
            "a & b"
        );
        assert_eq!(summarize("<p>山西晚报新闻</p>", 2), "山西…");
        assert_eq!(summarize("<ul><li>x</li></ul>", 10), "x");
    }

    #[test]
    fn measures_nesting_in_one_pass() {
        for (html, depth) in [
            ("", 0),
            ("<p>a</p><p>b</p>", 1),
            ("<div><p><b>x</b></p></div>", 3),
            ("<div><br><img src=x><hr/><span/></div>", 1),
            ("<div><div><div>", 3),
            ("a < b and c<d", 1),
            ("<a<a<a", 3),
            ("</div></div><p>", 1),
        ] {
            assert_eq!(nesting_depth(html), depth, "{html}");
        }
        assert_eq!(nesting_depth(&"<i>".repeat(10_000)), 10_000);
    }
}
