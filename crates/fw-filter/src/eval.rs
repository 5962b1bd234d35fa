//! Evaluation shared by both languages: walking dotted paths through JSON, and comparing a
//! typed operand with a JSON value (README §A.3 and §B.4).

use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset};
use serde_json::Value as Json;

use crate::value::{DateTimeText, ObjectId, Strictness, read_datetime};

/// A typed operand borrowed from either language's AST.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Operand<'a> {
    Null,
    Bool(bool),
    Number(f64),
    ObjectId(&'a ObjectId),
    DateTime(&'a DateTime<FixedOffset>),
    String(&'a str),
}

/// Calls `visit` on every value found at the dotted `path` in `doc` until it returns true.
/// The path walks through arrays: `files.name` visits the name of every file, and a
/// numeric segment also indexes an array (`files.0.name`). Returns whether any call
/// returned true. A missing path calls nothing.
pub(crate) fn any_at(doc: &Json, path: &str, visit: &mut dyn FnMut(&Json) -> bool) -> bool {
    let (segment, rest) = match path.split_once('.') {
        Some((segment, rest)) => (segment, Some(rest)),
        None => (path, None),
    };
    match doc {
        Json::Object(map) => match map.get(segment) {
            Some(child) => match rest {
                Some(rest) => any_at(child, rest, visit),
                None => visit(child),
            },
            None => false,
        },
        Json::Array(items) => {
            let indexed = segment
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get(i))
                .is_some_and(|child| match rest {
                    Some(rest) => any_at(child, rest, visit),
                    None => visit(child),
                });
            indexed || items.iter().any(|item| any_at(item, path, visit))
        }
        _ => false,
    }
}

/// True when `pred` holds for `value` or, if it is an array, for any of its elements.
pub(crate) fn any_element(value: &Json, pred: &mut dyn FnMut(&Json) -> bool) -> bool {
    match value {
        Json::Array(items) => items.iter().any(pred),
        other => pred(other),
    }
}

/// `=`: the field equals the operand (any array element will do); `=null` also matches a
/// missing field.
pub(crate) fn field_equals(doc: &Json, path: &str, operand: Operand<'_>) -> bool {
    let mut found = false;
    let hit = any_at(doc, path, &mut |v| {
        found = true;
        any_element(v, &mut |x| equals(x, operand))
    });
    hit || (!found && matches!(operand, Operand::Null))
}

/// `=` against any of several operands (`=|` and `IN`).
pub(crate) fn field_equals_any<'a>(
    doc: &Json,
    path: &str,
    operands: impl Iterator<Item = Operand<'a>> + Clone,
) -> bool {
    let mut found = false;
    let hit = any_at(doc, path, &mut |v| {
        found = true;
        any_element(v, &mut |x| operands.clone().any(|o| equals(x, o)))
    });
    hit || (!found && operands.clone().any(|o| matches!(o, Operand::Null)))
}

/// `<`, `<=`, `>`, `>=`: some value at the path orders against the operand as `accept`
/// says. Only values of the operand's type count.
pub(crate) fn field_orders(
    doc: &Json,
    path: &str,
    operand: Operand<'_>,
    accept: fn(Ordering) -> bool,
) -> bool {
    any_at(doc, path, &mut |v| {
        any_element(v, &mut |x| compare(x, operand).is_some_and(accept))
    })
}

/// Some string at the path satisfies `pred` (regexes, LIKE, CONTAINS).
pub(crate) fn field_text_matches(doc: &Json, path: &str, pred: &dyn Fn(&str) -> bool) -> bool {
    any_at(doc, path, &mut |v| {
        any_element(v, &mut |x| x.as_str().is_some_and(pred))
    })
}

/// FlyQL `EXISTS`: present, not null, and not an empty array.
pub(crate) fn field_exists(doc: &Json, path: &str) -> bool {
    any_at(doc, path, &mut |v| match v {
        Json::Null => false,
        Json::Array(items) => items.iter().any(|x| !x.is_null()),
        _ => true,
    })
}

/// Equality without cross-type coercion, except the two README §A.3 asks for: an ObjectId
/// equals its hex string, and a datetime equals a string holding the same instant.
fn equals(json: &Json, operand: Operand<'_>) -> bool {
    match (operand, json) {
        (Operand::Null, Json::Null) => true,
        (Operand::Bool(b), Json::Bool(j)) => b == *j,
        (Operand::Number(n), Json::Number(j)) => j.as_f64() == Some(n),
        (Operand::String(s), Json::String(j)) => s == j,
        (Operand::ObjectId(id), json) => object_id_text(json) == Some(id.as_str()),
        (Operand::DateTime(dt), Json::String(j)) => document_datetime(j) == Some(*dt),
        _ => false,
    }
}

/// How `json` orders against `operand`, when they have the same type.
fn compare(json: &Json, operand: Operand<'_>) -> Option<Ordering> {
    match (operand, json) {
        (Operand::Number(n), Json::Number(j)) => j.as_f64()?.partial_cmp(&n),
        (Operand::String(s), Json::String(j)) => Some(j.as_str().cmp(s)),
        (Operand::Bool(b), Json::Bool(j)) => Some(j.cmp(&b)),
        (Operand::ObjectId(id), json) => Some(object_id_text(json)?.cmp(id.as_str())),
        (Operand::DateTime(dt), Json::String(j)) => Some(document_datetime(j)?.cmp(dt)),
        _ => None,
    }
}

/// An ObjectId in a document: its hex string, or MongoDB extended JSON `{"$oid": hex}`.
fn object_id_text(json: &Json) -> Option<&str> {
    match json {
        Json::String(s) => Some(s),
        Json::Object(map) if map.len() == 1 => map.get("$oid")?.as_str(),
        _ => None,
    }
}

fn document_datetime(text: &str) -> Option<DateTime<FixedOffset>> {
    match read_datetime(text, Strictness::Document) {
        DateTimeText::Valid(dt) => Some(dt),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values_at(doc: &Json, path: &str) -> Vec<Json> {
        let mut seen = Vec::new();
        any_at(doc, path, &mut |v| {
            seen.push(v.clone());
            false
        });
        seen
    }

    #[test]
    fn paths_walk_objects_and_arrays() {
        let doc = json!({
            "info": {"a": {"b": 1}},
            "files": [{"name": "x", "tags": ["t1"]}, {"name": "y"}, 7],
            "matrix": [[1, 2], [3]],
        });
        assert_eq!(values_at(&doc, "info.a.b"), vec![json!(1)]);
        assert_eq!(values_at(&doc, "files.name"), vec![json!("x"), json!("y")]);
        assert_eq!(values_at(&doc, "files.1.name"), vec![json!("y")]);
        assert_eq!(values_at(&doc, "files.tags"), vec![json!(["t1"])]);
        assert_eq!(values_at(&doc, "matrix"), vec![json!([[1, 2], [3]])]);
        assert!(values_at(&doc, "info.a.b.c").is_empty());
        assert!(values_at(&doc, "nope").is_empty());
    }

    #[test]
    fn equality_has_no_cross_type_coercion() {
        let doc = json!({"label": "1001", "n": 25.0, "id": {"$oid": "5ebd4ff8bfda5102856aa084"}});
        assert!(!field_equals(&doc, "label", Operand::Number(1001.0)));
        assert!(field_equals(&doc, "label", Operand::String("1001")));
        assert!(field_equals(&doc, "n", Operand::Number(25.0)));
        let id = ObjectId::parse("5ebd4ff8bfda5102856aa084").unwrap();
        assert!(field_equals(&doc, "id", Operand::ObjectId(&id)));
        assert!(field_equals(&doc, "missing", Operand::Null));
        assert!(!field_equals(&doc, "label", Operand::Null));
    }

    #[test]
    fn exists_needs_a_real_value() {
        let doc = json!({"a": null, "b": [], "c": [null], "d": 0, "e": [1]});
        let exists: Vec<bool> = ["a", "b", "c", "d", "e", "f"]
            .iter()
            .map(|p| field_exists(&doc, p))
            .collect();
        assert_eq!(exists, [false, false, false, true, true, false]);
    }
}
