//! Metadata edits on any container: `info` (docs/wire.md §8.2), tags and notes (§9).

use rusqlite::Connection;
use serde_json::{Map, Value, json};

use crate::access::Target;
use crate::auth::user;
use crate::containers;
use crate::error::ApiError;
use crate::ids::{now, object_id};
use crate::json::{decode_stored_as, stored_list, stored_object};
use crate::kind::Kind;
use crate::roles::Level;
use crate::store::{add_to_list_and_save, remove_by_id, touch_and_save};

/// Info keys may not hold `$` or `.` (they would be operators and paths); the server
/// replaces them, as Flywheel does: `$` → `-`, `.` → `_`. `path` names the value in
/// messages (`info`).
///
/// # Errors
///
/// A 400 naming both keys when two keys of one object become the same key (`q_r` and
/// `q.r`): one value would be lost silently (docs/wire.md §15.1).
pub(crate) fn sanitize_keys(value: Value, path: &str) -> Result<Value, ApiError> {
    Ok(match value {
        Value::Object(map) => {
            let mut out = Map::new();
            let mut given: Map<String, Value> = Map::new();
            for (key, inner) in map {
                let clean = key.replace('$', "-").replace('.', "_");
                let inner = sanitize_keys(inner, &format!("{path}.{clean}"))?;
                if let Some(first) = given.insert(clean.clone(), json!(key)) {
                    return Err(ApiError::bad_request(format!(
                        "{path}.{clean}: the keys {first} and {key:?} both become {clean:?} \
                         (`.` becomes `_` and `$` becomes `-`); send one of them"
                    )));
                }
                out.insert(clean, inner);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| sanitize_keys(item, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        other => other,
    })
}

/// The value to store for the field `key` of a container, analysis or user body: `info`
/// with its keys sanitized at every depth (`sanitize_keys`), anything else as sent. Every
/// path that writes a body's fields (create, `PUT`) goes through this, so one rule holds
/// for all of them (docs/wire.md §8.2).
pub(crate) fn field_to_store(key: &str, value: Value) -> Result<Value, ApiError> {
    if key == "info" {
        sanitize_keys(value, "info")
    } else {
        Ok(value)
    }
}

/// Removes a dotted path from an object; returns whether something was there.
fn delete_path(object: &mut Map<String, Value>, path: &str) -> bool {
    match path.split_once('.') {
        None => object.remove(path).is_some(),
        Some((head, rest)) => match object.get_mut(head) {
            Some(Value::Object(inner)) => delete_path(inner, rest),
            _ => false,
        },
    }
}

/// `PATCH /{coll}/{id}/info` with `set` (merge top-level keys), `replace` (the whole
/// info) and `delete` (keys or dotted paths); needs read-write.
pub(crate) fn update_info(c: &Connection, target: &Target, body: Value) -> Result<(), ApiError> {
    let mut row = target.get(c, Level::Rw)?;
    let info = match row.doc.as_object() {
        Some(doc) => stored_object(doc, "info", &row.what())?,
        None => Map::new(),
    };
    row.doc["info"] = Value::Object(apply_info_update(info, body)?);
    touch_and_save(c, &mut row)
}

/// Applies an `Info` delta to an info object (containers and files alike).
pub(crate) fn apply_info_update(
    info: Map<String, Value>,
    body: Value,
) -> Result<Map<String, Value>, ApiError> {
    let delta: fw_model::InfoUpdate = crate::json::typed_body(body, "info update")?;
    if delta.set.is_none() && delta.replace.is_none() && delta.delete.is_none() {
        return Err(ApiError::bad_request(
            "an info update has `set`, `replace` or `delete`, and nothing else",
        ));
    }
    // As core refused it: what a replace keeps would depend on the order applied.
    if delta.replace.is_some() && (delta.set.is_some() || delta.delete.is_some()) {
        return Err(ApiError::bad_request(
            "an info update cannot `replace` and also `set` or `delete`",
        ));
    }
    let mut info = match delta.replace {
        Some(replace) => match sanitize_keys(Value::Object(replace), "replace")? {
            Value::Object(map) => map,
            _ => Map::new(),
        },
        None => info,
    };
    if let Some(Value::Object(set)) = delta
        .set
        .map(|s| sanitize_keys(Value::Object(s), "set"))
        .transpose()?
    {
        info.extend(set);
    }
    for path in delta.delete.unwrap_or_default() {
        delete_path(&mut info, &path);
    }
    Ok(info)
}

/// `POST /{coll}/{id}/tags` `{"value"}`: adds a tag once; returns how many were added.
pub(crate) fn add_tag(c: &Connection, target: &Target, body: Value) -> Result<usize, ApiError> {
    let tag = tag_value(body)?;
    let mut row = target.get(c, Level::Rw)?;
    let mut tags = tags_of(&row)?;
    if tags.contains(&tag) {
        return Ok(0);
    }
    tags.push(tag);
    row.doc["tags"] = json!(tags);
    touch_and_save(c, &mut row)?;
    Ok(1)
}

/// `PUT /{coll}/{id}/tags/{old}` `{"value": new}`: renames a tag; returns the new name.
pub(crate) fn rename_tag(
    c: &Connection,
    target: &Target,
    old: &str,
    body: Value,
) -> Result<String, ApiError> {
    let (kind, id) = (target.kind, target.id.as_str());
    let new = tag_value(body)?;
    let mut row = target.get(c, Level::Rw)?;
    let mut tags = tags_of(&row)?;
    let Some(position) = tags.iter().position(|t| t == old) else {
        return Err(ApiError::not_found(format!(
            "{} {id} has no tag {old:?}",
            kind.name()
        )));
    };
    tags.remove(position);
    if !tags.contains(&new) {
        tags.insert(position, new.clone());
    }
    row.doc["tags"] = json!(tags);
    touch_and_save(c, &mut row)?;
    Ok(new)
}

/// `DELETE /{coll}/{id}/tags/{value}`: returns whether the tag was there.
pub(crate) fn delete_tag(c: &Connection, target: &Target, tag: &str) -> Result<bool, ApiError> {
    let mut row = target.get(c, Level::Rw)?;
    let tags = tags_of(&row)?;
    let kept: Vec<&String> = tags.iter().filter(|t| *t != tag).collect();
    if kept.len() == tags.len() {
        return Ok(false);
    }
    row.doc["tags"] = json!(kept);
    touch_and_save(c, &mut row)?;
    Ok(true)
}

/// `POST /{coll}/{id}/notes` `{"text"}`: a note attributed to the caller.
pub(crate) fn add_note(c: &Connection, target: &Target, body: Value) -> Result<Value, ApiError> {
    let (caller, kind) = (&target.caller, target.kind);
    if kind == Kind::Group {
        return Err(ApiError::not_found("groups have no notes"));
    }
    let input: fw_model::NoteInput = crate::json::typed_body(body, "note")?;
    if input.text.trim().is_empty() {
        return Err(ApiError::bad_request("a note needs some `text`"));
    }
    let mut row = target.get(c, Level::Rw)?;
    let author = user(c, &caller.user_id)?.unwrap_or_default();
    let when = now();
    let note = json!({
        "_id": object_id(), "text": input.text, "user": caller.user_id,
        "firstname": author["firstname"], "lastname": author["lastname"],
        "created": when, "modified": when,
    });
    add_to_list_and_save(c, &mut row, "notes", note.clone())?;
    Ok(note)
}

/// `DELETE /{coll}/{id}/notes/{note_id}`: returns whether the note was there.
pub(crate) fn delete_note(
    c: &Connection,
    target: &Target,
    note_id: &str,
) -> Result<bool, ApiError> {
    let mut row = target.get(c, Level::Rw)?;
    if !remove_by_id(&mut row, "notes", note_id)? {
        return Ok(false);
    }
    touch_and_save(c, &mut row)?;
    Ok(true)
}

/// `GET /{coll}/{id}/tags/{value}`: the tag, when the container has it (else 404).
pub(crate) fn get_tag(c: &Connection, target: &Target, tag: &str) -> Result<String, ApiError> {
    let row = target.get(c, Level::Ro)?;
    tags_of(&row)?
        .into_iter()
        .find(|t| t == tag)
        .ok_or_else(|| ApiError::not_found(format!("{} has no tag {tag:?}", row.what())))
}

/// `GET /{coll}/{id}/notes/{note_id}`: one note (else 404).
pub(crate) fn get_note(c: &Connection, target: &Target, note_id: &str) -> Result<Value, ApiError> {
    let row = target.get(c, Level::Ro)?;
    stored_list(&row.doc, "notes", &row.what())?
        .into_iter()
        .find(|note| note["_id"] == note_id)
        .ok_or_else(|| ApiError::not_found(format!("{} has no note {note_id}", row.what())))
}

fn tag_value(body: Value) -> Result<String, ApiError> {
    let tag: fw_model::TagInput = crate::json::typed_body(body, "tag")?;
    let value = tag.value.trim().to_string();
    if value.is_empty() || value.chars().count() > containers::MAX_LABEL {
        return Err(ApiError::bad_request(format!(
            "a tag is 1 to {} characters",
            containers::MAX_LABEL
        )));
    }
    Ok(value)
}

/// The tags of a stored container: a list of strings.
fn tags_of(row: &crate::store::Row) -> Result<Vec<String>, ApiError> {
    decode_stored_as(
        Value::Array(stored_list(&row.doc, "tags", &row.what())?),
        &format!("the tags of {}", row.what()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sanitized_and_paths_deleted() {
        assert_eq!(
            sanitize_keys(json!({"a.b": {"$c": 1}}), "info").unwrap(),
            json!({"a_b": {"-c": 1}})
        );
        // Two keys that become one are a 400 naming both, at any depth.
        assert_eq!(
            sanitize_keys(json!({"x": [{"a$b": 1, "a-b": 2}]}), "info")
                .unwrap_err()
                .message,
            "info.x[0].a-b: the keys \"a$b\" and \"a-b\" both become \"a-b\" \
             (`.` becomes `_` and `$` becomes `-`); send one of them"
        );
        let mut info = json!({"a": 1, "nested": {"b": 2, "c": 3}})
            .as_object()
            .cloned()
            .unwrap();
        assert!(delete_path(&mut info, "nested.b"));
        assert!(!delete_path(&mut info, "nested.z"));
        assert!(delete_path(&mut info, "a"));
        assert_eq!(Value::Object(info), json!({"nested": {"c": 3}}));
    }
}
