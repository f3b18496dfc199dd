//! Criterion benches for the hot paths: loading one post, rendering a subscription document,
//! and the conditional-GET decision. Run with `cargo bench --bench hot_paths`.

use std::hint::black_box;
use std::sync::Arc;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use tidings::config::Config;
use tidings::documents::{self, Context, DocId, Format};
use tidings::feeds::Scope;
use tidings::http::conditional;
use tidings::load::Catalog;
use tidings::posts::{self, Bodies, Loaded, Source};

const SEED: &[u8] = include_bytes!("../feeds/000_63a78f89bb4a24b3.txt");

fn load_one_post(c: &mut Criterion) {
    let config = Config::defaults();
    c.bench_function(
        "load_post (seed: front matter, permalink, compressed body)",
        |b| {
            b.iter(|| {
                posts::load_post(
                    &Source::new(black_box("000_63a78f89bb4a24b3.txt"), black_box(SEED)),
                    &config,
                )
            })
        },
    );
    // The loader caches rendered bodies, so rendering is measured on the renderer itself.
    let Ok(Loaded::Post(post)) =
        posts::load_post(&Source::new("000_63a78f89bb4a24b3.txt", SEED), &config)
    else {
        panic!("the seed post loads");
    };
    let body = post.body_text();
    let renderer = posts::body::Renderer::new();
    c.bench_function("render body: Markdown + sanitize (seed)", |b| {
        b.iter(|| renderer.render(black_box(&body), &post.permalink).len())
    });
}

fn render_subscription_document(c: &mut Criterion) {
    let mut config = Config::defaults();
    config.content_dir = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/feeds"));
    let catalog = Catalog::load(Arc::new(config.clone()), Utc::now());
    let feeds = catalog.feeds().clone();
    let bodies = Bodies::default();
    bodies.read_from(std::sync::Arc::new(tidings::load::ContentFiles::new(
        &config,
    )));
    let ctx = Context {
        config: &config,
        feeds: &feeds,
        bodies: &bodies,
    };
    for format in Format::ALL {
        let id = DocId::current(Scope::Category("shanxiwanbao".into()), format);
        // Bodies render once and are cached, as in the service; this measures the document.
        let _ = documents::render(ctx, &id);
        c.bench_function(&format!("render category feed ({})", format.ext()), |b| {
            b.iter(|| documents::render(ctx, black_box(&id)).map(|d| d.map(|d| d.body.len())))
        });
    }
    let _ = Arc::clone(&feeds.site);
}

fn conditional_get(c: &mut Criterion) {
    let etag = "W/\"0c61c68f880f79fab063884c76406412\"";
    let modified = Some(Utc::now());
    c.bench_function("conditional decide (If-None-Match list)", |b| {
        b.iter(|| {
            conditional::decide(
                black_box(Some("\"aaaa\", W/\"0c61c68f880f79fab063884c76406412\"")),
                None,
                etag,
                modified,
            )
        })
    });
    c.bench_function("conditional decide (If-Modified-Since)", |b| {
        b.iter(|| {
            conditional::decide(
                None,
                black_box(Some("Sun, 29 Nov 2026 02:21:01 GMT")),
                etag,
                modified,
            )
        })
    });
}

criterion_group!(
    benches,
    load_one_post,
    render_subscription_document,
    conditional_get
);
criterion_main!(benches);
