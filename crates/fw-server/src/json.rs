//! JSON at the edges of the store: how deep a body may nest, how large and how deep a stored
//! document may be, and reading stored JSON back.
//!
//! Why a depth rule: serde_json refuses to read JSON nested deeper than 127 levels (its
//! recursion limit of 128). A body value lands below the top of a stored document (file
//! `info` sits at `doc.files[i].info`, two levels deeper than in the body that sets it), so a
//! body that parsed could make a document that no longer reads back. Bodies may therefore
//! nest [`MAX_BODY_DEPTH`] levels, as MongoDB (Flywheel's store) allows 100 levels in a
//! document; the deepest landing place then makes a document of at most 102 levels, well
//! inside [`MAX_STORED_DEPTH`]. Dotted keys in an info `set` do not nest deeper (the server
//! replaces `.` in keys with `_`), and notes, tags and classifications are strings and lists
//! of strings. Every stored write is checked once more ([`encode_stored`]), so no path can
//! store what cannot be read.
//!
//! Why reads fail loudly: a stored document that cannot be read back is a server fault. It
//! is a 500 with a log line, never an empty value: an empty value would be shown, and the
//! next write would save it over the real document.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// How many levels of objects and arrays a request body may nest (the body itself is level
/// 1). The same as MongoDB's document limit; see the module docs for why it is safe.
pub(crate) const MAX_BODY_DEPTH: usize = 100;

/// How many levels a stored document may nest: the most serde_json reads back.
pub(crate) const MAX_STORED_DEPTH: usize = 127;

/// The largest stored document, in bytes of JSON: four times MongoDB's 16 MiB document
/// limit, so whatever Flywheel stores fits, and far below SQLite's 1 GB string limit.
pub(crate) const MAX_STORED_BYTES: usize = 64 << 20;

/// Applies `value` at `key` of `doc` the way Flywheel's core applied a `PUT` body (a `$set`
/// of the body flattened to dotted keys; docs/wire.md §15.1): a non-empty object merges
/// into an object already there, key by key and recursively; a scalar, a list, `null` or
/// an empty object `{}` replaces what is there.
pub(crate) fn merge_into(doc: &mut Map<String, Value>, key: String, value: Value) {
    match (doc.get_mut(&key), value) {
        (Some(Value::Object(old)), Value::Object(new)) if !new.is_empty() => {
            for (k, v) in new {
                merge_into(old, k, v);
            }
        }
        (_, value) => {
            doc.insert(key, value);
        }
    }
}

/// How many levels of objects and arrays `value` nests: 0 for a scalar, 1 for `{}` or `[]`.
pub(crate) fn depth(value: &Value) -> usize {
    // A loop rather than recursion, so no value can exhaust the stack.
    let mut deepest = 0;
    let mut pending: Vec<(&Value, usize)> = vec![(value, 1)];
    while let Some((value, level)) = pending.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Object(map) => Box::new(map.values()),
            Value::Array(items) => Box::new(items.iter()),
            _ => continue,
        };
        deepest = deepest.max(level);
        pending.extend(children.map(|child| (child, level + 1)));
    }
    deepest
}

/// The message for a body (or part of one) that nests too deep.
pub(crate) fn too_deep(what: &str) -> ApiError {
    ApiError::bad_request(format!(
        "{what} is nested deeper than {MAX_BODY_DEPTH} levels, the most this server stores"
    ))
}

/// Refuses a body (`what`: "the body", "the metadata part") nested deeper than
/// [`MAX_BODY_DEPTH`], naming the top-level field that is.
///
/// # Errors
///
/// A 400 naming the field.
pub(crate) fn check_body_depth(value: &Value, what: &str) -> Result<(), ApiError> {
    if depth(value) <= MAX_BODY_DEPTH {
        return Ok(());
    }
    // The field below the top: its depth plus the body's own level is too much.
    let field = match value {
        Value::Object(map) => map
            .iter()
            .find(|(_, v)| depth(v) >= MAX_BODY_DEPTH)
            .map(|(key, _)| format!("`{key}` in {what}")),
        Value::Array(items) => items
            .iter()
            .position(|v| depth(v) >= MAX_BODY_DEPTH)
            .map(|i| format!("item {i} of {what}")),
        _ => None,
    };
    Err(too_deep(&field.unwrap_or_else(|| what.to_string())))
}

/// Reads a body's JSON text: malformed JSON and JSON nested too deep (whether serde_json or
/// [`check_body_depth`] finds it) are 400s.
///
/// # Errors
///
/// A 400 that says what is wrong.
pub(crate) fn parse_body(bytes: &[u8], what: &str) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        if e.to_string().starts_with("recursion limit exceeded") {
            too_deep(what)
        } else {
            ApiError::bad_request(format!("{what} is not valid JSON: {e}"))
        }
    })?;
    check_body_depth(&value, what)?;
    Ok(value)
}

/// A stored document failed to read back: a 500, and a log line naming it.
pub(crate) fn damaged(what: &str, problem: impl std::fmt::Display) -> ApiError {
    tracing::error!("{what} is stored damaged and cannot be read: {problem}");
    ApiError::internal(format!(
        "{what} is stored damaged and cannot be read ({problem}); nothing was changed"
    ))
}

/// Reads stored JSON text back (`what` names it for the message: "container 5f…").
///
/// # Errors
///
/// A 500 with a log line when the text does not read back; never a default value.
pub(crate) fn decode_stored(text: &str, what: &str) -> Result<Value, ApiError> {
    serde_json::from_str(text).map_err(|e| damaged(what, e))
}

/// Reads a stored value into its type (a file's tags, a classification).
///
/// # Errors
///
/// A 500 with a log line when the value does not have the type it was stored with.
pub(crate) fn decode_stored_as<T: serde::de::DeserializeOwned>(
    value: Value,
    what: &str,
) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(|e| damaged(what, e))
}

/// Reads a stored document that must be a JSON object.
///
/// # Errors
///
/// As [`decode_stored`], and a 500 when the document is not an object.
pub(crate) fn decode_stored_object(text: &str, what: &str) -> Result<Value, ApiError> {
    match decode_stored(text, what)? {
        object @ Value::Object(_) => Ok(object),
        other => Err(damaged(
            what,
            format!("not a JSON object but {}", kind(&other)),
        )),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A list field of a stored document (`files`, `notes`, `permissions`): empty when absent
/// or null.
///
/// # Errors
///
/// A 500 with a log line when the field holds something other than a list.
pub(crate) fn stored_list(doc: &Value, key: &str, what: &str) -> Result<Vec<Value>, ApiError> {
    stored_field(doc.get(key), key, what, "a list", |v| v.as_array().cloned())
}

/// An object field of a stored document (`info`): empty when absent or null.
///
/// # Errors
///
/// A 500 with a log line when the field holds something other than an object.
pub(crate) fn stored_object(
    doc: &Map<String, Value>,
    key: &str,
    what: &str,
) -> Result<Map<String, Value>, ApiError> {
    stored_field(doc.get(key), key, what, "an object", |v| {
        v.as_object().cloned()
    })
}

/// A field `key` of a stored document read by `take`: `T`'s empty value when absent or null,
/// a 500 naming `expected` (`a list`) when `take` finds something else.
fn stored_field<T: Default>(
    field: Option<&Value>,
    key: &str,
    what: &str,
    expected: &str,
    take: impl FnOnce(&Value) -> Option<T>,
) -> Result<T, ApiError> {
    match field {
        None | Some(Value::Null) => Ok(T::default()),
        Some(value) => take(value).ok_or_else(|| {
            damaged(
                &format!("`{key}` of {what}"),
                format!("{expected} was expected, found {}", kind(value)),
            )
        }),
    }
}

/// Writes a document as stored JSON text, refusing what could not be read back.
///
/// # Errors
///
/// A 400 when the document would nest deeper than [`MAX_STORED_DEPTH`] or be larger than
/// [`MAX_STORED_BYTES`]; the caller's transaction then writes nothing.
pub(crate) fn encode_stored(doc: &Value, what: &str) -> Result<String, ApiError> {
    if depth(doc) > MAX_STORED_DEPTH {
        return Err(ApiError::bad_request(format!(
            "this change would nest {what} deeper than {MAX_STORED_DEPTH} levels, more than \
             the store reads back"
        )));
    }
    let text = doc.to_string();
    if text.len() > MAX_STORED_BYTES {
        return Err(ApiError::bad_request(format!(
            "this change would make {what} {} bytes of JSON, more than the {MAX_STORED_BYTES} \
             a stored document may hold",
            text.len()
        )));
    }
    Ok(text)
}

/// Decodes a JSON body with its fw-model type (`null` reads as `{}`): a body that is not an
/// object, a wrong type and an unknown field at any depth are 400s that name the problem
/// (docs/wire.md §15.6: `unknown field(s) in a download request: filters[0].tags.plsu`).
/// Free-form fields (`info`, a classification's values) hold what they are given.
///
/// # Errors
///
/// A 400 naming the problem.
pub(crate) fn typed_body<T: fw_model::WireModel>(body: Value, what: &str) -> Result<T, ApiError> {
    let body = match body {
        Value::Null => Value::Object(Map::new()),
        object @ Value::Object(_) => object,
        other => {
            return Err(ApiError::bad_request(format!(
                "the {what} must be a JSON object, not {other}"
            )));
        }
    };
    let typed: T = decode_body(body, what)?;
    let unknown = typed.unknown_fields();
    if !unknown.is_empty() {
        return Err(ApiError::bad_request(format!(
            "unknown field(s) in a {what}: {}",
            unknown.join(", ")
        )));
    }
    Ok(typed)
}

/// Decodes a request body (or a part of one) as `T`; a value that does not fit is a 400
/// whose message starts with the field's path (docs/wire.md §15.5): `size: expected an
/// integer, found the string "ten" (in the search)`. Every JSON body is decoded through
/// this.
///
/// # Errors
///
/// A 400 naming the field, what it needs and what it got.
pub(crate) fn decode_body<T: serde::de::DeserializeOwned>(
    body: Value,
    what: &str,
) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        let problem = plain_type_error(&e.inner().to_string());
        if path == "." {
            ApiError::bad_request(format!("the {what}: {problem}"))
        } else {
            ApiError::bad_request(format!("{path}: {problem} (in the {what})"))
        }
    })
}

/// serde's `invalid type: string "ten", expected i64` in a user's words: `expected an
/// integer, found the string "ten"`. Other messages are kept.
fn plain_type_error(message: &str) -> String {
    let Some((found, expected)) = message
        .strip_prefix("invalid type: ")
        .and_then(|rest| rest.rsplit_once(", expected "))
    else {
        return message.to_string();
    };
    let expected = match expected {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" | "isize" => {
            "an integer"
        }
        "f32" | "f64" => "a number",
        "a boolean" | "bool" => "true or false",
        "a sequence" => "a list",
        "a map" => "an object",
        other if other.starts_with("struct ") => "an object",
        other => other,
    };
    let found = if let Some(text) = found.strip_prefix("string ") {
        format!("the string {text}")
    } else if let Some((_, literal)) = found.split_once(" `") {
        literal.trim_end_matches('`').to_string()
    } else {
        match found {
            "map" => "an object".to_string(),
            "sequence" => "a list".to_string(),
            "unit value" | "null" => "null".to_string(),
            other => other.to_string(),
        }
    };
    format!("expected {expected}, found {found}")
}

/// Reads the named fields of an object body that hold a numeric string (`"10"`) as the
/// integer, as Flywheel's core converted them (docs/wire.md §15.5: search `size`).
pub(crate) fn numeric_strings(body: &mut Value, fields: &[&str]) {
    for field in fields {
        if let Some(slot) = body.get_mut(*field)
            && let Some(n) = slot.as_str().and_then(|s| s.trim().parse::<i64>().ok())
        {
            *slot = Value::from(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `{"k": {"k": … 1 …}}` with `levels` objects.
    fn nested(levels: usize) -> Value {
        (0..levels).fold(json!(1), |inner, _| json!({ "k": inner }))
    }

    #[test]
    fn objects_merge_recursively_and_everything_else_replaces() {
        let mut doc = json!({"info": {"a": {"b": 1, "c": 2}, "k": 1, "l": [1, 2], "e": {"x": 1}}, "sex": "f"});
        let body = json!({"info": {"a": {"b": 3}, "l": [3], "e": {}, "n": null}, "sex": "male"});
        let map = doc.as_object_mut().unwrap();
        for (k, v) in body.as_object().unwrap().clone() {
            merge_into(map, k, v);
        }
        assert_eq!(
            doc,
            json!({"info": {"a": {"b": 3, "c": 2}, "k": 1, "l": [3], "e": {}, "n": null}, "sex": "male"})
        );
        // A non-object below is replaced by the object.
        let mut doc = json!({"info": 5});
        merge_into(doc.as_object_mut().unwrap(), "info".into(), json!({"a": 1}));
        assert_eq!(doc, json!({"info": {"a": 1}}));
    }

    #[test]
    fn type_errors_name_the_field() {
        let error =
            typed_body::<fw_model::SubjectInput>(json!({"label": 5}), "subject create body")
                .unwrap_err();
        assert_eq!(
            error.message,
            "label: expected a string, found 5 (in the subject create body)"
        );
        let error =
            typed_body::<fw_model::SearchQuery>(json!({"size": "ten"}), "search").unwrap_err();
        assert_eq!(
            error.message,
            "size: expected an integer, found the string \"ten\" (in the search)"
        );
        let error = typed_body::<fw_model::SessionUpdate>(
            json!({"permissions": [{"_id": "u", "role_ids": 5}]}),
            "session update",
        )
        .unwrap_err();
        assert_eq!(
            error.message,
            "permissions[0].role_ids: expected a list, found 5 (in the session update)"
        );
        let mut body = json!({"size": "10", "label": "10"});
        numeric_strings(&mut body, &["size"]);
        assert_eq!(body, json!({"size": 10, "label": "10"}));
    }

    #[test]
    fn depth_counts_objects_and_lists() {
        assert_eq!(depth(&json!(1)), 0);
        assert_eq!(depth(&json!({})), 1);
        assert_eq!(depth(&json!([[], {"a": [1]}])), 3);
        assert_eq!(depth(&nested(127)), 127);
    }

    #[test]
    fn bodies_at_the_limit_pass_and_deeper_ones_name_their_field() {
        let at_limit = json!({ "set": nested(MAX_BODY_DEPTH - 1) });
        assert_eq!(depth(&at_limit), MAX_BODY_DEPTH);
        assert!(check_body_depth(&at_limit, "the body").is_ok());
        let over = json!({"label": "x", "set": nested(MAX_BODY_DEPTH)});
        let error = check_body_depth(&over, "the body").unwrap_err();
        assert_eq!(error.status.as_u16(), 400);
        assert_eq!(
            error.message,
            "`set` in the body is nested deeper than 100 levels, the most this server stores"
        );
        let text = nested(130).to_string();
        let error = parse_body(text.as_bytes(), "the body").unwrap_err();
        assert_eq!(
            error.message,
            "the body is nested deeper than 100 levels, the most this server stores"
        );
    }

    #[test]
    fn the_deepest_body_stores_a_document_that_reads_back() {
        // File info lands at doc.files[i].info: the body `{"set": info}` nests one level
        // above the info, the stored document three.
        let info = nested(MAX_BODY_DEPTH - 1);
        let doc = json!({"files": [{"info": info}]});
        let text = encode_stored(&doc, "container x").unwrap();
        assert_eq!(decode_stored(&text, "container x").unwrap(), doc);
        // What serde_json cannot read is refused before it is written.
        let error = encode_stored(&nested(MAX_STORED_DEPTH + 1), "container x").unwrap_err();
        assert_eq!(error.status.as_u16(), 400);
        assert!(decode_stored(&nested(MAX_STORED_DEPTH + 1).to_string(), "x").is_err());
        assert!(decode_stored(&nested(MAX_STORED_DEPTH).to_string(), "x").is_ok());
    }

    #[test]
    fn damaged_documents_are_errors_not_defaults() {
        for text in ["", "{", "[1]", "\"text\""] {
            let error = decode_stored_object(text, "container x").unwrap_err();
            assert_eq!(error.status.as_u16(), 500, "{text:?}");
            assert!(error.message.starts_with("container x is stored damaged"));
        }
        let doc = json!({"files": {"a": 1}, "info": [1], "notes": null});
        assert_eq!(
            stored_list(&doc, "notes", "x").unwrap(),
            Vec::<Value>::new()
        );
        assert_eq!(
            stored_list(&doc, "files", "x").unwrap_err().status.as_u16(),
            500
        );
        let map = doc.as_object().unwrap();
        assert_eq!(
            stored_object(map, "info", "x").unwrap_err().status.as_u16(),
            500
        );
        assert_eq!(stored_object(map, "absent", "x").unwrap(), Map::new());
        let tags: Result<Vec<String>, _> = decode_stored_as(json!([1]), "tags of x");
        assert_eq!(tags.unwrap_err().status.as_u16(), 500);
    }
}
