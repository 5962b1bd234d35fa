//! Parse and evaluation throughput on realistic filters, queries and the fixtures.
//! Run with `cargo bench -p fw-filter`; the figures go in the crate README.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fw_filter::{parse_filter, parse_query, parse_sort};
use serde_json::Value;

fn fixture(name: &str) -> Vec<Value> {
    let path = format!("{}/../../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .map(|l| serde_json::from_str(l).expect("fixture lines are JSON"))
        .collect()
}

fn parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.bench_function("finder `label=~resting.*,age<30` (regex cached)", |b| {
        b.iter(|| parse_filter(black_box("label=~resting.*,age<30")))
    });
    // A new pattern every time: what the first parse of a filter costs.
    let counter = AtomicU64::new(0);
    group.bench_function(
        "finder `label=~resting<n>.*,age<30` (regex compiled)",
        |b| {
            b.iter_batched(
                || {
                    format!(
                        "label=~resting{}.*,age<30",
                        counter.fetch_add(1, Ordering::Relaxed)
                    )
                },
                |text| parse_filter(&text),
                criterion::BatchSize::SmallInput,
            )
        },
    );
    group.bench_function("finder `age<30,sex=male`", |b| {
        b.iter(|| parse_filter(black_box("age<30,sex=male")))
    });
    group.bench_function("finder, 5 conditions with ids and dates", |b| {
        b.iter(|| {
            parse_filter(black_box(
                "parents.project=5ebd4ff8bfda5102856aa084,label=BOLD_task,created>2018-10-31,state=|[running,pending],info.n>=3",
            ))
        })
    });
    group.bench_function("sort `label:asc,created:desc`", |b| {
        b.iter(|| parse_sort(black_box("label:asc,created:desc")))
    });
    group.bench_function("flyql, 4 terms", |b| {
        b.iter(|| {
            parse_query(black_box(
                "session.age >= 0 AND session.age <= 2019686400 AND project.label = Sample AND file.classification.Measurement = T1",
            ))
        })
    });
    group.finish();
}

fn evaluation(c: &mut Criterion) {
    let containers = fixture("containers.jsonl");
    let search_docs = fixture("search-docs.jsonl");
    let mut group = c.benchmark_group("evaluate");
    group.throughput(Throughput::Elements(containers.len() as u64));
    for filter in [
        "age<946728000",
        "container_type=session",
        "label=~^T1w",
        "created>2019-06-01",
        "label=~resting.*,age<946728000",
        "parents.subject=5f0c00000000000000000002,files.classification.Measurement=T1",
    ] {
        let parsed = parse_filter(filter).expect("benchmark filters parse");
        group.bench_function(format!("finder `{filter}`"), |b| {
            b.iter(|| containers.iter().filter(|d| parsed.matches(d)).count())
        });
    }
    group.throughput(Throughput::Elements(search_docs.len() as u64));
    for query in [
        "subject.sex = female",
        "session.age >= 0 AND session.age <= 2019686400 AND file.classification.Measurement = T1",
        "subject.code LIKE \"sub-rs0%\" OR project.label CONTAINS aging",
    ] {
        let parsed = parse_query(query).expect("benchmark queries parse");
        group.bench_function(format!("flyql `{query}`"), |b| {
            b.iter(|| search_docs.iter().filter(|d| parsed.matches(d)).count())
        });
    }
    group.finish();
}

criterion_group!(benches, parsing, evaluation);
criterion_main!(benches);
