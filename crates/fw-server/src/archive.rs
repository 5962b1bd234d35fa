//! Archives streamed to the client: the tar and zip archives of bulk downloads, and the
//! members of uploaded zip files.
//!
//! The tar and zip writers are synchronous, so they run on a blocking thread and write
//! into a [`BodyWriter`], which hands the bytes to the HTTP body through a bounded
//! channel. The thread waits while the client is slower than the disk: memory stays at a
//! few chunks whatever the archive's size, and nothing is assembled first.

use std::fs::File;
use std::io::{self, BufReader, Write};
use std::path::{Path, PathBuf};

use axum::body::{Body, Bytes};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use zip::write::SimpleFileOptions;

use crate::error::ApiError;
use crate::files::Blobs;

/// How many bytes a body chunk holds.
const CHUNK: usize = 256 * 1024;
/// How many chunks may wait for the client.
const CHUNKS_IN_FLIGHT: usize = 4;

/// A [`Write`] whose bytes become an HTTP body, a chunk at a time.
pub(crate) struct BodyWriter {
    buffer: Vec<u8>,
    sender: mpsc::Sender<io::Result<Bytes>>,
}

impl BodyWriter {
    fn send(&mut self, chunk: Bytes) -> io::Result<()> {
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }

    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK));
        self.send(Bytes::from(chunk))
    }
}

impl Write for BodyWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.buffer.len() + bytes.len() > CHUNK {
            self.send_buffer()?;
        }
        if bytes.len() >= CHUNK {
            self.send(Bytes::copy_from_slice(bytes))?;
        } else {
            self.buffer.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buffer()
    }
}

/// A body written by `produce` on a blocking thread. An error ends the body with that
/// error, so the client sees a broken transfer, never a short archive that looks whole.
pub(crate) fn streamed_body(
    produce: impl FnOnce(&mut BodyWriter) -> io::Result<()> + Send + 'static,
) -> Body {
    let (sender, mut receiver) = mpsc::channel(CHUNKS_IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let mut writer = BodyWriter {
            buffer: Vec::with_capacity(CHUNK),
            sender,
        };
        if let Err(e) = produce(&mut writer).and_then(|()| writer.flush()) {
            if e.kind() != io::ErrorKind::BrokenPipe {
                tracing::warn!("a streamed reply failed: {e}");
            }
            let _ = writer.sender.blocking_send(Err(e));
        }
    });
    Body::from_stream(futures_util::stream::poll_fn(move |cx| {
        receiver.poll_recv(cx)
    }))
}

/// One member of a bulk archive.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// Its path in the archive, `/`-separated.
    pub(crate) path: String,
    /// The blob's `v0-sha384-<hex>` hash.
    pub(crate) hash: String,
    /// Its size in bytes.
    pub(crate) size: u64,
    /// Its modification time, in seconds since 1970.
    pub(crate) modified: i64,
}

/// The archive formats of `GET /download?format=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// A POSIX (GNU) tar, uncompressed.
    Tar,
    /// A zip with stored (uncompressed) members, zip64 where needed.
    Zip,
}

impl Format {
    /// Reads `tar` or `zip` (tar when absent).
    pub(crate) fn parse(format: Option<&str>) -> Result<Format, ApiError> {
        match format {
            None | Some("tar") => Ok(Format::Tar),
            Some("zip") => Ok(Format::Zip),
            Some(other) => Err(ApiError::bad_request(format!(
                "format must be tar or zip, not {other:?}"
            ))),
        }
    }
}

/// Opens a member's blob, checking it still holds the recorded size.
fn open_blob(blobs: &Blobs, member: &Member) -> io::Result<File> {
    let path = blobs
        .path_of(&member.hash)
        .ok_or_else(|| io::Error::other(format!("{} has a bad content hash", member.path)))?;
    let file = File::open(&path)
        .map_err(|e| io::Error::other(format!("the content of {} is missing: {e}", member.path)))?;
    let size = file.metadata()?.len();
    if size != member.size {
        return Err(io::Error::other(format!(
            "the content of {} is {size} bytes, not the {} recorded",
            member.path, member.size
        )));
    }
    Ok(file)
}

/// Writes the members, read one page at a time by `next_page` (given how many were
/// written), as an archive in `format`.
pub(crate) fn write_archive(
    out: &mut BodyWriter,
    format: Format,
    blobs: &Blobs,
    next_page: impl FnMut(usize) -> io::Result<Vec<Member>>,
) -> io::Result<()> {
    match format {
        Format::Tar => {
            let mut tar = tar::Builder::new(out);
            each_member(next_page, |member| {
                let mut header = tar::Header::new_gnu();
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(member.size);
                header.set_mode(0o644);
                header.set_mtime(member.modified.max(0) as u64);
                // Read in body-sized chunks: the copy then hands whole chunks over instead
                // of gathering small reads.
                let blob = io::BufReader::with_capacity(CHUNK, open_blob(blobs, &member)?);
                tar.append_data(&mut header, &member.path, blob)
            })?;
            tar.finish()
        }
        Format::Zip => {
            let mut zip = zip::ZipWriter::new_stream(out);
            each_member(next_page, |member| {
                let options = SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Stored)
                    .large_file(member.size >= u64::from(u32::MAX))
                    .last_modified_time(dos_time(member.modified))
                    .unix_permissions(0o644);
                let mut blob = io::BufReader::with_capacity(CHUNK, open_blob(blobs, &member)?);
                zip.start_file(member.path.as_str(), options)
                    .map_err(io::Error::other)?;
                io::copy(&mut blob, &mut zip).map(|_| ())
            })?;
            zip.finish().map_err(io::Error::other)?;
            Ok(())
        }
    }
}

/// Calls `visit` on every member, reading them a page at a time.
fn each_member(
    mut next_page: impl FnMut(usize) -> io::Result<Vec<Member>>,
    mut visit: impl FnMut(Member) -> io::Result<()>,
) -> io::Result<()> {
    let mut done = 0;
    loop {
        let page = next_page(done)?;
        if page.is_empty() {
            return Ok(());
        }
        done += page.len();
        for member in page {
            visit(member)?;
        }
    }
}

/// A Unix time as a zip (DOS) time, in UTC; times a zip cannot hold become 1980-01-01.
fn dos_time(seconds: i64) -> zip::DateTime {
    use chrono::{Datelike, Timelike};
    chrono::DateTime::from_timestamp(seconds, 0)
        .and_then(|t| {
            let (year, month, day) = (u16::try_from(t.year()).ok()?, t.month(), t.day());
            zip::DateTime::from_date_and_time(
                year,
                month as u8,
                day as u8,
                t.hour() as u8,
                t.minute() as u8,
                t.second() as u8,
            )
            .ok()
        })
        .unwrap_or_default()
}

/// A zip time as `ZipfileInfo` shows it: `2024-01-02T03:04:06+00:00`. Zip times have no
/// zone; like every datetime without an offset they are read as UTC (docs/wire.md
/// §15.2), as this server writes them.
fn zip_time_text(t: zip::DateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn open_zip(path: &Path, name: &str) -> Result<zip::ZipArchive<BufReader<File>>, ApiError> {
    let file = File::open(path)
        .map_err(|e| ApiError::io(&format!("the content of {name:?} is missing"), &e))?;
    zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| ApiError::bad_request(format!("{name:?} is not a readable zip file: {e}")))
}

/// `?info=true`: the comment and members (`ZipfileInfo`) of the zip file `name` at `path`.
pub(crate) fn zip_info(path: &Path, name: &str) -> Result<Value, ApiError> {
    let mut archive = open_zip(path, name)?;
    let comment = String::from_utf8_lossy(archive.comment()).into_owned();
    let mut members = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let member = archive
            .by_index_raw(index)
            .map_err(|e| ApiError::bad_request(format!("{name:?} is a damaged zip file: {e}")))?;
        let timestamp = member.last_modified().map(zip_time_text);
        members.push(json!({
            "path": member.name().map_or_else(
                |_| String::from_utf8_lossy(member.name_raw()).into_owned(),
                |name| name.into_owned()
            ),
            "size": member.size(),
            "timestamp": timestamp,
            "comment": member.comment(),
        }));
    }
    Ok(json!({"comment": comment, "members": members}))
}

/// `?member=<path>`: the bytes of one member of the zip file `name` at `path`, decompressed
/// as they stream. A missing member is a 404 and a compression this server cannot read a
/// 400, before any byte is sent. Returns the body and the member's size.
pub(crate) fn zip_member(path: PathBuf, name: &str, member: &str) -> Result<(Body, u64), ApiError> {
    let mut archive = open_zip(&path, name)?;
    let index = archive
        .index_for_name(member)
        .ok_or_else(|| ApiError::not_found(format!("{name:?} has no member {member:?}")))?;
    let size = archive
        .by_index(index)
        .map_err(|e| ApiError::bad_request(format!("cannot read {member:?} of {name:?}: {e}")))?
        .size();
    let body = streamed_body(move |out| {
        let mut reader = archive.by_index(index).map_err(io::Error::other)?;
        let copied = io::copy(&mut reader, out)?;
        // The zip crate checks the CRC at the end of the member; a short member is an error too.
        if copied != size {
            return Err(io::Error::other(
                "the member is shorter than its header says",
            ));
        }
        Ok(())
    });
    Ok((body, size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn dos_times_are_utc_and_clamped() {
        // 2024-01-02T03:04:05Z; DOS times have two-second steps.
        assert_eq!(
            zip_time_text(dos_time(1_704_164_645)),
            "2024-01-02T03:04:04+00:00"
        );
        assert_eq!(dos_time(0), zip::DateTime::default());
        assert_eq!(dos_time(i64::MIN), zip::DateTime::default());
    }

    #[test]
    fn zip_info_and_members_read_what_a_zip_holds() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("a.zip");
        let mut zip = zip::ZipWriter::new(File::create(&path).expect("create"));
        let deflated = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(dos_time(1_704_164_646));
        zip.start_file("dicom/1.dcm", deflated).expect("start");
        zip.write_all(&[7u8; 10_000]).expect("write");
        zip.add_directory("empty/", SimpleFileOptions::default())
            .expect("dir");
        zip.set_comment("series 1").expect("comment");
        zip.finish().expect("finish");

        let info = zip_info(&path, "a.zip").expect("info");
        assert_eq!(info["comment"], "series 1");
        assert_eq!(info["members"][0]["path"], "dicom/1.dcm");
        assert_eq!(info["members"][0]["size"], 10_000);
        assert_eq!(info["members"][0]["timestamp"], "2024-01-02T03:04:06+00:00");
        assert_eq!(info["members"][1]["path"], "empty/");
        assert_eq!(crate::files::blobs::zip_member_count(&path), Some(2));

        let mut archive = open_zip(&path, "a.zip").expect("open");
        let mut bytes = Vec::new();
        archive
            .by_name("dicom/1.dcm")
            .expect("member")
            .read_to_end(&mut bytes)
            .expect("read");
        assert_eq!(bytes, vec![7u8; 10_000]);

        let not_zip = dir.path().join("b.txt");
        std::fs::write(&not_zip, "hello").expect("write");
        assert_eq!(
            zip_info(&not_zip, "b.txt").map_err(|e| e.status.as_u16()),
            Err(400)
        );
        assert_eq!(crate::files::blobs::zip_member_count(&not_zip), None);
    }
}
