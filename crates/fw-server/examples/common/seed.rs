//! Seeding a project with many subjects, fast: one subject (with a small file) is made
//! through the API, then cloned into `count` rows by one SQL statement, so every document
//! is a real one and every file entry points at the one real blob. Shared by the examples
//! `finder-bench`, `load-bench` and `bench-seed` (`#[path]` module).
//!
//! The clones have ids `printf('%024x', i)` and labels and codes `{prefix}-{i:06}` for i in
//! 1..=count; `info.site` is `"b"` for every third clone and `"a"` otherwise (the template's).

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

/// The id of the `i`-th clone (from 1).
#[allow(dead_code)] // Not every example that includes this module needs it.
pub(crate) fn clone_id(i: u64) -> String {
    format!("{i:024x}")
}

/// Creates `group` (if missing), a project `label` in it and a template subject with a
/// small file through the API at `base` (`http://host:port/api`) as the admin `secret`,
/// then clones the template `count` times in `data_dir/fw.sqlite` (the server may be
/// running: SQLite's WAL lets it). Returns the ids of the project and of the template.
///
/// # Errors
///
/// An HTTP error, a reply without `_id`, or an SQL error.
pub(crate) async fn seed_subjects(
    base: &str,
    secret: &str,
    data_dir: &Path,
    (group, label, prefix): (&str, &str, &str),
    count: u64,
) -> Result<(String, String), Box<dyn std::error::Error>> {
    let http = reqwest::Client::new();
    let authorization = format!("scitran-user {secret}");
    let post = |path: &str, body: Value| {
        http.post(format!("{base}{path}"))
            .header("Authorization", &authorization)
            .json(&body)
            .send()
    };
    // 409 when the group exists already: fine.
    post("/groups", json!({"_id": group})).await?;
    let project: Value = post("/projects", json!({"label": label, "group": group}))
        .await?
        .error_for_status()?
        .json()
        .await?;
    let project = project["_id"].as_str().ok_or("no project id")?.to_string();
    let template: Value = post(
        "/subjects",
        json!({"label": "template", "project": project, "info": {"site": "a"}}),
    )
    .await?
    .error_for_status()?
    .json()
    .await?;
    let template = template["_id"].as_str().ok_or("no subject id")?.to_string();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"consent form".to_vec()).file_name("consent.txt"),
    );
    http.post(format!("{base}/subjects/{template}/files"))
        .header("Authorization", &authorization)
        .multipart(form)
        .send()
        .await?
        .error_for_status()?;
    let connection = rusqlite::Connection::open(data_dir.join("fw.sqlite"))?;
    connection.busy_timeout(Duration::from_secs(10))?;
    connection.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
         INSERT INTO containers (id, kind, parent_id, group_id, project_id, label, doc)
         SELECT printf('%024x', i), kind, parent_id, group_id, project_id, printf(?3 || '-%06d', i),
                json_set(doc, '$._id', printf('%024x', i), '$.label', printf(?3 || '-%06d', i),
                         '$.code', printf(?3 || '-%06d', i), '$.info.site', CASE i % 3 WHEN 0 THEN 'b' ELSE 'a' END)
         FROM containers, n WHERE id = ?1",
        rusqlite::params![template, count as i64, prefix],
    )?;
    Ok((project, template))
}
