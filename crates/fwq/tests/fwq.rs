#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on broken fixtures
//! `fwq` run as a user runs it: a real process, stdin, stdout, exit codes. The binary is the
//! one cargo built for this test (`CARGO_BIN_EXE_fwq`), so the tests build nothing.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn fwq(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fwq"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fwq starts");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    std::fs::read(root.join(name)).unwrap()
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

#[test]
fn filters_lines_unchanged() {
    let input = b"{\"label\": \"rest_1\",  \"age\": 25}\n{\"label\":\"rest_2\",\"age\":40}\n\n{\"label\":\"task\",\"age\":20}\n";
    let out = fwq(&["label=~rest,age<30"], input);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "{\"label\": \"rest_1\",  \"age\": 25}\n");
    let out = fwq(&["label=none"], input);
    assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0));
}

#[test]
fn filters_the_fixtures_like_the_library() {
    let docs = fixture("containers.jsonl");
    let filter = "container_type=session,info.scanner=Prisma,age<1577880000";
    let out = fwq(&[filter], &docs);
    assert_eq!(out.status.code(), Some(0));
    let parsed = fw_filter::parse_filter(filter).unwrap();
    let expected: Vec<&str> = text(&docs)
        .lines()
        .filter(|l| parsed.matches(&serde_json::from_str(l).unwrap()))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(text(&out.stdout).lines().collect::<Vec<_>>(), expected);

    let out = fwq(
        &[
            "--flyql",
            "file.classification.Measurement = T1 AND subject.sex = female",
        ],
        &fixture("search-docs.jsonl"),
    );
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<&str> = text(&out.stdout).lines().collect();
    assert!(!lines.is_empty());
    assert!(
        lines
            .iter()
            .all(|l| l.contains("\"T1\"") && l.contains("\"female\""))
    );
}

#[test]
fn prints_canonical_forms_and_asts() {
    let out = fwq(&["--print", "created>2018-10-31,label=\"1001\""], b"");
    assert_eq!(
        text(&out.stdout),
        "created>2018-10-31T00:00:00Z,label=\"1001\"\n"
    );
    let out = fwq(&["--flyql", "--print", "not (a == b and c < 3)"], b"");
    assert_eq!(text(&out.stdout), "NOT (a == b AND c < 3)\n");
    let out = fwq(&["--ast", "age<30"], b"");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["conditions"][0]["op"], "<");
    let out = fwq(&["--flyql", "--ast", "a EXISTS"], b"");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["or"][0]["and"][0]["term"]["op"], "EXISTS");
}

#[test]
fn bad_expressions_and_bad_lines_exit_2() {
    let out = fwq(&["--flyql", "a\n >> b"], b"");
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("unknown operator '>>' at line 2, column 2"),
        "{err}"
    );
    assert!(err.contains("  |  ^"), "{err}");

    let out = fwq(&["a=1"], b"{\"a\":1}\n{\"a\":\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("stdin line 2 is not JSON"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn warns_on_lints_and_still_filters() {
    let out = fwq(&["age<<30"], b"{\"age\": 25}\n");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        "warning: condition 1: the value of \"age\" after < begins with the operator \
         character '<': `age<<30` compares with the text \"<30\"; was the operator typed twice?\n"
    );
}
