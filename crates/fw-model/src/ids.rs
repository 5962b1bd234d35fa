//! Typed ids, so that a group id cannot be passed where a container id belongs, nor a file
//! version's id where the stable file id belongs.
//!
//! Ids read from the wire are taken as sent (the server is the authority on its ids);
//! [`ContainerId::is_object_id`] checks the usual 24-hex form of ids typed by a person.

use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[derive(serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id.
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_string())
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_id!(
    /// A group id: a string its creator chooses, such as `neuro`.
    GroupId
);
string_id!(
    /// The id of a project, subject, session, acquisition, analysis or collection: a
    /// 24-hex-digit ObjectId.
    ContainerId
);
string_id!(
    /// The stable id of a file, shared by all its versions (`file_id`).
    FileId
);
string_id!(
    /// The id of one version of a file (the file entry's `_id`).
    FileVersionId
);
string_id!(
    /// A user id, usually an e-mail address.
    UserId
);
string_id!(
    /// A role id.
    RoleId
);

impl ContainerId {
    /// True when the id has the ObjectId form: exactly 24 lowercase hex digits.
    pub fn is_object_id(&self) -> bool {
        self.0.len() == 24
            && self
                .0
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_transparent_strings() {
        let id = ContainerId::new("5ebd4ff8bfda5102856aa084");
        assert!(id.is_object_id());
        assert!(!ContainerId::from("neuro").is_object_id());
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"5ebd4ff8bfda5102856aa084\""
        );
        let back: GroupId = serde_json::from_str("\"neuro\"").unwrap();
        assert_eq!(back.as_str(), "neuro");
    }
}
