//! fw-sdk against a real fw-server, started in each test on `127.0.0.1:0` with a
//! temporary data directory.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

mod blocking_drop;
mod client;
mod create;
mod crosswalk;
mod download_races;
mod file_names;
mod files;
mod finders;
mod local;
mod local_paths;
mod lookup;
mod metadata;
mod permissions;
mod probe;
mod tree_analyses;
mod tree_stops;
mod wire;
