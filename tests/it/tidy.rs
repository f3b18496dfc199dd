//! The invariants of `ARCHITECTURE.md` that a reading of the source can check: which module
//! may use which crate, which modules may import which, and where the file system, the clock
//! and globals may appear. A change that breaks one fails here, with the file and the line,
//! instead of quietly making the map untrue.
//!
//! The source is read as text with comments and string literals blanked out, so prose that
//! names a crate ("only `http` knows actix") never counts as a use of it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Which modules each module of `src/` may import: the arrows of `ARCHITECTURE.md`'s data
/// flow. The list itself must have no cycle (checked below), so neither can the code.
const IMPORTS: &[(&str, &[&str])] = &[
    ("config", &[]),
    ("stats", &["feeds"]),
    ("files", &[]),
    ("posts", &["config"]),
    ("feeds", &["posts"]),
    ("load", &["config", "files", "posts", "feeds"]),
    ("documents", &["config", "posts", "feeds", "stats"]),
    ("store", &["config", "posts", "feeds", "load", "documents"]),
    (
        "export",
        &["config", "posts", "feeds", "load", "documents", "watch"],
    ),
    ("metrics", &["documents", "store", "stats"]),
    (
        "websub",
        &["config", "feeds", "documents", "store", "metrics"],
    ),
    ("purge", &["config", "documents", "metrics"]),
    (
        "watch",
        &[
            "config",
            "files",
            "load",
            "documents",
            "store",
            "metrics",
            "websub",
            "purge",
        ],
    ),
    (
        "http",
        &[
            "config",
            "feeds",
            "documents",
            "store",
            "metrics",
            "stats",
            "websub",
        ],
    ),
    (
        "service",
        &[
            "config", "store", "metrics", "watch", "http", "stats", "websub",
        ],
    ),
    ("cli", &["config", "load", "export", "service"]),
];

/// Crates (and `std` paths) confined to the modules that own them. A path prefix ending in
/// `/` is a folder; anything else names one file.
const CONFINED: &[(&str, &[&str])] = &[
    ("actix_web", &["src/http/"]),
    ("actix_http", &["src/http/"]),
    ("actix_rt", &["src/http/"]),
    ("httpdate", &["src/http/"]),
    ("tokio", &["src/http/"]),
    ("notify", &["src/watch.rs"]),
    ("walkdir", &["src/files.rs"]),
    ("libc", &["src/files.rs", "src/service.rs"]),
    ("signal_hook", &["src/service.rs"]),
    ("comrak", &["src/posts/body.rs"]),
    ("ammonia", &["src/posts/body.rs", "src/posts/text.rs"]),
    (
        "serde_saphyr",
        &["src/posts/front_matter.rs", "src/config/jekyll.rs"],
    ),
    ("atom_syndication", &["src/documents/"]),
    ("rss", &["src/documents/"]),
    ("maud", &["src/documents/"]),
    ("quick_xml", &["src/documents/"]),
    ("prometheus_client", &["src/metrics.rs"]),
    ("ureq", &["src/websub/", "src/purge.rs"]),
    ("rusqlite", &["src/websub/subscriptions.rs"]),
    ("hmac", &["src/websub/hub.rs"]),
    ("sha2", &["src/websub/hub.rs"]),
    ("getrandom", &["src/websub/hub.rs"]),
    ("arc_swap", &["src/store/"]),
    ("brotli", &["src/documents/encoding.rs"]),
    ("flate2", &["src/documents/encoding.rs"]),
    ("rayon", &["src/load/", "src/export/"]),
    ("clap", &["src/cli.rs"]),
    ("tracing_subscriber", &["src/cli.rs"]),
    ("indicatif", &["src/export/"]),
    ("toml", &["src/config/mod.rs"]),
    ("anyhow", &["src/main.rs"]),
];

/// Where the disk may be touched: finding and reading posts, reading the config file, and
/// writing the export. Never the HTTP layer, the store, the loader or the documents.
const FILE_SYSTEM: &[&str] = &["src/files.rs", "src/config/", "src/export/"];

/// Stages that are pure functions of their inputs: no clock, no file system.
const PURE: &[&str] = &["src/posts/", "src/feeds.rs", "src/documents/"];

/// The only global state: the fixed Markdown renderer and sanitizer, built once.
const GLOBALS: &[&str] = &["src/posts/mod.rs:RENDERER"];

#[test]
fn crates_stay_in_the_modules_that_own_them() {
    let mut wrong = Vec::new();
    for file in sources() {
        for (line, text) in file.code_lines() {
            for (krate, allowed) in CONFINED {
                if uses_crate(text, krate) && !allowed.iter().any(|a| file.is_under(a)) {
                    wrong.push(format!(
                        "{}:{line}: `{krate}` belongs to {allowed:?} only",
                        file.rel
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn modules_import_only_what_the_data_flow_allows() {
    let allowed: BTreeMap<&str, &[&str]> = IMPORTS.iter().copied().collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for file in sources() {
        let Some(module) = file.module() else {
            continue;
        };
        let Some(may) = allowed.get(module) else {
            wrong.push(format!(
                "{}: module `{module}` is not in IMPORTS; add it where it belongs in the data \
                 flow (and to ARCHITECTURE.md)",
                file.rel
            ));
            continue;
        };
        for (line, text) in file.code_lines_outside_tests() {
            for target in crate_modules(text) {
                if target == module {
                    continue;
                }
                graph
                    .entry(module.to_owned())
                    .or_default()
                    .insert(target.clone());
                if !may.contains(&target.as_str()) {
                    wrong.push(format!(
                        "{}:{line}: `{module}` imports `{target}`, which the data flow does \
                         not allow (IMPORTS)",
                        file.rel
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Not vacuous: the stages do import one another.
    assert!(graph["http"].contains("store"), "{graph:?}");
    assert!(graph["load"].contains("posts"), "{graph:?}");
}

#[test]
fn the_allowed_imports_have_no_cycle() {
    // Kahn's algorithm: repeatedly remove modules all of whose imports are removed.
    let mut left: BTreeMap<&str, &[&str]> = IMPORTS.iter().copied().collect();
    while !left.is_empty() {
        let ready: Vec<&str> = left
            .iter()
            .filter(|(_, deps)| deps.iter().all(|d| !left.contains_key(d)))
            .map(|(m, _)| *m)
            .collect();
        assert!(
            !ready.is_empty(),
            "IMPORTS has a cycle among {:?}",
            left.keys()
        );
        for m in ready {
            left.remove(m);
        }
    }
    for (module, deps) in IMPORTS {
        for d in *deps {
            assert!(
                IMPORTS.iter().any(|(m, _)| m == d),
                "{module} may import unknown {d}"
            );
        }
    }
}

#[test]
fn the_file_system_is_touched_only_where_the_map_says() {
    let mut wrong = Vec::new();
    for file in sources() {
        if FILE_SYSTEM.iter().any(|a| file.is_under(a)) {
            continue;
        }
        for (line, text) in file.code_lines_outside_tests() {
            if ["std::fs", "fs::", "File::open", "File::create", "read_dir"]
                .iter()
                .any(|p| contains_path(text, p))
            {
                wrong.push(format!("{}:{line}: file system access", file.rel));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn pure_stages_never_read_the_clock_or_the_disk() {
    let mut wrong = Vec::new();
    for file in sources() {
        if !PURE.iter().any(|a| file.is_under(a)) {
            continue;
        }
        for (line, text) in file.code_lines_outside_tests() {
            if [
                "Utc::now",
                "Local::now",
                "SystemTime::now",
                "Instant::now",
                "std::fs",
                "std::net",
                "std::env",
            ]
            .iter()
            .any(|p| contains_path(text, p))
            {
                wrong.push(format!("{}:{line}: {text}", file.rel));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_global_state_beyond_the_renderer() {
    // Constant tables (`static SETTINGS: &[…]`) are data, not state; state is anything that
    // is initialised at run time or can change: lazy cells, locks, atomics, `static mut`.
    const STATEFUL: &[&str] = &[
        "LazyLock", "OnceLock", "OnceCell", "Lazy<", "Mutex", "RwLock", "Atomic", "Cell<",
    ];
    let mut found = Vec::new();
    for file in sources() {
        for (_, text) in file.code_lines() {
            if text.contains("thread_local!") {
                found.push(format!("{}:thread_local", file.rel));
            }
            let Some(at) = text.find("static ") else {
                continue;
            };
            let rest = &text[at + "static ".len()..];
            let is_mut = rest.starts_with("mut ");
            let name: String = rest
                .trim_start_matches("mut ")
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let is_item = text[..at]
                .split_whitespace()
                .all(|w| w == "pub" || w.starts_with("pub("));
            if is_item && (is_mut || STATEFUL.iter().any(|s| rest.contains(s))) {
                found.push(format!("{}:{name}", file.rel));
            }
        }
    }
    assert_eq!(
        found, GLOBALS,
        "global state in src/ differs from ARCHITECTURE.md's list"
    );
}

/// One source file, with comments and literals blanked out.
struct Source {
    /// Path under the repository, `/`-separated (`src/http/mod.rs`).
    rel: String,
    code: String,
}

impl Source {
    fn is_under(&self, prefix: &str) -> bool {
        if prefix.ends_with('/') {
            self.rel.starts_with(prefix)
        } else {
            self.rel == prefix
        }
    }

    /// The top-level module the file belongs to (`None` for `lib.rs` and `main.rs`).
    fn module(&self) -> Option<&str> {
        let rest = self.rel.strip_prefix("src/")?;
        let first = rest.split('/').next()?;
        let name = first.strip_suffix(".rs").unwrap_or(first);
        (!matches!(name, "lib" | "main")).then_some(name)
    }

    fn code_lines(&self) -> impl Iterator<Item = (usize, &str)> {
        self.code.lines().enumerate().map(|(i, l)| (i + 1, l))
    }

    /// Lines before the file's unit tests (`#[cfg(test)] mod tests`), which may use whatever
    /// helps them.
    fn code_lines_outside_tests(&self) -> impl Iterator<Item = (usize, &str)> {
        let mut in_tests = false;
        let mut previous_is_cfg_test = false;
        self.code_lines().filter(move |(_, l)| {
            let t = l.trim();
            if previous_is_cfg_test && t.starts_with("mod ") {
                in_tests = true;
            }
            previous_is_cfg_test = t == "#[cfg(test)]";
            !in_tests
        })
    }
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    collect(&root.join("src"), &mut files);
    files.sort();
    assert!(files.len() > 10, "src/ has the crate's modules");
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("source is UTF-8");
            let rel = path
                .strip_prefix(root)
                .expect("under the repository")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            Source {
                rel,
                code: blank_comments_and_literals(&text),
            }
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Whether `text` uses `krate` as a path root (`krate::x`, `use krate`, `krate!`).
fn uses_crate(text: &str, krate: &str) -> bool {
    contains_path(text, &format!("{krate}::"))
        || text.trim_start().starts_with(&format!("use {krate};"))
        || text.trim_start().starts_with(&format!("use {krate} as"))
}

/// Whether `needle` occurs in `text` not as the tail of a longer identifier or path
/// (`fs::` must not match `serde_fs::`, nor `std::fs` match `mystd::fs`).
fn contains_path(text: &str, needle: &str) -> bool {
    text.match_indices(needle).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
    })
}

/// The top-level modules a line reaches through `crate::` (`crate::a::b`, `crate::{a, b}`).
fn crate_modules(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        if text[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            continue;
        }
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out
}

/// Rust source with every comment and the contents of every string and character literal
/// replaced by spaces, line breaks kept so line numbers still point at the source.
fn blank_comments_and_literals(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if let Some(hashes) = raw_string_start(&chars, i) {
            // r"…", r#"…"#, br"…": no escapes, ends at a quote followed by the same hashes.
            let open = chars[i..].iter().position(|&c| c == '"').unwrap_or(0) + 1;
            for _ in 0..open {
                out.push(' ');
            }
            i += open;
            while i < chars.len() {
                if chars[i] == '"' && (0..hashes).all(|k| chars.get(i + 1 + k) == Some(&'#')) {
                    for _ in 0..=hashes {
                        out.push(' ');
                    }
                    i += 1 + hashes;
                    break;
                }
                out.push(blank(chars[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            out.push('"');
            i += 1;
        } else if c == '\'' && is_char_literal(&chars, i) {
            out.push('\'');
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(' ');
                    i += 1;
                }
            }
            out.push('\'');
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// At `i`, the start of a raw string literal (`r"`, `r#"`, `br"`…): how many `#` it uses.
fn raw_string_start(chars: &[char], i: usize) -> Option<usize> {
    let before = i.checked_sub(1).map(|j| chars[j]);
    if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    let mut j = i;
    if chars.get(j) == Some(&'b') {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let mut hashes = 0;
    while chars.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    (chars.get(j) == Some(&'"')).then_some(hashes)
}

/// A `'` opens a character literal (`'a'`, `'\n'`, `'"'`) rather than a lifetime (`'a`).
fn is_char_literal(chars: &[char], i: usize) -> bool {
    matches!(
        (chars.get(i + 1), chars.get(i + 2)),
        (Some('\\'), _) | (Some(_), Some('\''))
    )
}

#[test]
fn the_reader_blanks_what_is_not_code() {
    let src = "use a; // actix_web::x\nlet s = \"crate::http\"; let c = '\"'; let r = r#\"std::fs\"#;\n/* notify::x */ fn f<'a>(x: &'a str) {}\n";
    let code = blank_comments_and_literals(src);
    assert_eq!(code.lines().count(), 3);
    assert!(!code.contains("actix_web"));
    assert!(!code.contains("crate::http"));
    assert!(!code.contains("std::fs"));
    assert!(!code.contains("notify"));
    assert!(code.contains("fn f<'a>(x: &'a str)"));
    assert_eq!(crate_modules("use crate::{a::B, c};"), ["a", "c"]);
    assert_eq!(crate_modules("use crate::store::Store;"), ["store"]);
    assert!(contains_path("x = std::fs::read(p)", "std::fs"));
    assert!(!contains_path("x = serde_fs::read(p)", "fs::"));
}
