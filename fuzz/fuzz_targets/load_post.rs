//! Arbitrary bytes as a post file: `load_post` must never panic, and every post it accepts must
//! hold only text an XML 1.0 document can carry, because the feed writers trust that and do
//! not check again.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use tidings::config::Config;
use tidings::posts::text::is_xml_char;
use tidings::posts::{Loaded, Source, load_post};

// Resolving the defaults costs far more than a small input does; build them once per process.
static CONFIG: LazyLock<Config> = LazyLock::new(Config::defaults);

fn assert_xml_text(field: &str, value: &str) {
    if let Some((at, c)) = value.char_indices().find(|&(_, c)| !is_xml_char(c)) {
        panic!(
            "{field} holds U+{:04X}, which XML 1.0 forbids, at byte {at}: {value:?}",
            u32::from(c)
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(Loaded::Post(post)) = load_post(&Source::new("2022-01-01-fuzz.md", data), &CONFIG) else {
        return;
    };
    // Rendering is lazy: force it, or the Markdown renderer and sanitizer are never reached.
    let body = post.render();
    let (content_html, summary) = (body.html, body.summary);

    assert_xml_text("title", &post.title);
    assert_xml_text("id", &post.id);
    assert_xml_text("summary", &summary);
    assert_xml_text("content_html", &content_html);
    for category in &post.categories {
        assert_xml_text("category", category);
    }
    for tag in &post.tags {
        assert_xml_text("tag", tag);
    }
    if let Some(author) = &post.author {
        assert_xml_text("author.name", &author.name);
        if let Some(email) = &author.email {
            assert_xml_text("author.email", email);
        }
        if let Some(uri) = &author.uri {
            assert_xml_text("author.uri", uri);
        }
    }
    if let Some(lang) = &post.lang {
        assert_xml_text("lang", lang);
    }
    if let Some(description) = &post.description {
        assert_xml_text("description", description);
    }
});
