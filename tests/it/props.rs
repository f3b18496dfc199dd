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
