//! Tickets: download tickets (a capability to fetch one file version without a key) and
//! signed-URL upload tickets (`upload_tickets`, `ticket_uploads`; the storage PUTs' bytes
//! wait in `tmp/` until the ticket closes).

use std::path::PathBuf;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value, json};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::ids::random_hex;
use crate::json::{decode_stored, decode_stored_as, encode_stored};
use crate::kind::Kind;
use crate::roles::Level;
use crate::store::{Row, db, one_value};

use super::blobs::{Blobs, Staged};
use super::entries::{
    check_name, container_and_entry, container_of, file_metadata, record, version_of,
};

/// What `GET …/files/{name}` serves: with `?ticket=<ticket>` (no key needed) the version
/// the ticket grants; else, for a caller who may read the container, the entry of `name`
/// (an earlier `version` if asked), and with an empty `?ticket=` a new download ticket
/// for it. Returns the entry and the new ticket.
pub(crate) fn download_entry(
    c: &Connection,
    caller: Result<Caller, ApiError>,
    kind: Option<Kind>,
    id: &str,
    name: &str,
    version: Option<i64>,
    ticket: Option<&str>,
) -> Result<(Value, Option<String>), ApiError> {
    match ticket {
        Some(ticket) if !ticket.is_empty() => {
            let (row, current) = crate::store::container_and_file(c, id, name)?
                .ok_or_else(|| ApiError::not_found("no such container"))?;
            let granted = ticket_grant(c, ticket, &row.id, name)?;
            let version = version.or(Some(granted)).filter(|v| *v > 0);
            Ok((version_of(c, &row, name, current, version)?, None))
        }
        asked => {
            let caller = caller?;
            let (row, entry) =
                container_and_entry(c, &caller, (kind, id), name, Level::Ro, version)?;
            let ticket = match asked {
                Some(_) => Some(new_ticket(c, &row, &entry)?),
                None => None,
            };
            Ok((entry, ticket))
        }
    }
}

/// `POST …/files?ticket=`: an empty ticket opens a signed-URL upload (the body is
/// `{metadata, filenames}`), a ticket closes it and records the uploads.
#[allow(clippy::too_many_arguments)] // one per part of the request; a struct would only rename them
pub(crate) fn upload_ticket(
    c: &Connection,
    caller: &Caller,
    blobs: &Blobs,
    kind: Option<Kind>,
    id: &str,
    ticket: &str,
    body: Value,
    base_url: &str,
) -> Result<Value, ApiError> {
    let row = container_of(c, caller, kind, id, Level::Rw)?;
    if ticket.is_empty() {
        open_ticket(c, caller, &row, body, base_url)
    } else {
        // The parts are on this server already; the body (S3 multipart details) is
        // checked all the same, so nothing unknown in it passes unnoticed (§15.6).
        let _: fw_model::UploadTicketClose = crate::json::typed_body(body, "upload ticket close")?;
        close_ticket(c, caller, blobs, row, ticket).map(Value::Array)
    }
}

/// A download ticket: a capability to download one file version without a key.
fn new_ticket(c: &Connection, row: &Row, entry: &Value) -> Result<String, ApiError> {
    let ticket = random_hex(24);
    c.execute(
        "INSERT INTO download_tickets (ticket, container_id, name, version, expires) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            ticket,
            row.id,
            entry["name"].as_str(),
            entry["version"].as_i64(),
            (chrono::Utc::now() + chrono::Duration::hours(1)).timestamp()
        ],
    )
    .map_err(db)?;
    Ok(ticket)
}

/// The version a ticket grants (0 for the current one), if it is valid and for this file.
fn ticket_grant(
    c: &Connection,
    ticket: &str,
    container_id: &str,
    name: &str,
) -> Result<i64, ApiError> {
    let grant: Option<(String, String, Option<i64>, i64)> = c
        .query_row(
            "SELECT container_id, name, version, expires FROM download_tickets WHERE ticket = ?1",
            [ticket],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .map_err(db)?;
    match grant {
        Some((container, granted_name, version, expires))
            if container == container_id
                && granted_name == name
                && expires > chrono::Utc::now().timestamp() =>
        {
            Ok(version.unwrap_or(0))
        }
        _ => Err(ApiError::unauthorized("invalid or expired download ticket")),
    }
}

/// Opens a signed-URL upload (`POST …/files?ticket=` with `{metadata, filenames}`): the
/// storage URLs are on this server and need only the ticket.
fn open_ticket(
    c: &Connection,
    caller: &Caller,
    row: &Row,
    body: Value,
    base_url: &str,
) -> Result<Value, ApiError> {
    let request: fw_model::UploadTicketRequest =
        crate::json::typed_body(body, "upload ticket request")?;
    let filenames = request.filenames.unwrap_or_default();
    if filenames.is_empty() {
        return Err(ApiError::bad_request("an upload ticket needs `filenames`"));
    }
    for name in &filenames {
        check_name(name)?;
    }
    // The metadata is checked now, by the rule of multipart uploads, so that nothing is
    // uploaded for a ticket whose close must fail; the close checks it again against what
    // arrived.
    let names: Vec<&str> = filenames.iter().map(String::as_str).collect();
    file_metadata(request.metadata.clone(), &names)?;
    // Tickets never closed expire after a day, with what they received.
    let stale = chrono::Utc::now().timestamp() - 86_400;
    let mut old = c.prepare("SELECT path FROM ticket_uploads WHERE ticket IN (SELECT ticket FROM upload_tickets WHERE created < ?1)").map_err(db)?;
    let paths: Vec<String> = old
        .query_map([stale], |r| r.get(0))
        .map_err(db)?
        .filter_map(Result::ok)
        .collect();
    for path in paths {
        let _ = std::fs::remove_file(path);
    }
    c.execute("DELETE FROM ticket_uploads WHERE ticket IN (SELECT ticket FROM upload_tickets WHERE created < ?1)", [stale]).map_err(db)?;
    c.execute("DELETE FROM upload_tickets WHERE created < ?1", [stale])
        .map_err(db)?;

    let ticket = random_hex(24);
    c.execute(
        "INSERT INTO upload_tickets (ticket, container_id, user_id, metadata, filenames, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            ticket,
            row.id,
            caller.user_id,
            encode_stored(&request.metadata.unwrap_or(Value::Null), "an upload ticket")?,
            json!(filenames).to_string(),
            chrono::Utc::now().timestamp()
        ],
    )
    .map_err(db)?;
    let urls: Map<String, Value> = filenames
        .iter()
        .map(|name| {
            let encoded: String = name
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            (
                name.clone(),
                json!(format!("{base_url}/storage/{ticket}/{encoded}")),
            )
        })
        .collect();
    Ok(
        json!({"ticket": ticket, "urls": urls, "headers": {"Content-Type": "application/octet-stream"}}),
    )
}

/// Whether a ticket is open for `name`; the storage PUT needs nothing else.
pub(crate) fn ticket_accepts(c: &Connection, ticket: &str, name: &str) -> Result<(), ApiError> {
    let filenames: Option<String> = one_value(
        c,
        "SELECT filenames FROM upload_tickets WHERE ticket = ?1",
        [ticket],
    )?;
    let names: Vec<String> = match filenames {
        Some(f) => decode_stored_as(
            decode_stored(&f, "an upload ticket's file names")?,
            "an upload ticket's file names",
        )?,
        None => Vec::new(),
    };
    let accepted = names.iter().any(|n| n == name);
    if accepted {
        Ok(())
    } else {
        Err(ApiError::forbidden("no open upload ticket for this file"))
    }
}

/// Keeps the bytes of a storage PUT until the ticket closes.
pub(crate) fn keep_ticket_upload(
    c: &Connection,
    blobs: &Blobs,
    ticket: &str,
    staged: Staged,
) -> Result<(), ApiError> {
    ticket_accepts(c, ticket, &staged.name)?;
    let name = staged.name.clone();
    let path = blobs
        .tmp_dir()
        .join(format!("ticket-{ticket}-{}", random_hex(8)));
    let (size, hash) = staged.keep_at(&path)?;
    let replaced: Option<String> = one_value(
        c,
        "SELECT path FROM ticket_uploads WHERE ticket = ?1 AND name = ?2",
        params![ticket, name],
    )?;
    if let Some(old) = replaced {
        let _ = std::fs::remove_file(old);
    }
    c.execute(
        "INSERT OR REPLACE INTO ticket_uploads (ticket, name, path, size, hash) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![ticket, name, path.to_string_lossy(), size as i64, hash],
    )
    .map_err(db)?;
    Ok(())
}

/// Closes a signed-URL upload (`POST …/files?ticket=<ticket>`): records what the storage
/// PUTs received, as one multipart upload would, and forgets the ticket.
fn close_ticket(
    c: &Connection,
    caller: &Caller,
    blobs: &Blobs,
    row: Row,
    ticket: &str,
) -> Result<Vec<Value>, ApiError> {
    let opened: Option<(String, String, String)> = c
        .query_row(
            "SELECT container_id, user_id, metadata FROM upload_tickets WHERE ticket = ?1",
            [ticket],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(db)?;
    let Some((_, _, metadata)) =
        opened.filter(|(container, user, _)| *container == row.id && *user == caller.user_id)
    else {
        return Err(ApiError::not_found(
            "no such upload ticket for this container",
        ));
    };
    let mut statement = c
        .prepare("SELECT name, path, size, hash FROM ticket_uploads WHERE ticket = ?1")
        .map_err(db)?;
    let uploads: Vec<Staged> = statement
        .query_map([ticket], |r| {
            Ok(Staged::kept(
                r.get(0)?,
                PathBuf::from(r.get::<_, String>(1)?),
                r.get::<_, i64>(2)? as u64,
                r.get(3)?,
            ))
        })
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    c.execute("DELETE FROM ticket_uploads WHERE ticket = ?1", [ticket])
        .map_err(db)?;
    c.execute("DELETE FROM upload_tickets WHERE ticket = ?1", [ticket])
        .map_err(db)?;
    if uploads.is_empty() {
        return Err(ApiError::bad_request(
            "nothing was uploaded with this ticket",
        ));
    }
    let metadata = match decode_stored(&metadata, "an upload ticket's metadata")? {
        Value::Null => None,
        other => Some(other),
    };
    record(c, caller, blobs, row, metadata, uploads)
}
