//! Every error kind, rendered: the snapshots show exactly what a user sees.

use fw_filter::{ErrorKind, parse_filter, parse_query, parse_sort};

enum Lang {
    Finder,
    Sort,
    FlyQl,
}

/// (snapshot name, language, input, expected kind)
const CASES: &[(&str, Lang, &str, ErrorKind)] = &[
    ("finder_empty", Lang::Finder, "", ErrorKind::Empty),
    (
        "finder_empty_condition",
        Lang::Finder,
        "a=1,,b=2",
        ErrorKind::EmptyCondition,
    ),
    (
        "finder_trailing_comma",
        Lang::Finder,
        "a=1,",
        ErrorKind::EmptyCondition,
    ),
    ("finder_empty_key", Lang::Finder, "=x", ErrorKind::EmptyKey),
    (
        "finder_missing_operator",
        Lang::Finder,
        "foo",
        ErrorKind::MissingOperator,
    ),
    (
        "finder_missing_operator_second",
        Lang::Finder,
        "age<30,sex",
        ErrorKind::MissingOperator,
    ),
    (
        "finder_bang",
        Lang::Finder,
        "a!b",
        ErrorKind::MissingOperator,
    ),
    (
        "finder_negated_regex",
        Lang::Finder,
        "label!~rest",
        ErrorKind::UnsupportedOperator,
    ),
    (
        "finder_negated_regex_eq",
        Lang::Finder,
        "label!=~rest",
        ErrorKind::UnsupportedOperator,
    ),
    (
        "finder_double_equals",
        Lang::Finder,
        "label==x",
        ErrorKind::UnsupportedOperator,
    ),
    (
        "finder_exists",
        Lang::Finder,
        "info.x exists",
        ErrorKind::UnsupportedOperator,
    ),
    (
        "finder_in",
        Lang::Finder,
        "label in [a,b]",
        ErrorKind::UnsupportedOperator,
    ),
    (
        "finder_expected_list",
        Lang::Finder,
        "state=|running",
        ErrorKind::ExpectedList,
    ),
    (
        "finder_empty_list",
        Lang::Finder,
        "state=|[]",
        ErrorKind::EmptyList,
    ),
    (
        "finder_empty_list_item",
        Lang::Finder,
        "state=|[a,,b]",
        ErrorKind::EmptyListItem,
    ),
    (
        "finder_unclosed_list",
        Lang::Finder,
        "state=|[a,b",
        ErrorKind::UnclosedList,
    ),
    (
        "finder_after_list",
        Lang::Finder,
        "state=|[a]x,b=1",
        ErrorKind::TrailingInput,
    ),
    (
        "finder_lookahead",
        Lang::Finder,
        "label=~rest(?=ing)",
        ErrorKind::InvalidRegex,
    ),
    (
        "finder_backreference",
        Lang::Finder,
        r"label=~(a)\1,b=2",
        ErrorKind::InvalidRegex,
    ),
    (
        "finder_regex_syntax",
        Lang::Finder,
        "a=1,label=~(rest",
        ErrorKind::InvalidRegex,
    ),
    (
        "finder_regex_too_large",
        Lang::Finder,
        r"label=~\w{5000}",
        ErrorKind::RegexTooLarge,
    ),
    (
        "finder_invalid_date",
        Lang::Finder,
        "created>2018-02-30",
        ErrorKind::InvalidDateTime,
    ),
    (
        "finder_invalid_time",
        Lang::Finder,
        "created>2018-02-03T25:00",
        ErrorKind::InvalidDateTime,
    ),
    ("sort_empty", Lang::Sort, "", ErrorKind::Empty),
    (
        "sort_order",
        Lang::Sort,
        "label:up",
        ErrorKind::InvalidSortOrder,
    ),
    (
        "sort_empty_key",
        Lang::Sort,
        "label,,created",
        ErrorKind::EmptySortKey,
    ),
    (
        "sort_trailing",
        Lang::Sort,
        "label:asc:desc",
        ErrorKind::TrailingInput,
    ),
    ("flyql_empty", Lang::FlyQl, "   ", ErrorKind::Empty),
    (
        "flyql_unknown_operator",
        Lang::FlyQl,
        "a\n >> some_text",
        ErrorKind::UnknownOperator,
    ),
    (
        "flyql_glued_operator",
        Lang::FlyQl,
        "a==b",
        ErrorKind::ExpectedOperator,
    ),
    (
        "flyql_expected_operator",
        Lang::FlyQl,
        "subject.code sub-01",
        ErrorKind::ExpectedOperator,
    ),
    (
        "flyql_missing_operator_at_end",
        Lang::FlyQl,
        "subject.code",
        ErrorKind::ExpectedOperator,
    ),
    (
        "flyql_expected_value",
        Lang::FlyQl,
        "subject.code =",
        ErrorKind::ExpectedValue,
    ),
    (
        "flyql_keyword_value",
        Lang::FlyQl,
        "subject.code = AND",
        ErrorKind::ExpectedValue,
    ),
    (
        "flyql_expected_field",
        Lang::FlyQl,
        "subject.code = a AND",
        ErrorKind::ExpectedField,
    ),
    (
        "flyql_operator_first",
        Lang::FlyQl,
        "= b",
        ErrorKind::ExpectedField,
    ),
    (
        "flyql_single_quote",
        Lang::FlyQl,
        "project.label = 'Test'",
        ErrorKind::SingleQuote,
    ),
    (
        "flyql_unterminated",
        Lang::FlyQl,
        "project.label = \"Test",
        ErrorKind::UnterminatedString,
    ),
    (
        "flyql_newline_in_string",
        Lang::FlyQl,
        "a = \"x\ny\"",
        ErrorKind::UnterminatedString,
    ),
    (
        "flyql_invalid_escape",
        Lang::FlyQl,
        r#"a = "x\ty""#,
        ErrorKind::InvalidEscape,
    ),
    (
        "flyql_unclosed_paren",
        Lang::FlyQl,
        "(a = b",
        ErrorKind::UnclosedParen,
    ),
    (
        "flyql_paren_not_closed_before",
        Lang::FlyQl,
        "(a = b c = d)",
        ErrorKind::UnclosedParen,
    ),
    (
        "flyql_unmatched_paren",
        Lang::FlyQl,
        "a = b)",
        ErrorKind::UnmatchedParen,
    ),
    (
        "flyql_trailing",
        Lang::FlyQl,
        "a = b c = d",
        ErrorKind::TrailingInput,
    ),
    (
        "flyql_brackets_unquoted",
        Lang::FlyQl,
        "subject.code =~ sub-0[12]",
        ErrorKind::TrailingInput,
    ),
    (
        "flyql_in_without_list",
        Lang::FlyQl,
        "a IN b",
        ErrorKind::ExpectedList,
    ),
    (
        "flyql_empty_in",
        Lang::FlyQl,
        "a IN []",
        ErrorKind::EmptyList,
    ),
    (
        "flyql_unclosed_in",
        Lang::FlyQl,
        "a IN [b, c",
        ErrorKind::UnclosedList,
    ),
    (
        "flyql_in_missing_comma",
        Lang::FlyQl,
        "a IN [b c]",
        ErrorKind::UnclosedList,
    ),
    (
        "flyql_lookbehind",
        Lang::FlyQl,
        r#"a =~ "(?<=x)y""#,
        ErrorKind::InvalidRegex,
    ),
    (
        "flyql_regex_too_large",
        Lang::FlyQl,
        r"a =~ \w{9000}",
        ErrorKind::RegexTooLarge,
    ),
    (
        "flyql_invalid_date",
        Lang::FlyQl,
        "subject.created < 2018-13-01",
        ErrorKind::InvalidDateTime,
    ),
    (
        "flyql_too_deep",
        Lang::FlyQl,
        "NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT a EXISTS",
        ErrorKind::NestingTooDeep,
    ),
    (
        "flyql_tab_alignment",
        Lang::FlyQl,
        "\tsubject.age\t>>\t3",
        ErrorKind::UnknownOperator,
    ),
];

#[test]
fn every_error_kind_renders_with_a_caret() {
    let mut seen = std::collections::HashSet::new();
    for (name, lang, input, kind) in CASES {
        let err = match lang {
            Lang::Finder => parse_filter(input).map(|_| ()),
            Lang::Sort => parse_sort(input).map(|_| ()),
            Lang::FlyQl => parse_query(input).map(|_| ()),
        }
        .expect_err(name);
        assert_eq!(err.kind(), *kind, "{name}: {err}");
        assert!(err.offset() <= input.len(), "{name}");
        seen.insert(err.kind());
        insta::assert_snapshot!(*name, err.to_string(), input);
    }
    assert!(CASES.len() >= 30);
    // Every kind appears at least once.
    assert_eq!(seen.len(), 25, "kinds seen: {seen:?}");
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!("{}a = b{}", "(".repeat(100_000), ")".repeat(100_000));
    assert_eq!(
        parse_query(&deep).unwrap_err().kind(),
        ErrorKind::NestingTooDeep
    );
    let nots = format!("{}a EXISTS", "NOT ".repeat(100_000));
    assert_eq!(
        parse_query(&nots).unwrap_err().kind(),
        ErrorKind::NestingTooDeep
    );
}
