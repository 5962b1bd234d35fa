//! Flywheel's two query languages, parsed into an AST, printed back, and evaluated
//! against JSON.
//!
//! - **Finder filters** ([`parse_filter`]), the `filter` parameter of list endpoints:
//!   `label=~resting.*,age<30`. Sort strings ([`parse_sort`]) go with them.
//! - **FlyQL** ([`parse_query`]), the structured queries of search:
//!   `session.age >= 0 AND file.classification.Measurement = T1`.
//!
//! The normative spec is `shared/reference/filter-language.md`; this crate implements it
//! completely, including every decision marked \[D\] there.
//!
//! # The round-trip contract
//!
//! `Display` prints the canonical form. For every AST `a`, `parse(a.to_string()) == a`, and
//! for every input `s` that parses, printing is stable: the canonical text parses to the
//! same AST and prints to the same text again.
//!
//! ```
//! use fw_filter::{parse_filter, parse_query};
//! use serde_json::json;
//!
//! let filter = parse_filter("label=~resting.*,age<30")?;
//! assert!(filter.matches(&json!({"label": "resting_state", "age": 25})));
//! assert!(!filter.matches(&json!({"label": "resting_state", "age": 31})));
//! assert_eq!(filter.to_string(), "label=~resting.*,age<30");
//!
//! let query = parse_query("subject.sex == male and not subject.age < 37")?;
//! assert_eq!(query.to_string(), "subject.sex == male AND NOT subject.age < 37");
//! assert!(query.matches(&json!({"subject": {"sex": "male", "age": 40}})));
//! # Ok::<(), fw_filter::ParseError>(())
//! ```
//!
//! Errors carry a position and render with a caret:
//!
//! ```
//! let err = fw_filter::parse_query("a\n >> some_text").unwrap_err();
//! assert_eq!((err.line(), err.column()), (2, 2));
//! assert_eq!(err.message(), "unknown operator '>>'");
//! ```
//!
//! # Decisions beyond the spec
//!
//! - Numbers are `f64`. Number-shaped text too large for a finite `f64` (`1e400`) stays a
//!   string, so printing never produces `inf`.
//! - Text shaped like a date that is not a real one (`2018-02-30`) is an error, not a
//!   string: it is almost always a typo. Quote it to compare as text.
//! - In a finder `=|` list, `\]` is a literal `]` (as `\,` is a literal comma), and an
//!   empty item is an error (write `""`).
//! - A datetime prints as `YYYY-MM-DDTHH:MM:SS[.f](Z|±HH:MM)`, so `created>2018-10-31`
//!   prints as `created>2018-10-31T00:00:00Z`; the instant and offset are kept.
//! - FlyQL equality does not coerce types, like the finder: `subject.code = 1001` is the
//!   number 1001 and does not match the string `"1001"`; quote it.
//! - FlyQL `CONTAINS` and `LIKE` look at string values only.
//! - Compiled patterns are cached per process (512 of them), since compiling a regex costs
//!   about 100 times more than parsing the rest of a filter.
//! - FlyQL nesting of parentheses and NOTs is limited to [`flyql::MAX_DEPTH`] levels.

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

/// Parses a finder filter such as `label=~resting.*,age<30` (spec A).
pub fn parse_filter(src: &str) -> Result<Filter, ParseError> {
    finder::parse(src)
}

/// Parses a sort string such as `label:asc,created:desc` (spec A.4).
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
/// (spec B).
pub fn parse_query(src: &str) -> Result<Query, ParseError> {
    flyql::parse(src)
}
