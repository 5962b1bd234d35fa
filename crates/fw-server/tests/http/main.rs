//! fw-server over HTTP: a real server on 127.0.0.1:0 with a temporary data directory, one
//! module per resource (one test binary, so the crate links once).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod archives;
mod clients;
mod common;
mod containers;
mod file_names;
mod files;
mod lists;
mod metadata;
mod parse_errors;
mod permissions;
mod probe_fixes_a;
mod probe_fixes_b;
mod recording;
mod robustness;
mod search;
mod server;
mod slow_bodies;
mod stored_documents;
mod unknown_fields;
