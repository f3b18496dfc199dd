//! Published representations: a document's bytes with their validators and their
//! precompressed encodings, computed once per document per rebuild and then shared by every
//! request that asks for it.

use std::io::Write;

use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::documents::Document;

/// Brotli quality. 11 compresses a 165 KB feed about 5% smaller than 9 but takes an order of
/// magnitude longer, and this runs inside a rebuild; 9 is the usual static-asset setting.
const BROTLI_QUALITY: u32 = 9;
/// Brotli window (log2): 22 is the format's default and suits documents of any feed size.
const BROTLI_WINDOW: u32 = 22;
/// Below this size compression costs more than it saves (headers and CPU).
const MIN_COMPRESS: usize = 512;

/// A document ready to send.
#[derive(Debug)]
pub struct Rendered {
    /// Media type without parameters.
    pub media_type: &'static str,
    /// The document as written.
    pub identity: Bytes,
    /// gzip encoding, when worth having.
    pub gzip: Option<Bytes>,
    /// Brotli encoding, when worth having.
    pub brotli: Option<Bytes>,
    /// Entity tag: a hash of the identity bytes. Weak, and shared by every encoding, because
    /// the encodings are the same content (RFC 9110 §8.8.3 allows exactly this); so a client
    /// that switches encodings still gets its 304.
    pub etag: String,
    /// The newest change among the document's entries.
    pub last_modified: Option<DateTime<Utc>>,
}

impl Rendered {
    /// Bytes held, for cache accounting.
    pub fn weight(&self) -> usize {
        self.identity.len()
            + self.gzip.as_ref().map_or(0, |b| b.len())
            + self.brotli.as_ref().map_or(0, |b| b.len())
            + self.etag.len()
            + 128
    }

    /// Hashes and compresses a document.
    pub fn new(doc: Document) -> Self {
        let hash = blake3::hash(&doc.body);
        let etag = format!("W/\"{}\"", &hash.to_hex()[..32]);
        let (gzip, brotli) = if doc.body.len() >= MIN_COMPRESS {
            (gzip(&doc.body), brotli(&doc.body))
        } else {
            (None, None)
        };
        Self {
            media_type: doc.media_type,
            etag,
            gzip,
            brotli,
            last_modified: doc.last_modified.map(|d| d.with_timezone(&Utc)),
            identity: doc.body,
        }
    }
}

fn gzip(data: &[u8]) -> Option<Bytes> {
    // flate2 writes a zero modification time and no file name, so the bytes are the same on
    // every replica.
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 3),
        flate2::Compression::best(),
    );
    enc.write_all(data).ok()?;
    let out = enc.finish().ok()?;
    (out.len() < data.len()).then(|| Bytes::from(out))
}

fn brotli(data: &[u8]) -> Option<Bytes> {
    let mut out = Vec::with_capacity(data.len() / 3);
    {
        let mut w =
            brotli::CompressorWriter::new(&mut out, 64 * 1024, BROTLI_QUALITY, BROTLI_WINDOW);
        w.write_all(data).ok()?;
        w.flush().ok()?;
    }
    (out.len() < data.len()).then(|| Bytes::from(out))
}
