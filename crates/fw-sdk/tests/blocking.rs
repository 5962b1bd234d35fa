//! The blocking API: it works against a local Flywheel, and every async method has its
//! blocking twin (a scan of the crate's source against the table in
//! `src/blocking/twins.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::collections::BTreeSet;
use std::path::Path;

use std::io::Read;

use fw_sdk::Error;
use fw_sdk::blocking::{AnyContainer, LocalFlywheel};
use fw_sdk::model::{ProjectKind, SearchReturnType, SessionKind};
use serde_json::json;

/// Methods whose twins are written by hand in `src/blocking/` (constructors, which make
/// the runtime; accessors; `upload_reader`), as (async type, async method, blocking
/// method).
const HANDWRITTEN: &[(&str, &str, &str)] = &[
    ("Client", "new", "new"),
    ("Client", "from_env", "from_env"),
    ("ClientBuilder", "build", "from_builder"),
    ("LocalFlywheel", "start", "start"),
    ("LocalFlywheel", "start_in", "start_in"),
    ("LocalFlywheel", "add_user", "add_user"),
    ("LocalFlywheel", "stop", "stop"),
    ("LocalFlywheel", "client", "client"),
    ("LocalFlywheel", "api_key", "api_key"),
    ("LocalFlywheel", "data_dir", "data_dir"),
    ("Client", "base_url", "base_url"),
    ("Container", "id", "id"),
    ("File", "name", "name"),
    ("File", "entry", "entry"),
    // Takes a `std::io::Read` where the async method takes an `AsyncRead`.
    ("Container", "upload_reader", "upload_reader"),
];

/// The async API's handle types: every method of theirs (async or not) has a blocking
/// twin of the same name on the blocking type of the same name, unless listed in
/// [`SHARED`].
const HANDLE_TYPES: &[&str] = &[
    "Client",
    "Container",
    "Finder",
    "File",
    "FileUpload",
    "FileDownload",
    "FileReader",
    "SearchResult",
    "LocalFlywheel",
];

/// Plain methods of handle types that the blocking API reaches through `as_async()`
/// rather than a twin, as (type, method, why).
const SHARED: &[(&str, &str, &str)] = &[
    (
        "Client",
        "transport",
        "the fw-transport client: its methods are async, for code that mixes both APIs",
    ),
    (
        "Container",
        "client",
        "the async client: blocking code has the blocking client",
    ),
    (
        "Container",
        "wire",
        "the wire value: blocking handles Deref to it",
    ),
    (
        "Container",
        "into_wire",
        "the wire value: `as_async().clone().into_wire()`",
    ),
    (
        "Container",
        "new",
        "a handle from a wire value needs the async client",
    ),
    (
        "Container",
        "from_json",
        "a handle from JSON needs the async client",
    ),
    (
        "FileDownload",
        "as_download",
        "the fw-transport value; Debug of the blocking download shows it",
    ),
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
/// `pub async fn`; each `pub fn` whose signature returns a finder or a stream; each
/// method of a [`HANDLE_TYPES`] type not in [`SHARED`]; and `send` of each `IntoFuture`
/// value (the `.await` of an upload or download).
fn async_methods(source: &str) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    let mut current = None;
    let lines: Vec<&str> = source.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if let Some(ty) = line.strip_prefix("impl IntoFuture for ") {
            let ty: String = ty.chars().take_while(|c| c.is_alphanumeric()).collect();
            found.insert((ty, "send".to_string()));
        }
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
        let handle_method = HANDLE_TYPES.contains(&ty.as_str())
            && signature.contains("self")
            && !SHARED.iter().any(|(t, n, _)| t == ty && *n == name);
        if is_async
            || handle_method
            || signature.contains("Finder<")
            || signature.contains("ItemStream<")
        {
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
            && ["async", "sync", "sync_try", "await"].contains(mode)
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
    // Hand-written twins live in the blocking module's other files.
    let blocking_mod = ["mod.rs", "files.rs"]
        .map(|file| read(&src.join("blocking").join(file)))
        .join("\n");
    let all: usize = sources.iter().map(|s| async_methods(s).len()).sum();
    assert!(
        all > 60,
        "the scan found only {all} methods: is it still reading the source?"
    );
    let missing = missing(&sources, &table, &blocking_mod);
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
        [
            "Container::files",
            "Container::id",
            "Container::upload_file"
        ]
    );
    // `.await` of a value needs its `send`; any method of a handle type needs its twin.
    let source = "impl IntoFuture for FileUpload {\n}\nimpl File {\n    pub fn name(&self) -> &str {\n    }\n}\nimpl TypeFilter {\n    pub fn files(&self) -> bool {\n    }\n}\n";
    assert_eq!(
        missing(&[source.to_string()], "", "pub fn name("),
        ["FileUpload::send"]
    );
    assert_eq!(
        missing(&[source.to_string()], "", ""),
        ["File::name", "FileUpload::send"]
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

/// Files through the blocking API: uploads and downloads are values sent on the client's
/// runtime, file handles are blocking, the streaming reader is a `std::io::Read`, search
/// results and `get` give blocking handles.
#[test]
fn the_blocking_api_moves_files_on_a_local_flywheel() {
    let site = LocalFlywheel::start().unwrap();
    let fw = site.client();
    let group = fw
        .find_or_add_group(json!({"_id": "lab", "label": "Lab"}))
        .unwrap();
    let project = group.add_project(json!({"label": "Study"})).unwrap();
    let subject = project.add_subject(json!({"label": "sub-01"})).unwrap();
    let session = subject.add_session(json!({"label": "baseline"})).unwrap();
    let acquisition = session.add_acquisition(json!({"label": "T1w"})).unwrap();

    // Upload from bytes, with metadata; the reply is blocking file handles.
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let made = acquisition
        .upload_bytes("scan.nii.gz", bytes.clone())
        .metadata(json!({"type": "nifti", "info": {"echo": 1}}))
        .send()
        .unwrap();
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].name(), "scan.nii.gz");
    assert_eq!(made[0].size, Some(300_000));

    // A std::io::Read upload larger than the adapter's chunk.
    let big: Vec<u8> = (0..700_000u32).map(|i| (i % 241) as u8).collect();
    let made = acquisition
        .upload_reader(
            "big.bin",
            big.len() as u64,
            std::io::Cursor::new(big.clone()),
        )
        .send()
        .unwrap();
    assert_eq!(made[0].size, Some(700_000));

    // files() of a fresh handle; file(name) fetches when the handle does not hold it.
    let fresh = acquisition.reload().unwrap();
    let mut names: Vec<String> = fresh
        .files()
        .unwrap()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["big.bin", "scan.nii.gz"]);
    let file = acquisition.file("scan.nii.gz").unwrap();
    assert_eq!(file.r#type.as_deref(), Some("nifti"));
    assert_eq!(file.read().unwrap(), bytes);

    // The streaming reader is std::io::Read.
    let mut streamed = Vec::new();
    acquisition
        .open_file("big.bin")
        .unwrap()
        .read_to_end(&mut streamed)
        .unwrap();
    assert_eq!(streamed, big);
    let mut streamed = Vec::new();
    file.open().unwrap().read_to_end(&mut streamed).unwrap();
    assert_eq!(streamed, bytes);

    // Downloads: a value with options, sent on the runtime, verified.
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("scan.nii.gz");
    let written = acquisition
        .download_file("scan.nii.gz", &dest)
        .unwrap()
        .resume(false)
        .send()
        .unwrap();
    assert_eq!(written, 300_000);
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
    let again = dir.path().join("again.nii.gz");
    assert_eq!(file.download(&again).send().unwrap(), 300_000);
    assert_eq!(std::fs::read(&again).unwrap(), bytes);
    let missing = acquisition.download_file("nope.txt", dir.path().join("nope"));
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );

    // File tags and a ticket URL.
    assert_eq!(file.add_tags(["qc", "raw"]).unwrap(), ["qc", "raw"]);
    file.delete_tag("raw").unwrap();
    // (`file` of a handle that holds no files fetches a fresh copy.)
    let tagged = acquisition.file("scan.nii.gz").unwrap();
    assert_eq!(tagged.tags.clone().unwrap(), ["qc"]);
    let url = file.url().unwrap();
    assert!(url.contains("/files/scan.nii.gz?ticket="), "{url}");

    // Uploading to any container by id.
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, b"hello").unwrap();
    let made = fw
        .upload_file_to_container(session.id(), &path)
        .send()
        .unwrap();
    assert_eq!(made[0].name(), "notes.txt");
    assert_eq!(session.read_file("notes.txt").unwrap(), b"hello");

    // Search results and get() are blocking handles.
    let results = fw
        .search("session.label = baseline", SearchReturnType::Session, None)
        .unwrap();
    assert_eq!(results.len(), 1);
    let found = results[0].session().unwrap().unwrap();
    assert_eq!(found.reload().unwrap().label.as_deref(), Some("baseline"));
    assert_eq!(found.acquisitions().all().unwrap().len(), 1);
    let node = fw.get(session.id()).unwrap();
    assert_eq!(node.container_type(), fw_sdk::model::ContainerType::Session);
    let wrong = fw
        .get(session.id())
        .unwrap()
        .into_kind::<ProjectKind>()
        .unwrap_err();
    assert_eq!(wrong.to_string(), "expected a project, found a session");
    let typed = node.into_kind::<SessionKind>().unwrap();
    assert_eq!(typed.files().unwrap().len(), 1);
    site.stop().unwrap();
}
