//! The container hierarchy: create, render, list (finders), update, move, delete, and
//! permissions. Routes call the functions re-exported here; the submodules use each other
//! directly.

mod body;
mod create;
mod list;
mod moves;
mod permissions;
mod render;
mod update;

pub(crate) use create::{create, create_analysis};
pub(crate) use list::{ListParams, Listing, find};
pub(crate) use permissions::{add_group_role, delete_permission, get_permission, set_permission};
pub(crate) use render::{Renderer, node, show, show_analysis};
pub(crate) use update::{delete, update};

/// The longest label accepted.
pub(crate) const MAX_LABEL: usize = 256;
