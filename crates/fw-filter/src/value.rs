//! Typed values shared by both languages: numbers, datetimes and ObjectIds, with the
//! lexical rules that decide when a piece of text is one of them.

use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A typed value in a finder filter (README §A.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A finite number, such as `30`, `-1.5` or `2e3`.
    Number(f64),
    /// A 24-hex-digit ObjectId; equal to its hex string in a JSON document.
    ObjectId(ObjectId),
    /// An instant, such as `2018-10-31` (midnight UTC) or `2019-08-07T10:00:00+02:00`.
    #[serde(with = "datetime_serde")]
    DateTime(DateTime<FixedOffset>),
    /// Any other text; `"…"` quotes force a string.
    String(String),
}

/// A MongoDB ObjectId: exactly 24 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(String);

impl ObjectId {
    /// Returns the id if `hex` is exactly 24 lowercase hex digits.
    pub fn parse(hex: &str) -> Option<ObjectId> {
        is_object_id(hex).then(|| ObjectId(hex.to_string()))
    }
    /// The 24-digit hex form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ObjectId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ObjectId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        ObjectId::parse(&text)
            .ok_or_else(|| serde::de::Error::custom("an ObjectId is 24 lowercase hex digits"))
    }
}

pub(crate) fn is_object_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// True for text of the form `-?\d+(\.\d+)?([eE][+-]?\d+)?` (finder numbers).
pub(crate) fn is_finder_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

/// True for text of the form `-?\d+` or `-?\d+\.\d+` (FlyQL numbers).
pub(crate) fn is_flyql_number(s: &str) -> bool {
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match unsigned.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (unsigned, None),
    };
    let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    all_digits(int) && frac.is_none_or(all_digits)
}

/// Parses number text already checked by one of the `is_*_number` functions. Text whose
/// value does not fit a finite `f64` (`1e400`) gives `None`: it stays a string.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// The outcome of reading text as an ISO-8601 datetime.
#[derive(Debug, PartialEq)]
pub(crate) enum DateTimeText {
    /// Not shaped like a datetime at all: the text is something else.
    NotDateTime,
    /// Shaped like one but not a real date or time (`2018-02-30`): the message says why.
    Invalid(&'static str),
    /// A valid instant.
    Valid(DateTime<FixedOffset>),
}

/// How strictly [`read_datetime`] reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Strictness {
    /// Query values (README §A.2 row 3): `YYYY-MM-DD`, optionally `THH:MM`, `:SS`, `.f` (1-9
    /// digits), then optionally `Z` or `±HH:MM` after a time.
    Query,
    /// JSON document strings, written by many tools: also a space or `t` between date and
    /// time, a lower-case `z`, offsets `±HHMM` and `±HH`, and any number of fraction digits.
    Document,
}

/// Reads `s` as an ISO-8601 date or date-time. Without an offset the time is UTC.
pub(crate) fn read_datetime(s: &str, strictness: Strictness) -> DateTimeText {
    use DateTimeText::*;
    let lenient = strictness == Strictness::Document;
    let b = s.as_bytes();
    // Cheap rejection first: most strings are not dates.
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return NotDateTime;
    }
    let num = |from: usize, len: usize| -> Option<u32> {
        let part = b.get(from..from + len)?;
        part.iter().all(u8::is_ascii_digit).then(|| {
            part.iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
        })
    };
    let (Some(year), Some(month), Some(day)) = (num(0, 4), num(5, 2), num(8, 2)) else {
        return NotDateTime;
    };
    let mut i = 10;
    let (mut hour, mut minute, mut second, mut nanos) = (0, 0, 0, 0);
    let has_time = match b.get(i) {
        Some(b'T') => true,
        Some(b't' | b' ') => lenient,
        _ => false,
    };
    if has_time {
        let (Some(h), Some(m)) = (num(i + 1, 2), num(i + 4, 2)) else {
            return NotDateTime;
        };
        if b[i + 3] != b':' {
            return NotDateTime;
        }
        (hour, minute) = (h, m);
        i += 6;
        if b.get(i) == Some(&b':') {
            let Some(sec) = num(i + 1, 2) else {
                return NotDateTime;
            };
            second = sec;
            i += 3;
            if b.get(i) == Some(&b'.') {
                let digits = b[i + 1..].iter().take_while(|d| d.is_ascii_digit()).count();
                if digits == 0 || (digits > 9 && !lenient) {
                    return NotDateTime;
                }
                // Nanosecond precision: further digits are truncated.
                nanos = b[i + 1..i + 1 + digits.min(9)]
                    .iter()
                    .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
                    * 10u32.pow(9 - digits.min(9) as u32);
                i += 1 + digits;
            }
        }
    }
    let offset_seconds = match b.get(i) {
        None => 0,
        Some(b'Z') if has_time => {
            i += 1;
            0
        }
        Some(b'z') if has_time && lenient => {
            i += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) if has_time => {
            let sign = if *sign == b'-' { -1 } else { 1 };
            let Some(h) = num(i + 1, 2) else {
                return NotDateTime;
            };
            let (m, len) = if b.get(i + 3) == Some(&b':') {
                match num(i + 4, 2) {
                    Some(m) => (m, 6),
                    None => return NotDateTime,
                }
            } else if lenient {
                match num(i + 3, 2) {
                    Some(m) => (m, 5),
                    None => (0, 3),
                }
            } else {
                return NotDateTime;
            };
            if h > 23 || m > 59 {
                return Invalid("the time zone offset is out of range");
            }
            i += len;
            sign * (h as i32 * 3600 + m as i32 * 60)
        }
        Some(_) => return NotDateTime,
    };
    if i != b.len() {
        return NotDateTime;
    }
    let Some(date) = NaiveDate::from_ymd_opt(year as i32, month, day) else {
        return Invalid("no such date");
    };
    let Some(time) = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
        .filter(|_| hour < 24 && minute < 60 && second < 60)
    else {
        return Invalid("no such time of day");
    };
    let Some(offset) = FixedOffset::east_opt(offset_seconds) else {
        return Invalid("the time zone offset is out of range");
    };
    match offset
        .from_local_datetime(&NaiveDateTime::new(date, time))
        .single()
    {
        Some(dt) => Valid(dt),
        None => Invalid("no such instant"),
    }
}

/// The canonical text of a datetime: `YYYY-MM-DDTHH:MM:SS`, the fraction only when it is
/// not zero (without trailing zeros), then `Z` for UTC or `±HH:MM`.
pub(crate) fn format_datetime(dt: &DateTime<FixedOffset>) -> String {
    use std::fmt::Write;
    let mut out = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = dt.timestamp_subsec_nanos();
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        let _ = write!(out, ".{}", frac.trim_end_matches('0'));
    }
    let offset = dt.offset().local_minus_utc();
    if offset == 0 {
        out.push('Z');
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let minutes = offset.unsigned_abs() / 60;
        let _ = write!(out, "{sign}{:02}:{:02}", minutes / 60, minutes % 60);
    }
    out
}

/// Serde for datetimes in the AST's JSON form: the canonical text.
pub(crate) mod datetime_serde {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        dt: &DateTime<FixedOffset>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_datetime(dt))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<DateTime<FixedOffset>, D::Error> {
        let text = String::deserialize(d)?;
        match read_datetime(&text, Strictness::Document) {
            DateTimeText::Valid(dt) => Ok(dt),
            _ => Err(serde::de::Error::custom(format!(
                "not an ISO-8601 datetime: {text:?}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(s: &str, strictness: Strictness) -> Option<String> {
        match read_datetime(s, strictness) {
            DateTimeText::Valid(dt) => Some(format_datetime(&dt)),
            _ => None,
        }
    }

    #[test]
    fn query_datetimes() {
        let q = Strictness::Query;
        let table = [
            ("2018-10-31", Some("2018-10-31T00:00:00Z")),
            ("2018-10-31T12:03", Some("2018-10-31T12:03:00Z")),
            ("2018-10-31T12:03:15", Some("2018-10-31T12:03:15Z")),
            ("2018-10-31T12:03:15.5", Some("2018-10-31T12:03:15.5Z")),
            (
                "2018-01-15T12:03:15.001+06:00",
                Some("2018-01-15T12:03:15.001+06:00"),
            ),
            (
                "2018-01-15T12:03:15.123456789-02:30",
                Some("2018-01-15T12:03:15.123456789-02:30"),
            ),
            ("2018-10-31T12:03Z", Some("2018-10-31T12:03:00Z")),
            ("2018-10-31T12:03:15.1234567890", None),
            ("2018-10-31 12:03", None),
            ("2018-10-31Z", None),
            ("2018-10-31T12:03+0600", None),
            ("2018-10-3", None),
            ("2018/10/31", None),
            ("20181031", None),
        ];
        for (text, want) in table {
            assert_eq!(valid(text, q).as_deref(), want, "{text}");
        }
    }

    #[test]
    fn document_datetimes_are_lenient() {
        let d = Strictness::Document;
        assert_eq!(
            valid("2018-10-31 12:03:15+0600", d).as_deref(),
            Some("2018-10-31T12:03:15+06:00")
        );
        assert_eq!(
            valid("2018-10-31t12:03:15.1234567891z", d).as_deref(),
            Some("2018-10-31T12:03:15.123456789Z")
        );
        assert_eq!(
            valid("2018-10-31T12:03:15-05", d).as_deref(),
            Some("2018-10-31T12:03:15-05:00")
        );
    }

    #[test]
    fn impossible_dates_are_invalid_not_strings() {
        for text in [
            "2018-02-30",
            "2018-13-01",
            "2018-10-31T24:00",
            "2018-10-31T12:60",
        ] {
            assert!(
                matches!(
                    read_datetime(text, Strictness::Query),
                    DateTimeText::Invalid(_)
                ),
                "{text}"
            );
        }
    }

    #[test]
    fn number_shapes() {
        for yes in ["0", "-1", "30", "1.5", "-0.25", "2e3", "2E-3", "1.5e+10"] {
            assert!(is_finder_number(yes), "{yes}");
        }
        for no in [
            "", "-", "+7", " 42 ", "1.", ".5", "nan", "inf", "1e", "1e+", "0x10",
        ] {
            assert!(!is_finder_number(no), "{no}");
        }
        for yes in ["0", "-12", "3.25"] {
            assert!(is_flyql_number(yes), "{yes}");
        }
        for no in ["2e3", "1.", ".5", "-", "+1", "1.2.3"] {
            assert!(!is_flyql_number(no), "{no}");
        }
        assert_eq!(parse_number("1e400"), None);
    }
}
