//! The start path, per post: what `Catalog::load` does for every file of the site before the
//! first feed is grouped (`load::read_all`: read → `load_post` → hash), on a sample of
//! corpus-shaped posts, one thread. The parts are measured alone — reading, the front matter
//! (fences, UTF-8, YAML), the content hash, the LZ4 of the body — and together (`load_post`,
//! which also reads dates, names, the permalink and the id; the rest of it is the difference).
//! `load_post` runs as the catalog runs it (`Source::on_disk`: the body stays in the file) and,
//! as the baseline in the same run, keeping the body in memory (`Source::new`: LZ4).
//! Every figure is per post: Criterion's throughput line reads "posts/s".
//!
//!     cargo bench --bench start_path
//!     START_SAMPLE=2000 cargo bench --bench start_path
//!     TIDINGS_BENCH_CORPUS=target/bench/corpus-100000 cargo bench --bench start_path
//!     cargo bench --bench start_path -- --warm-up-time 1 --measurement-time 2   # quick
//!
//! Where the posts come from: `benches/support/mod.rs`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tidings::config::Config;
use tidings::files;
use tidings::posts::front_matter::{self, Split};
use tidings::posts::{self, Loaded, Source};

#[path = "support/mod.rs"]
mod support;

fn start_path(c: &mut Criterion) {
    let n = std::env::var("START_SAMPLE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let (files, _tmp) = support::sample(n);
    let config = Config::defaults();
    let bytes: usize = files.iter().map(|f| f.bytes.len()).sum();
    let loaded = files
        .iter()
        .filter(|f| {
            matches!(
                posts::load_post(&Source::new(&f.relative, &f.bytes), &config),
                Ok(Loaded::Post(_))
            )
        })
        .count();
    eprintln!(
        "{} posts, {:.1} KB on average, {loaded} load as posts",
        files.len(),
        bytes as f64 / files.len().max(1) as f64 / 1e3
    );

    let mut group = c.benchmark_group("start path per post");
    group.throughput(Throughput::Elements(files.len() as u64));
    let limit = config.posts.max_bytes;
    group.bench_function("read (files::read_into, page cache warm)", |b| {
        let mut buf = Vec::new();
        b.iter(|| {
            for f in &files {
                let _ = black_box(files::read_into(&f.path, limit, &mut buf));
            }
        })
    });
    group.bench_function("front matter (UTF-8, fences, YAML)", |b| {
        b.iter(|| {
            for f in &files {
                let text = simdutf8::basic::from_utf8(black_box(&f.bytes)).unwrap_or("");
                if let Split::Parts { yaml, .. } = front_matter::split(text) {
                    let _ = black_box(front_matter::parse_yaml(yaml));
                }
            }
        })
    });
    group.bench_function("hash (XXH3-128 of the file)", |b| {
        b.iter(|| {
            for f in &files {
                black_box(posts::content_hash(black_box(&f.bytes)));
            }
        })
    });
    group.bench_function("hash (BLAKE3 of the file; the hash before)", |b| {
        b.iter(|| {
            for f in &files {
                black_box(blake3::hash(black_box(&f.bytes)));
            }
        })
    });
    group.bench_function("body (LZ4)", |b| {
        b.iter(|| {
            for f in &files {
                let text = std::str::from_utf8(&f.bytes).unwrap_or("");
                if let Split::Parts { body, .. } = front_matter::split(text) {
                    black_box(lz4_flex::compress_prepend_size(black_box(body.as_bytes())));
                }
            }
        })
    });
    group.bench_function("load_post, body in the file (as the catalog loads)", |b| {
        b.iter(|| {
            for f in &files {
                let _ = black_box(posts::load_post(
                    &Source::on_disk(&f.relative, black_box(&f.bytes)),
                    &config,
                ));
            }
        })
    });
    group.bench_function("load_post, body kept in memory (LZ4; baseline)", |b| {
        b.iter(|| {
            for f in &files {
                let _ = black_box(posts::load_post(
                    &Source::new(&f.relative, black_box(&f.bytes)),
                    &config,
                ));
            }
        })
    });
    group.bench_function("read + load_post (read_all's work per file)", |b| {
        let mut buf = Vec::new();
        b.iter(|| {
            for f in &files {
                if files::read_into(&f.path, limit, &mut buf).is_ok() {
                    let _ = black_box(posts::load_post(
                        &Source::on_disk(&f.relative, &buf),
                        &config,
                    ));
                }
            }
        })
    });
    group.finish();
}

criterion_group!(benches, start_path);
criterion_main!(benches);
