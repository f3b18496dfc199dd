//! `tidings build --watch` as a real process keeping an export current, and what a sync of
//! the export transfers after a change: only the files whose bytes changed.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};

use crate::support::{site, wait_for};

fn tidings() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tidings"));
    for (key, _) in std::env::vars() {
        if key.starts_with("TIDINGS_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("TIDINGS_DEBOUNCE_MS", "20");
    cmd
}

fn post(title: &str, category: &str, day: u32) -> Vec<u8> {
    format!(
        "---\ntitle: {title}\ndate: 2024-03-{day:02}\ncategories: [{category}]\n---\n{}\n",
        "Some words of the body. ".repeat(40)
    )
    .into_bytes()
}

fn build_args<'a>(content: &'a Path, out: &'a Path) -> Vec<&'a std::ffi::OsStr> {
    vec![
        "build".as_ref(),
        "--config".as_ref(),
        "/dev/null".as_ref(),
        "--content".as_ref(),
        content.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]
}

/// A file's identity and modification time: kept files keep both.
fn stamp(path: &Path) -> (u64, SystemTime) {
    let m = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (m.ino(), m.modified().expect("mtime"))
}

fn stop(child: &mut std::process::Child) -> std::process::ExitStatus {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let mut status = None;
    wait_for("the watcher to exit", Duration::from_secs(15), || {
        status = child.try_wait().expect("wait");
        status.is_some()
    });
    status.expect("exited")
}

#[test]
fn build_watch_keeps_the_export_current_rewriting_only_what_changed() {
    let dir = site(&[
        ("2024-03-01-a.md", &post("Alpha", "news", 1)),
        ("2024-03-02-b.md", &post("Bravo", "sport", 2)),
        ("2024-03-03-c.md", &post("Charlie", "other", 3)),
    ]);
    let out = tempfile::tempdir().expect("tempdir");
    let export = out.path().join("public");
    let mut child = tidings()
        .args(build_args(dir.path(), &export))
        .arg("--watch")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tidings");
    let manifest = export.join("tidings-export.json");
    wait_for("the first export", Duration::from_secs(30), || {
        manifest.is_file()
    });
    let news = export.join("category/news.atom");
    let other = [
        "category/other.atom",
        "category/other.atom.gz",
        "category/other.atom.br",
    ]
    .map(|rel| (rel, stamp(&export.join(rel))));

    // An edit shows in the export, with its compressed copies; an unrelated feed's files
    // are the same files as before.
    std::fs::write(
        dir.path().join("2024-03-01-a.md"),
        post("Alpha edited", "news", 1),
    )
    .expect("edit");
    wait_for("the edit in the export", Duration::from_secs(10), || {
        std::fs::read_to_string(&news).is_ok_and(|t| t.contains("Alpha edited"))
    });
    let gzip = std::fs::read(export.join("category/news.atom.gz")).expect("gz copy");
    let mut unzipped = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gzip[..]), &mut unzipped)
        .expect("gunzip");
    assert!(unzipped.contains("Alpha edited"), "the .gz follows");
    for (rel, before) in &other {
        assert_eq!(stamp(&export.join(rel)), *before, "{rel} kept");
    }

    // A post deleted: its category's files go, compressed copies too.
    std::fs::remove_file(dir.path().join("2024-03-02-b.md")).expect("remove");
    wait_for("the sport feed to go", Duration::from_secs(10), || {
        !export.join("category/sport.atom").exists()
    });
    for rel in [
        "category/sport.atom.gz",
        "category/sport.html",
        "feed/sport.xml",
    ] {
        assert!(!export.join(rel).exists(), "{rel} removed");
    }
    for (rel, before) in &other {
        assert_eq!(stamp(&export.join(rel)), *before, "{rel} still kept");
    }

    let status = stop(&mut child);
    let mut log = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        std::io::Read::read_to_string(&mut stderr, &mut log).expect("stderr");
    }
    assert!(status.success(), "exit status {status}: {log}");
    // One line per rebuild, saying what it did.
    let rebuilds: Vec<&str> = log.lines().filter(|l| l.contains("exported")).collect();
    assert!(rebuilds.len() >= 2, "{log}");
    assert!(
        rebuilds
            .iter()
            .all(|l| l.contains("written=") && l.contains("kept=") && l.contains("removed=")),
        "{log}"
    );
    assert!(
        rebuilds.iter().any(|l| !l.contains("removed=0")),
        "a rebuild removed files: {log}"
    );
}

#[test]
fn build_watch_refuses_a_bad_out_as_build_does() {
    let dir = site(&[("2024-03-01-a.md", &post("Alpha", "news", 1))]);
    let out = tempfile::tempdir().expect("tempdir");
    let precious = out.path().join("precious");
    std::fs::create_dir(&precious).expect("mkdir");
    std::fs::write(precious.join("thesis.tex"), "mine").expect("write");
    for bad in [precious.as_path(), Path::new("/")] {
        let run = |watch: bool| -> Output {
            let mut cmd = tidings();
            cmd.args(build_args(dir.path(), bad));
            if watch {
                cmd.arg("--watch");
            }
            cmd.stdin(Stdio::null()).output().expect("run tidings")
        };
        let (plain, watching) = (run(false), run(true));
        assert_eq!(watching.status.code(), Some(2), "{}", bad.display());
        assert_eq!(watching.status.code(), plain.status.code());
        let last = |o: &Output| {
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .rfind(|l| !l.contains("warning"))
                .map(str::to_owned)
        };
        assert_eq!(last(&watching), last(&plain), "{}", bad.display());
    }
    assert_eq!(
        std::fs::read_to_string(precious.join("thesis.tex"))
            .ok()
            .as_deref(),
        Some("mine")
    );
}

/// The number rsync reports as transferred.
fn transferred(stats: &str) -> usize {
    stats
        .lines()
        .find_map(|l| l.strip_prefix("Number of regular files transferred: "))
        .and_then(|n| n.trim().replace(',', "").parse().ok())
        .unwrap_or_else(|| panic!("no transfer count in {stats}"))
}

/// `N files written` from a build's summary line.
fn written(summary: &str) -> usize {
    summary
        .rsplit(" files written")
        .nth(1)
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no written count in {summary}"))
}

#[test]
fn rsync_of_a_rebuilt_export_transfers_only_what_changed() {
    assert!(
        Command::new("rsync").arg("--version").output().is_ok(),
        "rsync is missing: scripts/test installs it"
    );
    // Ten feeds besides the site's: one edit touches one of them.
    let posts: Vec<(String, Vec<u8>)> = (1..=10)
        .map(|i| {
            (
                format!("2024-03-{i:02}-p{i}.md"),
                post(&format!("Post {i}"), &format!("c{i}"), i),
            )
        })
        .collect();
    let files: Vec<(&str, &[u8])> = posts
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    let dir = site(&files);
    let out = tempfile::tempdir().expect("tempdir");
    let (export, mirror) = (out.path().join("public"), out.path().join("mirror"));
    let build = || {
        let run = tidings()
            .args(build_args(dir.path(), &export))
            .output()
            .expect("run tidings");
        let log = String::from_utf8_lossy(&run.stderr).into_owned();
        assert!(run.status.success(), "{log}");
        log
    };
    let sync = || {
        let run = Command::new("rsync")
            .args(["-a", "--delete", "--stats"])
            .arg(format!("{}/", export.display()))
            .arg(&mirror)
            .output()
            .expect("run rsync");
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        transferred(&String::from_utf8_lossy(&run.stdout))
    };
    build();
    let everything = sync();
    assert!(everything > 50, "the first sync sends it all: {everything}");
    assert_eq!(sync(), 0, "nothing changed, nothing sent");

    std::fs::write(
        dir.path().join("2024-03-01-p1.md"),
        post("Alpha edited", "c1", 1),
    )
    .expect("edit");
    let summary = build();
    let changed = sync();
    assert_eq!(
        changed,
        written(&summary),
        "exactly the files rewritten: {summary}"
    );
    assert!(
        changed * 3 < everything,
        "{changed} of {everything} files sent after one edit"
    );
    assert!(
        std::fs::read_to_string(mirror.join("category/c1.atom"))
            .is_ok_and(|t| t.contains("Alpha edited"))
    );
}
