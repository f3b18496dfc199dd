//! Files: which files under the content directory may be posts, and reading them.
//!
//! This is the only module of the loading side that touches the file system, and it knows
//! nothing of posts: it finds paths and hands out bytes, and says in its own [`FileError`]
//! why it could not. It decides by name alone ([`is_candidate`]), so the watcher can apply the
//! same rule to a single changed path without walking anything.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use walkdir::WalkDir;

/// Extensions a post may have (compared case-insensitively).
pub const POST_EXTENSIONS: &[&str] = &["md", "markdown", "txt", "html", "htm"];

/// Why a file (or a folder on the way to it) cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// The operating system refused.
    #[error("cannot read the file: {0}")]
    Io(String),
    /// The file name is not valid UTF-8, so it has no stable id or URL.
    #[error("the file name is not valid UTF-8")]
    BadFileName,
    /// A FIFO, socket or device: never read, because reading one can block forever or never
    /// end.
    #[error("not a regular file (a FIFO, socket or device); it is never read")]
    NotRegular,
    /// Over the size limit (`posts.max_bytes`): refused without reading it all.
    #[error("the file is {size} bytes, over the limit of {limit} bytes (posts.max_bytes)")]
    TooLarge {
        /// The file's size.
        size: u64,
        /// The limit it was read with.
        limit: usize,
    },
}

/// A path the walk found but could not turn into a file to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkError {
    /// The path under the content directory, `/`-separated (the directory itself when it
    /// cannot be read at all).
    pub path: String,
    /// What is wrong.
    pub error: FileError,
}

/// A file that may be a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Where to read it.
    pub path: PathBuf,
    /// Its path under the content directory, `/`-separated: the post's identity.
    pub relative: String,
}

/// Whether a path relative to the content directory names a possible post: no hidden
/// component, not an editor's temporary or backup file, and a post extension.
pub fn is_candidate(relative: &Path) -> bool {
    let mut components = relative.components().peekable();
    while let Some(c) = components.next() {
        let std::path::Component::Normal(name) = c else {
            return false;
        };
        let Some(name) = name.to_str() else {
            // Judged later, so that the file is reported rather than silently ignored.
            if components.peek().is_none() {
                return true;
            }
            continue;
        };
        if name.starts_with('.') || (components.peek().is_some() && is_skipped_dir(name)) {
            return false;
        }
        if components.peek().is_none() {
            return is_post_file_name(name);
        }
    }
    false
}

/// Jekyll's unpublished drafts and its generated site: never posts.
fn is_skipped_dir(name: &str) -> bool {
    matches!(name, "_drafts" | "_site")
}

/// The file-name half of [`is_candidate`].
fn is_post_file_name(name: &str) -> bool {
    // Editors' droppings: Emacs `#x#` and `.#x` locks, `x~` backups, vim's `.swp` (hidden
    // anyway), `~$x` Office locks, and the `.tmp`/`.bak`/`.orig` suffixes many tools use.
    // Every one of those also fails the extension test below except the prefixed ones, which
    // keep the post's extension, so only prefixes need checking here.
    if name.starts_with('.') || name.starts_with('#') || name.starts_with("~$") {
        return false;
    }
    match name.rsplit_once('.') {
        Some((stem, ext)) => {
            !stem.is_empty() && POST_EXTENSIONS.iter().any(|e| ext.eq_ignore_ascii_case(e))
        }
        None => false,
    }
}

/// What a walk of the content directory found.
#[derive(Debug, Default)]
pub struct Walk {
    /// Candidate files, sorted by relative path.
    pub found: Vec<Found>,
    /// Paths that could not be turned into files to read, sorted.
    pub errors: Vec<WalkError>,
    /// The newest status change of any directory walked (the root included): a file deleted
    /// or renamed away leaves no file behind, only this.
    pub dirs_changed: Option<(i64, i64)>,
}

/// Walks `root` for candidate files, sorted by relative path.
///
/// Symbolic links are followed only while they stay inside `root` (a link out is skipped, as
/// is a link cycle, which walkdir detects), and a file reachable by two paths is read once,
/// under the first path in sort order. Directories that cannot be read are reported.
pub fn discover(root: &Path) -> Walk {
    let mut errors = Vec::new();
    let mut dirs_changed = None;
    let canonical_root = match root.canonicalize() {
        Ok(r) => r,
        Err(e) => {
            errors.push(WalkError {
                path: root.display().to_string(),
                error: FileError::Io(format!("the content directory cannot be read: {e}")),
            });
            return Walk {
                errors,
                ..Walk::default()
            };
        }
    };
    // No `sort_by_file_name`: walkdir would compare `Path`s (a component parse per
    // comparison, a fifth of the walk at 100,000 files); the result is sorted once as strings
    // below instead.
    let walker = WalkDir::new(&canonical_root)
        .follow_links(true)
        .into_iter()
        .filter_entry(|entry| {
            if entry.depth() == 0 {
                return true;
            }
            let name = entry.file_name().as_encoded_bytes();
            // Hidden directories (`.git`) and Jekyll's drafts and output are never entered.
            if name.starts_with(b".")
                || (entry.file_type().is_dir()
                    && std::str::from_utf8(name).is_ok_and(is_skipped_dir))
            {
                return false;
            }
            if entry.path_is_symlink() {
                return match entry.path().canonicalize() {
                    Ok(target) => target.starts_with(&canonical_root),
                    Err(_) => false,
                };
            }
            true
        });
    // Files reached through a linked directory or as links themselves are set aside, so that
    // when a file is reachable both directly and through a link, the direct path (and so the
    // id derived from it) wins whatever the sort order.
    let mut direct: Vec<Found> = Vec::new();
    let mut linked: Vec<(PathBuf, Found)> = Vec::new();
    let mut link_dir_depth: Option<usize> = None;
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                // A link cycle is walkdir telling us it refused to loop: nothing is lost.
                if e.loop_ancestor().is_some() {
                    continue;
                }
                let path = e
                    .path()
                    .and_then(|p| p.strip_prefix(&canonical_root).ok())
                    .map_or_else(|| root.display().to_string(), slash_path);
                errors.push(WalkError {
                    path,
                    error: FileError::Io(e.to_string()),
                });
                continue;
            }
        };
        if link_dir_depth.is_some_and(|d| entry.depth() <= d) {
            link_dir_depth = None;
        }
        if entry.file_type().is_dir() {
            dirs_changed = dirs_changed.max(entry.metadata().ok().and_then(|m| status_changed(&m)));
            if entry.path_is_symlink() && link_dir_depth.is_none() {
                link_dir_depth = Some(entry.depth());
            }
            continue;
        }
        // Not only files: a FIFO or socket named like a post is reported below.
        let is_file = entry.file_type().is_file();
        // Cheap tests on the file name first: most entries of a content folder are posts, but
        // a site's assets can outnumber them.
        let name = entry.file_name();
        if let Some(name) = name.to_str()
            && !is_post_file_name(name)
        {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(&canonical_root) else {
            continue;
        };
        let Some(rel_text) = rel.to_str() else {
            if is_candidate(rel) {
                errors.push(WalkError {
                    path: slash_path(rel),
                    error: FileError::BadFileName,
                });
            }
            continue;
        };
        // Already `/`-separated where that is the separator: no component walk needed.
        let relative = if std::path::MAIN_SEPARATOR == '/' {
            rel_text.to_owned()
        } else {
            slash_path(rel)
        };
        if !is_file {
            // Reported, not read: a FIFO named like a post would block its reader for good.
            errors.push(WalkError {
                path: relative,
                error: FileError::NotRegular,
            });
            continue;
        }
        let file = Found {
            path: entry.path().to_owned(),
            relative,
        };
        if link_dir_depth.is_some() || entry.path_is_symlink() {
            if let Ok(target) = entry.path().canonicalize() {
                linked.push((target, file));
            }
        } else {
            direct.push(file);
        }
    }
    if !linked.is_empty() {
        // Most sites link nothing: the set of every direct path is built only when needed.
        let mut seen: HashSet<PathBuf> = direct.iter().map(|f| f.path.clone()).collect();
        linked.sort_by(|a, b| a.1.relative.cmp(&b.1.relative));
        for (target, file) in linked {
            if seen.insert(target) {
                direct.push(file);
            }
        }
    }
    direct.sort_unstable_by(|a, b| a.relative.cmp(&b.relative));
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    Walk {
        found: direct,
        errors,
        dirs_changed,
    }
}

/// The status change of the nearest folder of `relative` (a `/`-separated path under `root`)
/// that still exists: where a file that vanished was deleted or renamed from, that folder's
/// time moved when it went (or, if its folder went too, the next one up did).
pub fn folder_changed(root: &Path, relative: &str) -> Option<(i64, i64)> {
    let mut rel = relative;
    loop {
        rel = match rel.rfind('/') {
            Some(i) => &rel[..i],
            None => "",
        };
        let dir = if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(rel)
        };
        if let Ok(meta) = std::fs::metadata(&dir)
            && meta.is_dir()
        {
            return status_changed(&meta);
        }
        if rel.is_empty() {
            return None;
        }
    }
}

/// The status change of whatever `path` is, if it exists.
pub fn status_change(path: &Path) -> Option<(i64, i64)> {
    std::fs::metadata(path)
        .ok()
        .and_then(|m| status_changed(&m))
}

/// The directory `dir` leads to, canonical; why not, when it cannot be read as one.
pub fn readable_dir(dir: &Path) -> Result<PathBuf, String> {
    match dir.canonicalize() {
        // A directory that cannot be listed (no read permission) is as good as missing.
        Ok(root) if root.is_dir() => match std::fs::read_dir(&root) {
            Ok(_) => Ok(root),
            Err(e) => Err(e.to_string()),
        },
        Ok(_) => Err("it is not a directory".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// A directory's identity: its canonical path and, on Unix, its device and inode, so that a
/// directory recreated or renamed into the same path is told apart from the one before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirId {
    path: PathBuf,
    #[cfg(unix)]
    inode: (u64, u64),
}

/// The directory `dir` leads to, canonical, with its identity; `None` when there is none.
pub fn dir_identity(dir: &Path) -> Option<(PathBuf, DirId)> {
    let path = dir.canonicalize().ok()?;
    let meta = std::fs::metadata(&path).ok().filter(|m| m.is_dir())?;
    #[cfg(not(unix))]
    let _ = &meta;
    let id = DirId {
        path: path.clone(),
        #[cfg(unix)]
        inode: {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        },
    };
    Some((path, id))
}

/// Whether `relative` (a `/`-separated path under `root`, which must be canonical) stays
/// inside `root` when symbolic links are followed: the rule [`discover`] applies to links,
/// for one path, so a path a watcher reports is judged exactly as the walk would judge it.
/// A path that does not exist is inside (there is nothing to follow).
pub fn is_inside(root: &Path, relative: &str) -> bool {
    let mut path = root.to_path_buf();
    for part in relative.split('/') {
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                // One link on the way decides it: where the whole path really leads.
                return match path.canonicalize() {
                    Ok(target) => target.starts_with(root),
                    Err(_) => false,
                };
            }
            Ok(_) => {}
            Err(_) => return true,
        }
    }
    true
}

/// A relative path with `/` separators on every platform.
pub fn slash_path(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// What [`read_into`] learned about a file besides its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Last modification time, where the file system records one.
    pub modified: Option<SystemTime>,
    /// Size in bytes when opened.
    pub len: u64,
    /// Last status change (Unix `ctime`, seconds and nanoseconds): it moves with every write,
    /// permission change or rename, and no tool can set it back, so a rescan notices a file
    /// rewritten with its old size and modification time restored (`rsync -a`, `touch -d`) or
    /// made readable again.
    pub changed: Option<(i64, i64)>,
}

/// The status-change time of `meta`, where the platform has one.
fn status_changed(meta: &std::fs::Metadata) -> Option<(i64, i64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((meta.ctime(), meta.ctime_nsec()))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

/// Why [`read_into`] has no bytes to give.
#[derive(Debug)]
pub enum ReadError {
    /// Nothing (or no longer a regular file) at that path.
    Missing,
    /// The file is there but cannot be used.
    Unusable(FileError),
}

/// Reads a file into `buf` (cleared first, so one buffer serves many files without a fresh
/// allocation and page faults for each), refusing one over `limit` bytes without reading it
/// all. One `open` and one `fstat` per file: the stamp comes from the open handle.
pub fn read_into(path: &Path, limit: usize, buf: &mut Vec<u8>) -> Result<Stamp, ReadError> {
    let unusable = |e: std::io::Error| ReadError::Unusable(FileError::Io(e.to_string()));
    // Only regular files are read: a FIFO would block `open` itself until a writer came, so
    // files are opened non-blocking (on Unix; elsewhere the path is checked first) and the
    // handle's type decides. One open and one fstat per file, as for any post: at 100,000
    // posts a stat more per file is a measurable share of the start.
    #[cfg(not(unix))]
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        return Err(ReadError::Unusable(FileError::NotRegular));
    }
    let file = match open_nonblocking(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ReadError::Missing),
        Err(e) => return Err(unusable(e)),
    };
    let meta = file.metadata().map_err(unusable)?;
    if meta.is_dir() {
        return Err(ReadError::Missing);
    }
    if !meta.is_file() {
        return Err(ReadError::Unusable(FileError::NotRegular));
    }
    let stamp = Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
        changed: status_changed(&meta),
    };
    if stamp.len > limit as u64 {
        return Err(ReadError::Unusable(FileError::TooLarge {
            size: stamp.len,
            limit,
        }));
    }
    buf.clear();
    buf.reserve(stamp.len as usize);
    // `take` guards against a file that grows while it is read.
    file.take(limit as u64 + 1)
        .read_to_end(buf)
        .map_err(unusable)?;
    if buf.len() > limit {
        return Err(ReadError::Unusable(FileError::TooLarge {
            size: buf.len() as u64,
            limit,
        }));
    }
    Ok(stamp)
}

/// Opens for reading without blocking on FIFOs (on Unix; elsewhere a plain open).
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

/// The stamp of a file without reading it, for rescans.
pub fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
        changed: status_changed(&meta),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_candidates() {
        for (path, expected) in [
            ("a.md", true),
            ("2022/x.markdown", true),
            ("a.TXT", true),
            ("a.html", true),
            ("a.htm", true),
            ("a.rst", false),
            ("a.md~", false),
            (".a.md", false),
            ("#a.md#", false),
            (".#a.md", false),
            ("~$a.md", false),
            ("a.md.swp", false),
            ("a.md.tmp", false),
            (".git/a.md", false),
            ("_drafts/a.md", false),
            ("_posts/a.md", true),
            ("_a.md", true),
            ("md", false),
            (".md", false),
        ] {
            assert_eq!(is_candidate(Path::new(path)), expected, "{path}");
        }
    }
}
