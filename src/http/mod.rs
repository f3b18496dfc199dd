//! HTTP: the only module that knows actix.
//!
//! Every request is answered from memory: the handler loads the current snapshot, looks the
//! path up with [`DocId::parse`], and hands the rendered document to one response builder
//! ([`respond`]) that owns every caching and content header. The decisions the builder needs —
//! 200 or 304 ([`conditional`]), which encoding ([`negotiate`]) — are pure functions tested
//! without a server. Nothing here touches the file system.

pub mod conditional;
pub mod negotiate;
mod respond;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::http::Method;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

use crate::documents::{DocId, Format};
use crate::feeds::Page;
use crate::metrics::Metrics;
use crate::store::Store;

/// Paths longer than this are refused with 414 before any parsing.
const MAX_PATH: usize = 4096;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The published documents.
    pub store: Arc<Store>,
    /// Counters and gauges.
    pub metrics: Arc<Metrics>,
}

/// Builds the actix server on an already bound listener (so callers, and tests binding port
/// 0, know the address before it runs). The server stops gracefully on SIGTERM and SIGINT:
/// it stops accepting, lets in-flight responses finish, then returns.
pub fn server(state: AppState, listener: TcpListener) -> std::io::Result<actix_web::dev::Server> {
    let data = web::Data::new(state);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(handle))
    })
    .listen(listener)?
    .shutdown_timeout(10)
    .run())
}

async fn handle(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let path = req.uri().path();
    let id = DocId::parse(path);
    let (kind, format) = classify(path, id.as_ref());
    let response = if req.method() != Method::GET && req.method() != Method::HEAD {
        respond::method_not_allowed()
    } else if path.len() > MAX_PATH {
        respond::uri_too_long()
    } else {
        match path {
            "/healthz" => respond::healthz(state.store.snapshot().as_deref()),
            "/metrics" => respond::metrics(&state.metrics.encode()),
            _ => document(&req, id, &state),
        }
    };
    let status = response.status().as_u16();
    let bytes = match response.body().size() {
        actix_web::body::BodySize::Sized(n) if req.method() != Method::HEAD => n,
        _ => 0,
    };
    state.metrics.observe_request(kind, format, status, bytes);
    tracing::debug!(method = %req.method(), path, status, bytes, "request");
    response
}

fn document(req: &HttpRequest, id: Option<DocId>, state: &AppState) -> HttpResponse {
    let Some(id) = id else {
        return respond::not_found();
    };
    let Some(snapshot) = state.store.snapshot() else {
        return respond::loading();
    };
    let Some(doc) = snapshot.document(&id) else {
        return respond::not_found();
    };
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let outcome = conditional::decide(
        header(actix_web::http::header::IF_NONE_MATCH),
        header(actix_web::http::header::IF_MODIFIED_SINCE),
        &doc.etag,
        doc.last_modified,
    );
    let coding = negotiate::choose(
        header(actix_web::http::header::ACCEPT_ENCODING),
        doc.compressible(),
        doc.compressible(),
    );
    let browser = negotiate::is_browser(header(actix_web::http::header::ACCEPT));
    respond::document(
        &doc,
        outcome,
        coding,
        snapshot.config.feeds.max_age,
        browser,
    )
}

/// Bounded metric labels for a request path.
fn classify(path: &str, id: Option<&DocId>) -> (&'static str, &'static str) {
    match path {
        "/healthz" => return ("healthz", "none"),
        "/metrics" => return ("metrics", "none"),
        _ => {}
    }
    let format_label = |f: Format| match f {
        Format::Atom => "atom",
        Format::Rss => "rss",
        Format::Json => "json",
    };
    match id {
        Some(DocId::Feed {
            page: Page::Current,
            format,
            ..
        }) => ("feed", format_label(*format)),
        Some(DocId::Feed {
            page: Page::Archive(_),
            format,
            ..
        }) => ("archive", format_label(*format)),
        Some(DocId::JekyllFeed(_)) => ("feed", "atom"),
        Some(DocId::Opml) => ("opml", "opml"),
        Some(DocId::Index) => ("index", "html"),
        Some(DocId::Stylesheet) => ("stylesheet", "xsl"),
        None => ("unknown", "none"),
    }
}
