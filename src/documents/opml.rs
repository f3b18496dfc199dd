//! OPML 2.0: every feed, grouped by kind, so a reader can subscribe to all of them at once.

use std::sync::Arc;

use bytes::Bytes;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::{Context, DocId, Format, RenderError, feed_title, feed_url};
use crate::feeds::Feed;

pub(crate) fn render(ctx: Context<'_>) -> Result<Bytes, RenderError> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing to a Vec fails only on a writer bug; a document cut short is reported, never
    // served.
    write(ctx, &mut w).map_err(RenderError::Opml)?;
    let mut out = w.into_inner();
    out.push(b'\n');
    Ok(Bytes::from(out))
}

fn write(ctx: Context<'_>, w: &mut Writer<Vec<u8>>) -> std::io::Result<()> {
    let config = ctx.config;
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let mut opml = BytesStart::new("opml");
    opml.push_attribute(("version", "2.0"));
    w.write_event(Event::Start(opml))?;

    w.write_event(Event::Start(BytesStart::new("head")))?;
    text_element(w, "title", &format!("{} — feeds", config.site.title))?;
    if let Some(updated) = Feed::last_change(&ctx.feeds.site.posts) {
        text_element(w, "dateModified", &updated.to_rfc2822())?;
    }
    text_element(w, "docs", "http://opml.org/spec2.opml")?;
    w.write_event(Event::End(BytesEnd::new("head")))?;

    w.write_event(Event::Start(BytesStart::new("body")))?;
    group(ctx, w, ("Site", "site"), std::iter::once(&ctx.feeds.site))?;
    group(
        ctx,
        w,
        ("Categories", "categories"),
        ctx.feeds.categories.values(),
    )?;
    group(ctx, w, ("Tags", "tags"), ctx.feeds.tags.values())?;
    w.write_event(Event::End(BytesEnd::new("body")))?;
    w.write_event(Event::End(BytesEnd::new("opml")))?;
    Ok(())
}

/// One kind of feed, as an outline holding the feeds. OPML 2.0 gives every outline a type; a
/// group is a `link` to its section of the HTML index (`anchor`), where the same feeds are
/// listed for people.
fn group<'a>(
    ctx: Context<'_>,
    w: &mut Writer<Vec<u8>>,
    (label, anchor): (&str, &str),
    feeds: impl Iterator<Item = &'a Arc<Feed>>,
) -> std::io::Result<()> {
    let mut feeds = feeds.peekable();
    if feeds.peek().is_none() {
        return Ok(());
    }
    let section = format!("{}#{anchor}", feed_url(ctx.config, &DocId::Index.path()));
    let mut outer = BytesStart::new("outline");
    outer.push_attribute(("type", "link"));
    outer.push_attribute(("text", label));
    outer.push_attribute(("title", label));
    outer.push_attribute(("url", section.as_str()));
    w.write_event(Event::Start(outer))?;
    for feed in feeds {
        let title = feed_title(ctx.config, &feed.scope);
        let xml_url = feed_url(
            ctx.config,
            &DocId::current(feed.scope.clone(), Format::Atom).path(),
        );
        let mut o = BytesStart::new("outline");
        // quick-xml escapes attribute values, so names with `&`, `<` or quotes are safe.
        o.push_attribute(("type", "rss"));
        o.push_attribute(("text", title.as_str()));
        o.push_attribute(("title", title.as_str()));
        o.push_attribute(("xmlUrl", xml_url.as_str()));
        o.push_attribute(("htmlUrl", ctx.config.site.url.as_str()));
        w.write_event(Event::Empty(o))?;
    }
    w.write_event(Event::End(BytesEnd::new("outline")))?;
    Ok(())
}

fn text_element(w: &mut Writer<Vec<u8>>, name: &str, text: &str) -> std::io::Result<()> {
    w.write_event(Event::Start(BytesStart::new(name)))?;
    w.write_event(Event::Text(BytesText::new(text)))?;
    w.write_event(Event::End(BytesEnd::new(name)))?;
    Ok(())
}
