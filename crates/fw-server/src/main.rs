//! `fw-server`: run a local Flywheel-compatible server, or manage its users.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fw_server::{ServerConfig, api_key, start_until_signal};
use serde_json::json;

/// A local Flywheel-compatible server.
#[derive(Parser)]
#[command(name = "fw-server", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API; prints the address and the bootstrap admin's API key.
    Serve {
        /// Where to listen; port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Where the data lives; it survives restarts.
        #[arg(long, default_value = "./fw-data")]
        data_dir: PathBuf,
        /// The bootstrap admin's key secret (random and kept when not given).
        #[arg(long)]
        admin_key: Option<String>,
        /// Serve signed-URL uploads (GET /config then says so).
        #[arg(long)]
        signed_urls: bool,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user if missing, add an API key, and print the secret.
    Add {
        /// The data directory of the server.
        #[arg(long, default_value = "./fw-data")]
        data_dir: PathBuf,
        /// The user id, usually an e-mail address.
        #[arg(long)]
        id: String,
        /// First name.
        #[arg(long)]
        firstname: Option<String>,
        /// Last name.
        #[arg(long)]
        lastname: Option<String>,
        /// Make the user a site admin.
        #[arg(long)]
        site_admin: bool,
        /// The key secret (random when not given).
        #[arg(long)]
        key: Option<String>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let result = match Cli::parse().command {
        Command::Serve {
            addr,
            data_dir,
            admin_key,
            signed_urls,
        } => serve(ServerConfig {
            addr,
            data_dir,
            admin_key,
            signed_urls,
            limits: Default::default(),
        }),
        Command::User {
            command:
                UserCommand::Add {
                    data_dir,
                    id,
                    firstname,
                    lastname,
                    site_admin,
                    key,
                },
        } => {
            let mut fields = json!({"firstname": firstname.unwrap_or_default(), "lastname": lastname.unwrap_or_default()});
            if site_admin {
                fields["roles"] = json!(["site_admin", "user"]);
            }
            fw_server::add_user_key(&data_dir, &id, &fields, key.as_deref()).and_then(|secret| {
                writeln!(std::io::stdout(), "{secret}")
                    .map_err(|e| format!("cannot print the key: {e}"))
            })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("fw-server: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config: ServerConfig) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let running = start_until_signal(config).await?;
        // Whoever reads these lines may close the pipe after them (`| head -1`): that
        // must not stop the server, so write errors are ignored.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{}", running.addr);
        let _ = writeln!(
            out,
            "api key: {}",
            api_key(running.addr, &running.admin_secret)
        );
        let _ = out.flush();
        drop(out);
        running.wait().await.map_err(|e| e.to_string())
    })
}
