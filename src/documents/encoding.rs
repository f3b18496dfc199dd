//! A document's compressed encodings: exactly the bytes `tidings serve` sends for
//! `Accept-Encoding: gzip` or `br`, and the bytes the static export writes beside each file
//! (`feed.atom.gz`, `feed.atom.br`) for a web server to send as they are. One function makes
//! both, so a reader gets the same bytes from either.
//!
//! Pure and deterministic: flate2 writes a zero modification time and no file name, and
//! brotli has no timestamps, so the same document gives the same bytes on every machine.

use std::io::Write;

use bytes::Bytes;

use super::DocId;
use crate::feeds::Page;

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
    /// The effort a document is compressed with: archive pages quickly, everything else as
    /// well as it can be.
    pub fn of(id: &DocId) -> Self {
        match id {
            DocId::Feed {
                page: Page::Archive(_),
                ..
            } => Effort::Quick,
            _ => Effort::Best,
        }
    }

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

/// Names the compression settings above, for an export's manifest: compressed files an
/// earlier export made under another name were made differently and are made again, so an
/// export that reuses them is byte-identical to one made from scratch.
pub const SETTINGS: &str = "gzip 9/6, brotli 9/5 window 22, from 512 bytes";

/// Brotli window (log2): 22 is the format's default and suits documents of any feed size.
const BROTLI_WINDOW: u32 = 22;
/// Below this size compression costs more than it saves (headers and CPU).
const MIN_COMPRESS: usize = 512;

/// The compressed content codings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// gzip.
    Gzip,
    /// Brotli.
    Brotli,
}

impl Coding {
    /// Both, in the order the export writes them.
    pub const ALL: [Coding; 2] = [Coding::Gzip, Coding::Brotli];

    /// The suffix of the export's file in this coding, which is also what nginx's
    /// `gzip_static` and `brotli_static` look for.
    pub fn suffix(self) -> &'static str {
        match self {
            Coding::Gzip => "gz",
            Coding::Brotli => "br",
        }
    }
}

/// Whether compressed encodings are worth offering at all for a document of `len` bytes.
pub fn compressible(len: usize) -> bool {
    len >= MIN_COMPRESS
}

/// `data` in `coding`; `None` when the document is too small to be worth it or the result
/// would not be smaller (then the document is only ever sent as it is).
pub fn encode(data: &[u8], coding: Coding, effort: Effort) -> Option<Bytes> {
    if !compressible(data.len()) {
        return None;
    }
    let out = match coding {
        Coding::Gzip => gzip(data, effort)?,
        Coding::Brotli => brotli(data, effort)?,
    };
    (out.len() < data.len()).then(|| Bytes::from(out))
}

fn gzip(data: &[u8], effort: Effort) -> Option<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 3),
        flate2::Compression::new(effort.gzip_level()),
    );
    enc.write_all(data).ok()?;
    enc.finish().ok()
}

fn brotli(data: &[u8], effort: Effort) -> Option<Vec<u8>> {
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
    Some(out)
}
