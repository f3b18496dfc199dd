//! Dates as Jekyll reads them.
//!
//! Jekyll hands front-matter dates to Ruby's `Time.parse`, which accepts far more than any
//! single format string. We accept the forms publishers actually write — a date, a date and
//! time with or without seconds and fractions, separated by a space or `T`, followed by an
//! optional `Z`, `UTC`/`GMT` or numeric offset (`+0800`, `+08:00`, `+08`) — and refuse
//! everything else with a reason, rather than guessing.
//!
//! A date's own offset is kept (`+0800` stays `+08:00` in every document); only a date written
//! without one takes the site's configured time zone, never the server's.

use chrono::{
    DateTime, Datelike, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone,
};
use chrono_tz::Tz;

/// Why a date was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// The text is not in any accepted form.
    #[error("`{0}` is not a date (expected e.g. `2022-05-26 07:32:30 +0800` or `2022-05-26`)")]
    Unrecognised(String),
    /// The text has the right shape but names a day or time that does not exist.
    #[error("`{0}` is an impossible date or time")]
    Impossible(String),
    /// Before the year 1 or after 9999, here or in UTC: RSS (RFC 822) and HTTP dates cannot
    /// say it.
    #[error("`{0}` is outside the years 0001 to 9999")]
    OutOfRange(String),
}

/// Refuses a date that feeds and HTTP cannot carry: its year, in its own offset and in UTC,
/// must be 1 to 9999.
pub fn in_range(
    date: DateTime<FixedOffset>,
    text: &str,
) -> Result<DateTime<FixedOffset>, DateError> {
    let years = 1..=9999;
    if years.contains(&date.year()) && years.contains(&date.naive_utc().year()) {
        Ok(date)
    } else {
        Err(DateError::OutOfRange(text.to_owned()))
    }
}

/// Parses a front-matter date. `tz` applies only when the text carries no offset.
pub fn parse_date(raw: &str, tz: Tz) -> Result<DateTime<FixedOffset>, DateError> {
    let text = raw.trim();
    let unrecognised = || DateError::Unrecognised(text.to_owned());
    let impossible = || DateError::Impossible(text.to_owned());
    let mut s = Scanner { rest: text };

    let year = s.digits(4, 4).ok_or_else(unrecognised)?;
    s.expect('-').ok_or_else(unrecognised)?;
    let month = s.digits(1, 2).ok_or_else(unrecognised)?;
    s.expect('-').ok_or_else(unrecognised)?;
    let day = s.digits(1, 2).ok_or_else(unrecognised)?;
    let date = NaiveDate::from_ymd_opt(year as i32, month, day).ok_or_else(impossible)?;

    let mut time = NaiveTime::MIN;
    let had_sep = s.eat('T') || s.eat('t') || s.spaces();
    if had_sep && s.peek().is_some_and(|c| c.is_ascii_digit()) {
        let hour = s.digits(1, 2).ok_or_else(unrecognised)?;
        s.expect(':').ok_or_else(unrecognised)?;
        let minute = s.digits(2, 2).ok_or_else(unrecognised)?;
        let mut second = 0;
        let mut nano = 0;
        if s.eat(':') {
            second = s.digits(2, 2).ok_or_else(unrecognised)?;
            if s.eat('.') || s.eat(',') {
                nano = s.fraction().ok_or_else(unrecognised)?;
            }
        }
        // A leap second (`:60`) is written by some tools; chrono models it as nanoseconds
        // past 59, which it accepts only there, so that is where it goes.
        let (second, nano) = if second == 60 {
            (59, 1_000_000_000 + nano)
        } else {
            (second, nano)
        };
        time = NaiveTime::from_hms_nano_opt(hour, minute, second, nano).ok_or_else(impossible)?;
        s.spaces();
    }
    let offset = s
        .offset()
        .map_err(|bad| if bad { impossible() } else { unrecognised() })?;
    s.spaces();
    if !s.rest.is_empty() {
        return Err(unrecognised());
    }
    let naive = NaiveDateTime::new(date, time);
    let date = match offset {
        Some(offset) => offset
            .from_local_datetime(&naive)
            .single()
            .ok_or_else(impossible)?,
        None => in_zone(naive, tz),
    };
    in_range(date, text)
}

/// Places a wall-clock time in a zone. In the hour a DST change repeats, the earlier instant is
/// taken; in the hour it skips, the time is moved forward by the gap, as clocks are.
pub fn in_zone(naive: NaiveDateTime, tz: Tz) -> DateTime<FixedOffset> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(dt) | LocalResult::Ambiguous(dt, _) => dt.fixed_offset(),
        LocalResult::None => {
            // Gaps are at most a few hours; step forward until the wall time exists.
            let mut probe = naive;
            for _ in 0..48 {
                probe += chrono::Duration::minutes(30);
                if let Some(dt) = tz.from_local_datetime(&probe).earliest() {
                    return dt.fixed_offset();
                }
            }
            // Unreachable for real zones; UTC keeps the function total.
            naive.and_utc().fixed_offset()
        }
    }
}

/// The date prefix of a Jekyll post file name (`2022-05-26-slug.md`) and the slug after it.
pub fn split_dated_name(stem: &str) -> Option<(NaiveDate, &str)> {
    let bytes = stem.as_bytes();
    if bytes.len() < 11 || bytes[10] != b'-' {
        return None;
    }
    let prefix = stem.get(..10)?;
    if !prefix.bytes().enumerate().all(|(i, b)| {
        if i == 4 || i == 7 {
            b == b'-'
        } else {
            b.is_ascii_digit()
        }
    }) {
        return None;
    }
    let date = NaiveDate::parse_from_str(prefix, "%Y-%m-%d").ok()?;
    Some((date, &stem[11..]))
}

struct Scanner<'a> {
    rest: &'a str,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<char> {
        self.rest.chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        match self.rest.strip_prefix(c) {
            Some(r) => {
                self.rest = r;
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, c: char) -> Option<()> {
        self.eat(c).then_some(())
    }

    fn spaces(&mut self) -> bool {
        let trimmed = self.rest.trim_start_matches([' ', '\t']);
        let ate = trimmed.len() != self.rest.len();
        self.rest = trimmed;
        ate
    }

    fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let n = self
            .rest
            .bytes()
            .take(max)
            .take_while(u8::is_ascii_digit)
            .count();
        if n < min {
            return None;
        }
        let value = self.rest[..n].parse().ok()?;
        self.rest = &self.rest[n..];
        Some(value)
    }

    /// Fractional seconds: any number of digits, kept to nanosecond precision.
    fn fraction(&mut self) -> Option<u32> {
        let n = self.rest.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        let digits = &self.rest[..n];
        self.rest = &self.rest[n..];
        let mut nano: u32 = 0;
        for b in digits.bytes().chain(std::iter::repeat(b'0')).take(9) {
            nano = nano * 10 + u32::from(b - b'0');
        }
        Some(nano)
    }

    /// `Ok(None)` for no offset, `Err(true)` for a well-formed but impossible one.
    fn offset(&mut self) -> Result<Option<FixedOffset>, bool> {
        for utc in ["Z", "z", "UTC", "GMT"] {
            if let Some(r) = self.rest.strip_prefix(utc) {
                self.rest = r;
                return Ok(FixedOffset::east_opt(0));
            }
        }
        let sign = match self.peek() {
            Some('+') => 1,
            Some('-') => -1,
            _ => return Ok(None),
        };
        self.rest = &self.rest[1..];
        let hours = self.digits(2, 2).ok_or(false)?;
        let minutes = if self.eat(':') {
            self.digits(2, 2).ok_or(false)?
        } else {
            self.digits(2, 2).unwrap_or(0)
        };
        if hours > 23 || minutes > 59 {
            return Err(true);
        }
        let secs = sign * (hours as i32 * 3600 + minutes as i32 * 60);
        FixedOffset::east_opt(secs).map(Some).ok_or(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, tz: Tz, expected: &str) {
        let got = parse_date(input, tz).map(|d| d.to_rfc3339());
        assert_eq!(got.as_deref(), Ok(expected), "input {input:?}");
    }

    #[test]
    fn accepts_jekyll_forms() {
        let utc = Tz::UTC;
        let sh = chrono_tz::Asia::Shanghai;
        check(
            "2022-05-26 07:32:30 +0800",
            utc,
            "2022-05-26T07:32:30+08:00",
        );
        check(
            "2022-05-26 07:32:30 +08:00",
            utc,
            "2022-05-26T07:32:30+08:00",
        );
        check("2022-05-26 07:32:30+08", utc, "2022-05-26T07:32:30+08:00");
        check("2022-05-26 07:32 +0800", utc, "2022-05-26T07:32:00+08:00");
        check("2022-05-26T07:32:30Z", utc, "2022-05-26T07:32:30+00:00");
        check(
            "2022-05-26T07:32:30.250-05:00",
            utc,
            "2022-05-26T07:32:30.250-05:00",
        );
        check("2022-05-26 07:32:30 -0500", sh, "2022-05-26T07:32:30-05:00");
        check("2022-05-26 07:32:30", sh, "2022-05-26T07:32:30+08:00");
        check("2022-05-26", sh, "2022-05-26T00:00:00+08:00");
        check("2022-5-6", utc, "2022-05-06T00:00:00+00:00");
        check("2022-05-26 07:32:30 UTC", sh, "2022-05-26T07:32:30+00:00");
        // New York skips 02:00-03:00 on 2022-03-13: moved forward, as clocks are.
        check(
            "2022-03-13 02:30:00",
            chrono_tz::America::New_York,
            "2022-03-13T03:00:00-04:00",
        );
    }

    #[test]
    fn refuses_the_impossible_and_the_unknown() {
        let utc = Tz::UTC;
        for bad in [
            "2021-02-30 10:00:00",
            "2021-02-28 25:61:00",
            "2021-13-01",
            "2021-01-01 10:00 +2500",
        ] {
            assert!(
                matches!(parse_date(bad, utc), Err(DateError::Impossible(_))),
                "{bad}"
            );
        }
        for bad in [
            "yesterday",
            "",
            "26/05/2022",
            "2022-05-26 07:32:30 +08:00 extra",
            "2022-05-26 7",
        ] {
            assert!(
                matches!(parse_date(bad, utc), Err(DateError::Unrecognised(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn splits_dated_file_names() {
        let (d, slug) = split_dated_name("2022-05-26-hello-world").unwrap();
        assert_eq!(d.to_string(), "2022-05-26");
        assert_eq!(slug, "hello-world");
        assert!(split_dated_name("063_abc").is_none());
        assert!(split_dated_name("2022-02-30-x").is_none());
    }
}
