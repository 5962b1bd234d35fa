#!/usr/bin/env bash
# Runs fw-filter's criterion benchmarks RUNS times (5 by default) and prints, for each, the
# median over the runs of criterion's median, with the lowest and highest run: one run on a
# shared machine can be 2x off, so a single figure says little.
# Not part of the test suite: `bash crates/fw-filter/bench/run.sh [RUNS]` (about 40 s a run
# after the first build). Needs python3 for the summary.
set -euo pipefail
cd "$(dirname "$0")/../../.."

RUNS=${1:-5}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

cargo bench --quiet -p fw-filter --bench filter --no-run
for run in $(seq "$RUNS"); do
  echo "run $run of $RUNS" >&2
  # Shorter than criterion's defaults: the spread between runs is what we report.
  cargo bench --quiet -p fw-filter --bench filter -- --warm-up-time 0.5 --measurement-time 1.5 >/dev/null 2>&1
  mkdir -p "$OUT/$run"
  find target/criterion -path '*/new/estimates.json' | while read -r f; do
    dir=$(dirname "$(dirname "$f")")
    name=$(cat "$dir/new/benchmark.json" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["full_id"])')
    echo "$name	$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["median"]["point_estimate"])' "$f")	$(cat "$dir/new/benchmark.json" | python3 -c 'import json,sys; t=json.load(sys.stdin).get("throughput"); print((t or {}).get("Elements", ""))')"
  done > "$OUT/$run/results.tsv"
done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%Y-%m-%d)"
echo "command: bash crates/fw-filter/bench/run.sh $RUNS"
python3 - "$OUT" "$RUNS" <<'PY'
import statistics, sys, pathlib
out, runs = pathlib.Path(sys.argv[1]), int(sys.argv[2])
by_name = {}
for run in range(1, runs + 1):
    for line in (out / str(run) / "results.tsv").read_text().splitlines():
        name, ns, elements = line.split("\t")
        by_name.setdefault(name, (elements, []))[1].append(float(ns))
def show(ns, elements):
    if elements:  # documents per second, in millions
        return f"{int(elements) / ns * 1e3:.1f} M/s"
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"
print(f"{'benchmark':<70} {'median':>11}   (range over the runs)")
for name, (elements, values) in sorted(by_name.items()):
    med = statistics.median(values)
    lo, hi = min(values), max(values)
    if elements:  # a higher throughput is better: the slowest run has the largest time
        lo, hi = hi, lo
    print(f"{name:<70} {show(med, elements):>11}   ({show(lo, elements)} - {show(hi, elements)})")
PY
