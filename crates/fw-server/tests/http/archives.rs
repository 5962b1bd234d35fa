//! Bulk tar and zip downloads and zip members, over HTTP, read back byte for byte.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use crate::common::*;
use serde_json::{Value, json};

/// Archive members by path.
type Members = BTreeMap<String, Vec<u8>>;

/// Bytes that differ from file to file (a counter mixed into a simple generator).
fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Reads one member into `members`; a path that comes twice fails the test.
fn add_member(members: &mut Members, path: String, mut reader: impl Read) {
    let mut data = Vec::new();
    reader.read_to_end(&mut data).unwrap();
    assert!(
        members.insert(path.clone(), data).is_none(),
        "twice: {path}"
    );
}

fn read_tar(bytes: &[u8]) -> Members {
    let mut archive = tar::Archive::new(bytes);
    let mut members = Members::new();
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        add_member(&mut members, path, entry);
    }
    members
}

fn read_zip(bytes: &[u8]) -> Members {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut members = Members::new();
    for index in 0..archive.len() {
        let file = archive.by_index(index).unwrap();
        let path = file.name().unwrap().into_owned();
        add_member(&mut members, path, file);
    }
    members
}

impl TestServer {
    /// `POST /download` as the admin; returns the ticket stub.
    async fn ticket(&self, body: Value) -> Value {
        self.post("/download", body).await
    }

    /// `GET /download?ticket=…&format=…` with no key, as the SDK's `Accept: application/json`.
    async fn archive(&self, ticket: &Value, format: &str) -> (u16, Vec<u8>) {
        let response = self
            .http
            .get(format!(
                "{}/download?ticket={}&format={format}",
                self.base,
                ticket["ticket"].as_str().unwrap()
            ))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.bytes().await.unwrap().to_vec())
    }

    /// The tar and zip of a ticket, checked to hold the same members.
    async fn both(&self, ticket: &Value) -> Members {
        let (status, tar) = self.archive(ticket, "tar").await;
        assert_eq!(status, 200);
        let (status, zip) = self.archive(ticket, "zip").await;
        assert_eq!(status, 200);
        let members = read_tar(&tar);
        assert_eq!(read_zip(&zip), members, "tar and zip hold the same");
        assert_eq!(ticket["file_cnt"], members.len());
        assert_eq!(
            ticket["size"],
            members.values().map(Vec::len).sum::<usize>()
        );
        members
    }
}

fn nodes(list: &[(&str, &str)]) -> Value {
    let nodes: Vec<Value> = list
        .iter()
        .map(|(level, id)| json!({"level": level, "_id": id}))
        .collect();
    json!({"optional": true, "nodes": nodes})
}

#[tokio::test]
async fn bulk_archives_hold_every_file_in_the_classic_layout_byte_for_byte() {
    let server = start().await;
    let (project, subject, session, t1) = hierarchy(&server).await;
    // A second acquisition with the same label, one whose label has a slash, and one
    // named like a file of the session.
    let t1_again = server
        .create("acquisitions", json!({"label": "T1w", "session": session}))
        .await;
    let slashed = server
        .create(
            "acquisitions",
            json!({"label": "dwi/b1000", "session": session}),
        )
        .await;
    let clash = server
        .create(
            "acquisitions",
            json!({"label": "notes.txt", "session": session}),
        )
        .await;
    // Analysis inputs name files that exist (§15.6): the first version of the scan first.
    let first_scan = server
        .upload_as_admin(
            &format!("/acquisitions/{t1}/files"),
            "scan.nii.gz",
            &content(4, 40_000),
            None,
        )
        .await;
    assert_eq!(first_scan.0, 200);
    let analysis = server
        .post(
            &format!("/sessions/{session}/analyses"),
            json!({"label": "fmriprep", "inputs": [
                {"type": "acquisition", "id": t1, "name": "scan.nii.gz"}
            ]}),
        )
        .await["_id"]
        .as_str()
        .unwrap()
        .to_string();

    let long_name = format!("{}.txt", "long-name-".repeat(15));
    let files: Vec<(String, &str, Vec<u8>)> = vec![
        (
            format!("/projects/{project}/files"),
            "protocol.pdf",
            content(1, 5_000),
        ),
        (
            format!("/subjects/{subject}/files"),
            "consent.csv",
            content(2, 700),
        ),
        (
            format!("/sessions/{session}/files"),
            "notes.txt",
            content(3, 12),
        ),
        (
            format!("/acquisitions/{t1}/files"),
            "scan.nii.gz",
            content(5, 300_000),
        ),
        (
            format!("/acquisitions/{t1}/files"),
            "series.dicom.zip",
            content(6, 9_000),
        ),
        (
            format!("/acquisitions/{t1_again}/files"),
            "scan.nii.gz",
            content(7, 1_000),
        ),
        (
            format!("/acquisitions/{slashed}/files"),
            "é ü #1.bval",
            content(8, 33),
        ),
        (
            format!("/acquisitions/{clash}/files"),
            &long_name,
            content(9, 0),
        ),
        (
            format!("/analyses/{analysis}/files"),
            "report.html",
            content(10, 2_048),
        ),
    ];
    for (path, name, bytes) in &files {
        let (status, reply) = server.upload_as_admin(path, name, bytes, None).await;
        assert_eq!(status, 200, "{path} {name}: {reply}");
    }

    let base = "scitran/grp1/Proj/sub1/ses1";
    let expected: Members = [
        (
            "scitran/grp1/Proj/protocol.pdf".to_string(),
            content(1, 5_000),
        ),
        (
            "scitran/grp1/Proj/sub1/consent.csv".to_string(),
            content(2, 700),
        ),
        (format!("{base}/notes.txt"), content(3, 12)),
        // The current version only.
        (format!("{base}/T1w/scan.nii.gz"), content(5, 300_000)),
        (format!("{base}/T1w/series.dicom.zip"), content(6, 9_000)),
        (format!("{base}/T1w_0/scan.nii.gz"), content(7, 1_000)),
        (format!("{base}/dwi_b1000/é ü #1.bval"), content(8, 33)),
        (format!("{base}/notes.txt_0/{long_name}"), content(9, 0)),
        (
            format!("{base}/fmriprep/input/scan.nii.gz"),
            content(5, 300_000),
        ),
        (
            format!("{base}/fmriprep/output/report.html"),
            content(10, 2_048),
        ),
    ]
    .into_iter()
    .collect();

    let whole = server.ticket(nodes(&[("project", &project)])).await;
    assert!(whole["filename"].as_str().unwrap().starts_with("scitran_"));
    assert_eq!(server.both(&whole).await, expected);

    // Overlapping nodes add nothing twice; a part of the tree keeps its folders.
    let overlapping = server
        .ticket(nodes(&[("session", &session), ("project", &project)]))
        .await;
    assert_eq!(server.both(&overlapping).await, expected);
    let one = server.ticket(nodes(&[("acquisition", &t1_again)])).await;
    let only: Members = expected
        .iter()
        .filter(|(path, _)| path.contains("/T1w_0/"))
        .map(|(p, b)| (p.clone(), b.clone()))
        .collect();
    assert_eq!(server.both(&one).await, only);
    let analysis_only = server.ticket(nodes(&[("analysis", &analysis)])).await;
    assert_eq!(server.both(&analysis_only).await.len(), 2);

    // Type filters and a prefix.
    let mut request = nodes(&[("project", &project)]);
    request["filters"] = json!([{"types": {"plus": ["nifti"]}}]);
    let nifti = server.post("/download?prefix=mine", request.clone()).await;
    let members = server.both(&nifti).await;
    assert_eq!(members.len(), 3);
    assert!(
        members
            .keys()
            .all(|p| p.starts_with("mine/grp1/") && p.ends_with(".nii.gz"))
    );
    request["filters"] = json!([{"types": {"minus": ["dicom", "nifti"]}}]);
    let no_images = server.ticket(request).await;
    let members = server.both(&no_images).await;
    assert_eq!(members.len(), expected.len() - 4);
    assert!(
        members
            .keys()
            .all(|p| !p.contains(".nii") && !p.contains("dicom"))
    );

    // Access: a stranger sees nothing; a read-only member may download.
    let key = server.add_user("reader@x.org");
    let node = nodes(&[("project", &project)]);
    let (status, _) = server
        .call("POST", "/download", &key, Some(node.clone()))
        .await;
    assert_eq!(status, 404);
    server.grant(&project, "reader@x.org", RO_ROLE).await;
    let (status, reply) = server.call("POST", "/download", &key, Some(node)).await;
    assert_eq!(
        (status, reply["file_cnt"].clone()),
        (200, json!(expected.len()))
    );

    // A site admin downloads what they hold no permission on.
    server
        .delete(&format!("/projects/{project}/permissions/admin@local"))
        .await;
    let unpermitted = server.ticket(nodes(&[("subject", &subject)])).await;
    assert_eq!(server.both(&unpermitted).await.len(), expected.len() - 1);

    // Bad requests.
    for (body, path, want) in [
        (json!({"nodes": []}), "/download", 400),
        (
            json!({"nodes": [{"level": "session", "_id": project}]}),
            "/download",
            404,
        ),
        (json!({"nodes": [{"level": "project"}]}), "/download", 400),
        (
            json!({"nodes": [{"level": "project", "_id": project}], "x": 1}),
            "/download",
            400,
        ),
        (nodes(&[("project", &project)]), "/download?type=bids", 400),
        (nodes(&[("project", &project)]), "/download?prefix=..", 400),
    ] {
        let (status, reply) = server.admin("POST", path, Some(body.clone())).await;
        assert_eq!(status, want, "{body} {path}: {reply}");
        assert!(reply["message"].is_string());
    }
    let (status, _) = server.archive(&json!({"ticket": "nope"}), "tar").await;
    assert_eq!(status, 404);
    let (status, _) = server.archive(&whole, "rar").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_client_leaving_mid_archive_frees_the_server() {
    let server = start().await;
    let (project, _, _, acquisition) = hierarchy(&server).await;
    for i in 0..4 {
        let (status, _) = server
            .upload_as_admin(
                &format!("/acquisitions/{acquisition}/files"),
                &format!("big{i}.bin"),
                &content(i, 4 << 20),
                None,
            )
            .await;
        assert_eq!(status, 200);
    }
    let ticket = server.ticket(nodes(&[("project", &project)])).await;
    for _ in 0..8 {
        let mut response = server
            .http
            .get(format!(
                "{}/download?ticket={}&format=zip",
                server.base,
                ticket["ticket"].as_str().unwrap()
            ))
            .send()
            .await
            .unwrap();
        assert!(response.chunk().await.unwrap().is_some());
        drop(response);
    }
    // Every writer thread saw its client leave; the server still answers, whole archives too.
    let (status, tar) = server.archive(&ticket, "tar").await;
    assert_eq!(status, 200);
    assert_eq!(read_tar(&tar).len(), 4);
}

#[tokio::test]
async fn zip_members_are_listed_and_streamed() {
    let server = start().await;
    let (_, _, _, acquisition) = hierarchy(&server).await;
    let mut bytes = Vec::new();
    {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(&mut bytes));
        let deflated = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("dicom/1.dcm", deflated).unwrap();
        zip.write_all(&content(1, 100_000)).unwrap();
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zip.start_file("dicom/2 é.dcm", stored).unwrap();
        zip.write_all(&content(2, 5_000)).unwrap();
        zip.set_comment("series 7").unwrap();
        zip.finish().unwrap();
    }
    let files = format!("/acquisitions/{acquisition}/files");
    let (status, reply) = server
        .upload_as_admin(&files, "series.dicom.zip", &bytes, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(reply[0]["zip_member_count"], 2);
    let (_, reply) = server
        .upload_as_admin(&files, "notes.txt", b"hi", None)
        .await;
    assert!(reply[0].get("zip_member_count").is_none());

    let info = server
        .get(&format!("{files}/series.dicom.zip?info=true"))
        .await;
    assert_eq!(info["comment"], "series 7");
    let members: Vec<(&str, u64)> = info["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["path"].as_str().unwrap(), m["size"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        members,
        [("dicom/1.dcm", 100_000), ("dicom/2 é.dcm", 5_000)]
    );
    assert!(info["members"][0]["timestamp"].is_string());

    for (member, expected) in [
        ("dicom/1.dcm", content(1, 100_000)),
        ("dicom/2 é.dcm", content(2, 5_000)),
    ] {
        let response = server
            .request(reqwest::Method::GET, &format!("{files}/series.dicom.zip"))
            .query(&[("member", member)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.bytes().await.unwrap().to_vec(),
            expected,
            "{member}"
        );
    }
    server
        .expect(
            "GET",
            &format!("{files}/series.dicom.zip?member=nope"),
            None,
            404,
        )
        .await;
    refused(
        server
            .admin("GET", &format!("{files}/notes.txt?info=true"), None)
            .await,
        400,
        "not a readable zip",
    );
}

/// docs/wire.md §15.6: an unknown key in a download filter was ignored, so a filter
/// meant to exclude files downloaded exactly those (issue 16): it is a 400 naming it.
#[tokio::test]
async fn unknown_download_filter_keys_are_refused() {
    let server = start().await;
    let (project, ..) = hierarchy(&server).await;
    for (filters, key) in [
        (json!([{"typez": {"minus": ["nifti"]}}]), "filters[0].typez"),
        (
            json!([{"types": {"plus": ["dicom"]}}, {"types": {"exclude": ["nifti"]}}]),
            "filters[1].types.exclude",
        ),
    ] {
        let mut request = nodes(&[("project", &project)]);
        request["filters"] = filters;
        let (status, reply) = server.admin("POST", "/download", Some(request)).await;
        assert_eq!(status, 400, "{reply}");
        assert!(reply["message"].as_str().unwrap().ends_with(key), "{reply}");
    }
    let mut request = nodes(&[("project", &project)]);
    request["nodes"][0]["level_"] = json!(1);
    refused(
        server.admin("POST", "/download", Some(request)).await,
        400,
        "nodes[0].level_",
    );
}
