//! The static export: every document written under exactly the path the server uses, for any
//! static host, object store or CDN.
//!
//! The output appears all at once: documents are written to a staging folder beside the
//! target, which then replaces the target with two renames. A reader of the folder (a sync to
//! object storage, a web server) never sees half of one build and half of another, and files
//! of feeds that no longer exist do not linger.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::config::Config;
use crate::documents::{self, Context, DocId};
use crate::load::{self, Catalog, LoadError};
use crate::posts::Bodies;

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A file or folder could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// What could not be written.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// `--out` has no parent folder to stage in, or no final component.
    #[error("the output folder {0} is not usable (it must name a folder, not `/` or `..`)")]
    BadOut(PathBuf),
    /// `--out` holds something that is not an earlier export, which a build would delete.
    #[error(
        "{0} exists and is not a tidings export (it has no feeds.opml and feed.html); \
         choose another --out, or pass --force to replace it"
    )]
    NotAnExport(PathBuf),
    /// The new export would hold far fewer posts than the one it replaces: a mistyped
    /// `--content`, a half-synced folder or a broken site, not an editor's deletions.
    #[error(
        "{out} holds an export of {before} posts and this build has {after}; refusing to \
         replace it with fewer than half (check --content, or pass --force)"
    )]
    LostPosts {
        /// The folder.
        out: PathBuf,
        /// Posts in the export there now.
        before: usize,
        /// Posts this build would write.
        after: usize,
    },
}

/// Written at the top of every export: what it holds, so the next build can tell an export
/// that lost most of its posts from an editor's deletions.
pub const MANIFEST: &str = "tidings-export.json";

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Manifest {
    posts: usize,
}

/// The posts an export at `out` holds, if it says.
fn posts_in(out: &Path) -> Option<usize> {
    let text = std::fs::read(out.join(MANIFEST)).ok()?;
    serde_json::from_slice::<Manifest>(&text)
        .ok()
        .map(|m| m.posts)
}

/// What an export may replace at `--out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    /// Only an earlier export (or an empty folder): a mistyped `--out` never deletes a
    /// folder of something else.
    ExportsOnly,
    /// Whatever is there (`--force`).
    Anything,
}

/// What an export did.
#[derive(Debug)]
pub struct ExportReport {
    /// Documents in the export.
    pub documents: usize,
    /// Bytes of the export's documents.
    pub bytes: u64,
    /// Files written because their bytes are new.
    pub written: usize,
    /// Files the earlier export had with the same bytes: kept as they were (same file, same
    /// modification time), so a sync tool sees no change.
    pub kept: usize,
    /// Files of the earlier export that the new one no longer has.
    pub removed: usize,
    /// Posts that failed to load (everything else was still written).
    pub errors: Vec<LoadError>,
}

/// Loads the content, renders every document and writes them under `out`. `now` decides
/// which future-dated posts are visible.
pub fn export(
    config: &Config,
    out: &Path,
    now: DateTime<Utc>,
    replace: Replace,
) -> Result<ExportReport, ExportError> {
    if replace == Replace::ExportsOnly && !replaceable(out) {
        return Err(ExportError::NotAnExport(out.to_owned()));
    }
    let catalog = Catalog::load(Arc::new(config.clone()), now);
    let posts = catalog.post_count();
    if replace == Replace::ExportsOnly
        && let Some(before) = posts_in(out)
        && posts * 2 < before
    {
        return Err(ExportError::LostPosts {
            out: out.to_owned(),
            before,
            after: posts,
        });
    }
    let bodies = Bodies::default();
    let ctx = Context {
        config,
        feeds: catalog.feeds(),
        bodies: &bodies,
    };
    let ids = documents::all(ctx);

    let (staging, previous) = staging_paths(out)?;
    remove_if_exists(&staging)?;
    create_dir(&staging)?;

    let progress = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(ids.len() as u64);
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} documents {msg}") {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };

    let files = unique_files(&ids);
    let written: Result<Vec<(u64, bool)>, ExportError> = load::pool().install(|| {
        files
            .par_iter()
            .map(|(id, rel)| {
                let bytes = match documents::render(ctx, id) {
                    Ok(Some(doc)) => doc.body,
                    Ok(None) => return Ok((0, false)),
                    // A document that cannot be serialized fails the export rather than
                    // leaving an empty file behind.
                    Err(e) => {
                        return Err(ExportError::Write {
                            path: staging.join(rel),
                            source: std::io::Error::other(e),
                        });
                    }
                };
                let path = staging.join(rel);
                if let Some(parent) = path.parent() {
                    create_dir(parent)?;
                }
                let kept = keep_if_same(&out.join(rel), &path, &bytes);
                if !kept {
                    std::fs::write(&path, &bytes).map_err(|source| ExportError::Write {
                        path: path.clone(),
                        source,
                    })?;
                }
                progress.inc(1);
                Ok((bytes.len() as u64, kept))
            })
            .collect()
    });
    progress.finish_and_clear();
    let manifest = serde_json::to_vec(&Manifest { posts }).unwrap_or_default();
    let written = written.and_then(|w| {
        let path = staging.join(MANIFEST);
        if !keep_if_same(&out.join(MANIFEST), &path, &manifest) {
            std::fs::write(&path, &manifest)
                .map_err(|source| ExportError::Write { path, source })?;
        }
        Ok(w)
    });
    let written = match written {
        Ok(w) => w,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };

    // Swap the new tree in: out → previous, staging → out, then drop previous. If a rename
    // fails (`--out` is a mount point, say), the old tree is put back and the staging
    // folder removed: a failed build leaves things as they were.
    let swap = || -> Result<(), ExportError> {
        remove_if_exists(&previous)?;
        let had_out = out.exists();
        if had_out {
            std::fs::rename(out, &previous).map_err(|source| ExportError::Write {
                path: out.to_owned(),
                source,
            })?;
        }
        if let Err(source) = std::fs::rename(&staging, out) {
            if had_out {
                let _ = std::fs::rename(&previous, out);
            }
            return Err(ExportError::Write {
                path: out.to_owned(),
                source,
            });
        }
        remove_if_exists(&previous)
    };
    let removed = files_under(out)
        .iter()
        .filter(|rel| !staging.join(rel).exists())
        .count();
    if let Err(e) = swap() {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }

    Ok(ExportReport {
        documents: written.iter().filter(|(b, _)| *b > 0).count(),
        bytes: written.iter().map(|(b, _)| b).sum(),
        written: written.iter().filter(|(b, kept)| *b > 0 && !kept).count(),
        kept: written.iter().filter(|(_, kept)| *kept).count(),
        removed,
        errors: catalog.errors(),
    })
}

/// Whether a build may replace what is at `out`: nothing, an empty folder, or an earlier
/// export (every export has `feeds.opml` and `feed.html` at its top; those of versions with
/// the XSL stylesheet had `feed.xsl` instead).
fn replaceable(out: &Path) -> bool {
    match std::fs::read_dir(out) {
        Ok(mut entries) => {
            entries.next().is_none()
                || (out.join("feeds.opml").is_file()
                    && (out.join("feed.html").is_file() || out.join("feed.xsl").is_file()))
        }
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// Puts the earlier export's `old` file at `new` when it already holds exactly `bytes`: the
/// same file (a hard link, so its modification time and inode stay), which sync tools then
/// skip. Whether it did; when it did not, the caller writes the bytes.
fn keep_if_same(old: &Path, new: &Path, bytes: &[u8]) -> bool {
    let Ok(meta) = std::fs::metadata(old) else {
        return false;
    };
    if !meta.is_file() || meta.len() != bytes.len() as u64 {
        return false;
    }
    if std::fs::read(old).ok().as_deref() != Some(bytes) {
        return false;
    }
    if std::fs::hard_link(old, new).is_ok() {
        return true;
    }
    // No hard links here (some file systems): a copy with the old modification time.
    let copied = std::fs::copy(old, new).is_ok()
        && meta.modified().is_ok_and(|when| {
            std::fs::File::options()
                .write(true)
                .open(new)
                .and_then(|f| f.set_modified(when))
                .is_ok()
        });
    if !copied {
        let _ = std::fs::remove_file(new);
    }
    copied
}

/// Every file under `root`, relative to it (none when it does not exist).
fn files_under(root: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => walk(root, &path, out),
                Ok(t) if t.is_file() => {
                    if let Ok(rel) = path.strip_prefix(root) {
                        out.push(rel.to_owned());
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out
}

/// Assigns each document its file. Two documents can only collide through names that
/// decode to the same path (a category `a/archive/1` and category `a`'s first archive); the
/// later one in the stable order then keeps its percent-encoded path, so nothing is lost.
fn unique_files(ids: &[DocId]) -> Vec<(DocId, PathBuf)> {
    let mut taken = std::collections::HashSet::new();
    ids.iter()
        .map(|id| {
            let mut rel = id.file_path();
            if !taken.insert(rel.clone()) {
                rel = PathBuf::from(id.path().trim_start_matches('/'));
                taken.insert(rel.clone());
            }
            (id.clone(), rel)
        })
        .collect()
}

fn staging_paths(out: &Path) -> Result<(PathBuf, PathBuf), ExportError> {
    let name = out
        .file_name()
        .ok_or_else(|| ExportError::BadOut(out.to_owned()))?
        .to_string_lossy()
        .into_owned();
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    Ok((
        parent.join(format!(".{name}.tidings-staging")),
        parent.join(format!(".{name}.tidings-previous")),
    ))
}

fn create_dir(path: &Path) -> Result<(), ExportError> {
    std::fs::create_dir_all(path).map_err(|source| ExportError::Write {
        path: path.to_owned(),
        source,
    })
}

fn remove_if_exists(path: &Path) -> Result<(), ExportError> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(ExportError::Write {
            path: path.to_owned(),
            source,
        }),
    }
}
