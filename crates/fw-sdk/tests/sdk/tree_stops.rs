//! Bulk transfers that cannot go on stop as one error instead of failing file by file:
//! a destination that cannot be a folder, a server that went away mid-tree, an archive
//! aimed at a folder.

use std::sync::Arc;
use std::time::Duration;

use fw_sdk::{
    Client, Error, ImportOptions, ProgressObserver, TransferProgress, TreeOptions, TypeFilter,
};
use fw_server::Running;

use crate::common::{Site, files_under, site, tree};

/// `download_tree` into a path below a plain file: one error before anything is fetched,
/// not `Ok` with every file in `failed`.
#[tokio::test]
async fn a_tree_into_a_path_below_a_file_is_one_error() {
    let site = site().await;
    let t = tree(&site.fw).await;
    t.acquisition
        .upload_bytes("a.txt", b"a".to_vec())
        .await
        .unwrap();
    let file = site.dir.path().join("afile");
    std::fs::write(&file, b"x").unwrap();
    let before = site.requests().len();
    let err = t
        .project
        .download_tree(file.join("tree"), TreeOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
    assert!(err.to_string().contains("afile/tree"), "{err}");
    assert!(site.requests_since(before).is_empty(), "nothing is fetched");
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}

/// `download_tar` to a path that is a folder: refused before the archive is made.
#[tokio::test]
async fn an_archive_to_a_folder_is_refused_before_fetching() {
    let site = site().await;
    let t = tree(&site.fw).await;
    t.acquisition
        .upload_bytes("a.txt", b"a".to_vec())
        .await
        .unwrap();
    let folder = site.dir.path().join("out");
    std::fs::create_dir(&folder).unwrap();
    let before = site.requests().len();
    for zip in [false, true] {
        let nodes = [t.project.node()];
        let result = if zip {
            site.fw
                .download_zip(&nodes, &folder, &TypeFilter::default())
                .await
        } else {
            site.fw
                .download_tar(&nodes, &folder, &TypeFilter::default())
                .await
        };
        let err = result.unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
        assert!(err.to_string().contains("it is a folder"), "{err}");
    }
    assert!(site.requests_since(before).is_empty(), "nothing is fetched");
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 0);
}

/// The server stops while a tree of 40 files downloads one at a time: the call ends with
/// the connect error, instead of trying each remaining file (seconds of connect retries
/// each) and answering `Ok` with them all in `failed`.
#[tokio::test]
async fn a_server_gone_mid_tree_ends_the_download_with_one_error() {
    let site = site().await;
    let t = tree(&site.fw).await;
    for i in 0..40 {
        t.acquisition
            .upload_bytes(&format!("f{i:02}.dat"), vec![i as u8; 64 * 1024])
            .await
            .unwrap();
    }
    let Site { running, dir, fw } = site;
    let out = dir.path().join("tree");
    let project = t.project.clone();
    let err = stopped_midway(running, fw, move |progress| async move {
        let options = TreeOptions {
            concurrency: 1,
            progress: Some(progress),
            ..Default::default()
        };
        project.download_tree(&out, options).await.map(|_| ())
    })
    .await;
    assert!(err.is_unreachable(), "{err:?}");
    // Fewer than all, and nothing half-written under a final name: every `.dat` whole.
    let written: Vec<(String, Vec<u8>)> = files_under(&dir.path().join("tree"))
        .into_iter()
        .filter(|(name, _)| name.ends_with(".dat"))
        .collect();
    assert!(written.len() < 40, "{} files written", written.len());
    for (name, bytes) in written {
        assert_eq!(bytes.len(), 64 * 1024, "{name}");
    }
}

/// As above for `import_folder`: the server stops while 40 files upload one at a time.
#[tokio::test]
async fn a_server_gone_mid_import_ends_the_import_with_one_error() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let root = site.dir.path().join("incoming");
    let acquisition = root.join("sub-1/ses-1/acq-1");
    std::fs::create_dir_all(&acquisition).unwrap();
    for i in 0..40u8 {
        std::fs::write(acquisition.join(format!("f{i:02}.dat")), vec![i; 64 * 1024]).unwrap();
    }
    let Site { running, dir, fw } = site;
    let project = t.project.clone();
    let err = stopped_midway(running, fw, move |progress| async move {
        let options = ImportOptions {
            concurrency: 1,
            progress: Some(progress),
            ..Default::default()
        };
        project.import_folder(&root, options).await.map(|_| ())
    })
    .await;
    assert!(err.is_unreachable(), "{err:?}");
    drop(dir);
}

/// Runs a transfer made by `transfer` (given a progress observer) on a task of its own,
/// stops the server once its first bytes have moved, and returns the error the transfer
/// ends with (it must end, within a minute, and not succeed).
async fn stopped_midway<F, Fut>(running: Running, fw: Client, transfer: F) -> Error
where
    F: FnOnce(ProgressObserver) -> Fut,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    let (started, mut first_bytes) = tokio::sync::mpsc::channel::<()>(1);
    let progress: ProgressObserver = Arc::new(move |_: &TransferProgress| {
        let _ = started.try_send(());
    });
    let task = tokio::spawn(transfer(progress));
    first_bytes.recv().await.expect("a first file starts");
    drop(fw);
    tokio::time::timeout(Duration::from_secs(10), running.stop())
        .await
        .expect("stop hangs")
        .unwrap();
    let result = tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .expect("the transfer hangs")
        .unwrap();
    result.expect_err("the transfer cannot be complete")
}
