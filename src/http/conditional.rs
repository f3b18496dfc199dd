//! The conditional-request decision (RFC 9110 §13): a pure function of the request's
//! validators and the representation's, tested without a server.

use std::time::SystemTime;

use chrono::{DateTime, Utc};

/// What to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 200 with the body.
    Full,
    /// 304 Not Modified.
    NotModified,
}

/// Decides 200 or 304 for a GET or HEAD.
///
/// `If-None-Match` wins over `If-Modified-Since` whenever it is present (§13.2.2): a client
/// that sends both gets its ETag compared and its date ignored. ETags are compared weakly
/// (§8.8.3.2), `*` matches any current representation, and a list matches if any member does.
/// `If-Modified-Since` is compared as a date with one-second resolution; an unparseable date is
/// ignored, as the RFC requires.
pub fn decide(
    if_none_match: Option<&str>,
    if_modified_since: Option<&str>,
    etag: &str,
    last_modified: Option<DateTime<Utc>>,
) -> Outcome {
    if let Some(inm) = if_none_match {
        return if none_match_matches(inm, etag) {
            Outcome::NotModified
        } else {
            Outcome::Full
        };
    }
    if let (Some(ims), Some(modified)) = (if_modified_since, last_modified)
        && let Ok(since) = httpdate::parse_http_date(ims.trim())
    {
        let since: DateTime<Utc> = DateTime::<Utc>::from(since);
        if modified.timestamp() <= since.timestamp() {
            return Outcome::NotModified;
        }
    }
    Outcome::Full
}

/// Whether an `If-None-Match` value matches `etag` by weak comparison.
pub fn none_match_matches(header: &str, etag: &str) -> bool {
    if header.trim() == "*" {
        return true;
    }
    let ours = opaque(etag);
    entity_tags(header).any(|tag| opaque(tag) == ours)
}

/// The quoted part of an entity tag, with any `W/` dropped (weak comparison).
fn opaque(tag: &str) -> &str {
    tag.trim().strip_prefix("W/").unwrap_or(tag.trim())
}

/// The entity tags of a list. Tags are quoted and may themselves contain commas, so the list
/// is scanned rather than split.
fn entity_tags(header: &str) -> impl Iterator<Item = &str> {
    let mut rest = header;
    std::iter::from_fn(move || {
        loop {
            rest = rest.trim_start_matches([' ', '\t', ',']);
            if rest.is_empty() {
                return None;
            }
            let start = rest;
            let after_weak = rest.strip_prefix("W/").unwrap_or(rest);
            let Some(body) = after_weak.strip_prefix('"') else {
                // Not a tag: skip to the next comma.
                rest = rest.find(',').map_or("", |i| &rest[i + 1..]);
                continue;
            };
            let Some(end) = body.find('"') else {
                rest = "";
                return None;
            };
            let len = (start.len() - body.len()) + end + 1;
            let tag = &start[..len];
            rest = &start[len..];
            return Some(tag);
        }
    })
}

/// How far past the second of the last change the watcher must have looked before that
/// second is given out as `Last-Modified`: file times come from the kernel's coarse clock
/// (or a file server's), which may trail this process's clock by a little.
const SETTLE: chrono::TimeDelta = chrono::TimeDelta::seconds(1);

/// The `Last-Modified` a version may carry: when its content last changed, to the second —
/// but only once every change made within that second is certainly in it.
///
/// HTTP dates have one-second resolution. A client that revalidates by date alone holds the
/// date it was given; if a later change could fall within that same second, the later
/// version would carry the same date and the client would be told "not modified" for good.
/// So a version whose newest change is so recent that another may still arrive within its
/// second, or be on its way through this process's watcher (`observed` says how far it has
/// looked), carries no date at all: its clients revalidate by `ETag` meanwhile.
pub fn validator_date(
    modified: Option<DateTime<Utc>>,
    observed: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    let second = DateTime::<Utc>::from_timestamp(modified?.timestamp(), 0)?;
    let settled = second + chrono::TimeDelta::seconds(1) + SETTLE;
    (observed? >= settled).then_some(second)
}

/// An HTTP date for a header.
pub fn http_date(t: DateTime<Utc>) -> String {
    let secs = t.timestamp().max(0) as u64;
    httpdate::fmt_http_date(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETAG: &str = "W/\"abc\"";

    fn at(s: &str) -> Option<DateTime<Utc>> {
        Some(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
    }

    #[test]
    fn the_conditional_matrix() {
        let modified = at("2022-05-26T07:32:30Z");
        let same = "Thu, 26 May 2022 07:32:30 GMT";
        let before = "Thu, 26 May 2022 07:32:29 GMT";
        let after = "Fri, 27 May 2022 00:00:00 GMT";
        use Outcome::*;
        let cases: &[(Option<&str>, Option<&str>, Outcome)] = &[
            (None, None, Full),
            (Some("W/\"abc\""), None, NotModified),
            (Some("\"abc\""), None, NotModified),
            (Some("\"xyz\""), None, Full),
            (Some("\"xyz\", W/\"abc\""), None, NotModified),
            (Some("\"a,b\", \"abc\""), None, NotModified),
            (Some("*"), None, NotModified),
            (Some("garbage"), None, Full),
            (Some(""), None, Full),
            (None, Some(same), NotModified),
            (None, Some(after), NotModified),
            (None, Some(before), Full),
            (None, Some("not a date"), Full),
            (None, Some("Thursday, 26-May-22 07:32:30 GMT"), NotModified),
            (None, Some("Thu May 26 07:32:30 2022"), NotModified),
            // If-None-Match takes precedence both ways.
            (Some("\"xyz\""), Some(after), Full),
            (Some("\"abc\""), Some(before), NotModified),
        ];
        for (inm, ims, expected) in cases {
            assert_eq!(
                decide(*inm, *ims, ETAG, modified),
                *expected,
                "INM {inm:?} IMS {ims:?}"
            );
        }
        // Without a modification date, If-Modified-Since cannot match.
        assert_eq!(decide(None, Some(after), ETAG, None), Full);
    }

    #[test]
    fn a_date_is_given_once_its_second_is_settled() {
        let modified = at("2022-05-26T07:32:30.400Z");
        let second = at("2022-05-26T07:32:30Z");
        // Seen up to the end of the change's second and one more: given, to the second.
        assert_eq!(validator_date(modified, at("2022-05-26T07:32:32Z")), second);
        assert_eq!(validator_date(modified, at("2022-05-26T07:45:00Z")), second);
        // Another change could still come within 07:32:30, or be on its way: none.
        for observed in ["2022-05-26T07:32:30.900Z", "2022-05-26T07:32:31.999Z"] {
            assert_eq!(validator_date(modified, at(observed)), None, "{observed}");
        }
        assert_eq!(validator_date(modified, None), None);
        assert_eq!(validator_date(None, at("2030-01-01T00:00:00Z")), None);
    }

    #[test]
    fn formats_http_dates() {
        assert_eq!(
            http_date(at("2022-05-25T23:32:30Z").unwrap()),
            "Wed, 25 May 2022 23:32:30 GMT"
        );
    }
}
