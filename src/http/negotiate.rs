//! Content-coding negotiation from `Accept-Encoding` (RFC 9110 §12.5.3), pure and tested
//! without a server.

/// A content coding tidings can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// Brotli.
    Brotli,
    /// gzip.
    Gzip,
    /// No coding.
    Identity,
}

impl Coding {
    /// The `Content-Encoding` token, `None` for identity.
    pub fn token(self) -> Option<&'static str> {
        match self {
            Coding::Brotli => Some("br"),
            Coding::Gzip => Some("gzip"),
            Coding::Identity => None,
        }
    }
}

/// Which encodings a document offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Available {
    /// gzip and brotli as well as identity.
    Compressed,
    /// Identity only: the document is too small for compression to pay.
    IdentityOnly,
}

/// Who is asking, as far as the response's type is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// A browser navigating to the URL.
    Browser,
    /// A feed reader, or anything else that is not a browser.
    Reader,
}

/// Picks the coding to send. `available` says which encodings exist for this document
/// (small documents are not compressed). The highest q-value wins; ties go to the smaller
/// encoding (brotli, then gzip, then identity), and identity ranks below any coding the
/// client accepts unless the client gives it a q-value itself. `*` covers codings not named; identity is
/// acceptable unless refused by `identity;q=0` or `*;q=0`, and is sent anyway if nothing else
/// is acceptable, which RFC 9110 allows in place of a 406.
pub fn choose(accept_encoding: Option<&str>, available: Available) -> Coding {
    let Some(header) = accept_encoding else {
        return Coding::Identity;
    };
    let mut q_br = None;
    let mut q_gzip = None;
    let mut q_identity = None;
    let mut q_star = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut q = 1.0_f32;
        for param in parts {
            if let Some((k, v)) = param.split_once('=')
                && k.trim().eq_ignore_ascii_case("q")
            {
                q = v.trim().parse().unwrap_or(0.0);
            }
        }
        let q = q.clamp(0.0, 1.0);
        match name.as_str() {
            "br" => q_br = Some(q),
            "gzip" | "x-gzip" => q_gzip = Some(q),
            "identity" => q_identity = Some(q),
            "*" => q_star = Some(q),
            _ => {}
        }
    }
    let br = q_br.or(q_star).unwrap_or(0.0);
    let gz = q_gzip.or(q_star).unwrap_or(0.0);
    // Identity is acceptable unless refused, but only as the last choice: a client that
    // accepts gzip at any q-value gets gzip rather than the uncompressed bytes.
    let id = q_identity.or(q_star.map(|q| q.min(0.001))).unwrap_or(0.001);
    let mut best = (Coding::Identity, id);
    if available == Available::Compressed {
        for (coding, q) in [(Coding::Gzip, gz), (Coding::Brotli, br)] {
            if q > 0.0 && q >= best.1 {
                best = (coding, q);
            }
        }
    }
    best.0
}

/// Whether the request comes from a person's browser or from a feed reader, by `Accept`.
///
/// A browser navigating to a URL asks for `text/html` first and XML at most at a lower
/// weight (`text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8` in Chromium,
/// Firefox and Safari alike); it gets the feed as an HTML page. Feed readers ask for feed
/// types, XML or `*/*`, and some list `text/html` too, below the feed types (SimplePie, behind
/// FreshRSS: `application/atom+xml, …, text/html;q=0.7, …`): they keep getting the feed. So a
/// request is a browser's only when HTML outweighs every feed, XML and JSON type it names;
/// wildcards count for neither.
pub fn client(accept: Option<&str>) -> Client {
    let Some(accept) = accept else {
        return Client::Reader;
    };
    // Feed readers, most requests, name no HTML type at all: no need to weigh anything.
    let names_html = accept
        .as_bytes()
        .windows(4)
        .any(|w| w.eq_ignore_ascii_case(b"html"));
    if !names_html {
        return Client::Reader;
    }
    const HTML: [&str; 2] = ["text/html", "application/xhtml+xml"];
    const FEEDS: [&str; 7] = [
        "application/atom+xml",
        "application/rss+xml",
        "application/rdf+xml",
        "application/feed+json",
        "application/json",
        "application/xml",
        "text/xml",
    ];
    let (mut html, mut feed) = (0.0f32, 0.0f32);
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(1.0, |(_, v)| v.trim().parse::<f32>().unwrap_or(0.0));
        if HTML.iter().any(|t| t.eq_ignore_ascii_case(name)) {
            html = html.max(q);
        } else if FEEDS.iter().any(|t| t.eq_ignore_ascii_case(name)) {
            feed = feed.max(q);
        }
    }
    if html > 0.0 && html > feed {
        Client::Browser
    } else {
        Client::Reader
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_browsers_from_readers() {
        use Client::*;
        for (accept, expected) in [
            (None, Reader),
            (Some("*/*"), Reader),
            (
                Some("application/atom+xml, application/rss+xml;q=0.9, */*;q=0.1"),
                Reader,
            ),
            (
                Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
                Browser,
            ),
            (Some("text/html;q=0, */*"), Reader),
            // Chromium's navigation.
            (
                Some(
                    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,\
                     image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
                ),
                Browser,
            ),
            // SimplePie (FreshRSS) names HTML, below the feed types.
            (
                Some(
                    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, \
                     application/xml;q=0.8, text/xml;q=0.8, text/html;q=0.7, \
                     unknown/unknown;q=0.1, application/unknown;q=0.1, */*;q=0.1",
                ),
                Reader,
            ),
            (Some("text/html, application/rss+xml"), Reader),
            (Some("TEXT/HTML"), Browser),
        ] {
            assert_eq!(client(accept), expected, "{accept:?}");
        }
    }

    #[test]
    fn negotiates_with_q_values() {
        use Coding::*;
        let cases: &[(Option<&str>, Coding)] = &[
            (None, Identity),
            (Some(""), Identity),
            (Some("gzip"), Gzip),
            (Some("gzip, deflate, br"), Brotli),
            (Some("br;q=0.5, gzip"), Gzip),
            (Some("br;q=0, gzip;q=0"), Identity),
            (Some("*"), Brotli),
            (Some("*;q=0.1, gzip;q=0.5"), Gzip),
            (Some("identity"), Identity),
            (Some("identity;q=0, gzip;q=0.1"), Gzip),
            (Some("GZIP;Q=1"), Gzip),
            (Some("br;q=bogus, gzip"), Gzip),
            (Some("deflate"), Identity),
            (Some("identity;q=1, br;q=0.9"), Identity),
        ];
        for (header, expected) in cases {
            assert_eq!(
                choose(*header, Available::Compressed),
                *expected,
                "{header:?}"
            );
            // A document too small to compress goes out as is, whatever the client accepts.
            assert_eq!(choose(*header, Available::IdentityOnly), Identity);
        }
    }
}
