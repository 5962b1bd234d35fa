//! Local paths that cannot work: an upload from a folder, a download to a folder. Refused
//! before a byte is sent or fetched, with an error that says why (the Python SDK raises
//! `IsADirectoryError`).

use fw_sdk::Error;

use crate::common::{site, tree};

/// `upload_file` of a folder was sent, then failed as "could not send POST …/files".
#[tokio::test]
async fn uploading_a_folder_is_refused_before_sending() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let folder = tempfile::tempdir().unwrap();
    let before = site.requests().len();

    let err = t.acquisition.upload_file(folder.path()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "invalid argument: cannot upload {}: it is a folder, not a file",
            folder.path().display()
        )
    );
    let err = site
        .fw
        .upload_file_to_container(t.acquisition.id(), folder.path())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");

    // Nothing reached the server, and the acquisition still has no files.
    assert_eq!(site.requests_since(before), Vec::<serde_json::Value>::new());
    assert!(
        t.acquisition
            .reload()
            .await
            .unwrap()
            .files()
            .unwrap()
            .is_empty()
    );
}

/// The blocking twin refuses the same way.
#[test]
fn blocking_upload_of_a_folder_is_refused() {
    let local = fw_sdk::blocking::LocalFlywheel::start().unwrap();
    let fw = local.client();
    let group = fw
        .add_group(serde_json::json!({"_id": "grp", "label": "G"}))
        .and_then(|_| fw.get_group("grp"))
        .unwrap();
    let project = group
        .add_project(serde_json::json!({"label": "P"}))
        .unwrap();
    let folder = tempfile::tempdir().unwrap();
    let err = project.upload_file(folder.path()).send().unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
    assert!(project.reload().unwrap().files().unwrap().is_empty());
}

/// A download to a folder ran to its end, then failed with "cannot rename into place".
#[tokio::test]
async fn downloading_to_a_folder_is_refused_before_fetching() {
    let site = site().await;
    let t = tree(&site.fw).await;
    t.acquisition
        .upload_bytes("a.txt", b"hello".to_vec())
        .await
        .unwrap();
    t.acquisition
        .upload_bytes("b.zip", zip_of("m.txt", b"member"))
        .await
        .unwrap();
    let folder = tempfile::tempdir().unwrap();

    let file = t.acquisition.file("a.txt").await.unwrap();
    let expected = format!(
        "invalid argument: cannot download to {}: it is a folder; give the path of the file to write",
        folder.path().display()
    );
    let since = site.requests().len();
    let err = file.download(folder.path()).await.unwrap_err();
    assert_eq!(err.to_string(), expected);
    let err = t
        .acquisition
        .download_file_version("a.txt", 1, folder.path())
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), expected);
    let err = t
        .acquisition
        .download_file_zip_member("b.zip", "m.txt", folder.path())
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), expected);
    // No file bytes were asked for, and the folder is as it was.
    assert_eq!(site.requests_since(since), Vec::<serde_json::Value>::new());
    assert_eq!(std::fs::read_dir(folder.path()).unwrap().count(), 0);

    // A file path in that folder works.
    let dest = folder.path().join("a.txt");
    assert_eq!(file.download(&dest).await.unwrap(), 5);
    assert_eq!(std::fs::read(&dest).unwrap(), b"hello");
}

fn zip_of(name: &str, bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    zip.start_file(name, zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(bytes).unwrap();
    zip.finish().unwrap();
    out.into_inner()
}
