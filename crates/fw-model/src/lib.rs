//! The Flywheel wire types: containers, files, users, permissions and request and reply
//! bodies, as the official Python SDK (flywheel-sdk 23.0.0) exchanges them.
//!
//! Most types are **generated** by `cargo xtask codegen` from the pinned schema
//! `schema/flywheel.schema` into `src/generated/`; the hand-written rest lives beside them:
//! typed ids ([`GroupId`], [`ContainerId`], [`FileId`], …), [`Timestamp`], the
//! `container_type`-discriminated [`Container`], [`Page`], and the age and time zone
//! helpers of the Python SDK ([`AgeHelpers`], [`TimestampHelpers`]), and the container
//! kinds as types ([`ContainerKind`] with one marker per kind: [`ProjectKind`], …), over
//! which generic code is written once.
//!
//! Every model reads any JSON object (no field is required, as in the Python SDK), keeps
//! the fields it does not know in `extra`, and writes back exactly what it read: unknown
//! fields included, absent fields absent. A known field sent as `null` reads as `None` and
//! is written back absent, which every client treats the same.
//!
//! ```
//! use fw_model::{AgeHelpers, Container, Session};
//!
//! let json = r#"{"_id": "650000000000000000000003", "container_type": "session",
//!                "label": "ses-01", "age": 946728000, "scanner_room": "B2"}"#;
//! let Container::Session(session) = serde_json::from_str(json)? else { panic!() };
//! assert_eq!(session.label.as_deref(), Some("ses-01"));
//! assert_eq!(session.age_years(), Some(30.0));
//! assert_eq!(session.extra["scanner_room"], "B2");
//! # Ok::<(), serde_json::Error>(())
//! ```
//!
//! This crate does no IO, has no async and no HTTP client.

mod container;
mod generated;
mod ids;
mod kind;
pub mod layout;
mod time;

pub use container::{Container, Page, SubjectRef};
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
