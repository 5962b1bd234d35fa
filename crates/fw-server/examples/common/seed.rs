//! The project both benchmarks seed (`finder-bench` and `load-bench` include this file with
//! `#[path]`): one subject made through the API, with `info.site` and a small file, then
//! cloned by SQL into as many subjects as the benchmark asks for.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

/// The admin key both benchmarks start their server with.
pub(crate) const KEY: &str = "bench";

/// Creates the group `group`, a project labelled `project_label` in it, and a subject
/// `template` in that project with `info.site = "a"` and a file `consent.txt`; returns the
/// ids of the project and of the template subject.
///
/// # Errors
/// When the server refuses a request or cannot be reached.
pub(crate) async fn template(
    base: &str,
    group: &str,
    project_label: &str,
) -> Result<(String, String), Box<dyn std::error::Error>> {
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        let request = http
            .post(format!("{base}{path}"))
            .header("Authorization", format!("scitran-user {KEY}"))
            .json(&body);
        async move {
            let reply: Value = request.send().await?.error_for_status()?.json().await?;
            Ok::<_, reqwest::Error>(reply)
        }
    };
    post("/groups", json!({"_id": group})).await?;
    let project = post("/projects", json!({"label": project_label, "group": group})).await?;
    let project = project["_id"].as_str().ok_or("no project id")?.to_string();
    let template = post(
        "/subjects",
        json!({"label": "template", "project": project, "info": {"site": "a"}}),
    )
    .await?;
    let template = template["_id"].as_str().ok_or("no subject id")?.to_string();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"consent form".to_vec()).file_name("consent.txt"),
    );
    http.post(format!("{base}/subjects/{template}/files"))
        .header("Authorization", format!("scitran-user {KEY}"))
        .multipart(form)
        .send()
        .await?
        .error_for_status()?;
    Ok((project, template))
}

/// Clones the subject `template` into `subjects` rows of the data directory `dir`'s database,
/// with ids `000…001` to `subjects` in hex and labels and codes `{prefix}-000001` on. SQLite's
/// JSON functions rewrite `_id`, `label`, `code` and `info.site` (`b` for every third, else
/// `a`), so every document is a real one, and every file entry points at the one real blob.
///
/// # Errors
/// When the database cannot be opened or the insert fails.
pub(crate) fn clone_subjects(
    dir: &Path,
    template: &str,
    prefix: &str,
    subjects: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let connection = rusqlite::Connection::open(dir.join("fw.sqlite"))?;
    connection.busy_timeout(Duration::from_secs(10))?;
    connection.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
         INSERT INTO containers (id, kind, parent_id, group_id, project_id, label, doc)
         SELECT printf('%024x', i), kind, parent_id, group_id, project_id, printf('%s-%06d', ?3, i),
                json_set(doc, '$._id', printf('%024x', i), '$.label', printf('%s-%06d', ?3, i),
                         '$.code', printf('%s-%06d', ?3, i), '$.info.site', CASE i % 3 WHEN 0 THEN 'b' ELSE 'a' END)
         FROM containers, n WHERE id = ?1",
        rusqlite::params![template, i64::try_from(subjects)?, prefix],
    )?;
    Ok(())
}
