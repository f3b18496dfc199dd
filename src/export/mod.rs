//! The static export: every document written under exactly the path the server uses, for any
//! static host, object store or CDN.
//!
//! The output appears all at once: documents are written to a staging folder beside the
//! target, which then replaces the target with two renames. A reader of the folder (a sync to
//! object storage, a web server) never sees half of one build and half of another, and files
//! of feeds that no longer exist do not linger.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::config::Config;
use crate::documents::encoding::{self, Coding, Effort};
use crate::documents::{self, Context, DocId};
use crate::feeds::Scope;
use crate::load::{self, Catalog, Delta, LoadError};
use crate::posts::Bodies;
use crate::watch::{Sink, WatchError, Watcher};

pub mod nginx;

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
    /// The content directory cannot be watched.
    #[error(transparent)]
    Watch(#[from] WatchError),
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
    /// How the compressed copies were made ([`encoding::SETTINGS`]); absent in exports made
    /// before there were any.
    #[serde(default)]
    compression: String,
}

/// What the export at `out` says it holds, if it says.
fn manifest_in(out: &Path) -> Option<Manifest> {
    let text = std::fs::read(out.join(MANIFEST)).ok()?;
    serde_json::from_slice::<Manifest>(&text).ok()
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

/// What an export did. Files are counted with their compressed copies.
#[derive(Debug)]
pub struct ExportReport {
    /// Documents in the export.
    pub documents: usize,
    /// Bytes of the export's documents (uncompressed).
    pub bytes: u64,
    /// Compressed copies beside them (`.gz`, `.br`).
    pub compressed: usize,
    /// Files written because their bytes are new.
    pub written: usize,
    /// Files the earlier export had with the same bytes: kept as they were (same file, same
    /// modification time), so a sync tool sees no change.
    pub kept: usize,
    /// Files of the earlier export that the new one no longer has.
    pub removed: usize,
    /// Whether the web-server snippets changed (a running nginx needs a reload to follow).
    pub server_config_changed: bool,
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
    let mut exporter = Exporter::new(out, replace)?;
    let catalog = Catalog::load(Arc::new(config.clone()), now);
    exporter.write(&catalog, None)
}

/// Keeps the export `exporter` wrote of `catalog` current as the content changes, with the
/// server's rebuild loop (the same watcher, debouncing, polling and rescans): each change
/// exports again, linking every document it did not touch, and logs one line. Runs until
/// the returned watcher is stopped.
pub fn watch(
    config: Arc<Config>,
    catalog: Catalog,
    exporter: Exporter,
) -> Result<Watcher, ExportError> {
    Ok(Watcher::start_with(config, Some(catalog), move || {
        Watching { exporter }
    })?)
}

/// The export as a sink of the rebuild loop.
struct Watching {
    exporter: Exporter,
}

impl Sink for Watching {
    fn loaded(&mut self, catalog: &Catalog, _took: Duration) {
        self.export(catalog, None, Instant::now());
    }

    fn rebuilt(&mut self, catalog: &Catalog, delta: &Delta, _rescan: bool, noticed: Instant) {
        self.export(catalog, Some(delta), noticed);
    }
}

impl Watching {
    /// Exports, and logs one line: what changed, what it did, how long from the change
    /// being noticed to the export in place.
    fn export(&mut self, catalog: &Catalog, delta: Option<&Delta>, noticed: Instant) {
        match self.exporter.write(catalog, delta) {
            Ok(report) => {
                let took = noticed.elapsed();
                tracing::info!(
                    feeds_changed = delta.map_or(0, |d| d.scopes.len()),
                    documents = report.documents,
                    written = report.written,
                    kept = report.kept,
                    removed = report.removed,
                    errors = report.errors.len(),
                    ms = took.as_millis() as u64,
                    "exported {}",
                    self.exporter.out().display()
                );
                if report.server_config_changed {
                    tracing::warn!(
                        "the nginx snippets in {} changed: reload nginx if it serves this folder",
                        self.exporter.out().display()
                    );
                }
            }
            // The export there stays as it was; the next change tries again.
            Err(e) => tracing::error!("the export was not updated: {e}"),
        }
    }
}

/// Writes exports of one catalog as it changes, into one folder. It remembers what it
/// wrote, so that the next export links every document a change did not touch from the one
/// before without rendering or reading it.
#[derive(Debug)]
pub struct Exporter {
    out: PathBuf,
    replace: Replace,
    bodies: Bodies,
    /// The files of the export this exporter last wrote at `out`, by document.
    last: Option<HashMap<DocId, Entry>>,
}

/// One document's files in an export.
#[derive(Debug, Clone)]
struct Entry {
    rel: PathBuf,
    len: u64,
    /// For archive pages: what their bytes are a function of ([`documents::archive_key`]).
    key: Option<[u8; 32]>,
    gzip: bool,
    brotli: bool,
}

impl Entry {
    fn has(&self, coding: Coding) -> bool {
        match coding {
            Coding::Gzip => self.gzip,
            Coding::Brotli => self.brotli,
        }
    }
}

/// A document written: its files and what writing them did.
type Made = (DocId, Entry, Tally);

/// What writing one document did.
#[derive(Debug, Default)]
struct Tally {
    written: usize,
    kept: usize,
    compressed: usize,
}

impl Exporter {
    /// An exporter into `out` that has written nothing yet. Refuses an `out` it could never
    /// replace now rather than after loading the content.
    pub fn new(out: &Path, replace: Replace) -> Result<Self, ExportError> {
        staging_paths(out)?;
        if replace == Replace::ExportsOnly && !replaceable(out) {
            return Err(ExportError::NotAnExport(out.to_owned()));
        }
        Ok(Self {
            out: out.to_owned(),
            replace,
            bodies: Bodies::default(),
            last: None,
        })
    }

    /// The folder it writes.
    pub fn out(&self) -> &Path {
        &self.out
    }

    /// Writes the catalog's documents under `out` and swaps them in. `delta`, when given,
    /// is the change since the catalog this exporter last wrote: documents of scopes it does
    /// not name, and archive pages whose entries are the same, are linked from that export
    /// without being rendered or read.
    pub fn write(
        &mut self,
        catalog: &Catalog,
        delta: Option<&Delta>,
    ) -> Result<ExportReport, ExportError> {
        let out = self.out.clone();
        if self.replace == Replace::ExportsOnly && self.last.is_none() && !replaceable(&out) {
            return Err(ExportError::NotAnExport(out));
        }
        let config = catalog.config();
        let posts = catalog.post_count();
        if self.replace == Replace::ExportsOnly
            && let Some(before) = manifest_in(&out).map(|m| m.posts)
            && posts * 2 < before
        {
            return Err(ExportError::LostPosts {
                out: out.clone(),
                before,
                after: posts,
            });
        }
        // Compressed copies of an earlier export are reused only if they were made the way
        // this build makes them.
        let same_compression =
            manifest_in(&out).is_some_and(|m| m.compression == encoding::SETTINGS);
        let ctx = Context {
            config,
            feeds: catalog.feeds(),
            bodies: &self.bodies,
        };
        let ids = documents::all(ctx);
        let affected: Option<HashSet<&Scope>> = delta.map(|d| d.scopes.iter().collect());
        // Only what this exporter wrote itself is known without reading it.
        let last = self.last.take().filter(|_| out.is_dir());

        let (staging, previous) = staging_paths(&out)?;
        remove_if_exists(&staging)?;
        create_dir(&staging)?;

        let progress = if std::io::stderr().is_terminal() && last.is_none() {
            let bar = ProgressBar::new(ids.len() as u64);
            if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} documents {msg}")
            {
                bar.set_style(style);
            }
            bar
        } else {
            ProgressBar::hidden()
        };

        let files = unique_files(&ids);
        let place = Place {
            out: &out,
            staging: &staging,
        };
        let done: Result<Vec<Option<Made>>, ExportError> = load::pool().install(|| {
            files
                .par_iter()
                .map(|(id, rel)| {
                    let before = last.as_ref().and_then(|l| l.get(id));
                    let unchanged = |e: &&Entry| {
                        e.rel == *rel
                            && (affected
                                .as_ref()
                                .is_some_and(|a| !documents::depends_on(id, a))
                                || e.key.is_some()
                                    && e.key == documents::archive_key(config, ctx.feeds, id))
                    };
                    let result = match before.filter(unchanged) {
                        Some(entry) => match place.link_entry(entry) {
                            Some(tally) => Some((id.clone(), entry.clone(), tally)),
                            // The earlier file is gone (someone else touched the
                            // folder): made again.
                            None => place.render(ctx, id, rel, same_compression)?,
                        },
                        None => place.render(ctx, id, rel, same_compression)?,
                    };
                    progress.inc(1);
                    Ok(result)
                })
                .collect()
        });
        progress.finish_and_clear();
        let done = match done {
            Ok(d) => d,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                return Err(e);
            }
        };

        let mut report = ExportReport {
            documents: 0,
            bytes: 0,
            compressed: 0,
            written: 0,
            kept: 0,
            removed: 0,
            server_config_changed: false,
            errors: catalog.errors(),
        };
        let mut entries = HashMap::with_capacity(done.len());
        let mut served = Vec::with_capacity(done.len());
        for (id, entry, tally) in done.into_iter().flatten() {
            report.documents += 1;
            report.bytes += entry.len;
            report.compressed += tally.compressed;
            report.written += tally.written;
            report.kept += tally.kept;
            served.push(nginx::Served {
                uri: uri_of(&entry.rel),
                full_archive: documents::full_archive(config, ctx.feeds, &id),
            });
            entries.insert(id, entry);
        }

        // The manifest and the web-server snippets, kept like documents when unchanged.
        let manifest = serde_json::to_vec(&Manifest {
            posts,
            compression: encoding::SETTINGS.to_owned(),
        })
        .unwrap_or_default();
        let snippets = nginx::snippets(&config.feeds, &served);
        let mut extras: Vec<(&str, &[u8])> = vec![(MANIFEST, &manifest)];
        extras.extend(snippets.iter().map(|(name, text)| (*name, text.as_bytes())));
        for (name, bytes) in extras {
            let path = staging.join(name);
            if keep_if_same(&out.join(name), &path, bytes) {
                continue;
            }
            // A first export changes no configuration nginx has loaded.
            if name != MANIFEST && out.join(name).exists() {
                report.server_config_changed = true;
            }
            if let Err(source) = std::fs::write(&path, bytes) {
                let _ = std::fs::remove_dir_all(&staging);
                return Err(ExportError::Write { path, source });
            }
        }

        // Swap the new tree in: out → previous, staging → out, then drop previous. If a
        // rename fails (`--out` is a mount point, say), the old tree is put back and the
        // staging folder removed: a failed build leaves things as they were.
        let swap = || -> Result<(), ExportError> {
            remove_if_exists(&previous)?;
            let had_out = out.exists();
            if had_out {
                std::fs::rename(&out, &previous).map_err(|source| ExportError::Write {
                    path: out.clone(),
                    source,
                })?;
            }
            if let Err(source) = std::fs::rename(&staging, &out) {
                if had_out {
                    let _ = std::fs::rename(&previous, &out);
                }
                return Err(ExportError::Write {
                    path: out.clone(),
                    source,
                });
            }
            remove_if_exists(&previous)
        };
        report.removed = files_under(&out)
            .iter()
            .filter(|rel| !staging.join(rel).exists())
            .count();
        if let Err(e) = swap() {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
        self.last = Some(entries);
        Ok(report)
    }
}

/// Where an export is written: the earlier export (`out`) and the one being made.
#[derive(Clone, Copy)]
struct Place<'a> {
    out: &'a Path,
    staging: &'a Path,
}

impl Place<'_> {
    /// Links a document's files, compressed copies included, from the earlier export as
    /// they are; `None` (and nothing left behind) if any of them is not there.
    fn link_entry(&self, entry: &Entry) -> Option<Tally> {
        let mut rels = vec![entry.rel.clone()];
        rels.extend(
            Coding::ALL
                .into_iter()
                .filter(|c| entry.has(*c))
                .map(|c| sibling(&entry.rel, c)),
        );
        let made = self.dir_for(&entry.rel).is_ok()
            && rels
                .iter()
                .all(|rel| link_or_copy(&self.out.join(rel), &self.staging.join(rel)));
        if !made {
            for rel in &rels {
                let _ = std::fs::remove_file(self.staging.join(rel));
            }
            return None;
        }
        Some(Tally {
            written: 0,
            kept: rels.len(),
            compressed: rels.len() - 1,
        })
    }

    /// Renders one document and writes it with its compressed copies, keeping each file the
    /// earlier export has with the same bytes. `same_compression`: the earlier export's
    /// compressed copies were made as this build makes them, so those of a document whose
    /// bytes did not change are kept without compressing again.
    fn render(
        &self,
        ctx: Context<'_>,
        id: &DocId,
        rel: &Path,
        same_compression: bool,
    ) -> Result<Option<Made>, ExportError> {
        let bytes = match documents::render(ctx, id) {
            Ok(Some(doc)) => doc.body,
            Ok(None) => return Ok(None),
            // A document that cannot be serialized fails the export rather than leaving an
            // empty file behind.
            Err(e) => {
                return Err(ExportError::Write {
                    path: self.staging.join(rel),
                    source: std::io::Error::other(e),
                });
            }
        };
        self.dir_for(rel)?;
        let mut tally = Tally::default();
        let mut entry = Entry {
            rel: rel.to_owned(),
            len: bytes.len() as u64,
            key: documents::archive_key(ctx.config, ctx.feeds, id),
            gzip: false,
            brotli: false,
        };
        let same = keep_if_same(&self.out.join(rel), &self.staging.join(rel), &bytes);
        if same {
            tally.kept += 1;
        } else {
            write_file(&self.staging.join(rel), &bytes)?;
            tally.written += 1;
        }
        for coding in Coding::ALL {
            let name = sibling(rel, coding);
            let (old, new) = (self.out.join(&name), self.staging.join(&name));
            let has = if same && same_compression {
                // Same bytes, same settings: the earlier copy, or none if it had none.
                let linked = old.is_file() && link_or_copy(&old, &new);
                tally.kept += usize::from(linked);
                linked
            } else {
                match encoding::encode(&bytes, coding, Effort::of(id)) {
                    Some(compressed) => {
                        write_file(&new, &compressed)?;
                        tally.written += 1;
                        true
                    }
                    None => false,
                }
            };
            tally.compressed += usize::from(has);
            match coding {
                Coding::Gzip => entry.gzip = has,
                Coding::Brotli => entry.brotli = has,
            }
        }
        Ok(Some((id.clone(), entry, tally)))
    }

    fn dir_for(&self, rel: &Path) -> Result<(), ExportError> {
        match self.staging.join(rel).parent() {
            Some(parent) => create_dir(parent),
            None => Ok(()),
        }
    }
}

/// The path a web server serving the export finds `rel` under, decoded (as nginx matches
/// locations).
fn uri_of(rel: &Path) -> String {
    let mut uri = String::new();
    for part in rel.components() {
        uri.push('/');
        uri.push_str(&part.as_os_str().to_string_lossy());
    }
    uri
}

/// The compressed copy of `rel` in `coding`: `feed.atom.gz`, `feed.atom.br`.
fn sibling(rel: &Path, coding: Coding) -> PathBuf {
    let mut name = rel.as_os_str().to_owned();
    name.push(".");
    name.push(coding.suffix());
    PathBuf::from(name)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    std::fs::write(path, bytes).map_err(|source| ExportError::Write {
        path: path.to_owned(),
        source,
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
    link_or_copy(old, new)
}

/// Puts `old` at `new` as the same file: a hard link, so its modification time and inode
/// stay. Whether it did.
fn link_or_copy(old: &Path, new: &Path) -> bool {
    if std::fs::hard_link(old, new).is_ok() {
        return true;
    }
    // No hard links here (some file systems): a copy with the old modification time.
    let Ok(meta) = std::fs::metadata(old) else {
        return false;
    };
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
