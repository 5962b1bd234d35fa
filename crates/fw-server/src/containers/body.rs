//! Create and update bodies: decoded with fw-model's types, labels and ids checked.

use fw_model::WireModel;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::kind::{Kind, PerKind};

use super::MAX_LABEL;

/// The datetime fields of container create and update bodies (fw-model's schema: the
/// `datetime` fields of `*Input` and `*Update`; `created` and `modified` are the server's).
const DATETIME_FIELDS: [&str; 1] = ["timestamp"];

/// Decodes a body with its fw-model type: wrong types and unknown fields are a 400.
/// Returns the fields given, re-encoded (absent and null fields dropped).
pub(super) fn decode<T: WireModel>(
    kind: Kind,
    body: Value,
    what: &str,
) -> Result<Map<String, Value>, ApiError> {
    let typed: T = crate::json::typed_body(body, &format!("{} {what}", kind.name()))?;
    let mut fields = match serde_json::to_value(&typed) {
        Ok(Value::Object(map)) => map,
        _ => return Err(ApiError::internal(format!("cannot re-encode a {what}"))),
    };
    // Datetimes are stored as UTC instants (docs/wire.md §15.2), so they read back
    // with an offset and sort by the instant.
    for field in DATETIME_FIELDS {
        if let Some(Value::String(text)) = fields.get(field) {
            let stored = crate::ids::instant(text, field)?;
            fields.insert(field.to_string(), Value::String(stored));
        }
    }
    Ok(fields)
}

/// Decodes and checks a create body with its fw-model input type
/// ([`ContainerKind::Create`](fw_model::ContainerKind::Create)).
pub(super) fn create_body(kind: Kind, body: Value) -> Result<Map<String, Value>, ApiError> {
    kind.with(Decode {
        kind,
        body,
        update: false,
    })
}

/// Decodes and checks an update body with its fw-model update type
/// ([`ContainerKind::Update`](fw_model::ContainerKind::Update)).
pub(super) fn update_body(kind: Kind, body: Value) -> Result<Map<String, Value>, ApiError> {
    kind.with(Decode {
        kind,
        body,
        update: true,
    })
}

/// [`decode`] with the create or update type of a kind.
struct Decode {
    kind: Kind,
    body: Value,
    update: bool,
}

impl PerKind for Decode {
    type Out = Result<Map<String, Value>, ApiError>;
    fn run<K: fw_model::ContainerKind>(self) -> Self::Out {
        if self.update {
            decode::<K::Update>(self.kind, self.body, "update")
        } else {
            decode::<K::Create>(self.kind, self.body, "create body")
        }
    }
}

pub(super) fn check_label(fields: &Map<String, Value>, key: &str) -> Result<(), ApiError> {
    if let Some(label) = fields.get(key).and_then(Value::as_str) {
        if label.chars().count() > MAX_LABEL {
            return Err(ApiError::bad_request(format!(
                "{key} is longer than {MAX_LABEL} characters"
            )));
        }
        if label.trim().is_empty() {
            return Err(ApiError::bad_request(format!("{key} must not be empty")));
        }
    }
    Ok(())
}

/// A group id as Flywheel allows them: lowercase letters, digits, `_`, `-` and `.`, 2 to
/// 64 characters, starting with a letter or digit.
pub(super) fn check_group_id(id: &str) -> Result<(), ApiError> {
    let ok = (2..=64).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{id:?} is not a valid group id: use 2 to 64 lowercase letters, digits, '_', '-' or '.'"
        )))
    }
}

pub(super) fn require_field(fields: &Map<String, Value>, key: &str) -> Result<(), ApiError> {
    match fields.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(()),
        _ => Err(ApiError::bad_request(format!(
            "the body needs a non-empty `{key}`"
        ))),
    }
}

/// Keeps a subject's `code` and `label` equal, as the SDK expects: the label wins when
/// both are given.
pub(super) fn sync_code_and_label(fields: &mut Map<String, Value>) -> Result<(), ApiError> {
    let value = fields
        .get("label")
        .or_else(|| fields.get("code"))
        .cloned()
        .ok_or_else(|| ApiError::bad_request("a subject needs a `label` or a `code`"))?;
    check_label(fields, "code")?;
    fields.insert("label".into(), value.clone());
    fields.insert("code".into(), value);
    Ok(())
}
