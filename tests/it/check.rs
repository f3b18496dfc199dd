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

/// `tidings build` of `content` into `out`, with the built-in defaults and `extra` flags.
fn build(content: &std::path::Path, out: &std::path::Path, extra: &[&str]) -> std::process::Output {
    tidings()
        .args(["build", "--config", "/dev/null", "--content"])
        .arg(content)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("run tidings")
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
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("feeds.limit"), "{stderr}");
    assert!(
        stderr.contains(&format!("from config file {}", config.display())),
        "the error names the layer: {stderr}"
    );
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

#[test]
fn bad_settings_name_the_variable_or_flag_they_came_from() {
    let dir = site(&[("a.md", b"---\ndate: 2022-05-26\n---\nx")]);
    let out = tidings()
        .args(["check", "--config", "/dev/null", "--content"])
        .arg(dir.path())
        .env("TIDINGS_LIMIT", "abc")
        .output()
        .expect("run tidings");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`feeds.limit` = \"abc\" (from environment variable TIDINGS_LIMIT)"),
        "{stderr}"
    );
    let out = tidings()
        .args(["check", "--config", "/dev/null", "--content"])
        .arg(dir.path())
        .env("TIDINGS_WATCH", "inotify")
        .output()
        .expect("run tidings");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("expected one of `native`, `poll`, `off`"),
        "{stderr}"
    );
    let out = tidings()
        .args([
            "check",
            "--config",
            "/dev/null",
            "--base-url",
            "feeds.example.org",
        ])
        .arg("--content")
        .arg(dir.path())
        .env("TIDINGS_BASE_URL", "https://feeds.example.org/")
        .output()
        .expect("run tidings");
    assert_eq!(out.status.code(), Some(2), "the flag beats the environment");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("(from flag --base-url)"), "{stderr}");
}

#[test]
fn every_flag_the_settings_name_exists() {
    // Errors name a setting's flag from the settings table; clap declares the flags.
    let out = tidings()
        .args(["serve", "--help"])
        .output()
        .expect("run tidings");
    let help = String::from_utf8_lossy(&out.stdout);
    let flags: Vec<&str> = tidings::config::SETTINGS
        .iter()
        .filter_map(|s| s.flag)
        .collect();
    assert_eq!(flags, ["--content", "--base-url", "--bind"]);
    for flag in flags {
        assert!(
            help.contains(&format!("{flag} <")),
            "{flag} missing from {help}"
        );
    }
}

#[test]
fn build_writes_everything_names_bad_posts_and_fails() {
    let dir = site(&[
        (
            "good.md",
            b"---\ntitle: Good\ndate: 2022-05-26\ncategory: New York\n---\nx",
        ),
        ("bad.md", b"---\ntitle: [\n---\n"),
    ]);
    let out = tempfile::tempdir().expect("tempdir");
    let target = out.path().join("public");
    let run = tidings()
        .args([
            "build",
            "--config",
            "/dev/null",
            "--base-url",
            "https://feeds.example.org/",
        ])
        .arg("--content")
        .arg(dir.path())
        .arg("--out")
        .arg(&target)
        .output()
        .expect("run tidings");
    assert_eq!(run.status.code(), Some(1), "a bad post fails the build");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("bad.md:2:"), "{stderr}");
    for file in [
        "index.html",
        "feeds.opml",
        "feed.html",
        "feed.atom",
        "feed.rss",
        "feed.json",
        "feed.xml",
        "category/New York.atom",
        "feed/New York.xml",
    ] {
        assert!(target.join(file).is_file(), "{file} was written");
    }
    let atom = std::fs::read_to_string(target.join("feed.atom")).expect("read");
    assert!(atom.contains("href=\"https://feeds.example.org/feed.atom\""));
    // A second build replaces the first in one swap and leaves no staging folder behind.
    std::fs::remove_file(dir.path().join("bad.md")).expect("rm");
    let run = build(dir.path(), &target, &[]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let leftovers: Vec<_> = std::fs::read_dir(out.path())
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(leftovers, ["public"]);
}

#[test]
fn serve_answers_then_stops_gracefully_on_sigterm() {
    use std::io::BufRead;
    let dir = site(&[("a.md", b"---\ntitle: A\ndate: 2022-05-26\n---\nx")]);
    let mut child = tidings()
        .args(["serve", "--config", "/dev/null", "--bind", "127.0.0.1:0"])
        .arg("--content")
        .arg(dir.path())
        .env("TIDINGS_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn tidings");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = std::io::BufReader::new(stderr).lines();
    // The log says where it listens (the port is chosen by the system).
    let addr = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.split("listening on http://")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .map(str::to_owned)
        })
        .expect("a listening line");
    let addr: std::net::SocketAddr = addr.parse().expect("an address");
    crate::support::wait_for("the first load", std::time::Duration::from_secs(10), || {
        crate::support::request(addr, "GET", "/healthz", &[]).status == 200
    });
    assert_eq!(
        crate::support::request(addr, "GET", "/feed.atom", &[]).status,
        200
    );
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("shutting down")), "{rest:?}");
}

#[test]
fn build_never_replaces_a_folder_that_is_not_an_export_without_force() {
    let dir = site(&[("good.md", b"---\ntitle: Good\ndate: 2022-05-26\n---\nx")]);
    let out = site(&[("notes/todo.txt", b"my own files")]);
    let build = |extra: &[&str]| build(dir.path(), out.path(), extra);
    let refused = build(&[]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("is not a tidings export"), "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    assert!(out.path().join("notes/todo.txt").is_file(), "left alone");

    let forced = build(&["--force"]);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    assert!(out.path().join("feeds.opml").is_file());
    assert!(!out.path().join("notes").exists(), "replaced");
    // Now it is an export: the next build replaces it without --force.
    assert!(build(&[]).status.success());
}

/// Runs `tidings serve` until its "listening" line, returning the child, the address and
/// everything it logged so far.
fn serve_until_listening(cmd: &mut Command) -> (std::process::Child, std::net::SocketAddr, String) {
    use std::io::BufRead;
    let mut child = cmd
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn tidings");
    let stop = |child: &mut std::process::Child, why: &str| -> ! {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{why}");
    };
    let Some(stderr) = child.stderr.take() else {
        stop(&mut child, "no stderr")
    };
    let mut stderr = std::io::BufReader::new(stderr);
    let mut log = String::new();
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap_or(0) == 0 {
            stop(
                &mut child,
                &format!("tidings stopped before listening: {log}"),
            );
        }
        log.push_str(&line);
        if let Some(rest) = line.split("listening on http://").nth(1) {
            let Some(addr) = rest.split('/').next().and_then(|a| a.parse().ok()) else {
                stop(&mut child, &format!("no address in {line}"))
            };
            // Keep draining stderr so the child never blocks on a full pipe.
            std::thread::spawn(move || {
                let mut sink = String::new();
                while stderr.read_line(&mut sink).unwrap_or(0) > 0 {
                    sink.clear();
                }
            });
            return (child, addr, log);
        }
    }
}

#[test]
fn a_site_is_published_under_its_own_identity_never_the_samples() {
    // Run from the repository, whose config/tidings.toml serves the sample site: the user's
    // site must not borrow any of the sample's identity.
    let dir = site(&[
        (
            "_config.yml",
            b"title: My Blog\nurl: https://blog.example\nbaseurl: /notes\nlang: en\n\
              timezone: Europe/Paris\nauthor: Ann\ntidings:\n  id_authority: blog.example,2024\n",
        ),
        (
            "_posts/2024-03-01-hello.md",
            b"---\ntitle: Hello\ndate: 2024-03-01 10:00\n---\nHi.\n",
        ),
    ]);
    let out = tempfile::tempdir().expect("tempdir");
    let run = tidings()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--content"])
        .arg(dir.path())
        .arg("--out")
        .arg(out.path().join("site"))
        .output()
        .expect("run tidings");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        !stderr.contains("placeholder"),
        "an authority is set: {stderr}"
    );
    let atom = std::fs::read_to_string(out.path().join("site/feed.atom")).expect("feed");
    assert!(atom.contains("<title>My Blog</title>"), "{atom}");
    assert!(
        atom.contains("tag:blog.example,2024:_posts/2024-03-01-hello.md"),
        "{atom}"
    );
    assert!(
        atom.contains("https://blog.example/notes/2024/03/01/hello.html"),
        "{atom}"
    );
    assert!(
        atom.contains("2024-03-01T10:00:00+01:00"),
        "Paris time: {atom}"
    );
    assert!(atom.contains("<name>Ann</name>"), "{atom}");
    assert!(atom.contains("xml:lang=\"en\""), "{atom}");
    for sample in ["山西", "finews", "zh-CN", "+08:00"] {
        assert!(
            !atom.contains(sample),
            "the sample's {sample} leaked: {atom}"
        );
    }
}

#[test]
fn content_without_identity_gets_neutral_defaults_and_one_warning() {
    let dir = site(&[(
        "2024-03-01-a.md",
        b"---\ntitle: A\ndate: 2024-03-01\n---\nx",
    )]);
    let run = tidings()
        .args(["check", "--config", "/dev/null", "--content"])
        .arg(dir.path())
        .output()
        .expect("run tidings");
    assert!(run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(
        stderr.matches("placeholder authority").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("id_authority"), "names the key: {stderr}");
    assert!(!stderr.contains("base_url"), "{stderr}");
    // Listening everywhere without a public address is worth a word too.
    let run = tidings()
        .args(["check", "--config", "/dev/null", "--content"])
        .arg(dir.path())
        .env("TIDINGS_BIND", "0.0.0.0:8080")
        .output()
        .expect("run tidings");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("no site.base_url"), "{stderr}");
    // And every flag's help names its variable.
    let help = tidings()
        .args(["serve", "--help"])
        .output()
        .expect("run tidings");
    let help = String::from_utf8_lossy(&help.stdout);
    for var in [
        "TIDINGS_CONFIG",
        "TIDINGS_CONTENT",
        "TIDINGS_BASE_URL",
        "TIDINGS_BIND",
    ] {
        assert!(help.contains(var), "{var} in {help}");
    }
}

#[test]
fn a_missing_content_directory_stops_every_command_alike() {
    let missing = tempfile::tempdir().expect("tempdir").path().join("typo");
    let out = tempfile::tempdir().expect("tempdir");
    let mut messages = Vec::new();
    for command in [
        vec!["check"],
        vec!["build", "--out"],
        vec!["serve", "--bind", "127.0.0.1:0"],
    ] {
        let mut cmd = tidings();
        cmd.args(&command);
        if command[0] == "build" {
            cmd.arg(out.path().join("site"));
        }
        let run = cmd
            .args(["--config", "/dev/null", "--content"])
            .arg(&missing)
            .output()
            .expect("run tidings");
        assert_eq!(run.status.code(), Some(2), "{command:?}");
        let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
        assert!(
            stderr.contains("cannot read the content directory"),
            "{stderr}"
        );
        messages.push(stderr);
    }
    assert!(messages.windows(2).all(|w| w[0] == w[1]), "{messages:?}");
    assert!(!out.path().join("site").exists(), "nothing written");
}

#[test]
fn build_refuses_to_replace_an_export_with_one_that_lost_most_posts() {
    let posts: Vec<(String, Vec<u8>)> = (0..6)
        .map(|i| {
            (
                format!("2024-03-0{}-p{i}.md", i + 1),
                format!("---\ntitle: P{i}\ndate: 2024-03-0{}\n---\nx", i + 1).into_bytes(),
            )
        })
        .collect();
    let files: Vec<(&str, &[u8])> = posts
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    let full = site(&files);
    let few = site(&files[..2]);
    let out = tempfile::tempdir().expect("tempdir");
    let target = out.path().join("site");
    let build = |content: &std::path::Path, extra: &[&str]| build(content, &target, extra);
    assert!(build(full.path(), &[]).status.success());
    // One post deleted is an editor's business.
    std::fs::remove_file(full.path().join(&posts[5].0)).expect("remove");
    assert!(build(full.path(), &[]).status.success());
    // Two of five is not.
    let refused = build(few.path(), &[]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("export of 5 posts and this build has 2"),
        "{stderr}"
    );
    let feed = std::fs::read_to_string(out.path().join("site/feed.atom")).expect("feed");
    assert_eq!(feed.matches("<entry>").count(), 5, "left as it was");
    assert!(build(few.path(), &["--force"]).status.success());
}

#[test]
fn settings_mistakes_are_said_once_and_plainly() {
    let run = tidings()
        .args(["check", "--config", "/dev/null", "--bind", "8080"])
        .output()
        .expect("run tidings");
    // `check` has no --bind; the bare command and `serve` do.
    assert_eq!(run.status.code(), Some(2));
    let run = tidings()
        .args([
            "serve",
            "--config",
            "/dev/null",
            "--bind",
            "8080",
            "--content",
        ])
        .arg(sample_dir())
        .output()
        .expect("run tidings");
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("expected HOST:PORT"), "{stderr}");

    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let run = tidings()
        .args([
            "serve",
            "--config",
            "/dev/null",
            "--bind",
            &addr,
            "--content",
        ])
        .arg(sample_dir())
        .output()
        .expect("run tidings");
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
    assert_eq!(stderr.matches("in use").count(), 1, "said once: {stderr}");
}

#[test]
fn the_base_url_follows_the_listen_address_and_logs_are_plain_off_a_terminal() {
    // The bare command takes serve's flags.
    let mut cmd = tidings();
    cmd.args([
        "--config",
        "/dev/null",
        "--bind",
        "127.0.0.1:0",
        "--content",
    ])
    .arg(sample_dir())
    .env("TIDINGS_WATCH", "off");
    let (mut child, addr, log) = serve_until_listening(&mut cmd);
    assert!(log.contains(&format!("feeds at http://{addr}/")), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "no colour codes in a pipe: {log:?}"
    );
    crate::support::wait_for("the first load", std::time::Duration::from_secs(10), || {
        crate::support::request(addr, "GET", "/healthz", &[]).status == 200
    });
    let feed = crate::support::request(addr, "GET", "/feed.atom", &[]).text();
    assert!(
        feed.contains(&format!("href=\"http://{addr}/feed.atom\" rel=\"self\"")),
        "{feed}"
    );
    let _ = child.kill();
    let _ = child.wait();

    // JSON lines for log shippers.
    let mut cmd = tidings();
    cmd.args([
        "serve",
        "--config",
        "/dev/null",
        "--bind",
        "127.0.0.1:0",
        "--content",
    ])
    .arg(sample_dir())
    .env("TIDINGS_WATCH", "off")
    .env("TIDINGS_LOG_FORMAT", "json");
    let (mut child, _, log) = serve_until_listening(&mut cmd);
    let last = log.lines().last().expect("a line");
    let json: serde_json::Value = serde_json::from_str(last).expect("a JSON line");
    assert!(
        json["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("listening")),
        "{json}"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// A build into an earlier export rewrites only what changed: unchanged files keep their
/// bytes, inode and modification time (rsync and object-storage syncs skip them), a vanished
/// feed's files go, and the counts say so.
#[test]
fn a_build_rewrites_only_what_changed() {
    use std::os::unix::fs::MetadataExt;
    let dir = site(&[
        (
            "2024-03-01-a.md",
            b"---\ntitle: A\ndate: 2024-03-01\ncategories: [news]\n---\nx",
        ),
        (
            "2024-03-02-b.md",
            b"---\ntitle: B\ndate: 2024-03-02\ncategories: [sport]\n---\ny",
        ),
    ]);
    let out = tempfile::tempdir().expect("tempdir");
    let site_dir = out.path().join("site");
    let build = || {
        let run = build(dir.path(), &site_dir, &[]);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        String::from_utf8_lossy(&run.stderr).into_owned()
    };
    let stamp = |rel: &str| {
        let m = std::fs::metadata(site_dir.join(rel)).expect(rel);
        (m.ino(), m.modified().expect("mtime"))
    };
    let first = build();
    assert!(first.contains(" 0 unchanged, 0 removed"), "{first}");
    let (news, site_feed) = (stamp("category/news.atom"), stamp("feed.atom"));
    let again = build();
    assert!(
        again.contains(" 0 files written,"),
        "nothing changed: {again}"
    );
    assert_eq!(stamp("category/news.atom"), news);
    assert_eq!(stamp("feed.atom"), site_feed);

    // sport's three formats and its page, and jekyll-feed's alias, each with its
    // compressed copies (documents too small to be worth compressing have none).
    let sport: Vec<String> = ["atom", "rss", "json", "html"]
        .iter()
        .map(|ext| format!("category/sport.{ext}"))
        .chain(["feed/sport.xml".to_owned()])
        .flat_map(|doc| ["", ".gz", ".br"].map(|s| format!("{doc}{s}")))
        .filter(|rel| site_dir.join(rel).is_file())
        .collect();
    assert!(sport.len() > 5, "compressed copies too: {sport:?}");
    let listing = || -> std::collections::BTreeSet<std::path::PathBuf> {
        fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(root, &path, out);
                } else if let Ok(rel) = path.strip_prefix(root) {
                    out.push(rel.to_owned());
                }
            }
        }
        let mut all = Vec::new();
        walk(&site_dir, &site_dir, &mut all);
        all.into_iter().collect()
    };
    let before = listing();

    // The sport post goes: its feeds go, the site feed changes, news stays as it was.
    std::fs::remove_file(dir.path().join("2024-03-02-b.md")).expect("remove");
    let after = build();
    assert!(!site_dir.join("category/sport.atom").exists());
    assert_eq!(stamp("category/news.atom"), news, "untouched");
    assert_ne!(stamp("feed.atom"), site_feed, "rewritten");
    let removed: usize = after
        .rsplit(" removed")
        .nth(1)
        .and_then(|s| s.rsplit(", ").next())
        .and_then(|n| n.trim().parse().ok())
        .expect("a removed count");
    // Besides sport's files, a document that shrank below what is worth compressing loses
    // its compressed copies.
    let gone: Vec<_> = before.difference(&listing()).cloned().collect();
    assert_eq!(removed, gone.len(), "{after}: {gone:?}");
    assert!(
        sport
            .iter()
            .all(|rel| gone.contains(&std::path::PathBuf::from(rel))),
        "{gone:?}"
    );
}
