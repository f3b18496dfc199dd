//! The container recipe, checked without a registry: the builder stage gets exactly the files
//! the Dockerfile copies, and cargo must accept the crate from those alone (a manifest naming
//! a file the image lacks failed `docker build` once, unnoticed); and `tidings health`, the
//! image's health check, tells a ready service from a missing one; and the systemd unit
//! passes systemd's own check and its command, with its environment, serves.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::Served;

/// The sources of every `COPY` in the builder stage (the first), as written.
fn builder_copies(dockerfile: &str) -> Vec<String> {
    let mut stages = 0;
    let mut sources = Vec::new();
    for line in dockerfile.lines().map(str::trim) {
        if line.starts_with("FROM ") {
            stages += 1;
            continue;
        }
        if stages != 1 || !line.starts_with("COPY ") {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().skip(1).collect();
        assert!(
            !words.iter().any(|w| w.starts_with("--")),
            "the builder copies from the build context only: {line}"
        );
        sources.extend(words[..words.len() - 1].iter().map(|w| (*w).to_owned()));
    }
    sources
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read_dir") {
            let entry = entry.expect("entry");
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to).expect("copy");
    }
}

/// Whether cargo accepts the crate in `dir`: asked for a binary that does not exist, it
/// says so only after reading the manifest and finding every target it names.
fn cargo_accepts(dir: &Path) -> Result<(), String> {
    let target = tempfile::tempdir().expect("tempdir");
    let run = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--locked",
            "--offline",
            "--bin",
            "no-such-binary",
        ])
        .env("CARGO_TARGET_DIR", target.path())
        .current_dir(dir)
        .output()
        .expect("run cargo");
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    if stderr.contains("no bin target named `no-such-binary`") {
        Ok(())
    } else {
        Err(stderr)
    }
}

#[test]
fn the_builder_stage_has_every_file_cargo_needs() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).expect("Dockerfile");
    let copies = builder_copies(&dockerfile);
    assert!(copies.contains(&"src".to_owned()), "{copies:?}");
    // The dependency layer: the manifest, the lock file and what the manifest names, with
    // stub sources.
    let deps = tempfile::tempdir().expect("tempdir");
    for source in copies.iter().filter(|s| *s != "src") {
        copy_tree(&root.join(source), &deps.path().join(source));
    }
    std::fs::create_dir_all(deps.path().join("src")).expect("mkdir");
    std::fs::write(deps.path().join("src/main.rs"), "fn main() {}").expect("stub");
    std::fs::write(deps.path().join("src/lib.rs"), "").expect("stub");
    cargo_accepts(deps.path()).unwrap_or_else(|e| panic!("the dependency layer: {e}"));
    // The final build: everything the builder copies.
    let full = tempfile::tempdir().expect("tempdir");
    for source in &copies {
        copy_tree(&root.join(source), &full.path().join(source));
    }
    cargo_accepts(full.path()).unwrap_or_else(|e| panic!("the build: {e}"));
    // And the check can fail: without the benches the manifest is refused, as it was.
    std::fs::remove_dir_all(full.path().join("benches")).expect("remove");
    assert!(cargo_accepts(full.path()).is_err());
}

#[test]
fn the_image_carries_no_sample_site_and_no_sample_settings() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).expect("Dockerfile");
    let runtime = dockerfile.split("\nFROM ").nth(2).expect("a runtime stage");
    for line in runtime
        .lines()
        .filter(|l| l.trim_start().starts_with("COPY"))
    {
        assert!(line.contains("--from=builder"), "only the binary: {line}");
    }
    assert!(runtime.contains("USER 10001:10001"));
    assert!(runtime.contains("CMD [\"tidings\", \"health\"]"));
}

#[test]
fn tidings_health_tells_a_ready_service_from_none() {
    let served = Served::start(&[("a.md", b"---\ntitle: A\ndate: 2022-05-26\n---\nx")], "");
    let health = |bind: &str, how: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tidings"));
        cmd.args(["health", "--config", "/dev/null"]);
        match how {
            "flag" => cmd.args(["--bind", bind]),
            _ => cmd.env("TIDINGS_BIND", bind),
        };
        cmd.output().expect("run tidings").status.code()
    };
    let addr = served.running.addr;
    assert_eq!(health(&addr.to_string(), "flag"), Some(0));
    assert_eq!(health(&format!("0.0.0.0:{}", addr.port()), "env"), Some(0));
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a port");
    assert_eq!(
        health(&closed.to_string(), "flag"),
        Some(1),
        "nothing listens"
    );
}

/// The `Key=value` lines of a unit file's section, in order.
fn unit_values<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    unit.lines()
        .filter_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
        .collect()
}

#[test]
fn the_systemd_unit_verifies_and_its_command_serves() {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/tidings.service"),
    )
    .expect("the unit");
    let binary = env!("CARGO_BIN_EXE_tidings");
    // systemd's own check, with the binary where the unit expects it: unknown keys, bad
    // values and a missing executable are errors.
    let dir = tempfile::tempdir().expect("tempdir");
    let local = dir.path().join("tidings.service");
    std::fs::write(&local, unit.replace("/usr/local/bin/tidings", binary)).expect("write");
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&local)
        .output()
        .unwrap_or_else(|e| panic!("systemd-analyze cannot run ({e}); scripts/test installs it"));
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(verify.status.success() && said.trim().is_empty(), "{said}");

    // Its command, with its environment (content and address pointed at a test site), serves
    // and stops cleanly on the SIGTERM systemd sends.
    let site = crate::support::site(&[("a.md", b"---\ntitle: A\ndate: 2022-05-26\n---\nx")]);
    let port = crate::caches::free_port();
    let exec = unit_values(&unit, "ExecStart");
    assert_eq!(exec.len(), 1);
    let mut args = exec[0].split_whitespace();
    assert_eq!(args.next(), Some("/usr/local/bin/tidings"));
    let mut cmd = Command::new(binary);
    cmd.args(args).env_clear();
    for pair in unit_values(&unit, "Environment") {
        let (key, value) = pair.split_once('=').expect("KEY=value");
        cmd.env(key, value);
    }
    let bind = format!("127.0.0.1:{port}");
    let mut child = cmd
        .env("TIDINGS_CONTENT", site.path())
        .env("TIDINGS_BIND", &bind)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn tidings");
    let addr: std::net::SocketAddr = bind.parse().expect("an address");
    crate::support::wait_for("the service", std::time::Duration::from_secs(10), || {
        std::net::TcpStream::connect(addr).is_ok()
            && crate::support::request(addr, "GET", "/feed.atom", &[]).status == 200
    });
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "a clean stop");
}
