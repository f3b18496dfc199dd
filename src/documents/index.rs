//! The HTML index at `/`: every feed with its post count and a link per format, and
//! autodiscovery links so pasting the service's address into a reader finds the site feeds.
//!
//! maud escapes every interpolated value, so names from posts cannot inject markup.

use std::sync::Arc;

use bytes::Bytes;
use maud::{DOCTYPE, Markup, html};

use super::{Context, DocId, Format, feed_title, feed_url};
use crate::feeds::{Feed, Scope};

pub(crate) fn render(ctx: Context<'_>) -> Bytes {
    let config = ctx.config;
    let site = &ctx.feeds.site;
    let page = html! {
        (DOCTYPE)
        html lang=(config.site.language.as_deref().unwrap_or("en")) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (config.site.title) " — feeds" }
                @for format in Format::ALL {
                    link rel="alternate" type=(format.media_type())
                        title=(format!("{} ({})", config.site.title, format.label()))
                        href=(feed_url(config, &DocId::current(Scope::Site, format).path()));
                }
                style { (CSS) }
            }
            body {
                header {
                    h1 { (config.site.title) }
                    p { (config.site.description) }
                    p {
                        "Subscribe to any feed below in your feed reader, or import "
                        a href=(feed_url(config, &DocId::Opml.path())) { "all of them as OPML" }
                        "."
                    }
                }
                main {
                    h2 id="site" { "Everything" }
                    (table(ctx, std::iter::once(site)))
                    @if !ctx.feeds.categories.is_empty() {
                        h2 id="categories" { "Categories" }
                        (table(ctx, ctx.feeds.categories.values()))
                    }
                    @if !ctx.feeds.tags.is_empty() {
                        h2 id="tags" { "Tags" }
                        (table(ctx, ctx.feeds.tags.values()))
                    }
                }
            }
        }
    };
    Bytes::from(page.into_string())
}

fn table<'a>(ctx: Context<'_>, feeds: impl Iterator<Item = &'a Arc<Feed>>) -> Markup {
    html! {
        table {
            thead { tr { th scope="col" { "Feed" } th scope="col" { "Posts" } th scope="col" { "Formats" } } }
            tbody {
                @for feed in feeds {
                    tr {
                        td {
                            a href=(feed_url(ctx.config, &DocId::current(feed.scope.clone(), Format::Html).path())) {
                                (feed.scope.name().map_or_else(|| feed_title(ctx.config, &feed.scope), str::to_owned))
                            }
                        }
                        td.count { (feed.posts.len()) }
                        td {
                            @for (i, format) in Format::ALL.into_iter().enumerate() {
                                @if i > 0 { " · " }
                                a href=(feed_url(ctx.config, &DocId::current(feed.scope.clone(), format).path()))
                                    type=(format.media_type()) { (format.label()) }
                            }
                        }
                    }
                }
            }
        }
    }
}

const CSS: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd}\
td.count{text-align:right;font-variant-numeric:tabular-nums}\
@media (prefers-color-scheme:dark){body{background:#111;color:#ddd}a{color:#8ab4f8}th,td{border-color:#333}}";
