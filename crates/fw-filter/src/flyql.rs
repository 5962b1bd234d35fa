//! Language B: FlyQL structured queries, the `structured_query` of
//! `POST /dataexplorer/search` (`session.age >= 0 AND file.classification.Measurement = T1`).
//! The language: README §B.1-§B.7.
//!
//! The AST follows the grammar level by level (`Query` = OR of [`Conjunction`]s, a
//! conjunction = AND of [`Factor`]s), so every AST, parsed or built by hand, prints to
//! text that parses back to the same AST: precedence can never be lost in printing.

use std::fmt;

use nom::bytes::complete::{take_till1, take_while};
use nom::character::complete::one_of;
use nom::{IResult, Parser as _};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value as Json;

use crate::error::{ErrorKind, ParseError};
use crate::eval::{self, Operand};
use crate::pattern::{Pattern, PatternError, PatternKind};
use crate::value::{
    DateTimeText, Strictness, format_datetime, is_flyql_number, parse_number, read_datetime,
};

/// A structured query: true when any of its conjunctions is (`a OR b OR c`).
/// Never empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Query {
    /// The alternatives, joined by `OR`.
    #[serde(rename = "or", deserialize_with = "non_empty")]
    pub any: Vec<Conjunction>,
}

/// Factors joined by `AND`: true when all are. Never empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conjunction {
    /// The factors, joined by `AND`.
    #[serde(rename = "and", deserialize_with = "non_empty")]
    pub all: Vec<Factor>,
}

/// A negation, a parenthesised query, or a term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    /// `NOT factor`.
    Not(Box<Factor>),
    /// `( query )`: kept so that printing reproduces the parentheses.
    Group(Query),
    /// `field operator phrase`.
    Term(Term),
}

/// `field operator phrase`, `field IN [..]` or `field EXISTS`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Term {
    /// The dotted field in the search document, e.g. `session.age`. Not checked.
    pub field: String,
    /// The operator and its phrase.
    #[serde(flatten)]
    pub test: Test,
}

/// A FlyQL operator with its phrase. The JSON form is `{"op": "==", "value": …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", content = "value")]
pub enum Test {
    /// `=`: exact equality (arrays: any element).
    #[serde(rename = "=")]
    Eq(Literal),
    /// `==`: the same as `=`, kept as written.
    #[serde(rename = "==")]
    EqEq(Literal),
    /// `!=`: not `=`; true when the field is missing.
    #[serde(rename = "!=")]
    Ne(Literal),
    /// `<>`: the same as `!=`, kept as written.
    #[serde(rename = "<>")]
    LtGt(Literal),
    /// `<`.
    #[serde(rename = "<")]
    Lt(Literal),
    /// `<=`.
    #[serde(rename = "<=")]
    Le(Literal),
    /// `>`.
    #[serde(rename = ">")]
    Gt(Literal),
    /// `>=`.
    #[serde(rename = ">=")]
    Ge(Literal),
    /// `=~`: the regex matches the whole value.
    #[serde(rename = "=~", deserialize_with = "crate::pattern::serde_kind::whole")]
    Match(Pattern),
    /// `!~`: not `=~`.
    #[serde(rename = "!~", deserialize_with = "crate::pattern::serde_kind::whole")]
    NotMatch(Pattern),
    /// `IN [a, b]`: equals one of the items.
    #[serde(rename = "IN")]
    In(Vec<Literal>),
    /// `LIKE`: whole-value wildcard match (`%`/`*`, `_`/`?`), case-sensitive.
    #[serde(rename = "LIKE", deserialize_with = "crate::pattern::serde_kind::like")]
    Like(Pattern),
    /// `CONTAINS`: the phrase occurs in the value, ignoring case.
    #[serde(
        rename = "CONTAINS",
        deserialize_with = "crate::pattern::serde_kind::contains"
    )]
    Contains(Pattern),
    /// `EXISTS`: present, not null, not an empty array.
    #[serde(rename = "EXISTS")]
    Exists,
}

impl Test {
    /// The operator or keyword as printed.
    pub fn operator(&self) -> &'static str {
        match self {
            Test::Eq(_) => "=",
            Test::EqEq(_) => "==",
            Test::Ne(_) => "!=",
            Test::LtGt(_) => "<>",
            Test::Lt(_) => "<",
            Test::Le(_) => "<=",
            Test::Gt(_) => ">",
            Test::Ge(_) => ">=",
            Test::Match(_) => "=~",
            Test::NotMatch(_) => "!~",
            Test::In(_) => "IN",
            Test::Like(_) => "LIKE",
            Test::Contains(_) => "CONTAINS",
            Test::Exists => "EXISTS",
        }
    }
}

/// A typed FlyQL phrase (README §B.3). Only unquoted phrases after a comparison operator or
/// in an `IN` list are converted; a quoted phrase is always a string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Literal {
    /// `true` or `false`.
    Bool(bool),
    /// An integer or a decimal (`32`, `-1.5`); finite.
    Number(f64),
    /// An ISO date or date-time.
    #[serde(with = "crate::value::datetime_serde")]
    DateTime(chrono::DateTime<chrono::FixedOffset>),
    /// Any other phrase.
    String(String),
}

impl Literal {
    fn operand(&self) -> Operand<'_> {
        match self {
            Literal::Bool(b) => Operand::Bool(*b),
            Literal::Number(n) => Operand::Number(*n),
            Literal::DateTime(dt) => Operand::DateTime(dt),
            Literal::String(s) => Operand::String(s),
        }
    }
}

fn non_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    let items = Vec::<T>::deserialize(d)?;
    if items.is_empty() {
        return Err(serde::de::Error::custom("expected at least one item"));
    }
    Ok(items)
}

// ---------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------

impl Query {
    /// True when the query holds for one search document (README §B.4), whose fields carry
    /// their level: `session.age`, `file.classification.Measurement`.
    pub fn matches(&self, doc: &Json) -> bool {
        self.any.iter().any(|c| c.matches(doc))
    }
}

impl Conjunction {
    /// True when every factor holds for `doc`.
    pub fn matches(&self, doc: &Json) -> bool {
        self.all.iter().all(|f| f.matches(doc))
    }
}

impl Factor {
    /// True when the factor holds for `doc`.
    pub fn matches(&self, doc: &Json) -> bool {
        match self {
            Factor::Not(inner) => !inner.matches(doc),
            Factor::Group(query) => query.matches(doc),
            Factor::Term(term) => term.matches(doc),
        }
    }
}

impl Term {
    /// True when the term holds for `doc`.
    pub fn matches(&self, doc: &Json) -> bool {
        use std::cmp::Ordering::*;
        let path = self.field.as_str();
        match &self.test {
            Test::Eq(l) | Test::EqEq(l) => eval::field_equals(doc, path, l.operand()),
            Test::Ne(l) | Test::LtGt(l) => !eval::field_equals(doc, path, l.operand()),
            Test::Lt(l) => eval::field_orders(doc, path, l.operand(), |o| o == Less),
            Test::Le(l) => eval::field_orders(doc, path, l.operand(), |o| o != Greater),
            Test::Gt(l) => eval::field_orders(doc, path, l.operand(), |o| o == Greater),
            Test::Ge(l) => eval::field_orders(doc, path, l.operand(), |o| o != Less),
            Test::Match(p) | Test::Like(p) | Test::Contains(p) => {
                eval::field_text_matches(doc, path, &|s| p.is_match(s))
            }
            Test::NotMatch(p) => !eval::field_text_matches(doc, path, &|s| p.is_match(s)),
            Test::In(items) => {
                eval::field_equals_any(doc, path, items.iter().map(Literal::operand))
            }
            Test::Exists => eval::field_exists(doc, path),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Lexing
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Comma,
    /// An unquoted word: an identifier, keyword or operator.
    Word(String),
    /// A double-quoted string, unescaped.
    Quoted(String),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    at: usize,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Keyword {
    And,
    Or,
    Not,
    In,
    Like,
    Contains,
    Exists,
}

/// A keyword, written all upper case or all lower case.
fn keyword(word: &str) -> Option<Keyword> {
    Some(match word {
        "AND" | "and" => Keyword::And,
        "OR" | "or" => Keyword::Or,
        "NOT" | "not" => Keyword::Not,
        "IN" | "in" => Keyword::In,
        "LIKE" | "like" => Keyword::Like,
        "CONTAINS" | "contains" => Keyword::Contains,
        "EXISTS" | "exists" => Keyword::Exists,
        _ => return None,
    })
}

fn is_operator(word: &str) -> bool {
    matches!(
        word,
        "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=" | "=~" | "!~"
    )
}

const EXPECTED_OPERATOR: &str =
    "an operator (= == != <> < <= > >= =~ !~) or IN, LIKE, CONTAINS, EXISTS";

fn whitespace(input: &str) -> IResult<&str, &str> {
    take_while(char::is_whitespace).parse(input)
}

fn punctuation(input: &str) -> IResult<&str, Tok> {
    one_of("()[],")
        .map(|c| match c {
            '(' => Tok::Open,
            ')' => Tok::Close,
            '[' => Tok::OpenBracket,
            ']' => Tok::CloseBracket,
            _ => Tok::Comma,
        })
        .parse(input)
}

fn word(input: &str) -> IResult<&str, Tok> {
    take_till1(|c: char| c.is_whitespace() || "'\"[](),".contains(c))
        .map(|w: &str| Tok::Word(w.to_string()))
        .parse(input)
}

fn lex(src: &str) -> Result<Vec<Token>, ParseError> {
    let mut tokens = Vec::new();
    let mut rest = src;
    loop {
        rest = whitespace(rest).map_or(rest, |(r, _)| r);
        let at = src.len() - rest.len();
        if rest.is_empty() {
            return Ok(tokens);
        }
        if rest.starts_with('\'') {
            return Err(ParseError::new(
                src,
                at,
                ErrorKind::SingleQuote,
                "single quotes are not string quotes; use double quotes",
                "a phrase, or a \"double-quoted\" phrase",
                "'''",
            ));
        }
        let (after, tok) = if rest.starts_with('"') {
            quoted(src, rest)?
        } else if let Ok(found) = punctuation(rest) {
            found
        } else {
            word(rest).map_err(|_| {
                ParseError::new(
                    src,
                    at,
                    ErrorKind::ExpectedField,
                    "unreadable input",
                    "a token",
                    "?",
                )
            })?
        };
        tokens.push(Token { tok, at });
        rest = after;
    }
}

/// `"…"` with the escapes `\"`, `\\` and `\n`.
fn quoted<'a>(src: &str, input: &'a str) -> Result<(&'a str, Tok), ParseError> {
    let open_at = src.len() - input.len();
    let mut out = String::new();
    let mut chars = input.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((&input[i + 1..], Tok::Quoted(out))),
            '\n' => {
                return Err(ParseError::new(
                    src,
                    open_at + i,
                    ErrorKind::UnterminatedString,
                    "the quoted string is not closed before the end of the line",
                    "'\"' (write \\n for a newline inside quotes)",
                    "a line break",
                ));
            }
            '\\' => match chars.next() {
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, other)) => {
                    return Err(ParseError::new(
                        src,
                        open_at + i,
                        ErrorKind::InvalidEscape,
                        format!("unknown escape '\\{other}' in a quoted string"),
                        "\\\", \\\\ or \\n",
                        format!("'\\{other}'"),
                    ));
                }
                None => break,
            },
            c => out.push(c),
        }
    }
    Err(ParseError::new(
        src,
        open_at,
        ErrorKind::UnterminatedString,
        "the quoted string is never closed",
        "a closing '\"'",
        "end of input",
    ))
}

// ---------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------

/// How deeply parentheses and NOTs may nest: deep enough for any real query, shallow
/// enough that a hostile one cannot overflow the stack.
pub const MAX_DEPTH: usize = 64;

/// Parses a structured query (README §B.2).
pub(crate) fn parse(src: &str) -> Result<Query, ParseError> {
    let tokens = lex(src)?;
    if tokens.is_empty() {
        return Err(ParseError::new(
            src,
            0,
            ErrorKind::Empty,
            "the query is empty",
            "a condition such as subject.code = sub-01",
            "end of input",
        ));
    }
    let mut parser = Parser {
        src,
        tokens,
        pos: 0,
    };
    let query = parser.or_expr(0)?;
    match parser.peek() {
        None => Ok(query),
        Some(Tok::Close) => Err(parser.error(
            ErrorKind::UnmatchedParen,
            "')' has no matching '('",
            "AND, OR or the end of the query",
        )),
        Some(_) => Err(parser.error(
            ErrorKind::TrailingInput,
            "unexpected input after a complete condition",
            "AND, OR or the end of the query",
        )),
    }
}

struct Parser<'s> {
    src: &'s str,
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn peek_keyword(&self) -> Option<Keyword> {
        match self.peek() {
            Some(Tok::Word(w)) => keyword(w),
            _ => None,
        }
    }

    fn offset(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.src.len(), |t| t.at)
    }

    fn found(&self) -> String {
        match self.peek() {
            None => "end of input".to_string(),
            Some(Tok::Open) => "'('".to_string(),
            Some(Tok::Close) => "')'".to_string(),
            Some(Tok::OpenBracket) => "'['".to_string(),
            Some(Tok::CloseBracket) => "']'".to_string(),
            Some(Tok::Comma) => "','".to_string(),
            Some(Tok::Word(w)) => format!("'{w}'"),
            Some(Tok::Quoted(q)) => format!("{q:?}"),
        }
    }

    fn error(&self, kind: ErrorKind, message: impl Into<String>, expected: &str) -> ParseError {
        ParseError::new(
            self.src,
            self.offset(),
            kind,
            message,
            expected,
            self.found(),
        )
    }

    /// `or-expr = and-expr , { OR , and-expr }`
    fn or_expr(&mut self, depth: usize) -> Result<Query, ParseError> {
        let mut any = vec![self.and_expr(depth)?];
        while self.peek_keyword() == Some(Keyword::Or) {
            self.pos += 1;
            any.push(self.and_expr(depth)?);
        }
        Ok(Query { any })
    }

    /// `and-expr = unary , { AND , unary }`
    fn and_expr(&mut self, depth: usize) -> Result<Conjunction, ParseError> {
        let mut all = vec![self.unary(depth)?];
        while self.peek_keyword() == Some(Keyword::And) {
            self.pos += 1;
            all.push(self.unary(depth)?);
        }
        Ok(Conjunction { all })
    }

    /// `unary = NOT , unary | "(" , or-expr , ")" | term`
    fn unary(&mut self, depth: usize) -> Result<Factor, ParseError> {
        if depth >= MAX_DEPTH {
            return Err(self.error(
                ErrorKind::NestingTooDeep,
                format!("parentheses and NOTs nest deeper than {MAX_DEPTH} levels"),
                "a flatter query",
            ));
        }
        if self.peek_keyword() == Some(Keyword::Not) {
            self.pos += 1;
            return Ok(Factor::Not(Box::new(self.unary(depth + 1)?)));
        }
        if self.peek() == Some(&Tok::Open) {
            let open_at = self.offset();
            self.pos += 1;
            let query = self.or_expr(depth + 1)?;
            match self.peek() {
                Some(Tok::Close) => {}
                None => {
                    return Err(ParseError::new(
                        self.src,
                        open_at,
                        ErrorKind::UnclosedParen,
                        "'(' is never closed",
                        "')'",
                        "end of input",
                    ));
                }
                Some(_) => {
                    return Err(self.error(
                        ErrorKind::UnclosedParen,
                        "expected ')' to close the group",
                        "')', AND or OR",
                    ));
                }
            }
            self.pos += 1;
            return Ok(Factor::Group(query));
        }
        self.term().map(Factor::Term)
    }

    /// `term = field , ( cmp-op , phrase | IN , list | LIKE , phrase | CONTAINS , phrase | EXISTS )`
    fn term(&mut self) -> Result<Term, ParseError> {
        let field = match self.peek() {
            Some(Tok::Quoted(q)) => q.clone(),
            Some(Tok::Word(w)) if keyword(w).is_none() && !is_operator(w) => w.clone(),
            _ => {
                return Err(self.error(
                    ErrorKind::ExpectedField,
                    "expected a field",
                    "a field such as subject.code (quote it if it is a keyword)",
                ));
            }
        };
        self.pos += 1;
        let test = match self.peek() {
            Some(Tok::Word(w)) if is_operator(w) => {
                let op = w.clone();
                self.pos += 1;
                self.operator_phrase(&op)?
            }
            Some(Tok::Word(w)) => match keyword(w) {
                Some(Keyword::In) => {
                    self.pos += 1;
                    Test::In(self.list()?)
                }
                Some(Keyword::Like) => {
                    self.pos += 1;
                    Test::Like(self.pattern(PatternKind::Like)?)
                }
                Some(Keyword::Contains) => {
                    self.pos += 1;
                    Test::Contains(self.pattern(PatternKind::Contains)?)
                }
                Some(Keyword::Exists) => {
                    self.pos += 1;
                    Test::Exists
                }
                _ if w.chars().all(|c| "<>=!~".contains(c)) => {
                    let message = format!("unknown operator '{w}'");
                    return Err(self.error(ErrorKind::UnknownOperator, message, EXPECTED_OPERATOR));
                }
                _ => return Err(self.expected_operator(&field)),
            },
            _ => return Err(self.expected_operator(&field)),
        };
        Ok(Term { field, test })
    }

    fn expected_operator(&self, field: &str) -> ParseError {
        let glued = ["==", "!=", "<>", "<=", ">=", "=~", "!~", "=", "<", ">"]
            .iter()
            .find(|op| field.contains(*op));
        let message = match glued {
            Some(op) => {
                format!("'{field}' is read as one word; put spaces around the operator '{op}'")
            }
            None => "expected an operator after the field".to_string(),
        };
        // Point at the field when the operator is glued to it, else after it.
        if glued.is_some() {
            let at = self.tokens[self.pos - 1].at;
            return ParseError::new(
                self.src,
                at,
                ErrorKind::ExpectedOperator,
                message,
                EXPECTED_OPERATOR,
                format!("'{field}'"),
            );
        }
        self.error(ErrorKind::ExpectedOperator, message, EXPECTED_OPERATOR)
    }

    fn operator_phrase(&mut self, op: &str) -> Result<Test, ParseError> {
        Ok(match op {
            "=~" => Test::Match(self.pattern(PatternKind::Whole)?),
            "!~" => Test::NotMatch(self.pattern(PatternKind::Whole)?),
            _ => {
                let literal = self.literal()?;
                match op {
                    "=" => Test::Eq(literal),
                    "==" => Test::EqEq(literal),
                    "!=" => Test::Ne(literal),
                    "<>" => Test::LtGt(literal),
                    "<" => Test::Lt(literal),
                    "<=" => Test::Le(literal),
                    ">" => Test::Gt(literal),
                    _ => Test::Ge(literal),
                }
            }
        })
    }

    /// `phrase = identifier | quoted`: returns the text and whether it was quoted.
    fn phrase(&mut self) -> Result<(String, bool, usize), ParseError> {
        let at = self.offset();
        let phrase = match self.peek() {
            Some(Tok::Quoted(q)) => (q.clone(), true, at),
            Some(Tok::Word(w)) if keyword(w).is_some() || is_operator(w) => {
                let message = format!(
                    "'{w}' is a keyword or operator; quote it to use it as a value: \"{w}\""
                );
                return Err(self.error(ErrorKind::ExpectedValue, message, "a value"));
            }
            Some(Tok::Word(w)) => (w.clone(), false, at),
            _ => return Err(self.error(ErrorKind::ExpectedValue, "expected a value", "a value")),
        };
        self.pos += 1;
        Ok(phrase)
    }

    fn literal(&mut self) -> Result<Literal, ParseError> {
        let (text, quoted, at) = self.phrase()?;
        type_phrase(self.src, at, text, quoted)
    }

    fn pattern(&mut self, kind: PatternKind) -> Result<Pattern, ParseError> {
        let (text, quoted, at) = self.phrase()?;
        Pattern::compile(&text, kind).map_err(|e| match e {
            PatternError::Invalid { offset, message } => {
                // In a quoted phrase escapes shift offsets; point at the phrase then.
                let at = if quoted { at } else { at + offset };
                ParseError::new(
                    self.src,
                    at,
                    ErrorKind::InvalidRegex,
                    format!("invalid regex: {message}"),
                    "a regex without look-around or back-references",
                    crate::error::describe_at(self.src, at),
                )
            }
            PatternError::TooLarge => ParseError::new(
                self.src,
                at,
                ErrorKind::RegexTooLarge,
                "the regex is too large to compile",
                "a smaller regex",
                crate::error::describe_at(self.src, at),
            ),
        })
    }

    /// `"[" , phrase , { "," , phrase } , "]"` after IN.
    fn list(&mut self) -> Result<Vec<Literal>, ParseError> {
        if self.peek() != Some(&Tok::OpenBracket) {
            return Err(self.error(
                ErrorKind::ExpectedList,
                "IN needs a bracketed list",
                "'[' as in IN [a, b]",
            ));
        }
        self.pos += 1;
        if self.peek() == Some(&Tok::CloseBracket) {
            return Err(self.error(ErrorKind::EmptyList, "the list is empty", "a value"));
        }
        let mut items = vec![self.literal()?];
        loop {
            match self.peek() {
                Some(Tok::Comma) => {
                    self.pos += 1;
                    items.push(self.literal()?);
                }
                Some(Tok::CloseBracket) => {
                    self.pos += 1;
                    return Ok(items);
                }
                None => {
                    return Err(self.error(
                        ErrorKind::UnclosedList,
                        "the list is never closed",
                        "',' or ']'",
                    ));
                }
                Some(_) => {
                    return Err(self.error(
                        ErrorKind::UnclosedList,
                        "expected ',' or ']' in the list",
                        "',' or ']'",
                    ));
                }
            }
        }
    }
}

/// Types a phrase by README §B.3.
fn type_phrase(src: &str, at: usize, text: String, quoted: bool) -> Result<Literal, ParseError> {
    if quoted {
        return Ok(Literal::String(text));
    }
    match text.as_str() {
        "true" => return Ok(Literal::Bool(true)),
        "false" => return Ok(Literal::Bool(false)),
        _ => {}
    }
    if is_flyql_number(&text)
        && let Some(n) = parse_number(&text)
    {
        return Ok(Literal::Number(n));
    }
    match read_datetime(&text, Strictness::Query) {
        DateTimeText::Valid(dt) => Ok(Literal::DateTime(dt)),
        DateTimeText::Invalid(why) => Err(ParseError::new(
            src,
            at,
            ErrorKind::InvalidDateTime,
            format!("invalid date: {why}"),
            "a real date such as 2018-01-15 (quote it to compare as text)",
            format!("'{text}'"),
        )),
        DateTimeText::NotDateTime => Ok(Literal::String(text)),
    }
}

// ---------------------------------------------------------------------------------------
// Printing
// ---------------------------------------------------------------------------------------

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.any.iter().enumerate() {
            if i > 0 {
                f.write_str(" OR ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Conjunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, factor) in self.all.iter().enumerate() {
            if i > 0 {
                f.write_str(" AND ")?;
            }
            write!(f, "{factor}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Factor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Factor::Not(inner) => write!(f, "NOT {inner}"),
            Factor::Group(query) => write!(f, "({query})"),
            Factor::Term(term) => write!(f, "{term}"),
        }
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_word(f, &self.field)?;
        write!(f, " {}", self.test.operator())?;
        match &self.test {
            Test::Exists => Ok(()),
            Test::In(items) => {
                f.write_str(" [")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Test::Match(p) | Test::NotMatch(p) | Test::Like(p) | Test::Contains(p) => {
                f.write_str(" ")?;
                write_word(f, p.source())
            }
            Test::Eq(l)
            | Test::EqEq(l)
            | Test::Ne(l)
            | Test::LtGt(l)
            | Test::Lt(l)
            | Test::Le(l)
            | Test::Gt(l)
            | Test::Ge(l) => write!(f, " {l}"),
        }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Number(n) => write!(f, "{n}"),
            Literal::DateTime(dt) => f.write_str(&format_datetime(dt)),
            Literal::String(s) => {
                let converts = !matches!(
                    type_phrase("", 0, s.clone(), false),
                    Ok(Literal::String(ref same)) if same == s
                );
                if converts {
                    write_quoted(f, s)
                } else {
                    write_word(f, s)
                }
            }
        }
    }
}

/// Writes a field or phrase bare when it reads back as itself, else quoted.
fn write_word(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    let needs_quotes = s.is_empty()
        || s.chars()
            .any(|c| c.is_whitespace() || ",[]()'\"\\".contains(c))
        || keyword(s).is_some()
        || is_operator(s);
    if needs_quotes {
        write_quoted(f, s)
    } else {
        f.write_str(s)
    }
}

fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}
