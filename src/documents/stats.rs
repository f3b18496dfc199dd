//! The operator's page at `/stats`: each feed's audience — distinct pollers in the window,
//! what aggregators report, how many requests were conditional. Plain HTML, no JavaScript;
//! maud escapes every value.

use bytes::Bytes;
use maud::{DOCTYPE, html};

use super::{DocId, Format};
use crate::stats::{FeedAudience, FeedKind, WINDOW};

/// The page for `feeds` (sorted as given).
pub fn render(feeds: &[FeedAudience]) -> Bytes {
    let hours = WINDOW.as_secs() / 3600;
    let total_pollers: usize = feeds.iter().map(|f| f.pollers).sum();
    let total_reported: u64 = feeds.iter().map(|f| f.reported).sum();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { "Feed readers — tidings" }
                style { "body{font:15px/1.5 system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}" }
            }
            body {
                h1 { "Who reads which feed" }
                p {
                    "Pollers: distinct clients (address and User-Agent) seen in the last "
                    (hours) " hours, kept only that long. Reported: the subscriber counts "
                    "aggregators announce in their User-Agent, the latest from each. Requests "
                    "count since the service started."
                }
                p { (total_pollers) " pollers and " (total_reported) " reported subscribers in all." }
                table {
                    thead { tr { th { "feed" } th { "kind" } th { "pollers" } th { "reported" } th { "by aggregator" } th { "requests" } th { "conditional" } } }
                    tbody {
                        @for feed in feeds {
                            @let path = DocId::current(feed.feed.clone(), Format::Atom).path();
                            tr {
                                td { a href=(path) { (path) } }
                                td { (kind(feed.kind)) }
                                td.n { (feed.pollers) }
                                td.n { (feed.reported) }
                                td {
                                    @for (i, (name, count)) in feed.aggregators.iter().enumerate() {
                                        @if i > 0 { ", " }
                                        (name) " " (count)
                                    }
                                }
                                td.n { (feed.requests) }
                                td.n { (share(feed.conditional, feed.requests)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Bytes::from(page.into_string())
}

fn kind(kind: FeedKind) -> &'static str {
    match kind {
        FeedKind::Site => "site",
        FeedKind::Category => "category",
        FeedKind::Tag => "tag",
    }
}

fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "–".to_owned();
    }
    format!("{:.0}%", part as f64 * 100.0 / whole as f64)
}
