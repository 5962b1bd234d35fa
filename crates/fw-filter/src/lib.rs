#![doc = include_str!("../README.md")]

mod error;
mod eval;
pub mod finder;
pub mod flyql;
mod pattern;
pub mod sort;
mod value;

pub use error::{ErrorKind, ParseError};
pub use finder::{Condition, Filter, Lint};
pub use flyql::Query;
pub use pattern::{Pattern, PatternKind, REGEX_SIZE_LIMIT};
pub use sort::{Order, Sort, SortKey};
pub use value::{ObjectId, Value};

/// Parses a finder filter such as `label=~resting.*,age<30` (README §A).
pub fn parse_filter(src: &str) -> Result<Filter, ParseError> {
    finder::parse(src)
}

/// Parses a sort string such as `label:asc,created:desc` (README §A.4).
pub fn parse_sort(src: &str) -> Result<Sort, ParseError> {
    sort::parse(src)
}

/// Reads an ISO-8601 date or date-time as documents write them: a `T`, `t` or space before
/// the time, fractional seconds of any length, `Z` or an offset (`+02:00`, `+0200`, `+02`);
/// without an offset the time is UTC. This is how both languages read datetimes in JSON.
///
/// ```
/// let dt = fw_filter::parse_datetime("2024-05-06 07:08:09.5+0200").unwrap();
/// assert_eq!(dt.to_rfc3339(), "2024-05-06T07:08:09.500+02:00");
/// assert!(fw_filter::parse_datetime("2024-02-30").is_none());
/// ```
pub fn parse_datetime(text: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    match value::read_datetime(text, value::Strictness::Document) {
        value::DateTimeText::Valid(dt) => Some(dt),
        _ => None,
    }
}

/// Parses a FlyQL structured query such as `session.age >= 0 AND project.label = Sample`
/// (README §B).
pub fn parse_query(src: &str) -> Result<Query, ParseError> {
    flyql::parse(src)
}
