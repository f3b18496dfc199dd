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
use std::sync::OnceLock;

use bytes::Bytes;

use crate::documents::Document;
pub use crate::documents::encoding::Effort;
use crate::documents::encoding::{self, Coding};

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
        encoding::compressible(self.identity.len())
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
            .get_or_init(|| encoding::encode(&self.identity, Coding::Gzip, self.effort))
            .clone()
    }

    /// The brotli encoding, computed on first use; `None` when it would not be smaller.
    pub fn brotli(&self) -> Option<Bytes> {
        self.brotli
            .get_or_init(|| encoding::encode(&self.identity, Coding::Brotli, self.effort))
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
