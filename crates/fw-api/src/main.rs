//! `fw-api`: send one request to a Flywheel API through fw-transport, with its retries.
//!
//! ```text
//! FW_API_KEY=127.0.0.1:8080:__force_insecure:SECRET fw-api GET /projects?limit=2
//! fw-api POST /lookup --data '{"path": ["grp1", "Proj"]}'
//! ```
//!
//! The key comes from `FW_API_KEY`, else from the Flywheel CLI's
//! `~/.config/flywheel/user.json` (written by `fw login`). The reply body goes to stdout;
//! exit 0 on a 2xx, 1 on an error (status and the server's message on stderr), 2 on bad
//! arguments. Install it with `cargo install --path crates/fw-api`.
//!
//! Retries are logged on stderr as they happen (`RUST_LOG` picks the level, `warn` by
//! default), with their reason and wait. A host or port where nothing listens fails in
//! about 5 s with `cannot connect to HOST:PORT …`; a busy server (429/502/503/504) is
//! waited for up to about two minutes.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use fw_transport::{ApiKey, Client, Error, Method, Request};

/// Send one request to the Flywheel API and print the reply.
#[derive(Parser)]
#[command(name = "fw-api", after_help = KEY_HELP)]
struct Args {
    /// GET, POST, PUT, PATCH or DELETE.
    method: String,
    /// The path under /api, with its query: `/projects?limit=2`.
    path: String,
    /// A JSON body.
    #[arg(long)]
    data: Option<String>,
}

/// Where the key comes from; shown by `--help` and when no key is found.
const KEY_HELP: &str = "\
API key: the environment variable FW_API_KEY, as host:port:key, or
host:port:__force_insecure:key for plain HTTP (fw-server prints one); without it,
the \"key\" field of ~/.config/flywheel/user.json, which the Flywheel CLI writes on
`fw login`.";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let Ok(method) = args.method.to_ascii_uppercase().parse::<Method>() else {
        eprintln!("fw-api: {:?} is not an HTTP method", args.method);
        return ExitCode::from(2);
    };
    let mut request = Request::from_raw_path(method, &args.path);
    if let Some(data) = &args.data {
        match serde_json::from_str::<serde_json::Value>(data) {
            Ok(body) => request.body = Some(body.to_string().into_bytes()),
            Err(e) => {
                eprintln!("fw-api: --data is not JSON: {e}");
                return ExitCode::from(2);
            }
        }
    }
    match run(&request).await {
        Ok(body) => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&body);
            if !body.ends_with(b"\n") {
                let _ = out.write_all(b"\n");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fw-api: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::from(1)
        }
    }
}

async fn run(request: &Request) -> Result<bytes::Bytes, Error> {
    let key = match std::env::var("FW_API_KEY") {
        Ok(key) => ApiKey::parse(&key)?,
        Err(_) => ApiKey::from_credentials_file().map_err(|e| Error::Config {
            message: format!("FW_API_KEY is not set, and {e}.\n{KEY_HELP}"),
        })?,
    };
    Client::new(key)?.bytes(request).await
}
