//! `download_tree` lays out analyses as the archive does (issue 11): inputs in
//! `<analysis>/input/`, the analysis's own files in `<analysis>/output/`, including an
//! input held in another project.

use std::collections::BTreeMap;
use std::path::Path;

use fw_sdk::{TreeOptions, TypeFilter};
use serde_json::json;

use crate::common::{files_under, site, tree};

/// The members of a tar file, without the archive's first folder (`scitran/`).
fn tar_members(tar: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut members = BTreeMap::new();
    let mut archive = tar::Archive::new(std::fs::File::open(tar).unwrap());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        let (_, inside) = path.split_once('/').unwrap();
        members.insert(inside.to_string(), bytes);
    }
    members
}

#[tokio::test]
async fn download_tree_has_analysis_inputs_and_outputs_as_the_tar() {
    let site = site().await;
    let t = tree(&site.fw).await;
    t.acquisition
        .upload_bytes("T1w.nii.gz", b"the scan".to_vec())
        .await
        .unwrap();
    t.acquisition
        .upload_bytes("deleted-since.txt", b"gone".to_vec())
        .await
        .unwrap();
    // An input from another project of the group: the server shows it as a reference.
    let other = t
        .group
        .add_project(json!({"label": "Other"}))
        .await
        .unwrap();
    let other_subject = other.add_subject(json!({"label": "o1"})).await.unwrap();
    other_subject
        .upload_bytes("atlas.nii.gz", b"an atlas".to_vec())
        .await
        .unwrap();
    let analysis = t
        .session
        .add_analysis(json!({
            "label": "qa",
            "inputs": [
                {"type": "acquisition", "id": t.acquisition.id(), "name": "T1w.nii.gz"},
                {"type": "subject", "id": other_subject.id(), "name": "atlas.nii.gz"},
                {"type": "acquisition", "id": t.acquisition.id(), "name": "deleted-since.txt"},
            ],
        }))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    analysis
        .upload_bytes("report.txt", b"all good".to_vec())
        .await
        .unwrap();
    // An input deleted after the analysis ran is in neither.
    t.acquisition
        .delete_file("deleted-since.txt")
        .await
        .unwrap();

    let tar = site.dir.path().join("p.tar");
    site.fw
        .download_tar(&[t.project.node()], &tar, &TypeFilter::default())
        .await
        .unwrap();
    let from_tar = tar_members(&tar);
    let out = site.dir.path().join("tree");
    let summary = t
        .project
        .download_tree(&out, TreeOptions::default())
        .await
        .unwrap();
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    let from_tree = files_under(&out);
    let qa = "grp1/Proj/sub1/ses1/qa";
    assert_eq!(
        from_tree
            .get(&format!("{qa}/input/T1w.nii.gz"))
            .map(Vec::as_slice),
        Some(&b"the scan"[..])
    );
    assert_eq!(
        from_tree
            .get(&format!("{qa}/input/atlas.nii.gz"))
            .map(Vec::as_slice),
        Some(&b"an atlas"[..])
    );
    assert_eq!(
        from_tree
            .get(&format!("{qa}/output/report.txt"))
            .map(Vec::as_slice),
        Some(&b"all good"[..])
    );
    assert_eq!(from_tree.len(), 4, "{:?}", from_tree.keys());
    assert_eq!(from_tree, from_tar);
    assert_eq!((summary.downloaded, summary.skipped), (4, 0));

    // The analysis alone: the same layout below its folder.
    let alone = site.dir.path().join("alone");
    let summary = analysis
        .download_tree(&alone, TreeOptions::default())
        .await
        .unwrap();
    assert_eq!(summary.downloaded, 3);
    let expected: BTreeMap<_, _> = from_tar
        .into_iter()
        .filter(|(k, _)| k.starts_with(&format!("{qa}/")))
        .collect();
    assert_eq!(files_under(&alone), expected);
}
