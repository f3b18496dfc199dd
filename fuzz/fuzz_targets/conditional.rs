//! Arbitrary request headers for the decisions every response depends on: `If-None-Match`
//! and `If-Modified-Since` (200 or 304), `Accept-Encoding` and `Accept`. None may panic, a
//! list that names the current ETag must match it, and the coding chosen must be one the
//! document has.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings::http::conditional::{Outcome, decide};
use tidings::http::negotiate::{self, Available, Coding};

const ETAG: &str = "W/\"0123456789abcdef0123456789abcdef\"";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let (a, b, c) = (parts.next(), parts.next(), parts.next());
    let _ = decide(a, b, ETAG, None);
    // Whatever unquoted junk precedes it, a list naming the current tag matches. (A stray
    // quote may rightly swallow it: `"x, W/"` is one valid opaque tag.)
    let junk = a.unwrap_or("");
    if !junk.contains('"') {
        let with_ours = format!("{junk}, {ETAG}");
        assert_eq!(decide(Some(&with_ours), b, ETAG, None), Outcome::NotModified);
    }
    let chosen = negotiate::choose(c, Available::IdentityOnly);
    assert_eq!(chosen, Coding::Identity, "{c:?}");
    let _ = negotiate::choose(c, Available::Compressed);
    let _ = negotiate::client(a);
});
