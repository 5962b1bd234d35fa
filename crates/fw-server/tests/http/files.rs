//! Files: uploads, versions, downloads, metadata, files by id, signed-URL tickets.

use crate::common::*;
use fw_server::ServerConfig;
use serde_json::{Value, json};

#[tokio::test]
async fn files_upload_version_download_and_refuse_what_they_must() {
    let server = start().await;
    let (project, _, _, acquisition) = hierarchy(&server).await;
    let files = format!("/acquisitions/{acquisition}/files");

    let metadata = json!({"info": {"x": 1}, "modality": "MR"});
    let (status, reply) = server
        .upload_as_admin(&files, "hello.txt", b"hello world", Some(metadata))
        .await;
    assert_eq!(status, 200, "{reply}");
    let first = &reply[0];
    assert_eq!(
        (
            first["name"].as_str(),
            first["type"].as_str(),
            first["size"].as_u64()
        ),
        (Some("hello.txt"), Some("text"), Some(11))
    );
    assert_eq!(
        (
            first["version"].as_u64(),
            first["info"]["x"].as_u64(),
            first["modality"].as_str()
        ),
        (Some(1), Some(1), Some("MR"))
    );
    let hash = first["hash"].as_str().unwrap();
    assert!(
        hash.starts_with("v0-sha384-") && hash.len() == 10 + 96,
        "{hash}"
    );
    let blob = server
        ._dir
        .path()
        .join("blobs")
        .join(&hash[10..12])
        .join(&hash[10..]);
    assert_eq!(std::fs::read(&blob).unwrap(), b"hello world");

    // The same name again: a new version, same file_id, new _id; the old one stays readable.
    let (_, reply) = server
        .upload_as_admin(&files, "hello.txt", b"hello again!", None)
        .await;
    let second = &reply[0];
    assert_eq!(second["version"], 2);
    assert_eq!(second["file_id"], first["file_id"]);
    assert_ne!(second["_id"], first["_id"]);
    assert!(second["replaced"].is_string());
    let listed = server.get(&format!("/acquisitions/{acquisition}")).await;
    assert_eq!(listed["files"].as_array().unwrap().len(), 1);

    let get = |path: String, headers: Vec<(&'static str, String)>| {
        let mut request = server.http.get(format!("{}{path}", server.base));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let range = response
                .headers()
                .get("content-range")
                .map(|v| v.to_str().unwrap().to_string());
            (status, range, response.bytes().await.unwrap().to_vec())
        }
    };
    let auth = || vec![("Authorization", format!("scitran-user {ADMIN}"))];
    assert_eq!(
        get(format!("{files}/hello.txt"), auth()).await.2,
        b"hello again!"
    );
    assert_eq!(
        get(format!("{files}/hello.txt?version=1"), auth()).await.2,
        b"hello world"
    );
    assert_eq!(
        get(format!("{files}/hello.txt?version=9"), auth()).await.0,
        404
    );
    let mut ranged = auth();
    ranged.push(("Range", "bytes=6-".to_string()));
    assert_eq!(
        get(format!("{files}/hello.txt"), ranged).await,
        (206, Some("bytes 6-11/12".to_string()), b"again!".to_vec())
    );
    // docs/wire.md §15.8 (RFC 9110): only a byte range that cannot be satisfied is a
    // 416; an unknown unit is ignored, and several ranges get the whole body.
    let ranged = |range: &str| {
        let mut headers = auth();
        headers.push(("Range", range.to_string()));
        get(format!("{files}/hello.txt"), headers)
    };
    assert_eq!(ranged("bytes=50-60").await.0, 416);
    let whole = (200, None, b"hello again!".to_vec());
    assert_eq!(ranged("lol=-5").await, whole);
    assert_eq!(ranged("bytes=0-0, 1-1").await, whole);
    assert_eq!(
        ranged("bytes=-1").await,
        (206, Some("bytes 11-11/12".to_string()), b"!".to_vec())
    );

    // Tickets: made with a key, used without one, only for that file.
    let ticket = server.get(&format!("{files}/hello.txt?ticket=")).await;
    let ticket = ticket["ticket"].as_str().unwrap();
    assert_eq!(
        get(format!("{files}/hello.txt?ticket={ticket}"), vec![])
            .await
            .2,
        b"hello again!"
    );
    assert_eq!(
        get(format!("{files}/other.txt?ticket={ticket}"), vec![])
            .await
            .0,
        401
    );
    assert_eq!(
        get(format!("{files}/hello.txt?ticket=forged"), vec![])
            .await
            .0,
        401
    );
    assert_eq!(get(format!("{files}/hello.txt"), vec![]).await.0, 401);

    // Large files: no body limit on uploads (extractors default to 2 MB).
    let large: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
    let (status, reply) = server
        .upload_as_admin(&files, "large.bin", &large, None)
        .await;
    assert_eq!(
        (status, reply[0]["size"].as_u64()),
        (200, Some(5_000_000)),
        "{reply}"
    );
    assert_eq!(get(format!("{files}/large.bin"), auth()).await.2, large);
    // JSON bodies keep a limit: a 20 MB info update is refused, not read.
    let huge = json!({"set": {"blob": "x".repeat(20 << 20)}});
    server
        .expect(
            "PATCH",
            &format!("/acquisitions/{acquisition}/info"),
            Some(huge),
            413,
        )
        .await;

    // Any Unicode name; never one that could escape, through the form or the path.
    let (status, _) = server
        .upload_as_admin(&files, "scan é #1.nii.gz", b"x", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        get(format!("{files}/scan%20%C3%A9%20%231.nii.gz"), auth())
            .await
            .2,
        b"x"
    );
    for name in ["../escape", "a/b", "..", ""] {
        let (status, reply) = server.upload_as_admin(&files, name, b"x", None).await;
        assert_eq!(status, 400, "{name:?}: {reply}");
    }
    // A download finds a stored name exactly (names stored before the rule of §15.3 stay
    // downloadable), so a name no file can have is a 404.
    assert_eq!(get(format!("{files}/a%00b"), auth()).await.0, 404);

    // Read-only users download but do not upload; strangers see nothing.
    let ro = server.add_user("ro@x.org");
    server.grant(&project, "ro@x.org", RO_ROLE).await;
    assert_eq!(
        upload(&server, &files, &ro, "x.txt", b"x", None).await.0,
        403
    );
    assert_eq!(
        get(
            format!("{files}/hello.txt"),
            vec![("Authorization", format!("scitran-user {ro}"))]
        )
        .await
        .2,
        b"hello again!"
    );
    let stranger = server.add_user("who@x.org");
    assert_eq!(
        upload(&server, &files, &stranger, "x.txt", b"x", None)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn an_upload_cut_halfway_leaves_nothing() {
    use tokio::io::AsyncWriteExt;
    let server = start().await;
    let (.., acquisition) = hierarchy(&server).await;
    let address = server
        .base
        .trim_start_matches("http://")
        .trim_end_matches("/api")
        .to_string();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/acquisitions/{acquisition}/files HTTP/1.1\r\nHost: {address}\r\nAuthorization: scitran-user {ADMIN}\r\n\
         Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 10000000\r\n\r\n\
         --B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.bin\"\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![7u8; 300_000]).await.unwrap();
    stream.flush().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    drop(stream); // the connection is cut
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let doc = server.get(&format!("/acquisitions/{acquisition}")).await;
    assert_eq!(doc["files"], json!([]), "no file entry");
    let tmp: Vec<_> = std::fs::read_dir(server._dir.path().join("tmp"))
        .unwrap()
        .collect();
    assert!(tmp.is_empty(), "no partial upload left: {tmp:?}");
    let blobs = walk(&server._dir.path().join("blobs"));
    assert!(blobs.is_empty(), "no blob: {blobs:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[tokio::test]
async fn file_metadata_classification_and_deletion() {
    let server = start().await;
    let (project, _, _, acquisition) = hierarchy(&server).await;
    let files = format!("/acquisitions/{acquisition}/files");
    let metadata = json!({"modality": "MR"});
    server
        .upload_as_admin(&files, "t1.nii.gz", b"nifti", Some(metadata))
        .await;
    let file = format!("{files}/t1.nii.gz");
    let current =
        || async { server.get(&format!("/acquisitions/{acquisition}")).await["files"][0].clone() };

    server
        .patch(&format!("{file}/info"), json!({"set": {"a.b": 1, "c": 2}}))
        .await;
    server
        .patch(&format!("{file}/info"), json!({"delete": ["c"]}))
        .await;
    assert_eq!(current().await["info"], json!({"a_b": 1}));

    let classification = format!("{file}/classification");
    server
        .patch(
            &classification,
            json!({"add": {"Measurement": ["T1", "T1"], "Custom": ["x"]}}),
        )
        .await;
    assert_eq!(
        current().await["classification"],
        json!({"Custom": ["x"], "Measurement": ["T1"]})
    );
    let refusals = [
        (
            json!({"add": {"Measurement": ["Banana"]}}),
            "not a Measurement value of MR",
        ),
        (json!({"add": {"Flavour": ["x"]}}), "MR has no aspect"),
        (
            json!({"modality": "CT", "add": {}}),
            "only `replace` may change the modality",
        ),
        (
            json!({"bogus": {}}),
            "unknown field(s) in a classification update: bogus",
        ),
    ];
    for (body, message) in refusals {
        refused(
            server.admin("PATCH", &classification, Some(body)).await,
            400,
            message,
        );
    }
    server
        .patch(
            &classification,
            json!({"replace": {"Scan Type": ["Standard"]}, "modality": "CT"}),
        )
        .await;
    assert_eq!(current().await["modality"], "CT");
    server.put(&file, json!({"modality": "PET"})).await;
    assert_eq!(current().await["classification"], json!({}));
    server
        .expect("PUT", &file, Some(json!({"name": "renamed"})), 400)
        .await;

    // Deleting needs admin on the project.
    let rw = server.add_user("rw@x.org");
    server.grant(&project, "rw@x.org", RW_ROLE).await;
    assert_eq!(server.call("DELETE", &file, &rw, None).await.0, 403);
    assert_eq!(server.delete(&file).await["deleted"], 1);
    server.expect("DELETE", &file, None, 404).await;
    assert_eq!(current().await, Value::Null);
}

/// SIGKILL during an upload, then a restart: the database passes its integrity check, no
/// partial entry or blob is visible, and the earlier file is intact.
#[test]
fn a_server_killed_during_an_upload_loses_nothing_it_had() {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let serve = || {
        let (child, mut lines) = spawn_binary(dir.path(), &["--admin-key", ADMIN], Stdio::null());
        let address = lines
            .next()
            .unwrap()
            .unwrap()
            .trim_start_matches("listening on http://")
            .to_string();
        (child, address)
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (mut child, address) = serve();
    let server = TestServer {
        _running: None,
        base: format!("http://{address}/api"),
        http: reqwest::Client::new(),
        _dir: tempfile::tempdir().unwrap(),
    };
    let (.., acquisition) = runtime.block_on(hierarchy(&server));
    let files = format!("/acquisitions/{acquisition}/files");
    let (status, _) =
        runtime.block_on(server.upload_as_admin(&files, "kept.txt", b"precious", None));
    assert_eq!(status, 200);

    // Half an upload, then SIGKILL.
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "POST /api{files} HTTP/1.1\r\nHost: {address}\r\nAuthorization: scitran-user {ADMIN}\r\n\
         Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 50000000\r\n\r\n\
         --B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"kept.txt\"\r\n\r\n"
    )
    .unwrap();
    stream.write_all(&vec![1u8; 2_000_000]).unwrap();
    stream.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    drop(stream);

    // Restart on the same directory.
    let (mut child, address) = serve();
    let server = TestServer {
        base: format!("http://{address}/api"),
        ..server
    };
    let doc = runtime.block_on(server.get(&format!("/acquisitions/{acquisition}")));
    let names: Vec<(&str, u64)> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["version"].as_u64().unwrap()))
        .collect();
    assert_eq!(names, [("kept.txt", 1)], "no partial version");
    let bytes = runtime.block_on(async {
        server
            .request(reqwest::Method::GET, &format!("{files}/kept.txt"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
    });
    assert_eq!(&bytes[..], b"precious");
    assert!(
        std::fs::read_dir(dir.path().join("tmp"))
            .unwrap()
            .next()
            .is_none(),
        "the restart cleared tmp/"
    );
    assert_eq!(
        walk(&dir.path().join("blobs")).len(),
        1,
        "only the kept file's blob"
    );
    let connection = rusqlite::Connection::open(dir.path().join("fw.sqlite")).unwrap();
    let check: String = connection
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[tokio::test]
async fn files_by_id_tags_and_the_files_finder() {
    let server = start().await;
    let (_, _, session, acquisition) = hierarchy(&server).await;
    for name in ["a.txt", "b.csv", "c.nii.gz"] {
        server
            .add_file(
                &format!("/acquisitions/{acquisition}/files"),
                name,
                name.as_bytes(),
            )
            .await;
    }
    let page = server.get("/files?limit=2").await;
    assert_eq!(
        (page["count"].as_u64(), page["total"].as_u64()),
        (Some(2), Some(3))
    );
    let last = page["results"][1]["file_id"].as_str().unwrap().to_string();
    let rest = server.get(&format!("/files?limit=2&after_id={last}")).await;
    assert_eq!(
        (rest["count"].as_u64(), rest["total"].as_u64()),
        (Some(1), Some(1))
    );
    let mut names: Vec<String> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["results"].as_array().unwrap())
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["a.txt", "b.csv", "c.nii.gz"],
        "no gap, no duplicate"
    );
    let nifti = server.get("/files?filter=type%3Dnifti").await;
    assert_eq!(nifti["results"][0]["name"], "c.nii.gz");
    assert_eq!(
        nifti["results"][0]["parent_ref"],
        json!({"type": "acquisition", "id": acquisition})
    );

    let file_id = nifti["results"][0]["file_id"].as_str().unwrap().to_string();
    assert_eq!(
        server
            .patch(&format!("/files/{file_id}/tags"), json!(["qa", "t1"]))
            .await,
        json!(["qa", "t1"])
    );
    assert_eq!(
        server
            .put(&format!("/files/{file_id}/tags"), json!(["t1"]))
            .await["modified"],
        1
    );
    assert_eq!(
        server.get(&format!("/files/{file_id}")).await["tags"],
        json!(["t1"])
    );
    server
        .expect(
            "PATCH",
            &format!("/files/{file_id}/tags"),
            Some(json!("qa")),
            400,
        )
        .await;

    // Others see no files; deleting the session removes its files from the index.
    let key = server.add_user("x@x.org");
    assert_eq!(server.call("GET", "/files", &key, None).await.1["total"], 0);
    assert_eq!(
        server
            .call("GET", &format!("/files/{file_id}"), &key, None)
            .await
            .0,
        404
    );
    server.delete(&format!("/sessions/{session}")).await;
    assert_eq!(server.get("/files").await["total"], 0);
    server
        .expect("GET", &format!("/files/{file_id}"), None, 404)
        .await;
}

#[tokio::test]
async fn signed_url_tickets_need_their_ticket_and_leave_nothing_until_closed() {
    let dir = tempfile::tempdir().unwrap();
    let running = fw_server::start(ServerConfig {
        admin_key: Some(ADMIN.into()),
        signed_urls: true,
        ..ServerConfig::new(dir.path().to_path_buf())
    })
    .await
    .unwrap();
    let server = TestServer {
        base: format!("http://{}/api", running.addr),
        _running: Some(running),
        http: reqwest::Client::new(),
        _dir: dir,
    };
    let (.., acquisition) = hierarchy(&server).await;
    let files = format!("/acquisitions/{acquisition}/files");
    assert_eq!(server.get("/config").await["features"]["signed_url"], true);

    let (ticket, url) = server.open_ticket_for_a_txt(&files).await;
    assert!(url.ends_with(&format!("/storage/{ticket}/a.txt")), "{url}");
    let put = |url: String| {
        let http = server.http.clone();
        async move {
            http.put(url)
                .body("hello")
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // The storage URL needs its ticket, for the names it was opened for.
    let storage = url.trim_end_matches(&format!("{ticket}/a.txt")).to_string();
    assert_eq!(put(format!("{storage}forged/a.txt")).await, 403);
    assert_eq!(put(format!("{storage}{ticket}/other.txt")).await, 403);
    assert_eq!(put(url.clone()).await, 200);

    // Until the ticket closes, the file does not exist for anyone.
    let doc = server.get(&format!("/acquisitions/{acquisition}")).await;
    assert_eq!(doc["files"], json!([]));
    assert!(walk(&server._dir.path().join("blobs")).is_empty());

    // Closing with someone else's ticket, or one never opened, fails; the real one works.
    server
        .expect("POST", &format!("{files}?ticket=nope"), None, 404)
        .await;
    let closed = server
        .ok("POST", &format!("{files}?ticket={ticket}"), None)
        .await;
    assert_eq!(
        (closed[0]["name"].as_str(), closed[0]["size"].as_u64()),
        (Some("a.txt"), Some(5))
    );
    // A ticket closes once.
    server
        .expect("POST", &format!("{files}?ticket={ticket}"), None, 404)
        .await;
    assert!(
        std::fs::read_dir(server._dir.path().join("tmp"))
            .unwrap()
            .next()
            .is_none()
    );
}

/// docs/wire.md §15.3: a file name with `: * ? " | < > \ /` or a control character is
/// refused with a 400 naming the character and its position, before any byte is stored, on
/// every path that names a file: multipart parts, signed-URL tickets, bulk `?prefix=`
/// (whose control characters made a ticket that answered 500 every time; issue 16).
#[tokio::test]
async fn forbidden_file_name_characters_are_refused_on_every_path() {
    let server = start_signed().await;
    let (project, .., acquisition) = hierarchy(&server).await;
    let files = format!("/acquisitions/{acquisition}/files");
    for (name, shown) in [
        ("a:b.txt", "':' at position 2"),
        ("T2*.nii", "'*' at position 3"),
        ("x\ty", "U+0009 at position 2"),
        ("q?", "'?' at position 2"),
        ("p|<>", "'|' at position 2"),
    ] {
        refused(
            server.upload_as_admin(&files, name, b"data", None).await,
            400,
            shown,
        );
        refused(
            server
                .admin(
                    "POST",
                    &format!("{files}?ticket="),
                    Some(json!({"metadata": {}, "filenames": ["ok.txt", name]})),
                )
                .await,
            400,
            shown,
        );
    }
    let acquisition_doc = server.get(&format!("/acquisitions/{acquisition}")).await;
    assert_eq!(acquisition_doc["files"], json!([]));
    let request = json!({"optional": true, "nodes": [{"level": "project", "_id": project}]});
    for prefix in ["a%09b", "a%3Ab", "a%2Fb"] {
        refused(
            server
                .admin(
                    "POST",
                    &format!("/download?prefix={prefix}"),
                    Some(request.clone()),
                )
                .await,
            400,
            "is not a valid file name",
        );
    }
    // Allowed names still go through.
    let (status, _) = server
        .upload_as_admin(&files, "sub-01 T1w (run 2).nii.gz", b"data", None)
        .await;
    assert_eq!(status, 200);
}

/// docs/wire.md §15.7: `?hash=` on a download was ignored (issue 16); the file is sent
/// only while it still has that hash, else 409.
#[tokio::test]
async fn a_download_with_a_stale_hash_is_a_409() {
    let server = start().await;
    let (.., acquisition) = hierarchy(&server).await;
    let files = format!("/acquisitions/{acquisition}/files");
    server.add_file(&files, "a.txt", b"one").await;
    let hash = server.get(&format!("{files}/a.txt/info")).await["hash"]
        .as_str()
        .unwrap()
        .to_string();
    let get = |hash: String| {
        let url = format!("{}{files}/a.txt?hash={hash}", server.base);
        let http = server.http.clone();
        async move {
            let response = http
                .get(url)
                .header("Authorization", format!("scitran-user {ADMIN}"))
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.bytes().await.unwrap().to_vec(),
            )
        }
    };
    assert_eq!(get(hash.clone()).await, (200, b"one".to_vec()));
    let hex = hash.rsplit('-').next().unwrap().to_string();
    assert_eq!(get(hex).await.0, 200);
    server.add_file(&files, "a.txt", b"two").await;
    let (status, body) = get(hash.clone()).await;
    assert_eq!(status, 409);
    let reply: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        reply["message"]
            .as_str()
            .unwrap()
            .contains(&format!("not {hash}")),
        "{reply}"
    );
}

/// docs/wire.md §15.6: analysis inputs naming files that do not exist were accepted
/// and came back as references (issue 16); they are refused, and real ones come back as
/// file entries.
#[tokio::test]
async fn analysis_inputs_name_files_that_exist_and_read_back_as_entries() {
    let server = start().await;
    let (_, _, session, acquisition) = hierarchy(&server).await;
    server
        .add_file(
            &format!("/acquisitions/{acquisition}/files"),
            "scan.nii.gz",
            b"x",
        )
        .await;
    let analyses = format!("/sessions/{session}/analyses");
    for (input, status, message) in [
        (
            json!({"type": "acquisition", "id": acquisition, "name": "missing.nii"}),
            404,
            "inputs[0]: acquisition",
        ),
        (
            json!({"type": "acquisition", "id": "000000000000000000000000", "name": "scan.nii.gz"}),
            404,
            "inputs[0]: acquisition 000000000000000000000000 not found",
        ),
        (
            json!({"type": "acquisition", "id": acquisition}),
            400,
            "inputs[0].name",
        ),
        (
            json!({"type": "bucket", "id": acquisition, "name": "scan.nii.gz"}),
            400,
            "inputs[0].type",
        ),
    ] {
        let (got, reply) = server
            .admin(
                "POST",
                &analyses,
                Some(json!({"label": "a", "inputs": [input]})),
            )
            .await;
        assert_eq!(got, status, "{reply}");
        assert!(
            reply["message"].as_str().unwrap().starts_with(message),
            "{reply}"
        );
    }
    let id = server
        .create(&analyses[1..], json!({"label": "a", "inputs": [{"type": "acquisition", "id": acquisition, "name": "scan.nii.gz"}]}))
        .await;
    let analysis = server.get(&format!("/analyses/{id}")).await;
    let input = &analysis["inputs"][0];
    assert_eq!(
        (input["name"].as_str(), input["size"].as_u64()),
        (Some("scan.nii.gz"), Some(1))
    );
    assert_eq!(
        input["parent_ref"],
        json!({"type": "acquisition", "id": acquisition})
    );
    assert!(input["file_id"].is_string());
}
