//! Files (issue 11): uploads, verified and resumable downloads, file metadata, zip members,
//! archives, download_tree and import_folder, against fw-server.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use fw_sdk::{
    Error, Existing, ImportOptions, TransferProgress, TreeOptions, TypeFilter, UploadMode,
    check_file_name, sanitize_file_name,
};
use serde_json::json;

use crate::common::{files_under, site, tree};

fn content(n: usize, seed: u32) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(31).wrapping_add(seed) % 251) as u8)
        .collect()
}

#[tokio::test]
async fn upload_list_download_read_and_stream() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let local = site.dir.path().join("scan.nii.gz");
    let bytes = content(300_000, 1);
    std::fs::write(&local, &bytes).unwrap();

    let seen = Arc::new(Mutex::new(Vec::<TransferProgress>::new()));
    let log = seen.clone();
    let made = t
        .acquisition
        .upload_file(&local)
        .metadata(json!({"type": "nifti", "modality": "MR", "info": {"a": 1}}))
        .progress(Arc::new(move |p: &TransferProgress| {
            log.lock().unwrap().push(p.clone())
        }))
        .await
        .unwrap();
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].name(), "scan.nii.gz");
    assert_eq!(made[0].size, Some(300_000));
    let last = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        (
            last.file.as_str(),
            last.file_bytes,
            last.file_size,
            last.total_bytes
        ),
        ("scan.nii.gz", 300_000, 300_000, 300_000)
    );
    // Auto mode asked the site's config first, then sent one multipart POST.
    let paths: Vec<String> = site
        .requests()
        .iter()
        .rev()
        .take(2)
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        paths,
        [
            format!("POST /api/acquisitions/{}/files", t.acquisition.id()),
            "GET /api/config".to_string()
        ]
    );

    // Bytes and readers with a name (Python's FileSpec).
    t.acquisition
        .upload_bytes("notes.txt", b"hello world".to_vec())
        .await
        .unwrap();
    t.acquisition
        .upload_reader("r.bin", 5, std::io::Cursor::new(b"abcde".to_vec()))
        .mode(UploadMode::Multipart)
        .await
        .unwrap();

    let acquisition = t.acquisition.reload().await.unwrap();
    let mut names: Vec<String> = acquisition
        .files()
        .unwrap()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["notes.txt", "r.bin", "scan.nii.gz"]);
    let file = acquisition.file("scan.nii.gz").await.unwrap();
    assert_eq!(file.r#type.as_deref(), Some("nifti"));
    assert_eq!(file.modality.as_deref(), Some("MR"));
    assert!(acquisition.file("nope").await.unwrap_err().is_not_found());

    // download_file, file.download, read_file, a streaming reader: the same bytes.
    let dest = site.dir.path().join("out.nii.gz");
    let n = acquisition
        .download_file("scan.nii.gz", &dest)
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(n, 300_000);
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
    let dest2 = site.dir.path().join("out2.nii.gz");
    file.download(&dest2).await.unwrap();
    assert_eq!(std::fs::read(&dest2).unwrap(), bytes);
    assert_eq!(acquisition.read_file("scan.nii.gz").await.unwrap(), bytes);
    assert_eq!(file.read().await.unwrap(), bytes);
    let mut streamed = Vec::new();
    let mut reader = acquisition.open_file("scan.nii.gz").await.unwrap();
    tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut streamed)
        .await
        .unwrap();
    assert_eq!(streamed, bytes);
    // file.download pins the version it knows.
    let last = site.requests().last().cloned().unwrap();
    assert_eq!(last["method"], "GET");

    // A given version: replace the file, then fetch version 1.
    let newer = site.dir.path().join("v2").join("scan.nii.gz");
    std::fs::create_dir_all(newer.parent().unwrap()).unwrap();
    std::fs::write(&newer, b"version two").unwrap();
    acquisition.upload_file(&newer).await.unwrap();
    let old = site.dir.path().join("old.nii.gz");
    let written = acquisition
        .download_file_version("scan.nii.gz", 1, &old)
        .await
        .unwrap();
    assert_eq!(written, bytes.len() as u64);
    assert_eq!(std::fs::read(&old).unwrap(), bytes);
    let fresh = acquisition.reload().await.unwrap();
    assert_eq!(
        fresh.read_file("scan.nii.gz").await.unwrap(),
        b"version two"
    );

    // file.url(): a ticket URL that needs no key.
    let url = file.url().await.unwrap();
    assert!(url.contains("/files/scan.nii.gz?ticket="), "{url}");
    let anonymous = reqwest_get(&url).await;
    assert_eq!(anonymous, bytes);

    // upload_file_to_container(id, path, metadata).
    let made = site
        .fw
        .upload_file_to_container(t.session.id(), &local)
        .metadata(json!({"type": "nifti"}))
        .await
        .unwrap();
    assert_eq!(made[0].name(), "scan.nii.gz");
    let session = t.session.reload().await.unwrap();
    assert_eq!(
        session.file("scan.nii.gz").await.unwrap().size,
        Some(300_000)
    );
}

async fn reqwest_get(url: &str) -> Vec<u8> {
    // fw-transport's client sends a key; a ticket URL must work without one, so this uses
    // a bare request through a client whose key is wrong.
    let key = fw_transport::ApiKey::parse(&format!(
        "{}:__force_insecure:wrong-key",
        url.split('/').nth(2).unwrap()
    ))
    .unwrap();
    let client = fw_transport::Client::new(key).unwrap();
    let raw = url.split("/api/").nth(1).unwrap();
    let request = fw_transport::Request::from_raw_path(fw_transport::Method::GET, raw)
        .accept("application/octet-stream");
    client.bytes(&request).await.unwrap().to_vec()
}

#[tokio::test]
async fn signed_url_uploads_and_file_metadata() {
    let site = crate::common::site_with(|config| config.signed_urls = true).await;
    let t = tree(&site.fw).await;
    let local = site.dir.path().join("a.txt");
    std::fs::write(&local, b"signed bytes").unwrap();
    t.session.upload_file(&local).await.unwrap();
    let requests = site.requests();
    let tail: Vec<String> = requests
        .iter()
        .rev()
        .take(3)
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        tail.iter().any(|p| p.starts_with("PUT /storage/")),
        "{tail:?}"
    );
    let s = &t.session;
    assert_eq!(s.read_file("a.txt").await.unwrap(), b"signed bytes");

    s.update_file_info("a.txt", json!({"x": 1, "y": 2}))
        .await
        .unwrap();
    s.delete_file_info("a.txt", ["y"]).await.unwrap();
    let f = s.reload().await.unwrap().file("a.txt").await.unwrap();
    assert_eq!(
        f.info.clone().unwrap(),
        json!({"x": 1}).as_object().unwrap().clone()
    );
    s.replace_file_info("a.txt", json!({"z": 3})).await.unwrap();
    let f = s.reload().await.unwrap().file("a.txt").await.unwrap();
    assert_eq!(
        f.info.clone().unwrap(),
        json!({"z": 3}).as_object().unwrap().clone()
    );

    s.replace_file_classification("a.txt", json!({"Intent": ["Structural"]}), Some("MR"))
        .await
        .unwrap();
    s.update_file_classification("a.txt", json!({"Measurement": ["T1"]}))
        .await
        .unwrap();
    let f = s.reload().await.unwrap().file("a.txt").await.unwrap();
    assert_eq!(f.modality.as_deref(), Some("MR"));
    let c = f.classification.clone().unwrap();
    assert_eq!(c["Intent"], ["Structural"]);
    assert_eq!(c["Measurement"], ["T1"]);
    s.delete_file_classification("a.txt", json!({"Measurement": ["T1"]}))
        .await
        .unwrap();
    let f = s.reload().await.unwrap().file("a.txt").await.unwrap();
    assert!(
        f.classification
            .clone()
            .unwrap()
            .get("Measurement")
            .is_none_or(|v| v.is_empty())
    );

    s.update_file("a.txt", json!({"type": "text"}))
        .await
        .unwrap();
    let f = s.reload().await.unwrap().file("a.txt").await.unwrap();
    assert_eq!(f.r#type.as_deref(), Some("text"));

    let tags = f.add_tags(["qc", "t1"]).await.unwrap();
    assert_eq!(tags, ["qc", "t1"]);
    f.delete_tag("qc").await.unwrap();
    let f = s.reload().await.unwrap().file("a.txt").await.unwrap();
    assert_eq!(f.tags.clone().unwrap(), ["t1"]);

    s.delete_file("a.txt").await.unwrap();
    assert!(
        s.reload()
            .await
            .unwrap()
            .file("a.txt")
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn zip_members_are_listed_downloaded_and_read() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let path = site.dir.path().join("series.zip");
    {
        let file = std::fs::File::create(&path).unwrap();
        let mut zip = zip::ZipWriter::new(file);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zip.start_file("a/1.dcm", options).unwrap();
        std::io::Write::write_all(&mut zip, b"first member").unwrap();
        zip.start_file("a/2.dcm", options).unwrap();
        std::io::Write::write_all(&mut zip, b"second").unwrap();
        zip.finish().unwrap();
    }
    let a = &t.acquisition;
    a.upload_file(&path).await.unwrap();
    let info = a.get_file_zip_info("series.zip").await.unwrap();
    let members: Vec<_> = info
        .members
        .unwrap()
        .into_iter()
        .map(|m| (m.path.unwrap(), m.size.unwrap()))
        .collect();
    assert_eq!(
        members,
        [("a/1.dcm".to_string(), 12), ("a/2.dcm".to_string(), 6)]
    );
    assert_eq!(
        a.read_file_zip_member("series.zip", "a/2.dcm")
            .await
            .unwrap(),
        b"second"
    );
    let dest = site.dir.path().join("one.dcm");
    let written = a
        .download_file_zip_member("series.zip", "a/1.dcm", &dest)
        .await
        .unwrap();
    assert_eq!(written, b"first member".len() as u64);
    assert_eq!(std::fs::read(&dest).unwrap(), b"first member");
    let err = a
        .read_file_zip_member("series.zip", "nope")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn forbidden_names_are_refused_before_sending() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let before = site.requests().len();
    for name in ["a:b.txt", "x\ty", "..", "", "t2*.nii"] {
        let err = t
            .acquisition
            .upload_bytes(name, b"x".to_vec())
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument { .. }),
            "{name:?}: {err:?}"
        );
    }
    assert_eq!(site.requests().len(), before, "nothing was sent");
    let err = check_file_name("scan\t1.nii").unwrap_err().to_string();
    assert!(err.contains("U+0009 at position 5"), "{err}");
    let err = check_file_name("a<b").unwrap_err().to_string();
    assert!(err.contains("'<' at position 2"), "{err}");
    assert!(check_file_name(&"é".repeat(128)).is_err(), "256 bytes");
    assert!(check_file_name(&"é".repeat(127)).is_ok());
    // The sanitizer is offered, and what it makes passes.
    assert_eq!(sanitize_file_name("T2*.nii"), "T2star.nii");
    assert_eq!(sanitize_file_name("a:b|c\u{7}.txt"), "a_b_c.txt");
    assert_eq!(sanitize_file_name(".."), "__");
    for name in ["t2*", "*", "", "\u{1}", "a/b\\c", &"x".repeat(300)] {
        assert!(
            check_file_name(&sanitize_file_name(name)).is_ok(),
            "{name:?}"
        );
    }
    // Sanitized on request, the upload goes through.
    let made = t
        .acquisition
        .upload_bytes(&sanitize_file_name("T2*.nii"), b"x".to_vec())
        .await
        .unwrap();
    assert_eq!(made[0].name(), "T2star.nii");
}

/// The blob file of a hash under the server's data directory.
fn blob_of(data: &Path, hash: &str) -> std::path::PathBuf {
    let hex = hash.strip_prefix("v0-sha384-").unwrap();
    data.join("blobs").join(&hex[..2]).join(hex)
}

#[tokio::test]
async fn a_corrupted_byte_is_caught_and_leaves_no_file() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let made = t
        .acquisition
        .upload_bytes("scan.bin", content(100_000, 7))
        .await
        .unwrap();
    let blob = blob_of(site.dir.path(), made[0].hash.as_deref().unwrap());
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[54_321] ^= 0x01;
    std::fs::write(&blob, &bytes).unwrap();
    let out = site.dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let err = made[0].download(out.join("scan.bin")).await.unwrap_err();
    let Error::Transport(inner) = &err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(**inner, fw_transport::Error::HashMismatch { .. }),
        "{err:?}"
    );
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        0,
        "no file, no partial file"
    );
    assert!(made[0].read().await.is_err(), "read checks the hash too");
}

#[tokio::test]
async fn an_interrupted_download_resumes_byte_identical() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let bytes = content(1_000_000, 3);
    let made = t
        .acquisition
        .upload_bytes("big.bin", bytes.clone())
        .await
        .unwrap();
    let file = &made[0];
    let dest = site.dir.path().join("big.bin");
    // A killed attempt left its first 400 000 bytes beside the destination.
    let download = file.download(&dest);
    let partial = download.as_download().partial_path().unwrap();
    std::fs::write(&partial, &bytes[..400_000]).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let n = download
        .progress(Arc::new(move |p: &TransferProgress| {
            log.lock().unwrap().push(p.file_bytes)
        }))
        .await
        .unwrap();
    assert_eq!(n, 1_000_000);
    assert_eq!(std::fs::read(&dest).unwrap(), bytes, "byte-identical");
    assert!(!partial.exists());
    // Only the rest came over the wire: the first report already counts the 400 000.
    assert!(seen.lock().unwrap()[0] > 400_000);

    // The bytes on disk are really used: wrong ones are caught by the whole-file hash,
    // and the file is fetched again from its first byte (two GETs of the file).
    let dest2 = site.dir.path().join("big2.bin");
    let download = file.download(&dest2);
    let partial = download.as_download().partial_path().unwrap();
    std::fs::write(&partial, vec![0u8; 400_000]).unwrap();
    let before = site.requests().len();
    assert_eq!(download.await.unwrap(), 1_000_000);
    assert_eq!(std::fs::read(&dest2).unwrap(), bytes, "byte-identical");
    assert!(!partial.exists());
    let gets = site
        .requests_since(before)
        .iter()
        .filter(|r| r["method"] == "GET" && r["path"].as_str().unwrap().ends_with("/big.bin"))
        .count();
    assert_eq!(gets, 2);
}

#[tokio::test]
async fn archives_stream_to_disk_with_type_filters() {
    let site = site().await;
    let t = tree(&site.fw).await;
    t.acquisition
        .upload_bytes("a.nii", b"nifti".to_vec())
        .metadata(json!({"type": "nifti"}))
        .await
        .unwrap();
    t.acquisition
        .upload_bytes("b.dcm", b"dicom".to_vec())
        .metadata(json!({"type": "dicom"}))
        .await
        .unwrap();
    let dest = site.dir.path().join("x.tar");
    let types = TypeFilter {
        include: vec![],
        exclude: vec!["dicom".into()],
    };
    let stub = site
        .fw
        .download_tar(&[t.project.node()], &dest, &types)
        .await
        .unwrap();
    assert_eq!(stub.file_cnt, Some(1));
    let mut archive = tar::Archive::new(std::fs::File::open(&dest).unwrap());
    let members: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(members, ["scitran/grp1/Proj/sub1/ses1/T1w/a.nii"]);
    let recorded = site.requests();
    let post = recorded
        .iter()
        .rev()
        .find(|r| r["path"] == "/api/download" && r["method"] == "POST")
        .unwrap();
    assert_eq!(
        post["body"]["filters"],
        json!([{"types": {"minus": ["dicom"]}}])
    );
    let zip_dest = site.dir.path().join("x.zip");
    let stub = site
        .fw
        .download_zip(&[t.session.node()], &zip_dest, &TypeFilter::default())
        .await
        .unwrap();
    assert_eq!(stub.file_cnt, Some(2));
    let zip = zip::ZipArchive::new(std::fs::File::open(&zip_dest).unwrap()).unwrap();
    assert_eq!(zip.len(), 2);
    // A missing container: an error, and no archive under the name.
    let missing = site.dir.path().join("missing.tar");
    let node = fw_sdk::DownloadNode {
        level: "session",
        id: "650000000000000000000000".into(),
    };
    let err = site
        .fw
        .download_tar(&[node], &missing, &TypeFilter::default())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(!missing.exists());
}

#[tokio::test]
async fn import_folder_twice_uploads_once_and_download_tree_equals_the_tar() {
    let site = site().await;
    let t = tree(&site.fw).await;
    // 1 000 files: 4 subjects × 2 sessions × 5 acquisitions × 25 files, plus some at
    // higher levels; one name repeats in every acquisition.
    let root = site.dir.path().join("import");
    let mut count = 0;
    for s in 0..4 {
        for e in 0..2 {
            for a in 0..5 {
                let dir = root.join(format!("sub-{s}/ses-{e}/acq-{a}"));
                std::fs::create_dir_all(&dir).unwrap();
                for f in 0..25 {
                    std::fs::write(dir.join(format!("f{f}.dat")), content(200 + f, count)).unwrap();
                    count += 1;
                }
            }
        }
    }
    std::fs::write(root.join("project-notes.txt"), b"at the project").unwrap();
    std::fs::write(root.join("sub-0/subject.txt"), b"at a subject").unwrap();
    std::fs::write(root.join("sub-0/ses-0/session.txt"), b"at a session").unwrap();
    std::fs::create_dir_all(root.join("sub-0/ses-0/acq-0/too-deep")).unwrap();
    assert_eq!(count, 1000);

    let dry = t
        .project
        .import_folder(
            &root,
            ImportOptions {
                dry_run: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(dry.uploaded.len(), 1003);
    assert_eq!(dry.created.len(), 4 + 8 + 40);
    let project_after_dry = t.project.reload().await.unwrap();
    assert!(
        project_after_dry.files().unwrap().is_empty(),
        "a dry run sends nothing"
    );
    assert!(
        t.project
            .subjects()
            .find("label=sub-0")
            .await
            .unwrap()
            .is_empty()
    );

    let first = t
        .project
        .import_folder(&root, ImportOptions::default())
        .await
        .unwrap();
    assert!(first.failed.is_empty(), "{:?}", first.failed);
    assert_eq!(first.uploaded.len(), 1003);
    assert_eq!(first.created.len(), 52);
    assert_eq!(first.ignored.len(), 1, "{:?}", first.ignored);
    let uploads_before = site
        .requests()
        .iter()
        .filter(|r| r["method"] == "POST")
        .count();
    let second = t
        .project
        .import_folder(&root, ImportOptions::default())
        .await
        .unwrap();
    assert_eq!((second.uploaded.len(), second.skipped), (0, 1003));
    assert!(second.created.is_empty());
    let uploads_after = site
        .requests()
        .iter()
        .filter(|r| r["method"] == "POST")
        .count();
    assert_eq!(uploads_before, uploads_after, "the rerun posted nothing");

    // download_tree writes exactly the tar's members (without the tar's prefix).
    let tar_path = site.dir.path().join("project.tar");
    site.fw
        .download_tar(&[t.project.node()], &tar_path, &TypeFilter::default())
        .await
        .unwrap();
    let mut from_tar = BTreeMap::new();
    let mut archive = tar::Archive::new(std::fs::File::open(&tar_path).unwrap());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        from_tar.insert(path.strip_prefix("scitran/").unwrap().to_string(), bytes);
    }
    assert_eq!(from_tar.len(), 1003);
    let out = site.dir.path().join("tree");
    let totals = Arc::new(Mutex::new((0u64, 0u64)));
    let log = totals.clone();
    let options = TreeOptions {
        progress: Some(Arc::new(move |p: &TransferProgress| {
            *log.lock().unwrap() = (p.total_bytes, p.total_size)
        })),
        ..Default::default()
    };
    let summary = t.project.download_tree(&out, options).await.unwrap();
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    assert_eq!((summary.downloaded, summary.skipped), (1003, 0));
    let (done, size) = *totals.lock().unwrap();
    assert_eq!(done, size);
    assert_eq!(done, summary.bytes);
    assert_eq!(files_under(&out), from_tar);

    // A rerun downloads nothing; a changed local file is fetched again.
    let requests_before = site.requests().len();
    let rerun = t
        .project
        .download_tree(&out, TreeOptions::default())
        .await
        .unwrap();
    assert_eq!((rerun.downloaded, rerun.skipped), (0, 1003));
    let downloads = site.requests()[requests_before..]
        .iter()
        .filter(|r| r["path"].as_str().unwrap().contains("/files/"))
        .count();
    assert_eq!(downloads, 0);
    let changed = out.join("grp1/Proj/sub-1/ses-0/acq-2/f3.dat");
    std::fs::write(&changed, b"edited").unwrap();
    let err_policy = TreeOptions {
        existing: Existing::Error,
        ..Default::default()
    };
    let refused = t.project.download_tree(&out, err_policy).await.unwrap();
    assert_eq!(refused.failed.len(), 1);
    assert_eq!(std::fs::read(&changed).unwrap(), b"edited");
    let again = t
        .project
        .download_tree(&out, TreeOptions::default())
        .await
        .unwrap();
    assert_eq!((again.downloaded, again.skipped), (1, 1002));
    assert_eq!(files_under(&out), from_tar);

    // A subtree keeps the same layout, and type filters apply.
    let subject = t.project.subjects().find_one("label=sub-2").await.unwrap();
    let sub_out = site.dir.path().join("sub");
    let only = TreeOptions {
        types: TypeFilter {
            include: vec!["none-such".into()],
            exclude: vec![],
        },
        ..Default::default()
    };
    let none = subject.download_tree(&sub_out, only).await.unwrap();
    assert_eq!(none.downloaded, 0);
    let sub = subject
        .download_tree(&sub_out, TreeOptions::default())
        .await
        .unwrap();
    assert_eq!(sub.downloaded, 250);
    let expected: BTreeMap<_, _> = from_tar
        .iter()
        .filter(|(k, _)| k.starts_with("grp1/Proj/sub-2/"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(files_under(&sub_out), expected);
}
