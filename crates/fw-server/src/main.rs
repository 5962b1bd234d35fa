//! `fw-server`: run a local Flywheel-compatible server, or manage its users.
//!
//! Both commands act on a *site*: a data directory holding `fw.sqlite`. A directory that is
//! not a site (a misspelt `--data-dir`) is refused with a message, unless `--create` asks
//! for a new site there; `--create` only ever uses a new or empty directory, and a `serve`
//! that fails takes back what it created.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
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
        /// The site: where the data lives; it survives restarts.
        #[arg(long, default_value = "./fw-data")]
        data_dir: PathBuf,
        /// Make a new site if the data directory is missing or empty.
        #[arg(long)]
        create: bool,
        /// The bootstrap admin's key secret (random and kept when not given).
        #[arg(long)]
        admin_key: Option<String>,
        /// Serve signed-URL uploads (GET /config then says so).
        #[arg(long)]
        signed_urls: bool,
        /// Append every request to FILE, one JSON line each: method, path, query, body.
        #[arg(long, value_name = "FILE")]
        record_requests: Option<PathBuf>,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user if missing, add an API key, and print the key to use
    /// (`host:port:__force_insecure:secret`).
    Add {
        /// The site: the data directory of the server.
        #[arg(long, default_value = "./fw-data")]
        data_dir: PathBuf,
        /// Make a new site if the data directory is missing or empty.
        #[arg(long)]
        create: bool,
        /// The server's address, for the printed key; by default the address the last
        /// `serve` on this site listened on.
        #[arg(long)]
        addr: Option<SocketAddr>,
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
            create,
            admin_key,
            signed_urls,
            record_requests,
        } => Site::open(&data_dir, create).and_then(|site| {
            serve(
                &site,
                ServerConfig {
                    addr,
                    data_dir,
                    admin_key,
                    signed_urls,
                    record_requests,
                    limits: Default::default(),
                },
            )
        }),
        Command::User {
            command:
                UserCommand::Add {
                    data_dir,
                    create,
                    addr,
                    id,
                    firstname,
                    lastname,
                    site_admin,
                    key,
                },
        } => Site::open(&data_dir, create).and_then(|site| {
            let mut fields = json!({"firstname": firstname.unwrap_or_default(), "lastname": lastname.unwrap_or_default()});
            if site_admin {
                fields["roles"] = json!(["site_admin", "user"]);
            }
            let result = fw_server::add_user_key(&data_dir, &id, &fields, key.as_deref());
            if result.is_err() {
                site.undo_creation();
            }
            let secret = result?;
            let addr = match addr {
                Some(addr) => addr,
                None => site.last_address().unwrap_or_else(|| {
                    eprintln!(
                        "fw-server: no server has run on this site yet; the key below is for \
                         {DEFAULT_ADDR} (give --addr for another address)"
                    );
                    DEFAULT_ADDR
                }),
            };
            eprintln!("fw-server: added a key for {id}");
            // stdout keeps one line, the key scripts capture; fw-client's form is extra.
            eprintln!(
                "fw-server: for fw-client, the same key is {}",
                fw_server::fw_client_key(addr, &secret)
            );
            writeln!(std::io::stdout(), "{}", api_key(addr, &secret))
                .map_err(|e| format!("cannot print the key: {e}"))
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("fw-server: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `serve`'s default address, assumed by `user add` when no server has run on a site.
const DEFAULT_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8080);

/// The database file whose presence makes a directory a site (fw-server's store names it).
const DATABASE: &str = "fw.sqlite";

/// Where `serve` records the address it listens on, so that `user add` can print whole keys.
const ADDRESS_FILE: &str = "server-address";

/// A data directory checked to be a site, or allowed to become one.
struct Site {
    dir: PathBuf,
    /// What this command made, to take back if it fails.
    created: Option<Created>,
}

enum Created {
    /// The directory did not exist.
    Directory,
    /// The directory existed and was empty.
    Contents,
}

impl Site {
    /// Checks that `dir` is a site; with `create`, a missing or empty directory may become one.
    fn open(dir: &Path, create: bool) -> Result<Site, String> {
        let shown = dir.display();
        if dir.join(DATABASE).is_file() {
            return Ok(Site {
                dir: dir.to_path_buf(),
                created: None,
            });
        }
        let created = match std::fs::read_dir(dir).map(|mut entries| entries.next().is_none()) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Created::Directory,
            Err(e) => return Err(format!("cannot read the data directory {shown}: {e}")),
            Ok(true) => Created::Contents,
            Ok(false) => {
                return Err(format!(
                    "{shown} is not a fw-server site (it has no {DATABASE}) and is not empty; \
                     check --data-dir, or give a new or empty directory with --create"
                ));
            }
        };
        if !create {
            let state = match created {
                Created::Directory => "does not exist",
                Created::Contents => "is empty",
            };
            return Err(format!(
                "{shown} is not a fw-server site: it {state}; check --data-dir, or pass \
                 --create to make a new site there"
            ));
        }
        eprintln!("fw-server: creating a new site in {shown}");
        Ok(Site {
            dir: dir.to_path_buf(),
            created: Some(created),
        })
    }

    /// Removes what this command created, so that a failed command leaves the directory as
    /// it found it: absent, or empty.
    fn undo_creation(&self) {
        let result = match self.created {
            None => return,
            Some(Created::Directory) => std::fs::remove_dir_all(&self.dir),
            Some(Created::Contents) => std::fs::read_dir(&self.dir).and_then(|entries| {
                entries.flatten().try_for_each(|entry| {
                    let path = entry.path();
                    if path.is_dir() {
                        std::fs::remove_dir_all(&path)
                    } else {
                        std::fs::remove_file(&path)
                    }
                })
            }),
        };
        if let Err(e) = result {
            eprintln!(
                "fw-server: cannot remove the new site in {}: {e}",
                self.dir.display()
            );
        }
    }

    /// The address the last `serve` on this site listened on.
    fn last_address(&self) -> Option<SocketAddr> {
        std::fs::read_to_string(self.dir.join(ADDRESS_FILE))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Records where this site is served. A failure only costs `user add` its default
    /// address, so it is a warning, not a reason to stop a server that is running.
    fn record_address(&self, addr: SocketAddr) {
        let path = self.dir.join(ADDRESS_FILE);
        if let Err(e) = std::fs::write(&path, format!("{addr}\n")) {
            eprintln!("fw-server: cannot write {}: {e}", path.display());
        }
    }
}

fn serve(site: &Site, config: ServerConfig) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        // Only a start that fails takes the new site back: once serving, the site may hold
        // data, whatever happens later.
        let running = match start_until_signal(config).await {
            Ok(running) => running,
            Err(e) => {
                site.undo_creation();
                return Err(e);
            }
        };
        site.record_address(running.addr);
        // Whoever reads these lines may close the pipe after them (`| head -1`): that
        // must not stop the server, so write errors are ignored.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{}", running.addr);
        let _ = writeln!(
            out,
            "api key: {}",
            api_key(running.addr, &running.admin_secret)
        );
        let _ = writeln!(
            out,
            "fw-client key: {}",
            fw_server::fw_client_key(running.addr, &running.admin_secret)
        );
        let _ = out.flush();
        drop(out);
        running.wait().await.map_err(|e| e.to_string())
    })
}
