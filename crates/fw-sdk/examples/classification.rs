//! Quick Reference, "File Classification": a modality's aspects (`get_modality`), then
//! replace a file's classification and modality, update its `Custom` aspect, and delete
//! one value of it.
//!
//! `cargo run -p fw-sdk --example classification [-- --api-key KEY]`

#[path = "common/mod.rs"]
mod common;

use common::{baseline, check, step};
use serde_json::{Value, json};

/// The file's modality and classification, fresh from the server.
async fn classification(
    acquisition: &fw_sdk::Acquisition,
) -> common::Result<(Option<String>, Value)> {
    let file = acquisition.reload().await?.file("file.txt").await?;
    let classification = serde_json::to_value(&file.classification)?;
    Ok((file.modality.clone(), classification))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::main("File classification", |site| async move {
        let fw = &site.fw;
        let (_, session) = baseline(fw, "classification").await?;
        let acquisition = session.acquisitions().find_one("label=T1w").await?;
        acquisition
            .upload_bytes("file.txt", b"a file to classify".to_vec())
            .await?;
        step("fw.get_modality(\"MR\")", async {
            let mr = fw.get_modality("MR").await?;
            let aspects: Vec<String> = mr
                .classification
                .iter()
                .flat_map(|c| c.keys().cloned())
                .collect();
            for aspect in ["Intent", "Measurement", "Features"] {
                check(
                    aspects.iter().any(|a| a == aspect),
                    &format!("MR has the aspect {aspect}"),
                )?;
            }
            Ok(((), format!("aspects {aspects:?}")))
        })
        .await?;
        step(
            "acquisition.replace_file_classification(\"file.txt\", {Intent, Measurement}, modality=\"MR\")",
            async {
                acquisition
                    .replace_file_classification(
                        "file.txt",
                        json!({"Intent": ["Structural"], "Measurement": ["T2"]}),
                        Some("MR"),
                    )
                    .await?;
                let (modality, classification) = classification(&acquisition).await?;
                check(modality.as_deref() == Some("MR"), "the modality is MR")?;
                check(
                    classification == json!({"Intent": ["Structural"], "Measurement": ["T2"]}),
                    "exactly the two aspects",
                )?;
                Ok(((), format!("{modality:?} {classification}")))
            },
        )
        .await?;
        step(
            "acquisition.update_file_classification(\"file.txt\", {Custom: [value1, value2]})",
            async {
                acquisition
                    .update_file_classification(
                        "file.txt",
                        json!({"Custom": ["value1", "value2"]}),
                    )
                    .await?;
                let (modality, classification) = classification(&acquisition).await?;
                check(modality.as_deref() == Some("MR"), "the modality is kept")?;
                check(
                    classification["Custom"] == json!(["value1", "value2"])
                        && classification["Measurement"] == json!(["T2"]),
                    "Custom added, the others kept",
                )?;
                Ok(((), classification.to_string()))
            },
        )
        .await?;
        step(
            "acquisition.delete_file_classification(\"file.txt\", {Custom: [value1]})",
            async {
                acquisition
                    .delete_file_classification("file.txt", json!({"Custom": ["value1"]}))
                    .await?;
                let (_, classification) = classification(&acquisition).await?;
                check(
                    classification["Custom"] == json!(["value2"]),
                    "value1 gone, value2 kept",
                )?;
                Ok(((), classification.to_string()))
            },
        )
        .await?;
        Ok(())
    })
    .await
}
