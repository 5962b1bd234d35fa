//! The Flywheel clients labs run besides flywheel-sdk 23 (issue 14, docs/wire.md §15.9):
//! SDKs before 20 (info by POST), flywheel-cli 18.5.1 with its SDK 17 (`fw ls` of the
//! root, `fw download` with an empty prefix, `fw sync` through download targets, the
//! default roles' actions), and fw-client 1.x and 2.x (`/version`, the key form).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::common::{ADMIN, RO_ROLE, TestServer, hierarchy, start, upload};

/// The body `fw download fw://group/project` sends (flywheel-cli 18.5.1, SDK 17).
fn cli_download(level: &str, id: &str) -> Value {
    json!({"optional": true, "nodes": [{"level": level, "_id": id}], "filters": [{"types": {}}]})
}

impl TestServer {
    /// `POST /download/targets?QUERY` as `fw sync` sends it: the status, and each line's
    /// JSON (or the JSON error).
    async fn targets(&self, query: &str, key: &str, body: Value) -> (u16, Vec<Value>) {
        let response = self
            .http
            .post(format!("{}/download/targets?{query}", self.base))
            .header("Authorization", format!("scitran-user {key}"))
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        if status != 200 {
            return (status, vec![serde_json::from_str(&text).unwrap()]);
        }
        assert!(text.ends_with('\n'), "every target ends its line: {text:?}");
        let lines = text.lines().map(|l| serde_json::from_str(l).unwrap());
        (status, lines.collect())
    }

    /// A file's bytes as `fw sync` fetches a target: by its container.
    async fn file_of(&self, container_id: &str, name: &str) -> Vec<u8> {
        let response = self
            .http
            .get(format!(
                "{}/containers/{container_id}/files/{name}",
                self.base
            ))
            .header("Authorization", format!("scitran-user {ADMIN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{container_id}/{name}");
        response.bytes().await.unwrap().to_vec()
    }
}

/// SDKs before 20 send `set`, `replace` and `delete` bodies with POST; they act as PATCH.
#[tokio::test]
async fn older_sdks_write_info_with_post() {
    let server = start().await;
    let (project, _, _, acquisition) = hierarchy(&server).await;
    let info = format!("/projects/{project}/info");
    let set = server
        .ok("POST", &info, Some(json!({"set": {"a": 1, "b": {"c": 2}}})))
        .await;
    assert_eq!(set["modified"], 1);
    server
        .ok("POST", &info, Some(json!({"delete": ["a"]})))
        .await;
    let doc = server
        .ok("GET", &format!("/projects/{project}"), None)
        .await;
    assert_eq!(doc["info"], json!({"b": {"c": 2}}));
    server
        .ok("POST", &info, Some(json!({"replace": {"z": true}})))
        .await;
    let doc = server
        .ok("GET", &format!("/projects/{project}"), None)
        .await;
    assert_eq!(doc["info"], json!({"z": true}));

    let files = format!("/acquisitions/{acquisition}/files");
    let (status, _) = upload(&server, &files, ADMIN, "a.txt", b"abc", None).await;
    assert_eq!(status, 200);
    let file_info = format!("{files}/a.txt/info");
    server
        .ok("POST", &file_info, Some(json!({"set": {"k": "v", "n": 1}})))
        .await;
    server
        .ok("POST", &file_info, Some(json!({"delete": ["n"]})))
        .await;
    let entry = server.ok("GET", &file_info, None).await;
    assert_eq!(entry["info"], json!({"k": "v"}));

    // The same checks as PATCH: a bad body is a 400 naming the field, and changes nothing.
    let (status, reply) = server
        .call("POST", &info, ADMIN, Some(json!({"set": 5})))
        .await;
    assert_eq!(status, 400, "{reply}");
    assert!(
        reply["message"].as_str().unwrap().contains("set"),
        "{reply}"
    );
    // `replace` with `set` or `delete` is refused, as core refused it.
    for both in [
        json!({"replace": {"x": 1}, "set": {"y": 2}}),
        json!({"replace": {"x": 1}, "delete": ["z"]}),
    ] {
        let (status, reply) = server.call("POST", &info, ADMIN, Some(both)).await;
        assert_eq!(status, 400, "{reply}");
        assert_eq!(
            reply["message"],
            "an info update cannot `replace` and also `set` or `delete`"
        );
    }
    let doc = server
        .ok("GET", &format!("/projects/{project}"), None)
        .await;
    assert_eq!(doc["info"], json!({"z": true}));
}

/// `fw ls` with no path resolves the root: no nodes, and the groups the caller is listed
/// in as children, as `GET /groups` lists them.
#[tokio::test]
async fn resolve_of_the_root_lists_the_groups_the_caller_sees() {
    let server = start().await;
    let (project, _, _, _) = hierarchy(&server).await;
    server
        .ok(
            "POST",
            "/groups",
            Some(json!({"_id": "grp2", "label": "Two"})),
        )
        .await;
    let bob = server.add_user("bob@x.org");
    server.grant(&project, "bob@x.org", RO_ROLE).await;

    let root = |key: String| {
        let server = &server;
        async move {
            let (status, reply) = server
                .call("POST", "/resolve", &key, Some(json!({"path": []})))
                .await;
            assert_eq!(status, 200, "{reply}");
            assert_eq!(reply["path"], json!([]));
            let children = reply["children"].as_array().unwrap().clone();
            for child in &children {
                assert_eq!(child["container_type"], "group", "{child}");
            }
            children
                .iter()
                .map(|c| c["_id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(root(ADMIN.to_string()).await, ["grp1", "grp2"]);
    assert_eq!(root(bob.clone()).await, ["grp1"]);
    let listed: Vec<String> = server
        .call("GET", "/groups", &bob, None)
        .await
        .1
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, ["grp1"], "the same groups as GET /groups");
    let nobody = server.add_user("nobody@x.org");
    assert!(root(nobody).await.is_empty());

    // A lookup names a node: an empty path stays a 400.
    let (status, reply) = server
        .call("POST", "/lookup", ADMIN, Some(json!({"path": []})))
        .await;
    assert_eq!(status, 400, "{reply}");
}

/// `fw download fw://grp1/Proj` sends `?prefix=` (empty): the archive has no top folder.
#[tokio::test]
async fn an_empty_download_prefix_is_no_top_folder() {
    let server = start().await;
    let (project, _, _, acquisition) = hierarchy(&server).await;
    let files = format!("/acquisitions/{acquisition}/files");
    upload(&server, &files, ADMIN, "a.txt", b"abc", None).await;
    let ticket = server
        .ok(
            "POST",
            "/download?prefix=",
            Some(cli_download("project", &project)),
        )
        .await;
    assert_eq!(
        (ticket["file_cnt"].as_u64(), ticket["size"].as_u64()),
        (Some(1), Some(3))
    );
    assert!(
        ticket["filename"].as_str().unwrap().starts_with("scitran_"),
        "{ticket}"
    );
    let response = server
        .http
        .get(format!(
            "{}/download?ticket={}",
            server.base,
            ticket["ticket"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    let tar = response.bytes().await.unwrap();
    let mut archive = tar::Archive::new(tar.as_ref());
    let paths: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(paths, ["grp1/Proj/sub1/ses1/T1w/a.txt"]);
}

/// `fw sync fw://grp1/Proj DIR` lists the targets, one JSON line per file in the full
/// layout, with the folder names of the bulk archives, then fetches each by container.
#[tokio::test]
async fn download_targets_list_every_readable_file_once_in_the_full_layout() {
    let server = start().await;
    let (project, subject, session, t1) = hierarchy(&server).await;
    // A second acquisition with the same label, and one with a slash in its label.
    let t1_again = server
        .create("acquisitions", json!({"label": "T1w", "session": session}))
        .await;
    let slashed = server
        .create("acquisitions", json!({"label": "a/b", "session": session}))
        .await;
    let analysis = server
        .create(
            &format!("sessions/{session}/analyses"),
            json!({"label": "ana"}),
        )
        .await;
    let uploads: [(String, &str, &[u8]); 7] = [
        (format!("/projects/{project}"), "p.txt", b"project file"),
        (format!("/subjects/{subject}"), "s.csv", b"subject,file"),
        (format!("/sessions/{session}"), "notes.txt", b"session"),
        (format!("/acquisitions/{t1}"), "t1.nii.gz", b"nifti bytes"),
        (format!("/acquisitions/{t1_again}"), "t1.nii.gz", b"again"),
        (format!("/acquisitions/{slashed}"), "x.dcm", b"dicom"),
        (
            format!("/analyses/{analysis}"),
            "out.txt",
            b"analysis output",
        ),
    ];
    for (container, name, bytes) in &uploads {
        let (status, reply) = upload(
            &server,
            &format!("{container}/files"),
            ADMIN,
            name,
            bytes,
            None,
        )
        .await;
        assert_eq!(status, 200, "{container} {reply}");
    }

    let body = json!({"nodes": [{"level": "project", "_id": project}]});
    let (status, targets) = server
        .targets("type=full&prefix=", ADMIN, body.clone())
        .await;
    assert_eq!(status, 200);
    let by_path: BTreeMap<String, &Value> = targets
        .iter()
        .map(|t| (t["dst_path"].as_str().unwrap().to_string(), t))
        .collect();
    assert_eq!(by_path.len(), targets.len(), "no path twice: {targets:?}");
    let expected = [
        ("Proj/FILES/p.txt", &project, "p.txt", 12, "text"),
        (
            "Proj/SUBJECTS/sub1/FILES/s.csv",
            &subject,
            "s.csv",
            12,
            "tabular data",
        ),
        (
            "Proj/SUBJECTS/sub1/SESSIONS/ses1/FILES/notes.txt",
            &session,
            "notes.txt",
            7,
            "text",
        ),
        (
            "Proj/SUBJECTS/sub1/SESSIONS/ses1/ACQUISITIONS/T1w/FILES/t1.nii.gz",
            &t1,
            "t1.nii.gz",
            11,
            "nifti",
        ),
        (
            "Proj/SUBJECTS/sub1/SESSIONS/ses1/ACQUISITIONS/T1w_0/FILES/t1.nii.gz",
            &t1_again,
            "t1.nii.gz",
            5,
            "nifti",
        ),
        (
            "Proj/SUBJECTS/sub1/SESSIONS/ses1/ACQUISITIONS/a_b/FILES/x.dcm",
            &slashed,
            "x.dcm",
            5,
            "dicom",
        ),
    ];
    let paths: Vec<&str> = by_path.keys().map(String::as_str).collect();
    let mut wanted: Vec<&str> = expected.iter().map(|e| e.0).collect();
    wanted.sort_unstable();
    assert_eq!(paths, wanted, "no analyses in a full download");
    for (path, container, name, size, filetype) in expected {
        let target = by_path[path];
        assert_eq!(target["container_id"], container.as_str(), "{target}");
        assert_eq!(target["filename"], name, "{target}");
        assert_eq!(target["size"], size, "{target}");
        assert_eq!(target["download_type"], "file", "{target}");
        assert_eq!(target["filetype"], filetype, "{target}");
        assert!(
            chrono::DateTime::parse_from_rfc3339(target["modified"].as_str().unwrap()).is_ok(),
            "{target}"
        );
        let bytes = server.file_of(container, name).await;
        let uploaded = uploads
            .iter()
            .find(|(c, n, _)| c.ends_with(container.as_str()) && *n == name)
            .unwrap()
            .2;
        assert_eq!(bytes, uploaded, "{path}");
    }

    // The classic layout names the same folders as the bulk tar.
    let (_, classic) = server
        .targets("type=classic&prefix=", ADMIN, body.clone())
        .await;
    let mut classic: Vec<&str> = classic
        .iter()
        .map(|t| t["dst_path"].as_str().unwrap())
        .collect();
    classic.sort_unstable();
    assert_eq!(
        classic,
        [
            "grp1/Proj/p.txt",
            "grp1/Proj/sub1/s.csv",
            "grp1/Proj/sub1/ses1/T1w/t1.nii.gz",
            "grp1/Proj/sub1/ses1/T1w_0/t1.nii.gz",
            "grp1/Proj/sub1/ses1/a_b/x.dcm",
            "grp1/Proj/sub1/ses1/ana/output/out.txt",
            "grp1/Proj/sub1/ses1/notes.txt",
        ]
    );

    // `fw sync -i nifti` and `-e nifti` send core's `+` and `-`.
    let only = json!({"nodes": [{"level": "project", "_id": project}], "filters": [{"types": {"+": ["nifti"]}}]});
    let (_, nifti) = server.targets("type=full&prefix=", ADMIN, only).await;
    assert_eq!(nifti.len(), 2);
    let but = json!({"nodes": [{"level": "project", "_id": project}], "filters": [{"types": {"-": ["nifti"]}}]});
    let (_, rest) = server.targets("type=full&prefix=", ADMIN, but).await;
    assert_eq!(rest.len(), 4);

    // A session node: the same folders, from the project down.
    let (_, below) = server
        .targets(
            "type=full&prefix=",
            ADMIN,
            json!({"nodes": [{"level": "session", "_id": session}]}),
        )
        .await;
    assert_eq!(below.len(), 4);
    assert!(
        below.iter().all(|t| t["dst_path"]
            .as_str()
            .unwrap()
            .starts_with("Proj/SUBJECTS/sub1/SESSIONS/ses1/")),
        "{below:?}"
    );

    // Visibility: what the caller cannot read is a JSON 404 before any line.
    let eve = server.add_user("eve@x.org");
    let (status, reply) = server
        .targets("type=full&prefix=", &eve, body.clone())
        .await;
    assert_eq!(status, 404, "{reply:?}");
    assert!(reply[0]["message"].is_string());
    let reader = server.add_user("ro@x.org");
    server.grant(&project, "ro@x.org", RO_ROLE).await;
    let (status, read) = server
        .targets("type=full&prefix=", &reader, body.clone())
        .await;
    assert_eq!((status, read.len()), (200, 6));

    // What fw-server does not serve is refused, not ignored.
    for (query, body) in [
        ("type=full&prefix=&metadata=true", body.clone()),
        ("type=full&prefix=&analyses=true", body.clone()),
        // How flywheel-cli's `fw sync -m` / `-a` send them (SDK 17 writes `str(True)`).
        ("type=full&prefix=&metadata=True", body.clone()),
        ("type=full&prefix=&analyses=True", body.clone()),
        ("type=full&prefix=&analyses=1", body.clone()),
        ("type=bids", body.clone()),
        ("type=full", json!({"nodes": []})),
        (
            "type=full",
            json!({"nodes": [{"level": "analysis", "_id": analysis}]}),
        ),
        (
            "type=full",
            json!({"nodes": [{"level": "project", "_id": project}], "filters": [{"typez": {}}]}),
        ),
    ] {
        let (status, reply) = server.targets(query, ADMIN, body.clone()).await;
        assert_eq!(status, 400, "{query} {body}: {reply:?}");
        assert!(reply[0]["message"].is_string());
    }
}

/// Every action of the default roles is one SDK 17 (flywheel-cli 18.5.1) can read, and the
/// roles that upload carry `files_create_upload`, the action the CLI's ingest checks for.
#[tokio::test]
async fn default_roles_carry_actions_sdk_17_reads() {
    // flywheel-sdk 17.8.0's `Action` and `DeprecatedAction` values that defaults may use.
    const SDK_17: [&str; 21] = [
        "containers_view_metadata",
        "containers_create_hierarchy",
        "containers_modify_metadata",
        "containers_delete_hierarchy",
        "containers_delete_project",
        "analyses_view_metadata",
        "analyses_create_sdk",
        "analyses_modify_metadata",
        "analyses_delete",
        "files_view_metadata",
        "files_view_contents",
        "files_download",
        "files_create_upload",
        "files_modify_metadata",
        "files_delete_non_device_data",
        "tags_view",
        "tags_manage",
        "notes_view",
        "notes_manage",
        "project_permissions_view",
        "project_permissions_manage",
    ];
    let server = start().await;
    let roles = server.ok("GET", "/roles", None).await;
    let roles = roles.as_array().unwrap();
    assert_eq!(roles.len(), 3);
    for role in roles {
        let actions: Vec<&str> = role["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        for action in &actions {
            assert!(SDK_17.contains(action), "{action} in {role}");
        }
        let uploads = actions.contains(&"files_create_upload");
        assert_eq!(uploads, role["default_flywheel_role"] != "ro", "{role}");
    }
}

/// `GET /version`: the API release in every version field (fw-client 1.x parses `release`
/// as a version number), our own name and version in `fw_server`.
#[tokio::test]
async fn version_reports_the_api_release_and_ours_apart() {
    let server = start().await;
    let version = server.ok("GET", "/version", None).await;
    for field in ["release", "flywheel_release", "cli_version"] {
        assert_eq!(version[field], "23.0.0", "{field}: {version}");
    }
    assert_eq!(
        version["fw_server"],
        json!({"name": "fw-server", "version": env!("CARGO_PKG_VERSION")})
    );
}

/// The binary prints each key also in fw-client's form, `http://host:port:SECRET`.
#[test]
fn keys_are_printed_in_fw_client_form_too() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let binary = env!("CARGO_BIN_EXE_fw-server");
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(binary)
        .args(["user", "add", "--create", "--addr", "127.0.0.1:9999"])
        .args(["--id", "amy@x.org", "--key", "amykey", "--data-dir"])
        .arg(dir.path().join("site"))
        .output()
        .unwrap();
    assert!(out.status.success());
    // stdout stays the one key scripts capture.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "127.0.0.1:9999:__force_insecure:amykey\n"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("for fw-client, the same key is http://127.0.0.1:9999:amykey\n"),
        "{stderr}"
    );

    let mut child = Command::new(binary)
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--admin-key",
            "s3cret",
            "--data-dir",
        ])
        .arg(dir.path().join("site"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines: Vec<String> = std::io::BufReader::new(child.stdout.take().unwrap())
        .lines()
        .take(3)
        .map(Result::unwrap)
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    let address = lines[0].strip_prefix("listening on http://").unwrap();
    assert_eq!(
        lines[1],
        format!("api key: {address}:__force_insecure:s3cret")
    );
    assert_eq!(lines[2], format!("fw-client key: http://{address}:s3cret"));
}

/// Device uploads (fw-client's `POST /storage/files`) and other routes outside
/// fw-server's scope are 501s naming the route (docs/wire.md §15.4), through the
/// catch-all routes too.
#[tokio::test]
async fn routes_outside_the_scope_are_501_naming_them() {
    let server = start().await;
    for (method, path) in [
        ("POST", "/storage/files?project_id=x&signed_url=true"),
        ("GET", "/download/targets"),
        ("POST", "/download/summary"),
        ("POST", "/projects/x/y"),
    ] {
        let (status, reply) = server.call(method, path, ADMIN, Some(json!({}))).await;
        assert_eq!(status, 501, "{method} {path}: {reply}");
        let route = path.split('?').next().unwrap();
        assert_eq!(
            reply["message"],
            format!("{method} /api{route} is not implemented by fw-server")
        );
    }
}

/// A file added later beside a container does not rename the container's folder in the
/// full layout, where files sit in `FILES/` and subjects in `SUBJECTS/`: otherwise the next
/// `fw sync` finds `sub1_0` and downloads the whole subject again. The classic layout,
/// where both share one folder, still keeps the two apart.
#[tokio::test]
async fn a_later_file_does_not_rename_a_folder_in_the_full_layout() {
    let server = start().await;
    let (project, _, _, t1) = hierarchy(&server).await;
    for (container, name) in [
        (format!("/acquisitions/{t1}"), "t1.nii.gz"),
        (format!("/projects/{project}"), "sub1"),
    ] {
        let (status, reply) = upload(
            &server,
            &format!("{container}/files"),
            ADMIN,
            name,
            b"bytes",
            None,
        )
        .await;
        assert_eq!(status, 200, "{reply}");
    }
    let body = json!({"nodes": [{"level": "project", "_id": project}]});
    let (status, targets) = server.targets("type=full&prefix=", ADMIN, body).await;
    assert_eq!(status, 200);
    let mut paths: Vec<&str> = targets
        .iter()
        .map(|t| t["dst_path"].as_str().unwrap())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "Proj/FILES/sub1",
            "Proj/SUBJECTS/sub1/SESSIONS/ses1/ACQUISITIONS/T1w/FILES/t1.nii.gz",
        ]
    );
}
