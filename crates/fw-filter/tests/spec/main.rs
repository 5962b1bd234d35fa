#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on broken fixtures
//! The language reference (README §A, §B) as tests: one binary, one module per part.

mod errors;
mod finder;
mod flyql;
mod roundtrip;
mod sort;

use fw_filter::{Filter, Query, Sort, parse_filter, parse_query, parse_sort};

/// Parses `src`, checks it is already canonical (prints back unchanged) and that the
/// printed text parses to the same AST.
pub fn verified(src: &str) -> Filter {
    parses_to(src, src)
}

/// Parses `src`, checks it prints as `canonical`, and that `canonical` is verified.
pub fn parses_to(src: &str, canonical: &str) -> Filter {
    let ast = parse_filter(src).unwrap_or_else(|e| panic!("{src:?} should parse:\n{e}"));
    assert_eq!(ast.to_string(), canonical, "printing {src:?}");
    let again = parse_filter(canonical).unwrap_or_else(|e| panic!("{canonical:?}:\n{e}"));
    assert_eq!(again, ast, "re-parsing {canonical:?}");
    assert_eq!(again.to_string(), canonical);
    ast
}

/// [`verified`] for FlyQL.
pub fn verified_query(src: &str) -> Query {
    query_parses_to(src, src)
}

/// [`parses_to`] for FlyQL.
pub fn query_parses_to(src: &str, canonical: &str) -> Query {
    let ast = parse_query(src).unwrap_or_else(|e| panic!("{src:?} should parse:\n{e}"));
    assert_eq!(ast.to_string(), canonical, "printing {src:?}");
    let again = parse_query(canonical).unwrap_or_else(|e| panic!("{canonical:?}:\n{e}"));
    assert_eq!(again, ast, "re-parsing {canonical:?}");
    assert_eq!(again.to_string(), canonical);
    ast
}

/// [`parses_to`] for sort strings.
pub fn sort_parses_to(src: &str, canonical: &str) -> Sort {
    let ast = parse_sort(src).unwrap_or_else(|e| panic!("{src:?} should parse:\n{e}"));
    assert_eq!(ast.to_string(), canonical, "printing {src:?}");
    assert_eq!(parse_sort(canonical).unwrap(), ast);
    ast
}
