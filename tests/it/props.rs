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

/// Scalars whose type is easy to get wrong: every null, boolean and number spelling YAML
/// knows (and near misses), quoting, block scalars, anchors, tags and indicators.
const TRICKY: &[&str] = &[
    "",
    "~",
    "null",
    "Null",
    "NULL",
    "nUll",
    "true",
    "Yes",
    "ON",
    "y",
    "N",
    "off",
    "0",
    "-0",
    "007",
    "+12",
    "-12",
    "1_000",
    "1__2",
    "-1_0",
    "0x1F",
    "0X1F",
    "0x",
    "0o17",
    "0o",
    "0b101",
    "1e3",
    "1E-3",
    "0.1e+3",
    "12e",
    "1.",
    "0.",
    ".5",
    "-.5",
    ".",
    "._",
    ".inf",
    "-.Inf",
    ".nan",
    "+.nan",
    "1e400",
    "18446744073709551616",
    "-9223372036854775809",
    "1.2.3",
    "12:30",
    "1:20:30",
    "2018-05-19",
    "2018-05-19 22:06:29 +0800",
    "2001-12-14t21:59:43.10-05:00",
    "1,000",
    "'1'",
    "\"2\"",
    "'~'",
    "''",
    "\"\"",
    "abc",
    "山西晚报",
    "a b c",
    "x # note",
    "-",
    "&a 1",
    "*a",
    "!!str 1",
    "!x y",
    "[1, b]",
    "[]",
    "{a: 1}",
    "{}",
    "|\n  lit",
    ">\n  fold",
    "\"esc\\u0041\\n\"",
    "'it''s'",
    "...",
    "--- x",
    "@x",
    "`x",
    "%x",
    "? x",
    ":x",
    "x:y",
    "<<",
    "[a, [b, [c]]]",
    "{a: [1, {b: 2}]}",
];

fn tricky() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(TRICKY).prop_map(str::to_owned),
        1 => "[ -~]{0,8}",
    ]
}

/// One front-matter line (or block): a key, and a scalar, a flow value or a block list or
/// mapping under it.
fn entry() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            3 => "[a-z]{1,6}".prop_map(|k| k),
            1 => tricky(),
        ],
        prop_oneof![
            4 => tricky().prop_map(|v| format!(" {v}")),
            1 => proptest::collection::vec(tricky(), 0..4)
                .prop_map(|items| items.iter().map(|i| format!("\n  - {i}")).collect()),
            1 => proptest::collection::vec(("[a-z]{1,3}", tricky()), 0..3).prop_map(|kv| {
                kv.iter().map(|(k, v)| format!("\n  {k}: {v}")).collect()
            }),
        ],
    )
        .prop_map(|(k, v)| format!("{k}:{v}\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    /// Front matter read quickly from the parser's events is exactly what serde-saphyr reads
    /// (the fuzz target `front_matter` checks the same on arbitrary text).
    #[test]
    fn quick_front_matter_reading_agrees_with_serde(
        lines in proptest::collection::vec(entry(), 1..6),
    ) {
        let yaml = lines.concat();
        if let Some(quick) = posts::front_matter::read_events(&yaml) {
            prop_assert_eq!(Ok(quick), posts::front_matter::parse_yaml_with_serde(&yaml), "{}", yaml);
        }
    }
}

#[test]
fn quick_front_matter_reading_covers_the_common_shapes() {
    // The shapes a news site writes must not fall back to the slow path, or the start pays
    // for it on every post.
    for yaml in [
        "layout: post\ntitle: \"我省累计开行\"\ndate: 2018-05-19 22:06:29 +0800\ncategories: shanxiwanbao\ntags: 山西晚报新闻\n",
        "title: Plain words, no\ncategories:\n  - a\n  - b\ntags: [x, y]\nauthor:\n  name: Wang\n  email: w@example.com\n",
        "title: 2024\ndate: 2018-05-19\npublished: true\n",
    ] {
        let quick = posts::front_matter::read_events(yaml);
        assert!(quick.is_some(), "{yaml}");
        assert_eq!(
            quick.ok_or(()),
            posts::front_matter::parse_yaml_with_serde(yaml).map_err(|_| ())
        );
    }
}
