//! `cargo xtask bench-python [--runs N] [--scale F]`: the race of issue 12. The same
//! workloads through the official Python SDK (flywheel-sdk 23.0.0), through fw-sdk, and
//! through fw-transport alone with replies left as raw JSON (**the limit**: the same
//! requests, no typed decoding), against one release fw-server, in one run; the 1 GiB
//! transfers also through `curl`. Each client is its own process per workload and run,
//! under `/usr/bin/time` for its peak RSS; each prints the wall time of the workload itself
//! (`<workload> <seconds> <count>`), so process start and connecting are not counted.
//!
//! The programs: `crates/fw-sdk/examples/race.rs` (fw-sdk and the limit),
//! `crates/fw-sdk/bench/race.py` (the Python SDK), and for the small-file transfers
//! `crates/fw-sdk/examples/transfers.rs` and `crates/fw-sdk/bench/transfers.py` (import a
//! folder, download the tree). The 100,000 subjects are seeded by fw-server's example
//! `bench-seed` (cloned by SQL), not through the API.
//!
//! Prints a markdown table: per workload and client the median over the runs and the
//! lowest and highest run, the ratios of the medians against the targets, and the
//! machine (cores, memory, load average) in the header.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{Server, cargo, python_venv, run, workspace_root};

/// The options of one race.
#[derive(Debug, Clone, PartialEq)]
struct Options {
    /// Runs of every workload and client; medians are taken over them.
    runs: usize,
    /// Every size multiplied by this (the sizes at 1).
    scale: f64,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options, String> {
        let mut options = Options {
            runs: 3,
            scale: 1.0,
        };
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let value = args.next().ok_or(format!("{flag} needs a value"))?.as_str();
            match flag.as_str() {
                "--runs" => {
                    options.runs = value
                        .parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or(format!("--runs takes a count of at least 1, not {value:?}"))?;
                }
                "--scale" => {
                    options.scale = value
                        .parse()
                        .ok()
                        .filter(|&s: &f64| s > 0.0 && s.is_finite())
                        .ok_or(format!("--scale takes a positive number, not {value:?}"))?;
                }
                other => return Err(format!("unknown option {other}; use --runs N, --scale F")),
            }
        }
        Ok(options)
    }
}

/// The sizes of the workloads: the issue's, times the scale (at least 1 each).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sizes {
    /// Subjects created one by one.
    create: u64,
    /// Subjects seeded in the project that is iterated and searched.
    subjects: u64,
    /// Gets by id.
    gets: u64,
    /// Small files uploaded and downloaded, and the size of each in bytes.
    small_files: u64,
    small_bytes: u64,
    /// The big file's size in bytes (1 GiB).
    big_bytes: u64,
}

impl Sizes {
    fn scaled(scale: f64) -> Sizes {
        let times = |n: u64| ((n as f64 * scale).round() as u64).max(1);
        Sizes {
            create: times(2_000),
            subjects: times(100_000),
            gets: times(1_000),
            small_files: times(1_000),
            // Small files stay small at every scale; only their count scales.
            small_bytes: 64 << 10,
            big_bytes: times(1 << 30),
        }
    }
}

/// Who sends a workload's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Client {
    Python,
    Sdk,
    Limit,
    Curl,
}

/// One run of one client on one workload.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sample {
    seconds: f64,
    /// Peak resident memory of the client process, in KiB (`/usr/bin/time`'s `%M`).
    rss_kib: u64,
}

/// The median of some runs and their lowest and highest.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    /// `None` for no values. The median of an even count is the mean of the middle two.
    fn of(values: &[f64]) -> Option<Spread> {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => sorted[n / 2],
            _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        Some(Spread {
            median,
            min: sorted[0],
            max: sorted[n - 1],
        })
    }

    /// `1.23 s (1.20-1.31)`, or with one run only `1.23 s`.
    fn show(&self, unit: &str) -> String {
        let digits = |v: f64| {
            if v >= 100.0 {
                format!("{v:.0}")
            } else if v >= 10.0 {
                format!("{v:.1}")
            } else {
                format!("{v:.2}")
            }
        };
        if self.min == self.max {
            format!("{} {unit}", digits(self.median))
        } else {
            format!(
                "{} {unit} ({}-{})",
                digits(self.median),
                digits(self.min),
                digits(self.max)
            )
        }
    }
}

/// The samples of one workload, per client.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    workload: String,
    /// What the row's targets are (the issue's).
    target: Target,
    samples: Vec<(Client, Sample)>,
}

/// Which of the issue's targets a row is held to, beyond "fw-sdk within 1.3x of its limit
/// and at most 1/5 of the Python SDK's memory".
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    /// Nothing more.
    Plain,
    /// At least this many times as fast as the Python SDK.
    FasterThanPython(f64),
    /// At least 80% of curl's speed, under 64 MB of client memory.
    NearCurl,
}

impl Row {
    fn spread(&self, client: Client, of: impl Fn(&Sample) -> f64) -> Option<Spread> {
        let values: Vec<f64> = self
            .samples
            .iter()
            .filter(|(c, _)| *c == client)
            .map(|(_, s)| of(s))
            .collect();
        Spread::of(&values)
    }

    fn seconds(&self, client: Client) -> Option<Spread> {
        self.spread(client, |s| s.seconds)
    }

    /// Peak RSS in MB (10^6 bytes).
    fn megabytes(&self, client: Client) -> Option<Spread> {
        self.spread(client, |s| s.rss_kib as f64 * 1024.0 / 1e6)
    }

    /// The verdict on each target that applies and has figures: `≤1.3x limit ✓`.
    fn verdicts(&self) -> Vec<String> {
        let median = |s: Option<Spread>| s.map(|s| s.median);
        let sdk = median(self.seconds(Client::Sdk));
        let mut verdicts = Vec::new();
        let mut check = |name: String, met: bool| {
            verdicts.push(format!("{name} {}", if met { "✓" } else { "✗" }));
        };
        if let (Some(sdk), Some(limit)) = (sdk, median(self.seconds(Client::Limit))) {
            check("≤1.3x limit".into(), sdk <= 1.3 * limit);
        }
        let sdk_mb = median(self.megabytes(Client::Sdk));
        if let (Some(sdk_mb), Some(python_mb)) = (sdk_mb, median(self.megabytes(Client::Python))) {
            check("≤⅕ Python memory".into(), sdk_mb <= python_mb / 5.0);
        }
        match self.target {
            Target::Plain => {}
            Target::FasterThanPython(times) => {
                if let (Some(sdk), Some(python)) = (sdk, median(self.seconds(Client::Python))) {
                    check(format!("≥{times}x Python"), python >= times * sdk);
                }
            }
            Target::NearCurl => {
                if let (Some(sdk), Some(curl)) = (sdk, median(self.seconds(Client::Curl))) {
                    check("≥80% of curl".into(), curl >= 0.8 * sdk);
                }
                if let Some(sdk_mb) = sdk_mb {
                    check("<64 MB".into(), sdk_mb < 64.0);
                }
            }
        }
        verdicts
    }
}

/// `a ÷ b` of two medians, `2.10x`; `-` without both.
fn ratio(a: Option<Spread>, b: Option<Spread>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b.median > 0.0 => format!("{:.2}x", a.median / b.median),
        _ => "-".into(),
    }
}

/// The markdown table of the rows, under a header naming the command and the machine.
fn table(command: &str, machine: &str, runs: usize, rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "`{command}`; {machine}.");
    let _ = writeln!(
        out,
        "Median of {runs} run(s), lowest-highest in brackets. Time: wall seconds of the \
         workload in the client; memory: the client process's peak RSS (MB). The limit: the \
         same requests through fw-transport alone, replies left as raw JSON.\n"
    );
    out.push_str(
        "| workload | Python SDK | fw-sdk | limit | curl | fw-sdk ÷ limit | Python ÷ fw-sdk \
         | RSS Python | RSS fw-sdk | RSS limit | targets |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for row in rows {
        let time = |c| row.seconds(c).map_or("-".into(), |s| s.show("s"));
        let memory = |c| row.megabytes(c).map_or("-".into(), |s| s.show("MB"));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.workload,
            time(Client::Python),
            time(Client::Sdk),
            time(Client::Limit),
            time(Client::Curl),
            ratio(row.seconds(Client::Sdk), row.seconds(Client::Limit)),
            ratio(row.seconds(Client::Python), row.seconds(Client::Sdk)),
            memory(Client::Python),
            memory(Client::Sdk),
            memory(Client::Limit),
            row.verdicts().join(", "),
        );
    }
    out
}

/// The machine, for the table's header: cores, memory, CPU and load average now.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or("?".into(), |kib| format!("{:.1}", kib / (1 << 20) as f64));
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map_or("", |v| v.trim_start_matches([' ', '\t', ':']));
    format!(
        "{cores} cores ({cpu}), {memory_gib} GiB memory, load average {}, {}",
        load_average(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    )
}

/// The 1, 5 and 15 minute load averages.
fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `command` under `/usr/bin/time` and reads its `<workload> <seconds> <count>` line
/// and its peak RSS; fails unless it exits successfully with `count` as expected.
fn measure(command: &mut Command, expected: u64) -> Result<Sample, String> {
    let shown = format!("{command:?}");
    let mut timed = Command::new("/usr/bin/time");
    timed
        .args(["-f", "race-rss %M"])
        .arg(command.get_program())
        .args(command.get_args())
        .stdin(Stdio::null());
    if let Some(dir) = command.get_current_dir() {
        timed.current_dir(dir);
    }
    let output = timed
        .output()
        .map_err(|e| format!("cannot run /usr/bin/time (is GNU time installed?): {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("{shown} failed with {}:\n{stderr}", output.status));
    }
    let (seconds, count) = stdout
        .lines()
        .rev()
        .find_map(|line| {
            let mut words = line.split_whitespace().skip(1);
            let seconds = words.next()?.parse::<f64>().ok()?;
            let count = words.next()?.parse::<u64>().ok()?;
            Some((seconds, count))
        })
        .ok_or(format!(
            "{shown} printed no `<workload> <seconds> <count>`: {stdout}"
        ))?;
    let rss_kib = stderr
        .lines()
        .find_map(|l| l.strip_prefix("race-rss "))
        .and_then(|v| v.trim().parse().ok())
        .ok_or(format!("/usr/bin/time gave no peak RSS for {shown}"))?;
    if count != expected {
        return Err(format!("{shown} counted {count}, not {expected}"));
    }
    eprintln!(
        "xtask: {seconds:8.3} s {:7.1} MB  {shown}",
        rss_kib as f64 * 1024.0 / 1e6
    );
    Ok(Sample { seconds, rss_kib })
}

/// Files of the work directory: written once, removed with it.
struct Work {
    dir: PathBuf,
}

impl Drop for Work {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes `size` bytes that do not compress and differ per `seed` (xorshift), so that the
/// server stores every file as its own blob.
fn write_noise(path: &Path, size: u64, seed: u64) -> Result<(), String> {
    use std::io::Write;
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut left = size;
    while left > 0 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let bytes = state.to_le_bytes();
        let n = left.min(8) as usize;
        out.write_all(&bytes[..n])
            .map_err(|e| format!("{}: {e}", path.display()))?;
        left -= n as u64;
    }
    out.flush().map_err(|e| format!("{}: {e}", path.display()))
}

/// The number of regular files under `dir`.
fn count_files(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() { count_files(&path) } else { 1 }
        })
        .sum()
}

/// `cargo xtask bench-python …`: builds, seeds, races, prints the table.
pub(crate) fn bench_python(args: &[String]) -> Result<(), String> {
    let options = Options::parse(args)?;
    let sizes = Sizes::scaled(options.scale);
    let root = workspace_root();
    // One build for all, so that fw-server's library is compiled once, with the features
    // of everything that uses it (two builds would each recompile it for their own).
    run(cargo()
        .args(["build", "--release", "--locked", "--quiet"])
        .args([
            "-p",
            "fw-server",
            "--bin",
            "fw-server",
            "--example",
            "bench-seed",
        ])
        .args([
            "-p",
            "fw-sdk",
            "--example",
            "race",
            "--example",
            "transfers",
        ]))?;
    let python = python_venv()?;
    let release = root.join("target/release");
    let race = release.join("examples/race");
    let transfers = release.join("examples/transfers");
    let race_py = root.join("crates/fw-sdk/bench/race.py");
    let transfers_py = root.join("crates/fw-sdk/bench/transfers.py");

    let work = Work {
        dir: std::env::temp_dir().join(format!("fw-race-{}", std::process::id())),
    };
    let _ = std::fs::remove_dir_all(&work.dir);
    let data_dir = work.dir.join("data");
    std::fs::create_dir_all(&work.dir).map_err(|e| format!("{}: {e}", work.dir.display()))?;
    let server = Server::start(&release.join("fw-server"), &data_dir, &[])?;
    let key = server.api_key.clone();
    let (host_port, secret) = key
        .split_once(":__force_insecure:")
        .ok_or(format!("unexpected key form {key}"))?;
    let base = format!("http://{host_port}/api");

    eprintln!("xtask: seeding {} subjects", sizes.subjects);
    let ids_file = work.dir.join("ids.txt");
    let seeded = Command::new(release.join("examples/bench-seed"))
        .arg(&base)
        .arg(secret)
        .arg(&data_dir)
        .arg(sizes.subjects.to_string())
        .arg(&ids_file)
        .arg(sizes.gets.to_string())
        .output()
        .map_err(|e| format!("cannot run bench-seed: {e}"))?;
    if !seeded.status.success() {
        return Err(format!(
            "bench-seed failed: {}",
            String::from_utf8_lossy(&seeded.stderr)
        ));
    }
    let project = String::from_utf8_lossy(&seeded.stdout).trim().to_string();
    // Every third clone has info.site = "b"; the template (site "a") is one of the subjects.
    let clones = sizes.subjects - 1;
    let site_b = clones / 3;
    let gets = sizes.gets.min(clones);

    eprintln!(
        "xtask: writing {} small files and the big one",
        sizes.small_files
    );
    let small = work.dir.join("small");
    for i in 0..sizes.small_files {
        let dir = small.join(format!("sub-{}/ses-1/acq-1", i % 10));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        write_noise(&dir.join(format!("f{i}.dat")), sizes.small_bytes, i + 1)?;
    }
    let big = work.dir.join("big.bin");
    write_noise(&big, sizes.big_bytes, 0)?;
    let machine_at_start = machine();

    let py = |args: &[&str]| {
        let mut command = Command::new(&python);
        command.arg(&race_py).args(args);
        command
    };
    let rust = |client: &str, args: &[&str]| {
        let mut command = Command::new(&race);
        command.arg(client).args(args);
        command
    };
    let project = project.as_str();
    let ids = ids_file.to_string_lossy().into_owned();
    let n = |v: u64| v.to_string();
    let (create, subjects) = (n(sizes.create), sizes.subjects);

    let mut rows: Vec<Row> = vec![
        row(format!("create {} subjects", sizes.create), Target::Plain),
        row(
            format!("iterate {subjects} subjects (iter_find)"),
            Target::FasterThanPython(8.0),
        ),
        row(
            format!("finder `info.site=b` over {subjects} ({site_b} found)"),
            Target::Plain,
        ),
        row(format!("get {gets} subjects by id"), Target::Plain),
        row(
            format!("upload {} files of 64 KiB", sizes.small_files),
            Target::FasterThanPython(4.0),
        ),
        row(
            format!("download {} files of 64 KiB", sizes.small_files),
            Target::FasterThanPython(4.0),
        ),
        row(
            format!("upload 1 file of {} MiB", sizes.big_bytes >> 20),
            Target::NearCurl,
        ),
        row(
            format!("download 1 file of {} MiB", sizes.big_bytes >> 20),
            Target::NearCurl,
        ),
    ];
    let mut clients = [Client::Python, Client::Sdk, Client::Limit];
    for round in 1..=options.runs {
        eprintln!("xtask: == run {round} of {} ==", options.runs);
        // Each run starts with another client, so that no client always runs right after
        // another's writes (SQLite checkpoints them during the next workload).
        if round > 1 {
            clients.rotate_left(1);
        }
        for client in clients {
            let (mut command, expected) = match client {
                Client::Python => (py(&["create", &key, &create]), sizes.create),
                Client::Sdk => (rust("sdk", &["create", &key, &create]), sizes.create),
                _ => (rust("limit", &["create", &key, &create]), sizes.create),
            };
            rows[0]
                .samples
                .push((client, measure(&mut command, expected)?));
            let mut command = match client {
                Client::Python => py(&["iterate", &key, project]),
                Client::Sdk => rust("sdk", &["iterate", &key, project]),
                _ => rust("limit", &["iterate", &key, project]),
            };
            rows[1]
                .samples
                .push((client, measure(&mut command, subjects)?));
            let finder = ["finder", &key, project, "info.site=b"];
            let mut command = match client {
                Client::Python => py(&finder),
                Client::Sdk => rust("sdk", &finder),
                _ => rust("limit", &finder),
            };
            rows[2]
                .samples
                .push((client, measure(&mut command, site_b)?));
            let mut command = match client {
                Client::Python => py(&["get", &key, &ids]),
                Client::Sdk => rust("sdk", &["get", &key, &ids]),
                _ => rust("limit", &["get", &key, &ids]),
            };
            rows[3].samples.push((client, measure(&mut command, gets)?));
        }
        for client in clients {
            // A fresh project per client and run: the import creates everything anew.
            let (project, acquisition) = setup(&race, &key)?;
            let (project, acquisition) = (project.as_str(), acquisition.as_str());
            let source = small.to_string_lossy().into_owned();
            let tree = work.dir.join("tree");
            let tree_arg = tree.to_string_lossy().into_owned();
            let (mut import, mut download) = match client {
                Client::Python => {
                    let transfers = |mode: &str, path: &str| {
                        let mut command = Command::new(&python);
                        command.arg(&transfers_py).args([mode, &key, project, path]);
                        command
                    };
                    (transfers("import", &source), transfers("tree", &tree_arg))
                }
                Client::Sdk => {
                    let transfers = |mode: &str, path: &str| {
                        let mut command = Command::new(&transfers);
                        command.args([mode, &key, project, path]);
                        command
                    };
                    (transfers("import", &source), transfers("tree", &tree_arg))
                }
                _ => (
                    rust("limit", &["import", &key, project, &source]),
                    rust("limit", &["tree", &key, project, &tree_arg]),
                ),
            };
            rows[4]
                .samples
                .push((client, measure(&mut import, sizes.small_files)?));
            rows[5]
                .samples
                .push((client, measure(&mut download, sizes.small_files)?));
            let found = count_files(&tree);
            let _ = std::fs::remove_dir_all(&tree);
            if found != sizes.small_files {
                return Err(format!(
                    "{client:?} downloaded {found} files, not {}",
                    sizes.small_files
                ));
            }
            race_big(
                &mut rows,
                client,
                &key,
                acquisition,
                &big,
                &work.dir,
                (&py, &rust),
            )?;
        }
        // curl, the practical limit of the big transfers, on a fresh acquisition.
        let (_, acquisition) = setup(&race, &key)?;
        let url = format!("{base}/acquisitions/{acquisition}/files");
        let authorization = format!("Authorization: scitran-user {secret}");
        let form = format!("file=@{}", big.display());
        let mut upload = Command::new("curl");
        upload
            .args(["-sSf", "-o", "/dev/null", "-w", "upload %{time_total} 1"])
            .args(["-H", &authorization, "-F", &form, &url]);
        rows[6]
            .samples
            .push((Client::Curl, measure(&mut upload, 1)?));
        let dest = work.dir.join("down.bin");
        let mut download = Command::new("curl");
        download
            .args([
                "-sSf",
                "-w",
                "download %{time_total} 1",
                "-H",
                &authorization,
            ])
            .arg("-o")
            .arg(&dest)
            .arg(format!("{url}/big.bin"));
        rows[7]
            .samples
            .push((Client::Curl, measure(&mut download, 1)?));
        check_size(&dest, sizes.big_bytes)?;
    }
    drop(server);
    let command = format!(
        "cargo xtask bench-python --runs {} --scale {}",
        options.runs, options.scale
    );
    let machine = format!(
        "{machine_at_start}; load average at the end {}",
        load_average()
    );
    println!("{}", table(&command, &machine, options.runs, &rows));
    Ok(())
}

fn row(workload: String, target: Target) -> Row {
    Row {
        workload,
        target,
        samples: Vec::new(),
    }
}

/// A fresh project and acquisition: `race setup`'s `<project> <acquisition>`.
fn setup(race: &Path, key: &str) -> Result<(String, String), String> {
    let output = Command::new(race)
        .args(["setup", key])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", race.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    match text.split_whitespace().collect::<Vec<_>>().as_slice() {
        [project, acquisition] if output.status.success() => {
            Ok((project.to_string(), acquisition.to_string()))
        }
        _ => Err(format!(
            "race setup failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )),
    }
}

/// Fails unless the file at `path` has `size` bytes; removes it.
fn check_size(path: &Path, size: u64) -> Result<(), String> {
    let found = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let _ = std::fs::remove_file(path);
    if found == size {
        Ok(())
    } else {
        Err(format!("{} has {found} bytes, not {size}", path.display()))
    }
}

/// The command builders of the Python script and of the Rust race example.
type Builders<'a> = (
    &'a dyn Fn(&[&str]) -> Command,
    &'a dyn Fn(&str, &[&str]) -> Command,
);

/// The big file uploaded to `acquisition` and downloaded again by `client`.
fn race_big(
    rows: &mut [Row],
    client: Client,
    key: &str,
    acquisition: &str,
    big: &Path,
    work: &Path,
    (py, rust): Builders<'_>,
) -> Result<(), String> {
    let file = big.to_string_lossy().into_owned();
    let dest = work.join("down.bin");
    let dest_arg = dest.to_string_lossy().into_owned();
    let upload = ["upload", key, acquisition, &file];
    let download = ["download", key, acquisition, "big.bin", &dest_arg];
    let (mut up, mut down) = match client {
        Client::Python => (py(&upload), py(&download)),
        Client::Sdk => (rust("sdk", &upload), rust("sdk", &download)),
        _ => (rust("limit", &upload), rust("limit", &download)),
    };
    rows[6].samples.push((client, measure(&mut up, 1)?));
    rows[7].samples.push((client, measure(&mut down, 1)?));
    let size = std::fs::metadata(big).map(|m| m.len()).unwrap_or(0);
    check_size(&dest, size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seconds: f64, rss_mb: u64) -> Sample {
        Sample {
            seconds,
            rss_kib: rss_mb * 1_000_000 / 1024,
        }
    }

    #[test]
    fn median_and_spread() {
        assert_eq!(Spread::of(&[]), None);
        let odd = Spread::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((odd.median, odd.min, odd.max), (2.0, 1.0, 3.0));
        let even = Spread::of(&[4.0, 1.0, 2.0, 10.0]).unwrap();
        assert_eq!((even.median, even.min, even.max), (3.0, 1.0, 10.0));
        assert_eq!(odd.show("s"), "2.00 s (1.00-3.00)");
        assert_eq!(Spread::of(&[123.4]).unwrap().show("MB"), "123 MB");
        assert_eq!(
            Spread::of(&[12.34, 15.0]).unwrap().show("s"),
            "13.7 s (12.3-15.0)"
        );
    }

    #[test]
    fn options_and_sizes() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            Options::parse(&args(&["--scale", "0.05", "--runs", "1"])),
            Ok(Options {
                runs: 1,
                scale: 0.05
            })
        );
        assert_eq!(Options::parse(&[]).map(|o| o.runs), Ok(3));
        assert!(Options::parse(&args(&["--runs", "0"])).is_err());
        assert!(Options::parse(&args(&["--scale"])).is_err());
        assert!(Options::parse(&args(&["--fast", "1"])).is_err());
        let sizes = Sizes::scaled(0.05);
        assert_eq!(
            (sizes.create, sizes.subjects, sizes.gets, sizes.small_files),
            (100, 5_000, 50, 50)
        );
        assert_eq!(sizes.big_bytes, 53_687_091);
        assert_eq!(Sizes::scaled(1.0).subjects, 100_000);
    }

    #[test]
    fn table_rows_ratios_and_verdicts() {
        let mut iterate = row("iterate".into(), Target::FasterThanPython(8.0));
        for (python, sdk, limit) in [(3.2, 0.40, 0.33), (3.0, 0.38, 0.30), (3.6, 0.50, 0.35)] {
            iterate.samples.push((Client::Python, sample(python, 61)));
            iterate.samples.push((Client::Sdk, sample(sdk, 11)));
            iterate.samples.push((Client::Limit, sample(limit, 9)));
        }
        let mut big = row("upload big".into(), Target::NearCurl);
        big.samples.push((Client::Sdk, sample(1.0, 70)));
        big.samples.push((Client::Curl, sample(0.9, 5)));
        let text = table("cargo xtask bench-python", "2 cores", 3, &[iterate, big]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "`cargo xtask bench-python`; 2 cores.");
        assert_eq!(
            lines[5],
            "| iterate | 3.20 s (3.00-3.60) | 0.40 s (0.38-0.50) | 0.33 s (0.30-0.35) | - \
             | 1.21x | 8.00x | 61.0 MB | 11.0 MB | 9.00 MB \
             | ≤1.3x limit ✓, ≤⅕ Python memory ✓, ≥8x Python ✓ |"
        );
        assert_eq!(
            lines[6],
            "| upload big | - | 1.00 s | - | 0.90 s | - | - | - | 70.0 MB | - \
             | ≥80% of curl ✓, <64 MB ✗ |"
        );
    }

    #[test]
    fn noise_differs_per_seed_and_has_its_size() {
        let dir = std::env::temp_dir().join(format!("xtask-noise-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a"), dir.join("b"));
        write_noise(&a, 1001, 1).unwrap();
        write_noise(&b, 1001, 2).unwrap();
        let (a, b) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!((a.len(), b.len()), (1001, 1001));
        assert_ne!(a, b);
        assert_eq!(count_files(&dir), 0);
    }
}
