//! The quickstart: fw-sdk doing the Python SDK's Quick Reference end to end, on a local
//! Flywheel started inside this process (no site, nothing else installed).
//!
//! ```text
//! cargo run --release -p fw-sdk --example quickstart
//! ```
//!
//! It builds a small synthetic study (3 subjects × 2 sessions × 2 acquisitions, each
//! acquisition with a small NIfTI-like file), then walks the Quick Reference: finders with
//! filters, `find_one`, a structured search, lookup, info and tags, a classification, a
//! permission, the whole project downloaded as a folder tree (verified, then again with
//! nothing to do) and as a tar. Each step prints what it did and how long it took, and checks its result:
//! the program exits non-zero at the first step that fails. `cargo test -p fw-sdk` runs it
//! (`tests/examples.rs`).

#[path = "common/mod.rs"]
mod common;

use std::process::ExitCode;
use std::time::Instant;

use futures_util::TryStreamExt;
use fw_sdk::local::LocalFlywheel;
use fw_sdk::model::SearchReturnType;
use fw_sdk::{AgeHelpers, AnyContainer, Client, Error, Project, TreeOptions, TypeFilter};
use serde_json::json;

use common::{Result, check, check_reads_only, read_only_role, step};

const GROUP: &str = "quickstart";
const PROJECT: &str = "Neuro Study";
const SUBJECTS: [(&str, &str); 3] = [
    ("sub-01", "female"),
    ("sub-02", "male"),
    ("sub-03", "female"),
];
const SESSIONS: [&str; 2] = ["baseline", "followup"];
const ACQUISITIONS: [(&str, &str); 2] = [("T1w", "T1"), ("rfMRI_REST_AP", "fMRI")];

/// A small NIfTI-1 single file: the 348-byte header (`sizeof_hdr`, dimensions, `n+1`
/// magic) and a 4×4×4 volume of 16-bit voxels.
fn nifti(seed: u8) -> Vec<u8> {
    let mut bytes = vec![0u8; 352];
    bytes[0..4].copy_from_slice(&348i32.to_le_bytes());
    for (i, dim) in [3i16, 4, 4, 4, 1, 1, 1, 1].iter().enumerate() {
        bytes[40 + 2 * i..42 + 2 * i].copy_from_slice(&dim.to_le_bytes());
    }
    bytes[70..72].copy_from_slice(&4i16.to_le_bytes()); // datatype: int16
    bytes[72..74].copy_from_slice(&16i16.to_le_bytes()); // bits per voxel
    bytes[108..112].copy_from_slice(&352f32.to_le_bytes()); // vox_offset
    bytes[344..348].copy_from_slice(b"n+1\0");
    bytes.extend((0..64u16).flat_map(|v| (v * u16::from(seed)).to_le_bytes()));
    bytes
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("quickstart: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<()> {
    let total = Instant::now();
    let site = step("start a local Flywheel", async {
        let site = LocalFlywheel::start().await?;
        let report = format!(
            "{} (data in {})",
            site.client().base_url(),
            site.data_dir().display()
        );
        Ok((site, report))
    })
    .await?;
    let fw = site.client();
    let result = walk(&site, &fw).await;
    step("stop the local Flywheel", async {
        site.stop().await?;
        Ok(((), "stopped, data directory removed".to_string()))
    })
    .await?;
    result?;
    println!(
        "all steps passed in {:.0} ms",
        total.elapsed().as_secs_f64() * 1000.0
    );
    Ok(())
}

async fn walk(site: &LocalFlywheel, fw: &Client) -> Result<()> {
    // Connect.
    step("fw.get_current_user()", async {
        let me = fw.get_current_user().await?;
        let id = me
            .id
            .as_ref()
            .map(|id| id.as_str().to_string())
            .unwrap_or_default();
        check(!id.is_empty(), "the current user has an id")?;
        let version = fw.get_version().await?;
        Ok((
            (),
            format!(
                "{id}, release {}",
                version.flywheel_release.unwrap_or_default()
            ),
        ))
    })
    .await?;

    // The synthetic study.
    let project = step("build the study", build_study(fw)).await?;

    // Finders with filters.
    step("project.subjects().find(\"sex=female\")", async {
        let found = project.subjects().find("sex=female").await?;
        let labels: Vec<_> = found.iter().filter_map(|s| s.label.clone()).collect();
        check(labels == ["sub-01", "sub-03"], "two female subjects")?;
        Ok(((), format!("{labels:?}")))
    })
    .await?;
    step(
        "fw.sessions().sort(\"label:desc\").find(\"label=~base.*\")",
        async {
            let found = fw
                .sessions()
                .sort("label:desc")
                .find("label=~base.*")
                .await?;
            check(found.len() == SUBJECTS.len(), "one baseline per subject")?;
            Ok(((), format!("{} baseline sessions", found.len())))
        },
    )
    .await?;
    step(
        "fw.acquisitions().iter_find(\"label=T1w\") (a stream)",
        async {
            let mut stream = fw.acquisitions().limit(2).iter_find("label=T1w")?;
            let mut count = 0;
            while let Some(acquisition) = stream.try_next().await? {
                check(acquisition.label.as_deref() == Some("T1w"), "only T1w")?;
                count += 1;
            }
            check(count == SUBJECTS.len() * SESSIONS.len(), "every T1w")?;
            Ok(((), format!("{count} acquisitions, pages of 2")))
        },
    )
    .await?;
    step("fw.subjects().find_first(\"label=sub-02\")", async {
        let first = fw.subjects().find_first("label=sub-02").await?;
        check(first.is_some(), "sub-02 exists")?;
        Ok(((), "an Option: Some(sub-02)".to_string()))
    })
    .await?;
    step("fw.subjects().find(\"age>30,sex\") (a typo)", async {
        let error = match fw.subjects().find("age>30,sex").await {
            Err(error @ Error::QuerySyntax { .. }) => error,
            other => return Err(format!("expected a syntax error, got {other:?}").into()),
        };
        let text = error.to_string();
        let detail = text
            .lines()
            .find(|line| line.contains("at line"))
            .unwrap_or(&text);
        Ok((
            (),
            format!("nothing sent; Error::QuerySyntax: {}", detail.trim()),
        ))
    })
    .await?;

    // find_one.
    step(
        "fw.projects().find_one(\"group=quickstart,label=Neuro Study\")",
        async {
            let one = fw
                .projects()
                .find_one(&format!("group={GROUP},label={PROJECT}"))
                .await?;
            check(one.id() == project.id(), "the study's project")?;
            let many = project.sessions().find_one("label=baseline").await;
            check(
                matches!(many, Err(Error::MoreThanOne { .. })),
                "3 baselines are more than one",
            )?;
            Ok((
                (),
                format!("{}; for 3 matches: Error::MoreThanOne", one.id()),
            ))
        },
    )
    .await?;

    // Lookup.
    let acquisition = step(
        "fw.lookup(\"quickstart/Neuro Study/sub-01/baseline/T1w\")",
        async {
            let node = fw
                .lookup(&format!("{GROUP}/{PROJECT}/sub-01/baseline/T1w"))
                .await?;
            let AnyContainer::Acquisition(acquisition) = node else {
                return Err("the path did not name an acquisition".into());
            };
            let files = acquisition.files.clone().unwrap_or_default();
            check(files.len() == 1, "one file")?;
            Ok((
                *acquisition,
                format!("acquisition with {} file", files.len()),
            ))
        },
    )
    .await?;

    // Info and tags.
    step(
        "acquisition.update_info / delete_info, session.add_tag, add_note",
        async {
            acquisition
                .update_info(json!({"scanner": "Prisma", "splines": 34}))
                .await?;
            acquisition.delete_info(["splines"]).await?;
            let info = acquisition.reload().await?.info.clone().unwrap_or_default();
            check(
                info.get("scanner") == Some(&json!("Prisma")) && !info.contains_key("splines"),
                "info",
            )?;
            let session = fw
                .lookup(&format!("{GROUP}/{PROJECT}/sub-01/baseline"))
                .await?;
            let AnyContainer::Session(session) = session else {
                return Err("not a session".into());
            };
            session.add_tag("Control").await?;
            session.add_note("scanned twice, second run kept").await?;
            let tagged = fw.sessions().find("tags=Control").await?;
            check(tagged.len() == 1, "one tagged session")?;
            let by_info = fw.acquisitions().find("info.scanner=Prisma").await?;
            check(by_info.len() == 1, "info filter")?;
            Ok((
                (),
                format!("info {info:?}; tag Control on 1 session; finder on info.scanner: 1"),
            ))
        },
    )
    .await?;

    // Classification.
    step(
        "acquisition.replace_file_classification(\"T1w.nii\", Measurement T1, modality MR)",
        async {
            let modality = fw.get_modality("MR").await?;
            check(modality.classification.is_some(), "MR has aspects")?;
            let t1w = fw.acquisitions().find("label=T1w").await?;
            for acquisition in &t1w {
                acquisition
                    .replace_file_classification(
                        "T1w.nii",
                        json!({"Intent": ["Structural"], "Measurement": ["T1"]}),
                        Some("MR"),
                    )
                    .await?;
            }
            let file = t1w[0].file("T1w.nii").await?;
            check(file.modality.as_deref() == Some("MR"), "modality set")?;
            Ok(((), format!("{} files classified", t1w.len())))
        },
    )
    .await?;

    // A structured search.
    step(
        "fw.search(\"file.classification.Measurement = T1 AND subject.sex = female\")",
        async {
            let results = fw
                .search(
                    "file.classification.Measurement = T1 AND subject.sex = female",
                    SearchReturnType::Acquisition,
                    Some(100),
                )
                .await?;
            let mut subjects: Vec<String> = results
                .iter()
                .filter_map(|r| r.subject.as_ref().and_then(|s| s.code.clone()))
                .collect();
            subjects.sort();
            check(results.len() == 4, "2 female subjects × 2 sessions")?;
            Ok((
                (),
                format!("{} acquisitions, subjects {subjects:?}", results.len()),
            ))
        },
    )
    .await?;

    // Timestamps and age.
    step("session.age_years(), timestamp", async {
        let session = project
            .sessions()
            .find_one("subject.label=sub-01,label=followup")
            .await?;
        let years = session.age_years();
        check(years == Some(31.0), "31 years at follow-up")?;
        Ok((
            (),
            format!(
                "age {years:?} years, timestamp {:?}",
                session.timestamp.as_ref().map(|t| t.utc())
            ),
        ))
    })
    .await?;

    // A permission.
    step(
        "fw.add_role_to_group, project.add_permission (read-only role)",
        async {
            let ana = site
                .add_user("ana@example.org", json!({"firstname": "Ana"}))
                .await?;
            check(
                ana.projects().all().await?.is_empty(),
                "Ana sees nothing yet",
            )?;
            let read_only = read_only_role(fw, GROUP).await?;
            project
                .add_permission(json!({"_id": "ana@example.org", "role_ids": [read_only]}))
                .await?;
            check_reads_only(&ana).await?;
            Ok((
                (),
                "Ana reads the project; her update is Error::PermissionDenied".to_string(),
            ))
        },
    )
    .await?;

    // Downloads: the project as a folder tree (verified by size and hash), a rerun that has
    // nothing to do, and the same files as one tar.
    let dest = std::env::temp_dir().join(format!("fw-quickstart-{}", std::process::id()));
    let result = step("project.download_tree(dest), twice", async {
        let first = project.download_tree(&dest, TreeOptions::default()).await?;
        check(first.failed.is_empty(), "no file failed")?;
        check(first.downloaded == 12, "12 files downloaded")?;
        let again = project.download_tree(&dest, TreeOptions::default()).await?;
        check(
            again.downloaded == 0 && again.skipped == 12,
            "the rerun skips all 12",
        )?;
        Ok((
            (),
            format!(
                "{} files, {} bytes, verified; the rerun downloaded {} and skipped {}",
                first.downloaded, first.bytes, again.downloaded, again.skipped
            ),
        ))
    })
    .await;
    let _ = std::fs::remove_dir_all(&dest);
    result?;
    step("fw.download_tar([project], path)", async {
        let tar = std::env::temp_dir().join(format!("fw-quickstart-{}.tar", std::process::id()));
        let ticket = fw
            .download_tar(&[project.node()], &tar, &TypeFilter::default())
            .await;
        let size = std::fs::metadata(&tar).map(|m| m.len());
        let _ = std::fs::remove_file(&tar);
        let ticket = ticket?;
        check(ticket.file_cnt == Some(12), "12 files in the tar")?;
        Ok((
            (),
            format!("{} files in a tar of {} bytes", 12, size.unwrap_or(0)),
        ))
    })
    .await?;

    // Reruns: find or create.
    step(
        "project.find_or_add_subject(\"sub-01\") finds, not adds",
        async {
            let again = project
                .find_or_add_subject(json!({"label": "sub-01"}))
                .await?;
            let all = project.subjects().all().await?;
            check(all.len() == SUBJECTS.len(), "no second sub-01")?;
            Ok(((), format!("found {}", again.id())))
        },
    )
    .await?;
    Ok(())
}

/// The group, project, subjects, sessions, acquisitions and one file in each.
async fn build_study(fw: &Client) -> Result<(Project, String)> {
    let group = fw
        .find_or_add_group(json!({"_id": GROUP, "label": "Quickstart Lab"}))
        .await?;
    let project = group.add_project(json!({"label": PROJECT})).await?;
    let mut files = 0;
    let mut size = 0;
    for (s, (subject_label, sex)) in SUBJECTS.into_iter().enumerate() {
        let subject = project
            .add_subject(json!({"label": subject_label, "sex": sex}))
            .await?;
        for (n, session_label) in SESSIONS.into_iter().enumerate() {
            let age_years = 30 + n as i64;
            let session = subject
                .add_session(json!({
                    "label": session_label,
                    "age": age_years * 31_557_600,
                    "timestamp": format!("2024-0{}-1{s}T09:30:00+00:00", n + 3),
                    "timezone": "Europe/Berlin",
                }))
                .await?;
            for (acquisition_label, _) in ACQUISITIONS {
                let acquisition = session
                    .add_acquisition(json!({"label": acquisition_label}))
                    .await?;
                let bytes = nifti(s as u8 + 1);
                size += bytes.len();
                acquisition
                    .upload_bytes(&format!("{acquisition_label}.nii"), bytes)
                    .metadata(json!({"type": "nifti", "modality": "MR"}))
                    .await?;
                files += 1;
            }
        }
    }
    let report = format!(
        "{GROUP}/{PROJECT}: {} subjects, {} sessions, {files} acquisitions, {files} files ({size} bytes)",
        SUBJECTS.len(),
        SUBJECTS.len() * SESSIONS.len(),
    );
    Ok((project, report))
}
