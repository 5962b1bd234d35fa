//! Finding the fields a value read that the schema does not name, at every depth.
//!
//! Every generated model keeps unknown fields in `extra`, so reading a reply from a newer
//! server loses nothing. A server reading a request body wants the opposite: a field it
//! does not know is a mistake to report, not a value to keep (docs/wire.md §15.6), wherever
//! it sits. [`UnknownFields`] walks a decoded value and names each one by its path.

use std::collections::BTreeMap;

/// A value that can list the fields it read that its schema does not name. Generated for
/// every model (`cargo xtask codegen`); written by hand for [`SubjectRef`](crate::SubjectRef)
/// and [`Container`](crate::Container), and for the lists, maps and options that hold
/// models. Free-form fields (`object` and `any` in the schema, such as `info`) are never
/// looked into: whatever they hold is known.
pub trait UnknownFields {
    /// Adds to `out` the path of every unknown field of this value, below `path` (the path
    /// of the value itself, `""` for a whole body).
    fn unknown_fields_into(&self, path: &str, out: &mut Vec<String>);

    /// The paths of every unknown field, at any depth, in the order they were read:
    /// `bogus`, `permissions[0].acess`, `filters[1].tags.plsu`.
    fn unknown_fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.unknown_fields_into("", &mut out);
        out
    }
}

/// The path of field `name` of the value at `path`: `name` at the top, else `path.name`.
pub fn field_path(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// Adds the paths of the keys of `extra` (a model's unknown fields) to `out`.
pub fn extra_paths(
    path: &str,
    extra: &serde_json::Map<String, serde_json::Value>,
    out: &mut Vec<String>,
) {
    out.extend(extra.keys().map(|key| field_path(path, key)));
}

impl<T: UnknownFields> UnknownFields for Option<T> {
    fn unknown_fields_into(&self, path: &str, out: &mut Vec<String>) {
        if let Some(value) = self {
            value.unknown_fields_into(path, out);
        }
    }
}

impl<T: UnknownFields> UnknownFields for Vec<T> {
    fn unknown_fields_into(&self, path: &str, out: &mut Vec<String>) {
        for (i, item) in self.iter().enumerate() {
            item.unknown_fields_into(&format!("{path}[{i}]"), out);
        }
    }
}

impl<T: UnknownFields> UnknownFields for BTreeMap<String, T> {
    fn unknown_fields_into(&self, path: &str, out: &mut Vec<String>) {
        for (key, value) in self {
            value.unknown_fields_into(&field_path(path, key), out);
        }
    }
}

impl UnknownFields for crate::SubjectRef {
    fn unknown_fields_into(&self, path: &str, out: &mut Vec<String>) {
        match self {
            crate::SubjectRef::Id(_) => {}
            // The Python SDK sends the whole `Subject` it was given (`created`, `files`,
            // …; `project.add_session(subject=subject)`): what a subject names is known
            // here. fw-server applies the subject fields and checks them as a subject's.
            crate::SubjectRef::Embedded(subject) => out.extend(
                subject
                    .extra
                    .keys()
                    .filter(|key| !crate::Subject::FIELDS.contains(&key.as_str()))
                    .map(|key| field_path(path, key)),
            ),
        }
    }
}

impl UnknownFields for crate::Container {
    fn unknown_fields_into(&self, path: &str, out: &mut Vec<String>) {
        use crate::Container;
        match self {
            Container::Group(c) => c.unknown_fields_into(path, out),
            Container::Project(c) => c.unknown_fields_into(path, out),
            Container::Subject(c) => c.unknown_fields_into(path, out),
            Container::Session(c) => c.unknown_fields_into(path, out),
            Container::Acquisition(c) => c.unknown_fields_into(path, out),
            Container::Analysis(c) => c.unknown_fields_into(path, out),
            Container::File(c) => c.unknown_fields_into(path, out),
            // A kind this SDK does not know: every field is kept, none is known.
            Container::Other { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{DownloadRequest, ProjectUpdate, SessionUpdate};
    use serde_json::json;

    fn unknown<T: crate::WireModel>(body: serde_json::Value) -> Vec<String> {
        serde_json::from_value::<T>(body).unwrap().unknown_fields()
    }

    #[test]
    fn unknown_fields_are_named_by_their_path_at_every_depth() {
        assert_eq!(
            unknown::<ProjectUpdate>(json!({"label": "x", "bogus": 1})),
            ["bogus"]
        );
        assert_eq!(
            unknown::<SessionUpdate>(json!({
                "permissions": [{"_id": "u", "role_ids": []}, {"_id": "v", "acess": "ro"}],
                "subject": {"code": "s1", "sex": "male", "created": "2020-01-01", "sexx": 1},
            })),
            ["permissions[1].acess", "subject.sexx"]
        );
        assert_eq!(
            unknown::<DownloadRequest>(json!({
                "nodes": [{"level": "project", "_id": "p", "x": 1}],
                "filters": [{"tags": {"plus": ["a"]}}, {"types": {"minus": [], "minsu": []}}],
            })),
            ["nodes[0].x", "filters[1].types.minsu"]
        );
    }

    #[test]
    fn free_form_fields_and_ids_are_not_looked_into() {
        assert!(
            unknown::<SessionUpdate>(json!({
                "info": {"any": {"thing": [1, {"deep": true}]}},
                "subject": "650000000000000000000002",
            }))
            .is_empty()
        );
    }
}
