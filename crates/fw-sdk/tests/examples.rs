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

/// Each Quick Reference example, and how many steps it runs.
const EXAMPLES: &[(&str, usize)] = &[
    ("connect", 4),
    ("finders", 7),
    ("queries", 4),
    ("groups", 5),
    ("projects", 5),
    ("subjects", 5),
    ("sessions", 4),
    ("acquisitions", 4),
    ("info", 4),
    ("tags_notes", 4),
    ("timestamps", 4),
    ("permissions", 3),
    ("files", 5),
    ("classification", 4),
    ("downloads", 4),
    ("bulk_transfers", 4),
];

/// The lines of steps that passed; fails on any failed step.
fn passed_steps(out: &str) -> usize {
    assert!(!out.contains("FAIL"), "{out}");
    out.lines().filter(|l| l.starts_with("ok ")).count()
}

#[test]
fn every_example_runs_on_a_local_flywheel() {
    for (name, steps) in EXAMPLES {
        let out = run(name, &[]);
        assert!(
            out.starts_with("on a local Flywheel at http://127.0.0.1:"),
            "{name}: {out}"
        );
        assert_eq!(passed_steps(&out), *steps, "{name}: {out}");
    }
}

/// `--api-key` points an example at a site of our choosing (here a local Flywheel started
/// by the test, standing in for a real one); a rerun on the same site reuses what the
/// first run made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_api_key_examples_run_on_that_site_and_rerun() {
    let site = fw_sdk::local::LocalFlywheel::start().await.unwrap();
    let key = site.api_key();
    let base_url = site.client().base_url().to_string();
    let names = [
        "groups",
        "subjects",
        "tags_notes",
        "permissions",
        "files",
        "classification",
        "downloads",
        "bulk_transfers",
    ];
    for name in names {
        let args: Vec<&str> = match name {
            "permissions" => vec!["--api-key", &key, "--user", "admin@local"],
            _ => vec!["--api-key", &key],
        };
        for _ in 0..2 {
            let out = tokio::task::block_in_place(|| run(name, &args));
            assert!(out.starts_with(&format!("on {base_url}")), "{name}: {out}");
            passed_steps(&out);
        }
    }
    let fw = site.client();
    let projects = fw.projects().find("group=fw-sdk-examples").await.unwrap();
    assert_eq!(
        projects.len(),
        names.len(),
        "one project per example, not per run"
    );
    site.stop().await.unwrap();
}

#[test]
fn a_bad_argument_is_refused_and_nothing_runs() {
    let output = Command::new(example("connect"))
        .arg("--api-kye")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown argument \"--api-kye\""),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "nothing ran");
}

#[test]
fn the_quickstart_passes_every_step() {
    let out = run("quickstart", &[]);
    assert_eq!(passed_steps(&out), 19, "{out}");
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
