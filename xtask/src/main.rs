//! Project automation, run as `cargo xtask <command>`.
//!
//! - `cargo xtask codegen [--check]`: regenerates fw-model's wire types from the pinned
//!   schema; `--check` only verifies that the checked-in files are fresh.
//! - `cargo xtask test`: the whole suite: the codegen check, the check that dependencies
//!   between our crates point one way, every crate's unit, integration and doc tests, the
//!   docs built with warnings as errors, `cargo package` of the library crates, and the
//!   conformance suite: the official Python SDK (flywheel-sdk 23.0.0), flywheel-sdk 17.8.0
//!   with flywheel-cli 18.5.1, and fw-client 1.x and 2.x (each in a virtualenv under
//!   `target/`, made in the background from the start of the run) against fw-server, and
//!   the wire-equivalence check.
//! - `cargo xtask wire`: only the wire-equivalence check (`wire.rs`): the same Quick
//!   Reference walkthrough through the Python SDK and through fw-sdk, against fw-server
//!   recording requests; differences must be justified in `crates/fw-sdk/WIRE.md`.
//! - `cargo xtask conformance`: only the conformance suite, with the `fw-server` that
//!   `cargo test` built.
//! - `cargo xtask bench-python [--runs N] [--scale F]`: the race against the Python SDK
//!   (`race.rs`; not part of `test`): a markdown table of times and memory.
//! - `cargo xtask ci`: what CI runs: `cargo fmt --check`, `cargo clippy -D warnings`, then
//!   everything `test` runs.
//!
//! Every phase prints its time, and the run ends with one summary line.

mod codegen;
mod race;
mod wire;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let paths = codegen::Paths::of_workspace(&workspace_root());
    let result = match args.first().map(String::as_str) {
        Some("test") => {
            prepare_python_envs();
            Phases::run("test", TEST_PHASES)
        }
        Some("ci") => {
            prepare_python_envs();
            Phases::run("ci", &[CI_PHASES, TEST_PHASES].concat())
        }
        Some("wire") => wire_check(),
        Some("package") => Phases::run("package", &[("package", package)]),
        Some("conformance") => Phases::run("conformance", &[("conformance", conformance)]),
        Some("bench-python") => race::bench_python(&args[1..]),
        Some("codegen") => match args.get(1).map(String::as_str) {
            None => codegen::run(&paths, false),
            Some("--check") => codegen::run(&paths, true),
            Some(other) => Err(format!("unknown codegen option {other:?}; use --check")),
        },
        _ => {
            eprintln!(
                "usage: cargo xtask test | ci | wire | conformance | package | codegen [--check] | bench-python [--runs N] [--scale F]"
            );
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

/// A named step of a run.
type Phase = (&'static str, fn() -> Result<(), String>);

/// What `cargo xtask ci` runs before the tests.
const CI_PHASES: &[Phase] = &[("fmt", fmt_check), ("clippy", clippy)];

/// The whole test suite. Everything is built once, by `cargo test`: the conformance phase
/// runs the `fw-server` binary that `cargo test` built for fw-server's integration tests.
const TEST_PHASES: &[Phase] = &[
    ("codegen-check", codegen_check),
    ("dependency-arrows", check_dependency_arrows),
    ("cargo-test", cargo_test),
    ("doc", doc),
    ("package", package),
    ("conformance", conformance),
    ("wire", wire_check),
];

/// Runs phases in order, timing each; stops at the first failure. Ends with one line:
/// `xtask: ci passed in 512.3 s (fmt 0.9 s, clippy 98.0 s, …)` or `… FAILED at <phase> …`.
struct Phases;

impl Phases {
    fn run(name: &str, phases: &[Phase]) -> Result<(), String> {
        let started = Instant::now();
        let mut times: Vec<String> = Vec::new();
        for (phase, step) in phases {
            eprintln!("xtask: == {phase} ==");
            let phase_started = Instant::now();
            let result = step();
            let seconds = phase_started.elapsed().as_secs_f64();
            eprintln!("xtask: {phase} took {seconds:.1} s");
            times.push(format!("{phase} {seconds:.1} s"));
            if let Err(message) = result {
                eprintln!(
                    "xtask: {name} FAILED at {phase} after {:.1} s ({})",
                    started.elapsed().as_secs_f64(),
                    times.join(", ")
                );
                return Err(message);
            }
        }
        eprintln!(
            "xtask: {name} passed in {:.1} s ({})",
            started.elapsed().as_secs_f64(),
            times.join(", ")
        );
        Ok(())
    }
}

fn fmt_check() -> Result<(), String> {
    run(cargo().args(["fmt", "--all", "--", "--check"]))
}

fn clippy() -> Result<(), String> {
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))
}

fn codegen_check() -> Result<(), String> {
    codegen::run(&codegen::Paths::of_workspace(&workspace_root()), true)
}

fn cargo_test() -> Result<(), String> {
    run(cargo().args(["test", "--workspace", "--locked"]))
}

fn doc() -> Result<(), String> {
    run(cargo()
        .args(["doc", "--workspace", "--no-deps", "--locked"])
        .env("RUSTDOCFLAGS", "-D warnings"))
}

/// The library crates a user can depend on: each must package (and its package build).
/// fw-server is among them: fw-sdk's optional feature `local` depends on it.
const PUBLISHED_LIBRARIES: &[&str] = &[
    "fw-filter",
    "fw-model",
    "fw-transport",
    "fw-server",
    "fw-sdk",
];

/// `cargo package` of the library crates in one invocation, so that those depending on
/// each other are verified against each other's packages. `--allow-dirty` lets a developer
/// run the suite before committing; CI runs it on a clean clone.
fn package() -> Result<(), String> {
    remove_stale_package_sources()?;
    let mut command = cargo();
    command.args(["package", "--locked", "--allow-dirty", "--quiet"]);
    for name in PUBLISHED_LIBRARIES {
        let present = workspace_root().join("crates").join(name).is_dir();
        if present {
            command.args(["-p", name]);
        }
    }
    run(&mut command)
}

/// Deletes what an earlier `cargo package` left of our own crates, so that each is
/// verified against the others as they are now.
///
/// Packaging several crates at once "publishes" them to a temporary local registry overlay
/// (cargo PR #13926) and builds each against the others from there. Cargo treats a
/// registry crate as immutable: the sources it extracted under
/// `$CARGO_HOME/registry/src/-<hash>/<name>-<version>` (the hash taken from the
/// workspace's path) are reused if present, and a build of it is fresh as long as its
/// version is the same. So a machine that packaged version 0.1.0 before verified fw-server
/// against last time's fw-model (CI failed so). Removed here: those extracted sources
/// (overlay folders are named with a leading `-`; crates.io's, named after its host, are
/// left alone), and the build fingerprints whose dep-info names such a source.
fn remove_stale_package_sources() -> Result<(), String> {
    // `<name>-<version or hash>`, the name spelled with `-` (a package) or `_` (a crate).
    let is_ours = |file_name: &str, word_separator: &str| {
        PUBLISHED_LIBRARIES.iter().any(|library| {
            file_name
                .strip_prefix(&library.replace('-', word_separator))
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_alphanumeric()))
        })
    };
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    if let Some(cargo_home) = cargo_home {
        for overlay in read_dir_entries(&cargo_home.join("registry").join("src")) {
            if overlay.file_name().to_string_lossy().starts_with('-') {
                for extracted in read_dir_entries(&overlay.path()) {
                    if is_ours(&extracted.file_name().to_string_lossy(), "-") {
                        remove_dir(&extracted.path())?;
                    }
                }
            }
        }
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let debug = target.join("debug");
    for dep_info in read_dir_entries(&debug.join("deps")) {
        let file_name = dep_info.file_name().to_string_lossy().into_owned();
        let Some(stem) = file_name.strip_suffix(".d") else {
            continue;
        };
        let from_overlay = std::fs::read_to_string(dep_info.path())
            .is_ok_and(|text| text.contains("/registry/src/-"));
        if is_ours(stem, "_") && from_overlay {
            let fingerprint = debug.join(".fingerprint").join(stem.replace('_', "-"));
            if fingerprint.is_dir() {
                remove_dir(&fingerprint)?;
            }
        }
    }
    Ok(())
}

/// The entries of a folder; none if it cannot be read (it may not exist yet).
fn read_dir_entries(folder: &Path) -> Vec<std::fs::DirEntry> {
    std::fs::read_dir(folder)
        .map(|entries| entries.flatten().collect())
        .unwrap_or_default()
}

fn remove_dir(path: &Path) -> Result<(), String> {
    std::fs::remove_dir_all(path).map_err(|error| format!("removing {}: {error}", path.display()))
}

/// A Python environment of the conformance suite: a virtualenv under `target/` holding
/// one set of Flywheel clients, installed from what the repository pins.
struct PythonEnv {
    /// What a script names on its `# python:` line (`sdk23` when it names none).
    name: &'static str,
    /// The virtualenv's folder under `target/`.
    venv: &'static str,
    /// The `pip install` arguments, paths relative to the workspace root. A requirements
    /// file that pins every package is installed `--no-deps`: nothing is left to resolve.
    install: &'static [&'static str],
}

/// The clients the conformance suite runs, each in its own virtualenv (their pins clash:
/// flywheel-cli 18.5.1 needs flywheel-sdk 17.x; fw-client 2.x wants another
/// python-dateutil than flywheel-sdk 23). They are installed, and their scripts run, in
/// parallel.
const PYTHON_ENVS: &[PythonEnv] = &[
    // The official Python SDK, which the server must serve unmodified.
    PythonEnv {
        name: "sdk23",
        venv: "conformance-venv",
        install: &["flywheel-sdk==23.0.0"],
    },
    // flywheel-cli 18.5.1 (the `fw` command), its flywheel-sdk 17.8.0, and fw-client 1.0.2.
    PythonEnv {
        name: "cli",
        venv: "conformance-venv-cli",
        install: &[
            "--no-deps",
            "-r",
            "crates/fw-server/conformance/requirements-cli.txt",
        ],
    },
    // fw-client 2.3.4.
    PythonEnv {
        name: "fw-client2",
        venv: "conformance-venv-fw-client2",
        install: &[
            "--no-deps",
            "-r",
            "crates/fw-server/conformance/requirements-fw-client2.txt",
        ],
    },
];

/// Runs `crates/fw-server/conformance/*.py` with the Python clients against a fresh
/// fw-server each: a script runs in every environment its `# python:` line names
/// (flywheel-sdk 23.0.0 when none). The environments are made, and their scripts run, in
/// parallel; each environment's scripts run one after another, and their output is
/// printed when they end.
fn conformance() -> Result<(), String> {
    let root = workspace_root();
    let binary = built_binary("fw-server")?;
    let scripts = std::fs::read_dir(root.join("crates/fw-server/conformance"))
        .map_err(|e| format!("cannot list the conformance scripts: {e}"))?;
    let mut scripts: Vec<PathBuf> = scripts
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        // `_name.py` files are helpers the scripts import, not scripts.
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('_'))
        })
        .collect();
    scripts.sort();
    // (environment, script, server flags)
    let mut runs: Vec<(&PythonEnv, PathBuf, Vec<String>)> = Vec::new();
    for script in scripts {
        let text = std::fs::read_to_string(&script)
            .map_err(|e| format!("cannot read {}: {e}", script.display()))?;
        let line = |prefix: &str| -> Vec<String> {
            text.lines()
                .find_map(|line| line.strip_prefix(prefix))
                .map(|words| words.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default()
        };
        // A script names the server flags it needs on a `# fw-server flags: …` line, and
        // the environments it runs in on a `# python: …` line.
        let flags = line("# fw-server flags:");
        let mut envs = line("# python:");
        if envs.is_empty() {
            envs.push("sdk23".to_string());
        }
        for name in envs {
            let env = PYTHON_ENVS.iter().find(|e| e.name == name).ok_or(format!(
                "{} names an unknown python environment {name:?}",
                script.display()
            ))?;
            runs.push((env, script.clone(), flags.clone()));
        }
    }
    let results: Vec<Result<(), String>> = std::thread::scope(|scope| {
        let threads: Vec<_> = PYTHON_ENVS
            .iter()
            .filter(|env| runs.iter().any(|(e, _, _)| e.name == env.name))
            .map(|env| {
                let (runs, binary) = (&runs, &binary);
                scope.spawn(move || {
                    let started = Instant::now();
                    let python = python_env(env)?;
                    eprintln!(
                        "xtask: python environment {} ready in {:.1} s",
                        env.name,
                        started.elapsed().as_secs_f64()
                    );
                    for (_, script, flags) in runs.iter().filter(|(e, _, _)| e.name == env.name) {
                        run_script(&python, binary, script, flags, env.name)?;
                    }
                    eprintln!(
                        "xtask: conformance with {} took {:.1} s",
                        env.name,
                        started.elapsed().as_secs_f64()
                    );
                    Ok(())
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| Err("a conformance thread panicked".into()))
            })
            .collect()
    });
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// Runs one conformance script against a fresh server; prints its output when it ends.
fn run_script(
    python: &Path,
    binary: &Path,
    script: &Path,
    flags: &[String],
    env: &str,
) -> Result<(), String> {
    let stem = script
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let data_dir = std::env::temp_dir().join(format!(
        "fw-conformance-{}-{env}-{stem}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&data_dir);
    let server = Server::start(binary, &data_dir, flags)?;
    let shown = format!("{} ({env})", script.display());
    let output = Command::new(python)
        .arg(script)
        .arg(&server.api_key)
        .arg(&data_dir)
        .output()
        .map_err(|e| format!("cannot start {shown}: {e}"));
    drop(server);
    let _ = std::fs::remove_dir_all(&data_dir);
    let output = output?;
    eprintln!(
        "xtask: == {shown} ==\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed with {}", output.status))
    }
}

/// The Python of the flywheel-sdk 23.0.0 virtualenv (the wire check's), made if missing.
fn python_venv() -> Result<PathBuf, String> {
    python_env(&PYTHON_ENVS[0])
}

/// The Python of an environment's virtualenv under `target/`, made (and its clients
/// installed) if missing; pip finds an installed environment up to date in seconds.
/// Prepared once per run: a second caller waits for the first (see
/// [`prepare_python_envs`]).
fn python_env(env: &'static PythonEnv) -> Result<PathBuf, String> {
    static READY: [OnceLock<Result<PathBuf, String>>; PYTHON_ENVS.len()] =
        [const { OnceLock::new() }; PYTHON_ENVS.len()];
    let index = PYTHON_ENVS
        .iter()
        .position(|e| e.name == env.name)
        .ok_or("a python environment outside PYTHON_ENVS")?;
    READY[index].get_or_init(|| install_python_env(env)).clone()
}

/// Starts preparing every Python environment in the background, so that a cold run's
/// virtualenvs (pip downloads, and one package built from source) are made while cargo
/// builds and tests rather than after; the conformance phase then waits for what is left.
fn prepare_python_envs() {
    for env in PYTHON_ENVS {
        std::thread::spawn(move || python_env(env));
    }
}

fn install_python_env(env: &PythonEnv) -> Result<PathBuf, String> {
    let root = workspace_root();
    let venv = root.join("target").join(env.venv);
    let python = venv.join("bin/python");
    if !python.exists() {
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    }
    run(Command::new(&python)
        .current_dir(&root)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(env.install))?;
    Ok(python)
}

/// A server process, killed when dropped.
struct Server {
    child: Child,
    api_key: String,
}

impl Server {
    fn start(binary: &Path, data_dir: &Path, flags: &[String]) -> Result<Server, String> {
        let mut child = Command::new(binary)
            .args(["serve", "--create", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("the server has no stdout")?;
        let mut server = Server {
            child,
            api_key: String::new(),
        };
        for line in std::io::BufReader::new(stdout).lines().take(2) {
            let line = line.map_err(|e| format!("cannot read the server's output: {e}"))?;
            if let Some(key) = line.strip_prefix("api key: ") {
                server.api_key = key.to_string();
            }
        }
        if server.api_key.is_empty() {
            return Err("the server printed no `api key:` line".into());
        }
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Which of our crates each crate may depend on (ARCHITECTURE.md, "Architecture
/// invariants"): arrows point one way, and the server never uses the client side.
const ALLOWED_DEPENDENCIES: &[(&str, &[&str])] = &[
    ("fw-filter", &[]),
    ("fw-model", &["fw-filter"]),
    ("fw-transport", &["fw-filter", "fw-model"]),
    ("fw-sdk", &["fw-filter", "fw-model", "fw-transport"]),
    ("fw-server", &["fw-filter", "fw-model"]),
    // The command-line tools: each in a crate of its own, so that clap never becomes a
    // dependency of a library.
    ("fwq", &["fw-filter"]),
    ("fw-api", &["fw-filter", "fw-model", "fw-transport"]),
];

/// Dependencies allowed only behind a crate's optional feature: (crate, feature, our crates
/// it may add). fw-sdk's `local` feature runs fw-server in the process (`fw_sdk::local`);
/// fw-sdk's default build has no server in it.
const FEATURE_DEPENDENCIES: &[(&str, &str, &[&str])] = &[("fw-sdk", "local", &["fw-server"])];

/// Fails when a crate under `crates/` depends (directly or not) on one of ours it may not:
/// with default features against `ALLOWED_DEPENDENCIES`, and with all features against
/// those plus its `FEATURE_DEPENDENCIES`.
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
        let behind_features: Vec<&str> = FEATURE_DEPENDENCIES
            .iter()
            .filter(|(crate_name, _, _)| *crate_name == name)
            .flat_map(|(_, _, deps)| deps.iter().copied())
            .collect();
        for dependency in our_dependencies(&name, false)? {
            if !allowed.contains(&dependency.as_str()) {
                return Err(format!(
                    "{name} depends on {dependency}, against the architecture invariants"
                ));
            }
        }
        for dependency in our_dependencies(&name, true)? {
            if !allowed.contains(&dependency.as_str())
                && !behind_features.contains(&dependency.as_str())
            {
                return Err(format!(
                    "{name} (all features) depends on {dependency}, against the architecture \
                     invariants"
                ));
            }
        }
    }
    eprintln!("xtask: dependency arrows between our crates point one way");
    Ok(())
}

/// Our crates (`fw-…`) that `name` depends on, directly or not, as `cargo tree` says
/// (normal and build dependencies), with default or with all features.
fn our_dependencies(name: &str, all_features: bool) -> Result<Vec<String>, String> {
    let mut command = cargo();
    command
        .args(["tree", "--quiet", "--locked", "-e", "normal,build"])
        .args(["--prefix", "none", "-p", name]);
    if all_features {
        command.arg("--all-features");
    }
    let output = command
        .output()
        .map_err(|e| format!("cannot run cargo tree: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo tree -p {name} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .filter(|dependency| dependency.starts_with("fw-") && *dependency != name)
        .map(str::to_string)
        .collect())
}

/// The workspace root: the parent of this crate's folder.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// `cargo build --quiet --locked` with `args`.
/// A binary that `cargo test --workspace` already built (`target/debug/NAME`, or
/// `target/debug/examples/NAME` for an example): building it again here would use another
/// feature set and recompile half the tree.
fn built_binary(name: &str) -> Result<PathBuf, String> {
    let path = workspace_root().join("target/debug").join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} is missing; run `cargo test --workspace` first (`cargo xtask test` does)",
            path.display()
        ))
    }
}

/// The wire-equivalence check, with the conformance virtualenv.
fn wire_check() -> Result<(), String> {
    wire::run(&workspace_root(), &python_venv()?)
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
