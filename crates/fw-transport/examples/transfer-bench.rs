//! The transfer benchmark of `bench/transfer.sh`, in two roles:
//!
//! - `transfer-bench serve PORT`: a local server that discards uploads
//!   (`POST /api/acquisitions/{id}/files`) and streams downloads of any size
//!   (`GET /api/acquisitions/{id}/files/{name}?size=N`), never holding them in memory;
//! - `transfer-bench upload PORT FILE` / `transfer-bench download PORT DEST SIZE`: one
//!   transfer through fw-transport, then a line with the seconds taken, the throughput and
//!   this process's peak resident memory. `NO_SYNC=1` turns off the download's fsync.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, Query, Request as AxumRequest};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use futures_util::StreamExt;
use fw_transport::{
    ApiKey, Client, Download, Request, Upload, UploadMode, UploadSource, UploadTarget,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["serve", port] => serve(port.parse()?).await,
        ["upload", port, file] => {
            let client = client(port)?;
            let started = Instant::now();
            let target = UploadTarget::new("acquisitions", "a1");
            let source = UploadSource::Path(file.into());
            client
                .upload(Upload::new(target, source).mode(UploadMode::Multipart))
                .await?;
            report("upload", std::fs::metadata(file)?.len(), started);
            Ok(())
        }
        ["download", port, dest, size] => {
            let client = client(port)?;
            let started = Instant::now();
            let request =
                Request::get(["acquisitions", "a1", "files", "big.bin"]).query("size", size);
            let bytes = client.download(Download::new(request, dest)).await?;
            report("download", bytes, started);
            Ok(())
        }
        _ => Err(
            "usage: transfer-bench serve PORT | upload PORT FILE | download PORT DEST SIZE".into(),
        ),
    }
}

fn client(port: &str) -> Result<Client, fw_transport::Error> {
    Client::new(ApiKey::parse(&format!(
        "127.0.0.1:{port}:__force_insecure:bench"
    ))?)
}

fn report(what: &str, bytes: u64, started: Instant) {
    let seconds = started.elapsed().as_secs_f64();
    let peak_kib = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_string)
        })
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap_or(0);
    println!(
        "{what} {bytes} bytes {seconds:.2} s {:.0} MiB/s peak_rss {:.1} MiB",
        bytes as f64 / seconds / (1 << 20) as f64,
        peak_kib as f64 / 1024.0
    );
}

async fn serve(port: u16) -> Result<(), Box<dyn std::error::Error>> {
    let app = axum::Router::new()
        .route("/api/acquisitions/{id}/files", post(sink))
        .route("/api/acquisitions/{id}/files/{name}", get(source));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

/// Reads the whole request body and throws it away, counting.
async fn sink(request: AxumRequest) -> impl IntoResponse {
    let mut body = request.into_body().into_data_stream();
    let mut size = 0u64;
    while let Some(Ok(chunk)) = body.next().await {
        size += chunk.len() as u64;
    }
    axum::Json(serde_json::json!([{"name": "big.bin", "size": size}]))
}

/// Streams `size` bytes in 1 MiB chunks.
async fn source(
    Path((_id, _name)): Path<(String, String)>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> impl IntoResponse {
    let size: u64 = query.get("size").and_then(|s| s.parse().ok()).unwrap_or(0);
    let chunk = bytes::Bytes::from(vec![7u8; 1 << 20]);
    let chunks = (0..size.div_ceil(1 << 20)).map(move |i| {
        let length = (size - i * (1 << 20)).min(1 << 20) as usize;
        Ok::<_, std::io::Error>(chunk.slice(..length))
    });
    (
        [("content-length", size.to_string())],
        Body::from_stream(futures_util::stream::iter(chunks)),
    )
}
