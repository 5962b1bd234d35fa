//! Sort strings, the `sort` parameter of list endpoints (`label:asc,created:desc`).
//! The language: README §A.4.

use std::cmp::Ordering;
use std::fmt;

use nom::bytes::complete::take_till;
use nom::{IResult, Parser};
use serde::{Deserialize, Serialize};

use crate::error::{ErrorKind, ParseError, describe_at};

/// A sort: keys in order of precedence. Never empty when parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sort {
    /// The keys, most significant first.
    pub keys: Vec<SortKey>,
}

/// One sort key and its direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SortKey {
    /// The dotted field path; non-empty, without `,` or `:`.
    pub key: String,
    /// The direction; ascending when not written.
    pub order: Order,
}

/// A sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// `asc` or `1`.
    Asc,
    /// `desc` or `-1`.
    Desc,
}

impl Sort {
    /// Compares two JSON documents by the keys in turn, each ascending or descending, as
    /// list endpoints order their results. A key is a dotted path through objects
    /// (`info.x.y`); values compare by [`compare_json`], so a document without the field
    /// sorts first when ascending. Documents equal on every key compare `Equal`: break the
    /// tie yourself (fw-server orders ties by `_id`, as MongoDB's natural order does).
    ///
    /// ```
    /// use serde_json::json;
    /// use std::cmp::Ordering;
    ///
    /// let sort = fw_filter::parse_sort("age:desc,label")?;
    /// let (a, b) = (json!({"age": 30, "label": "b"}), json!({"age": 30, "label": "a"}));
    /// assert_eq!(sort.compare(&a, &b), Ordering::Greater);
    /// assert_eq!(sort.compare(&json!({"age": 31}), &a), Ordering::Less);
    /// # Ok::<(), fw_filter::ParseError>(())
    /// ```
    pub fn compare(&self, a: &serde_json::Value, b: &serde_json::Value) -> Ordering {
        for key in &self.keys {
            let ordering = compare_json(field(a, &key.key), field(b, &key.key));
            let ordering = match key.order {
                Order::Asc => ordering,
                Order::Desc => ordering.reverse(),
            };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        Ordering::Equal
    }
}

/// The value at a dotted path through objects, if there is one.
fn field<'a>(doc: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('.').try_fold(doc, |v, segment| v.get(segment))
}

/// The total order in which sorts put JSON values (`None` is a missing field): missing <
/// null < booleans < numbers < strings < lists and objects. Booleans compare `false <
/// true`, numbers by value, strings by their bytes (UTF-8 order, as MongoDB's binary
/// collation); lists and objects are all equal to each other.
///
/// ```
/// use fw_filter::sort::compare_json;
/// use serde_json::json;
/// use std::cmp::Ordering;
///
/// assert_eq!(compare_json(None, Some(&json!(null))), Ordering::Less);
/// assert_eq!(compare_json(Some(&json!(2)), Some(&json!(10))), Ordering::Less);
/// assert_eq!(compare_json(Some(&json!(10)), Some(&json!("1"))), Ordering::Less);
/// ```
pub fn compare_json(a: Option<&serde_json::Value>, b: Option<&serde_json::Value>) -> Ordering {
    use serde_json::Value;
    fn rank(v: Option<&Value>) -> u8 {
        match v {
            None => 0,
            Some(Value::Null) => 1,
            Some(Value::Bool(_)) => 2,
            Some(Value::Number(_)) => 3,
            Some(Value::String(_)) => 4,
            Some(_) => 5,
        }
    }
    match (a, b) {
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Parses `item , { "," , item }` where `item = key , [ ":" , order ]`.
pub(crate) fn parse(src: &str) -> Result<Sort, ParseError> {
    if src.trim().is_empty() {
        return Err(ParseError::new(
            src,
            0,
            ErrorKind::Empty,
            "the sort is empty",
            "a key such as label:asc",
            "end of input",
        ));
    }
    let mut keys = Vec::new();
    let mut rest = src;
    loop {
        let at = src.len() - rest.len();
        let (after, key) = sort_key(rest).map_err(|_| empty_key(src, at))?;
        if key.is_empty() {
            return Err(empty_key(src, at));
        }
        let (after, order) = match after.strip_prefix(':') {
            Some(after) => {
                let order_at = src.len() - after.len();
                let (after, word) = sort_key(after).map_err(|_| empty_key(src, order_at))?;
                let order = match word.to_ascii_lowercase().as_str() {
                    "asc" | "1" => Order::Asc,
                    "desc" | "-1" => Order::Desc,
                    _ => {
                        return Err(ParseError::new(
                            src,
                            order_at,
                            ErrorKind::InvalidSortOrder,
                            format!("unknown sort order {word:?}"),
                            "asc, desc, 1 or -1",
                            describe_at(src, order_at),
                        ));
                    }
                };
                (after, order)
            }
            None => (after, Order::Asc),
        };
        keys.push(SortKey {
            key: key.to_string(),
            order,
        });
        match after.strip_prefix(',') {
            Some(next) => rest = next,
            None if after.is_empty() => break,
            None => {
                // Only a second ':' can stop a key or order short of ',' or the end.
                let at = src.len() - after.len();
                return Err(ParseError::new(
                    src,
                    at,
                    ErrorKind::TrailingInput,
                    "unexpected ':' after the sort order",
                    "',' or the end of the sort",
                    describe_at(src, at),
                ));
            }
        }
    }
    Ok(Sort { keys })
}

fn sort_key(input: &str) -> IResult<&str, &str> {
    take_till(|c| c == ',' || c == ':').parse(input)
}

fn empty_key(src: &str, at: usize) -> ParseError {
    ParseError::new(
        src,
        at,
        ErrorKind::EmptySortKey,
        "a sort item has no key",
        "a field name such as label",
        describe_at(src, at),
    )
}

impl fmt::Display for Sort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, k) in self.keys.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let order = match k.order {
                Order::Asc => "asc",
                Order::Desc => "desc",
            };
            write!(f, "{}:{order}", k.key)?;
        }
        Ok(())
    }
}
