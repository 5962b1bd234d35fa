//! Parse errors: what went wrong, where, and a rendering with a caret under the spot.

use std::fmt;

/// The kind of a parse error. Each variant's doc names an input that triggers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// Nothing to parse: `""` or `"   "`.
    Empty,
    /// A finder condition with nothing in it: `a=1,,b=2` or `a=1,`.
    EmptyCondition,
    /// A finder condition with no key before its operator: `=x`.
    EmptyKey,
    /// A finder condition with no operator: `foo`.
    MissingOperator,
    /// An operator this language does not have: `a!~b`, `a==b`, `a!=~b` in a finder filter.
    UnsupportedOperator,
    /// `=|` or IN not followed by a bracketed list: `state=|running`, `a IN b`.
    ExpectedList,
    /// A list with no items: `state=|[]`, `a IN []`.
    EmptyList,
    /// An empty item inside a finder list: `state=|[a,,b]`.
    EmptyListItem,
    /// A list that is never closed: `state=|[a,b`, `a IN [b, c`.
    UnclosedList,
    /// Input left over where the expression should have ended: `state=|[a]x`, `a = b c`.
    TrailingInput,
    /// A regex the engine does not support or cannot parse: `label=~(?=x)`, `label=~(`.
    InvalidRegex,
    /// A regex whose compiled form exceeds the size limit: `label=~\w{5000}`.
    RegexTooLarge,
    /// A value shaped like a date that is not a real date: `created>2018-02-30`.
    InvalidDateTime,
    /// A sort item with an unknown order: `label:up`.
    InvalidSortOrder,
    /// A sort item with no key: `label,,created` or `:desc`.
    EmptySortKey,
    /// A quoted string that is never closed: `a = "b`.
    UnterminatedString,
    /// An escape other than `\"`, `\\` or `\n` inside a quoted string: `a = "b\t"`.
    InvalidEscape,
    /// A single quote outside a double-quoted string: `a = 'b'`.
    SingleQuote,
    /// An operator-like word that is not an operator: `a >> b`.
    UnknownOperator,
    /// A field followed by something that is not an operator: `a b`, `a`.
    ExpectedOperator,
    /// An operator with no value after it, or a keyword where a value belongs: `a =`, `a = AND`.
    ExpectedValue,
    /// Something other than a field where a condition starts: `= b`, `a = b AND`.
    ExpectedField,
    /// An opening parenthesis never closed: `(a = b`.
    UnclosedParen,
    /// A closing parenthesis with no opening one: `a = b)`.
    UnmatchedParen,
    /// Parentheses or NOTs nested deeper than [`MAX_DEPTH`](crate::flyql::MAX_DEPTH).
    NestingTooDeep,
}

/// A parse error with its position, what was expected there, and what was found.
///
/// `Display` renders the message, then the offending line with a caret under the column:
///
/// ```text
/// error: unknown operator '>>' at line 2, column 2
///   |  >> some_text
///   |  ^
///   = expected a comparison operator or IN, LIKE, CONTAINS, EXISTS, found '>>'
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError(Box<Details>);

/// Boxed so that a `Result<_, ParseError>` stays one pointer wide on the happy path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Details {
    kind: ErrorKind,
    message: String,
    offset: usize,
    line: usize,
    column: usize,
    expected: String,
    found: String,
    line_text: String,
}

impl ParseError {
    /// Builds an error at byte `offset` of `source`; line, column and the line's text
    /// are derived from the source.
    pub(crate) fn new(
        source: &str,
        offset: usize,
        kind: ErrorKind,
        message: impl Into<String>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        let offset = floor_char_boundary(source, offset.min(source.len()));
        let line_start = source[..offset].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[offset..]
            .find('\n')
            .map_or(source.len(), |i| offset + i);
        ParseError(Box::new(Details {
            kind,
            message: message.into(),
            offset,
            line: source[..offset].matches('\n').count() + 1,
            column: source[line_start..offset].chars().count() + 1,
            expected: expected.into(),
            found: found.into(),
            line_text: source[line_start..line_end].to_string(),
        }))
    }

    /// The kind of mistake.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }
    /// A one-line description, e.g. `unknown operator '>>'`.
    pub fn message(&self) -> &str {
        &self.0.message
    }
    /// The 0-based byte offset of the error in the input.
    pub fn offset(&self) -> usize {
        self.0.offset
    }
    /// The 1-based line of the error.
    pub fn line(&self) -> usize {
        self.0.line
    }
    /// The 1-based column of the error, counted in characters.
    pub fn column(&self) -> usize {
        self.0.column
    }
    /// What the parser expected at the error position.
    pub fn expected(&self) -> &str {
        &self.0.expected
    }
    /// What the parser found there (`end of input` at the end).
    pub fn found(&self) -> &str {
        &self.0.found
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.0;
        writeln!(
            f,
            "error: {} at line {}, column {}",
            d.message, d.line, d.column
        )?;
        writeln!(f, "  | {}", d.line_text)?;
        // Pad with the line's own whitespace so tabs keep the caret aligned.
        let pad: String = d
            .line_text
            .chars()
            .take(d.column - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        writeln!(f, "  | {pad}^")?;
        write!(f, "  = expected {}, found {}", d.expected, d.found)
    }
}

/// Describes the input at `offset` for an error's "found" part: the next few characters
/// up to a separator, quoted, or `end of input`.
pub(crate) fn describe_at(source: &str, offset: usize) -> String {
    let rest = &source[floor_char_boundary(source, offset.min(source.len()))..];
    match rest.chars().next() {
        None => "end of input".to_string(),
        Some(c) if c.is_whitespace() || ",()[]".contains(c) => format!("'{c}'"),
        Some(_) => {
            let word: String = rest
                .chars()
                .take_while(|c| !c.is_whitespace() && !",()[]".contains(*c))
                .take(24)
                .collect();
            format!("'{word}'")
        }
    }
}

/// The largest char boundary at or before `i`.
fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
