#![doc = include_str!("../README.md")]

mod container;
mod generated;
mod ids;
mod kind;
pub mod layout;
mod time;
mod unknown;

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
pub use unknown::{UnknownFields, extra_paths, field_path};

/// What every generated model is: a serde type that keeps the fields the schema does not
/// name. A server uses [`UnknownFields::unknown_fields`] to refuse them in request bodies,
/// at every depth.
pub trait WireModel: serde::Serialize + serde::de::DeserializeOwned + UnknownFields {
    /// The fields read that the schema does not name, at the top of this value only.
    fn extra(&self) -> &serde_json::Map<String, serde_json::Value>;
}
