//! Atom 1.0 (RFC 4287), with RFC 5005 archive links and Media RSS thumbnails.

use std::collections::BTreeMap;

use atom_syndication::extension::{Extension, ExtensionMap};
use atom_syndication::{
    Category, Content, Entry, Feed, Generator, Link, Person, Text, WriteConfig,
};
use bytes::Bytes;

use super::{GENERATOR, PageView, RenderError};
use crate::posts::{Author, Body, Post};

pub(crate) const FH_NS: &str = "http://purl.org/syndication/history/1.0";
pub(crate) const MEDIA_NS: &str = "http://search.yahoo.com/mrss/";

pub(crate) fn render(view: &PageView<'_>) -> Result<Bytes, RenderError> {
    let mut links = vec![
        link(&view.self_url, "self", Some("application/atom+xml")),
        link(&view.home_url, "alternate", Some("text/html")),
    ];
    links.extend(view.hubs().iter().map(|hub| link(hub, "hub", None)));
    archive_links(view, &mut links, Some("application/atom+xml"));
    let mut namespaces = BTreeMap::new();
    let mut extensions = ExtensionMap::new();
    if view.is_archive {
        namespaces.insert("fh".to_owned(), FH_NS.to_owned());
        extensions.insert(
            "fh".to_owned(),
            BTreeMap::from([("archive".to_owned(), vec![element("fh:archive", &[])])]),
        );
    }
    if view.entries.iter().any(|p| p.image.is_some()) {
        namespaces.insert("media".to_owned(), MEDIA_NS.to_owned());
    }
    // RFC 4287 §4.1.1: a feed needs an author unless every entry has one. The feed-level
    // author is the site's, or the site itself by name.
    let feed_author = match &view.config.site.author {
        Some(a) => Person {
            name: a.name.clone(),
            email: a.email.clone(),
            uri: a.uri.clone(),
            extensions: ExtensionMap::new(),
        },
        None => Person {
            name: view.config.site.title.clone(),
            email: None,
            uri: Some(view.home_url.clone()),
            extensions: ExtensionMap::new(),
        },
    };
    let feed = Feed {
        title: Text::plain(view.title.clone()),
        id: view.feed_id.clone(),
        updated: view.updated_or_epoch(),
        authors: vec![feed_author],
        generator: Some(Generator {
            value: GENERATOR.to_owned(),
            uri: None,
            version: None,
        }),
        links,
        subtitle: Some(Text::plain(view.description.clone())),
        entries: view
            .items()
            .map(|(p, body, full)| entry(view, p, body, full))
            .collect(),
        extensions,
        namespaces,
        lang: view.config.site.language.clone(),
        ..Feed::default()
    };
    let config = WriteConfig {
        write_document_declaration: true,
        indent_size: None,
    };
    // Writing into a Vec cannot fail for I/O reasons and the values are plain strings, so an
    // error would be a writer bug; it is still reported rather than written as an empty body
    // that would go out with a valid ETag.
    let mut xml = feed
        .write_with_config(Vec::new(), config)
        .map_err(RenderError::Atom)?;
    if view.is_archive {
        archive_marker_first(&mut xml);
    }
    Ok(Bytes::from(super::hex_ampersands(xml)))
}

/// The writer puts feed extensions after the entries; RFC 4287's schema has every feed-level
/// element before the first entry, so `<fh:archive/>` moves there. (Entry text is escaped, so
/// the first `<entry>` and the only marker are the elements themselves.)
fn archive_marker_first(xml: &mut Vec<u8>) {
    const WRITTEN: &[u8] = b"<fh:archive></fh:archive>";
    const MARKER: &[u8] = b"<fh:archive/>";
    let Some(at) = find(xml, WRITTEN) else {
        return;
    };
    xml.drain(at..at + WRITTEN.len());
    let before = find(xml, b"<entry>")
        .or_else(|| find(xml, b"</feed>"))
        .unwrap_or(xml.len());
    xml.splice(before..before, MARKER.iter().copied());
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn entry(view: &PageView<'_>, post: &Post, body: &Body, full: bool) -> Entry {
    let lang = view.lang_of(post).map(str::to_owned);
    let mut extensions = ExtensionMap::new();
    if let Some(image) = &post.image {
        let elements = super::media_elements(image).map(|(name, attrs)| {
            let attrs: Vec<(&str, &str)> = attrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let local = name.trim_start_matches("media:").to_owned();
            (local, vec![element(name, &attrs)])
        });
        extensions.insert("media".to_owned(), BTreeMap::from(elements));
    }
    Entry {
        title: Text::plain(post.title.clone()),
        id: post.id.clone(),
        updated: post.last_change(),
        published: Some(post.date),
        authors: post.author.as_deref().map(person).into_iter().collect(),
        categories: post
            .categories
            .iter()
            .chain(&post.tags)
            .map(|name| Category {
                term: name.to_string(),
                scheme: None,
                label: None,
            })
            .collect(),
        links: vec![link(
            post.permalink.as_str(),
            "alternate",
            Some("text/html"),
        )],
        summary: Some(Text {
            lang: lang.clone(),
            ..Text::plain(&*body.summary)
        }),
        // Without content, the summary and the alternate link to the post stand in.
        content: full.then(|| Content {
            lang,
            value: Some(body.html.to_string()),
            content_type: Some("html".to_owned()),
            ..Content::default()
        }),
        extensions,
        ..Entry::default()
    }
}

fn person(a: &Author) -> Person {
    Person {
        name: a.name.clone(),
        email: a.email.clone(),
        uri: a.uri.clone(),
        extensions: ExtensionMap::new(),
    }
}

pub(crate) fn link(href: &str, rel: &str, mime: Option<&str>) -> Link {
    Link {
        href: href.to_owned(),
        rel: rel.to_owned(),
        mime_type: mime.map(str::to_owned),
        ..Link::default()
    }
}

/// RFC 5005 links, shared with RSS (which carries them as `atom:link`).
pub(crate) fn archive_links(view: &PageView<'_>, links: &mut Vec<Link>, mime: Option<&str>) {
    for (rel, href) in [
        ("current", &view.current_url),
        ("prev-archive", &view.prev_archive),
        ("next-archive", &view.next_archive),
    ] {
        if let Some(href) = href {
            links.push(link(href, rel, mime));
        }
    }
}

pub(crate) fn element(name: &str, attrs: &[(&str, &str)]) -> Extension {
    Extension {
        name: name.to_owned(),
        value: None,
        attrs: attrs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        children: BTreeMap::new(),
    }
}
