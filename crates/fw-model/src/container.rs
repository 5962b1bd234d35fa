//! Values whose type the wire tells at run time: a container discriminated by
//! `container_type` (`/containers/{id}`, `/lookup`, `/resolve`), a session's subject given
//! as an id or an object, and the `{count, total, results}` page.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::{
    AcquisitionKind, AnalysisKind, ContainerId, ContainerKind, ContainerType, EmbeddedSubject,
    FileEntry, GroupKind, ProjectKind, SessionKind, SubjectKind,
};

/// How a [`Node`] holds a container of kind `K`: fw-model's [`Wire`] holds the wire value
/// (`K::Wire`); fw-sdk's families hold handles (async and blocking). One enum serves all of
/// them, so the list of node kinds is written once.
pub trait NodeFamily: Clone + fmt::Debug {
    /// What a container of kind `K` is in this family.
    type Of<K: ContainerKind>: Clone + fmt::Debug;
    /// Its `_id` as text, if it has one.
    fn id<K: ContainerKind>(value: &Self::Of<K>) -> Option<&str>;
}

/// The family of wire values: [`Container`] is `Node<Wire>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Wire;

impl NodeFamily for Wire {
    type Of<K: ContainerKind> = K::Wire;
    fn id<K: ContainerKind>(value: &K::Wire) -> Option<&str> {
        K::id(value)
    }
}

/// A node of the hierarchy, typed by its `container_type` field or, failing that, its
/// `node_type` (docs/wire.md §5), each container held as its family says ([`Container`]:
/// wire values). A node with neither field is an error: the Python SDK silently reads
/// such a reply as a group, which this type refuses to do. The containers are boxed: they
/// are large, and a `Vec<Container>` should not pay for the largest.
#[derive(Debug, Clone)]
pub enum Node<F: NodeFamily> {
    /// `group`.
    Group(Box<F::Of<GroupKind>>),
    /// `project`.
    Project(Box<F::Of<ProjectKind>>),
    /// `subject`.
    Subject(Box<F::Of<SubjectKind>>),
    /// `session`.
    Session(Box<F::Of<SessionKind>>),
    /// `acquisition`.
    Acquisition(Box<F::Of<AcquisitionKind>>),
    /// `analysis`.
    Analysis(Box<F::Of<AnalysisKind>>),
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

/// A node as the wire has it (`/containers/{id}`, `/lookup`, `/resolve`).
pub type Container = Node<Wire>;

/// Turns the containers of a node from one family into another (fw-sdk: wire values into
/// handles), one kind-generic function for the six kinds.
pub trait NodeMap<F: NodeFamily, G: NodeFamily> {
    /// Why a container cannot be turned.
    type Error;
    /// Turns one container of kind `K`.
    ///
    /// # Errors
    ///
    /// As the implementation says.
    fn map<K: ContainerKind>(&self, value: F::Of<K>) -> Result<G::Of<K>, Self::Error>;
}

/// A node of another kind than the one asked for ([`Node::into_kind`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("expected a {expected}, found a {}", found.as_str())]
pub struct WrongKind {
    /// The kind asked for (`project`).
    pub expected: &'static str,
    /// The kind found.
    pub found: ContainerType,
}

impl<F: NodeFamily> Node<F> {
    /// The kind of node.
    pub fn container_type(&self) -> ContainerType {
        match self {
            Node::Group(_) => ContainerType::Group,
            Node::Project(_) => ContainerType::Project,
            Node::Subject(_) => ContainerType::Subject,
            Node::Session(_) => ContainerType::Session,
            Node::Acquisition(_) => ContainerType::Acquisition,
            Node::Analysis(_) => ContainerType::Analysis,
            Node::File(_) => ContainerType::File,
            Node::Other { kind, .. } => match kind.as_str() {
                "collection" => ContainerType::Collection,
                _ => ContainerType::Other(kind.clone()),
            },
        }
    }

    /// The node's `_id` as text: a group id, a container id or a file version id.
    pub fn id(&self) -> Option<&str> {
        match self {
            Node::Group(c) => F::id::<GroupKind>(c),
            Node::Project(c) => F::id::<ProjectKind>(c),
            Node::Subject(c) => F::id::<SubjectKind>(c),
            Node::Session(c) => F::id::<SessionKind>(c),
            Node::Acquisition(c) => F::id::<AcquisitionKind>(c),
            Node::Analysis(c) => F::id::<AnalysisKind>(c),
            Node::File(f) => f.id.as_ref().map(|id| id.as_str()),
            Node::Other { fields, .. } => fields.get("_id").and_then(Value::as_str),
        }
    }

    /// The same node in family `G`, each container turned by `map`; files and other
    /// nodes pass through.
    ///
    /// # Errors
    ///
    /// The first error of `map`.
    pub fn try_map<G: NodeFamily, M: NodeMap<F, G>>(self, map: &M) -> Result<Node<G>, M::Error> {
        Ok(match self {
            Node::Group(c) => Node::Group(Box::new(map.map::<GroupKind>(*c)?)),
            Node::Project(c) => Node::Project(Box::new(map.map::<ProjectKind>(*c)?)),
            Node::Subject(c) => Node::Subject(Box::new(map.map::<SubjectKind>(*c)?)),
            Node::Session(c) => Node::Session(Box::new(map.map::<SessionKind>(*c)?)),
            Node::Acquisition(c) => Node::Acquisition(Box::new(map.map::<AcquisitionKind>(*c)?)),
            Node::Analysis(c) => Node::Analysis(Box::new(map.map::<AnalysisKind>(*c)?)),
            Node::File(file) => Node::File(file),
            Node::Other { kind, fields } => Node::Other { kind, fields },
        })
    }

    /// The container, if the node is of kind `K`:
    /// `fw.get(id).await?.into_kind::<ProjectKind>()?`.
    ///
    /// # Errors
    ///
    /// [`WrongKind`] naming both kinds.
    pub fn into_kind<K: IsVariant>(self) -> Result<F::Of<K>, WrongKind> {
        let found = self.container_type();
        K::take(self).ok_or(WrongKind {
            expected: K::NAME,
            found,
        })
    }
}

impl<F: NodeFamily> PartialEq for Node<F>
where
    F::Of<GroupKind>: PartialEq,
    F::Of<ProjectKind>: PartialEq,
    F::Of<SubjectKind>: PartialEq,
    F::Of<SessionKind>: PartialEq,
    F::Of<AcquisitionKind>: PartialEq,
    F::Of<AnalysisKind>: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Node::Group(a), Node::Group(b)) => a == b,
            (Node::Project(a), Node::Project(b)) => a == b,
            (Node::Subject(a), Node::Subject(b)) => a == b,
            (Node::Session(a), Node::Session(b)) => a == b,
            (Node::Acquisition(a), Node::Acquisition(b)) => a == b,
            (Node::Analysis(a), Node::Analysis(b)) => a == b,
            (Node::File(a), Node::File(b)) => a == b,
            (Node::Other { kind, fields }, Node::Other { kind: k, fields: f }) => {
                kind == k && fields == f
            }
            _ => false,
        }
    }
}

/// The kinds [`Node`] has a variant for: all six.
pub trait IsVariant: ContainerKind + Sized {
    /// The container, if `node` is of this kind.
    fn take<F: NodeFamily>(node: Node<F>) -> Option<F::Of<Self>>;
}

macro_rules! is_variant {
    ($($kind:ident => $variant:ident),*) => {$(
        impl IsVariant for $kind {
            fn take<F: NodeFamily>(node: Node<F>) -> Option<F::Of<Self>> {
                match node {
                    Node::$variant(c) => Some(*c),
                    _ => None,
                }
            }
        }
    )*};
}

is_variant!(
    GroupKind => Group, ProjectKind => Project, SubjectKind => Subject,
    SessionKind => Session, AcquisitionKind => Acquisition, AnalysisKind => Analysis
);

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
