//! Text patterns compiled at parse time: regexes (`=~`, `!~`), FlyQL `LIKE` wildcards and
//! FlyQL `CONTAINS` phrases. All run on Rust's `regex` engine, which is linear in time.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, OnceLock};

use regex::{Regex, RegexBuilder};

/// The compiled-size limit of one pattern: large enough for any pattern a person types
/// (`\w{500}` fits), small enough that a hostile filter cannot eat the server's memory.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// How a [`Pattern`]'s source text is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatternKind {
    /// A regex that may match anywhere in the value (finder `=~`).
    Search,
    /// A regex that must match the whole value (FlyQL `=~` and `!~`).
    Whole,
    /// A FlyQL `LIKE` wildcard: `%`/`*` any run, `_`/`?` one character, whole value.
    Like,
    /// A FlyQL `CONTAINS` phrase: occurs anywhere in the value, ignoring case.
    Contains,
}

/// A pattern as written, with its compiled matcher.
///
/// Two patterns are equal when their kind and source are; the AST's JSON form holds the
/// source only.
#[derive(Clone)]
pub struct Pattern {
    source: String,
    kind: PatternKind,
    regex: Regex,
}

/// Why a pattern could not be compiled.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PatternError {
    /// The regex is not supported or not valid; the byte offset is into the source.
    Invalid { offset: usize, message: String },
    /// The compiled regex is larger than [`REGEX_SIZE_LIMIT`].
    TooLarge,
}

impl Pattern {
    /// Compiles `source` as a pattern of `kind`.
    pub(crate) fn compile(source: &str, kind: PatternKind) -> Result<Pattern, PatternError> {
        Ok(Pattern {
            source: source.to_string(),
            kind,
            regex: cached_regex(source, kind)?,
        })
    }

    /// The pattern as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// How the source is matched.
    pub fn kind(&self) -> PatternKind {
        self.kind
    }

    /// True when the pattern matches `text` (see [`PatternKind`]).
    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.source == other.source
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?}, {:?})", self.kind, self.source)
    }
}

impl serde::Serialize for Pattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

/// Serde helpers: a pattern's JSON form is its source; the kind comes from the operator.
pub(crate) mod serde_kind {
    use super::*;
    use serde::Deserialize;

    fn de<'de, D: serde::Deserializer<'de>>(d: D, kind: PatternKind) -> Result<Pattern, D::Error> {
        let source = String::deserialize(d)?;
        Pattern::compile(&source, kind).map_err(|e| {
            serde::de::Error::custom(match e {
                PatternError::Invalid { message, .. } => message,
                PatternError::TooLarge => "the regex is too large".to_string(),
            })
        })
    }
    pub(crate) fn search<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Pattern, D::Error> {
        de(d, PatternKind::Search)
    }
    pub(crate) fn whole<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Pattern, D::Error> {
        de(d, PatternKind::Whole)
    }
    pub(crate) fn like<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Pattern, D::Error> {
        de(d, PatternKind::Like)
    }
    pub(crate) fn contains<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Pattern, D::Error> {
        de(d, PatternKind::Contains)
    }
}

/// How many compiled patterns the process keeps. Compiling even `resting.*` takes about
/// 100 µs while parsing the rest of a filter takes about 1 µs, and servers see the same
/// filters over and over (every page of a finder repeats its filter).
const CACHE_CAPACITY: usize = 512;

type Cache = Mutex<HashMap<(PatternKind, String), Regex>>;

fn cached_regex(source: &str, kind: PatternKind) -> Result<Regex, PatternError> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Cache::default);
    let key = (kind, source.to_string());
    if let Some(regex) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(regex);
    }
    let regex = build_regex(source, kind)?;
    if let Ok(mut c) = cache.lock() {
        if c.len() >= CACHE_CAPACITY {
            // Crude but bounded: start afresh rather than track recency.
            c.clear();
        }
        c.insert(key, regex.clone());
    }
    Ok(regex)
}

fn build_regex(source: &str, kind: PatternKind) -> Result<Regex, PatternError> {
    let program = match kind {
        PatternKind::Search => source.to_string(),
        PatternKind::Whole => format!(r"\A(?:{source})\z"),
        PatternKind::Like => like_to_regex(source),
        PatternKind::Contains => format!("(?i){}", regex::escape(source)),
    };
    if matches!(kind, PatternKind::Search | PatternKind::Whole) {
        // The syntax parser gives the position of a mistake, which `regex` does not.
        if let Err(e) = regex_syntax::ast::parse::Parser::new().parse(source) {
            return Err(PatternError::Invalid {
                offset: e.span().start.offset,
                message: e.kind().to_string(),
            });
        }
    }
    RegexBuilder::new(&program)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => PatternError::TooLarge,
            other => PatternError::Invalid {
                offset: 0,
                message: last_line(&other.to_string()),
            },
        })
}

fn like_to_regex(source: &str) -> String {
    let mut out = String::from(r"(?s)\A");
    let mut literal = String::new();
    for c in source.chars() {
        let wildcard = match c {
            '%' | '*' => ".*",
            '_' | '?' => ".",
            _ => {
                literal.push(c);
                continue;
            }
        };
        out.push_str(&regex::escape(&literal));
        literal.clear();
        out.push_str(wildcard);
    }
    out.push_str(&regex::escape(&literal));
    out.push_str(r"\z");
    out
}

/// `regex` renders syntax errors over several lines ending with `error: …`; keep that.
fn last_line(message: &str) -> String {
    let line = message.lines().last().unwrap_or(message).trim();
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(kind: PatternKind, source: &str, text: &str) -> bool {
        Pattern::compile(source, kind)
            .map(|p| p.is_match(text))
            .unwrap_or_else(|e| panic!("{source}: {e:?}"))
    }

    #[test]
    fn kinds_match_as_documented() {
        use PatternKind::*;
        let table = [
            (Search, "rest", "resting_state", true),
            (Search, "^rest$", "resting_state", false),
            (Search, "(?i)REST", "resting", true),
            (Search, "REST", "resting", false),
            (Whole, "rest", "resting", false),
            (Whole, "rest.*", "resting", true),
            (Whole, "a|b", "ab", false),
            (Whole, "a|b", "b", true),
            (Like, "patient 100?", "patient 1001", true),
            (Like, "patient 100?", "patient 10011", false),
            (Like, "pat%", "patient", true),
            (Like, "pat*t", "patient", true),
            (Like, "p_t", "pat", true),
            (Like, "a.c", "abc", false),
            (Like, "a%", "a\nb", true),
            (Contains, "SCIENCE", "Neuroscience 2", true),
            (Contains, "sci.nce", "science", false),
            (Contains, "ÄRZTE", "die ärzte", true),
        ];
        for (kind, source, text, want) in table {
            assert_eq!(
                matches(kind, source, text),
                want,
                "{kind:?} {source} ~ {text}"
            );
        }
    }

    #[test]
    fn unsupported_regexes_point_at_the_construct() {
        let err = Pattern::compile("ab(?=c)", PatternKind::Search).unwrap_err();
        assert!(
            matches!(err, PatternError::Invalid { offset: 2, ref message } if message.contains("look-around")),
            "{err:?}"
        );
        let err = Pattern::compile(r"(a)\1", PatternKind::Whole).unwrap_err();
        assert!(
            matches!(err, PatternError::Invalid { offset: 3, ref message } if message.contains("backreferences")),
            "{err:?}"
        );
        assert_eq!(
            Pattern::compile(r"\w{5000}", PatternKind::Search).unwrap_err(),
            PatternError::TooLarge
        );
    }

    #[test]
    fn equality_is_kind_and_source() {
        let a = Pattern::compile("x", PatternKind::Search).unwrap();
        let b = Pattern::compile("x", PatternKind::Search).unwrap();
        let c = Pattern::compile("x", PatternKind::Whole).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
