//! JSON Feed 1.1, with our own serde types: the format is small, and owning the types keeps
//! field order (and so the bytes) under our control.

use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;

use super::{PageView, RenderError};
use crate::posts::{Author, Body, Post};

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: &'a str,
    feed_url: &'a str,
    description: &'a str,
    /// JSON Feed's paging: the next page holds older items, so this is RFC 5005's
    /// prev-archive.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<JsonAuthor<'a>>,
    /// JSON Feed 1.1's push endpoints: one per WebSub hub.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<JsonHub<'a>>,
    items: Vec<JsonItem<'a>>,
}

#[derive(Serialize)]
struct JsonHub<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    url: &'a str,
}

#[derive(Serialize)]
struct JsonAuthor<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonItem<'a> {
    id: &'a str,
    url: &'a str,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_html: Option<Arc<str>>,
    /// The summary stands in for content an item does not carry (JSON Feed needs one).
    #[serde(skip_serializing_if = "Option::is_none")]
    content_text: Option<Arc<str>>,
    summary: Arc<str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    banner_image: Option<&'a str>,
    date_published: String,
    date_modified: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<JsonAuthor<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
}

pub(crate) fn render(view: &PageView<'_>) -> Result<Bytes, RenderError> {
    let hubs = view.hubs();
    let feed = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: &view.title,
        home_page_url: &view.home_url,
        feed_url: &view.self_url,
        description: &view.description,
        next_url: view.prev_archive.as_deref(),
        language: view.config.site.language.as_deref(),
        hubs: hubs
            .iter()
            .map(|url| JsonHub {
                kind: "WebSub",
                url,
            })
            .collect(),
        authors: view
            .config
            .site
            .author
            .iter()
            .map(|a| JsonAuthor {
                name: &a.name,
                url: a.uri.as_deref(),
            })
            .collect(),
        items: view
            .items()
            .map(|(p, body, full)| item(view, p, body, full))
            .collect(),
    };
    // Serializing plain strings into a Vec cannot fail; if it ever did, the error is reported
    // rather than sent as an empty body.
    serde_json::to_vec(&feed)
        .map(Bytes::from)
        .map_err(RenderError::Json)
}

fn item<'a>(view: &'a PageView<'_>, post: &'a Post, body: &Body, full: bool) -> JsonItem<'a> {
    JsonItem {
        id: &post.id,
        url: post.permalink.as_str(),
        title: &post.title,
        content_html: full.then(|| Arc::clone(&body.html)),
        content_text: (!full).then(|| Arc::clone(&body.summary)),
        summary: Arc::clone(&body.summary),
        image: post.image.as_ref().map(|u| u.as_str()),
        // The lead image doubles as the banner readers show above the item.
        banner_image: post.image.as_ref().map(|u| u.as_str()),
        date_published: post.date.to_rfc3339(),
        date_modified: post.last_change().to_rfc3339(),
        authors: post.author.as_deref().map(author).into_iter().collect(),
        tags: post
            .categories
            .iter()
            .chain(&post.tags)
            .map(|n| &**n)
            .collect(),
        language: view.lang_of(post),
    }
}

fn author(a: &Author) -> JsonAuthor<'_> {
    JsonAuthor {
        name: &a.name,
        url: a.uri.as_deref(),
    }
}
