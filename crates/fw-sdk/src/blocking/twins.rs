//! THE table of blocking twins: one line per async method of the async API, from which
//! `twins!` writes the blocking method. Adding an async method means adding its line here
//! (`tests/blocking.rs` fails until it is there).
//!
//! A line is `MODE RECEIVER name[method generics](args) -> return [where bounds];`:
//! - MODE `async`: the async method is awaited on the client's runtime;
//!   `sync`: a plain method returning a value (finders, upload and download values, search
//!   levels); `sync_try`: a plain method returning a `Result` that may spawn work on the
//!   runtime (`iter_find`); `await`: the `.await` of an `IntoFuture` value, named `send`
//!   (uploads and downloads).
//! - RECEIVER `ref` (`&self`) or `own` (`self`, the by-value finder builders).
//! - `return` is the async method's success type; the twin returns its blocking form
//!   ([`IntoBlocking`]: handles become blocking handles, streams iterators, wire values
//!   stay as they are).

use super::{
    Client, Container, File, FileDownload, FileUpload, Finder, IntoBlocking, SearchResult,
};
use crate::body::Metadata;
use crate::finder::Listable;
use crate::kinds::HasPermissions;
use crate::{Error, Resolved};
use fw_model::{
    AcquisitionKind, AnalysisInput, AnalysisKind, AuthStatus, Config, ContainerKind, DeletedResult,
    GroupId, GroupInput, GroupKind, GroupRole, HasFiles, Modality, ModifiedResult, Note, ParentOf,
    ProjectInput, ProjectKind, Role, SearchReturnType, SessionInput, SessionKind, SubjectInput,
    SubjectKind, User, Version,
};
use serde_json::{Map, Value};

twins! {
    impl[] Client {
        async ref auth_status() -> AuthStatus;
        async ref get_current_user() -> User;
        async ref get_config() -> Config;
        async ref get_version() -> Version;
        sync ref users() -> crate::Finder<crate::Users>;
        sync ref groups() -> crate::Finder<GroupKind>;
        sync ref projects() -> crate::Finder<ProjectKind>;
        sync ref subjects() -> crate::Finder<SubjectKind>;
        sync ref sessions() -> crate::Finder<SessionKind>;
        sync ref acquisitions() -> crate::Finder<AcquisitionKind>;
        sync ref analyses() -> crate::Finder<AnalysisKind>;
        sync ref finder[K: ContainerKind]() -> crate::Finder<K>;
        async ref get(id: &str) -> crate::AnyContainer;
        async ref get_container[K: ContainerKind](id: &str) -> crate::Container<K>;
        async ref get_group(id: &str) -> crate::Group;
        async ref get_project(id: &str) -> crate::Project;
        async ref get_subject(id: &str) -> crate::Subject;
        async ref get_session(id: &str) -> crate::Session;
        async ref get_acquisition(id: &str) -> crate::Acquisition;
        async ref get_analysis(id: &str) -> crate::Analysis;
        async ref lookup(path: &str) -> crate::AnyContainer;
        async ref resolve(path: &str) -> Resolved;
        async ref add_group(group: impl Metadata<GroupInput>) -> GroupId;
        async ref find_or_add_group(group: impl Metadata<GroupInput>) -> crate::Group;
        async ref get_all_roles() -> Vec<Role>;
        async ref add_role_to_group(group_id: &str, role: impl Metadata<GroupRole>) -> Role;
        async ref get_modality(id: &str) -> Modality;
        async ref search(query: &str, return_type: SearchReturnType, size: Option<u32>) -> Vec<crate::SearchResult>;
        async ref download_tar(nodes: &[crate::DownloadNode], dest: impl AsRef<std::path::Path>, types: &crate::TypeFilter) -> fw_model::DownloadTicket;
        async ref download_zip(nodes: &[crate::DownloadNode], dest: impl AsRef<std::path::Path>, types: &crate::TypeFilter) -> fw_model::DownloadTicket;
        sync ref upload_file_to_container(id: &str, path: impl AsRef<std::path::Path>) -> crate::FileUpload;
    }
    impl[K: ContainerKind] Container<K> {
        async ref reload() -> crate::Container<K>;
        async ref update(body: impl Metadata<K::Update>) -> ModifiedResult;
        async ref delete() -> DeletedResult;
        async ref add_tag(tag: &str) -> ModifiedResult;
        async ref delete_tag(tag: &str) -> DeletedResult;
        sync ref children[C: ContainerKind]() -> crate::Finder<C> where [K: ParentOf<C>];
    }
    impl[K: HasFiles] Container<K> {
        async ref update_info(info: impl Metadata<Map<String, Value>>) -> ModifiedResult;
        async ref replace_info(info: impl Metadata<Map<String, Value>>) -> ModifiedResult;
        async ref delete_info[S: AsRef<str>](keys: impl IntoIterator<Item = S>) -> ModifiedResult;
        async ref add_note(text: &str) -> Note;
        async ref delete_note(note_id: &str) -> DeletedResult;
        async ref add_analysis(analysis: impl Metadata<AnalysisInput>) -> crate::Analysis;
        sync ref files() -> Result<Vec<crate::File>, Error>;
        async ref file(name: &str) -> crate::File;
        sync ref upload_file(path: impl AsRef<std::path::Path>) -> crate::FileUpload;
        sync ref upload_bytes(name: &str, bytes: impl Into<Vec<u8>>) -> crate::FileUpload;
        async ref download_file(name: &str, dest: impl Into<std::path::PathBuf>) -> crate::FileDownload;
        async ref download_file_version(name: &str, version: i64, dest: impl Into<std::path::PathBuf>) -> u64;
        async ref read_file(name: &str) -> Vec<u8>;
        async ref open_file(name: &str) -> crate::FileReader;
        async ref update_file_info(name: &str, info: impl Metadata<Map<String, Value>>) -> ModifiedResult;
        async ref replace_file_info(name: &str, info: impl Metadata<Map<String, Value>>) -> ModifiedResult;
        async ref delete_file_info[S: AsRef<str>](name: &str, keys: impl IntoIterator<Item = S>) -> ModifiedResult;
        async ref update_file_classification(name: &str, classification: Value) -> ModifiedResult;
        async ref replace_file_classification(name: &str, classification: Value, modality: Option<&str>) -> ModifiedResult;
        async ref delete_file_classification(name: &str, classification: Value) -> ModifiedResult;
        async ref update_file(name: &str, body: impl Metadata<fw_model::FileUpdate>) -> ModifiedResult;
        async ref delete_file(name: &str) -> DeletedResult;
        async ref get_file_zip_info(name: &str) -> fw_model::ZipInfo;
        async ref download_file_zip_member(name: &str, member: &str, dest: impl Into<std::path::PathBuf>) -> u64;
        async ref read_file_zip_member(name: &str, member: &str) -> Vec<u8>;
        sync ref node() -> crate::DownloadNode;
        async ref download_tree(dest_dir: impl AsRef<std::path::Path>, options: crate::TreeOptions) -> crate::TreeSummary;
    }
    impl[K: HasPermissions] Container<K> where [K::Permission: IntoBlocking] {
        async ref add_permission(permission: impl Metadata<K::Permission>) -> K::Permission;
        async ref get_permission(user_id: &str) -> K::Permission;
        async ref update_permission(user_id: &str, change: impl Metadata<K::PermissionUpdate>) -> K::Permission;
        async ref delete_permission(user_id: &str) -> ModifiedResult;
    }
    impl[] Container<GroupKind> {
        sync ref projects() -> crate::Finder<ProjectKind>;
        async ref add_project(project: impl Metadata<ProjectInput>) -> crate::Project;
        async ref find_or_add_project(project: impl Metadata<ProjectInput>) -> crate::Project;
    }
    impl[] Container<ProjectKind> {
        sync ref subjects() -> crate::Finder<SubjectKind>;
        sync ref sessions() -> crate::Finder<SessionKind>;
        async ref add_subject(subject: impl Metadata<SubjectInput>) -> crate::Subject;
        async ref find_or_add_subject(subject: impl Metadata<SubjectInput>) -> crate::Subject;
        async ref add_session(session: impl Metadata<SessionInput>) -> crate::Session;
        async ref import_folder(root: impl AsRef<std::path::Path>, options: crate::ImportOptions) -> crate::ImportSummary;
    }
    impl[] Container<SubjectKind> {
        sync ref sessions() -> crate::Finder<SessionKind>;
        async ref add_session(session: impl Metadata<SessionInput>) -> crate::Session;
        async ref find_or_add_session(session: impl Metadata<SessionInput>) -> crate::Session;
    }
    impl[] Container<SessionKind> {
        sync ref acquisitions() -> crate::Finder<AcquisitionKind>;
        async ref add_acquisition(acquisition: impl Metadata<fw_model::AcquisitionInput>) -> crate::Acquisition;
        async ref find_or_add_acquisition(acquisition: impl Metadata<fw_model::AcquisitionInput>) -> crate::Acquisition;
    }
    impl[] File {
        sync ref download(dest: impl Into<std::path::PathBuf>) -> crate::FileDownload;
        async ref read() -> Vec<u8>;
        async ref open() -> crate::FileReader;
        async ref url() -> String;
        async ref add_tags[S: AsRef<str>](tags: impl IntoIterator<Item = S>) -> Vec<String>;
        async ref delete_tag(tag: &str) -> ModifiedResult;
    }
    impl[] FileDownload {
        sync own resume(resume: bool) -> crate::FileDownload;
        sync own verify(verify: bool) -> crate::FileDownload;
        sync own progress(observer: crate::ProgressObserver) -> crate::FileDownload;
        await own send() -> u64;
    }
    impl[] FileUpload {
        sync own metadata(metadata: impl Metadata<fw_model::FileInput>) -> crate::FileUpload;
        sync own mode(mode: crate::UploadMode) -> crate::FileUpload;
        sync own progress(observer: crate::ProgressObserver) -> crate::FileUpload;
        await own send() -> Vec<crate::File>;
    }
    impl[] SearchResult {
        sync ref group() -> Option<Result<crate::Group, Error>>;
        sync ref project() -> Option<Result<crate::Project, Error>>;
        sync ref subject() -> Option<Result<crate::Subject, Error>>;
        sync ref session() -> Option<Result<crate::Session, Error>>;
        sync ref acquisition() -> Option<Result<crate::Acquisition, Error>>;
        sync ref analysis() -> Option<Result<crate::Analysis, Error>>;
        sync own into_response() -> fw_model::SearchResponse;
    }
    impl[L: Listable] Finder<L> where [L::Item: IntoBlocking] {
        sync own filter(filter: &str) -> crate::Finder<L>;
        sync own raw_filter(filter: &str) -> crate::Finder<L>;
        sync own sort(sort: &str) -> crate::Finder<L>;
        sync own limit(limit: u32) -> crate::Finder<L>;
        sync own skip(skip: u32) -> crate::Finder<L>;
        sync own page(page: u32) -> crate::Finder<L>;
        sync own after_id(id: &str) -> crate::Finder<L>;
        sync own include_all_info(include: bool) -> crate::Finder<L>;
        async own find(filter: &str) -> Vec<L::Item>;
        async own find_first(filter: &str) -> Option<L::Item>;
        async own find_one(filter: &str) -> L::Item;
        sync_try own iter_find(filter: &str) -> crate::ItemStream<L::Item>;
        async own all() -> Vec<L::Item>;
    }
}
