//! fw-server inside a program: start it on a free port with a new data directory, call the
//! API with any HTTP client (here reqwest), and stop it.
//!
//! ```sh
//! cargo run -p fw-server --example embedded
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)] // an example: failures should stop it

use fw_server::{ServerConfig, start};

#[tokio::main]
async fn main() -> Result<(), String> {
    let data_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    // `ServerConfig::new`: port 0 of 127.0.0.1 (the system picks a free one; `server.addr`
    // says which), a random admin key, no signed URLs, no request recording.
    let server = start(ServerConfig {
        // A fixed secret for the bootstrap site admin.
        admin_key: Some("example-secret".into()),
        ..ServerConfig::new(data_dir.path())
    })
    .await?;
    let key = server.admin_api_key();
    println!("serving on http://{} with key {key}", server.addr);

    let me: serde_json::Value = reqwest::Client::new()
        .get(format!("http://{}/api/users/self", server.addr))
        .header("Authorization", "scitran-user example-secret")
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    println!("signed in as {}", me["_id"]);
    assert_eq!(me["_id"], fw_server::BOOTSTRAP_ADMIN);

    // Lets requests in flight finish, then returns.
    server.stop().await.map_err(|e| e.to_string())
}
