//! A feed opened in a real browser: Debian's Chromium, headless, with XSLT disabled (as
//! browsers are about to ship), on the sample site. The page must be readable HTML — the
//! feed's title, the subscribe box with decoded addresses, the entries — reached through
//! Chromium's own `Accept` header at the feed's URL. Screenshots of the index, a category
//! feed and a Chinese tag feed are kept in `target/screenshots/` for people to look at.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::Served;

fn chromium() -> PathBuf {
    let path = std::env::var_os("TIDINGS_TEST_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.exists(),
        "{} is missing: this test drives a real browser; scripts/test installs Debian's chromium",
        path.display()
    );
    path
}

/// Chromium, headless and quiet, with XSLT off and a profile of its own; `what` is
/// `--dump-dom` or a screenshot, of `url`.
fn run_chromium(profile: &Path, what: &[String], url: &str) -> std::process::Output {
    Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            "--disable-features=XSLT",
            "--hide-scrollbars",
            "--window-size=1100,1500",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(what)
        .arg(url)
        .output()
        .expect("run chromium")
}

fn copy_sample() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(crate::support::sample_dir()).expect("sample") {
        let entry = entry.expect("entry");
        if entry.file_type().expect("type").is_file() {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
        }
    }
    dir
}

#[test]
fn a_feed_opened_in_a_browser_without_xslt_is_a_readable_page() {
    let served = Served::start_in(copy_sample(), "");
    let base = format!("http://{}", served.running.addr);
    let profile = tempfile::tempdir().expect("profile");
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&shots).expect("screenshots folder");
    let tag = "山西晚报新闻";
    let tag_path = format!(
        "/tag/{}.atom",
        percent_encoding::utf8_percent_encode(tag, percent_encoding::NON_ALPHANUMERIC)
    );
    for (name, path) in [
        ("index", "/"),
        ("category", "/category/shanxiwanbao.rss"),
        ("tag", tag_path.as_str()),
    ] {
        let url = format!("{base}{path}");
        let dom = run_chromium(profile.path(), &["--dump-dom".into()], &url);
        assert!(
            dom.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&dom.stderr)
        );
        let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
        assert!(dom.contains("<h1>"), "{name}: no heading in {dom}");
        assert!(
            !dom.contains("<rss") && !dom.contains("<feed"),
            "{name}: raw XML shown"
        );
        if name != "index" {
            // The title, the subscribe box with addresses as written, and the entries.
            let feed = served.request("GET", path, &[("Accept", "application/atom+xml")]);
            let entries =
                feed.text().matches("<item>").count() + feed.text().matches("<entry>").count();
            assert!(entries > 0, "{name}: the feed has entries");
            assert_eq!(
                dom.matches("<article").count(),
                entries,
                "{name}: every entry shown"
            );
            assert!(dom.contains("This is a web feed."), "{name}");
            if name == "tag" {
                assert!(
                    dom.contains(&format!("#{tag}</h1>")),
                    "{name}: title as written"
                );
                assert!(
                    dom.contains(&format!("/tag/{tag}.atom\"")),
                    "{name}: decoded address"
                );
            } else {
                assert!(dom.contains("shanxiwanbao</h1>"), "{name}");
            }
        }
        let file = shots.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&file);
        let shot = run_chromium(
            profile.path(),
            &[format!("--screenshot={}", file.display())],
            &url,
        );
        assert!(
            shot.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&shot.stderr)
        );
        let png = std::fs::read(&file).expect("screenshot written");
        assert!(png.starts_with(b"\x89PNG"), "{name}: a PNG");
    }
}
