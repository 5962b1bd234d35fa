//! Files (docs/wire.md §10): a content-addressed blob store in the data directory, file
//! entries with versions, and streamed downloads with ranges and tickets.
//!
//! An upload streams to `tmp/`, hashing as it goes (`v0-sha384-<hex>`), is fsynced, then
//! renamed to `blobs/<hex>`; only then is the entry recorded, in one transaction. An upload
//! cut at any point leaves at most a file in `tmp/`, which nobody sees and the next start
//! removes. Blobs are never overwritten: same bytes, same blob.
//!
//! - `blobs`: the blob store and uploads in progress.
//! - `entries`: file entries on containers and their versions.
//! - `by_id`: files by `file_id` (`/files`).
//! - `tickets`: download tickets and signed-URL upload tickets.

pub(crate) mod blobs;
mod by_id;
mod entries;
mod tickets;

pub(crate) use blobs::Blobs;
pub(crate) use by_id::{get_by_id, list, move_file, set_tags};
pub(crate) use entries::{
    check_hash, check_name, classify, container_of, delete, entry, modify, record, show, update,
    update_info, with_parent,
};
pub(crate) use tickets::{download_entry, keep_ticket_upload, ticket_accepts, upload_ticket};
