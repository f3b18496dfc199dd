//! The one place that decides response headers.
//!
//! Every response starts from [`start`], which takes the response's [`Policy`] and sets
//! what every response carries: `X-Content-Type-Options: nosniff`, `Cache-Control`, and
//! `Vary` when the representation depends on request headers. Each kind of response states
//! its policy:
//!
//! - Documents: `Cache-Control: public, max-age` equal to the RSS `ttl`, and `Vary:
//!   Accept-Encoding` (plus `Accept` on RSS and Atom, whose type depends on it) — on 304s too,
//!   which also repeat `ETag`, because some readers replace their stored validators with
//!   whatever a 304 carries. Besides: `Content-Type` with `charset=utf-8`, a weak `ETag`
//!   shared by every encoding, and `Last-Modified`: when the content last changed, once that
//!   second is settled (see [`super::conditional::validator_date`]).
//! - `/healthz`, `/metrics` and errors: `no-store`. They describe this moment rather than a
//!   resource: a feed that is 404 now may exist after the next rebuild, a 503 ends when the
//!   load does, and a 500 may be gone on the next request.
//!
//! Validators are formatted once per version and kept with it — the `ETag` on the document
//! ([`DocumentHeaders`]), the date on the snapshot ([`Modified`]) — so the hot path, most of
//! it revalidations answered with 304, only copies them into the response.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, HttpResponseBuilder};
use chrono::{DateTime, Utc};

use super::conditional::{Outcome, http_date, validator_date};
use super::negotiate::Coding;
use crate::store::{Fingerprint, Rendered, Snapshot};

/// How a response may be stored and what it varies by.
#[derive(Debug, Clone)]
pub(super) enum Policy {
    /// A published document.
    Document {
        /// `public, max-age=…`.
        cache_control: HeaderValue,
        /// The request headers the representation depends on.
        vary: Vary,
    },
    /// Something true only of this moment: never stored.
    NoStore,
}

/// The request headers a document's representation depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Vary {
    /// The content coding.
    Encoding,
    /// The content coding, and the media type (RSS and Atom, served to browsers as XML).
    AcceptAndEncoding,
}

impl Vary {
    fn value(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Vary::Encoding => "Accept-Encoding",
            Vary::AcceptAndEncoding => "Accept, Accept-Encoding",
        })
    }
}

/// The start of every response: the headers every response carries, from its policy.
fn start(status: StatusCode, policy: Policy) -> HttpResponseBuilder {
    let mut builder = HttpResponse::build(status);
    builder.insert_header((
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ));
    match policy {
        Policy::Document {
            cache_control,
            vary,
        } => {
            builder
                .insert_header((header::CACHE_CONTROL, cache_control))
                .insert_header((header::VARY, vary.value()));
        }
        Policy::NoStore => {
            builder.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        }
    }
    builder
}

/// The header values of one document version, formatted once and kept on the document
/// itself (see [`Rendered::memo`]). Kept as bytes, not `HeaderValue`s: a shared value would
/// be reference-counted, and two request threads bumping one count for every 304 cost more
/// than copying 36 bytes.
#[derive(Debug, Clone, Copy)]
pub(super) struct DocumentHeaders {
    /// `W/"…"`: the first 32 hex digits (128 bits) of the version's fingerprint. Weak,
    /// because the encodings are the same content (RFC 9110 §8.8.3 allows exactly this), so
    /// a client that switches encodings still gets its 304.
    etag: [u8; 36],
}

impl DocumentHeaders {
    /// The headers of `doc`, formatted on its first response.
    pub(super) fn of(doc: &Rendered) -> Self {
        doc.memo(|| Self::new(doc))
            .copied()
            .unwrap_or_else(|| Self::new(doc))
    }

    fn new(doc: &Rendered) -> Self {
        Self {
            etag: etag(&doc.fingerprint),
        }
    }

    /// The entity tag as text, for comparing with `If-None-Match`.
    pub(super) fn etag_str(&self) -> &str {
        // Always visible ASCII (built by `etag`); an empty tag would only ever miss.
        std::str::from_utf8(&self.etag).unwrap_or("")
    }
}

/// The `ETag` of a document version.
fn etag(fingerprint: &Fingerprint) -> [u8; 36] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut tag = [0u8; 36];
    tag[..3].copy_from_slice(b"W/\"");
    for (i, byte) in fingerprint.as_bytes()[..16].iter().enumerate() {
        tag[3 + 2 * i] = HEX[usize::from(byte >> 4)];
        tag[4 + 2 * i] = HEX[usize::from(byte & 0xf)];
    }
    tag[35] = b'"';
    tag
}

/// What caches may do with a document (see [`crate::config::FeedsConfig::cache_control`]).
pub(super) fn cache_control(feeds: &crate::config::FeedsConfig, full_archive: bool) -> HeaderValue {
    HeaderValue::try_from(feeds.cache_control(full_archive))
        .unwrap_or(HeaderValue::from_static("no-cache"))
}

/// The `Last-Modified` of a version, when it may carry one.
#[derive(Debug, Clone, Copy)]
pub(super) struct Modified {
    /// The date, to the second.
    pub(super) at: DateTime<Utc>,
    /// The same as an HTTP date (always 29 bytes).
    text: [u8; 29],
}

impl Modified {
    /// The date every document of `snapshot` carries now, if any (see
    /// [`validator_date`]); formatted once per version.
    pub(super) fn of(snapshot: &Snapshot) -> Option<Self> {
        let at = validator_date(snapshot.modified, snapshot.observed())?;
        let text = *snapshot.memo(|| <[u8; 29]>::try_from(http_date(at).as_bytes()).ok())?;
        Some(Self { at, text: text? })
    }
}

/// What a document response says besides the document: how it may be cached, what it
/// varies by, its links and its date.
pub(super) struct Meta {
    /// `Cache-Control`.
    pub(super) cache: HeaderValue,
    /// `Link`, for documents that announce hubs.
    pub(super) link: Option<HeaderValue>,
    /// `Vary`.
    pub(super) vary: Vary,
    /// `Last-Modified`.
    pub(super) modified: Option<Modified>,
}

/// A document response.
pub(super) fn document(
    doc: &Rendered,
    headers: DocumentHeaders,
    meta: Meta,
    outcome: Outcome,
    coding: Coding,
) -> HttpResponse {
    let Meta {
        cache,
        link,
        vary,
        modified,
    } = meta;
    let media_type = doc.media_type;
    let status = match outcome {
        Outcome::Full => StatusCode::OK,
        Outcome::NotModified => StatusCode::NOT_MODIFIED,
    };
    let mut builder = start(
        status,
        Policy::Document {
            cache_control: cache,
            vary,
        },
    );
    if let Ok(etag) = HeaderValue::from_bytes(&headers.etag) {
        builder.insert_header((header::ETAG, etag));
    }
    if let Some(link) = link {
        builder.insert_header((header::LINK, link));
    }
    if let Some(modified) = modified
        && let Ok(text) = HeaderValue::from_bytes(&modified.text)
    {
        builder.insert_header((header::LAST_MODIFIED, text));
    }
    if outcome == Outcome::NotModified {
        return builder.finish();
    }
    let body = match coding {
        Coding::Brotli => doc.brotli(),
        Coding::Gzip => doc.gzip(),
        Coding::Identity => None,
    };
    let (body, coding) = match body {
        Some(b) => (b, coding),
        None => (doc.identity.clone(), Coding::Identity),
    };
    builder.insert_header((header::CONTENT_TYPE, with_charset(media_type)));
    if let Some(token) = coding.token() {
        builder.insert_header((header::CONTENT_ENCODING, HeaderValue::from_static(token)));
    }
    builder.body(body)
}

/// The `Content-Type` of a document: every document is UTF-8. Static for the types tidings
/// publishes, so no response formats it.
fn with_charset(media_type: &'static str) -> HeaderValue {
    let known = match media_type {
        "application/atom+xml" => "application/atom+xml; charset=utf-8",
        "application/rss+xml" => "application/rss+xml; charset=utf-8",
        "application/feed+json" => "application/feed+json; charset=utf-8",
        "text/x-opml" => "text/x-opml; charset=utf-8",
        "text/html" => "text/html; charset=utf-8",
        other => {
            return HeaderValue::from_str(&crate::documents::content_type(other))
                .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        }
    };
    HeaderValue::from_static(known)
}

/// `/healthz`: 503 until the first load is done, then 200 with a small JSON summary.
pub(super) fn healthz(snapshot: Option<&Snapshot>) -> HttpResponse {
    let Some(s) = snapshot else {
        // Polite to whoever checks: come back in a second.
        return json(StatusCode::SERVICE_UNAVAILABLE)
            .insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")))
            .body(serde_json::json!({ "status": "loading" }).to_string());
    };
    let last_rebuild = chrono::DateTime::<Utc>::from(s.published_at).to_rfc3339();
    // Still 200 while the content directory is missing: every feed keeps serving its last
    // good state, so an orchestrator must not restart the process; the status says what is
    // wrong.
    json(StatusCode::OK).body(
        serde_json::json!({
            "status": if s.content_error.is_some() { "degraded" } else { "ok" },
            "content_error": s.content_error,
            "posts": s.posts,
            "feeds": s.feeds.len(),
            "load_errors": s.errors.len(),
            "errors": s.errors.iter().take(20).map(|e| e.to_string()).collect::<Vec<_>>(),
            "last_rebuild": last_rebuild,
            "generation": s.generation,
        })
        .to_string(),
    )
}

/// The start of an answer about this moment (never stored) of `content_type`; the caller
/// adds any headers of its own, then the body.
fn momentary(status: StatusCode, content_type: &'static str) -> HttpResponseBuilder {
    let mut builder = start(status, Policy::NoStore);
    builder.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(content_type)));
    builder
}

fn json(status: StatusCode) -> HttpResponseBuilder {
    momentary(status, "application/json; charset=utf-8")
}

/// `/metrics` in Prometheus text format.
pub(super) fn metrics(text: String) -> HttpResponse {
    momentary(StatusCode::OK, "text/plain; version=0.0.4; charset=utf-8").body(text)
}

/// `/stats`: the operator's page of who reads which feed.
pub(super) fn stats(page: bytes::Bytes) -> HttpResponse {
    momentary(StatusCode::OK, "text/html; charset=utf-8").body(page)
}

/// A short plain-text answer (errors).
fn plain(status: StatusCode) -> HttpResponseBuilder {
    momentary(status, "text/plain; charset=utf-8")
}

pub(super) fn not_found() -> HttpResponse {
    plain(StatusCode::NOT_FOUND).body("no such feed\n")
}

/// A subscription request taken: the hub verifies the subscriber's intent next.
pub(super) fn hub_accepted() -> HttpResponse {
    plain(StatusCode::ACCEPTED).body("accepted; the hub now verifies the callback's intent\n")
}

/// A subscription request that cannot be taken, and why.
pub(super) fn hub_refused(status: StatusCode, why: &str) -> HttpResponse {
    plain(status).body(format!("{why}\n"))
}

/// The hub's own URL, asked with anything but POST.
pub(super) fn hub_post_only() -> HttpResponse {
    plain(StatusCode::METHOD_NOT_ALLOWED)
        .insert_header((header::ALLOW, HeaderValue::from_static("POST")))
        .body(
            "this is a WebSub hub: subscribe with a POST of hub.mode, hub.topic and hub.callback\n",
        )
}

pub(super) fn loading() -> HttpResponse {
    unavailable("loading the content, try again in a moment\n")
}

/// More requests wait for documents to be made than the service queues: come back shortly.
pub(super) fn busy() -> HttpResponse {
    unavailable("busy making documents, try again in a moment\n")
}

/// More connections are open than the service serves at once: this one is closed after the
/// answer, so it stops counting.
pub(super) fn overloaded() -> HttpResponse {
    let mut response = unavailable("too many connections, try again in a moment\n");
    response
        .head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    response
}

/// A 503 that says when to come back: a moment, for everything that makes one.
fn unavailable(text: &'static str) -> HttpResponse {
    plain(StatusCode::SERVICE_UNAVAILABLE)
        .insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")))
        .body(text)
}

pub(super) fn server_error() -> HttpResponse {
    plain(StatusCode::INTERNAL_SERVER_ERROR).body("internal error, see the server's log\n")
}

pub(super) fn method_not_allowed() -> HttpResponse {
    plain(StatusCode::METHOD_NOT_ALLOWED)
        .insert_header((header::ALLOW, HeaderValue::from_static("GET, HEAD")))
        .body("only GET and HEAD\n")
}

pub(super) fn uri_too_long() -> HttpResponse {
    plain(StatusCode::URI_TOO_LONG).body("path too long\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_etag_is_the_first_128_bits_of_the_hash_in_hex() {
        for bytes in [&b""[..], b"<feed/>", &[0xff; 4096]] {
            let expected = format!("W/\"{}\"", &blake3::hash(bytes).to_hex()[..32]);
            assert_eq!(
                std::str::from_utf8(&etag(&Fingerprint::of(bytes))).ok(),
                Some(&*expected)
            );
        }
    }

    #[test]
    fn every_response_kind_states_its_cache_policy_and_nosniff() {
        let header = |r: &HttpResponse, name| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        for response in [
            healthz(None),
            metrics(String::new()),
            not_found(),
            loading(),
            server_error(),
            method_not_allowed(),
            uri_too_long(),
        ] {
            let status = response.status();
            assert_eq!(
                header(&response, header::X_CONTENT_TYPE_OPTIONS).as_deref(),
                Some("nosniff"),
                "{status}"
            );
            assert_eq!(
                header(&response, header::CACHE_CONTROL).as_deref(),
                Some("no-store"),
                "{status}"
            );
            assert_eq!(header(&response, header::VARY), None, "{status}");
        }
    }
}
