//! Mixed load on a project of 10,000 subjects: do gets by id stay fast while full scans
//! run, and does throughput hold as clients are added? (Issue 16, Concurrency.)
//!
//! `cargo run --release -p fw-server --example load-bench -- [SUBJECTS] [SECONDS] [RUNS] [READERS]`
//! (defaults 10000, 8, 3, `16,4,1`: the read connection counts compared)
//!
//! Seeds one project the way `finder-bench` does (one subject made through the API, cloned
//! by SQL), then, for each database setting (READERS read connections; 1 is the old single
//! connection for reads) and each client count (10, 50), runs RUNS rounds of SECONDS
//! in which every client loops over a mixed workload, each operation drawn at random:
//! 10 % finders that read every subject (`info.site=c` matches none), 50 % gets by id,
//! 10 % info updates, 10 % tag additions, 10 % small uploads (1 KiB), 10 % downloads.
//! It prints, per setting and client count, the median over rounds (and the range) of
//! the p50 and p99 of gets by id and of the throughput (operations per second).

#[path = "common/seed.rs"]
mod seed;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One measured operation: whether it was a get by id, and how long it took.
struct Sample {
    get: bool,
    scan: bool,
    took: Duration,
}

/// One client's random numbers (xorshift; the workload need not be cryptographic).
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let subjects: u64 = args.next().map_or(Ok(10_000), |n| n.parse())?;
    let seconds: u64 = args.next().map_or(Ok(8), |n| n.parse())?;
    let runs: usize = args.next().map_or(Ok(3), |n| n.parse())?;
    let readers: Vec<usize> = args
        .next()
        .unwrap_or_else(|| "16,4,1".into())
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let dir = tempfile::tempdir()?;
    let mut report = Vec::new();
    for readers in readers {
        let limits = fw_server::Limits {
            read_connections: readers,
            ..fw_server::Limits::default()
        };
        let server = fw_server::start(fw_server::ServerConfig {
            admin_key: Some("bench".into()),
            limits,
            ..fw_server::ServerConfig::new(dir.path())
        })
        .await?;
        let base = format!("http://{}/api", server.addr);
        let (project, template) = match seed(&base, dir.path(), subjects).await {
            Ok(seeded) => seeded,
            Err(e) => return Err(format!("seeding failed: {e}").into()),
        };
        for clients in [10, 50] {
            let mut rounds = Vec::new();
            for _ in 0..runs {
                let samples = round(&base, &project, &template, subjects, clients, seconds).await;
                rounds.push(summarize(&samples, seconds));
            }
            report.push((readers, clients, rounds));
        }
        server.stop().await?;
    }
    println!("{subjects} subjects, {runs} rounds of {seconds} s; median [min-max] over rounds");
    println!("read conns  clients  GET p50 ms       GET p99 ms        scan p50 ms        ops/s");
    for (readers, clients, rounds) in report {
        let column = |pick: fn(&Summary) -> f64| {
            let mut values: Vec<f64> = rounds.iter().map(pick).collect();
            values.sort_by(f64::total_cmp);
            let median = values[values.len() / 2];
            let (low, high) = (values[0], values[values.len() - 1]);
            format!("{median:6.1} [{low:.1}-{high:.1}]")
        };
        println!(
            "{readers:>10}  {clients:>7}  {:<16} {:<17} {:<18} {}",
            column(|s| s.get_p50),
            column(|s| s.get_p99),
            column(|s| s.scan_p50),
            column(|s| s.throughput),
        );
    }
    Ok(())
}

/// What one round measured.
struct Summary {
    get_p50: f64,
    get_p99: f64,
    scan_p50: f64,
    throughput: f64,
}

fn summarize(samples: &[Sample], seconds: u64) -> Summary {
    let percentile = |mut ms: Vec<f64>, p: f64| {
        if ms.is_empty() {
            return f64::NAN;
        }
        ms.sort_by(f64::total_cmp);
        ms[((ms.len() - 1) as f64 * p).round() as usize]
    };
    let ms = |keep: fn(&Sample) -> bool| -> Vec<f64> {
        samples
            .iter()
            .filter(|s| keep(s))
            .map(|s| s.took.as_secs_f64() * 1000.0)
            .collect()
    };
    Summary {
        get_p50: percentile(ms(|s| s.get), 0.5),
        get_p99: percentile(ms(|s| s.get), 0.99),
        scan_p50: percentile(ms(|s| s.scan), 0.5),
        throughput: samples.len() as f64 / seconds as f64,
    }
}

/// Runs `clients` clients for `seconds`; returns every operation they completed.
async fn round(
    base: &str,
    project: &str,
    template: &str,
    subjects: u64,
    clients: usize,
    seconds: u64,
) -> Vec<Sample> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (base, project, template) =
            (base.to_string(), project.to_string(), template.to_string());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut dice = Dice(0x9E37_79B9_7F4A_7C15 ^ ((client as u64 + 1) * 0x2545_F491));
            let mut samples = Vec::new();
            let mut n = 0;
            while Instant::now() < deadline {
                n += 1;
                let id = format!("{:024x}", 1 + dice.below(subjects));
                let roll = dice.below(10);
                let request = match roll {
                    0 => http.get(format!(
                        "{base}/projects/{project}/subjects?filter=info.site%3Dc"
                    )),
                    1..=5 => http.get(format!("{base}/subjects/{id}")),
                    6 => http
                        .patch(format!("{base}/subjects/{id}/info"))
                        .json(&json!({"set": {"load": n}})),
                    7 => http
                        .post(format!("{base}/subjects/{id}/tags"))
                        .json(&json!({"value": format!("t{}", n % 5)})),
                    8 => {
                        let part = reqwest::multipart::Part::bytes(vec![b'x'; 1024])
                            .file_name(format!("load-{client}-{n}.txt"));
                        http.post(format!("{base}/subjects/{id}/files"))
                            .multipart(reqwest::multipart::Form::new().part("file", part))
                    }
                    _ => http.get(format!("{base}/subjects/{template}/files/consent.txt")),
                };
                let started = Instant::now();
                let ok = match request
                    .header("Authorization", "scitran-user bench")
                    .send()
                    .await
                {
                    Ok(response) => {
                        let status = response.status();
                        response.bytes().await.is_ok() && status.is_success()
                    }
                    Err(_) => false,
                };
                if !ok {
                    eprintln!("operation {roll} on {id} failed");
                    continue;
                }
                samples.push(Sample {
                    get: (1..=5).contains(&roll),
                    scan: roll == 0,
                    took: started.elapsed(),
                });
            }
            samples
        }));
    }
    let mut samples = Vec::new();
    for task in tasks {
        if let Ok(mut done) = task.await {
            samples.append(&mut done);
        }
    }
    samples
}

/// A group, a project and `subjects` subjects (ids `000…001` to `subjects` in hex), each
/// with `info.site` and a small file; returns the project's id and the template subject's.
/// Seeds only once: a data directory that has the project already is reused.
async fn seed(
    base: &str,
    dir: &std::path::Path,
    subjects: u64,
) -> Result<(String, String), Box<dyn std::error::Error>> {
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, body: Value| {
        http.request(method, format!("{base}{path}"))
            .header("Authorization", "scitran-user bench")
            .json(&body)
            .send()
    };
    let found: Value = call(
        reqwest::Method::GET,
        "/projects?filter=label%3DLoad",
        json!(null),
    )
    .await?
    .json()
    .await?;
    if let Some(project) = found[0]["_id"].as_str() {
        let template: Value = call(
            reqwest::Method::GET,
            &format!("/projects/{project}/subjects?filter=label%3Dtemplate"),
            json!(null),
        )
        .await?
        .json()
        .await?;
        let template = template[0]["_id"].as_str().ok_or("no template")?;
        return Ok((project.to_string(), template.to_string()));
    }
    seed::seed_subjects(base, "bench", dir, ("load", "Load", "load"), subjects).await
}
