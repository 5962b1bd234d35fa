//! Quick Reference, "Files": upload a file to an acquisition, list its files, find one by
//! name and all of a type, download one (verified), set file metadata, and upload to any
//! container by id with metadata.
//!
//! `cargo run -p fw-sdk --example files [-- --api-key KEY]`

#[path = "common/mod.rs"]
mod common;

use common::{baseline, check, step};
use serde_json::json;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::main("Files", |site| async move {
        let fw = &site.fw;
        let (project, session) = baseline(fw, "files").await?;
        let acquisition = session
            .acquisitions()
            .find_one("label=rfMRI_REST_AP")
            .await?;
        let dir = tempfile::tempdir()?;
        // A small NIfTI-like file and a text file to upload.
        let nifti: Vec<u8> = (0..64 * 1024u32).map(|i| (i % 251) as u8).collect();
        let nifti_path = dir.path().join("rfMRI_REST_AP_12.nii.gz");
        std::fs::write(&nifti_path, &nifti)?;
        let text_path = dir.path().join("file.txt");
        std::fs::write(&text_path, "three little words")?;

        step(
            "acquisition.upload_file(path).metadata({type: nifti}), upload_file(\"file.txt\")",
            async {
                let made = acquisition
                    .upload_file(&nifti_path)
                    .metadata(json!({"type": "nifti"}))
                    .await?;
                check(
                    made.len() == 1 && made[0].name() == "rfMRI_REST_AP_12.nii.gz",
                    "one file made, with its name",
                )?;
                acquisition.upload_file(&text_path).await?;
                Ok(((), format!("{} bytes as {}", nifti.len(), made[0].name())))
            },
        )
        .await?;
        let acquisition = acquisition.reload().await?;
        step(
            "acquisition.files: all, one by name, all of type nifti",
            async {
                let files = acquisition.files()?;
                let names: Vec<&str> = files.iter().map(|f| f.name()).collect();
                check(names.len() == 2, "two files")?;
                // [f for f in acquisition.files if f.name == file_name][0]
                let one = files
                    .iter()
                    .find(|f| f.name() == "rfMRI_REST_AP_12.nii.gz")
                    .ok_or("the NIfTI is listed")?;
                check(one.size == Some(nifti.len() as i64), "its size")?;
                // [f for f in acquisition.files if f.type == 'nifti']
                let niftis: Vec<_> = files
                    .iter()
                    .filter(|f| f.r#type.as_deref() == Some("nifti"))
                    .collect();
                check(niftis.len() == 1, "one nifti")?;
                Ok(((), format!("{names:?}; {} nifti", niftis.len())))
            },
        )
        .await?;
        step(
            "acquisition.download_file(name, path): verified by size and hash",
            async {
                let dest = dir.path().join("downloaded.nii.gz");
                let written = acquisition
                    .download_file("rfMRI_REST_AP_12.nii.gz", &dest)
                    .await?
                    .await?;
                check(std::fs::read(&dest)? == nifti, "the same bytes")?;
                let text = acquisition.read_file("file.txt").await?;
                check(text == b"three little words", "read_file")?;
                Ok(((), format!("{written} bytes")))
            },
        )
        .await?;
        step(
            "acquisition.replace_file_info(\"file.txt\", {wordCount: 3}), update_file_info",
            async {
                acquisition
                    .replace_file_info("file.txt", json!({"wordCount": 3}))
                    .await?;
                acquisition
                    .update_file_info("file.txt", json!({"language": "en"}))
                    .await?;
                let info = acquisition
                    .reload()
                    .await?
                    .file("file.txt")
                    .await?
                    .info
                    .clone();
                check(
                    info == json!({"wordCount": 3, "language": "en"})
                        .as_object()
                        .cloned(),
                    "replaced, then merged",
                )?;
                Ok(((), format!("{info:?}")))
            },
        )
        .await?;
        step(
            "fw.upload_file_to_container(subject.id, path, metadata={info: …})",
            async {
                let subject = project
                    .subjects()
                    .find_first("")
                    .await?
                    .ok_or("no subject")?;
                let made = fw
                    .upload_file_to_container(subject.id(), &text_path)
                    .metadata(json!({"info": {"hair color": "brown", "motion level": "low"}}))
                    .await?;
                let file = subject.reload().await?.file("file.txt").await?;
                check(
                    file.info.as_ref().and_then(|i| i.get("motion level")) == Some(&json!("low")),
                    "the metadata came with the file",
                )?;
                Ok((
                    (),
                    format!("{} on subject {}", made[0].name(), subject.id()),
                ))
            },
        )
        .await?;
        Ok(())
    })
    .await
}
