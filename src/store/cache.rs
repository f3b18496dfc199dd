//! Published representations: a document's bytes with what identifies their version (a
//! fingerprint of the bytes) and their compressed
//! encodings, each computed at most once per document version and then shared by every
//! request that asks for it. Turning the version into HTTP validators (`ETag`,
//! `Last-Modified`) is the HTTP layer's business, not the store's.
//!
//! Encodings are computed on the first request that wants them rather than when the document
//! is rendered: after a change, the first reader of a feed then waits for one render, not for
//! a render plus a brotli pass it may not have asked for.

use std::any::Any;
use std::io::Write;
use std::sync::OnceLock;

use bytes::Bytes;

use crate::documents::Document;

/// How hard to compress: a document every poll asks for repays the best compression many
/// times over, while an archive page — one of thousands, read now and then, each first
/// request paying for its encoding — must stay cheap, so that walking the archives in brotli
/// cannot cost far more CPU than serving them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effort {
    /// gzip 9, brotli 9: subscription documents, the index, OPML.
    Best,
    /// gzip 6, brotli 5: several times faster, a few percent larger.
    Quick,
}

impl Effort {
    fn gzip_level(self) -> u32 {
        match self {
            Effort::Best => 9,
            Effort::Quick => 6,
        }
    }

    /// Brotli quality. 11 compresses a 165 KB feed about 5% smaller than 9 but takes an
    /// order of magnitude longer; 9 is the usual static-asset setting.
    fn brotli_quality(self) -> u32 {
        match self {
            Effort::Best => 9,
            Effort::Quick => 5,
        }
    }
}
/// Brotli window (log2): 22 is the format's default and suits documents of any feed size.
const BROTLI_WINDOW: u32 = 22;
/// Below this size compression costs more than it saves (headers and CPU).
const MIN_COMPRESS: usize = 512;

/// A fingerprint of a document version: the BLAKE3 hash of its bytes. Equal bytes give equal
/// fingerprints on every replica and in every run, so it can identify a version to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }

    /// The hash.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The encodings a [`Rendered`] document is kept in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The bytes as rendered.
    Identity,
    /// gzip.
    Gzip,
    /// Brotli.
    Brotli,
}

/// A document ready to send.
#[derive(Debug)]
pub struct Rendered {
    /// Media type without parameters.
    pub media_type: &'static str,
    /// The document as written.
    pub identity: Bytes,
    gzip: OnceLock<Option<Bytes>>,
    brotli: OnceLock<Option<Bytes>>,
    /// Which version of the document this is: a hash of the identity bytes, shared by every
    /// encoding because they are the same content.
    pub fingerprint: Fingerprint,
    effort: Effort,
    /// What whoever serves this version derives from it once (the HTTP layer's header
    /// values): kept with the version, so it lives and dies with it, and found without a
    /// lookup of its own.
    memo: OnceLock<Box<dyn Any + Send + Sync>>,
}

impl Rendered {
    /// Bytes held once both encodings exist, for cache accounting (estimated up front, as
    /// the cache weighs an entry when it is inserted).
    pub fn weight(&self) -> usize {
        self.identity.len() * 3 / 2 + 160
    }

    /// Whether compressed encodings are worth offering at all.
    pub fn compressible(&self) -> bool {
        self.identity.len() >= MIN_COMPRESS
    }

    /// Whether asking for `coding` costs nothing more: the encoding is computed already (or
    /// none is wanted).
    pub fn has(&self, coding: Encoding) -> bool {
        match coding {
            Encoding::Identity => true,
            Encoding::Gzip => self.gzip.get().is_some(),
            Encoding::Brotli => self.brotli.get().is_some(),
        }
    }

    /// Computes `coding` now if it is not yet, so that a later request finds it ready.
    pub fn prepare(&self, coding: Encoding) {
        match coding {
            Encoding::Identity => {}
            Encoding::Gzip => {
                self.gzip();
            }
            Encoding::Brotli => {
                self.brotli();
            }
        }
    }

    /// The gzip encoding, computed on first use; `None` when it would not be smaller.
    pub fn gzip(&self) -> Option<Bytes> {
        self.gzip
            .get_or_init(|| {
                self.compressible()
                    .then(|| gzip(&self.identity, self.effort))
                    .flatten()
            })
            .clone()
    }

    /// The brotli encoding, computed on first use; `None` when it would not be smaller.
    pub fn brotli(&self) -> Option<Bytes> {
        self.brotli
            .get_or_init(|| {
                self.compressible()
                    .then(|| brotli(&self.identity, self.effort))
                    .flatten()
            })
            .clone()
    }

    /// The value `init` makes, made on first use and kept with this version. `None` if an
    /// earlier caller kept a value of another type here (there is one slot, for one consumer).
    pub fn memo<T: Any + Send + Sync>(&self, init: impl FnOnce() -> T) -> Option<&T> {
        self.memo
            .get_or_init(|| Box::new(init()))
            .downcast_ref::<T>()
    }

    /// Hashes a document, to be compressed as well as it can be.
    pub fn new(doc: Document) -> Self {
        Self::with_effort(doc, Effort::Best)
    }

    /// Hashes a document, to be compressed with `effort`.
    pub fn with_effort(doc: Document, effort: Effort) -> Self {
        Self {
            effort,
            memo: OnceLock::new(),
            media_type: doc.media_type,
            fingerprint: Fingerprint::of(&doc.body),
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
            identity: doc.body,
        }
    }
}

fn gzip(data: &[u8], effort: Effort) -> Option<Bytes> {
    // flate2 writes a zero modification time and no file name, so the bytes are the same on
    // every replica.
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 3),
        flate2::Compression::new(effort.gzip_level()),
    );
    enc.write_all(data).ok()?;
    let out = enc.finish().ok()?;
    (out.len() < data.len()).then(|| Bytes::from(out))
}

fn brotli(data: &[u8], effort: Effort) -> Option<Bytes> {
    let mut out = Vec::with_capacity(data.len() / 3);
    {
        let mut w = brotli::CompressorWriter::new(
            &mut out,
            64 * 1024,
            effort.brotli_quality(),
            BROTLI_WINDOW,
        );
        w.write_all(data).ok()?;
        w.flush().ok()?;
    }
    (out.len() < data.len()).then(|| Bytes::from(out))
}
