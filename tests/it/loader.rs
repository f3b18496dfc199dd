//! The loader: the seed post, front-matter and date variants, bad inputs, and discovery.

use tidings::config::Config;
use tidings::posts::{self, Loaded, Reason, Source, dates::DateError};

use crate::support::{config, error, load, post, sample_dir, site};

const SEED: &str = "000_63a78f89bb4a24b3.txt";

fn seed_text() -> String {
    std::fs::read_to_string(sample_dir().join(SEED)).expect("the seed post ships in feeds/")
}

#[test]
fn loads_the_seed_post_faithfully() {
    let cfg = config("[site]\nurl = \"https://finews.withounder.com\"\n");
    let p = post(SEED, &seed_text(), &cfg);
    assert_eq!(p.title, "在高质量转型发展上迈出更大步伐");
    assert_eq!(p.date.to_rfc3339(), "2022-05-26T07:32:30+08:00");
    assert_eq!(
        p.date.naive_utc().to_string(),
        "2022-05-25 23:32:30",
        "the instant is 23:32:30 UTC the day before"
    );
    assert_eq!(crate::support::names(&p.categories), ["shanxiwanbao"]);
    assert_eq!(crate::support::names(&p.tags), ["山西晚报新闻"]);

    let body = p.render();
    let html = &body.html;
    assert!(
        !html.contains("\"//"),
        "a protocol-relative URL is left: {html}"
    );
    assert!(html.contains("href=\"https://finews.withounder.com/category/shanxiwanbao.html\""));
    assert!(html.contains("href=\"https://finews.withounder.com/\""));
    // The source autolink is absolute and a link.
    assert!(html.contains(
        "<a href=\"http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202205262391973170\">"
    ));
    // The broken `<p><strong>…</p><p></strong>` nesting comes out balanced and well-formed.
    assert_eq!(
        html.matches("<strong>").count(),
        html.matches("</strong>").count()
    );
    assert!(
        html.contains("<p><strong>持续推动产业转型加快融通开放步伐</strong></p>"),
        "{html}"
    );
    let wrapped = format!("<div>{}</div>", html.replace("&nbsp;", "\u{a0}"));
    roxmltree::Document::parse(&wrapped).expect("the body is well-formed markup");
    assert!(body.summary.starts_with("“坚持稳中求进工作总基调"));
    assert!(body.summary.chars().count() <= 201);
}

#[test]
fn the_sample_site_loads_without_errors() {
    let mut cfg = Config::defaults();
    cfg.content_dir = sample_dir();
    let catalog = load(&cfg.content_dir, &cfg);
    assert!(catalog.errors().is_empty(), "{:?}", catalog.errors());
    let posts = catalog.posts();
    assert!(posts.len() >= 60);
    let ids: std::collections::HashSet<_> = posts.iter().map(|p| &p.id).collect();
    assert_eq!(ids.len(), posts.len(), "ids are unique");
    assert!(
        posts.windows(2).all(|w| w[0].date >= w[1].date),
        "newest first"
    );
}

/// Front matter variants: (front matter, expected title, categories, tags).
#[test]
fn reads_front_matter_as_jekyll_does() {
    let cfg = Config::defaults();
    let cases: &[(&str, &str, &[&str], &[&str])] = &[
        (
            "title: Hello\ncategories: news local",
            "Hello",
            &["news", "local"],
            &[],
        ),
        (
            "title: 2024\ncategory: New York",
            "2024",
            &["New York"],
            &[],
        ),
        (
            "title: 3.5\ncategories: [a, 1, true]",
            "3.5",
            &["a", "1", "true"],
            &[],
        ),
        (
            "title: x\ncategories:\n  - a b\n  - c\ntags: t1 t2",
            "x",
            &["a b", "c"],
            &["t1", "t2"],
        ),
        (
            "title: x\ntag: 山西 晚报\ntags: [k]",
            "x",
            &[],
            &["k", "山西 晚报"],
        ),
        ("title: x\ntags: 2024", "x", &[], &["2024"]),
        ("title: x\ncategories: a a b", "x", &["a", "b"], &[]),
        ("title: \"  padded \\u0001 \"", "padded", &[], &[]),
        ("title: 'It''s & <b>'", "It's & <b>", &[], &[]),
        ("title: x\ncategories:\ntags: ~", "x", &[], &[]),
    ];
    for (fm, title, cats, tags) in cases {
        let text = format!("---\n{fm}\ndate: 2022-05-26\n---\nbody\n");
        let p = post("a.md", &text, &cfg);
        assert_eq!(&p.title, title, "{fm}");
        assert_eq!(crate::support::names(&p.categories), *cats, "{fm}");
        assert_eq!(crate::support::names(&p.tags), *tags, "{fm}");
    }
}

#[test]
fn derives_title_date_and_slug_from_the_file_name() {
    let cfg = config("[site]\ntimezone = \"Asia/Shanghai\"\nurl = \"https://example.org/\"\n");
    let p = post("2022-05-26-hello-big-world.md", "---\n---\nHi\n", &cfg);
    assert_eq!(p.title, "Hello Big World");
    assert_eq!(p.date.to_rfc3339(), "2022-05-26T00:00:00+08:00");
    assert_eq!(
        p.permalink.as_str(),
        "https://example.org/2022/05/26/hello-big-world.html"
    );
    // The front matter's date wins over the file name's.
    let p = post(
        "2022-05-26-x.md",
        "---\ndate: 2023-01-02 03:04:05 +0000\n---\n",
        &cfg,
    );
    assert_eq!(p.date.to_rfc3339(), "2023-01-02T03:04:05+00:00");
}

/// Date variants: (front matter date, site time zone, RFC 3339 result).
#[test]
fn reads_every_jekyll_date_form() {
    let cases = [
        (
            "2022-05-26 07:32:30 +0800",
            "UTC",
            "2022-05-26T07:32:30+08:00",
        ),
        (
            "2022-05-26 07:32:30 +08:00",
            "UTC",
            "2022-05-26T07:32:30+08:00",
        ),
        ("2022-05-26 07:32 +0800", "UTC", "2022-05-26T07:32:00+08:00"),
        (
            "2022-05-26T07:32:30Z",
            "Asia/Shanghai",
            "2022-05-26T07:32:30+00:00",
        ),
        (
            "2022-05-26T07:32:30+09:00",
            "UTC",
            "2022-05-26T07:32:30+09:00",
        ),
        (
            "\"2022-05-26 07:32:30 -0500\"",
            "UTC",
            "2022-05-26T07:32:30-05:00",
        ),
        (
            "2022-05-26 07:32:30",
            "Asia/Shanghai",
            "2022-05-26T07:32:30+08:00",
        ),
        ("2022-05-26 07:32:30", "UTC", "2022-05-26T07:32:30+00:00"),
        (
            "2022-05-26",
            "America/New_York",
            "2022-05-26T00:00:00-04:00",
        ),
        (
            "2022-01-26",
            "America/New_York",
            "2022-01-26T00:00:00-05:00",
        ),
    ];
    for (raw, tz, expected) in cases {
        let cfg = config(&format!("[site]\ntimezone = \"{tz}\"\n"));
        let p = post("a.md", &format!("---\ntitle: t\ndate: {raw}\n---\n"), &cfg);
        assert_eq!(p.date.to_rfc3339(), expected, "{raw} in {tz}");
    }
}

/// Bad inputs: (file name, bytes, expected reason, expected line).
#[test]
fn reports_bad_posts_clearly() {
    let cfg = config("[posts]\nmax_bytes = 2000\n");
    let bomb = "---\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n\
        b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n\
        d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n\
        f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n\
        h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\ndate: 2022-01-01\n---\n";
    let big = format!("---\ndate: 2022-01-01\n---\n{}", "x".repeat(3000));
    type Check = fn(&Reason) -> bool;
    let cases: Vec<(&str, Vec<u8>, Check, Option<usize>)> = vec![
        (
            "broken.md",
            b"---\ntitle: [unclosed\ndate: 2022-01-01\n---\n".to_vec(),
            |r| matches!(r, Reason::Yaml(_)),
            Some(3),
        ),
        (
            "unclosed.md",
            b"---\ntitle: x\ndate: 2022-01-01\nbody\n".to_vec(),
            |r| matches!(r, Reason::UnclosedFrontMatter),
            Some(1),
        ),
        (
            "list.md",
            b"---\n- a\n- b\n---\n".to_vec(),
            |r| matches!(r, Reason::NotAMapping(_)),
            Some(2),
        ),
        (
            "scalar.md",
            b"---\njust text\n---\n".to_vec(),
            |r| matches!(r, Reason::NotAMapping(_)),
            Some(2),
        ),
        (
            "bomb.md",
            bomb.as_bytes().to_vec(),
            |r| matches!(r, Reason::Yaml(_)),
            None,
        ),
        (
            "utf8.md",
            b"---\ntitle: \xff\xfe\ndate: 2022-01-01\n---\n".to_vec(),
            |r| matches!(r, Reason::InvalidUtf8(11)),
            Some(2),
        ),
        ("empty.md", Vec::new(), |r| matches!(r, Reason::Empty), None),
        (
            "nodate.md",
            b"---\ntitle: x\n---\nbody".to_vec(),
            |r| matches!(r, Reason::NoDate),
            None,
        ),
        (
            "impossible.md",
            b"---\ntitle: x\ndate: 2021-02-30 25:61:00\n---\n".to_vec(),
            |r| {
                matches!(
                    r,
                    Reason::BadDate {
                        field: "date",
                        error: DateError::Impossible(_)
                    }
                )
            },
            Some(3),
        ),
        (
            "garbage-date.md",
            b"---\ndate: next tuesday\n---\n".to_vec(),
            |r| {
                matches!(
                    r,
                    Reason::BadDate {
                        error: DateError::Unrecognised(_),
                        ..
                    }
                )
            },
            Some(2),
        ),
        (
            "big.md",
            big.into_bytes(),
            |r| matches!(r, Reason::TooLarge { limit: 2000, .. }),
            None,
        ),
        (
            "author.md",
            b"---\ndate: 2022-01-01\nauthor: {email: a@b.c}\n---\n".to_vec(),
            |r| {
                matches!(
                    r,
                    Reason::BadField {
                        field: "author",
                        ..
                    }
                )
            },
            Some(3),
        ),
    ];
    for (name, bytes, expected, line) in cases {
        let e = error(name, &bytes, &cfg);
        assert!(
            expected(&e.reason),
            "{name}: unexpected reason {:?}",
            e.reason
        );
        if line.is_some() {
            assert_eq!(e.line, line, "{name}: {e}");
        }
        // The path is the load stage's to add (`tidings check` shows `path:line: reason`);
        // the loader's own error says the line and the reason.
        let shown = e.to_string();
        assert!(shown.ends_with(&e.reason.to_string()), "{shown}");
        if let Some(l) = e.line {
            assert!(shown.starts_with(&format!("line {l}: ")), "{shown}");
        }
    }
}

#[test]
fn accepts_bom_crlf_and_skips_non_posts() {
    let cfg = Config::defaults();
    let p = post(
        "a.md",
        "\u{feff}---\r\ntitle: CRLF\r\ndate: 2022-05-26\r\n---\r\n# Head\r\n\r\ntext\r\n",
        &cfg,
    );
    assert_eq!(p.title, "CRLF");
    assert!(p.render().html.contains("<h1>Head</h1>"));
    for text in ["no front matter\n", "----\nx\n", "\0\0binary"] {
        assert!(matches!(
            posts::load_post(&Source::new("a.md", text.as_bytes()), &cfg),
            Ok(Loaded::NotAPost)
        ));
    }
    assert!(matches!(
        posts::load_post(&Source::new("a.md", b"---\npublished: false\n---\n"), &cfg),
        Ok(Loaded::Unpublished)
    ));
}

#[test]
fn ids_survive_changes_of_host_permalink_title_and_categories() {
    let a = config(
        "[site]\nurl = \"https://a.example\"\n[posts]\nid_authority = \"example.org,2022\"\n",
    );
    let b = config(
        "[site]\nurl = \"http://b.example/blog\"\n[posts]\nid_authority = \"example.org,2022\"\npermalink = \"pretty\"\n",
    );
    let p1 = post(
        "news/山西 1.md",
        "---\ntitle: A\ncategories: x\ndate: 2022-05-26\n---\nv1",
        &a,
    );
    let p2 = post(
        "news/山西 1.md",
        "---\ntitle: B\ncategories: y\ndate: 2022-05-26\n---\nv2",
        &b,
    );
    assert_eq!(p1.id, p2.id);
    assert_eq!(p1.id, "tag:example.org,2022:news/%E5%B1%B1%E8%A5%BF%201.md");
    assert_ne!(p1.permalink, p2.permalink);
    // An explicit id or guid wins.
    let p = post(
        "a.md",
        "---\nguid: urn:uuid:1234\ndate: 2022-05-26\n---\n",
        &a,
    );
    assert_eq!(p.id, "urn:uuid:1234");
    // jekyll-feed's ids, for sites moving from it.
    let j = config("[site]\nurl = \"https://example.org\"\n[posts]\nid_scheme = \"jekyll-feed\"\n");
    let p = post("2022-05-26-hello.md", "---\ncategories: news\n---\n", &j);
    assert_eq!(p.id, "https://example.org/news/2022/05/26/hello");
}

#[test]
fn builds_permalinks_and_carries_other_fields() {
    let cfg = config(
        "[site]\nurl = \"https://example.org\"\ntimezone = \"Asia/Shanghai\"\n\
         [site.author]\nname = \"Desk\"\nemail = \"desk@example.org\"\n",
    );
    let p = post(
        "2022-05-25-新闻.md",
        "---\ntitle: t\ncategories: 山西\ndate: 2022-05-25 23:32:30 +0000\n\
         image: /img/a.png\nlang: zh-CN\nlast_modified_at: 2022-06-01 10:00:00 +0800\n\
         description: '  A   short  summary '\n---\nBody",
        &cfg,
    );
    // Placeholders use the date in the site's zone: 23:32 UTC is the 26th in Shanghai.
    assert_eq!(
        p.permalink.as_str(),
        "https://example.org/%E5%B1%B1%E8%A5%BF/2022/05/26/%E6%96%B0%E9%97%BB.html"
    );
    assert_eq!(
        p.date.to_rfc3339(),
        "2022-05-25T23:32:30+00:00",
        "own offset kept"
    );
    assert_eq!(p.author.as_ref().map(|a| a.name.as_str()), Some("Desk"));
    assert_eq!(
        p.image.as_ref().map(|u| u.as_str()),
        Some("https://example.org/img/a.png")
    );
    assert_eq!(p.lang.as_deref(), Some("zh-CN"));
    assert_eq!(
        p.updated.map(|d| d.to_rfc3339()).as_deref(),
        Some("2022-06-01T10:00:00+08:00")
    );
    assert_eq!(&*p.render().summary, "A short summary");

    let p = post(
        "x.md",
        "---\ndate: 2022-05-26\npermalink: /custom/:title/\nauthor:\n  name: Li\n  uri: /li\n---\n",
        &cfg,
    );
    assert_eq!(p.permalink.as_str(), "https://example.org/custom/x/");
    let author = p.author.expect("author");
    assert_eq!(author.name, "Li");
    assert_eq!(author.uri.as_deref(), Some("https://example.org/li"));
}

#[test]
fn summaries_cut_chinese_on_graphemes() {
    let cfg = config("[posts]\nsummary_length = 5\n");
    let p = post(
        "a.md",
        "---\ndate: 2022-05-26\n---\n<p>在高质量转型发展上迈出更大步伐</p>\n\nsecond",
        &cfg,
    );
    assert_eq!(&*p.render().summary, "在高质量转…");
}

#[test]
fn discovers_posts_as_jekyll_does() {
    let post_bytes: &[u8] = b"---\ndate: 2022-05-26\n---\nx";
    let dir = site(&[
        ("a.md", post_bytes),
        ("deep/er/b.markdown", post_bytes),
        ("c.txt", post_bytes),
        ("d.HTML", post_bytes),
        ("e.htm", post_bytes),
        ("_posts/f.md", post_bytes),
        (".hidden.md", post_bytes),
        (".git/g.md", post_bytes),
        ("_drafts/h.md", post_bytes),
        ("a.md~", post_bytes),
        ("#a.md#", post_bytes),
        ("a.rst", post_bytes),
        ("plain.md", b"no front matter"),
    ]);
    // A link out of the content directory is not followed, a link cycle is not looped, and a
    // file reachable through a link inside is read once, under its own path.
    let outside = site(&[("secret.md", post_bytes)]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        symlink(outside.path().join("secret.md"), dir.path().join("out.md")).unwrap();
        symlink(outside.path(), dir.path().join("outdir")).unwrap();
        symlink(dir.path(), dir.path().join("deep/loop")).unwrap();
        symlink(dir.path().join("deep"), dir.path().join("alias")).unwrap();
    }
    let cfg = Config::defaults();
    let catalog = load(dir.path(), &cfg);
    let posts = catalog.posts();
    let mut sources: Vec<&str> = posts.iter().map(|p| p.source.as_str()).collect();
    sources.sort();
    assert_eq!(
        sources,
        [
            "_posts/f.md",
            "a.md",
            "c.txt",
            "d.HTML",
            "deep/er/b.markdown",
            "e.htm"
        ]
    );
    assert!(catalog.errors().is_empty(), "{:?}", catalog.errors());
    assert_eq!(catalog.skipped_count(), 1, "plain.md has no front matter");
}

#[test]
fn one_bad_file_never_hides_another() {
    let dir = site(&[
        ("good1.md", b"---\ndate: 2022-05-26\n---\nx"),
        ("bad1.md", b"---\ndate: [\n---\n"),
        ("good2.md", b"---\ndate: 2022-05-27\n---\ny"),
        ("bad2.md", b""),
    ]);
    let catalog = load(dir.path(), &Config::defaults());
    assert_eq!(catalog.post_count(), 2);
    let errors = catalog.errors();
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["bad1.md", "bad2.md"]);
}
