//! Small text helpers shared by the loader: XML-safe text, plain text from HTML, and cutting
//! on grapheme boundaries.

use std::borrow::Cow;

use unicode_segmentation::UnicodeSegmentation;

/// Whether XML 1.0 allows `c` in a document (§2.2 `Char`).
///
/// Rust's `char` already excludes surrogates, so what is left to refuse is the C0 controls
/// other than tab, line feed and carriage return, and the two non-characters U+FFFE/U+FFFF.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Removes every character XML 1.0 forbids. Borrowed when nothing had to go, which is the
/// common case, so cleaning every field costs a scan and no allocation.
pub fn xml_clean(s: &str) -> Cow<'_, str> {
    if s.chars().all(is_xml_char) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().filter(|&c| is_xml_char(c)).collect())
    }
}

/// [`xml_clean`] into an owned string, with surrounding white space trimmed: the form every
/// short text field (titles, names) is stored in.
pub fn clean_field(s: &str) -> String {
    xml_clean(s.trim()).trim().to_owned()
}

/// Collapses runs of white space into one space and trims the ends.
pub fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Cuts `s` to at most `max` grapheme clusters, adding an ellipsis when something was cut.
///
/// Counting graphemes rather than bytes or words matters for Chinese, which has no spaces to
/// cut at, and for emoji and combining marks, which must never be split.
pub fn truncate_graphemes(s: &str, max: usize) -> String {
    let mut graphemes = s.grapheme_indices(true);
    match graphemes.nth(max) {
        None => s.to_owned(),
        Some((cut, _)) => {
            let mut out = s[..cut].trim_end().to_owned();
            out.push('…');
            out
        }
    }
}

/// The text content of sanitized HTML: tags dropped, the few entities a serializer writes in
/// text decoded. Block boundaries become spaces so words of adjacent paragraphs don't fuse.
///
/// This is only ever given ammonia's output, which is well-formed and uses a small, known set of
/// escapes; a general HTML-to-text converter would be wasted here.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        push_decoded(&mut out, &rest[..lt]);
        match rest[lt..].find('>') {
            Some(gt) => {
                let tag = &rest[lt + 1..lt + gt];
                if is_block_tag(tag) {
                    out.push(' ');
                }
                rest = &rest[lt + gt + 1..];
            }
            None => {
                rest = "";
            }
        }
    }
    push_decoded(&mut out, rest);
    collapse_whitespace(&out)
}

fn is_block_tag(tag: &str) -> bool {
    let name = tag
        .trim_start_matches('/')
        .split(|c: char| c.is_whitespace() || c == '/')
        .next()
        .unwrap_or("");
    matches!(
        name,
        "p" | "br"
            | "div"
            | "li"
            | "ul"
            | "ol"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "blockquote"
            | "pre"
            | "tr"
            | "td"
            | "th"
            | "figure"
            | "figcaption"
            | "hr"
    )
}

fn push_decoded(out: &mut String, mut text: &str) {
    while let Some(amp) = text.find('&') {
        out.push_str(&text[..amp]);
        let after = &text[amp + 1..];
        let (decoded, used) = match after.find(';') {
            Some(semi) if semi <= 10 => (decode_entity(&after[..semi]), semi + 1),
            _ => (None, 0),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                text = &after[used..];
            }
            None => {
                out.push('&');
                text = after;
            }
        }
    }
    out.push_str(text);
}

fn decode_entity(name: &str) -> Option<char> {
    let c = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)?
        }
    };
    is_xml_char(c).then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_forbidden_characters() {
        assert_eq!(xml_clean("a\u{0}b\u{1b}c\u{FFFE}d\te"), "abcd\te");
        assert!(matches!(xml_clean("普通"), Cow::Borrowed(_)));
    }

    #[test]
    fn truncates_on_graphemes() {
        assert_eq!(truncate_graphemes("山西晚报新闻", 4), "山西晚报…");
        assert_eq!(truncate_graphemes("山西", 4), "山西");
        // A family emoji is one grapheme of several code points.
        let s = "👨‍👩‍👧ab";
        assert_eq!(truncate_graphemes(s, 1), "👨‍👩‍👧…");
    }

    #[test]
    fn extracts_text() {
        assert_eq!(
            html_to_text("<p>a &amp; <strong>b</strong></p><p>c&lt;d&#x4e2d;</p>"),
            "a & b c<d中"
        );
        assert_eq!(html_to_text("x &bogus; y & z"), "x &bogus; y & z");
    }
}
