//! `tidings check` run as a real process.

use std::process::Command;

use crate::support::{sample_dir, site};

fn tidings() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tidings"));
    // Keep the caller's TIDINGS_* settings out of the test.
    for (key, _) in std::env::vars() {
        if key.starts_with("TIDINGS_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

#[test]
fn check_passes_on_the_sample_site() {
    let out = tidings()
        .args(["check", "--content"])
        .arg(sample_dir())
        .output()
        .expect("run tidings");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("61 posts, 8 categories,"), "{stdout}");
}

#[test]
fn check_names_every_bad_post_and_fails() {
    let dir = site(&[
        ("good.md", b"---\ndate: 2022-05-26\n---\nx"),
        ("sub/bad-yaml.md", b"---\ntitle: [\n---\n"),
        ("no-date.md", b"---\ntitle: x\n---\n"),
        ("2022-02-30-impossible.md", b"---\n---\n"),
    ]);
    let out = tidings()
        .args(["check", "--config", "/dev/null", "--content"])
        .arg(dir.path())
        .output()
        .expect("run tidings");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(
        lines[0].starts_with("2022-02-30-impossible.md: no date"),
        "{stdout}"
    );
    assert!(lines[1].starts_with("no-date.md: no date"), "{stdout}");
    assert!(
        lines[2].starts_with("sub/bad-yaml.md:2: the front matter is not valid YAML"),
        "{stdout}"
    );
    assert_eq!(lines[3], "3 of 4 files failed to load");
}

#[test]
fn flags_beat_environment_beat_config_file() {
    let dir = site(&[
        (
            "config.toml",
            b"content = \"nowhere\"\n[feeds]\nlimit = 0\n",
        ),
        ("posts/a.md", b"---\ndate: 2022-05-26\n---\nx"),
    ]);
    let config = dir.path().join("config.toml");
    // The file's `limit = 0` is invalid, but the environment overrides it.
    let out = tidings()
        .args(["check", "--config"])
        .arg(&config)
        .arg("--content")
        .arg(dir.path().join("posts"))
        .env("TIDINGS_LIMIT", "5")
        .output()
        .expect("run tidings");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Without the override, the file's invalid value is reported by key.
    let out = tidings()
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .expect("run tidings");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("feeds.limit"));
    // A named config file that does not exist is an error; a missing default one is not.
    let out = tidings()
        .args(["check", "--config", "/nonexistent/tidings.toml"])
        .output()
        .expect("run tidings");
    assert_eq!(out.status.code(), Some(2));
    let out = tidings()
        .current_dir(dir.path())
        .args(["check", "--content", "posts"])
        .output()
        .expect("run tidings");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
