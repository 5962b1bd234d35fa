//! Sort strings, the `sort` parameter of list endpoints (`label:asc,created:desc`).
//! The language: README §A.4.

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
