//! Property tests: no bytes can make the loader panic or emit text XML forbids.

use proptest::prelude::*;
use tidings::config::Config;
use tidings::posts::{self, Loaded, Source, text::is_xml_char};

fn assert_xml_clean(field: &str, s: &str) {
    assert!(
        s.chars().all(is_xml_char),
        "{field} holds a forbidden character: {s:?}"
    );
}

fn check_bytes(bytes: &[u8]) {
    let cfg = Config::defaults();
    if let Ok(Loaded::Post(p)) = posts::load_post(&Source::new("2022-01-01-p.md", bytes), &cfg) {
        assert_xml_clean("title", &p.title);
        assert_xml_clean("id", &p.id);
        let body = p.render();
        assert_xml_clean("summary", &body.summary);
        assert_xml_clean("html", &body.html);
        for name in p.categories.iter().chain(&p.tags) {
            assert_xml_clean("name", name);
        }
        if let Some(a) = &p.author {
            assert_xml_clean("author", &a.name);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        check_bytes(&bytes);
    }

    #[test]
    fn arbitrary_posts_never_panic_or_leak_forbidden_characters(
        title in "\\PC{0,20}|[\\x00-\\x1f\\u{fffe}\\u{ffff}a]{0,10}",
        cats in "[a-z \\x00-\\x08]{0,12}",
        body in "(\\PC|[\\x00-\\x1f]|&#[0-9]{1,3};|<[a-z/]{1,6}>|\\*\\*|\n){0,80}",
    ) {
        let title_yaml = format!("{:?}", title);
        let text = format!("---\ntitle: {title_yaml}\ncategories: {cats:?}\n---\n{body}");
        check_bytes(text.as_bytes());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// The property the `request_path` fuzz target checks at length: the URL contract has one
    /// spelling per document, whatever a client sends.
    #[test]
    fn request_paths_parse_back_to_themselves(
        path in "(/(feed|category|tag|a%2F|%E5%B1%B1|archive|[0-9]{1,3}|\\.\\.|%00|[a-z ]{0,6})){1,4}(\\.(atom|rss|json|xml|opml|xsl|html))?",
    ) {
        if let Some(id) = tidings::documents::DocId::parse(&path) {
            prop_assert_eq!(tidings::documents::DocId::parse(&id.path()), Some(id));
        }
    }

    /// The `conditional` fuzz target's properties: no header breaks a decision, and a list
    /// naming the current ETag after unquoted junk matches it.
    #[test]
    fn conditional_headers_never_break_a_decision(
        junk in "[^\"]{0,40}",
        since in "\\PC{0,40}",
        accept in "\\PC{0,40}",
    ) {
        use tidings::http::conditional::{Outcome, decide};
        use tidings::http::negotiate::{self, Available, Coding};
        const ETAG: &str = "W/\"0123456789abcdef0123456789abcdef\"";
        let _ = decide(Some(&junk), Some(&since), ETAG, None);
        let listed = format!("{junk}, {ETAG}");
        prop_assert_eq!(decide(Some(&listed), Some(&since), ETAG, None), Outcome::NotModified);
        prop_assert_eq!(negotiate::choose(Some(&accept), Available::IdentityOnly), Coding::Identity);
        let _ = negotiate::client(Some(&accept));
    }
}
