//! Seeds a running server's project with many subjects, for `cargo xtask bench-python`.
//!
//! `bench-seed BASE_URL SECRET DATA_DIR SUBJECTS IDS_FILE IDS`
//!
//! Creates the group `race` and a project `Race` on the server at BASE_URL
//! (`http://host:port/api`) as the admin SECRET, fills it with SUBJECTS subjects the way
//! `finder-bench` does (one made through the API, the others cloned by SQL in
//! DATA_DIR/fw.sqlite; every third has `info.site = "b"`), writes the ids of the first IDS
//! clones to IDS_FILE (one a line), and prints the project's id.

#[path = "common/seed.rs"]
mod seed;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, secret, data_dir, subjects, ids_file, ids] = args.as_slice() else {
        return Err("usage: bench-seed BASE_URL SECRET DATA_DIR SUBJECTS IDS_FILE IDS".into());
    };
    let subjects: u64 = subjects.parse()?;
    let ids: u64 = ids.parse::<u64>()?.min(subjects.saturating_sub(1));
    // The template is one of the project's subjects: clone one fewer.
    let (project, _) = seed::seed_subjects(
        base,
        secret,
        data_dir.as_ref(),
        ("race", "Race", "sub"),
        subjects.saturating_sub(1),
    )
    .await?;
    let lines: Vec<String> = (1..=ids).map(seed::clone_id).collect();
    std::fs::write(ids_file, lines.join("\n") + "\n")?;
    println!("{project}");
    Ok(())
}
