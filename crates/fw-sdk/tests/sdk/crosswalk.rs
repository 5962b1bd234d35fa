//! The crate docs' crosswalk ("Python Quick Reference → Rust", src/lib.rs) is code: every
//! call of its Rust column is written, as the table writes it, in [`crosswalk_async`], and
//! every call of its blocking form in [`crosswalk_blocking`], which the compiler checks;
//! the test below checks that the table and these two functions agree, so a row cannot
//! say something that does not compile.
//!
//! The functions are compiled, not run: the calls need a site with the Quick Reference's
//! data (the examples and the other tests run these calls against a local Flywheel).

use fw_sdk::model::{DefaultRole, GroupInput, SearchReturnType, Timestamp};
use fw_sdk::{AgeHelpers, Client, Error, LocalTimes, TimestampHelpers, TypeFilter, blocking};
use serde_json::json;

// The values the table's calls name, shared by both functions (lower case, as the table
// writes them).
#[allow(non_upper_case_globals)]
mod names {
    pub(super) const g: &str = "scien";
    pub(super) const l: &str = "cmrr_deid";
    pub(super) const n: &str = "T1w.nii";
    pub(super) const q: &str = "subject.sex = male";
    pub(super) const group_name: &str = "scien";
    pub(super) const group_id: &str = "scien";
    pub(super) const project_label: &str = "cmrr_deid";
    pub(super) const project_id: &str = "5ebd4ff8bfda5102856aa084";
    pub(super) const session_id: &str = "5f18a5d1bfda51028b6aa085";
    pub(super) const subject_label: &str = "sub-01";
    pub(super) const ses_label: &str = "baseline";
    pub(super) const new_label: &str = "sub-01_x";
    pub(super) const name: &str = "file.txt";
    pub(super) const path: &str = "/tmp/file.txt";
    pub(super) const file_path: &str = "/tmp/T1_Image.nii.gz";
    pub(super) const user_id: &str = "ana@example.org";
    pub(super) const admin_id: &str = "admin-role";
    pub(super) const note_id: &str = "n1";
    pub(super) const container_id: &str = session_id;
    pub(super) const new_project_label: &str = "P2";
}
use names::*;

/// The Rust column, row by row (variables named as the table names them).
#[allow(dead_code, unused_variables, unused_must_use, clippy::all)]
async fn crosswalk_async(fw: Client) -> Result<(), Error> {
    use chrono::{TimeZone, Utc};
    use futures_util::TryStreamExt;
    {
        let fw = Client::new("my-key").await?;
        let fw = Client::from_env().await?;
    }
    fw.get_current_user().await?;
    fw.projects().find("").await?;
    fw.subjects().find("").await?;
    fw.sessions().find("").await?;
    fw.projects().all().await?;
    fw.subjects().all().await?;
    fw.sessions().all().await?;
    fw.subjects().find("project=<PROJECT_ID>").await?;
    fw.get_project("<PROJECT_ID>").await?;
    let project = fw.get_project(project_id).await?;
    project.subjects().find("").await?;
    project.subjects().all().await?;
    project.subjects().find("created>2018-10-31").await?;
    fw.subjects().find_first("").await?;
    let sessions = fw.sessions().iter_find("")?;
    project.subjects().find_first("").await?;
    project.sessions().iter_find("")?;
    fw.subjects().find_first("label=My Subject").await?;
    let mut subjects = project.subjects().iter_find("created>2019-09-09")?;
    while let Some(sub) = subjects.try_next().await? {
        sub.update(json!({"label": new_label})).await?;
    }
    let results = fw
        .search(q, SearchReturnType::Acquisition, Some(10000))
        .await?;
    fw.groups().all().await?;
    let group = fw.get_group(group_name).await?;
    group.id();
    fw.get(group_name).await?;
    fw.get_group(group_name).await?;
    fw.lookup(group_name).await?;
    fw.groups().find(&format!("_id={group_id}")).await?;
    fw.projects().find(&format!("group={group_id}")).await?;
    group.projects().all().await?;
    fw.projects().find(&format!("group={g},label={l}")).await?;
    fw.projects()
        .find_first(&format!("group={g},label={l}"))
        .await?;
    fw.projects()
        .find_one(&format!("group={g},label={l}"))
        .await?;
    fw.lookup(&format!("{group_id}/{project_label}")).await?;
    group.projects().find(&format!("label={l}")).await?;
    group.projects().find_first(&format!("label={l}")).await?;
    group.projects().find_one(&format!("label={l}")).await?;
    project.id();
    fw.get(project_id).await?;
    fw.get_project(project_id).await?;
    project.subjects().all().await?.len();
    project.subjects().iter_find("")?;
    project.subjects().find("age<30,sex=male").await?;
    project
        .subjects()
        .find("info.custom_info_field=<v>")
        .await?;
    project
        .subjects()
        .find(&format!("label={subject_label}"))
        .await?;
    project.sessions().all().await?;
    project.sessions().iter_find("")?;
    let subject = fw.get_subject("s").await?;
    subject.sessions().all().await?;
    project.sessions().find("label=baseline").await?;
    fw.get(session_id).await?;
    fw.get_session(session_id).await?;
    subject
        .sessions()
        .find(&format!("label={ses_label}"))
        .await?;
    let session = fw.get_session(session_id).await?;
    session.acquisitions().all().await?;
    session.acquisitions().find("label=~.*resting.*").await?;
    let p = fw.projects().find_one("label=checkerboard_study").await?;
    fw.acquisitions()
        .find(&format!("parents.project={},label={l}", p.id()))
        .await?;
    let acquisition = session
        .acquisitions()
        .find_one("label=rfMRI_REST_AP_Run1")
        .await?;
    let _ = &acquisition.files;
    acquisition
        .files
        .iter()
        .flatten()
        .find(|f| f.name.as_deref() == Some(n));
    acquisition
        .files
        .iter()
        .flatten()
        .filter(|f| f.r#type.as_deref() == Some("nifti"));
    let container = fw.get_session(session_id).await?;
    let _ = &container.parents;
    fw.add_group(GroupInput {
        id: Some("my_group".into()),
        label: Some("My Test Group".into()),
        ..Default::default()
    })
    .await?;
    fw.add_group(json!({"_id": "my_group", "label": "My Test Group"}))
        .await?;
    group
        .add_project(json!({"label": "My Test Project"}))
        .await?;
    project.add_subject(json!({"label": "Subject 01"})).await?;
    subject.add_session(json!({"label": "Session 01"})).await?;
    session
        .add_acquisition(json!({"label": "Localizer"}))
        .await?;
    acquisition.upload_file("localizer.nii.gz").await?;
    container.update(json!({"label": "new_label"})).await?;
    fw.get_session(session_id).await?;
    session
        .add_acquisition(json!({"label": "MyNewAcquisition"}))
        .await?;
    let acq = acquisition.clone();
    acq.update(
        json!({"timestamp": Timestamp::from(Utc.with_ymd_and_hms(2020, 1, 1, 4, 30, 0).unwrap())}),
    )
    .await?;
    let _ = &session.tags;
    session.add_tag("Control").await?;
    session.delete_tag("Analysis Required").await?;
    let _ = &session.notes;
    session.add_note("This is a note").await?;
    session.delete_note(note_id).await?;
    let _ = &acquisition.info;
    acquisition.replace_info(json!({"splines": 34})).await?;
    acquisition.update_info(json!({"curve": "bezier"})).await?;
    acquisition.delete_info(["splines"]).await?;
    acquisition.upload_file(path).await?;
    acquisition.download_file(name, path).await?.await?;
    let _ = acquisition.files.iter().flatten().map(|f| &f.info);
    acquisition
        .replace_file_info("file.txt", json!({"wordCount": 327}))
        .await?;
    fw.get_modality("MR").await?;
    acquisition
        .replace_file_classification(
            name,
            json!({"Intent": ["Structural"], "Measurement": ["T2"]}),
            Some("MR"),
        )
        .await?;
    acquisition
        .update_file_classification(name, json!({"Custom": ["value1", "value2"]}))
        .await?;
    acquisition
        .delete_file_classification(name, json!({"Custom": ["value1"]}))
        .await?;
    let _ = acquisition.timestamp.as_ref().map(|t| (t.utc(), t.local()));
    acquisition.local_timestamp();
    session.original_timestamp()?;
    project.local_created();
    project.local_modified();
    let _ = session.age;
    session.age_years();
    subject
        .update(json!({"sex": "male", "info": {"key1": "val1"}}))
        .await?;
    session
        .update_info(json!({"hair": "black", "eyes": "blue"}))
        .await?;
    session.update(json!({"info": {"hair": "black"}})).await?;
    acquisition.replace_info(json!({"key1": "val1"})).await?;
    let my_group = group.clone();
    my_group
        .add_permission(json!({"access": "rw", "_id": user_id}))
        .await?;
    let roles = fw.get_all_roles().await?;
    roles
        .iter()
        .filter(|r| r.default_flywheel_role == Some(DefaultRole::Admin));
    fw.add_role_to_group(my_group.id(), json!({"_id": admin_id}))
        .await?;
    fw.get("group-id").await?;
    fw.get_group("group-id").await?;
    let new_group = GroupInput {
        id: Some("my_id".into()),
        label: Some("My Label".into()),
        ..Default::default()
    };
    fw.add_group(new_group).await?;
    my_group.projects().all().await?;
    group
        .add_project(json!({"label": new_project_label}))
        .await?;
    {
        let metadata = json!({"label": "sub-07"});
        project.add_subject(metadata).await?;
    }
    {
        let metadata = json!({"label": "ses-07"});
        subject.add_session(metadata).await?;
    }
    acquisition.upload_file(file_path).await?;
    acquisition
        .download_file("T1_Image.nii.gz", path)
        .await?
        .await?;
    let file = acquisition.file(name).await?;
    let metadata = json!({"EchoTime": 0.03});
    acquisition.update_file_info(file.name(), metadata).await?;
    fw.subjects().find_first("").await?;
    container.id();
    {
        let file = file_path;
        fw.upload_file_to_container(container_id, file)
            .metadata(json!({"info": {"hair color": "brown"}}))
            .await?;
    }
    fw.download_tar(
        &[acquisition.node()],
        "/tmp/acquisition.tar",
        &TypeFilter::default(),
    )
    .await?;
    session.files()?;
    file.download(path).await?;
    Ok(())
}

/// The blocking forms: the same calls without `.await`, and the blocking column where it
/// differs.
#[allow(dead_code, unused_variables, unused_must_use, clippy::all)]
fn crosswalk_blocking(fw: blocking::Client) -> Result<(), Error> {
    use chrono::{TimeZone, Utc};
    {
        let fw = blocking::Client::new("my-key")?;
        let fw = blocking::Client::from_env()?;
    }
    fw.get_current_user()?;
    fw.projects().find("")?;
    fw.subjects().find("")?;
    fw.sessions().find("")?;
    fw.projects().all()?;
    fw.subjects().all()?;
    fw.sessions().all()?;
    fw.subjects().find("project=<PROJECT_ID>")?;
    fw.get_project("<PROJECT_ID>")?;
    let project = fw.get_project(project_id)?;
    project.subjects().find("")?;
    project.subjects().all()?;
    project.subjects().find("created>2018-10-31")?;
    fw.subjects().find_first("")?;
    for session in fw.sessions().iter_find("")? {
        let _: blocking::Session = session?;
    }
    project.subjects().find_first("")?;
    project.sessions().iter_find("")?;
    fw.subjects().find_first("label=My Subject")?;
    for sub in project.subjects().iter_find("created>2019-09-09")? {
        sub?.update(json!({"label": new_label}))?;
    }
    let results = fw.search(q, SearchReturnType::Acquisition, Some(10000))?;
    let _: Option<Result<blocking::Acquisition, Error>> = results[0].acquisition();
    fw.groups().all()?;
    let group = fw.get_group(group_name)?;
    group.id();
    fw.get(group_name)?;
    fw.get_group(group_name)?;
    fw.lookup(group_name)?;
    fw.groups().find(&format!("_id={group_id}"))?;
    fw.projects().find(&format!("group={group_id}"))?;
    group.projects().all()?;
    fw.projects().find(&format!("group={g},label={l}"))?;
    fw.projects().find_first(&format!("group={g},label={l}"))?;
    fw.projects().find_one(&format!("group={g},label={l}"))?;
    fw.lookup(&format!("{group_id}/{project_label}"))?;
    group.projects().find(&format!("label={l}"))?;
    group.projects().find_first(&format!("label={l}"))?;
    group.projects().find_one(&format!("label={l}"))?;
    project.id();
    fw.get(project_id)?;
    fw.get_project(project_id)?;
    project.subjects().all()?.len();
    project.subjects().iter_find("")?;
    project.subjects().find("age<30,sex=male")?;
    project.subjects().find("info.custom_info_field=<v>")?;
    project.subjects().find(&format!("label={subject_label}"))?;
    project.sessions().all()?;
    project.sessions().iter_find("")?;
    let subject = fw.get_subject("s")?;
    subject.sessions().all()?;
    project.sessions().find("label=baseline")?;
    fw.get(session_id)?;
    fw.get_session(session_id)?;
    subject.sessions().find(&format!("label={ses_label}"))?;
    let session = fw.get_session(session_id)?;
    session.acquisitions().all()?;
    session.acquisitions().find("label=~.*resting.*")?;
    let p = fw.projects().find_one("label=checkerboard_study")?;
    fw.acquisitions()
        .find(&format!("parents.project={},label={l}", p.id()))?;
    let acquisition = session
        .acquisitions()
        .find_one("label=rfMRI_REST_AP_Run1")?;
    let _ = &acquisition.files;
    acquisition
        .files
        .iter()
        .flatten()
        .find(|f| f.name.as_deref() == Some(n));
    acquisition
        .files
        .iter()
        .flatten()
        .filter(|f| f.r#type.as_deref() == Some("nifti"));
    let container = fw.get_session(session_id)?;
    let _ = &container.parents;
    fw.add_group(GroupInput {
        id: Some("my_group".into()),
        label: Some("My Test Group".into()),
        ..Default::default()
    })?;
    fw.add_group(json!({"_id": "my_group", "label": "My Test Group"}))?;
    group.add_project(json!({"label": "My Test Project"}))?;
    project.add_subject(json!({"label": "Subject 01"}))?;
    subject.add_session(json!({"label": "Session 01"}))?;
    session.add_acquisition(json!({"label": "Localizer"}))?;
    acquisition.upload_file("localizer.nii.gz").send()?;
    container.update(json!({"label": "new_label"}))?;
    fw.get_session(session_id)?;
    session.add_acquisition(json!({"label": "MyNewAcquisition"}))?;
    let acq = acquisition.clone();
    acq.update(
        json!({"timestamp": Timestamp::from(Utc.with_ymd_and_hms(2020, 1, 1, 4, 30, 0).unwrap())}),
    )?;
    let _ = &session.tags;
    session.add_tag("Control")?;
    session.delete_tag("Analysis Required")?;
    let _ = &session.notes;
    session.add_note("This is a note")?;
    session.delete_note(note_id)?;
    let _ = &acquisition.info;
    acquisition.replace_info(json!({"splines": 34}))?;
    acquisition.update_info(json!({"curve": "bezier"}))?;
    acquisition.delete_info(["splines"])?;
    acquisition.upload_file(path).send()?;
    acquisition.download_file(name, path)?.send()?;
    let _ = acquisition.files.iter().flatten().map(|f| &f.info);
    acquisition.replace_file_info("file.txt", json!({"wordCount": 327}))?;
    fw.get_modality("MR")?;
    acquisition.replace_file_classification(
        name,
        json!({"Intent": ["Structural"], "Measurement": ["T2"]}),
        Some("MR"),
    )?;
    acquisition.update_file_classification(name, json!({"Custom": ["value1", "value2"]}))?;
    acquisition.delete_file_classification(name, json!({"Custom": ["value1"]}))?;
    let _ = acquisition.timestamp.as_ref().map(|t| (t.utc(), t.local()));
    acquisition.local_timestamp();
    session.original_timestamp()?;
    project.local_created();
    project.local_modified();
    let _ = session.age;
    session.age_years();
    subject.update(json!({"sex": "male", "info": {"key1": "val1"}}))?;
    session.update_info(json!({"hair": "black", "eyes": "blue"}))?;
    session.update(json!({"info": {"hair": "black"}}))?;
    acquisition.replace_info(json!({"key1": "val1"}))?;
    let my_group = group.clone();
    my_group.add_permission(json!({"access": "rw", "_id": user_id}))?;
    let roles = fw.get_all_roles()?;
    roles
        .iter()
        .filter(|r| r.default_flywheel_role == Some(DefaultRole::Admin));
    fw.add_role_to_group(my_group.id(), json!({"_id": admin_id}))?;
    fw.get("group-id")?;
    fw.get_group("group-id")?;
    let new_group = GroupInput {
        id: Some("my_id".into()),
        label: Some("My Label".into()),
        ..Default::default()
    };
    fw.add_group(new_group)?;
    my_group.projects().all()?;
    group.add_project(json!({"label": new_project_label}))?;
    {
        let metadata = json!({"label": "sub-07"});
        project.add_subject(metadata)?;
    }
    {
        let metadata = json!({"label": "ses-07"});
        subject.add_session(metadata)?;
    }
    acquisition.upload_file(file_path).send()?;
    acquisition.download_file("T1_Image.nii.gz", path)?.send()?;
    let file = acquisition.file(name)?;
    let metadata = json!({"EchoTime": 0.03});
    acquisition.update_file_info(file.name(), metadata)?;
    fw.subjects().find_first("")?;
    container.id();
    {
        let file = file_path;
        fw.upload_file_to_container(container_id, file)
            .metadata(json!({"info": {"hair color": "brown"}}))
            .send()?;
    }
    fw.download_tar(
        &[acquisition.node()],
        "/tmp/acquisition.tar",
        &TypeFilter::default(),
    )?;
    session.files()?;
    file.download(path).send()?;
    Ok(())
}

/// Code without whitespace and without the trailing commas rustfmt adds, so that the
/// table's one-line form matches the formatted code.
fn normalize(code: &str) -> String {
    let mut out: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    for (from, to) in [(",)", ")"), (",}", "}"), (",]", "]")] {
        out = out.replace(from, to);
    }
    out
}

/// The table's rows as (Python cell, Rust calls, blocking calls): the code spans of each
/// cell that are calls or field reads (they hold `(` or `.`); type names are left out.
fn table(lib: &str) -> Vec<(String, Vec<String>, Vec<String>)> {
    let spans = |cell: &str| -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(|s| s.replace("\\|", "|"))
            .filter(|s| s.contains('(') || s.contains('.'))
            .collect()
    };
    lib.lines()
        .filter_map(|line| line.strip_prefix("//! | `"))
        .map(|row| {
            // Cells split on `|` not escaped as `\|`.
            let mut cells = Vec::new();
            let mut cell = String::from("`");
            let mut chars = row.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '\\' if chars.peek() == Some(&'|') => {
                        cell.push_str("\\|");
                        chars.next();
                    }
                    '|' => cells.push(std::mem::take(&mut cell)),
                    c => cell.push(c),
                }
            }
            let cell = |i: usize| cells.get(i).map(String::as_str).unwrap_or("");
            (cell(0).trim().to_string(), spans(cell(1)), spans(cell(2)))
        })
        .collect()
}

/// The calls of the table that the code lacks, as `Python cell: call`.
fn not_in_code(lib: &str, async_code: &str, blocking_code: &str) -> Vec<String> {
    let (async_code, blocking_code) = (normalize(async_code), normalize(blocking_code));
    let mut lacking = Vec::new();
    for (python, rust, blocking) in table(lib) {
        // Without a blocking cell, the Rust calls are the blocking ones too (there are no
        // `.await`s in them to drop).
        let blocking = if blocking.is_empty() {
            rust.iter()
                .filter(|c| !c.contains(".await"))
                .cloned()
                .collect()
        } else {
            blocking
        };
        for call in &rust {
            if !async_code.contains(&normalize(call)) {
                lacking.push(format!("{python}: {call}"));
            }
        }
        for call in &blocking {
            if !blocking_code.contains(&normalize(call)) {
                lacking.push(format!("{python}: {call} (blocking)"));
            }
        }
    }
    lacking
}

#[test]
fn every_call_of_the_crosswalk_table_is_compiled_here() {
    let lib = include_str!("../../src/lib.rs");
    let this = include_str!("crosswalk.rs");
    let split = this
        .find("fn crosswalk_blocking(")
        .expect("the blocking function");
    let end = this.find("fn normalize(").expect("the helpers");
    let rows = table(lib);
    assert!(rows.len() > 90, "only {} rows read", rows.len());
    assert!(
        rows.iter().filter(|(_, rust, _)| !rust.is_empty()).count() == rows.len(),
        "a row without a Rust call"
    );
    let lacking = not_in_code(lib, &this[..split], &this[split..end]);
    assert!(
        lacking.is_empty(),
        "calls of the crosswalk that tests/sdk/crosswalk.rs does not compile: {lacking:#?}"
    );
}

/// The check sees a call the code lacks, in either column, and ignores formatting.
#[test]
fn the_crosswalk_check_finds_a_call_not_compiled() {
    let lib = "//! | `a()` | `fw.get(x)`, `Type` | |\n//! | `b()` | `fw.up(p).await?` | `fw.up(p).send()?` |\n//! | `c()` | `fw.f(\\|x\\| x)` | |\n";
    assert_eq!(
        not_in_code(
            lib,
            "fw\n  .get(\n    x,\n  ).await?; fw.up(p).await?; fw.f(|x| x)",
            "fw.get(x)?; fw.f(|x| x)"
        ),
        ["`b()`: fw.up(p).send()? (blocking)"]
    );
    assert_eq!(
        not_in_code(
            lib,
            "fw.up(p).await?",
            "fw.up(p).send()?; fw.get(x)?; fw.f(|x| x)"
        ),
        ["`a()`: fw.get(x)", "`c()`: fw.f(|x| x)"]
    );
}
