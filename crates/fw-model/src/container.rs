//! Values whose type the wire tells at run time: a container discriminated by
//! `container_type` (`/containers/{id}`, `/lookup`, `/resolve`), a session's subject given
//! as an id or an object, and the `{count, total, results}` page.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::{
    Acquisition, Analysis, ContainerId, ContainerType, EmbeddedSubject, FileEntry, Group, Project,
    Session, Subject,
};

/// A node of the hierarchy, typed by its `container_type` field or, failing that, its
/// `node_type` (docs/wire.md §5). A node with neither is an error: the Python SDK
/// silently reads such a reply as a group, which this type refuses to do. The containers
/// are boxed: they are large, and a `Vec<Container>` should not pay for the largest.
#[derive(Debug, Clone, PartialEq)]
pub enum Container {
    /// `group`.
    Group(Box<Group>),
    /// `project`.
    Project(Box<Project>),
    /// `subject`.
    Subject(Box<Subject>),
    /// `session`.
    Session(Box<Session>),
    /// `acquisition`.
    Acquisition(Box<Acquisition>),
    /// `analysis`.
    Analysis(Box<Analysis>),
    /// `file`: a file node, with `parent_ref`.
    File(Box<FileEntry>),
    /// Any other kind (`collection`, `gear`, …), kept whole.
    Other {
        /// The discriminator as sent.
        kind: String,
        /// The node's fields.
        fields: Map<String, Value>,
    },
}

impl Container {
    /// The kind of node.
    pub fn container_type(&self) -> ContainerType {
        match self {
            Container::Group(_) => ContainerType::Group,
            Container::Project(_) => ContainerType::Project,
            Container::Subject(_) => ContainerType::Subject,
            Container::Session(_) => ContainerType::Session,
            Container::Acquisition(_) => ContainerType::Acquisition,
            Container::Analysis(_) => ContainerType::Analysis,
            Container::File(_) => ContainerType::File,
            Container::Other { kind, .. } => match kind.as_str() {
                "collection" => ContainerType::Collection,
                _ => ContainerType::Other(kind.clone()),
            },
        }
    }

    /// The node's `_id` as text: a group id, a container id or a file version id.
    pub fn id(&self) -> Option<&str> {
        match self {
            Container::Group(g) => g.id.as_ref().map(|id| id.as_str()),
            Container::Project(c) => c.id.as_ref().map(ContainerId::as_str),
            Container::Subject(c) => c.id.as_ref().map(ContainerId::as_str),
            Container::Session(c) => c.id.as_ref().map(ContainerId::as_str),
            Container::Acquisition(c) => c.id.as_ref().map(ContainerId::as_str),
            Container::Analysis(c) => c.id.as_ref().map(ContainerId::as_str),
            Container::File(f) => f.id.as_ref().map(|id| id.as_str()),
            Container::Other { fields, .. } => fields.get("_id").and_then(Value::as_str),
        }
    }
}

/// The discriminator: `container_type`, else `node_type`, matched case-insensitively by
/// prefix as the Python SDK does (`SessionContainerOutput` is a session).
fn discriminator(fields: &Map<String, Value>) -> Option<String> {
    ["container_type", "node_type"]
        .iter()
        .find_map(|key| fields.get(*key)?.as_str())
        .map(str::to_ascii_lowercase)
}

impl<'de> Deserialize<'de> for Container {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let fields = Map::<String, Value>::deserialize(d)?;
        let kind = discriminator(&fields).ok_or_else(|| {
            D::Error::custom("a container needs `container_type` (or `node_type`) to say its kind")
        })?;
        const KINDS: [&str; 7] = [
            "group",
            "project",
            "subject",
            "session",
            "acquisition",
            "analysis",
            "file",
        ];
        let Some(known) = KINDS.into_iter().find(|k| kind.starts_with(k)) else {
            return Ok(Container::Other { kind, fields });
        };
        let value = Value::Object(fields);
        let result = match known {
            "group" => serde_json::from_value(value).map(|c| Container::Group(Box::new(c))),
            "project" => serde_json::from_value(value).map(|c| Container::Project(Box::new(c))),
            "subject" => serde_json::from_value(value).map(|c| Container::Subject(Box::new(c))),
            "session" => serde_json::from_value(value).map(|c| Container::Session(Box::new(c))),
            "acquisition" => {
                serde_json::from_value(value).map(|c| Container::Acquisition(Box::new(c)))
            }
            "analysis" => serde_json::from_value(value).map(|c| Container::Analysis(Box::new(c))),
            _ => serde_json::from_value(value).map(|c| Container::File(Box::new(c))),
        };
        result.map_err(D::Error::custom)
    }
}

impl Serialize for Container {
    /// Writes the node's fields, adding `container_type` when the value does not carry
    /// one, so that clients can always tell its kind.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let value = match self {
            Container::Group(c) => serde_json::to_value(c),
            Container::Project(c) => serde_json::to_value(c),
            Container::Subject(c) => serde_json::to_value(c),
            Container::Session(c) => serde_json::to_value(c),
            Container::Acquisition(c) => serde_json::to_value(c),
            Container::Analysis(c) => serde_json::to_value(c),
            Container::File(c) => serde_json::to_value(c),
            Container::Other { fields, .. } => Ok(Value::Object(fields.clone())),
        }
        .map_err(S::Error::custom)?;
        let Value::Object(mut fields) = value else {
            return Err(S::Error::custom("a container serializes to an object"));
        };
        if discriminator(&fields).is_none() {
            let kind = self.container_type().as_str().to_string();
            fields.insert("container_type".into(), Value::String(kind));
        }
        fields.serialize(s)
    }
}

/// A session's subject in a create or update body: an existing subject's id, or an
/// embedded subject (a new `code` creates the subject).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SubjectRef {
    /// An existing subject, by id.
    Id(ContainerId),
    /// `{_id?, code?, label?, …}`.
    Embedded(EmbeddedSubject),
}

/// A page of a list: `{count, total, results}`, sent by `GET /files` always and by other
/// list endpoints when asked with `x-accept-feature: pagination`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// How many items this page holds.
    pub count: i64,
    /// How many items match in all.
    pub total: i64,
    /// The items.
    pub results: Vec<T>,
}
