//! What create and update calls accept: a typed fw-model body, or free-form JSON.

use serde_json::{Map, Value};

use crate::Error;

/// A request body for a create or update call whose typed form is `T` (`SubjectInput`,
/// `ProjectUpdate`, `AccessPermission`, …).
///
/// Implemented for `T` itself and for free-form JSON (a [`serde_json::Value`] holding an
/// object, or a [`Map`]), as the Python SDK takes either a model or a dict:
///
/// ```no_run
/// # async fn run(project: fw_sdk::Project) -> Result<(), fw_sdk::Error> {
/// use fw_sdk::model::SubjectInput;
/// let typed = SubjectInput { label: Some("sub-01".into()), sex: Some("female".into()), ..Default::default() };
/// project.add_subject(typed).await?;
/// project.add_subject(serde_json::json!({"label": "sub-02", "sex": "male"})).await?;
/// # Ok(()) }
/// ```
///
/// JSON is sent as given (the server names any field it refuses); typed bodies drop their
/// `None` fields, as the Python SDK drops `None` attributes.
pub trait Metadata<T> {
    /// The body as a JSON object.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when the JSON is not an object.
    fn into_fields(self) -> Result<Map<String, Value>, Error>;
}

impl<T> Metadata<T> for Value {
    fn into_fields(self) -> Result<Map<String, Value>, Error> {
        match self {
            Value::Object(map) => Ok(map),
            other => Err(Error::invalid(format!(
                "a metadata body must be a JSON object, not {other}"
            ))),
        }
    }
}

impl<T> Metadata<T> for Map<String, Value> {
    fn into_fields(self) -> Result<Map<String, Value>, Error> {
        Ok(self)
    }
}

/// Serializes a typed body into its JSON object.
pub(crate) fn fields_of<T: serde::Serialize>(body: &T) -> Result<Map<String, Value>, Error> {
    match serde_json::to_value(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(Error::invalid(format!(
            "a metadata body must serialize to a JSON object, not {other}"
        ))),
        Err(e) => Err(Error::invalid(format!(
            "the body cannot be written as JSON: {e}"
        ))),
    }
}

/// `impl Metadata<T> for T` for each typed body (a blanket impl would overlap the JSON
/// ones).
macro_rules! typed_bodies {
    ($($ty:ty),* $(,)?) => {$(
        impl Metadata<$ty> for $ty {
            fn into_fields(self) -> Result<Map<String, Value>, Error> {
                fields_of(&self)
            }
        }
    )*};
}

typed_bodies!(
    fw_model::GroupInput,
    fw_model::GroupUpdate,
    fw_model::ProjectInput,
    fw_model::ProjectUpdate,
    fw_model::SubjectInput,
    fw_model::SubjectUpdate,
    fw_model::SessionInput,
    fw_model::SessionUpdate,
    fw_model::AcquisitionInput,
    fw_model::AcquisitionUpdate,
    fw_model::AnalysisInput,
    fw_model::AccessPermission,
    fw_model::AccessPermissionUpdate,
    fw_model::RolePermission,
    fw_model::RolePermissionUpdate,
    fw_model::GroupRole,
);

#[cfg(test)]
mod tests {
    use super::*;
    use fw_model::SubjectInput;
    use serde_json::json;

    #[test]
    fn typed_and_json_bodies_give_the_same_fields() {
        let typed = SubjectInput {
            label: Some("s1".into()),
            sex: Some("male".into()),
            ..Default::default()
        };
        let from_typed = Metadata::<SubjectInput>::into_fields(typed).unwrap();
        let from_json =
            Metadata::<SubjectInput>::into_fields(json!({"label": "s1", "sex": "male"})).unwrap();
        assert_eq!(from_typed, from_json);
        assert_eq!(
            Value::Object(from_typed),
            json!({"label": "s1", "sex": "male"})
        );
    }

    #[test]
    fn json_that_is_not_an_object_is_refused() {
        let err = Metadata::<SubjectInput>::into_fields(json!(["label"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"invalid argument: a metadata body must be a JSON object, not ["label"]"#
        );
    }
}
