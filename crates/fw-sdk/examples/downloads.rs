//! Quick Reference, "Downloading Data", with the **blocking** API (`fw_sdk::blocking`: the
//! same calls, no `async`): a container as a tar (`download_tar`), a container's files
//! one by one (`session.files`, `file.download(path)`), and a file as a `std::io::Read`.
//!
//! `cargo run -p fw-sdk --example downloads [-- --api-key KEY]`

#[path = "common/mod.rs"]
mod common;

use std::io::Read;

use common::{GROUP, check, step_blocking};
use fw_sdk::TypeFilter;
use serde_json::json;

/// The files the example uploads: (name, bytes).
fn scans() -> Vec<(&'static str, Vec<u8>)> {
    let t1: Vec<u8> = (0..96 * 1024u32).map(|i| (i % 251) as u8).collect();
    let rest: Vec<u8> = (0..40 * 1024u32).map(|i| (i % 127) as u8).collect();
    vec![("T1w.nii.gz", t1), ("rfMRI_REST_AP.nii.gz", rest)]
}

/// The file names and sizes in a tar, in order.
fn tar_entries(path: &std::path::Path) -> common::Result<Vec<(String, u64)>> {
    let mut archive = tar::Archive::new(std::fs::File::open(path)?);
    let mut entries = Vec::new();
    for entry in archive.entries()? {
        let entry = entry?;
        if entry.header().entry_type().is_file() {
            entries.push((entry.path()?.display().to_string(), entry.size()));
        }
    }
    Ok(entries)
}

fn main() -> std::process::ExitCode {
    common::main_blocking("Downloading data (blocking API)", |site| {
        let fw = &site.fw;
        // Found or made, so reruns on a real site reuse them (uploads replace the files).
        let group = fw.find_or_add_group(json!({"_id": GROUP, "label": "fw-sdk examples"}))?;
        let project = group.find_or_add_project(json!({"label": "downloads"}))?;
        let subject = project.find_or_add_subject(json!({"label": "sub-01"}))?;
        let session = subject.find_or_add_session(json!({"label": "baseline"}))?;
        let acquisition = session.find_or_add_acquisition(json!({"label": "T1w"}))?;
        for (name, bytes) in scans() {
            acquisition.upload_bytes(name, bytes).send()?;
        }
        session
            .upload_bytes("notes.txt", b"scanned at 9am".to_vec())
            .send()?;
        let dir = tempfile::tempdir()?;

        step_blocking("fw.download_tar([acquisition], path)", || {
            let path = dir.path().join("acquisition.tar");
            let ticket = fw.download_tar(&[acquisition.node()], &path, &TypeFilter::default())?;
            check(ticket.file_cnt == Some(2), "two files in the ticket")?;
            let entries = tar_entries(&path)?;
            for (name, bytes) in scans() {
                check(
                    entries
                        .iter()
                        .any(|(path, size)| path.ends_with(name) && *size == bytes.len() as u64),
                    &format!("{name} in the tar with its size"),
                )?;
            }
            Ok(((), format!("{entries:?}")))
        })?;
        step_blocking("session.files; files[0].download(path)", || {
            let files = session.reload()?.files()?;
            let first = files.first().ok_or("the session has a file")?;
            check(first.name() == "notes.txt", "the attachment")?;
            let dest = dir.path().join(first.name());
            let written = first.download(&dest).send()?;
            check(std::fs::read(&dest)? == b"scanned at 9am", "the same bytes")?;
            Ok(((), format!("{} ({written} bytes, verified)", first.name())))
        })?;
        step_blocking(
            "acquisition.download_file(name, path) for each file",
            || {
                let mut total = 0;
                for (name, bytes) in scans() {
                    let dest = dir.path().join(name);
                    total += acquisition.download_file(name, &dest)?.send()?;
                    check(std::fs::read(&dest)? == bytes, name)?;
                }
                Ok(((), format!("{total} bytes")))
            },
        )?;
        step_blocking(
            "acquisition.open_file(\"T1w.nii.gz\"): a std::io::Read",
            || {
                let mut reader = acquisition.open_file("T1w.nii.gz")?;
                let (mut read, mut buf) = (Vec::new(), [0u8; 8192]);
                loop {
                    let n = reader.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    read.extend_from_slice(&buf[..n]);
                }
                check(read == scans()[0].1, "the same bytes")?;
                Ok(((), format!("{} bytes in chunks of 8 KiB", read.len())))
            },
        )?;
        Ok(())
    })
}
