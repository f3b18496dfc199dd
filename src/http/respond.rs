//! The one place that decides response headers.
//!
//! Feeds: `Content-Type` with `charset=utf-8`, a weak `ETag` shared by every encoding,
//! `Last-Modified` from the document's newest entry, `Cache-Control: public, max-age` equal to
//! the RSS `ttl`, and `Vary: Accept-Encoding` on every document response (plus `Accept` on RSS
//! and Atom, whose type depends on it) — including 304s, which also repeat `ETag` and
//! `Cache-Control` because some readers replace their stored validators with whatever a 304
//! carries.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use chrono::Utc;

use super::conditional::{Outcome, http_date};
use super::negotiate::Coding;
use crate::store::{Rendered, Snapshot};

/// A document response.
pub(super) fn document(
    doc: &Rendered,
    outcome: Outcome,
    coding: Coding,
    max_age: u32,
    browser: bool,
) -> HttpResponse {
    // RSS and Atom are served as `application/xml` to browsers, so they apply the feed's
    // stylesheet (see `negotiate::is_browser`); the type then depends on `Accept` too.
    let is_feed_xml = matches!(
        doc.media_type,
        "application/atom+xml" | "application/rss+xml"
    );
    let (media_type, vary) = match (is_feed_xml, browser) {
        (true, true) => ("application/xml", "Accept, Accept-Encoding"),
        (true, false) => (doc.media_type, "Accept, Accept-Encoding"),
        (false, _) => (doc.media_type, "Accept-Encoding"),
    };
    let status = match outcome {
        Outcome::Full => StatusCode::OK,
        Outcome::NotModified => StatusCode::NOT_MODIFIED,
    };
    let mut builder = HttpResponse::build(status);
    builder
        .insert_header((header::ETAG, doc.etag.as_str()))
        .insert_header((header::CACHE_CONTROL, format!("public, max-age={max_age}")))
        .insert_header((header::VARY, vary))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if let (Some(modified), Some(text)) = (doc.last_modified, &doc.http_last_modified) {
        // Never claim a modification in the future (a post's `updated` can be): RFC 9110
        // forbids a Last-Modified later than the response's Date.
        let now = Utc::now();
        if modified <= now {
            builder.insert_header((header::LAST_MODIFIED, text.as_str()));
        } else {
            builder.insert_header((header::LAST_MODIFIED, http_date(now)));
        }
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
        builder.insert_header((header::CONTENT_ENCODING, token));
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
        "application/xml" => "application/xml; charset=utf-8",
        "text/x-opml" => "text/x-opml; charset=utf-8",
        "text/html" => "text/html; charset=utf-8",
        "text/xsl" => "text/xsl; charset=utf-8",
        other => {
            return HeaderValue::from_str(&format!("{other}; charset=utf-8"))
                .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        }
    };
    HeaderValue::from_static(known)
}

/// `/healthz`: 503 until the first load is done, then 200 with a small JSON summary.
pub(super) fn healthz(snapshot: Option<&Snapshot>) -> HttpResponse {
    let Some(s) = snapshot else {
        return json(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({ "status": "loading" }),
        );
    };
    let last_rebuild = chrono::DateTime::<Utc>::from(s.published_at).to_rfc3339();
    json(
        StatusCode::OK,
        serde_json::json!({
            "status": "ok",
            "posts": s.posts,
            "feeds": s.feeds.len(),
            "load_errors": s.errors.len(),
            "errors": s.errors.iter().take(20).map(|e| e.to_string()).collect::<Vec<_>>(),
            "last_rebuild": last_rebuild,
            "generation": s.generation,
        }),
    )
}

fn json(status: StatusCode, value: serde_json::Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "application/json; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(value.to_string())
}

/// `/metrics` in Prometheus text format.
pub(super) fn metrics(text: &str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(text.to_owned())
}

fn plain(status: StatusCode, text: &'static str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(text)
}

pub(super) fn not_found() -> HttpResponse {
    plain(StatusCode::NOT_FOUND, "no such feed\n")
}

pub(super) fn loading() -> HttpResponse {
    let mut r = plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "loading the content, try again in a moment\n",
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

pub(super) fn method_not_allowed() -> HttpResponse {
    let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    r
}

pub(super) fn uri_too_long() -> HttpResponse {
    plain(StatusCode::URI_TOO_LONG, "path too long\n")
}
