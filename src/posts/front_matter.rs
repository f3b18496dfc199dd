//! Splitting a post into front matter and body, and reading the front matter as Jekyll does.
//!
//! Jekyll's YAML is forgiving about types — `title: 2024` is a title, `categories: a b` is two
//! categories — so the front matter is first read into a loose [`Yaml`] tree and each field is
//! then interpreted by the rule Jekyll applies to it, instead of deserializing into a strict
//! struct that would refuse a number where a string was expected.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A YAML value, loosely typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    /// `~`, `null` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// Any number, kept as the text it prints as.
    Number(String),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Yaml>),
    /// A mapping, in document order, keys as text.
    Map(Vec<(String, Yaml)>),
}

impl Yaml {
    /// The value as text if it is a scalar (Jekyll reads any scalar as text where it wants a
    /// string); `None` for null, sequences and mappings.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Yaml::Bool(b) => Some(b.to_string()),
            Yaml::Number(n) => Some(n.clone()),
            Yaml::Str(s) => Some(s.clone()),
            Yaml::Null | Yaml::Seq(_) | Yaml::Map(_) => None,
        }
    }

    /// Looks a key up in a mapping (the last of the same name).
    pub fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            // Ruby's YAML, which Jekyll uses, lets a repeated key win.
            Yaml::Map(entries) => entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Yaml {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(YamlVisitor)
    }
}

struct YamlVisitor;

impl<'de> Visitor<'de> for YamlVisitor {
    type Value = Yaml;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }
    fn visit_none<E>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Yaml, D::Error> {
        Yaml::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Yaml, E> {
        Ok(Yaml::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Yaml, E> {
        Ok(Yaml::Number(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Yaml, E> {
        Ok(Yaml::Number(v.to_string()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Yaml, E> {
        Ok(Yaml::Number(v.to_string()))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Yaml, E> {
        Ok(Yaml::Number(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Yaml, E> {
        Ok(Yaml::Number(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Yaml, E> {
        Ok(Yaml::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Yaml, E> {
        Ok(Yaml::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Yaml, E> {
        Ok(Yaml::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Yaml, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Yaml::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Yaml, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<Yaml, Yaml>()? {
            let key = match key {
                Yaml::Null => String::new(),
                other => other
                    .as_text()
                    .ok_or_else(|| de::Error::custom("a mapping key must be a plain value"))?,
            };
            entries.push((key, value));
        }
        Ok(Yaml::Map(entries))
    }
}

/// Where the front matter is and why it could not be found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split<'a> {
    /// The file does not start with `---`: not a post (Jekyll copies such files as they are).
    NoFrontMatter,
    /// The opening `---` is never closed.
    Unclosed,
    /// Front matter and body, with the body's first line number (1-based) in the file.
    Parts {
        /// The YAML between the fences.
        yaml: &'a str,
        /// Everything after the closing fence.
        body: &'a str,
        /// Line of the file on which the YAML starts (for error messages).
        yaml_line: usize,
    },
}

/// Splits a post's text at its front-matter fences. The text has had any BOM removed; CRLF
/// and LF line ends are both accepted, and the closing fence may be `---` or `...`.
pub fn split(text: &str) -> Split<'_> {
    let Some(after_open) = strip_fence_line(text, "---") else {
        return Split::NoFrontMatter;
    };
    let yaml_start = text.len() - after_open.len();
    let mut offset = yaml_start;
    for line in after_open.split_inclusive('\n') {
        let bare = line
            .trim_end_matches(['\n', '\r'])
            .trim_end_matches([' ', '\t']);
        if bare == "---" || bare == "..." {
            return Split::Parts {
                yaml: &text[yaml_start..offset],
                body: &text[offset + line.len()..],
                yaml_line: 2,
            };
        }
        offset += line.len();
    }
    Split::Unclosed
}

/// If `text` starts with a line that is exactly `fence` (trailing blanks allowed), the rest.
fn strip_fence_line<'a>(text: &'a str, fence: &str) -> Option<&'a str> {
    let rest = text.strip_prefix(fence)?;
    let rest = rest.trim_start_matches([' ', '\t']);
    if let Some(r) = rest.strip_prefix("\r\n") {
        Some(r)
    } else if let Some(r) = rest.strip_prefix('\n') {
        Some(r)
    } else if rest.is_empty() {
        // `---` and nothing else: an opening fence that never closes.
        Some(rest)
    } else {
        None
    }
}

/// Why the YAML of a front matter was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// Line within the YAML (1-based), when the parser knows it.
    pub line: Option<usize>,
    /// The parser's explanation.
    pub message: String,
}

/// Parses front-matter YAML under resource budgets, so a hostile file (an alias bomb, a
/// thousand nested brackets) is refused quickly instead of expanding in memory.
///
/// Almost every front matter is a handful of plain `key: value` lines and lists, and reading
/// those from the parser's events ([`read_events`]) costs less than half of going through
/// serde: that is a quarter of a site's start. Anything else — anchors, tags, merge keys,
/// errors, deep nesting, large input — goes through serde-saphyr, whose result the quick
/// reader is checked against (a fuzz target and a property test compare the two).
pub fn parse_yaml(yaml: &str) -> Result<Yaml, YamlError> {
    match read_events(yaml) {
        Some(parsed) => Ok(parsed),
        None => parse_yaml_with_serde(yaml),
    }
}

/// [`parse_yaml`] through serde-saphyr alone: the reference the quick reader must agree with.
pub fn parse_yaml_with_serde(yaml: &str) -> Result<Yaml, YamlError> {
    if yaml.trim().is_empty() {
        return Ok(Yaml::Map(Vec::new()));
    }
    serde_saphyr::from_str_with_options::<Yaml>(yaml, options()).map_err(|e| YamlError {
        line: e.location().map(|l| l.line() as usize).filter(|&l| l > 0),
        message: first_line(&e.to_string()),
    })
}

/// serde-saphyr's settings for front matter.
fn options() -> serde_saphyr::Options {
    let budget = serde_saphyr::budget! {
        max_events: 200_000,
        max_aliases: 1_000,
        max_anchors: 1_000,
        max_depth: 64,
        max_nodes: 100_000,
        max_total_scalar_bytes: 4 * 1024 * 1024,
    };
    let mut alias_limits = serde_saphyr::options::AliasLimits::default();
    alias_limits.max_total_replayed_events = 100_000;
    alias_limits.max_replay_stack_depth = 16;
    serde_saphyr::options! {
        budget: budget,
        alias_limits: alias_limits,
        // Ruby's YAML, which Jekyll uses, lets a repeated key win; so do we.
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
        with_snippet: false,
    }
}

/// Front matter longer than this goes through serde-saphyr, whose budgets are what bound the
/// cost of hostile input; real front matter is a few hundred bytes.
const QUICK_MAX_BYTES: usize = 16 * 1024;

/// A mapping with more keys than this goes through serde-saphyr (the quick reader checks
/// for repeated keys one by one).
const QUICK_MAX_KEYS: usize = 64;

/// Nesting deeper than this goes through serde-saphyr (and its depth budget).
const QUICK_MAX_DEPTH: usize = 16;

/// Reads front matter from the parser's events, for the shapes whose meaning is plain: a
/// mapping of scalars, lists and mappings, without anchors, aliases, tags or merge keys.
/// `None` whenever the input is anything else (or does not parse): the caller then asks
/// serde-saphyr, so every unusual case — and every error message — is its.
///
/// Scalars are typed as serde-saphyr types them for an untyped value: null spellings, YAML
/// 1.1 booleans, and anything that may be a number is handed to serde-saphyr alone
/// ([`resolve_alone`]), so numbers print exactly as they would through it.
pub fn read_events(yaml: &str) -> Option<Yaml> {
    use granit_parser::{Event, Parser};

    if yaml.len() > QUICK_MAX_BYTES {
        return None;
    }
    let mut events = Parser::new_from_str(yaml).map(|e| e.ok().map(|(event, _span)| event));
    let mut next = move || events.next().flatten();
    if !matches!(next()?, Event::StreamStart)
        || !matches!(next()?, Event::DocumentStart(false, None))
    {
        return None;
    }
    let root = match next()? {
        first @ Event::MappingStart(..) => node(first, &mut next, 0)?,
        _ => return None,
    };
    match (next()?, next()?, next()) {
        (Event::DocumentEnd, Event::StreamEnd, None) => Some(root),
        _ => None,
    }
}

/// One node, starting at `event`, its children taken from `next`.
fn node<'a>(
    event: granit_parser::Event<'a>,
    next: &mut impl FnMut() -> Option<granit_parser::Event<'a>>,
    depth: usize,
) -> Option<Yaml> {
    use granit_parser::Event;

    match event {
        Event::Scalar(value, style, 0, None) => scalar(value, style),
        Event::SequenceStart(_, 0, None) if depth < QUICK_MAX_DEPTH => {
            let mut items = Vec::new();
            loop {
                match next()? {
                    Event::SequenceEnd => return Some(Yaml::Seq(items)),
                    item => items.push(node(item, next, depth + 1)?),
                }
            }
        }
        Event::MappingStart(_, 0, None) if depth < QUICK_MAX_DEPTH => {
            let mut entries = Vec::new();
            loop {
                let key = match next()? {
                    Event::MappingEnd => return Some(Yaml::Map(entries)),
                    // Keys that are text, each once. serde-saphyr picks among repeated keys
                    // (and keys that are numbers, which repeat under other spellings) by
                    // rules of its own: those maps are its to read.
                    Event::Scalar(key, style, 0, None) if entries.len() < QUICK_MAX_KEYS => {
                        if style == granit_parser::ScalarStyle::Plain && key == "<<" {
                            return None;
                        }
                        match scalar(key, style)? {
                            Yaml::Str(key) if !entries.iter().any(|(k, _)| *k == key) => key,
                            _ => return None,
                        }
                    }
                    _ => return None,
                };
                let value = node(next()?, next, depth + 1)?;
                entries.push((key, value));
            }
        }
        _ => None,
    }
}

/// An untagged scalar, typed as serde-saphyr types it for an untyped value.
fn scalar(value: std::borrow::Cow<'_, str>, style: granit_parser::ScalarStyle) -> Option<Yaml> {
    if style != granit_parser::ScalarStyle::Plain {
        return Some(Yaml::Str(value.into_owned()));
    }
    if matches!(&*value, "" | "~" | "null" | "Null" | "NULL") {
        return Some(Yaml::Null);
    }
    let t = value.trim_matches([' ', '\t', '\r', '\n']);
    for (words, b) in [
        (["true", "yes", "y", "on"], true),
        (["false", "no", "n", "off"], false),
    ] {
        if words.iter().any(|w| t.eq_ignore_ascii_case(w)) {
            return Some(Yaml::Bool(b));
        }
    }
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    let numeric_start = unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.');
    // Every number spelling (decimal, radix prefixes, exponents, underscores, `.inf`) is
    // made of these; text with anything else is text.
    let number_chars = t
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.' | b'_'));
    if numeric_start && number_chars {
        return resolve_alone(t);
    }
    Some(Yaml::Str(value.into_owned()))
}

/// What serde-saphyr makes of `text` as a document of its own: the scalar's type when it
/// may be a number. `text` is a single word of number characters, so alone it is the same
/// plain scalar it was in its mapping; anything but a scalar (or an error: `.inf` is refused)
/// sends the whole front matter to serde-saphyr.
fn resolve_alone(text: &str) -> Option<Yaml> {
    if text.starts_with("...") {
        // A document end marker on its own.
        return None;
    }
    match serde_saphyr::from_str_with_options::<Yaml>(text, options()).ok()? {
        scalar @ (Yaml::Number(_) | Yaml::Bool(_) | Yaml::Null) => Some(scalar),
        Yaml::Str(s) if s == text => Some(Yaml::Str(s)),
        _ => None,
    }
}

/// The parser's message without its position, which counts lines within the YAML rather
/// than the file; the caller reports the file's line instead.
fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("").trim();
    match line.rfind(" at line ") {
        Some(i) => line[..i].to_owned(),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_fences() {
        match split("---\ntitle: a\n---\nbody\n") {
            Split::Parts { yaml, body, .. } => {
                assert_eq!(yaml, "title: a\n");
                assert_eq!(body, "body\n");
            }
            other => panic!("{other:?}"),
        }
        match split("---\r\ntitle: a\r\n---\r\nbody") {
            Split::Parts { yaml, body, .. } => {
                assert_eq!(yaml, "title: a\r\n");
                assert_eq!(body, "body");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(split("title: a\n"), Split::NoFrontMatter);
        assert_eq!(split("----\n"), Split::NoFrontMatter);
        assert_eq!(split("---\ntitle: a\n"), Split::Unclosed);
        assert_eq!(split("---"), Split::Unclosed);
        assert!(matches!(split("---\n---\n"), Split::Parts { yaml: "", .. }));
    }

    #[test]
    fn a_repeated_key_takes_its_last_value_as_in_jekyll() {
        for yaml in [
            "title: first\ntitle: second\n",
            "0: x\ntitle: first\ntitle: second\n",
        ] {
            let y = parse_yaml(yaml).unwrap();
            assert_eq!(
                y.get("title").and_then(Yaml::as_text).as_deref(),
                Some("second")
            );
        }
    }

    #[test]
    fn reads_scalars_loosely() {
        let y = parse_yaml("title: 2024\nflag: true\nlist: [a, 1]\n").unwrap();
        assert_eq!(
            y.get("title").and_then(Yaml::as_text).as_deref(),
            Some("2024")
        );
        assert_eq!(y.get("flag"), Some(&Yaml::Bool(true)));
        assert_eq!(
            y.get("list"),
            Some(&Yaml::Seq(vec![
                Yaml::Str("a".into()),
                Yaml::Number("1".into())
            ]))
        );
    }
}
