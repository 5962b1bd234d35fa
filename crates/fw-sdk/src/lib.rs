//! The Flywheel Rust SDK.
//!
//! (Front page written below: example and crosswalk.)

mod body;
mod client;
mod container;
mod error;
mod finder;
mod kinds;
mod search;

pub use body::Metadata;
pub use client::{Client, ClientBuilder, Resolved};
pub use container::{AnyContainer, Container, IsVariant};
pub use error::Error;
pub use finder::{Finder, ItemStream, Listable, Users};
pub use kinds::{Acquisition, Analysis, Group, HasPermissions, Project, Session, Subject};
pub use search::SearchResult;

/// The wire types (fw-model), re-exported so that one dependency is enough.
pub use fw_model as model;
/// The Python SDK's age and timestamp helpers, on sessions, subjects and acquisitions.
pub use fw_model::{AgeHelpers, TimestampHelpers};
/// The retry policy of [`ClientBuilder::retry`].
pub use fw_transport::RetryPolicy;
