//! RSS 2.0, with `content:encoded`, `dc:creator`, `atom:link` self and RFC 5005 archive
//! links, and Media RSS thumbnails.

use std::collections::BTreeMap;

use bytes::Bytes;
use rss::extension::atom::AtomExtension;
use rss::extension::dublincore::DublinCoreExtension;
use rss::extension::{Extension, ExtensionMap};
use rss::{Category, Channel, Enclosure, Guid, Item};

use super::atom::{FH_NS, MEDIA_NS, archive_links, link};
use super::{GENERATOR, PageView, RenderError, text_as_html};
use crate::posts::{Body, Post};

pub(crate) fn render(view: &PageView<'_>) -> Result<Bytes, RenderError> {
    let mut links = vec![link(&view.self_url, "self", Some("application/rss+xml"))];
    links.extend(view.hubs().iter().map(|hub| link(hub, "hub", None)));
    archive_links(view, &mut links, Some("application/rss+xml"));
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
    // `ttl` is in minutes and must agree with Cache-Control's max-age (seconds), rounded up
    // so a reader never polls sooner than the cache allows.
    let ttl = view.config.feeds.max_age.div_ceil(60).max(1);
    let channel = Channel {
        title: view.title.clone(),
        link: view.home_url.clone(),
        description: view.description.clone(),
        language: view.config.site.language.clone(),
        last_build_date: view.updated.map(|d| d.to_rfc2822()),
        generator: Some(GENERATOR.to_owned()),
        docs: Some("https://www.rssboard.org/rss-specification".to_owned()),
        ttl: Some(ttl.to_string()),
        items: view
            .items()
            .map(|(p, body, full)| item(p, body, full))
            .collect(),
        extensions,
        atom_ext: Some(AtomExtension { links }),
        namespaces,
        ..Channel::default()
    };
    // See atom.rs: writing to a Vec only fails on a writer bug, which is reported.
    let xml = channel.write_to(Vec::new()).map_err(RenderError::Rss)?;
    Ok(Bytes::from(super::hex_ampersands(xml)))
}

fn item(post: &Post, body: &Body, full: bool) -> Item {
    let mut extensions = ExtensionMap::new();
    if let Some(image) = &post.image {
        let elements = super::media_elements(image).map(|(name, attrs)| {
            let attrs: Vec<(&str, &str)> = attrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let local = name.trim_start_matches("media:").to_owned();
            (local, vec![element(name, &attrs)])
        });
        extensions.insert("media".to_owned(), BTreeMap::from(elements));
    }
    Item {
        title: Some(post.title.clone()),
        link: Some(post.permalink.to_string()),
        // `description` is HTML by RSS practice; the summary is plain text, so it is escaped
        // to show exactly as written.
        description: Some(text_as_html(&body.summary)),
        categories: post
            .categories
            .iter()
            .chain(&post.tags)
            .map(|name| Category {
                name: name.to_string(),
                domain: None,
            })
            .collect(),
        guid: Some(Guid {
            permalink: post.id == post.permalink.as_str(),
            value: post.id.clone(),
        }),
        // RFC 822 with a four-digit year and the post's own numeric offset.
        pub_date: Some(post.date.to_rfc2822()),
        // Without content, `description` (the summary) and `link` stand in.
        content: full.then(|| body.html.to_string()),
        // `author` must be an email address in RSS; a name goes in `dc:creator`, and never
        // both, which some readers would show twice.
        dublin_core_ext: post.author.as_ref().map(|a| DublinCoreExtension {
            creators: vec![a.name.clone()],
            ..DublinCoreExtension::default()
        }),
        // An enclosure needs a type (and a length, unknown here: 0, as RSS practice allows).
        enclosure: post.image.as_ref().and_then(|image| {
            super::image_type(image).map(|kind| Enclosure {
                url: image.to_string(),
                length: "0".to_owned(),
                mime_type: kind.to_owned(),
            })
        }),
        extensions,
        ..Item::default()
    }
}

fn element(name: &str, attrs: &[(&str, &str)]) -> Extension {
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
