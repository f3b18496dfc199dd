//! A feed page as a person sees it in a browser: plain HTML, no script, no XSLT.
//!
//! Browsers are dropping XSLT, so a feed's XML would otherwise reach a person as raw markup.
//! This page says what the feed is, offers its address in every format to copy into a reader
//! (decoded, so `山西晚报新闻` reads as written), and lists the entries — title, date in the
//! post's own offset, author, summary, link — with older/newer archive navigation. It is a
//! page of the same feed as the XML documents (same scope, same page, same entries), served at
//! `.html` and, to browsers, at the feed's own URLs.
//!
//! maud escapes every interpolated value, so names and summaries from posts cannot inject
//! markup.

use bytes::Bytes;
use maud::{DOCTYPE, Markup, html};

use super::{DocId, Format, PageView, feed_url};
use crate::feeds::{Page, Scope};
use crate::posts::{Body, Post};

/// Where the page sits: its feed's scope, which page it is, and how many archive pages the
/// feed has, to name its siblings and neighbours.
pub(crate) struct Place<'a> {
    pub(crate) scope: &'a Scope,
    pub(crate) page: Page,
    pub(crate) pages: usize,
}

pub(crate) fn render(view: &PageView<'_>, place: &Place<'_>) -> Bytes {
    let config = view.config;
    let lang = config.site.language.as_deref().unwrap_or("en");
    let formats: Vec<(Format, String)> = Format::ALL
        .into_iter()
        .map(|format| {
            let id = DocId::Feed {
                scope: place.scope.clone(),
                page: place.page,
                format,
            };
            (format, feed_url(config, &id.path()))
        })
        .collect();
    let current_html = feed_url(
        config,
        &DocId::current(place.scope.clone(), Format::Html).path(),
    );
    let page = html! {
        (DOCTYPE)
        html lang=(lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (view.title) }
                @for (format, url) in &formats {
                    link rel="alternate" type=(format.media_type()) title=(view.title) href=(url);
                }
                style { (CSS) }
            }
            body {
                header {
                    h1 { (view.title) }
                    p.description { (view.description) }
                    @if let Page::Archive(n) = place.page {
                        p.notice {
                            "This is page " (n) " of the archive: older entries that no longer fit in "
                            a href=(current_html) { "the feed" }
                            "."
                        }
                    }
                }
                (subscribe(&formats))
                main {
                    @if view.entries.is_empty() {
                        p { "No entries yet." }
                    }
                    @for (post, body, _) in view.items() {
                        (entry(view, post, body))
                    }
                }
                (navigation(view, place))
                footer {
                    a href=(config.site.url.as_str()) { (config.site.title) }
                    " · "
                    a href=(feed_url(config, &DocId::Index.path())) { "all feeds" }
                }
            }
        }
    };
    Bytes::from(page.into_string())
}

/// The subscribe box: what a feed is, and each format's address to copy.
fn subscribe(formats: &[(Format, String)]) -> Markup {
    html! {
        section.subscribe aria-label="Subscribe" {
            p {
                strong { "This is a web feed." }
                " Copy an address below into a feed reader (NetNewsWire, Miniflux, FreshRSS, \
                  newsboat, Feedly…) to get new posts as they are published."
            }
            dl {
                @for (format, url) in formats {
                    dt { (format.label()) }
                    dd {
                        input readonly value=(readable(url)) aria-label=(format!("{} address", format.label()));
                    }
                }
            }
        }
    }
}

fn entry(view: &PageView<'_>, post: &Post, body: &Body) -> Markup {
    let names: Vec<(String, String)> = post
        .categories
        .iter()
        .map(|c| (c.to_string(), Scope::Category(c.to_string())))
        .chain(
            post.tags
                .iter()
                .map(|t| (format!("#{t}"), Scope::Tag(t.to_string()))),
        )
        .map(|(label, scope)| {
            let url = feed_url(view.config, &DocId::current(scope, Format::Html).path());
            (label, url)
        })
        .collect();
    html! {
        article lang=[view.lang_of(post)] {
            h2 { a href=(post.permalink.as_str()) { (post.title) } }
            p.meta {
                time datetime=(post.date.to_rfc3339()) { (post.date.format("%Y-%m-%d %H:%M (UTC%:z)")) }
                @if let Some(author) = &post.author {
                    " · " (author.name)
                }
                @for (label, url) in &names {
                    " · "
                    a href=(url) { (label) }
                }
            }
            @if !body.summary.is_empty() {
                p { (&*body.summary) }
            }
            p.more { a href=(post.permalink.as_str()) { "Read the post →" } }
        }
    }
}

/// Older and newer pages of the feed (RFC 5005's archives, as HTML pages).
fn navigation(view: &PageView<'_>, place: &Place<'_>) -> Markup {
    let page_url = |page: Page| {
        feed_url(
            view.config,
            &DocId::Feed {
                scope: place.scope.clone(),
                page,
                format: Format::Html,
            }
            .path(),
        )
    };
    let (older, newer) = match place.page {
        Page::Current => (
            (place.pages > 0).then_some(Page::Archive(place.pages)),
            None,
        ),
        Page::Archive(n) => (
            (n > 1).then(|| Page::Archive(n - 1)),
            Some(if n < place.pages {
                Page::Archive(n + 1)
            } else {
                Page::Current
            }),
        ),
    };
    html! {
        nav aria-label="Pages" {
            @if let Some(page) = older {
                a rel="prev" href=(page_url(page)) { "← Older entries" }
            } @else {
                span {}
            }
            @if let Some(page) = newer {
                a rel="next" href=(page_url(page)) { "Newer entries →" }
            }
        }
    }
}

/// A URL as people read it: percent-escapes of UTF-8 decoded, so a Chinese name shows as
/// written. Still a valid IRI, which feed readers accept when pasted.
fn readable(url: &str) -> String {
    percent_encoding::percent_decode_str(url)
        .decode_utf8()
        .map_or_else(|_| url.to_owned(), |s| s.into_owned())
}

const CSS: &str = "body{font:16px/1.55 system-ui,'Noto Sans CJK SC','PingFang SC',sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#222}\
h1{font-size:1.8rem;margin:.2rem 0}h2{font-size:1.2rem;margin:1.4rem 0 .2rem}\
.description{color:#555;margin-top:0}.notice{background:#fff8e1;padding:.5rem .8rem;border-radius:.3rem}\
.subscribe{background:#f1f5fb;border:1px solid #d5e1f2;border-radius:.4rem;padding:.6rem 1rem;margin:1rem 0}\
.subscribe dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem .8rem;margin:.5rem 0 0}.subscribe dt{font-weight:600}\
.subscribe dd{margin:0;display:flex;gap:.5rem;align-items:center}.subscribe input{flex:1;font:inherit;font-size:.9rem;padding:.15rem .3rem;min-width:0}\
article{border-bottom:1px solid #eee;padding-bottom:.6rem}.meta{color:#666;font-size:.9rem;margin:.1rem 0}\
.more{margin:.2rem 0;font-size:.9rem}nav{display:flex;justify-content:space-between;margin:1.5rem 0}footer{color:#666;font-size:.9rem;margin:2rem 0}\
@media (prefers-color-scheme:dark){body{background:#111;color:#ddd}a{color:#8ab4f8}.description,.meta,footer{color:#aaa}\
.subscribe{background:#1a2230;border-color:#2c3a52}.notice{background:#332b00}article{border-color:#333}}";
