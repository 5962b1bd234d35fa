//! What the examples share: where they run (a local Flywheel by default, a real site only
//! with `--api-key`), a timed and checked step, and a small study to work on.
//!
//! Not an example itself (cargo takes `examples/*.rs` and `examples/*/main.rs`); each
//! example includes it with `#[path = "common/mod.rs"] mod common;`.
#![allow(dead_code)] // each example uses part of it

use std::future::Future;
use std::time::Instant;

use fw_sdk::local::LocalFlywheel;
use fw_sdk::{Client, Group, Project, Session};
use serde_json::json;

pub(crate) type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The group every example works in on a real site (made if missing, reused on reruns).
pub(crate) const GROUP: &str = "fw-sdk-examples";

/// Where an example runs.
pub(crate) struct Site {
    /// The local Flywheel, when no `--api-key` was given.
    pub(crate) local: Option<LocalFlywheel>,
    /// The client: the local site admin, or the key's user.
    pub(crate) fw: Client,
    /// `--user ID`: an existing user of a real site for the permission examples.
    pub(crate) user: Option<String>,
}

/// The command line: `--api-key KEY` (a real site), `--user ID` (its other user).
pub(crate) struct Args {
    key: Option<String>,
    user: Option<String>,
}

/// Parses the command line (`[--api-key KEY] [--user ID]`, `--help`).
pub(crate) fn args(about: &str) -> Result<Args> {
    let mut args = std::env::args().skip(1);
    let (mut key, mut user) = (None, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--api-key" => key = Some(args.next().ok_or("--api-key needs a value")?),
            "--user" => user = Some(args.next().ok_or("--user needs a value")?),
            "-h" | "--help" => {
                println!(
                    "{about}\n\nusage: [--api-key KEY] [--user ID]\n\nWithout --api-key it runs on a local Flywheel started in the process; with it, on that site, in the group {GROUP:?}. --user names an existing user of that site for the permission examples."
                );
                std::process::exit(0);
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?}; usage: [--api-key KEY] [--user ID]"
                )
                .into());
            }
        }
    }
    Ok(Args { key, user })
}

/// Parses the command line and connects: to a real site only when a key is given, never
/// from the environment; else to a new local Flywheel.
pub(crate) async fn connect(about: &str) -> Result<Site> {
    let Args { key, user } = args(about)?;
    match key {
        Some(key) => {
            let fw = Client::new(&key).await?;
            println!("on {}", fw.base_url());
            Ok(Site {
                local: None,
                fw,
                user,
            })
        }
        None => {
            let local = LocalFlywheel::start().await?;
            let fw = local.client();
            println!("on a local Flywheel at {}", fw.base_url());
            Ok(Site {
                local: Some(local),
                fw,
                user,
            })
        }
    }
}

/// Where a blocking example runs: [`Site`] with the blocking API.
pub(crate) struct BlockingSite {
    /// The local Flywheel, when no `--api-key` was given.
    pub(crate) local: Option<fw_sdk::blocking::LocalFlywheel>,
    /// The client: the local site admin, or the key's user.
    pub(crate) fw: fw_sdk::blocking::Client,
}

/// [`connect`] with the blocking API.
pub(crate) fn connect_blocking(about: &str) -> Result<BlockingSite> {
    match args(about)?.key {
        Some(key) => {
            let fw = fw_sdk::blocking::Client::new(&key)?;
            println!("on {}", fw.base_url());
            Ok(BlockingSite { local: None, fw })
        }
        None => {
            let local = fw_sdk::blocking::LocalFlywheel::start()?;
            let fw = local.client();
            println!("on a local Flywheel at {}", fw.base_url());
            Ok(BlockingSite {
                local: Some(local),
                fw,
            })
        }
    }
}

/// The `main` of a blocking example: runs `body` on the site the command line names,
/// stops a local Flywheel, and exits 1 when a step failed.
pub(crate) fn main_blocking(
    about: &str,
    body: impl FnOnce(&BlockingSite) -> Result<()>,
) -> std::process::ExitCode {
    let outcome = connect_blocking(about).and_then(|site| {
        let result = body(&site);
        if let Some(local) = site.local {
            local.stop()?;
        }
        result
    });
    exit_code(outcome)
}

/// Exit 0, or 1 with the error on stderr.
fn exit_code(outcome: Result<()>) -> std::process::ExitCode {
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

impl Site {
    /// Stops a local Flywheel (a real site is left as it is).
    pub(crate) async fn finish(self) -> Result<()> {
        if let Some(local) = self.local {
            local.stop().await?;
        }
        Ok(())
    }

    /// Another user: on a local Flywheel, a new user `ana@example.org` and a client for
    /// them; on a real site, the `--user` given (no client: we hold only one key), or an
    /// error saying to give one.
    pub(crate) async fn other_user(&self) -> Result<(String, Option<Client>)> {
        match (&self.local, &self.user) {
            (_, Some(user)) => Ok((user.clone(), None)),
            (Some(local), None) => {
                let id = "ana@example.org";
                Ok((
                    id.to_string(),
                    Some(local.add_user(id, json!({"firstname": "Ana"})).await?),
                ))
            }
            (None, None) => Err("on a real site, name an existing user with --user ID".into()),
        }
    }
}

/// Runs one step: prints its time and what it reports, or fails the run.
pub(crate) async fn step<T>(
    what: &str,
    work: impl Future<Output = Result<(T, String)>>,
) -> Result<T> {
    let started = Instant::now();
    let outcome = work.await;
    report(what, started, outcome)
}

/// [`step`] for blocking work.
pub(crate) fn step_blocking<T>(
    what: &str,
    work: impl FnOnce() -> Result<(T, String)>,
) -> Result<T> {
    let started = Instant::now();
    let outcome = work();
    report(what, started, outcome)
}

/// Prints a step's time and report, or fails the run.
fn report<T>(what: &str, started: Instant, outcome: Result<(T, String)>) -> Result<T> {
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Ok((value, report)) => {
            println!("ok   {ms:8.1} ms  {what}: {report}");
            Ok(value)
        }
        Err(error) => {
            println!("FAIL {ms:8.1} ms  {what}: {error}");
            Err(format!("step {what:?} failed").into())
        }
    }
}

/// Fails a step with `what` unless `ok`.
pub(crate) fn check(ok: bool, what: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(format!("check failed: {what}").into())
    }
}

/// The examples' group and a project `label` in it, with subjects `sub-01` (female),
/// `sub-02` (male), each with sessions `baseline` (age 30 y) and `followup` (31 y), each
/// with acquisitions `T1w` and `rfMRI_REST_AP`. Found or made, so reruns on a real site
/// reuse what exists.
pub(crate) async fn study(fw: &Client, label: &str) -> Result<(Group, Project)> {
    let group = fw
        .find_or_add_group(json!({"_id": GROUP, "label": "fw-sdk examples"}))
        .await?;
    let project = group.find_or_add_project(json!({"label": label})).await?;
    for (label, sex) in [("sub-01", "female"), ("sub-02", "male")] {
        let subject = project
            .find_or_add_subject(json!({"label": label, "sex": sex}))
            .await?;
        for (years, session) in [(30, "baseline"), (31, "followup")] {
            let session = subject
                .find_or_add_session(json!({"label": session, "age": years * 31_557_600}))
                .await?;
            for acquisition in ["T1w", "rfMRI_REST_AP"] {
                session
                    .find_or_add_acquisition(json!({"label": acquisition}))
                    .await?;
            }
        }
    }
    Ok((group, project))
}

/// [`study`]'s project `label` and its first `baseline` session (of `sub-01`).
pub(crate) async fn baseline(fw: &Client, label: &str) -> Result<(Project, Session)> {
    let (_, project) = study(fw, label).await?;
    let session = project
        .sessions()
        .find_first("label=baseline")
        .await?
        .ok_or("no baseline session")?;
    Ok((project, session))
}

/// The id of Flywheel's default read-only role, made available in `group` (as project
/// permissions need): `fw.get_all_roles()`, then `fw.add_role_to_group` (already there on
/// a rerun is fine).
pub(crate) async fn read_only_role(fw: &Client, group: &str) -> Result<fw_sdk::model::RoleId> {
    let roles = fw.get_all_roles().await?;
    let id = roles
        .iter()
        .find(|r| r.default_flywheel_role == Some(fw_sdk::model::DefaultRole::Ro))
        .and_then(|r| r.id.clone())
        .ok_or("no read-only role")?;
    match fw.add_role_to_group(group, json!({"_id": id})).await {
        Ok(_) | Err(fw_sdk::Error::AlreadyExists { .. }) => Ok(id),
        Err(e) => Err(e.into()),
    }
}

/// Checks that `user` sees exactly one project and may not change it.
pub(crate) async fn check_reads_only(user: &Client) -> Result<()> {
    let seen = user.projects().all().await?;
    check(seen.len() == 1, "the user sees the project")?;
    let denied = seen[0].update(json!({"label": "renamed"})).await;
    check(
        matches!(denied, Err(fw_sdk::Error::PermissionDenied { .. })),
        "read-only: an update is refused",
    )
}

/// The `main` of every example: runs `body` on the site the command line names, stops a
/// local Flywheel, and exits 1 when a step failed.
pub(crate) async fn main<F, Fut>(about: &str, body: F) -> std::process::ExitCode
where
    F: FnOnce(std::sync::Arc<Site>) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let outcome = async {
        let site = std::sync::Arc::new(connect(about).await?);
        let result = body(site.clone()).await;
        // The body's clone is gone once it returned; a stray one stops the site on drop.
        if let Ok(site) = std::sync::Arc::try_unwrap(site) {
            site.finish().await?;
        }
        result
    }
    .await;
    exit_code(outcome)
}
