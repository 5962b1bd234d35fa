//! The wire-equivalence walkthrough, Rust side: the Quick Reference calls of fw-sdk part 1,
//! in the order of `xtask/wire/walkthrough.py` (the same calls through the official Python
//! SDK). `cargo xtask wire` runs both against fw-server with request recording on and
//! compares what each sent; the differences allowed are listed in `crates/fw-sdk/WIRE.md`.
//!
//! ```text
//! cargo run -p fw-sdk --example walkthrough -- API_KEY IDS_FILE
//! ```
//!
//! The server must already have the user bob@x.org. IDS_FILE receives a JSON object naming
//! every id the walkthrough made, as the Python side writes it. Each step checks its
//! result, so a wrong reply stops the run with an error.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use futures_util::TryStreamExt;
use fw_sdk::model::{
    AcquisitionInput, DefaultRole, GroupInput, ProjectInput, SearchReturnType, SessionInput,
    SessionUpdate, SubjectInput, Timestamp,
};
use fw_sdk::{AgeHelpers, AnyContainer, Client, TimestampHelpers};
use serde_json::json;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Fails the walkthrough with `what` when `ok` is false.
fn check(ok: bool, what: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(format!("walkthrough check failed: {what}").into())
    }
}

/// The labels of a list of containers.
fn labels<T: std::ops::Deref<Target = W>, W: Labelled>(items: &[T]) -> Vec<String> {
    items.iter().map(|item| item.label_text()).collect()
}

/// Containers with a label (all the wire types the walkthrough lists).
trait Labelled {
    fn label_text(&self) -> String;
}

macro_rules! labelled {
    ($($ty:ty),*) => {$(
        impl Labelled for $ty {
            fn label_text(&self) -> String {
                self.label.clone().unwrap_or_default()
            }
        }
    )*};
}
labelled!(
    fw_sdk::model::Project,
    fw_sdk::model::Subject,
    fw_sdk::model::Session,
    fw_sdk::model::Acquisition
);

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(api_key), Some(ids_file)) = (args.next(), args.next()) else {
        return Err("usage: walkthrough API_KEY IDS_FILE".into());
    };
    let mut ids = BTreeMap::new();

    // The client: one GET /auth/status.
    let fw = Client::new(&api_key).await?;
    let me = fw.get_current_user().await?;
    check(
        me.id.as_ref().map(|id| id.as_str()) == Some("admin@local"),
        "current user",
    )?;
    check(
        fw.get_version().await?.flywheel_release.is_some(),
        "version",
    )?;
    fw.get_config().await?;

    // Create the hierarchy.
    let group_id = fw
        .add_group(GroupInput {
            id: Some("wire".into()),
            label: Some("Wire Group".into()),
            ..Default::default()
        })
        .await?;
    check(group_id.as_str() == "wire", "add_group returns the id")?;
    let group = fw.get_group("wire").await?;
    let project = group
        .add_project(ProjectInput {
            label: Some("Wire Project".into()),
            ..Default::default()
        })
        .await?;
    ids.insert("project", project.id().to_string());
    let subject = project
        .add_subject(SubjectInput {
            label: Some("sub-01".into()),
            sex: Some("female".into()),
            ..Default::default()
        })
        .await?;
    ids.insert("subject sub-01", subject.id().to_string());
    let session = subject
        .add_session(SessionInput {
            label: Some("ses-01".into()),
            age: Some(946_728_000),
            ..Default::default()
        })
        .await?;
    ids.insert("session ses-01", session.id().to_string());
    let acquisition = session
        .add_acquisition(AcquisitionInput {
            label: Some("T1w".into()),
            ..Default::default()
        })
        .await?;
    ids.insert("acquisition T1w", acquisition.id().to_string());
    for (i, name) in ["subject bulk-0", "subject bulk-1", "subject bulk-2"]
        .into_iter()
        .enumerate()
    {
        let bulk = project
            .add_subject(json!({"label": format!("bulk-{i}")}))
            .await?;
        ids.insert(name, bulk.id().to_string());
    }

    // Finders: find, sort and limit, find_first, find_one, iter_find (pages of 2), listing
    // all, and the finders on containers.
    let bulk = fw.subjects().find("label=~^bulk").await?;
    check(labels(&bulk) == ["bulk-0", "bulk-1", "bulk-2"], "find")?;
    let top = fw
        .subjects()
        .sort("label:desc")
        .limit(2)
        .find("label=~^bulk")
        .await?;
    check(
        labels(&top) == ["bulk-2", "bulk-1"],
        "find sorted and limited",
    )?;
    let first = fw.subjects().find_first("label=bulk-1").await?;
    check(
        first.map(|s| s.label_text()).as_deref() == Some("bulk-1"),
        "find_first",
    )?;
    let one = fw.projects().find_one("label=Wire Project").await?;
    check(one.id() == project.id(), "find_one")?;
    let streamed: Vec<_> = fw
        .subjects()
        .limit(2)
        .iter_find("label=~^bulk")?
        .try_collect()
        .await?;
    check(
        labels(&streamed) == ["bulk-0", "bulk-1", "bulk-2"],
        "iter_find",
    )?;
    check(fw.groups().all().await?.len() == 1, "listing all groups")?;
    check(
        project.subjects().all().await?.len() == 4,
        "project.subjects()",
    )?;
    let sessions = project.sessions().find("label=ses-01").await?;
    check(labels(&sessions) == ["ses-01"], "project.sessions.find")?;
    check(
        labels(&subject.sessions().all().await?) == ["ses-01"],
        "subject.sessions()",
    )?;
    check(
        labels(&session.acquisitions().all().await?) == ["T1w"],
        "session.acquisitions()",
    )?;
    let projects = group.projects().find("label=Wire Project").await?;
    check(labels(&projects) == ["Wire Project"], "group.projects.find")?;

    // A session straight under the project, its subject made from a code.
    let direct = project
        .add_session(json!({"label": "ses-direct", "subject": {"code": "sub-02"}}))
        .await?;
    let new_subject = direct
        .subject
        .as_ref()
        .ok_or("the session has no subject")?;
    check(
        new_subject.code.as_deref() == Some("sub-02"),
        "project.add_session with a new subject code",
    )?;
    ids.insert("session ses-direct", direct.id().to_string());
    let subject_id = new_subject.id.as_ref().ok_or("the new subject has no id")?;
    ids.insert("subject sub-02", subject_id.as_str().to_string());

    // Get by id, typed.
    check(
        matches!(fw.get(session.id()).await?, AnyContainer::Session(_)),
        "fw.get types by container_type",
    )?;
    check(
        fw.get_project(project.id()).await?.label_text() == "Wire Project",
        "get_project",
    )?;
    check(
        fw.get_subject(subject.id()).await?.sex.as_deref() == Some("female"),
        "get_subject",
    )?;
    check(
        fw.get_acquisition(acquisition.id()).await?.label_text() == "T1w",
        "get_acquisition",
    )?;

    // Lookup and resolve.
    let node = fw.lookup("wire/Wire Project/sub-01/ses-01/T1w").await?;
    check(node.id() == Some(acquisition.id()), "lookup")?;
    let resolved = fw.resolve("wire/Wire Project/sub-01").await?;
    check(
        resolved
            .children
            .iter()
            .map(AnyContainer::id)
            .collect::<Vec<_>>()
            == [Some(session.id())],
        "resolve children",
    )?;

    // Search.
    let results = fw
        .search("subject.code = sub-01", SearchReturnType::Session, Some(10))
        .await?;
    let found: Vec<String> = results
        .iter()
        .filter_map(|r| r.session.as_ref().and_then(|s| s.id.as_ref()))
        .map(|id| id.as_str().to_string())
        .collect();
    check(found == [session.id()], "search")?;

    // Update, timestamps and age.
    project.update(json!({"description": "described"})).await?;
    let when = Utc
        .with_ymd_and_hms(2024, 5, 6, 7, 8, 9)
        .single()
        .ok_or("no such time")?;
    session
        .update(SessionUpdate {
            timestamp: Some(Timestamp::from_datetime(when)),
            timezone: Some("Europe/Berlin".into()),
            ..Default::default()
        })
        .await?;
    let again = fw.get_session(session.id()).await?;
    check(
        again.timestamp().map(Timestamp::utc) == Some(when),
        "timestamp",
    )?;
    check(
        again
            .original_timestamp()?
            .map(|t| t.to_rfc3339())
            .as_deref()
            == Some("2024-05-06T09:08:09+02:00"),
        "original timestamp in the session's zone",
    )?;
    check(
        (
            again.age_years(),
            again.age_months(),
            again.age_weeks(),
            again.age_days(),
        ) == (
            Some(30.0),
            Some(365.25),
            Some(1565.357142857143),
            Some(10957.5),
        ),
        "age helpers",
    )?;

    // Info.
    session
        .update_info(json!({"a": 1, "nested": {"b": 2, "c": 3}}))
        .await?;
    session.delete_info(["nested.b"]).await?;
    session.replace_info(json!({"only": true})).await?;
    let info = fw.get_session(session.id()).await?.info.clone();
    check(
        info == json!({"only": true}).as_object().cloned(),
        "replace_info",
    )?;

    // Tags and notes.
    acquisition.add_tag("my tag/x").await?;
    acquisition.add_tag("qa").await?;
    acquisition.delete_tag("my tag/x").await?;
    project.add_note("hello").await?;
    let notes = fw
        .get_project(project.id())
        .await?
        .notes
        .clone()
        .unwrap_or_default();
    let note_id = notes
        .first()
        .and_then(|note| note.id.clone())
        .ok_or("the project has no note")?;
    ids.insert("note hello", note_id.clone());
    project.delete_note(&note_id).await?;

    // Roles and permissions.
    let roles = fw.get_all_roles().await?;
    let ro_role = roles
        .iter()
        .find(|role| role.default_flywheel_role == Some(DefaultRole::Ro))
        .and_then(|role| role.id.clone())
        .ok_or("no read-only role")?;
    fw.add_role_to_group("wire", json!({"_id": ro_role}))
        .await?;
    group
        .add_permission(json!({"_id": "bob@x.org", "access": "ro"}))
        .await?;
    group
        .update_permission("bob@x.org", json!({"access": "rw"}))
        .await?;
    group.delete_permission("bob@x.org").await?;
    project
        .add_permission(json!({"_id": "bob@x.org", "role_ids": [ro_role]}))
        .await?;
    let modality = fw.get_modality("MR").await?;
    check(
        modality
            .classification
            .as_ref()
            .and_then(|c| c.get("Measurement"))
            .is_some_and(|m| m.iter().any(|v| v == "T1")),
        "get_modality",
    )?;

    std::fs::write(&ids_file, serde_json::to_string_pretty(&ids)?)?;
    println!("walkthrough done: {} ids", ids.len());
    Ok(())
}
