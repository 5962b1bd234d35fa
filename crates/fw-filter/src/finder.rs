//! Language A: finder filters, the `filter` parameter of every list endpoint
//! (`label=~resting.*,age<30`). The language: README §A.1-§A.7.

use std::fmt;

use nom::branch::alt;
use nom::bytes::complete::{tag, take_till};
use nom::combinator::value;
use nom::{IResult, Parser};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::error::{ErrorKind, ParseError, describe_at};
use crate::eval::{self, Operand};
use crate::pattern::{Pattern, PatternError, PatternKind};
use crate::value::{
    DateTimeText, Strictness, Value, format_datetime, is_finder_number, is_object_id, parse_number,
    read_datetime,
};

/// A finder filter: conditions that must all hold (`,` means AND).
///
/// Never empty when it comes from [`parse_filter`](crate::parse_filter).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filter {
    /// The conditions, in the order written.
    pub conditions: Vec<Condition>,
}

/// One `key operator value` condition.
///
/// The key is a dotted path (`info.a.b`, `parents.project`, `_id`), non-empty and free of
/// `,` `<` `>` `=` `!`; spaces in it are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    /// The dotted path, exactly as written.
    pub key: String,
    /// The operator and its value.
    #[serde(flatten)]
    pub test: Test,
}

/// An operator with its value. The JSON form is `{"op": "<", "value": …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", content = "value")]
pub enum Test {
    /// `=`: equals (any array element); `=null` also matches a missing field.
    #[serde(rename = "=")]
    Eq(Value),
    /// `!=`: not `=`.
    #[serde(rename = "!=")]
    Ne(Value),
    /// `<`: same-type ordering.
    #[serde(rename = "<")]
    Lt(Value),
    /// `<=`.
    #[serde(rename = "<=")]
    Le(Value),
    /// `>`.
    #[serde(rename = ">")]
    Gt(Value),
    /// `>=`.
    #[serde(rename = ">=")]
    Ge(Value),
    /// `=~`: the regex matches somewhere in a string value (unanchored, case-sensitive).
    #[serde(rename = "=~", deserialize_with = "crate::pattern::serde_kind::search")]
    Regex(Pattern),
    /// `=|`: equals any item of a non-empty list.
    #[serde(rename = "=|")]
    In(Vec<Value>),
}

impl Test {
    /// The operator as written in a filter.
    pub fn operator(&self) -> &'static str {
        match self {
            Test::Eq(_) => "=",
            Test::Ne(_) => "!=",
            Test::Lt(_) => "<",
            Test::Le(_) => "<=",
            Test::Gt(_) => ">",
            Test::Ge(_) => ">=",
            Test::Regex(_) => "=~",
            Test::In(_) => "=|",
        }
    }
}

/// A warning about a filter that parses but probably does not say what was meant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lint {
    /// The 0-based index of the condition it is about.
    pub condition: usize,
    /// What looks wrong.
    pub message: String,
}

/// The keys that mean `parents.<key>` (README §A.3, parent shorthand).
const PARENT_KEYS: [(&str, &str); 5] = [
    ("group", "parents.group"),
    ("project", "parents.project"),
    ("subject", "parents.subject"),
    ("session", "parents.session"),
    ("acquisition", "parents.acquisition"),
];

impl Filter {
    /// True when every condition holds for `doc`.
    pub fn matches(&self, doc: &Json) -> bool {
        self.conditions.iter().all(|c| c.matches(doc))
    }

    /// Warnings about conditions that parse but are rarely meant:
    ///
    /// - a key or value that begins or ends with a space (`sex= male`: the space is part of
    ///   the value);
    /// - a value that begins with an operator character `< > = ! ~ |` (`age<<30` compares
    ///   `age` with the text `<30`);
    /// - an empty value after an ordering operator (`age<` compares with the empty string,
    ///   which no number passes);
    /// - a key repeated with the same operator (both conditions must hold).
    ///
    /// The filter is still valid: lints are advice for tools that show them (`fwq` prints
    /// them on stderr), never errors.
    pub fn lints(&self) -> Vec<Lint> {
        let mut lints = Vec::new();
        for (i, c) in self.conditions.iter().enumerate() {
            let lint = |message: String| Lint {
                condition: i,
                message,
            };
            if has_edge_space(&c.key) {
                lints.push(lint(format!(
                    "the key {:?} begins or ends with a space, which is part of the key",
                    c.key
                )));
            }
            let values: &[Value] = match &c.test {
                Test::Regex(_) => &[],
                Test::In(items) => items,
                Test::Eq(v)
                | Test::Ne(v)
                | Test::Lt(v)
                | Test::Le(v)
                | Test::Gt(v)
                | Test::Ge(v) => std::slice::from_ref(v),
            };
            let pattern_text = match &c.test {
                Test::Regex(p) => Some(p.source()),
                _ => None,
            };
            let spaced = values
                .iter()
                .any(|v| matches!(v, Value::String(s) if has_edge_space(s)))
                || pattern_text.is_some_and(has_edge_space);
            if spaced {
                lints.push(lint(format!(
                    "the value of {:?} begins or ends with a space, which is part of the value",
                    c.key
                )));
            }
            let texts = values
                .iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s.as_str()),
                    _ => None,
                })
                .chain(pattern_text);
            for text in texts {
                if let Some(first) = text.chars().next().filter(|c| OPERATOR_CHARS.contains(*c)) {
                    lints.push(lint(format!(
                        "the value of {:?} after {} begins with the operator character '{first}': \
                         `{}{}{text}` compares with the text {text:?}; was the operator typed twice?",
                        c.key,
                        c.test.operator(),
                        c.key,
                        c.test.operator(),
                    )));
                }
            }
            let ordering = matches!(
                &c.test,
                Test::Lt(_) | Test::Le(_) | Test::Gt(_) | Test::Ge(_)
            );
            if ordering && matches!(values, [Value::String(s)] if s.is_empty()) {
                lints.push(lint(format!(
                    "the value of {:?} after {} is empty: only a string sorts against the empty \
                     text, so numbers and dates never match; was the value left out?",
                    c.key,
                    c.test.operator()
                )));
            }
            let repeated = self.conditions[..i]
                .iter()
                .any(|p| p.key == c.key && p.test.operator() == c.test.operator());
            if repeated {
                lints.push(lint(format!(
                    "{:?} with {} appears more than once; every condition must hold",
                    c.key,
                    c.test.operator()
                )));
            }
        }
        lints
    }
}

/// The characters operators are made of; a value starting with one is usually a typo.
const OPERATOR_CHARS: &str = "<>=!~|";

fn has_edge_space(s: &str) -> bool {
    s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace)
}

impl Condition {
    /// The path evaluated: the key, or `parents.<key>` for the parent shorthand.
    pub fn path(&self) -> &str {
        PARENT_KEYS
            .iter()
            .find(|(short, _)| *short == self.key)
            .map_or(&self.key, |(_, long)| long)
    }

    /// True when this condition holds for `doc` (README §A.3).
    pub fn matches(&self, doc: &Json) -> bool {
        use std::cmp::Ordering::*;
        let path = self.path();
        match &self.test {
            Test::Eq(v) => eval::field_equals(doc, path, v.operand()),
            Test::Ne(v) => !eval::field_equals(doc, path, v.operand()),
            Test::Lt(v) => eval::field_orders(doc, path, v.operand(), |o| o == Less),
            Test::Le(v) => eval::field_orders(doc, path, v.operand(), |o| o != Greater),
            Test::Gt(v) => eval::field_orders(doc, path, v.operand(), |o| o == Greater),
            Test::Ge(v) => eval::field_orders(doc, path, v.operand(), |o| o != Less),
            Test::Regex(p) => eval::field_text_matches(doc, path, &|s| p.is_match(s)),
            Test::In(items) => eval::field_equals_any(doc, path, items.iter().map(Value::operand)),
        }
    }
}

impl Value {
    pub(crate) fn operand(&self) -> Operand<'_> {
        match self {
            Value::Null => Operand::Null,
            Value::Bool(b) => Operand::Bool(*b),
            Value::Number(n) => Operand::Number(*n),
            Value::ObjectId(id) => Operand::ObjectId(id),
            Value::DateTime(dt) => Operand::DateTime(dt),
            Value::String(s) => Operand::String(s),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------

const OPERATORS: &str = "an operator (= != < <= > >= =~ =|)";

/// Parses a finder filter (README §A.1-A.2).
pub(crate) fn parse(src: &str) -> Result<Filter, ParseError> {
    if src.trim().is_empty() {
        return Err(ParseError::new(
            src,
            0,
            ErrorKind::Empty,
            "the filter is empty",
            "a condition such as label=x",
            "end of input",
        ));
    }
    let mut conditions = Vec::new();
    let mut rest = src;
    loop {
        let (after, condition) = condition(src, rest)?;
        conditions.push(condition);
        match after.strip_prefix(',') {
            Some(next) => rest = next,
            None => break,
        }
    }
    Ok(Filter { conditions })
}

fn offset(src: &str, rest: &str) -> usize {
    src.len() - rest.len()
}

/// `condition = key , operator , value`. Leaves the input at `,` or at its end.
fn condition<'a>(src: &str, input: &'a str) -> Result<(&'a str, Condition), ParseError> {
    let (rest, key) = key(input).map_err(|_| internal(src, input))?;
    let at = offset(src, rest);
    if key.is_empty() {
        let (kind, message) = if rest.is_empty() || rest.starts_with(',') {
            (ErrorKind::EmptyCondition, "empty condition")
        } else {
            (ErrorKind::EmptyKey, "the condition has no key")
        };
        let expected = "a condition such as label=x";
        return Err(ParseError::new(
            src,
            at,
            kind,
            message,
            expected,
            describe_at(src, at),
        ));
    }
    let Ok((rest, op)) = operator(rest) else {
        return Err(missing_operator(src, key, at));
    };
    let value_at = offset(src, rest);
    let unsupported = |message: &str| {
        let op_at = offset(src, input) + key.len();
        ParseError::new(
            src,
            op_at,
            ErrorKind::UnsupportedOperator,
            message,
            OPERATORS,
            describe_at(src, op_at),
        )
    };
    match op {
        "=" if rest.starts_with('=') => {
            return Err(unsupported("'==' is not a finder operator; use '='"));
        }
        "!=" if rest.starts_with('~') => {
            return Err(unsupported(
                "finder filters have no negated regex; use a structured query with !~",
            ));
        }
        _ => {}
    }
    if op == "=|" {
        let (rest, items) = list(src, rest)?;
        let test = Test::In(items);
        return Ok((
            rest,
            Condition {
                key: key.to_string(),
                test,
            },
        ));
    }
    let (rest, text) = escaped_text(rest, &[',']);
    let test = match op {
        "=~" => Test::Regex(pattern(src, value_at, &text)?),
        _ => {
            let v = type_value(src, value_at, text)?;
            match op {
                "=" => Test::Eq(v),
                "!=" => Test::Ne(v),
                "<" => Test::Lt(v),
                "<=" => Test::Le(v),
                ">" => Test::Gt(v),
                _ => Test::Ge(v),
            }
        }
    };
    Ok((
        rest,
        Condition {
            key: key.to_string(),
            test,
        },
    ))
}

/// `key = key-char , { key-char }`: everything up to the first operator character.
fn key(input: &str) -> IResult<&str, &str> {
    take_till(|c| matches!(c, ',' | '<' | '>' | '=' | '!')).parse(input)
}

/// The longest operator at the current position.
fn operator(input: &str) -> IResult<&str, &'static str> {
    alt((
        value("<=", tag("<=")),
        value(">=", tag(">=")),
        value("!=", tag("!=")),
        value("=~", tag("=~")),
        value("=|", tag("=|")),
        value("<", tag("<")),
        value(">", tag(">")),
        value("=", tag("=")),
    ))
    .parse(input)
}

fn missing_operator(src: &str, key: &str, at: usize) -> ParseError {
    let rest = &src[at..];
    let found = describe_at(src, at);
    let error =
        |kind, message: String| ParseError::new(src, at, kind, message, OPERATORS, found.clone());
    if rest.starts_with("!~") {
        return error(
            ErrorKind::UnsupportedOperator,
            "finder filters have no negated regex; use a structured query with !~".into(),
        );
    }
    if rest.starts_with('!') {
        return error(
            ErrorKind::MissingOperator,
            "'!' is not an operator; did you mean '!='?".into(),
        );
    }
    let lower = key.to_ascii_lowercase();
    let trimmed = lower.trim_end();
    if let Some(field) = trimmed.strip_suffix(" exists") {
        let field = field.trim();
        return error(
            ErrorKind::UnsupportedOperator,
            format!(
                "finder filters have no 'exists'; use '{field}!=null', or EXISTS in a structured query"
            ),
        );
    }
    if let Some((field, _)) = lower.split_once(" in ") {
        let field = field.trim();
        return error(
            ErrorKind::UnsupportedOperator,
            format!("finder filters have no 'in'; use '{field}=|[a,b]'"),
        );
    }
    // `label=a,b`: the comma ended the value `a`, so `b` reads as a condition. The
    // likely intent is a comma inside the value, which is written `\,` (README §A.1).
    let after_comma = src[..at.saturating_sub(key.len())].ends_with(',');
    let hint = if after_comma {
        " (if the comma belongs to the value before it, write it as \\,)"
    } else {
        ""
    };
    error(
        ErrorKind::MissingOperator,
        format!("the condition {key:?} has no operator{hint}"),
    )
}

/// Text up to an unescaped stop character. `\` before a stop character makes it literal;
/// every other backslash is kept as written, so regexes such as `\d+` keep working.
fn escaped_text<'a>(input: &'a str, stops: &[char]) -> (&'a str, String) {
    let mut out = String::new();
    let mut chars = input.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if stops.contains(&c) {
            return (&input[i..], out);
        }
        if c == '\\'
            && let Some(&(_, next)) = chars.peek()
            && stops.contains(&next)
        {
            out.push(next);
            chars.next();
            continue;
        }
        out.push(c);
    }
    ("", out)
}

/// Maps a byte offset into unescaped text back to the raw text it came from.
fn raw_offset(raw: &str, unescaped_offset: usize, stops: &[char]) -> usize {
    let (mut raw_i, mut out_i) = (0, 0);
    let bytes = raw.as_bytes();
    while out_i < unescaped_offset && raw_i < raw.len() {
        let escaped = bytes[raw_i] == b'\\'
            && raw[raw_i + 1..]
                .chars()
                .next()
                .is_some_and(|c| stops.contains(&c));
        let width = if escaped { 2 } else { 1 };
        raw_i += width;
        out_i += 1;
        while !raw.is_char_boundary(raw_i) {
            raw_i += 1;
            out_i += 1;
        }
    }
    raw_i
}

fn pattern(src: &str, at: usize, text: &str) -> Result<Pattern, ParseError> {
    Pattern::compile(text, PatternKind::Search).map_err(|e| match e {
        PatternError::Invalid { offset, message } => {
            let at = at + raw_offset(&src[at..], offset, &[',']);
            ParseError::new(
                src,
                at,
                ErrorKind::InvalidRegex,
                format!("invalid regex: {message}"),
                "a regex without look-around or back-references",
                describe_at(src, at),
            )
        }
        PatternError::TooLarge => ParseError::new(
            src,
            at,
            ErrorKind::RegexTooLarge,
            "the regex is too large to compile",
            "a smaller regex",
            describe_at(src, at),
        ),
    })
}

/// `list = "[" , item , { "," , item } , "]"`, after `=|`.
fn list<'a>(src: &str, input: &'a str) -> Result<(&'a str, Vec<Value>), ParseError> {
    let open_at = offset(src, input);
    let Some(mut rest) = input.strip_prefix('[') else {
        return Err(ParseError::new(
            src,
            open_at,
            ErrorKind::ExpectedList,
            "'=|' needs a bracketed list",
            "'[' as in state=|[running,pending]",
            describe_at(src, open_at),
        ));
    };
    let mut items = Vec::new();
    loop {
        let item_at = offset(src, rest);
        let (after, text) = escaped_text(rest, &[',', ']']);
        if after.is_empty() {
            let end = src.len();
            return Err(ParseError::new(
                src,
                end,
                ErrorKind::UnclosedList,
                "the list is never closed",
                "']'",
                "end of input",
            ));
        }
        if text.is_empty() {
            let (kind, message) = if items.is_empty() && after.starts_with(']') {
                (ErrorKind::EmptyList, "the list is empty")
            } else {
                (
                    ErrorKind::EmptyListItem,
                    "empty list item; write \"\" for the empty string",
                )
            };
            return Err(ParseError::new(
                src,
                item_at,
                kind,
                message,
                "a list item",
                describe_at(src, item_at),
            ));
        }
        items.push(type_value(src, item_at, text)?);
        match after.strip_prefix(',') {
            Some(next) => rest = next,
            None => {
                rest = &after[1..]; // past ']'
                break;
            }
        }
    }
    if !rest.is_empty() && !rest.starts_with(',') {
        let at = offset(src, rest);
        return Err(ParseError::new(
            src,
            at,
            ErrorKind::TrailingInput,
            "unexpected text after the list",
            "',' or the end of the filter",
            describe_at(src, at),
        ));
    }
    Ok((rest, items))
}

/// Types a value's text by the table of README §A.2.
fn type_value(src: &str, at: usize, text: String) -> Result<Value, ParseError> {
    if text.len() >= 2 && text.starts_with('"') && text.ends_with('"') {
        return Ok(Value::String(text[1..text.len() - 1].to_string()));
    }
    if let Some(id) = crate::ObjectId::parse(&text) {
        return Ok(Value::ObjectId(id));
    }
    match read_datetime(&text, Strictness::Query) {
        DateTimeText::Valid(dt) => return Ok(Value::DateTime(dt)),
        DateTimeText::Invalid(why) => {
            return Err(ParseError::new(
                src,
                at,
                ErrorKind::InvalidDateTime,
                format!("invalid date: {why}"),
                "a real date such as 2018-10-31 or 2018-10-31T12:00:00Z (quote it to compare as text)",
                format!("'{text}'"),
            ));
        }
        DateTimeText::NotDateTime => {}
    }
    Ok(match text.as_str() {
        "null" => Value::Null,
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => match is_finder_number(&text)
            .then(|| parse_number(&text))
            .flatten()
        {
            Some(n) => Value::Number(n),
            None => Value::String(text),
        },
    })
}

fn internal(src: &str, rest: &str) -> ParseError {
    let at = offset(src, rest);
    ParseError::new(
        src,
        at,
        ErrorKind::MissingOperator,
        "cannot read the condition",
        "a condition",
        describe_at(src, at),
    )
}

// ---------------------------------------------------------------------------------------
// Printing
// ---------------------------------------------------------------------------------------

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last = self.conditions.len().saturating_sub(1);
        for (i, c) in self.conditions.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write_condition(f, c, i == last)?;
        }
        Ok(())
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_condition(f, self, true)
    }
}

/// Writes one condition; `last` says whether a `,` may follow it.
fn write_condition(f: &mut fmt::Formatter<'_>, c: &Condition, last: bool) -> fmt::Result {
    {
        f.write_str(&c.key)?;
        f.write_str(c.test.operator())?;
        match &c.test {
            // A regex ending in a backslash (`\\`) would escape the comma after it, and
            // regexes cannot be quoted; `(?:…)` matches the same strings.
            Test::Regex(p) if !last && p.source().ends_with('\\') => {
                f.write_str("(?:")?;
                write_escaped(f, p.source(), &[','])?;
                f.write_str(")")
            }
            Test::Regex(p) => write_escaped(f, p.source(), &[',']),
            Test::In(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write_value(f, item, true)?;
                }
                f.write_str("]")
            }
            Test::Eq(v) | Test::Ne(v) | Test::Lt(v) | Test::Le(v) | Test::Gt(v) | Test::Ge(v) => {
                write_value(f, v, false)
            }
        }
    }
}

fn write_value(f: &mut fmt::Formatter<'_>, value: &Value, in_list: bool) -> fmt::Result {
    let stops: &[char] = if in_list { &[',', ']'] } else { &[','] };
    match value {
        Value::Null => f.write_str("null"),
        Value::Bool(b) => write!(f, "{b}"),
        Value::Number(n) => {
            let text = n.to_string();
            if is_object_id(&text) {
                // 24 digits would read back as an ObjectId.
                write!(f, "{n:e}")
            } else {
                f.write_str(&text)
            }
        }
        Value::ObjectId(id) => f.write_str(id.as_str()),
        Value::DateTime(dt) => f.write_str(&format_datetime(dt)),
        Value::String(s) if needs_quotes(s, in_list) => {
            f.write_str("\"")?;
            write_escaped(f, s, stops)?;
            f.write_str("\"")
        }
        Value::String(s) => write_escaped(f, s, stops),
    }
}

/// A string needs quotes when, written bare, it would read back as something else.
fn needs_quotes(s: &str, in_list: bool) -> bool {
    (in_list && s.is_empty())
        // A leading `=`, `~` or `|` would join the operator before it (`>` + `=x`).
        || (!in_list && s.starts_with(['=', '~', '|']))
        // A trailing backslash would escape the separator after it.
        || s.ends_with('\\')
        || (s.len() >= 2 && s.starts_with('"') && s.ends_with('"'))
        || is_object_id(s)
        || read_datetime(s, Strictness::Query) != DateTimeText::NotDateTime
        || matches!(s, "null" | "true" | "false")
        || (is_finder_number(s) && parse_number(s).is_some())
}

fn write_escaped(f: &mut fmt::Formatter<'_>, s: &str, stops: &[char]) -> fmt::Result {
    for c in s.chars() {
        if stops.contains(&c) {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_text_keeps_other_backslashes() {
        assert_eq!(escaped_text(r"a\,b,c", &[',']), (",c", "a,b".to_string()));
        assert_eq!(escaped_text(r"\d+", &[',']), ("", r"\d+".to_string()));
        assert_eq!(escaped_text(r"a\\,b", &[',']), ("", r"a\,b".to_string()));
        assert_eq!(
            escaped_text(r"x\]y]", &[',', ']']),
            ("]", "x]y".to_string())
        );
    }

    #[test]
    fn raw_offsets_skip_escapes() {
        assert_eq!(raw_offset(r"a\,b(?=c)", 3, &[',']), 4);
        assert_eq!(raw_offset("é(?=c)", 2, &[',']), 2);
    }
}
