//! The Rust side of `bench/transfers.sh`: one bulk transfer, timed.
//!
//! ```text
//! transfers import KEY PROJECT_ID ROOT   # import_folder(ROOT) into the project
//! transfers tree KEY PROJECT_ID DEST     # download_tree of the project into DEST
//! transfers tar KEY PROJECT_ID DEST      # download_tar of the project to DEST
//! ```
//! Prints `<mode> <seconds> <files>`.

use std::time::Instant;

use fw_sdk::{Client, ImportOptions, TreeOptions, TypeFilter};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, key, project, path] = args.as_slice() else {
        return Err("usage: transfers import|tree|tar KEY PROJECT_ID PATH".into());
    };
    let fw = Client::new(key).await?;
    let project = fw.get_project(project).await?;
    let started = Instant::now();
    let files = match mode.as_str() {
        "import" => {
            let summary = project
                .import_folder(path, ImportOptions::default())
                .await?;
            if !summary.failed.is_empty() {
                return Err(format!("{} uploads failed", summary.failed.len()).into());
            }
            summary.uploaded.len() as u64
        }
        "tree" => {
            let summary = project.download_tree(path, TreeOptions::default()).await?;
            if !summary.failed.is_empty() {
                return Err(format!("{} downloads failed", summary.failed.len()).into());
            }
            summary.downloaded
        }
        "tar" => {
            let stub = fw
                .download_tar(&[project.node()], path, &TypeFilter::default())
                .await?;
            stub.file_cnt.unwrap_or(0) as u64
        }
        other => return Err(format!("unknown mode {other}").into()),
    };
    println!("{mode} {:.3} {files}", started.elapsed().as_secs_f64());
    Ok(())
}
