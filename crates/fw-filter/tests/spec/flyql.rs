use chrono::DateTime;
use fw_filter::flyql::{Conjunction, Factor, Literal, Query, Term, Test};
use fw_filter::{ErrorKind, parse_query};
use serde_json::{Value as Json, json};

use crate::{query_parses_to, verified_query};

fn term(src: &str) -> Term {
    let q = parse_query(src).unwrap_or_else(|e| panic!("{e}"));
    match q.any.as_slice() {
        [Conjunction { all }] => match all.as_slice() {
            [Factor::Term(t)] => t.clone(),
            other => panic!("{src}: {other:?}"),
        },
        other => panic!("{src}: {other:?}"),
    }
}

fn t(field: &str, test: Test) -> Factor {
    Factor::Term(Term {
        field: field.into(),
        test,
    })
}

fn st(s: &str) -> Literal {
    Literal::String(s.into())
}

fn and(all: Vec<Factor>) -> Conjunction {
    Conjunction { all }
}

// ----- B.1 tokens -----

#[test]
fn tokens() {
    // Unicode and backslashes in identifiers.
    let x = term(r"subject.code =~ ex\d+");
    assert!(matches!(x.test, Test::Match(ref p) if p.source() == r"ex\d+"));
    query_parses_to(r"subject.code =~ ex\d+", r#"subject.code =~ "ex\\d+""#);
    assert_eq!(term("étude.nom = café").test, Test::Eq(st("café")));
    // Quoted strings and their escapes.
    assert_eq!(
        term(r#"a = "x \"y\" \\ z\n""#).test,
        Test::Eq(st("x \"y\" \\ z\n"))
    );
    assert_eq!(term(r#""field \"name\"" = b"#).field, "field \"name\"");
    // Keywords only when all upper or all lower case.
    assert_eq!(term("a = And").test, Test::Eq(st("And")));
    assert_eq!(term("a = x").field, "a");
    assert!(parse_query("a = b and c = d").is_ok());
    assert!(parse_query("a = b AnD c = d").is_err());
    // Whitespace of any kind separates tokens.
    assert_eq!(term("a\t==\n b").test, Test::EqEq(st("b")));
    // Brackets are tokens: a phrase with them must be quoted.
    assert!(parse_query("subject.code =~ sub-0[12]").is_err());
    let x = term(r#"subject.code =~ "sub-0[12]""#);
    assert!(matches!(x.test, Test::Match(ref p) if p.source() == "sub-0[12]"));
}

#[test]
fn every_operator() {
    let table = [
        ("a = 1", Test::Eq(Literal::Number(1.0))),
        ("a == 1", Test::EqEq(Literal::Number(1.0))),
        ("a != 1", Test::Ne(Literal::Number(1.0))),
        ("a <> 1", Test::LtGt(Literal::Number(1.0))),
        ("a < 1", Test::Lt(Literal::Number(1.0))),
        ("a <= 1", Test::Le(Literal::Number(1.0))),
        ("a > 1", Test::Gt(Literal::Number(1.0))),
        ("a >= 1", Test::Ge(Literal::Number(1.0))),
        ("a IN [1, b]", Test::In(vec![Literal::Number(1.0), st("b")])),
        ("a EXISTS", Test::Exists),
    ];
    for (src, test) in table {
        verified_query(src);
        assert_eq!(term(src).test, test, "{src}");
    }
    for (src, op) in [
        ("a =~ x", "=~"),
        ("a !~ x", "!~"),
        ("a LIKE x", "LIKE"),
        ("a CONTAINS x", "CONTAINS"),
    ] {
        verified_query(src);
        assert_eq!(term(src).test.operator(), op);
    }
}

// ----- B.2 grammar and precedence -----

#[test]
fn precedence() {
    let q = parse_query("a == b or c < d and e =~ f").unwrap();
    assert_eq!(q.any.len(), 2);
    assert_eq!(q.any[0].all.len(), 1);
    assert_eq!(q.any[1].all.len(), 2);
    assert_eq!(q.to_string(), "a == b OR c < d AND e =~ f");

    let q = parse_query("not a == b or c == \"d\"").unwrap();
    assert_eq!(
        q,
        Query {
            any: vec![
                and(vec![Factor::Not(Box::new(t("a", Test::EqEq(st("b")))))]),
                and(vec![t("c", Test::EqEq(st("d")))]),
            ]
        }
    );
    let q = verified_query("NOT (subject.sex == male AND subject.age < 37)");
    assert!(matches!(&q.any[0].all[0], Factor::Not(inner) if matches!(**inner, Factor::Group(_))));
    // Parentheses are kept as written, even redundant ones.
    verified_query("((a = b))");
    verified_query("NOT NOT a EXISTS");
    verified_query("(a = b OR c = d) AND e = f");
}

#[test]
fn spec_examples_parse() {
    for src in [
        "project.label = \"Test Project\"",
        "acquisition.label = multi_echo",
        "session.age >= 0 AND session.age <= 2019686400 AND project.label = Sample AND file.classification.Measurement = T1",
        "file.info.Anatomy IN [Brain, Neck]",
        "subject.code LIKE \"patient 100?\"",
        "NOT subject.species EXISTS",
        "subject.created < 2018-01-15T12:03:15.001+06:00",
        "\"field \\\"name\\\"\" IN [a, b, \"another value\"]",
    ] {
        verified_query(src);
    }
    query_parses_to(
        "not (subject.sex == male and subject.age < 37)",
        "NOT (subject.sex == male AND subject.age < 37)",
    );
    query_parses_to(
        "project.label contains science",
        "project.label CONTAINS science",
    );
}

// ----- B.3 typing -----

#[test]
fn phrase_typing() {
    let when = DateTime::parse_from_rfc3339("2018-01-15T12:03:15.001+06:00").unwrap();
    let table = [
        ("a = true", Literal::Bool(true)),
        ("a = false", Literal::Bool(false)),
        ("a = TRUE", st("TRUE")),
        ("a = 32", Literal::Number(32.0)),
        ("a = -32", Literal::Number(-32.0)),
        ("a = 3.25", Literal::Number(3.25)),
        ("a = 2e3", st("2e3")),
        ("a = 1.", st("1.")),
        ("a = 2018-01-15T12:03:15.001+06:00", Literal::DateTime(when)),
        ("a = \"true\"", st("true")),
        ("a = \"32\"", st("32")),
        ("a = \"2018-01-15\"", st("2018-01-15")),
        ("a = null", st("null")),
    ];
    for (src, want) in table {
        assert_eq!(term(src).test, Test::Eq(want), "{src}");
    }
    // IN converts like =; LIKE, CONTAINS, =~ and !~ never convert.
    assert_eq!(
        term("subject.age IN [30, \"40\", x]").test,
        Test::In(vec![Literal::Number(30.0), st("40"), st("x")])
    );
    for src in ["a LIKE 32", "a CONTAINS 32", "a =~ 32", "a !~ 32"] {
        let x = term(src);
        let source = match &x.test {
            Test::Like(p) | Test::Contains(p) | Test::Match(p) | Test::NotMatch(p) => p.source(),
            other => panic!("{other:?}"),
        };
        assert_eq!(source, "32", "{src}");
    }
}

// ----- B.4 meaning -----

fn search_doc() -> Json {
    json!({
        "project": {"label": "Neuroscience Sample", "_id": "p1"},
        "subject": {"code": "patient 1001", "sex": "male", "age": 36, "species": null, "created": "2018-01-15T06:03:15Z"},
        "session": {"label": "baseline", "age": 946728000, "tags": ["qa", "T1"]},
        "file": {"name": "t1.nii.gz", "classification": {"Measurement": ["T1"], "Intent": ["Structural"]}, "info": {"Anatomy": "Brain"}},
    })
}

#[test]
fn evaluation_table() {
    let doc = search_doc();
    let table = [
        ("subject.sex = male", true),
        ("subject.sex == Male", false),
        ("subject.sex = mal", false),
        ("session.tags = qa", true),
        ("subject.age = 36", true),
        ("subject.age = \"36\"", false),
        ("subject.sex != female", true),
        ("subject.sex <> male", false),
        ("subject.missing != x", true),
        ("subject.age < 37", true),
        ("subject.age <= 36", true),
        ("subject.age > 36", false),
        ("subject.age >= 36", true),
        ("subject.missing < 1", false),
        ("session.age >= 0 AND session.age <= 2019686400", true),
        ("subject.created < 2018-01-15T12:03:15.001+06:00", true),
        ("subject.created > 2018-01-15", true),
        ("subject.code =~ patient", false),
        ("subject.code =~ \"patient \\\\d+\"", true),
        ("subject.code =~ \"PATIENT.*\"", false),
        ("subject.code !~ patient", true),
        ("subject.code !~ \"patient.*\"", false),
        ("file.info.Anatomy IN [Brain, Neck]", true),
        ("file.info.Anatomy IN [Neck]", false),
        ("subject.code LIKE \"patient 100?\"", true),
        ("subject.code LIKE \"patient 10?\"", false),
        ("subject.code LIKE \"pat%\"", true),
        ("subject.code LIKE \"pat*1\"", true),
        ("subject.code LIKE \"patient_1001\"", true),
        ("subject.code LIKE Patient%", false),
        ("project.label contains science", true),
        ("project.label CONTAINS SAMPLE", true),
        ("project.label CONTAINS xyz", false),
        ("subject.sex EXISTS", true),
        ("subject.species EXISTS", false),
        ("NOT subject.species EXISTS", true),
        ("file.classification.Measurement = T1", true),
        ("file.classification.Measurement = T2", false),
        ("not (subject.sex == male and subject.age < 37)", false),
        ("subject.sex == female or subject.age < 37", true),
        (
            "subject.sex == female or subject.age < 30 and subject.age > 1",
            false,
        ),
        (
            "(subject.sex == female or subject.age < 30) and subject.age > 1",
            false,
        ),
        ("file.name = a AND file.name = b", false),
    ];
    for (src, want) in table {
        let q = parse_query(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert_eq!(q.matches(&doc), want, "{src}");
    }
}

// ----- B.6 printing -----

#[test]
fn canonical_printing() {
    let table = [
        ("a  =   b", "a = b"),
        (
            "a = b and c = d or not e exists",
            "a = b AND c = d OR NOT e EXISTS",
        ),
        ("a in [1,2 , 3]", "a IN [1, 2, 3]"),
        ("a = \"plain\"", "a = plain"),
        ("\"a\" = b", "a = b"),
        ("a = \"with space\"", "a = \"with space\""),
        ("a = \"AND\"", "a = \"AND\""),
        ("a = \"and\"", "a = \"and\""),
        ("a = \"==\"", "a = \"==\""),
        ("a = \"\"", "a = \"\""),
        ("a = \"x,y\"", "a = \"x,y\""),
        ("a = \"it's\"", "a = \"it's\""),
        ("a = \"32\"", "a = \"32\""),
        ("a = \"true\"", "a = \"true\""),
        ("a = \"2018-01-15\"", "a = \"2018-01-15\""),
        ("a = 2018-01-15", "a = 2018-01-15T00:00:00Z"),
        ("a = 32.50", "a = 32.5"),
        ("\"with space\" EXISTS", "\"with space\" EXISTS"),
        ("a LIKE \"32\"", "a LIKE 32"),
    ];
    for (src, canonical) in table {
        query_parses_to(src, canonical);
    }
}

// ----- JSON form -----

#[test]
fn ast_json_form_is_stable() {
    let q = parse_query("a == 1 OR NOT (b LIKE x%)").unwrap();
    let json = serde_json::to_value(&q).unwrap();
    assert_eq!(
        json,
        json!({"or": [
            {"and": [{"term": {"field": "a", "op": "==", "value": {"type": "number", "value": 1.0}}}]},
            {"and": [{"not": {"group": {"or": [{"and": [{"term": {"field": "b", "op": "LIKE", "value": "x%"}}]}]}}}]},
        ]})
    );
    assert_eq!(serde_json::from_value::<Query>(json).unwrap(), q);
    assert!(serde_json::from_value::<Query>(json!({"or": []})).is_err());
}

#[test]
fn errors_have_the_documented_kinds() {
    assert_eq!(
        parse_query("a==b").unwrap_err().kind(),
        ErrorKind::ExpectedOperator
    );
    let e = parse_query("a\n >> some_text").unwrap_err();
    assert_eq!(
        (e.kind(), e.line(), e.column(), e.offset()),
        (ErrorKind::UnknownOperator, 2, 2, 3)
    );
    assert_eq!(e.message(), "unknown operator '>>'");
}
