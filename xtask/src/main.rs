//! Project automation, run as `cargo xtask <command>`.
//!
//! - `cargo xtask codegen [--check]`: regenerates fw-model's wire types from the pinned
//!   schema; `--check` only verifies that the checked-in files are fresh.
//! - `cargo xtask test`: the whole suite, as CI runs it: the codegen check, the check that
//!   dependencies between our crates point one way, every crate's unit, integration and doc
//!   tests, then the docs built with warnings as errors.

mod codegen;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let paths = codegen::Paths::of_workspace(&workspace_root());
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("codegen") => match args.get(1).map(String::as_str) {
            None => codegen::run(&paths, false),
            Some("--check") => codegen::run(&paths, true),
            Some(other) => Err(format!("unknown codegen option {other:?}; use --check")),
        },
        _ => {
            eprintln!("usage: cargo xtask test | cargo xtask codegen [--check]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the whole test suite.
fn test() -> Result<(), String> {
    codegen::run(&codegen::Paths::of_workspace(&workspace_root()), true)?;
    check_dependency_arrows()?;
    run(cargo().args(["test", "--workspace", "--locked"]))?;
    run(cargo()
        .args(["doc", "--workspace", "--no-deps", "--locked"])
        .env("RUSTDOCFLAGS", "-D warnings"))?;
    Ok(())
}

/// Which of our crates each crate may depend on (ARCHITECTURE.md, "Architecture
/// invariants"): arrows point one way, and the server never uses the client side.
const ALLOWED_DEPENDENCIES: &[(&str, &[&str])] = &[
    ("fw-filter", &[]),
    ("fw-model", &["fw-filter"]),
    ("fw-transport", &["fw-filter", "fw-model"]),
    ("fw-sdk", &["fw-filter", "fw-model", "fw-transport"]),
    ("fw-server", &["fw-filter", "fw-model"]),
];

/// Fails when a crate under `crates/` depends (directly or not) on one of ours it may not.
fn check_dependency_arrows() -> Result<(), String> {
    let crates_dir = workspace_root().join("crates");
    let entries = std::fs::read_dir(&crates_dir)
        .map_err(|e| format!("cannot list {}: {e}", crates_dir.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let allowed = ALLOWED_DEPENDENCIES
            .iter()
            .find(|(crate_name, _)| *crate_name == name)
            .map(|(_, allowed)| *allowed)
            .ok_or(format!(
                "crates/{name} is not in xtask's ALLOWED_DEPENDENCIES; add it"
            ))?;
        let output = cargo()
            .args(["tree", "--quiet", "--locked", "-e", "normal,build"])
            .args(["--prefix", "none", "-p", &name])
            .output()
            .map_err(|e| format!("cannot run cargo tree: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "cargo tree -p {name} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        for line in String::from_utf8_lossy(&output.stdout).lines().skip(1) {
            let dependency = line.split_whitespace().next().unwrap_or_default();
            if dependency.starts_with("fw-") && dependency != name && !allowed.contains(&dependency)
            {
                return Err(format!(
                    "{name} depends on {dependency}, against the architecture invariants"
                ));
            }
        }
    }
    eprintln!("xtask: dependency arrows between our crates point one way");
    Ok(())
}

/// The workspace root: the parent of this crate's folder.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()))
}

fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    eprintln!("xtask: running {shown}");
    let status = command
        .status()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed with {status}"))
    }
}
