#![doc = include_str!("../README.md")]

mod container;
mod generated;
mod ids;
mod kind;
pub mod layout;
mod time;

pub use container::{
    Container, IsVariant, Node, NodeFamily, NodeMap, Page, SubjectRef, Wire, WrongKind,
};
pub use generated::*;
pub use ids::{ContainerId, FileId, FileVersionId, GroupId, RoleId, UserId};
pub use kind::{
    AcquisitionKind, AnalysisKind, ContainerKind, GroupKind, HasFiles, ParentOf, ProjectKind,
    SessionKind, SubjectKind,
};
pub use time::{AgeHelpers, TimeZoneError, Timestamp, TimestampError, TimestampHelpers};

/// What every generated model is: a serde type that keeps the fields the schema does not
/// name. A server uses [`WireModel::extra`] to refuse unknown fields in request bodies.
pub trait WireModel: serde::Serialize + serde::de::DeserializeOwned {
    /// The fields read that the schema does not name.
    fn extra(&self) -> &serde_json::Map<String, serde_json::Value>;
}
