//! Property tests: generated ASTs survive print → parse unchanged, and no input makes a
//! parser panic.

use chrono::{DateTime, FixedOffset, TimeZone};
use fw_filter::finder::{Condition, Filter, Test};
use fw_filter::flyql::{Conjunction, Factor, Literal, Query, Term, Test as FlyTest};
use fw_filter::{ObjectId, Pattern, Value, parse_filter, parse_query, parse_sort};
use proptest::prelude::*;

// ----- building blocks -----

fn finite_number() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-1000i64..1000).prop_map(|n| n as f64),
        (-1e6f64..1e6),
        any::<f64>().prop_filter("finite", |n| n.is_finite()),
    ]
}

fn datetime() -> impl Strategy<Value = DateTime<FixedOffset>> {
    // Years 0001-9999, nanosecond precision, whole-minute offsets up to ±23:59.
    (
        -62_135_596_800i64..253_402_214_400,
        0u32..1_000_000_000,
        -1439i32..1440,
    )
        .prop_filter_map("in range", |(secs, nanos, offset_minutes)| {
            let offset = FixedOffset::east_opt(offset_minutes * 60)?;
            let dt = offset.timestamp_opt(secs, nanos).single()?;
            // The printed year must stay four digits.
            (1..=9999)
                .contains(&dt.format("%Y").to_string().parse::<i32>().ok()?)
                .then_some(dt)
        })
}

/// Strings with a bias towards the characters that are special in either language.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z0-9 ,\\[\\]()\"'\\\\=<>!~|:.*%_?-]{0,12}",
        Just(String::new()),
        Just("null".to_string()),
        Just("true".to_string()),
        Just("42".to_string()),
        Just("2018-10-31".to_string()),
        Just("AND".to_string()),
        Just("\"quoted\"".to_string()),
    ]
}

/// Regex sources the engine accepts.
fn regex_source() -> impl Strategy<Value = String> {
    "[a-z0-9 ,.*+?|^$\\\\d-]{0,10}".prop_filter("compiles", |s| finder_regex(s).is_some())
}

// ----- finder ASTs -----

fn finder_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        finite_number().prop_map(Value::Number),
        "[0-9a-f]{24}".prop_map(|s| Value::ObjectId(ObjectId::parse(&s).unwrap())),
        datetime().prop_map(Value::DateTime),
        text().prop_map(Value::String),
    ]
}

fn finder_key() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z_][a-z0-9_.]{0,10}", "[^,<>=!]{1,8}"]
}

fn finder_regex(source: &str) -> Option<Pattern> {
    let filter = parse_filter(&format!("k=~{}", source.replace(',', "\\,"))).ok()?;
    match &filter.conditions[0].test {
        Test::Regex(p) => Some(p.clone()),
        _ => None,
    }
}

/// Excludes sources ending in a backslash: those are printed as `(?:…)` when another
/// condition follows (see `regex_ending_in_a_backslash` in finder.rs).
fn finder_pattern() -> impl Strategy<Value = Pattern> {
    regex_source()
        .prop_filter("no trailing backslash", |s| !s.ends_with('\\'))
        .prop_filter_map("compiles", |s| finder_regex(&s))
}

fn finder_test() -> impl Strategy<Value = Test> {
    prop_oneof![
        finder_value().prop_map(Test::Eq),
        finder_value().prop_map(Test::Ne),
        finder_value().prop_map(Test::Lt),
        finder_value().prop_map(Test::Le),
        finder_value().prop_map(Test::Gt),
        finder_value().prop_map(Test::Ge),
        finder_pattern().prop_map(Test::Regex),
        prop::collection::vec(finder_value(), 1..4).prop_map(Test::In),
    ]
}

fn filter() -> impl Strategy<Value = Filter> {
    prop::collection::vec(
        (finder_key(), finder_test()).prop_map(|(key, test)| Condition { key, test }),
        1..4,
    )
    .prop_map(|conditions| Filter { conditions })
}

// ----- FlyQL ASTs -----

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        any::<bool>().prop_map(Literal::Bool),
        finite_number().prop_map(Literal::Number),
        datetime().prop_map(Literal::DateTime),
        text().prop_map(Literal::String),
    ]
}

/// A pattern of the kind `op` gives, built through the parser so its kind is right.
fn flyql_pattern(op: &'static str, source: String) -> FlyTest {
    let quoted = format!(
        "\"{}\"",
        source
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    );
    let q = parse_query(&format!("f {op} {quoted}")).unwrap();
    match &q.any[0].all[0] {
        Factor::Term(t) => t.test.clone(),
        other => panic!("{other:?}"),
    }
}

fn flyql_test() -> impl Strategy<Value = FlyTest> {
    prop_oneof![
        literal().prop_map(FlyTest::Eq),
        literal().prop_map(FlyTest::EqEq),
        literal().prop_map(FlyTest::Ne),
        literal().prop_map(FlyTest::LtGt),
        literal().prop_map(FlyTest::Lt),
        literal().prop_map(FlyTest::Le),
        literal().prop_map(FlyTest::Gt),
        literal().prop_map(FlyTest::Ge),
        regex_source().prop_map(|s| flyql_pattern("=~", s)),
        regex_source().prop_map(|s| flyql_pattern("!~", s)),
        text().prop_map(|s| flyql_pattern("LIKE", s)),
        text().prop_map(|s| flyql_pattern("CONTAINS", s)),
        prop::collection::vec(literal(), 1..4).prop_map(FlyTest::In),
        Just(FlyTest::Exists),
    ]
}

fn query() -> impl Strategy<Value = Query> {
    let term = (text(), flyql_test()).prop_map(|(field, test)| Factor::Term(Term { field, test }));
    let factor = term.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|f| Factor::Not(Box::new(f))),
            prop::collection::vec(prop::collection::vec(inner, 1..3), 1..3).prop_map(|any| {
                Factor::Group(Query {
                    any: any.into_iter().map(|all| Conjunction { all }).collect(),
                })
            }),
        ]
    });
    prop::collection::vec(prop::collection::vec(factor, 1..3), 1..3).prop_map(|any| Query {
        any: any.into_iter().map(|all| Conjunction { all }).collect(),
    })
}

// ----- the properties -----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn finder_asts_round_trip(ast in filter()) {
        let printed = ast.to_string();
        let parsed = parse_filter(&printed).map_err(|e| TestCaseError::fail(format!("{printed:?}\n{e}")))?;
        prop_assert_eq!(&parsed, &ast, "printed as {:?}", printed);
        prop_assert_eq!(parsed.to_string(), printed);
    }

    #[test]
    fn flyql_asts_round_trip(ast in query()) {
        let printed = ast.to_string();
        let parsed = parse_query(&printed).map_err(|e| TestCaseError::fail(format!("{printed:?}\n{e}")))?;
        prop_assert_eq!(&parsed, &ast, "printed as {:?}", printed);
        prop_assert_eq!(parsed.to_string(), printed);
    }

    #[test]
    fn asts_round_trip_through_json(f in filter(), q in query()) {
        let f_json = serde_json::to_string(&f).unwrap();
        prop_assert_eq!(serde_json::from_str::<Filter>(&f_json).unwrap(), f);
        let q_json = serde_json::to_string(&q).unwrap();
        prop_assert_eq!(serde_json::from_str::<Query>(&q_json).unwrap(), q);
    }
}

/// Inputs for the no-panic properties: arbitrary strings, and strings made of the
/// languages' own pieces, which reach deeper into the parsers.
fn hostile_input() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(
            prop_oneof![
                Just("a"),
                Just("label"),
                Just("="),
                Just("=="),
                Just("!="),
                Just("=~"),
                Just("=|"),
                Just("<"),
                Just(">="),
                Just(","),
                Just("\\"),
                Just("\\,"),
                Just("["),
                Just("]"),
                Just("("),
                Just(")"),
                Just("\""),
                Just("'"),
                Just(" "),
                Just("\n"),
                Just("AND"),
                Just("or"),
                Just("NOT"),
                Just("IN"),
                Just("LIKE"),
                Just("EXISTS"),
                Just("2018-10-31"),
                Just("42"),
                Just("null"),
                Just(":"),
                Just("desc"),
                Just("é"),
                Just("(?="),
                Just(".*"),
            ],
            0..16,
        )
        .prop_map(|parts| parts.concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    /// Never panics; and whatever parses obeys the printing laws.
    #[test]
    fn finder_parser_never_panics(input in hostile_input()) {
        if let Ok(ast) = parse_filter(&input) {
            let printed = ast.to_string();
            let again = parse_filter(&printed).map_err(|e| TestCaseError::fail(format!("{printed:?}\n{e}")))?;
            prop_assert_eq!(&again, &ast);
            prop_assert_eq!(again.to_string(), printed);
        }
    }

    #[test]
    fn flyql_parser_never_panics(input in hostile_input()) {
        if let Ok(ast) = parse_query(&input) {
            let printed = ast.to_string();
            let again = parse_query(&printed).map_err(|e| TestCaseError::fail(format!("{printed:?}\n{e}")))?;
            prop_assert_eq!(&again, &ast);
            prop_assert_eq!(again.to_string(), printed);
        }
    }

    #[test]
    fn sort_parser_never_panics(input in hostile_input()) {
        if let Ok(ast) = parse_sort(&input) {
            prop_assert_eq!(parse_sort(&ast.to_string()).unwrap(), ast);
        }
    }
}
