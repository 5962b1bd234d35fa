//! Probes of the download pipeline: several downloads of one file to one destination at
//! once must each end whole or with an error, and never leave a wrong file in place.

use crate::common::{Site, site, tree};

fn content(size: usize, seed: u8) -> Vec<u8> {
    (0..size)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] ^ seed)
        .collect()
}

/// A site with a 12 MiB `big.bin` of pattern `seed` on an acquisition: the site, the
/// file and its bytes.
async fn uploaded(seed: u8) -> (Site, fw_sdk::File, Vec<u8>) {
    let site = site().await;
    let t = tree(&site.fw).await;
    let bytes = content(12 << 20, seed);
    let made = t
        .acquisition
        .upload_bytes("big.bin", bytes.clone())
        .await
        .unwrap();
    let file = made[0].clone();
    (site, file, bytes)
}

/// Eight tasks download the same 12 MiB file to the same destination at once, three
/// times over: every one that reports success must leave the whole file under the
/// destination, the others fail saying another download holds it, and nothing may stay
/// beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_downloads_to_one_destination_leave_the_whole_file() {
    let (site, file, bytes) = uploaded(5).await;
    let folder = site.dir.path().join("out");
    std::fs::create_dir_all(&folder).unwrap();
    let dest = folder.join("big.bin");
    for round in 0..3 {
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let file = file.clone();
            let dest = dest.clone();
            tasks.push(tokio::spawn(async move { file.download(&dest).await }));
        }
        let mut ok = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(n) => {
                    assert_eq!(n, bytes.len() as u64);
                    ok += 1;
                }
                Err(e) => {
                    // The others are told why, at once (not a rename failure at the end).
                    let mut chain = e.to_string();
                    let mut source = std::error::Error::source(&e);
                    while let Some(cause) = source {
                        chain.push_str(&format!(": {cause}"));
                        source = cause.source();
                    }
                    assert!(
                        chain.contains("another download to the same destination"),
                        "round {round}: {chain}"
                    );
                }
            }
        }
        let on_disk = std::fs::read(&dest).unwrap();
        assert_eq!(on_disk.len(), bytes.len(), "round {round}: {ok} ok");
        assert!(
            on_disk == bytes,
            "round {round}: the bytes differ ({ok} ok)"
        );
        assert!(ok > 0, "round {round}: none succeeded");
        let left: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 1, "round {round}: {left:?}");
        std::fs::remove_file(&dest).unwrap();
    }
}

/// A second download to the same destination that starts while the first is finishing,
/// and is then dropped halfway (a timeout, a killed program), must not change the file
/// the first one verified and put in place. (Before the partial file was locked, 4 of
/// these 40 rounds left a verified download truncated to 6-8 MiB of 12 MiB.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_download_dropped_halfway_leaves_the_first_ones_file_whole() {
    let (site, file, bytes) = uploaded(9).await;
    let folder = site.dir.path().join("out");
    std::fs::create_dir_all(&folder).unwrap();
    let dest = folder.join("big.bin");
    let mut bad = Vec::new();
    for round in 0..40u64 {
        let first = {
            let file = file.clone();
            let dest = dest.clone();
            tokio::spawn(async move { file.download(&dest).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(5 * (round % 20))).await;
        let second = {
            let file = file.clone();
            let dest = dest.clone();
            tokio::spawn(async move {
                tokio::time::timeout(std::time::Duration::from_millis(30), file.download(&dest))
                    .await
            })
        };
        let first = first.await.unwrap();
        let _ = second.await.unwrap();
        if first.is_ok() {
            let on_disk = std::fs::read(&dest).unwrap();
            if on_disk != bytes {
                let zeros = on_disk.iter().filter(|b| **b == 0).count();
                bad.push((round, on_disk.len(), zeros));
            }
        }
        let _ = std::fs::remove_file(&dest);
        for entry in std::fs::read_dir(&folder).unwrap() {
            let _ = std::fs::remove_file(entry.unwrap().path());
        }
    }
    assert!(
        bad.is_empty(),
        "verified downloads left wrong bytes: {bad:?}"
    );
}

/// A download cut halfway, then the file replaced on the server (new bytes, same size),
/// then the download run again: the bytes kept are the old version's, the whole-file hash
/// catches the mix, and the new version is fetched from its first byte (not an error
/// that looks like a corrupted server).
#[tokio::test]
async fn a_file_replaced_since_the_cut_download_arrives_whole_in_its_new_version() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let old = content(6 << 20, 1);
    let new = content(6 << 20, 2);
    t.acquisition
        .upload_bytes("scan.bin", old.clone())
        .await
        .unwrap();
    let dest = site.dir.path().join("scan.bin");
    let first = t
        .acquisition
        .download_file("scan.bin", &dest)
        .await
        .unwrap();
    let partial = first.as_download().partial_path().unwrap();
    std::fs::write(&partial, &old[..2_500_000]).unwrap(); // what the cut attempt kept
    t.acquisition
        .upload_bytes("scan.bin", new.clone())
        .await
        .unwrap();
    let again = t
        .acquisition
        .download_file("scan.bin", &dest)
        .await
        .unwrap();
    assert_eq!(again.await.unwrap(), new.len() as u64);
    assert!(
        std::fs::read(&dest).unwrap() == new,
        "the new version, whole"
    );
    assert!(!partial.exists());
}

/// As above with `verify(false)`: nothing can tell the kept bytes from the new version's,
/// so the download starts from byte 0 instead of continuing them (it used to end `Ok`
/// with 3 MB of the old version joined to the rest of the new one).
#[tokio::test]
async fn without_verification_kept_bytes_are_not_continued() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let old = content(6 << 20, 1);
    let new = content(6 << 20, 2);
    t.acquisition
        .upload_bytes("mid.bin", old.clone())
        .await
        .unwrap();
    let dest = site.dir.path().join("mid.bin");
    let first = t.acquisition.download_file("mid.bin", &dest).await.unwrap();
    let partial = first.as_download().partial_path().unwrap();
    std::fs::write(&partial, &old[..3_000_000]).unwrap();
    t.acquisition
        .upload_bytes("mid.bin", new.clone())
        .await
        .unwrap();
    let unverified = t
        .acquisition
        .download_file("mid.bin", &dest)
        .await
        .unwrap()
        .verify(false);
    assert_eq!(unverified.await.unwrap(), new.len() as u64);
    assert!(
        std::fs::read(&dest).unwrap() == new,
        "the new version, whole"
    );
}

/// A blob corrupted on the server, with good partial bytes on disk: the resumed attempt
/// and the fresh one both fail the hash check; the error says so and nothing is left,
/// neither under the final name nor beside it.
#[tokio::test]
async fn a_corrupted_blob_with_a_partial_file_is_a_hash_error_and_leaves_nothing() {
    let site = site().await;
    let t = tree(&site.fw).await;
    for size in [100_000usize, 6 << 20] {
        let bytes = content(size, 3);
        let name = format!("c{size}.bin");
        let made = t
            .acquisition
            .upload_bytes(&name, bytes.clone())
            .await
            .unwrap();
        let hash = made[0].hash.clone().unwrap();
        let hex = hash["v0-sha384-".len()..].to_string();
        let blob = site.dir.path().join("blobs").join(&hex[..2]).join(&hex);
        let mut stored = std::fs::read(&blob).unwrap();
        stored[size - 10] ^= 1;
        std::fs::write(&blob, stored).unwrap();
        let folder = site.dir.path().join(format!("out{size}"));
        std::fs::create_dir_all(&folder).unwrap();
        let dest = folder.join(&name);
        let download = made[0].download(&dest);
        let partial = download.as_download().partial_path().unwrap();
        std::fs::write(&partial, &bytes[..size / 3]).unwrap();
        let err = download.await.unwrap_err();
        assert!(
            matches!(&err, fw_sdk::Error::Transport(e) if matches!(**e, fw_transport::Error::HashMismatch { .. })),
            "{size}: {err:?}"
        );
        assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 0, "{size}");
    }
}
