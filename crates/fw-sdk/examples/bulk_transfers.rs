//! Quick Reference, "Uploading many files" and "Downloading Data" in bulk: a folder laid
//! out as `subject/session/acquisition/files` into a project (`import_folder`, a dry run
//! first, and a rerun that uploads nothing), then the project back as a folder tree
//! (`download_tree`, verified, and a rerun that downloads nothing), with progress.
//!
//! `cargo run -p fw-sdk --example bulk_transfers [-- --api-key KEY]`

#[path = "common/mod.rs"]
mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{GROUP, check, step};
use fw_sdk::{ImportOptions, TreeOptions};
use serde_json::json;

/// Writes the folder to import: 2 subjects × 2 sessions × 2 acquisitions × 1 file, and one
/// project-level file. Returns the number of files and their bytes.
fn write_folder(root: &Path) -> common::Result<(u64, u64)> {
    let (mut files, mut bytes) = (0, 0);
    for subject in ["sub-01", "sub-02"] {
        for session in ["ses-1", "ses-2"] {
            for (i, acquisition) in ["T1w", "dwi"].into_iter().enumerate() {
                let dir = root.join(subject).join(session).join(acquisition);
                std::fs::create_dir_all(&dir)?;
                let content: Vec<u8> = (0..(20_000 + i * 7_000)).map(|b| (b % 251) as u8).collect();
                std::fs::write(dir.join(format!("{acquisition}.nii.gz")), &content)?;
                files += 1;
                bytes += content.len() as u64;
            }
        }
    }
    std::fs::write(root.join("README.txt"), "imported by fw-sdk")?;
    Ok((files + 1, bytes + "imported by fw-sdk".len() as u64))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::main("Bulk transfers", |site| async move {
        let fw = &site.fw;
        let group = fw
            .find_or_add_group(json!({"_id": GROUP, "label": "fw-sdk examples"}))
            .await?;
        let project = group
            .find_or_add_project(json!({"label": "bulk_transfers"}))
            .await?;
        let dir = tempfile::tempdir()?;
        let root = dir.path().join("incoming");
        let (files, bytes) = write_folder(&root)?;

        step("project.import_folder(root, dry_run)", async {
            let before = project.subjects().all().await?.len();
            let options = ImportOptions {
                dry_run: true,
                ..ImportOptions::default()
            };
            let plan = project.import_folder(&root, options).await?;
            check(
                plan.uploaded.len() as u64 + plan.skipped == files,
                "every file is either to upload or already there",
            )?;
            check(plan.failed.is_empty(), "nothing failed")?;
            check(
                project.subjects().all().await?.len() == before,
                "a dry run creates nothing",
            )?;
            Ok((
                (),
                format!(
                    "would upload {}, skip {}, create {:?}",
                    plan.uploaded.len(),
                    plan.skipped,
                    plan.created
                ),
            ))
        })
        .await?;
        step("project.import_folder(root), with progress", async {
            let sent = Arc::new(AtomicU64::new(0));
            let seen = sent.clone();
            let options = ImportOptions {
                progress: Some(Arc::new(move |p: &fw_sdk::TransferProgress| {
                    seen.fetch_max(p.total_bytes, Ordering::Relaxed);
                })),
                ..ImportOptions::default()
            };
            let summary = project.import_folder(&root, options).await?;
            check(summary.failed.is_empty(), "nothing failed")?;
            check(
                summary.uploaded.len() as u64 + summary.skipped == files,
                "every file uploaded or already there",
            )?;
            check(
                summary.uploaded.is_empty() || sent.load(Ordering::Relaxed) == summary.bytes,
                "progress saw every byte",
            )?;
            let subjects = project.subjects().find("label=~sub-0[12]").await?;
            check(subjects.len() == 2, "two subjects")?;
            Ok((
                (),
                format!(
                    "uploaded {} files ({} bytes), skipped {}",
                    summary.uploaded.len(),
                    summary.bytes,
                    summary.skipped
                ),
            ))
        })
        .await?;
        step(
            "project.import_folder(root) again: nothing to send",
            async {
                let again = project
                    .import_folder(&root, ImportOptions::default())
                    .await?;
                check(
                    again.uploaded.is_empty() && again.skipped == files && again.created.is_empty(),
                    "the rerun skips every file and creates nothing",
                )?;
                Ok(((), format!("skipped {}", again.skipped)))
            },
        )
        .await?;
        let dest = dir.path().join("tree");
        step("project.download_tree(dest), twice", async {
            let first = project.download_tree(&dest, TreeOptions::default()).await?;
            check(first.failed.is_empty(), "nothing failed")?;
            check(
                first.downloaded == files && first.bytes == bytes,
                "every file and byte",
            )?;
            let t1w = dest
                .join(GROUP)
                .join("bulk_transfers")
                .join("sub-01")
                .join("ses-1")
                .join("T1w")
                .join("T1w.nii.gz");
            check(
                std::fs::read(&t1w)? == std::fs::read(root.join("sub-01/ses-1/T1w/T1w.nii.gz"))?,
                "the tree holds the imported bytes where the archive puts them",
            )?;
            let again = project.download_tree(&dest, TreeOptions::default()).await?;
            check(
                again.downloaded == 0 && again.skipped == files,
                "the rerun skips every file",
            )?;
            Ok((
                (),
                format!(
                    "{} files, {} bytes, verified; the rerun skipped {}",
                    first.downloaded, first.bytes, again.skipped
                ),
            ))
        })
        .await?;
        Ok(())
    })
    .await
}
