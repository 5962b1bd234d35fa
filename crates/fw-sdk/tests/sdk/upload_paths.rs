//! Uploads from paths that are not files: refused before a byte is sent, with an error
//! that says why (the Python SDK raises `IsADirectoryError`).

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
