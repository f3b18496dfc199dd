//! Loading: the content directory in, posts and feeds (and every file that failed) out.
//!
//! This is the one place where `files` (which paths, which bytes) meets `posts` (bytes → an
//! entry). Every command loads the same way: `serve` keeps a [`Catalog`] for its whole life
//! and refreshes it as files change, while `build` and `check` load one and read it once.
//!
//! Loading never fails as a whole: a file that cannot be read or parsed becomes a
//! [`LoadError`] (path, line, reason) and everything else loads normally. A file that breaks
//! after it loaded keeps its last good post.

mod catalog;

use std::path::Path;

use rayon::prelude::*;

use crate::config::Config;
use crate::files::{self, FileError, ReadError, Stamp};
use crate::posts::{self, Loaded, PostError, Source};
pub use catalog::{Catalog, Delta};

/// The content directory cannot be read: nothing can be loaded from it.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the content directory {path}: {reason}")]
pub struct ContentDirError {
    /// The directory as configured.
    pub path: std::path::PathBuf,
    /// Why.
    pub reason: String,
}

/// Checks, before any command runs, that the content directory is there and can be read, so
/// every command refuses a missing one the same way instead of publishing nothing.
pub fn require_content_dir(dir: &std::path::Path) -> Result<(), ContentDirError> {
    files::readable_dir(dir)
        .map(|_| ())
        .map_err(|reason| ContentDirError {
            path: dir.to_owned(),
            reason,
        })
}

/// Why a file is not an entry: the file could not be read, or its bytes are not a post.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    /// Reading the file (or walking to it) failed.
    #[error(transparent)]
    File(#[from] FileError),
    /// The bytes do not make a post.
    #[error(transparent)]
    Post(#[from] posts::Reason),
}

/// A file that could not be loaded: which file, where in it, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}{}: {reason}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct LoadError {
    /// The file's path under the content directory.
    pub path: String,
    /// The line (1-based) the problem is on, where known.
    pub line: Option<usize>,
    /// What is wrong.
    pub reason: Reason,
}

impl LoadError {
    fn file(path: &str, error: FileError) -> Self {
        Self {
            path: path.to_owned(),
            line: None,
            reason: Reason::File(error),
        }
    }

    fn post(path: &str, error: PostError) -> Self {
        Self {
            path: path.to_owned(),
            line: error.line,
            reason: Reason::Post(error.reason),
        }
    }
}

impl From<files::WalkError> for LoadError {
    fn from(e: files::WalkError) -> Self {
        Self::file(&e.path, e.error)
    }
}

/// A thread pool for loading, separate from any the caller runs (the HTTP workers, say), so a
/// full reload never starves request handling. Twice as many threads as cores: loading
/// alternates between waiting for the file system and parsing, and the extra threads keep
/// the cores busy during the waits (measured: about 10% faster at 100,000 posts on 2 cores).
pub fn pool() -> rayon::ThreadPool {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get() * 2);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("tidings-load-{i}"))
        .build()
        .unwrap_or_else(|_| {
            // Building a pool fails only if threads cannot be spawned at all; one thread is
            // then the best we can do, and it too can only fail for the same reason.
            rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap_or_else(|e| panic!("cannot start a loader thread: {e}"))
        })
}

/// What reading one path gave.
enum FileRead {
    /// Nothing that may be a post is there (any more).
    Gone,
    /// The file's current bytes, and what they load as.
    Read {
        /// The bytes' [`posts::content_hash`] (or the error's, when there are none): equal
        /// hashes, equal outcome, so the same bytes are never parsed twice.
        hash: posts::ContentHash,
        /// Size and modification time when read.
        stamp: Option<Stamp>,
        result: Result<Loaded, LoadError>,
    },
}

/// The batch loader: reads `paths` (relative to `root`) on `pool`, one reused buffer per
/// thread, and loads each. The one pool → read → load → error sequence every command uses.
fn read_all(
    pool: &rayon::ThreadPool,
    root: &Path,
    paths: Vec<String>,
    config: &Config,
    names: &posts::Names,
) -> Vec<(String, FileRead)> {
    pool.install(|| {
        paths
            .into_par_iter()
            .map_init(Vec::new, |buf, p| {
                let read = read_file(root, &p, config, names, buf);
                (p, read)
            })
            .collect()
    })
}

/// The content directory, read again for posts' bodies (see [`posts::PostFiles`]): under
/// the same rules as the first read (regular files only, the size limit), so a body is never
/// read from something the loader would have refused.
#[derive(Debug, Clone)]
pub struct ContentFiles {
    root: std::path::PathBuf,
    max_bytes: usize,
}

impl ContentFiles {
    /// The content directory `config` names.
    pub fn new(config: &Config) -> Self {
        Self {
            root: config.content_dir.clone(),
            max_bytes: config.posts.max_bytes,
        }
    }
}

impl posts::PostFiles for ContentFiles {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        let mut buf = Vec::new();
        files::read_into(&self.root.join(path), self.max_bytes, &mut buf).ok()?;
        Some(buf)
    }
}

/// Reads and loads one file into `buf`'s reused allocation. A path that no longer names a
/// candidate regular file is `Gone`.
fn read_file(
    root: &Path,
    relative: &str,
    config: &Config,
    names: &posts::Names,
    buf: &mut Vec<u8>,
) -> FileRead {
    if !files::is_candidate(Path::new(relative)) {
        return FileRead::Gone;
    }
    let path = root.join(relative);
    match files::read_into(&path, config.posts.max_bytes, buf) {
        Ok(stamp) => {
            let source = Source::on_disk(relative, buf);
            let result = posts::load_post_with(&source, config, names)
                .map_err(|e| LoadError::post(relative, e));
            let hash = match &result {
                Ok(Loaded::Post(p)) => p.content_hash,
                _ => posts::content_hash(buf),
            };
            FileRead::Read {
                hash,
                stamp: Some(stamp),
                result,
            }
        }
        Err(ReadError::Missing) => FileRead::Gone,
        Err(ReadError::Unusable(error)) => FileRead::Read {
            // Hash the error text so the same failure is not reported anew each time.
            hash: posts::content_hash(error.to_string().as_bytes()),
            stamp: files::stamp(&path),
            result: Err(LoadError::file(relative, error)),
        },
    }
}
