use chrono::{DateTime, FixedOffset};
use fw_filter::finder::Test;
use fw_filter::{ErrorKind, ObjectId, Value, parse_filter};
use serde_json::{Value as Json, json};

use crate::{parses_to, verified};

fn dt(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

fn only_test(src: &str) -> (String, Test) {
    let mut f = parse_filter(src).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(f.conditions.len(), 1, "{src}");
    let c = f.conditions.remove(0);
    (c.key, c.test)
}

fn s(text: &str) -> Value {
    Value::String(text.into())
}

// ----- A.1 grammar -----

#[test]
fn every_operator() {
    let table = [
        ("a=1", Test::Eq(Value::Number(1.0))),
        ("a!=1", Test::Ne(Value::Number(1.0))),
        ("a<1", Test::Lt(Value::Number(1.0))),
        ("a<=1", Test::Le(Value::Number(1.0))),
        ("a>1", Test::Gt(Value::Number(1.0))),
        ("a>=1", Test::Ge(Value::Number(1.0))),
        ("a=|[1,x]", Test::In(vec![Value::Number(1.0), s("x")])),
    ];
    for (src, test) in table {
        verified(src);
        assert_eq!(only_test(src), ("a".to_string(), test), "{src}");
    }
    let (_, test) = only_test("a=~x.*");
    assert!(matches!(test, Test::Regex(ref p) if p.source() == "x.*"));
}

#[test]
fn operator_detection_takes_the_first_and_longest() {
    let table = [
        (
            "info.url=http://x?a=b",
            "info.url",
            Test::Eq(s("http://x?a=b")),
        ),
        ("a=<5", "a", Test::Eq(s("<5"))),
        ("a<=>5", "a", Test::Le(s(">5"))),
        ("a>=b=c", "a", Test::Ge(s("b=c"))),
    ];
    for (src, key, test) in table {
        assert_eq!(only_test(src), (key.to_string(), test), "{src}");
    }
    assert_eq!(
        parse_filter("a=|x").unwrap_err().kind(),
        ErrorKind::ExpectedList
    );
}

#[test]
fn escapes_and_backslashes() {
    assert_eq!(
        only_test(r"label=a\,b"),
        ("label".into(), Test::Eq(s("a,b")))
    );
    verified(r"label=a\,b");
    let (_, test) = only_test(r"subject.code=~\d+");
    assert!(matches!(test, Test::Regex(ref p) if p.source() == r"\d+"));
    verified(r"subject.code=~\d+");
    assert_eq!(only_test(r"a=x\y"), ("a".into(), Test::Eq(s(r"x\y"))));
    // A backslash before a backslash is kept; the second one escapes the comma.
    assert_eq!(only_test(r"a=x\\,y"), ("a".into(), Test::Eq(s(r"x\,y"))));
    verified(r"a=x\\,y");
    // Commas inside a list split items unless escaped; \] is a literal bracket.
    assert_eq!(
        only_test(r"a=|[x\,y,z\]]"),
        ("a".into(), Test::In(vec![s("x,y"), s("z]")]))
    );
    verified(r"a=|[x\,y,z\]]");
}

#[test]
fn spaces_are_significant() {
    assert_eq!(only_test("label = x"), ("label ".into(), Test::Eq(s(" x"))));
    verified("label = x");
    assert_eq!(only_test("label=a b"), ("label".into(), Test::Eq(s("a b"))));
    assert_eq!(
        only_test("a=|[ x, y ]"),
        ("a".into(), Test::In(vec![s(" x"), s(" y ")]))
    );
}

#[test]
fn empty_value_is_the_empty_string() {
    assert_eq!(only_test("label="), ("label".into(), Test::Eq(s(""))));
    verified("label=");
    parses_to("label=\"\"", "label=");
    verified("a=,b=");
}

#[test]
fn conditions_are_joined_by_commas() {
    let f = verified("label>a,label<c");
    assert_eq!(f.conditions.len(), 2);
    let f = verified("a=1,b=|[1,2],c=~x");
    assert_eq!(f.conditions.len(), 3);
}

#[test]
fn spec_examples_parse() {
    for src in [
        "label=~resting.*,age<30",
        "age<30,sex=male",
        "info.custom_info_field=value",
        "parents.project=5ebd4ff8bfda5102856aa084,label=BOLD_task",
        "group=scien,label=cmrr_deid",
        "label=~.*baseline",
        "label=\"1001\"",
        "uid=null",
        "label>a,label<c",
        "state=|[running,pending]",
        "gear_info.name=~fmriprep|qsiprep",
        r"label=a\,b",
    ] {
        verified(src);
    }
    parses_to("created>2018-10-31", "created>2018-10-31T00:00:00Z");
    parses_to(
        "modified>=2019-08-07,modified<=2020-08-07",
        "modified>=2019-08-07T00:00:00Z,modified<=2020-08-07T00:00:00Z",
    );
}

// ----- A.2 value typing -----

#[test]
fn value_typing_table() {
    let id = ObjectId::parse("5ebd4ff8bfda5102856aa084").unwrap();
    let table = [
        // row 1: quotes force a string
        ("label=\"1001\"", Value::String("1001".into())),
        ("label=\"null\"", Value::String("null".into())),
        ("label=\"a", Value::String("\"a".into())),
        ("label=\"", Value::String("\"".into())),
        // row 2: ObjectId
        ("x=5ebd4ff8bfda5102856aa084", Value::ObjectId(id)),
        ("x=5EBD4FF8BFDA5102856AA084", s("5EBD4FF8BFDA5102856AA084")),
        ("x=5ebd4ff8bfda5102856aa08", s("5ebd4ff8bfda5102856aa08")),
        // row 3: datetimes, UTC without an offset
        ("x=2018-10-31", Value::DateTime(dt("2018-10-31T00:00:00Z"))),
        (
            "x=2018-10-31T12:03",
            Value::DateTime(dt("2018-10-31T12:03:00Z")),
        ),
        (
            "x=2018-10-31T12:03:15.001+06:00",
            Value::DateTime(dt("2018-10-31T12:03:15.001+06:00")),
        ),
        (
            "x=2018-10-31T12:03:15.123456789Z",
            Value::DateTime(dt("2018-10-31T12:03:15.123456789Z")),
        ),
        ("x=2018-10-31 12:03", s("2018-10-31 12:03")),
        // rows 4-5
        ("x=null", Value::Null),
        ("x=true", Value::Bool(true)),
        ("x=false", Value::Bool(false)),
        ("x=True", s("True")),
        ("x=NULL", s("NULL")),
        // row 6: numbers
        ("x=1001", Value::Number(1001.0)),
        ("x=-2.5", Value::Number(-2.5)),
        ("x=2e3", Value::Number(2000.0)),
        ("x=1.5E-2", Value::Number(0.015)),
        ("x=nan", s("nan")),
        ("x=inf", s("inf")),
        ("x=+7", s("+7")),
        ("x= 42 ", s(" 42 ")),
        ("x=1e400", s("1e400")),
        ("x=1.", s("1.")),
        // row 7
        ("x=male", s("male")),
        // row 0: a regex is never converted
    ];
    for (src, want) in table {
        assert_eq!(only_test(src).1, Test::Eq(want), "{src}");
    }
    let (_, test) = only_test("x=~1001");
    assert!(matches!(test, Test::Regex(ref p) if p.source() == "1001"));
    // List items are typed one by one.
    assert_eq!(
        only_test("x=|[1,a,null,\"2\",2018-01-01]").1,
        Test::In(vec![
            Value::Number(1.0),
            s("a"),
            Value::Null,
            s("2"),
            Value::DateTime(dt("2018-01-01T00:00:00Z")),
        ])
    );
}

// ----- A.3 meaning -----

fn doc() -> Json {
    json!({
        "_id": "5ebd4ff8bfda5102856aa084",
        "label": "resting_state",
        "code": "1001",
        "age": 25.0,
        "count": 3,
        "sex": "male",
        "flag": true,
        "uid": null,
        "tags": ["a", "b"],
        "scores": [1, 5, 9],
        "created": "2018-10-31T12:00:00+02:00",
        "naive": "2018-10-31T10:00:00",
        "parents": {"project": "5ebd4ff8bfda5102856aa001", "group": "scien"},
        "info": {"a": {"b": "deep"}, "n": [{"v": 1}, {"v": 2}]},
        "files": [{"name": "x.nii", "type": "nifti"}, {"name": "y.dcm", "type": "dicom"}],
    })
}

#[test]
fn evaluation_table() {
    let doc = doc();
    let table = [
        // = : equality, no cross-type, arrays, null and missing
        ("label=resting_state", true),
        ("label=resting", false),
        ("code=1001", false),
        ("code=\"1001\"", true),
        ("age=25", true),
        ("count=3.0", true),
        ("flag=true", true),
        ("flag=\"true\"", false),
        ("tags=a", true),
        ("tags=c", false),
        ("uid=null", true),
        ("missing=null", true),
        ("label=null", false),
        ("_id=5ebd4ff8bfda5102856aa084", true),
        ("created=2018-10-31T10:00:00Z", true),
        ("created=2018-10-31T10:00:00+00:00", true),
        ("created=2018-10-31", false),
        ("naive=2018-10-31T10:00", true),
        // != : also when missing; arrays: no element equal
        ("label!=x", true),
        ("label!=resting_state", false),
        ("missing!=x", true),
        ("tags!=a", false),
        ("tags!=c", true),
        ("uid!=null", false),
        // ordering: same type only, any array element
        ("age<30", true),
        ("age<25", false),
        ("age<=25", true),
        ("age>=25", true),
        ("age>25", false),
        ("label>a", true),
        ("label<c", false),
        ("label>r,label<s", true),
        ("code<2", false),
        ("code<\"2\"", true),
        ("missing<1", false),
        ("scores>8", true),
        ("scores<1", false),
        ("created>2018-10-31", true),
        ("created<2018-10-31T10:00:01Z", true),
        ("created>2018-10-31T11:59:59+02:00", true),
        ("created>=2018-10-31T10:00Z", true),
        ("naive>2018-10-31T09:59Z", true),
        ("label<2018-10-31", false),
        // =~ : unanchored, case-sensitive, inline flags
        ("label=~rest", true),
        ("label=~state$", true),
        ("label=~^state", false),
        ("label=~REST", false),
        ("label=~(?i)REST", true),
        ("tags=~^b$", true),
        ("age=~25", false),
        // =| : any item, any element
        ("sex=|[female,male]", true),
        ("sex=|[female,other]", false),
        ("tags=|[x,b]", true),
        ("age=|[\"25\",25]", true),
        ("missing=|[x,null]", true),
        // , : every condition, even repeated ones
        ("age<30,sex=male", true),
        ("age<30,sex=female", false),
        ("label=~rest,label=~zzz", false),
        // dotted paths through objects and arrays
        ("info.a.b=deep", true),
        ("info.n.v=2", true),
        ("info.n.v=3", false),
        ("files.name=x.nii", true),
        ("files.type=|[dicom]", true),
        ("files.0.type=dicom", false),
        ("files.1.type=dicom", true),
        // parent shorthand
        ("project=5ebd4ff8bfda5102856aa001", true),
        ("group=scien", true),
        ("parents.group=scien", true),
        ("subject=null", true),
    ];
    for (src, want) in table {
        let f = parse_filter(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert_eq!(f.matches(&doc), want, "{src}");
    }
}

// ----- A.5 canonical printing -----

#[test]
fn canonical_printing() {
    let table = [
        ("label=\"abc\"", "label=abc"),
        ("age<30.0", "age<30"),
        ("a=2E3", "a=2000"),
        ("a=-0.50", "a=-0.5"),
        ("a=1.14425817508086480e23", "a=1.1442581750808648e23"),
        (
            "created>2018-10-31T12:03:15.100+06:00",
            "created>2018-10-31T12:03:15.1+06:00",
        ),
        ("x=|[\"a\",\"1\"]", "x=|[a,\"1\"]"),
        (r#"x="a\,b""#, r"x=a\,b"),
        ("x=\"a\\\"", "x=\"a\\\""),
    ];
    for (src, canonical) in table {
        parses_to(src, canonical);
    }
    for canonical in [
        "label=\"1001\"",
        "label=\"null\"",
        "label=\"true\"",
        "label=\"2018-10-31\"",
        "label=\"2018-02-30\"",
        "label=\"5ebd4ff8bfda5102856aa084\"",
        "label=\"\"x\"\"",
        "x=|[a,\"\",b]",
        "x=1e400",
        "x>\"=\"",
        "x=\"~a\"",
        "x=\"|a\"",
    ] {
        verified(canonical);
    }
}

#[test]
fn regex_ending_in_a_backslash() {
    // Last: printed exactly.
    let f = verified(r"a=1,b=~x\\");
    assert!(matches!(&f.conditions[1].test, Test::Regex(p) if p.source() == r"x\\"));
    // Followed by another condition: `\\,` would read as a literal comma, so the printer
    // wraps the regex in a group that matches the same strings.
    let ast = fw_filter::Filter {
        conditions: vec![f.conditions[1].clone(), f.conditions[0].clone()],
    };
    let printed = ast.to_string();
    assert_eq!(printed, r"b=~(?:x\\),a=1");
    let back = parse_filter(&printed).unwrap();
    assert_eq!(back.conditions.len(), 2);
    let doc = json!({"a": 1, "b": "ends with x\\"});
    assert!(ast.matches(&doc) && back.matches(&doc));
}

// ----- lints -----

#[test]
fn lints_warn_without_failing() {
    let f = parse_filter("label =x,age<30,age<40,sex= male").unwrap();
    let lints: Vec<(usize, bool)> = f
        .lints()
        .iter()
        .map(|l| (l.condition, l.message.contains("space")))
        .collect();
    assert_eq!(lints, vec![(0, true), (2, false), (3, true)]);
    assert!(parse_filter("label=x,age<30").unwrap().lints().is_empty());
}

/// The lints of `src`, as (condition index, message).
fn lints_of(src: &str) -> Vec<(usize, String)> {
    parse_filter(src)
        .unwrap()
        .lints()
        .into_iter()
        .map(|l| (l.condition, l.message))
        .collect()
}

#[test]
fn lints_warn_on_a_value_that_begins_with_an_operator_character() {
    assert_eq!(
        lints_of("age<<30"),
        vec![(
            0,
            "the value of \"age\" after < begins with the operator character '<': \
             `age<<30` compares with the text \"<30\"; was the operator typed twice?"
                .to_string()
        )]
    );
    // Every operator character, after every operator; list items and patterns too.
    for (src, condition, ch) in [
        ("label=x,age>>30", 1, '>'),
        ("age<==30", 0, '='),
        ("label=>x", 0, '>'),
        ("label!=!x", 0, '!'),
        ("label=~~x", 0, '~'),
        ("label!=|x", 0, '|'),
        ("state=|[running,<pending]", 0, '<'),
        ("label=~=x", 0, '='),
    ] {
        let lints = lints_of(src);
        assert_eq!(lints.len(), 1, "{src}: {lints:?}");
        assert_eq!(lints[0].0, condition, "{src}");
        assert!(
            lints[0].1.contains(&format!("operator character '{ch}'")),
            "{src}: {}",
            lints[0].1
        );
    }
    // Operator characters later in the value are ordinary text.
    assert!(lints_of("info.url=http://x?a=b,label=a<b,x=~a|b").is_empty());
}

#[test]
fn lints_warn_on_an_empty_value_after_an_ordering_operator() {
    for op in ["<", "<=", ">", ">="] {
        let lints = lints_of(&format!("label=x,age{op}"));
        assert_eq!(lints.len(), 1, "{op}: {lints:?}");
        assert_eq!(lints[0].0, 1);
        assert_eq!(
            lints[0].1,
            format!(
                "the value of \"age\" after {op} is empty: only a string sorts against the \
                 empty text, so numbers and dates never match; was the value left out?"
            )
        );
    }
    // `label=` is how a filter asks for the empty string: no lint.
    assert!(lints_of("label=,label!=").is_empty());
}

// ----- JSON form of the AST -----

#[test]
fn ast_json_form_is_stable() {
    let f =
        parse_filter("label=~rest,age<30,x=|[null,true],_id=5ebd4ff8bfda5102856aa084,t>2018-10-31")
            .unwrap();
    let json = serde_json::to_value(&f).unwrap();
    assert_eq!(
        json,
        json!({"conditions": [
            {"key": "label", "op": "=~", "value": "rest"},
            {"key": "age", "op": "<", "value": {"type": "number", "value": 30.0}},
            {"key": "x", "op": "=|", "value": [{"type": "null"}, {"type": "bool", "value": true}]},
            {"key": "_id", "op": "=", "value": {"type": "object_id", "value": "5ebd4ff8bfda5102856aa084"}},
            {"key": "t", "op": ">", "value": {"type": "date_time", "value": "2018-10-31T00:00:00Z"}},
        ]})
    );
    let back: fw_filter::Filter = serde_json::from_value(json).unwrap();
    assert_eq!(back, f);
}
