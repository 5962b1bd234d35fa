//! Lists that are not container finders (users, files, roles, modalities): every paging and
//! sorting parameter is honoured or refused with a 400 (docs/wire.md §4.2 points 5-6).

use crate::common::*;

/// `fw.users.find()` yielded over 1,000 items from 2 users, and `find_first('_id=x')`
/// any user (issue 16): `GET /users` ignored its parameters.
#[tokio::test]
async fn users_honour_filter_sort_and_paging() {
    let server = start().await;
    for id in ["b@x.org", "c@x.org", "a@x.org"] {
        server.add_user(id);
    }
    let cases: [(&str, &[&str]); 7] = [
        ("/users", &["a@x.org", "admin@local", "b@x.org", "c@x.org"]),
        // The SDK's keyset iteration: limit, then after_id until an empty page.
        ("/users?limit=3", &["a@x.org", "admin@local", "b@x.org"]),
        ("/users?limit=3&after_id=b@x.org", &["c@x.org"]),
        ("/users?limit=3&after_id=c@x.org", &[]),
        ("/users?filter=_id%3Dc@x.org&limit=1", &["c@x.org"]),
        (
            "/users?sort=_id:desc&limit=2&page=2",
            &["admin@local", "a@x.org"],
        ),
        ("/users?skip=3", &["c@x.org"]),
    ];
    for (path, expected) in cases {
        assert_eq!(ids(&server.get(path).await, "_id"), expected, "{path}");
    }
    for (query, message) in [
        ("after_id=a&sort=_id", "after_id cannot be used with sort"),
        ("filter=%3Dx", "invalid filter"),
        ("limit=ten", "limit must be a whole number"),
        ("page=1", "page needs a limit"),
    ] {
        refused(
            server.admin("GET", &format!("/users?{query}"), None).await,
            400,
            message,
        );
    }
}

/// `GET /files` ignored `sort`, `skip` and `page` (issue 16).
#[tokio::test]
async fn files_honour_sort_skip_and_page() {
    let server = start().await;
    let (_, _, _, acquisition) = hierarchy(&server).await;
    let path = format!("/acquisitions/{acquisition}/files");
    for (name, bytes) in [("b.txt", &b"22"[..]), ("c.txt", b"1"), ("a.txt", b"333")] {
        server.add_file(&path, name, bytes).await;
    }
    // Each list with its names, and its count and total.
    let cases: [(&str, &[&str], u64); 4] = [
        ("/files?sort=name:asc", &["a.txt", "b.txt", "c.txt"], 3),
        (
            "/files?sort=size:desc&limit=2&page=1",
            &["a.txt", "b.txt"],
            2,
        ),
        ("/files?sort=size:desc&limit=2&page=2", &["c.txt"], 1),
        ("/files?sort=name:asc&skip=2", &["c.txt"], 1),
    ];
    for (path, names, count) in cases {
        let list = server.get(path).await;
        assert_eq!(ids(&list, "name"), names, "{path}");
        assert_eq!(
            (list["count"].as_u64(), list["total"].as_u64()),
            (Some(count), Some(3)),
            "{path}"
        );
    }
    server
        .expect("GET", "/files?after_id=x&skip=1", None, 400)
        .await;
}

/// Roles and modalities page the same way.
#[tokio::test]
async fn roles_and_modalities_honour_paging() {
    let server = start().await;
    let roles = server.get("/roles?sort=label:asc").await;
    let labels = ids(&roles, "label");
    let mut sorted = labels.clone();
    sorted.sort();
    assert_eq!(labels, sorted);
    assert_eq!(labels.len(), 3);
    let one = server.get("/roles?filter=label%3Dread-only").await;
    assert_eq!(ids(&one, "label"), ["read-only"]);
    let modalities = server.get("/modalities?filter=_id%3DMR").await;
    assert_eq!(ids(&modalities, "_id"), ["MR"]);
    server
        .expect("GET", "/modalities?page=0&limit=1", None, 400)
        .await;
}

/// docs/wire.md §15.6: a list-endpoint query parameter the server does not honour is
/// a 400 naming it, on every list (finders included), never silently ignored.
#[tokio::test]
async fn list_parameters_not_honoured_are_refused() {
    let server = start().await;
    let (project, ..) = hierarchy(&server).await;
    for path in [
        "/users",
        "/files",
        "/roles",
        "/modalities",
        "/projects",
        &format!("/projects/{project}/sessions"),
    ] {
        refused(
            server
                .admin("GET", &format!("{path}?filtr=label%3Dx&limit=1"), None)
                .await,
            400,
            "query parameter(s) filtr",
        );
        let status = server
            .status(
                "GET",
                &format!("{path}?include_all_info=true&exhaustive=true&limit=1"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{path}");
    }
}
