//! The Flywheel Rust SDK: a typed, async client for [Flywheel](https://flywheel.io), the
//! research-data platform for brain imaging, that sends what the official Python SDK
//! (flywheel-sdk 23.0.0) sends.
//!
//! ```no_run
//! use fw_sdk::{AgeHelpers, Client, Error};
//! use futures_util::TryStreamExt;
//! use serde_json::json;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Error> {
//!     // `FW_API_KEY`, else the key the Flywheel CLI saved at login; sends GET /auth/status.
//!     let fw = Client::from_env().await?;
//!     let me = fw.get_current_user().await?;
//!     println!("I am {} {}", me.firstname.unwrap_or_default(), me.lastname.unwrap_or_default());
//!
//!     // Find or create the hierarchy: reruns of this script reuse what exists.
//!     let group = fw.find_or_add_group(json!({"_id": "scien", "label": "Science"})).await?;
//!     let project = group.find_or_add_project(json!({"label": "cmrr_deid"})).await?;
//!     let subject = project
//!         .find_or_add_subject(json!({"label": "sub-01", "sex": "female"}))
//!         .await?;
//!     let session = subject
//!         .add_session(json!({"label": "baseline", "age": 20 * 31_557_600}))
//!         .await?;
//!     println!("age at the session: {:?} years", session.age_years());
//!     let acquisition = session.add_acquisition(json!({"label": "T1w"})).await?;
//!     acquisition.update_info(json!({"scanner": "Prisma"})).await?;
//!     acquisition.add_tag("qc-pending").await?;
//!
//!     // Finders: the filter is checked before anything is sent (a mistake is an
//!     // Error::QuerySyntax with a caret under it).
//!     let females = project.subjects().find("sex=female").await?;
//!     println!("{} female subjects", females.len());
//!     let mut sessions = fw.sessions().include_all_info(true).iter_find("label=~base.*")?;
//!     while let Some(session) = sessions.try_next().await? {
//!         println!("{:?}: {:?}", session.label, session.info);
//!     }
//!
//!     // One container by id, typed by its kind; a missing one is `is_not_found()`.
//!     match fw.get_project("5ebd4ff8bfda5102856aa084").await {
//!         Ok(project) => println!("found {:?}", project.label),
//!         Err(e) if e.is_not_found() => println!("no such project"),
//!         Err(e) => return Err(e),
//!     }
//!     Ok(())
//! }
//! ```
//!
//! # Shape
//!
//! - [`Client`]: cheap to clone; [`Client::new`], [`Client::from_env`],
//!   [`Client::builder`] (timeouts, retries, exhaustive, request concurrency, skipping
//!   the auth check).
//! - [`Container<K>`](Container): a container of kind `K` (the markers of fw-model:
//!   [`model::ProjectKind`], …) holding its wire value (fields through `Deref`:
//!   `project.label`) and a client. The aliases [`Group`], [`Project`], [`Subject`],
//!   [`Session`], [`Acquisition`], [`Analysis`] carry the Python SDK's method names. What
//!   every kind shares (reload, update, tags; info and notes for all but groups;
//!   permissions for groups and projects) is written once over the kind.
//! - [`Finder<K>`](Finder): a list endpoint and its options; `find`, `find_first`,
//!   `find_one`, `iter_find` (a stream one page ahead of the caller), `all`.
//! - [`AnyContainer`]: what `get(id)`, `lookup` and `resolve` return, one variant per kind.
//! - [`Error`]: one error type; [`Error::status`], [`Error::is_not_found`].
//!
//! Every method is a plain `async fn` on these types; [`blocking`] mirrors each one
//! (same names, synchronous, streams as iterators), generated from one table so that the
//! two cannot drift. With the feature `local`, `local::LocalFlywheel` runs a local
//! Flywheel (fw-server) in the process, for testing scripts without a site.
//!
//! # Find or create
//!
//! Scripts that rerun must not create a second `sub-01`. Flywheel answers 409 only for
//! group ids; sibling labels may repeat. So [`Client::find_or_add_group`] creates and
//! treats a 409 as "found", while the `find_or_add_*` methods of parents (e.g.
//! [`Project::find_or_add_subject`](Container::find_or_add_subject)) look for the oldest
//! child with the label, create one if there is none, and look again: when two scripts
//! race and both create, both see the same oldest child, and the one that lost deletes its
//! own fresh, empty duplicate. Racing scripts end with one container and agree on it.
//!
//! # Files and transfers
//!
//! Every kind that holds files (all but groups) has, written once over
//! [`model::HasFiles`]: `files()`, `file(name)`; uploads as values to `.await`
//! ([`FileUpload`]: `upload_file(path)`, `upload_bytes(name, bytes)`,
//! `upload_reader(name, size, reader)`, with `.metadata(…)`, `.mode(…)`, `.progress(…)`);
//! downloads that are **verified** (size and the entry's `v0-sha384` hash, checked while
//! streaming) and **resumable** (a broken transfer's bytes are kept as `.{name}.fwpart`
//! and continued with a `Range` request) and never leave a partial file under the final
//! name ([`FileDownload`]); `read_file`, `open_file` (a streaming [`FileReader`]), a given
//! version, `file.url()`; file info, classification, `update_file`, `delete_file`, file
//! tags, zip members. File names are checked by [`check_file_name`] (docs/wire.md
//! §15.3) before anything is sent; [`sanitize_file_name`] is there to call, never applied
//! unasked. Bulk: [`Client::download_tar`] / [`Client::download_zip`],
//! [`Container::download_tree`] (the archive's layout on disk, N at once, reruns skip what
//! is there) and [`Project::import_folder`](Container::import_folder) (a
//! `subject/session/acquisition` folder into a project, idempotent, with a dry run).
//! Progress goes to a [`ProgressObserver`] with per-file and total bytes; the library
//! never prints.
//!
//! # Python Quick Reference → Rust
//!
//! Every call of the Python SDK's Quick Reference, in its order. `fw` is a [`Client`];
//! each Rust call is `.await`ed and `?`-checked (left out below). Rust finder methods
//! take the filter as their argument; `""` means no filter. The [`blocking`] API has the
//! same calls with `?` and no `.await`; its column says where else it differs: uploads
//! and downloads are sent with `.send()`, streams are iterators. Every call in the table
//! is compiled, as written, by `tests/sdk/crosswalk.rs`, which also checks that the table
//! and that code agree.
//!
//! | Python (Quick Reference) | Rust | Blocking ([`blocking`]), where it differs |
//! |---|---|---|
//! | `fw = flywheel.Client('my-key')` | `let fw = Client::new("my-key")` | `let fw = blocking::Client::new("my-key")` |
//! | `fw = flywheel.Client()` (CLI credentials) | `let fw = Client::from_env()` | `let fw = blocking::Client::from_env()` |
//! | `fw.get_current_user()` | `fw.get_current_user()` | |
//! | `fw.projects.find()`, `fw.subjects.find()`, `fw.sessions.find()` | `fw.projects().find("")`, `fw.subjects().find("")`, `fw.sessions().find("")` | |
//! | `fw.projects()`, `fw.subjects()`, `fw.sessions()` | `fw.projects().all()`, `fw.subjects().all()`, `fw.sessions().all()` | |
//! | `fw.subjects.find('project=<PROJECT_ID>')` | `fw.subjects().find("project=<PROJECT_ID>")` | |
//! | `fw.get_project('<PROJECT_ID>')` | `fw.get_project("<PROJECT_ID>")` | |
//! | `project.subjects.find()` / `project.subjects()` | `project.subjects().find("")` / `project.subjects().all()` | |
//! | `project.subjects.find('created>2018-10-31')` | `project.subjects().find("created>2018-10-31")` | |
//! | `fw.subjects.find_first()` | `fw.subjects().find_first("")` (an `Option`) | |
//! | `fw.sessions.iter_find()` | `fw.sessions().iter_find("")?` (a `Stream`; no `.await`) | `fw.sessions().iter_find("")?` (an `Iterator` of `Result`s) |
//! | `project.subjects.find_first()` | `project.subjects().find_first("")` | |
//! | `project.sessions.iter_find()` | `project.sessions().iter_find("")?` | |
//! | `fw.subjects.find_first("label='My Subject'")` | `fw.subjects().find_first("label=My Subject")` | |
//! | `project.subjects.iter_find('created>2019-09-09')`, then `sub.update({'label': …})` | `project.subjects().iter_find("created>2019-09-09")?`, then `sub.update(json!({"label": new_label}))` | `for sub in project.subjects().iter_find("created>2019-09-09")?`, then `sub?.update(json!({"label": new_label}))` |
//! | `fw.search({'structured_query': q, 'return_type': 'acquisition'}, size=10000)` | `fw.search(q, SearchReturnType::Acquisition, Some(10000))` | the same; the results' levels are blocking handles |
//! | `fw.groups()` | `fw.groups().all()` | |
//! | `group.id` | `group.id()` | |
//! | `fw.get(group_name)` | `fw.get(group_name)` (an [`AnyContainer`]), or `fw.get_group(group_name)` | |
//! | `fw.lookup(group_name)` | `fw.lookup(group_name)` | |
//! | `fw.groups.find(f"_id={group_id}")` | `fw.groups().find(&format!("_id={group_id}"))` | |
//! | `fw.projects.find(f"group={group_id}")` | `fw.projects().find(&format!("group={group_id}"))` | |
//! | `group.projects()` | `group.projects().all()` | |
//! | `fw.projects.find(f"group={g},label={l}")` | `fw.projects().find(&format!("group={g},label={l}"))` | |
//! | `fw.projects.find_first(f"group={g},label={l}")` | `fw.projects().find_first(&format!("group={g},label={l}"))` | |
//! | `fw.projects.find_one(f"group={g},label={l}")` | `fw.projects().find_one(&format!("group={g},label={l}"))` | |
//! | `fw.lookup(f"{group_id}/{project_label}")` | `fw.lookup(&format!("{group_id}/{project_label}"))` | |
//! | `group.projects.find(f"label={l}")`, `.find_first(…)`, `.find_one(…)` | `group.projects().find(&format!("label={l}"))`, `.find_first(&format!("label={l}"))`, `.find_one(&format!("label={l}"))` | |
//! | `project.id` | `project.id()` | |
//! | `fw.get(project_id)` | `fw.get(project_id)`, or typed: `fw.get_project(project_id)` | |
//! | `len(project.subjects())` | `project.subjects().all().await?.len()` | `project.subjects().all()?.len()` |
//! | `project.subjects.iter()` | `project.subjects().iter_find("")?` | |
//! | `project.subjects.find("age<30,sex=male")` | `project.subjects().find("age<30,sex=male")` | |
//! | `project.subjects.find("info.custom_info_field=<v>")` | `project.subjects().find("info.custom_info_field=<v>")` | |
//! | `project.subjects.find(f"label={subject_label}")` | `project.subjects().find(&format!("label={subject_label}"))` | |
//! | `project.sessions()` | `project.sessions().all()` | |
//! | `project.sessions.iter()` | `project.sessions().iter_find("")?` | |
//! | `subject.sessions()` | `subject.sessions().all()` | |
//! | `project.sessions.find("label=baseline")`, `"label=~.*baseline"`, `"label=~resting.*"` | `project.sessions().find("label=baseline")`, … (same filters) | |
//! | `fw.get(session_id)` | `fw.get(session_id)`, or `fw.get_session(session_id)` | |
//! | `subject.sessions.find(f"label={ses_label}")` | `subject.sessions().find(&format!("label={ses_label}"))` | |
//! | `session.acquisitions()` | `session.acquisitions().all()` | |
//! | `session.acquisitions.find('label=~.*resting.*')` | `session.acquisitions().find("label=~.*resting.*")` | |
//! | `fw.projects.find_one('label=checkerboard_study')` | `fw.projects().find_one("label=checkerboard_study")` | |
//! | `fw.acquisitions.find(f"parents.project={p.id},label={l}")` | `fw.acquisitions().find(&format!("parents.project={},label={l}", p.id()))` | |
//! | `session.acquisitions.find_one('label=rfMRI_REST_AP_Run1')` | `session.acquisitions().find_one("label=rfMRI_REST_AP_Run1")` | |
//! | `acquisition.files` | `acquisition.files` (the field, through `Deref`) | |
//! | `[f for f in acquisition.files if f.name == n][0]` | `acquisition.files.iter().flatten().find(\|f\| f.name.as_deref() == Some(n))` | |
//! | `[f for f in acquisition.files if f.type == 'nifti']` | `acquisition.files.iter().flatten().filter(\|f\| f.r#type.as_deref() == Some("nifti"))` | |
//! | `container.parents` | `container.parents` (the field) | |
//! | `fw.add_group(flywheel.Group('my_group', 'My Test Group'))` | `fw.add_group(GroupInput { id: Some("my_group".into()), label: Some("My Test Group".into()), ..Default::default() })` (returns the id), or `fw.add_group(json!({"_id": "my_group", "label": "My Test Group"}))` | |
//! | `group.add_project(label='My Test Project')` | `group.add_project(json!({"label": "My Test Project"}))` (or a `ProjectInput`) | |
//! | `project.add_subject(label='Subject 01')` | `project.add_subject(json!({"label": "Subject 01"}))` (or a `SubjectInput`) | |
//! | `subject.add_session(label='Session 01')` | `subject.add_session(json!({"label": "Session 01"}))` (or a `SessionInput`) | |
//! | `session.add_acquisition(label='Localizer')` | `session.add_acquisition(json!({"label": "Localizer"}))` (or an `AcquisitionInput`) | |
//! | `acquisition.upload_file('localizer.nii.gz')` | `acquisition.upload_file("localizer.nii.gz").await?` ([`FileUpload`]) | `acquisition.upload_file("localizer.nii.gz").send()?` |
//! | `container.update({'label': 'new_label'})` | `container.update(json!({"label": "new_label"}))` (or the kind's typed update body) | |
//! | `fw.get_session('5f18…')` | `fw.get_session(session_id)` | |
//! | `ses.add_acquisition(label='MyNewAcquisition')` | `session.add_acquisition(json!({"label": "MyNewAcquisition"}))` | |
//! | `acq.update({'timestamp': datetime(2020, 1, 1, 4, 30, tzinfo=pytz.utc)})` | `acq.update(json!({"timestamp": Timestamp::from(Utc.with_ymd_and_hms(2020, 1, 1, 4, 30, 0).unwrap())}))` (no extra crate for zones) | |
//! | `session.tags` | `session.tags` (the field) | |
//! | `session.add_tag('Control')` | `session.add_tag("Control")` | |
//! | `session.delete_tag('Analysis Required')` | `session.delete_tag("Analysis Required")` | |
//! | `session.notes` | `session.notes` (the field) | |
//! | `session.add_note('This is a note')` | `session.add_note("This is a note")` | |
//! | `session.delete_note(session.notes[0].id)` | `session.delete_note(note_id)` | |
//! | `acquisition.info` | `acquisition.info` (the field) | |
//! | `acquisition.replace_info({'splines': 34})` | `acquisition.replace_info(json!({"splines": 34}))` | |
//! | `acquisition.update_info({'curve': 'bezier'})` | `acquisition.update_info(json!({"curve": "bezier"}))` | |
//! | `acquisition.delete_info('splines')` | `acquisition.delete_info(["splines"])` | |
//! | `acquisition.upload_file(path)`, `acquisition.download_file(name, path)` | `acquisition.upload_file(path).await?`, `acquisition.download_file(name, path).await?.await?` (verified, resumable) | `acquisition.upload_file(path).send()?`, `acquisition.download_file(name, path)?.send()?` |
//! | `acquisition.files[0].info` | `acquisition.files` … `.info` (the field) | |
//! | `acquisition.replace_file_info('file.txt', {...})` | `acquisition.replace_file_info("file.txt", json!({"wordCount": 327}))` | |
//! | `fw.get_modality('MR')` | `fw.get_modality("MR")` | |
//! | `acquisition.replace_file_classification(…, modality='MR')`, `update_file_classification`, `delete_file_classification` | `acquisition.replace_file_classification(name, json!({"Intent": ["Structural"], "Measurement": ["T2"]}), Some("MR"))`, `acquisition.update_file_classification(name, json!({"Custom": ["value1", "value2"]}))`, `acquisition.delete_file_classification(name, json!({"Custom": ["value1"]}))` | |
//! | `acquisition.timestamp` | `acquisition.timestamp` (a [`model::Timestamp`]: `.utc()`, `.local()`) | |
//! | `acquisition.local_timestamp` | `acquisition.local_timestamp()` ([`TimestampHelpers`]) | |
//! | `session.original_timestamp` | `session.original_timestamp()?` (the zone named by `timezone`; no `pytz` needed) | |
//! | `created`/`modified` in the local zone (`local_created`, `local_modified`) | `project.local_created()`, `project.local_modified()` ([`LocalTimes`]) | |
//! | `session.age` | `session.age` (seconds) | |
//! | `session.age_years` (and `age_months`, `age_weeks`, `age_days`) | `session.age_years()` … ([`AgeHelpers`]) | |
//! | `subject.update(sex='male', info={'key1': 'val1'})` | `subject.update(json!({"sex": "male", "info": {"key1": "val1"}}))` | |
//! | `session.update_info({'hair': 'black', …})` | `session.update_info(json!({"hair": "black", "eyes": "blue"}))` | |
//! | `session.update(info={…})` | `session.update(json!({"info": {"hair": "black"}}))` | |
//! | `acquisition.replace_info({'key1': 'val1'})` | `acquisition.replace_info(json!({"key1": "val1"}))` | |
//! | `my_group.add_permission({'access': 'rw', '_id': user_id})` | `my_group.add_permission(json!({"access": "rw", "_id": user_id}))` (or an `AccessPermission`) | |
//! | `[r.id for r in fw.get_all_roles() if r.default_flywheel_role == 'admin']` | `fw.get_all_roles()` then `.iter().filter(\|r\| r.default_flywheel_role == Some(DefaultRole::Admin))` | |
//! | `fw.add_role_to_group(my_group.id, {'_id': admin_id})` | `fw.add_role_to_group(my_group.id(), json!({"_id": admin_id}))` | |
//! | `fw.get('group-id')` | `fw.get("group-id")`, or `fw.get_group("group-id")` | |
//! | `flywheel.Group(id='my_id', label='My Label')`; `fw.add_group(new_group)` | `GroupInput { id: Some("my_id".into()), label: Some("My Label".into()), ..Default::default() }`; `fw.add_group(new_group)` | |
//! | `my_group.projects()` | `my_group.projects().all()` | |
//! | `group.add_project(label=new_project_label)` | `group.add_project(json!({"label": new_project_label}))` | |
//! | `project.add_subject(metadata)` | `project.add_subject(metadata)` (a `serde_json::Value` object or a `SubjectInput`) | |
//! | `subject.add_session(metadata)` | `subject.add_session(metadata)` | |
//! | `acquisition.upload_file(file_path)` | `acquisition.upload_file(file_path).await?` | `acquisition.upload_file(file_path).send()?` |
//! | `acquisition.download_file('T1_Image.nii.gz', path)` | `acquisition.download_file("T1_Image.nii.gz", path).await?.await?` | `acquisition.download_file("T1_Image.nii.gz", path)?.send()?` |
//! | `flywheel_file.update_info(metadata)` | `acquisition.update_file_info(file.name(), metadata)` | |
//! | `fw.subjects.find_first()` then `container.id` | `fw.subjects().find_first("")` then `container.id()` | |
//! | `fw.upload_file_to_container(container_id, file, metadata=…)` | `fw.upload_file_to_container(container_id, file).metadata(json!({"info": {"hair color": "brown"}})).await?` | `fw.upload_file_to_container(container_id, file).metadata(json!({"info": {"hair color": "brown"}})).send()?` |
//! | `fw.download_tar([acquisition], '/tmp/acquisition.tar')` | `fw.download_tar(&[acquisition.node()], "/tmp/acquisition.tar", &TypeFilter::default())` | |
//! | `session.files`; `file.download(path)` | `session.files()?` ([`File`] handles); `file.download(path).await?` | `session.files()?`; `file.download(path).send()?` |
//!
//! Beyond the Quick Reference, from the Python SDK: `fw.get_config()`, `fw.get_version()`,
//! `fw.users`, `fw.groups`, `fw.analyses`, `fw.get_group` … `fw.get_analysis`,
//! `fw.resolve(path)`, `container.reload()`, `project.add_session(…)`,
//! `container.add_analysis(…)`, `group/project.get_permission`, `update_permission`,
//! `delete_permission`, and `fw.delete_<kind>(id)` as [`Container::delete`].
//!
//! # Requests
//!
//! Each method's docs name the request it sends, which is the one the Python SDK sends
//! (docs/wire.md). The [`wire`] module lists where and why the requests differ.

pub mod blocking;
mod body;
mod bulk;
mod client;
mod container;
mod error;
mod files;
mod finder;
mod kinds;
#[cfg(feature = "local")]
pub mod local;
mod search;

pub use body::Metadata;
pub use bulk::{
    DownloadNode, Existing, ImportOptions, ImportSummary, TreeOptions, TreeSummary, TypeFilter,
};
pub use client::{Client, ClientBuilder, Resolved};
pub use container::{AnyContainer, Container, Handles};
pub use error::Error;
pub use files::{
    File, FileDownload, FileReader, FileUpload, ProgressObserver, TransferProgress,
    check_file_name, sanitize_file_name,
};
pub use finder::{Finder, ItemStream, Listable, Users};
pub use fw_model::SearchReturnType;
pub use fw_model::{IsVariant, WrongKind};
pub use fw_transport::{Download, UploadMode};
pub use kinds::{
    Acquisition, Analysis, Group, HasPermissions, LocalTimes, Project, Session, Subject,
};
pub use search::SearchResult;

/// The wire types (fw-model), re-exported so that one dependency is enough.
pub use fw_model as model;
/// The Python SDK's age and timestamp helpers, on sessions, subjects and acquisitions.
pub use fw_model::{AgeHelpers, TimestampHelpers};
/// The retry policy of [`ClientBuilder::retry`].
pub use fw_transport::RetryPolicy;

#[doc = include_str!("../WIRE.md")]
pub mod wire {}
