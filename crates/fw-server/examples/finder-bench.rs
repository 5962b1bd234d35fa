//! How fast finders and bulk downloads answer on a project of 100,000 subjects.
//!
//! `cargo run --release -p fw-server --example finder-bench [SUBJECTS]`
//!
//! Starts a server on a temporary data directory, creates a group, a project and one
//! subject with a small file through the API, clones that subject into SUBJECTS rows
//! (SQLite's JSON functions rewrite `_id`, `label` and `code`, so every document is a real
//! one, and every file entry points at the one real blob), then times finders over HTTP: by
//! parent and label (indexed), by parent alone with a limit, and by an info field (every
//! document read and evaluated); then a bulk download of the whole project (planning, then
//! the tar of every file) and of one subject (whose folder name needs all its siblings).

#[path = "common/seed.rs"]
mod seed;

use std::time::Instant;

use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let subjects: usize = std::env::args().nth(1).map_or(Ok(100_000), |n| n.parse())?;
    let dir = tempfile::tempdir()?;
    let server = fw_server::start(fw_server::ServerConfig {
        admin_key: Some("bench".into()),
        ..fw_server::ServerConfig::new(dir.path())
    })
    .await?;
    let base = format!("http://{}/api", server.addr);
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: String, body: Option<Value>| {
        let mut request = http
            .request(method, format!("{base}{path}"))
            .header("Authorization", "scitran-user bench");
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await?;
            response.json::<Value>().await
        }
    };
    let started = Instant::now();
    let (project, _) = seed::seed_subjects(
        &base,
        "bench",
        dir.path(),
        ("bench", "Bench", "sub"),
        subjects as u64,
    )
    .await?;
    println!(
        "seeded {subjects} subjects in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let label = format!("sub-{:06}", subjects / 2);
    let cases = [
        (
            "parent and label (indexed)",
            format!("/projects/{project}/subjects?filter=label%3D{label}"),
            200,
        ),
        (
            "fw.subjects.find(project=…,label=…)",
            format!("/subjects?filter=project%3D{project}%2Clabel%3D{label}&limit=250"),
            200,
        ),
        (
            "parent, first page of 250",
            format!("/projects/{project}/subjects?limit=250"),
            50,
        ),
        (
            "info.site=c, no match: reads all",
            "/subjects?filter=info.site%3Dc&limit=250".to_string(),
            5,
        ),
        (
            "info.site=b, first page of 250",
            "/subjects?filter=info.site%3Db&limit=250".to_string(),
            20,
        ),
    ];
    for (name, path, rounds) in cases {
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..rounds {
            let started = Instant::now();
            let reply = call(reqwest::Method::GET, path.clone(), None).await?;
            times.push(started.elapsed());
            found = reply.as_array().map_or(0, Vec::len);
        }
        times.sort();
        println!(
            "{name:40} {found:4} found   median {:8.2} ms   max {:8.2} ms",
            times[times.len() / 2].as_secs_f64() * 1000.0,
            times[times.len() - 1].as_secs_f64() * 1000.0
        );
    }

    let node = |level: &str, id: &str| json!({"nodes": [{"level": level, "_id": id}]});
    let started = Instant::now();
    let ticket = call(
        reqwest::Method::POST,
        "/download".into(),
        Some(node("project", &project)),
    )
    .await?;
    let planned = started.elapsed();
    let started = Instant::now();
    let tar = http
        .get(format!(
            "{base}/download?ticket={}&format=tar",
            ticket["ticket"].as_str().ok_or("no ticket")?
        ))
        .send()
        .await?
        .bytes()
        .await?;
    println!(
        "bulk download of the project: {} files planned in {:.0} ms, a {:.1} MiB tar in {:.0} ms",
        ticket["file_cnt"],
        planned.as_secs_f64() * 1000.0,
        tar.len() as f64 / (1 << 20) as f64,
        started.elapsed().as_secs_f64() * 1000.0
    );
    let started = Instant::now();
    let one = call(
        reqwest::Method::POST,
        "/download".into(),
        Some(node("subject", &format!("{:024x}", subjects / 2))),
    )
    .await?;
    println!(
        "bulk download of one subject: {} file planned in {:.0} ms",
        one["file_cnt"],
        started.elapsed().as_secs_f64() * 1000.0
    );
    server.stop().await?;
    Ok(())
}
