//! Issue 16's outside probe, findings 4 and 6: a signed-URL ticket's metadata is checked
//! when the ticket opens, by the multipart rule; info keys are sanitized (`.` → `_`,
//! `$` → `-`, at every depth) on every path that writes info (docs/wire.md §8.2, §10.4).

use serde_json::{Value, json};

use crate::common::{TestServer, hierarchy, message, start_signed};

/// Info as the probe sent it: `.` and `$` in keys, at several depths and inside a list.
fn raw_info() -> Value {
    json!({"a.b": 1, "$c": {"d.e": [{"f.g": true}], "ok": "x.y"}})
}

/// [`raw_info`] as it must be stored: keys sanitized, values untouched.
fn sanitized_info() -> Value {
    json!({"a_b": 1, "-c": {"d_e": [{"f_g": true}], "ok": "x.y"}})
}

/// The stored info of file `name` on the container `path` (`/{coll}/{id}`).
async fn file_info(server: &TestServer, path: &str, name: &str) -> Value {
    let doc = server.get(path).await;
    let file = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no file {name} in {doc}"))
        .clone();
    file["info"].clone()
}

#[tokio::test]
async fn ticket_metadata_is_refused_at_open_with_the_multipart_rule() {
    let server = start_signed().await;
    let (.., acquisition) = hierarchy(&server).await;
    let files = format!("/acquisitions/{acquisition}/files");
    // Each metadata the multipart path refuses: a rename (the probe's input), a name that
    // is no file name, a field FileInput does not have, a field of the wrong type; also
    // in the one-element list analyses send.
    let refused = [
        (
            json!({"name": "renamed.bin"}),
            "an upload is named by its file part",
        ),
        (json!({"name": "x\tb"}), "U+0009"),
        (json!({"colour": "red"}), "colour"),
        (json!({"info": "text"}), "info"),
        (
            json!([{"name": "renamed.bin"}]),
            "an upload is named by its file part",
        ),
    ];
    for (metadata, fragment) in refused {
        let (status, reply) = server
            .admin(
                "POST",
                &format!("{files}?ticket="),
                Some(json!({"metadata": metadata, "filenames": ["big.bin"]})),
            )
            .await;
        assert_eq!(status, 400, "{metadata}: {reply}");
        assert!(
            message(&reply).contains(fragment),
            "{fragment:?} not in {reply}"
        );
        assert!(reply.get("ticket").is_none(), "{reply}");
        // The very message the multipart path gives for the same metadata and file.
        let (multipart_status, multipart) = server
            .upload_as_admin(&files, "big.bin", b"bytes", Some(metadata.clone()))
            .await;
        assert_eq!(
            (multipart_status, message(&multipart)),
            (400, message(&reply)),
            "{metadata}"
        );
    }
    // Nothing was opened or stored.
    assert_eq!(
        server.get(&format!("/acquisitions/{acquisition}")).await["files"],
        json!([])
    );
    let tmp = server._dir.path().join("tmp");
    assert!(
        !tmp.exists() || std::fs::read_dir(tmp).unwrap().next().is_none(),
        "a refused ticket left an upload behind"
    );
}

#[tokio::test]
async fn ticket_metadata_the_sdk_sends_is_accepted_and_its_info_sanitized() {
    let server = start_signed().await;
    let (.., acquisition) = hierarchy(&server).await;
    let files = format!("/acquisitions/{acquisition}/files");
    // What the Python SDK sends (docs/wire.md §10.4): the caller's metadata plus the
    // file's own name and size.
    let opened = server
        .post(
            &format!("{files}?ticket="),
            json!({
                "metadata": {"name": "big.bin", "size": 5, "type": "text", "info": raw_info()},
                "filenames": ["big.bin"]
            }),
        )
        .await;
    let ticket = opened["ticket"].as_str().unwrap();
    let url = opened["urls"]["big.bin"].as_str().unwrap();
    let put = server.http.put(url).body("hello").send().await.unwrap();
    assert_eq!(put.status().as_u16(), 200);
    let closed = server
        .ok("POST", &format!("{files}?ticket={ticket}"), None)
        .await;
    assert_eq!(
        (&closed[0]["name"], &closed[0]["type"], &closed[0]["info"]),
        (&json!("big.bin"), &json!("text"), &sanitized_info())
    );
    assert_eq!(
        file_info(&server, &format!("/acquisitions/{acquisition}"), "big.bin").await,
        sanitized_info()
    );
}

#[tokio::test]
async fn multipart_file_info_is_sanitized_and_deletable_by_its_stored_name() {
    let server = start_signed().await;
    let (.., acquisition) = hierarchy(&server).await;
    let container = format!("/acquisitions/{acquisition}");
    let (status, reply) = server
        .upload_as_admin(
            &format!("{container}/files"),
            "m.txt",
            b"m",
            Some(json!({"info": raw_info()})),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        file_info(&server, &container, "m.txt").await,
        sanitized_info()
    );
    // The key is now one delete_info can name.
    server
        .ok(
            "POST",
            &format!("{container}/files/m.txt/info"),
            Some(json!({"delete": ["a_b"]})),
        )
        .await;
    let mut left = sanitized_info();
    left.as_object_mut().unwrap().remove("a_b");
    assert_eq!(file_info(&server, &container, "m.txt").await, left);
}

#[tokio::test]
async fn info_keys_are_sanitized_on_every_create() {
    let server = start_signed().await;
    let info = raw_info();
    server
        .ok(
            "POST",
            "/groups",
            Some(json!({"_id": "grp2", "label": "G2"})),
        )
        .await;
    let project = server
        .create(
            "projects",
            json!({"label": "P", "group": "grp2", "info": info}),
        )
        .await;
    let subject = server
        .create(
            "subjects",
            json!({"code": "s1", "project": project, "info": info}),
        )
        .await;
    // A session's new subject is created from the session body.
    let session = server
        .create(
            "sessions",
            json!({"label": "ses", "project": project, "info": info,
                   "subject": {"code": "s2", "info": info}}),
        )
        .await;
    let session_subject = server.get(&format!("/sessions/{session}")).await["subject"]["_id"]
        .as_str()
        .unwrap()
        .to_string();
    let acquisition = server
        .create(
            "acquisitions",
            json!({"label": "acq", "session": session, "info": info}),
        )
        .await;
    let analysis = server
        .ok(
            "POST",
            &format!("/sessions/{session}/analyses"),
            Some(json!({"label": "an", "info": info})),
        )
        .await["_id"]
        .as_str()
        .unwrap()
        .to_string();
    // (A group create body has no `info`: that is a 400 naming it.)
    for path in [
        format!("/projects/{project}"),
        format!("/subjects/{subject}"),
        format!("/subjects/{session_subject}"),
        format!("/sessions/{session}"),
        format!("/acquisitions/{acquisition}"),
        format!("/analyses/{analysis}"),
    ] {
        assert_eq!(server.get(&path).await["info"], sanitized_info(), "{path}");
    }
    // Users too, where their info is written: `fw-server user add` (POST /users has no
    // `info`).
    fw_server::add_user_key(
        server._dir.path(),
        "info@x.org",
        &json!({"info": info}),
        Some("key-info"),
    )
    .unwrap();
    assert_eq!(
        server.get("/users/info@x.org").await["info"],
        sanitized_info()
    );
    // A filter on the sanitized key finds the container, as after a PUT.
    let found = server
        .get(&format!("/projects/{project}/subjects?filter=info.a_b=1"))
        .await;
    assert_eq!(
        found
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["_id"] == subject.as_str())
            .count(),
        1,
        "{found}"
    );
}
