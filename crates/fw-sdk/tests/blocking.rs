//! The blocking API: it works against a local Flywheel, and every async method has its
//! blocking twin (a scan of the crate's source against the table in
//! `src/blocking/twins.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::collections::BTreeSet;
use std::path::Path;

use fw_sdk::Error;
use fw_sdk::blocking::{AnyContainer, LocalFlywheel};
use serde_json::json;

/// Methods whose twins are written by hand in `src/blocking/mod.rs` (constructors, which
/// make the runtime), as (async type, async method, blocking method).
const HANDWRITTEN: &[(&str, &str, &str)] = &[
    ("Client", "new", "new"),
    ("Client", "from_env", "from_env"),
    ("ClientBuilder", "build", "from_builder"),
    ("LocalFlywheel", "start", "start"),
    ("LocalFlywheel", "start_in", "start_in"),
    ("LocalFlywheel", "add_user", "add_user"),
    ("LocalFlywheel", "stop", "stop"),
];

/// Async methods that return a file handle, a reader or a transfer value (`File`,
/// `FileReader`, `FileDownload`): their blocking forms need blocking file handles, which
/// the blocking API does not have yet (issue 12). Named here so that no other method can
/// lack its twin unnoticed; the blocking API reads and writes files through the twins of
/// `read_file`, `download_tree`, `download_tar`, `import_folder` and the file metadata
/// methods meanwhile.
const PENDING_FILE_HANDLES: &[&str] = &[
    "Container::file",
    "Container::download_file",
    "Container::open_file",
    "File::add_tags",
    "File::delete_tag",
    "File::open",
    "File::read",
    "File::url",
];

/// The type an `impl` line is for (`impl<K: X> Container<K> {` → `Container`); `None`
/// for trait impls and other lines.
fn impl_type(line: &str) -> Option<String> {
    let rest = line.strip_prefix("impl")?;
    if line.contains(" for ") {
        return None;
    }
    // Skip the impl's own generics, balancing angle brackets.
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in rest.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            '[' if depth == 0 => depth = 100, // the table's `impl[…]`
            ']' if depth == 100 => depth = 0,
            c if depth == 0 && c.is_alphabetic() => {
                start = i;
                break;
            }
            _ => {}
        }
    }
    let name: String = rest[start..]
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// (type, method) of every method the blocking API must mirror in `source`: each
/// `pub async fn`, and each `pub fn` whose signature returns a finder or a stream.
fn async_methods(source: &str) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    let mut current = None;
    let lines: Vec<&str> = source.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("impl") {
            current = impl_type(line);
        }
        let Some(ty) = &current else { continue };
        let trimmed = line.trim_start();
        let (is_async, rest) = if let Some(rest) = trimmed.strip_prefix("pub async fn ") {
            (true, rest)
        } else if let Some(rest) = trimmed.strip_prefix("pub fn ") {
            (false, rest)
        } else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        // The signature runs to the line with the body's `{`.
        let signature: String = lines[i..]
            .iter()
            .take_while(|l| !l.trim_end().ends_with('{'))
            .chain(lines[i..].iter().find(|l| l.trim_end().ends_with('{')))
            .copied()
            .collect();
        if is_async || signature.contains("Finder<") || signature.contains("ItemStream<") {
            found.insert((ty.clone(), name));
        }
    }
    found
}

/// (type, method) of every line of the twin table.
fn twins(table: &str) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    let mut current = None;
    for line in table.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("impl[") {
            current = impl_type(trimmed);
            continue;
        }
        let words: Vec<&str> = trimmed.split_whitespace().collect();
        if let (Some(ty), [mode, "ref" | "own", name, ..]) = (&current, words.as_slice())
            && ["async", "sync", "sync_try"].contains(mode)
        {
            let name: String = name
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.insert((ty.clone(), name));
        }
    }
    found
}

/// What `async_methods` of the crate's source lack in the table and the hand-written
/// twins, as `Type::method`.
fn missing(sources: &[String], table: &str, blocking_mod: &str) -> Vec<String> {
    let twins = twins(table);
    let mut missing = Vec::new();
    for source in sources {
        for (ty, name) in async_methods(source) {
            let by_hand = HANDWRITTEN
                .iter()
                .find(|(t, n, _)| *t == ty && *n == name)
                .is_some_and(|(_, _, twin)| blocking_mod.contains(&format!("pub fn {twin}(")));
            if !by_hand && !twins.contains(&(ty.clone(), name.clone())) {
                missing.push(format!("{ty}::{name}"));
            }
        }
    }
    missing
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn every_async_method_has_its_blocking_twin() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            sources.push(read(&path));
        }
    }
    let table = read(&src.join("blocking/twins.rs"));
    let blocking_mod = read(&src.join("blocking/mod.rs"));
    let all: usize = sources.iter().map(|s| async_methods(s).len()).sum();
    assert!(
        all > 60,
        "the scan found only {all} methods: is it still reading the source?"
    );
    let missing: Vec<String> = missing(&sources, &table, &blocking_mod)
        .into_iter()
        .filter(|method| !PENDING_FILE_HANDLES.contains(&method.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "async methods without a blocking twin (add a line to src/blocking/twins.rs): {missing:?}"
    );
}

#[test]
fn the_parity_scan_catches_a_method_without_a_twin() {
    let source = "impl<K: HasFiles> Container<K> {\n    pub async fn update_info(&self) -> Result<(), Error> {\n    }\n    pub async fn upload_file(\n        &self,\n    ) -> Result<(), Error> {\n    }\n    pub fn files(&self) -> Finder<Files> {\n    }\n    pub fn id(&self) -> &str {\n    }\n}\nimpl Drop for Container<K> {\n    pub async fn not_a_method(&self) {\n    }\n}\n";
    let table = "twins! {\n    impl[K: HasFiles] Container<K> {\n        async ref update_info() -> ModifiedResult;\n    }\n}\n";
    assert_eq!(
        missing(&[source.to_string()], table, ""),
        ["Container::files", "Container::upload_file"]
    );
    assert_eq!(
        impl_type("impl<L: Listable> Finder<L> {").as_deref(),
        Some("Finder")
    );
    assert_eq!(
        impl_type("impl[] Container<GroupKind> {").as_deref(),
        Some("Container")
    );
    assert_eq!(impl_type("impl Client {").as_deref(), Some("Client"));
}

#[test]
fn the_blocking_api_walks_the_hierarchy_on_a_local_flywheel() {
    let site = LocalFlywheel::start().unwrap();
    let fw = site.client();
    assert_eq!(
        fw.get_current_user().unwrap().id.unwrap().as_str(),
        "admin@local"
    );
    let group = fw
        .find_or_add_group(json!({"_id": "lab", "label": "Lab"}))
        .unwrap();
    let project = group.add_project(json!({"label": "Study"})).unwrap();
    for (label, sex) in [
        ("sub-01", "female"),
        ("sub-02", "male"),
        ("sub-03", "female"),
    ] {
        let subject = project
            .add_subject(json!({"label": label, "sex": sex}))
            .unwrap();
        let session = subject.add_session(json!({"label": "baseline"})).unwrap();
        session.add_acquisition(json!({"label": "T1w"})).unwrap();
    }
    // Finders: the same builder, a blocking end.
    let females = project
        .subjects()
        .sort("label:desc")
        .find("sex=female")
        .unwrap();
    let labels: Vec<_> = females.iter().map(|s| s.label.clone().unwrap()).collect();
    assert_eq!(labels, ["sub-03", "sub-01"]);
    assert!(fw.subjects().find_first("label=sub-09").unwrap().is_none());
    assert!(matches!(
        project.sessions().find_one("label=baseline"),
        Err(Error::MoreThanOne { .. })
    ));
    assert!(matches!(
        fw.subjects().find("sex"),
        Err(Error::QuerySyntax { .. })
    ));
    // iter_find is an iterator, pages of one.
    let streamed: Vec<String> = fw
        .acquisitions()
        .limit(1)
        .iter_find("label=T1w")
        .unwrap()
        .map(|a| a.unwrap().id().to_string())
        .collect();
    assert_eq!(streamed.len(), 3);
    // Lookup gives blocking handles, which work in turn.
    let AnyContainer::Session(session) = fw.lookup("lab/Study/sub-02/baseline").unwrap() else {
        panic!("not a session")
    };
    session.update_info(json!({"scanner": "Prisma"})).unwrap();
    session.add_tag("Control").unwrap();
    let again = session.reload().unwrap();
    assert_eq!(again.info.as_ref().unwrap()["scanner"], "Prisma");
    assert_eq!(again.tags.clone().unwrap(), ["Control"]);
    assert_eq!(session.acquisitions().all().unwrap().len(), 1);
    // A second user and a permission.
    let ana = site.add_user("ana@example.org", json!({})).unwrap();
    assert!(ana.projects().all().unwrap().is_empty());
    let read_only = fw
        .get_all_roles()
        .unwrap()
        .into_iter()
        .find(|r| r.default_flywheel_role == Some(fw_sdk::model::DefaultRole::Ro))
        .and_then(|r| r.id)
        .unwrap();
    fw.add_role_to_group("lab", json!({"_id": read_only}))
        .unwrap();
    project
        .add_permission(json!({"_id": "ana@example.org", "role_ids": [read_only]}))
        .unwrap();
    assert_eq!(ana.projects().all().unwrap().len(), 1);
    let missing = fw.get_project("000000000000000000000000").unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    site.stop().unwrap();
}
