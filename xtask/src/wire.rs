//! `cargo xtask wire`: wire equivalence of fw-sdk with the official Python SDK.
//!
//! The same Quick Reference walkthrough runs twice, each time against a fresh fw-server
//! recording every request (`serve --record-requests`): once through flywheel-sdk 23.0.0
//! (`xtask/wire/walkthrough.py`), once through fw-sdk
//! (`crates/fw-sdk/examples/walkthrough.rs`). The two recordings are normalised (ids the
//! walkthroughs made become their names, other random ids and the current time become
//! placeholders), aligned as a longest common subsequence, and every difference must match
//! a rule of the table in `crates/fw-sdk/WIRE.md`, the same table the crate docs show.
//! Anything else fails the run.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::{Map, Value};

/// One recorded request: `{"method", "path", "query", "body"}`.
pub(crate) type Record = Value;

/// Runs both walkthroughs and compares what they sent.
pub(crate) fn run(root: &Path, python: &Path) -> Result<(), String> {
    let server = crate::built_binary("fw-server")?;
    let walkthrough = crate::built_binary("examples/walkthrough")?;
    let mut python_side = Command::new(python);
    python_side.arg(root.join("xtask/wire/walkthrough.py"));
    let rust_side = Command::new(walkthrough);
    let python_run = record(&server, "python", python_side)?;
    let rust_run = record(&server, "fw-sdk", rust_side)?;

    let wire_md = root.join("crates/fw-sdk/WIRE.md");
    let text = std::fs::read_to_string(&wire_md)
        .map_err(|e| format!("cannot read {}: {e}", wire_md.display()))?;
    let rules = parse_rules(&text)?;
    let python = normalise(&python_run.records, &python_run.ids);
    let rust = normalise(&rust_run.records, &rust_run.ids);
    let report = compare(&python, &rust, &rules);
    eprintln!(
        "xtask: wire equivalence: {} requests from Python, {} from fw-sdk, {} identical",
        python.len(),
        rust.len(),
        report.identical
    );
    for (difference, rule) in &report.justified {
        eprintln!("xtask:   justified by {rule}: {difference}");
    }
    if report.unjustified.is_empty() {
        return Ok(());
    }
    for difference in &report.unjustified {
        eprintln!("xtask:   NOT JUSTIFIED: {difference}");
    }
    Err(format!(
        "{} difference(s) between the Python SDK and fw-sdk are not in the table of {}; \
         fix fw-sdk, or add a justified rule there",
        report.unjustified.len(),
        wire_md.display()
    ))
}

/// What one walkthrough sent, and the ids it named.
struct Run {
    records: Vec<Record>,
    ids: BTreeMap<String, String>,
}

/// Runs one walkthrough (`command API_KEY IDS_FILE`) against a fresh recording server.
fn record(server: &Path, side: &str, mut command: Command) -> Result<Run, String> {
    let dir = std::env::temp_dir().join(format!("fw-wire-{side}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let data_dir = dir.join("data");
    let requests = dir.join("requests.jsonl");
    let ids_file = dir.join("ids.json");
    crate::run(
        Command::new(server)
            .args(["user", "add", "--create", "--data-dir"])
            .arg(&data_dir)
            .args([
                "--id",
                "bob@x.org",
                "--firstname",
                "Bob",
                "--lastname",
                "Smith",
            ])
            .stdout(std::process::Stdio::null()),
    )?;
    let flags = [
        "--record-requests".to_string(),
        requests.display().to_string(),
    ];
    let running = crate::Server::start(server, &data_dir, &flags)?;
    let result = crate::run(command.arg(&running.api_key).arg(&ids_file));
    drop(running);
    result.map_err(|e| format!("the {side} walkthrough failed: {e}"))?;
    let text = std::fs::read_to_string(&requests)
        .map_err(|e| format!("cannot read {}: {e}", requests.display()))?;
    let records = text
        .lines()
        .map(|line| serde_json::from_str(line).map_err(|e| format!("{}: {e}", requests.display())))
        .collect::<Result<Vec<Record>, String>>()?;
    let ids_text = std::fs::read_to_string(&ids_file)
        .map_err(|e| format!("cannot read {}: {e}", ids_file.display()))?;
    let ids: BTreeMap<String, String> =
        serde_json::from_str(&ids_text).map_err(|e| format!("{}: {e}", ids_file.display()))?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Run { records, ids })
}

/// Replaces what differs between two runs by chance: each id the walkthrough named
/// becomes `<name>`; any other ObjectId or UUID becomes `<oid N>` / `<uuid N>` by order of
/// first appearance; a date-time within two days of now becomes `<now>`. Applies to
/// paths, query values, body values and object keys alike.
pub(crate) fn normalise(records: &[Record], ids: &BTreeMap<String, String>) -> Vec<Record> {
    let mut names: BTreeMap<String, String> = ids
        .iter()
        .map(|(name, id)| (id.clone(), format!("<{name}>")))
        .collect();
    let mut counters = (0, 0);
    let now = chrono::Utc::now();
    let mut text = |s: &str| -> String {
        replace_tokens(s, &mut |token| {
            if let Some(name) = names.get(token) {
                return Some(name.clone());
            }
            let placeholder = if is_object_id(token) {
                counters.0 += 1;
                format!("<oid {}>", counters.0)
            } else if is_uuid(token) {
                counters.1 += 1;
                format!("<uuid {}>", counters.1)
            } else if chrono::DateTime::parse_from_rfc3339(token)
                .is_ok_and(|t| (t.with_timezone(&chrono::Utc) - now).num_hours().abs() < 48)
            {
                return Some("<now>".to_string());
            } else {
                return None;
            };
            names.insert(token.to_string(), placeholder.clone());
            Some(placeholder)
        })
    };
    records
        .iter()
        .map(|record| map_strings(record, &mut text))
        .collect()
}

/// Every string and object key of `value`, passed through `f`.
fn map_strings(value: &Value, f: &mut dyn FnMut(&str) -> String) -> Value {
    match value {
        Value::String(s) => Value::String(f(s)),
        Value::Array(items) => Value::Array(items.iter().map(|v| map_strings(v, f)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (f(k), map_strings(v, f)))
                .collect::<Map<String, Value>>(),
        ),
        other => other.clone(),
    }
}

/// Splits `s` into tokens of id-like characters (hex digits, `-`, `:`, `+`, `.`, letters,
/// digits) at `/`, `,`, spaces, `=` and quotes, and replaces each token `f` maps.
fn replace_tokens(s: &str, f: &mut dyn FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut token = String::new();
    let mut flush = |token: &mut String, out: &mut String| {
        if !token.is_empty() {
            match f(token) {
                Some(replacement) => out.push_str(&replacement),
                None => out.push_str(token),
            }
            token.clear();
        }
    };
    for c in s.chars() {
        if matches!(
            c,
            '/' | ',' | ' ' | '=' | '"' | '\'' | '<' | '>' | '(' | ')' | '[' | ']' | '&' | '?'
        ) {
            flush(&mut token, &mut out);
            out.push(c);
        } else {
            token.push(c);
        }
    }
    flush(&mut token, &mut out);
    out
}

fn is_object_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A justified difference: a row of the table in WIRE.md.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rule {
    /// The rule's name, the first column.
    pub(crate) name: String,
    /// Which side alone sends the request.
    pub(crate) only_in: Side,
    /// The method.
    pub(crate) method: String,
    /// The path, where `*` matches any run of characters.
    pub(crate) path: String,
    /// Query parameters the request must have.
    pub(crate) query_keys: Vec<String>,
    /// The request must continue the listing sent just before it on the same side: same
    /// method, path and query but for `after_id` or `page`.
    pub(crate) continues: bool,
}

/// One of the two walkthroughs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Side {
    /// The official Python SDK.
    Python,
    /// fw-sdk.
    Rust,
}

/// Reads the rules from the table of WIRE.md whose header starts with `| Rule |`:
/// `| \`name\` | Python or fw-sdk | \`METHOD PATH [?key&key] [(continues)]\` | why |`.
pub(crate) fn parse_rules(markdown: &str) -> Result<Vec<Rule>, String> {
    let mut rules = Vec::new();
    let mut in_table = false;
    for line in markdown.lines() {
        let line = line.trim();
        if line.starts_with("| Rule |") {
            in_table = true;
            continue;
        }
        if !in_table || line.starts_with("|--") || line.starts_with("| --") {
            continue;
        }
        if !line.starts_with('|') {
            in_table = false;
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let [name, side, request, why, ..] = cells.as_slice() else {
            return Err(format!("WIRE.md: a rule row needs 4 cells: {line}"));
        };
        if why.is_empty() {
            return Err(format!("WIRE.md: rule {name} gives no reason"));
        }
        let only_in = match *side {
            "Python" => Side::Python,
            "fw-sdk" => Side::Rust,
            other => {
                return Err(format!(
                    "WIRE.md: rule {name}: side {other:?} is not Python or fw-sdk"
                ));
            }
        };
        let pattern = request.split('`').nth(1).ok_or(format!(
            "WIRE.md: rule {name}: the request pattern must be in backquotes"
        ))?;
        let mut words = pattern.split_whitespace();
        let (Some(method), Some(path)) = (words.next(), words.next()) else {
            return Err(format!("WIRE.md: rule {name}: expected `METHOD PATH …`"));
        };
        let mut rule = Rule {
            name: name.trim_matches('`').to_string(),
            only_in,
            method: method.to_string(),
            path: path.to_string(),
            query_keys: Vec::new(),
            continues: false,
        };
        for word in words {
            match word {
                "(continues)" => rule.continues = true,
                keys if keys.starts_with('?') => {
                    rule.query_keys = keys[1..].split('&').map(str::to_string).collect();
                }
                other => return Err(format!("WIRE.md: rule {name}: unknown word {other:?}")),
            }
        }
        rules.push(rule);
    }
    if rules.is_empty() {
        return Err("WIRE.md has no `| Rule |` table".into());
    }
    Ok(rules)
}

/// The outcome of a comparison.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// Requests sent alike by both.
    pub(crate) identical: usize,
    /// Differences and the rule that justifies each.
    pub(crate) justified: Vec<(String, String)>,
    /// Differences no rule covers.
    pub(crate) unjustified: Vec<String>,
}

/// Aligns the two lists (longest common subsequence of whole records) and sorts each
/// request sent by one side only into justified or not.
pub(crate) fn compare(python: &[Record], rust: &[Record], rules: &[Rule]) -> Report {
    let (n, m) = (python.len(), rust.len());
    // lcs[i][j]: the longest common subsequence of python[i..] and rust[j..].
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if python[i] == rust[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut report = Report::default();
    let mut judge = |side: Side, list: &[Record], index: usize| {
        let record = &list[index];
        let shown = format!("{} only (#{}): {}", side.name(), index + 1, record);
        match rules.iter().find(|rule| rule.justifies(side, list, index)) {
            Some(rule) => report.justified.push((shown, rule.name.clone())),
            None => report.unjustified.push(shown),
        }
    };
    let (mut i, mut j) = (0, 0);
    let mut identical = 0;
    while i < n || j < m {
        if i < n && j < m && python[i] == rust[j] {
            identical += 1;
            i += 1;
            j += 1;
        } else if j == m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1]) {
            judge(Side::Python, python, i);
            i += 1;
        } else {
            judge(Side::Rust, rust, j);
            j += 1;
        }
    }
    report.identical = identical;
    report
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Python => "Python",
            Side::Rust => "fw-sdk",
        }
    }
}

impl Rule {
    /// Whether this rule covers `list[index]`, sent only by `side`.
    fn justifies(&self, side: Side, list: &[Record], index: usize) -> bool {
        let record = &list[index];
        let text = |v: &Value, key: &str| v[key].as_str().unwrap_or_default().to_string();
        if side != self.only_in
            || text(record, "method") != self.method
            || !glob(&self.path, &text(record, "path"))
        {
            return false;
        }
        let query = record["query"].as_object();
        if !self
            .query_keys
            .iter()
            .all(|key| query.is_some_and(|q| q.contains_key(key)))
        {
            return false;
        }
        if self.continues {
            let Some(previous) = index.checked_sub(1).map(|p| &list[p]) else {
                return false;
            };
            let without_cursor = |v: &Value| {
                let mut query = v["query"].clone();
                if let Some(map) = query.as_object_mut() {
                    map.remove("after_id");
                    map.remove("page");
                }
                (text(v, "method"), text(v, "path"), query)
            };
            return without_cursor(previous) == without_cursor(record);
        }
        true
    }
}

/// `pattern` with `*` matching any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.starts_with(head)
                && (head.len()..=text.len())
                    .any(|start| text.is_char_boundary(start) && glob(tail, &text[start..]))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn get(path: &str, query: Value) -> Record {
        json!({"method": "GET", "path": path, "query": query, "body": null})
    }

    const TABLE: &str = "intro\n\n| Rule | Sent only by | Request | Why |\n|---|---|---|---|\n\
        | `last-page` | Python | `GET /api/* ?after_id (continues)` | the pager stops early |\n\
        | `extra` | fw-sdk | `POST /api/lookup` | because |\n\nafter\n";

    #[test]
    fn rules_are_read_from_the_table() {
        let rules = parse_rules(TABLE).unwrap();
        assert_eq!(
            rules,
            [
                Rule {
                    name: "last-page".into(),
                    only_in: Side::Python,
                    method: "GET".into(),
                    path: "/api/*".into(),
                    query_keys: vec!["after_id".into()],
                    continues: true,
                },
                Rule {
                    name: "extra".into(),
                    only_in: Side::Rust,
                    method: "POST".into(),
                    path: "/api/lookup".into(),
                    query_keys: vec![],
                    continues: false,
                },
            ]
        );
        assert!(parse_rules("no table").is_err());
        assert!(parse_rules("| Rule | a | b | c |\n|---|\n| `x` | Ruby | `GET /` | y |").is_err());
        assert!(parse_rules("| Rule | a | b | c |\n|---|\n| `x` | Python | GET / | y |").is_err());
    }

    #[test]
    fn ids_named_by_the_walkthrough_and_others_are_normalised() {
        let ids = BTreeMap::from([(
            "project".to_string(),
            "6b0d21c9465b26fc87000000".to_string(),
        )]);
        let records = [
            json!({"method": "POST", "path": "/api/projects/6b0d21c9465b26fc87000000/notes/6b0d21ca465b26fc87000007",
                   "query": {"after_id": "6b0d21ca465b26fc87000007"},
                   "body": {"6b0d21c9465b26fc87000000": ["1c8e4c7e-58b1-4b4e-9a4c-0d3b1f2a9e11", "2024-05-06T07:08:09+00:00"],
                            "when": chrono::Utc::now().to_rfc3339(), "role": "000000000000000000000a03 x"}}),
        ];
        assert_eq!(
            normalise(&records, &ids),
            [
                // Numbered in the order keys serialise (body, method, path, query): the same
                // order on both sides.
                json!({"method": "POST", "path": "/api/projects/<project>/notes/<oid 2>",
                    "query": {"after_id": "<oid 2>"},
                    "body": {"<project>": ["<uuid 1>", "2024-05-06T07:08:09+00:00"],
                             "when": "<now>", "role": "<oid 1> x"}})
            ]
        );
    }

    #[test]
    fn a_final_empty_page_is_justified_and_other_differences_are_not() {
        let rules = parse_rules(TABLE).unwrap();
        let first = get("/api/subjects", json!({"filter": "a", "limit": "2"}));
        let second = get(
            "/api/subjects",
            json!({"filter": "a", "limit": "2", "after_id": "<oid 1>"}),
        );
        let last = get(
            "/api/subjects",
            json!({"filter": "a", "limit": "2", "after_id": "<oid 2>"}),
        );
        let version = get("/api/version", json!({}));
        let python = [first.clone(), second.clone(), last.clone(), version.clone()];
        let rust = [first.clone(), second.clone(), version.clone()];
        let report = compare(&python, &rust, &rules);
        assert_eq!(report.identical, 3);
        assert_eq!(report.justified.len(), 1);
        assert_eq!(report.justified[0].1, "last-page");
        assert!(
            report.justified[0].0.starts_with("Python only (#3): "),
            "{:?}",
            report.justified
        );
        assert!(report.unjustified.is_empty());

        // A listing with another filter is not a continuation: not justified.
        let other = get(
            "/api/subjects",
            json!({"filter": "b", "limit": "2", "after_id": "<oid 2>"}),
        );
        let report = compare(
            &[first.clone(), other],
            std::slice::from_ref(&first),
            &rules,
        );
        assert_eq!(report.unjustified.len(), 1, "{report:?}");
        // The same request missing on the other side is not justified either.
        let report = compare(
            std::slice::from_ref(&first),
            &[first.clone(), second],
            &rules,
        );
        assert_eq!(report.unjustified.len(), 1, "{report:?}");
        // A changed body shows as one request on each side.
        let a = json!({"method": "PUT", "path": "/api/x", "query": {}, "body": {"t": "2024-01-01T00:00:00+00:00"}});
        let b = json!({"method": "PUT", "path": "/api/x", "query": {}, "body": {"t": "2024-01-01T00:00:00Z"}});
        let report = compare(&[a], &[b], &rules);
        assert_eq!(report.unjustified.len(), 2, "{report:?}");
        assert_eq!(report.identical, 0);
    }

    #[test]
    fn globs() {
        assert!(glob("/api/*", "/api/projects/x/sessions"));
        assert!(glob("/api/*/sessions", "/api/projects/x/sessions"));
        assert!(!glob("/api/*/sessions", "/api/projects/x/acquisitions"));
        assert!(glob("/api/version", "/api/version"));
        assert!(!glob("/api/version", "/api/versions"));
    }
}
