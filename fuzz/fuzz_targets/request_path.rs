//! Arbitrary request paths: `DocId::parse` must never panic, and whatever it accepts must be
//! what `DocId::path` writes back for that id — the URL contract has exactly one spelling
//! per document, so caches and replicas never split a document across two URLs.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings::documents::DocId;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(id) = DocId::parse(path) {
        let written = id.path();
        assert_eq!(
            DocId::parse(&written).as_ref(),
            Some(&id),
            "{path:?} parsed, but its own path {written:?} does not parse back"
        );
    }
});
