//! The examples and the quickstart run as programs, each on its own local Flywheel, and
//! must exit 0 (each checks its own steps and exits non-zero when one fails).
//!
//! `cargo test -p fw-sdk` builds the examples (with the `local` feature, through the
//! dev-dependency on this crate) next to this test's binary; running them here avoids a
//! nested `cargo build`, whose different features would rebuild the workspace.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::path::PathBuf;
use std::process::Command;

/// `target/<profile>/examples/<name>`, built by the same `cargo test`.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/examples-<hash> → target/<profile>/examples/<name>
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run `cargo test -p fw-sdk` (all targets), which builds the examples",
        path.display()
    );
    path
}

/// Runs an example with `args`; returns its stdout, failing with both streams otherwise.
fn run(name: &str, args: &[&str]) -> String {
    let output = Command::new(example(name)).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "example {name} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn the_quickstart_passes_every_step() {
    let out = run("quickstart", &[]);
    let steps: Vec<&str> = out.lines().filter(|l| l.starts_with("ok ")).collect();
    assert!(!out.contains("FAIL"), "{out}");
    assert_eq!(steps.len(), 17, "{out}");
    assert!(
        out.contains("3 subjects, 6 sessions, 12 acquisitions, 12 files"),
        "{out}"
    );
    assert!(
        out.lines()
            .last()
            .unwrap()
            .starts_with("all steps passed in "),
        "{out}"
    );
}
