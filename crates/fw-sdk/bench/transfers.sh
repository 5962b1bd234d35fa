#!/usr/bin/env bash
# Bulk transfers, fw-sdk against the official Python SDK (flywheel-sdk 23.0.0), in the same
# run against one release fw-server on 127.0.0.1:
#   import: fw-sdk `import_folder` vs a Python loop of `find_first`/`add_*` + `upload_file`
#   tree:   fw-sdk `download_tree` (4 at once, each file sha384-verified and fsynced)
#           vs a Python loop of `download_file`
#   tar:    one `download_tar` of the project, each SDK
# FILES files of 1 MiB (random) in 10 subjects × 1 session × 1 acquisition, ROUNDS rounds
# (fresh projects each round). Prints the median (min-max) MiB/s of each, and each
# client's peak RSS (/usr/bin/time). Not a test: `bash crates/fw-sdk/bench/transfers.sh
# [FILES] [ROUNDS]`.
set -euo pipefail
cd "$(dirname "$0")/../../.."

FILES=${1:-1000}
ROUNDS=${2:-3}
PORT=${PORT:-18611}
SUBJECTS=10
VENV=target/conformance-venv
if ! "$VENV/bin/python" -c 'import flywheel' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q flywheel-sdk==23.0.0
fi
cargo build --quiet --release -p fw-server --bin fw-server
cargo build --quiet --release -p fw-sdk --example transfers
RUST=target/release/examples/transfers
PY="$VENV/bin/python crates/fw-sdk/bench/transfers.py"

WORK=$(mktemp -d -p "${TMPDIR:-/tmp}" fw-bench.XXXXXX)
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT

# The folder to import: sub-NN/ses-1/acq-1/fNNNN.dat.
for ((i = 0; i < FILES; i++)); do
  dir="$WORK/src/sub-$((i % SUBJECTS))/ses-1/acq-1"
  mkdir -p "$dir"
  head -c 1048576 /dev/urandom > "$dir/f$i.dat"
done

source crates/fw-sdk/bench/server.sh

RESULTS="$WORK/results"
RESULTS_COPY=target/transfers-bench-results.txt
run() { # LABEL COMMAND…: appends "LABEL seconds files peak_rss_kib"
  local label=$1; shift
  local out
  out=$(/usr/bin/time -f 'RSS %M' "$@" 2>&1)
  echo "$out" | awk -v l="$label" '/^RSS/ {rss=$2} /^(import|tree|tar) / {s=$2; n=$3} END {print l, s, n, rss}' >> "$RESULTS"
  tail -1 "$RESULTS" | tee -a "$RESULTS_COPY.partial"
}
for round in $(seq "$ROUNDS"); do
  rust=$(new_project "rust-$round"); py=$(new_project "python-$round")
  run rust-import $RUST import "$KEY" "$rust" "$WORK/src"
  run python-import $PY import "$KEY" "$py" "$WORK/src"
  run rust-tree $RUST tree "$KEY" "$rust" "$WORK/rust-tree"
  test "$(find "$WORK/rust-tree" -type f | wc -l)" -eq "$FILES"; rm -rf "$WORK/rust-tree"
  run python-tree $PY tree "$KEY" "$py" "$WORK/python-tree"
  test "$(find "$WORK/python-tree" -type f | wc -l)" -eq "$FILES"; rm -rf "$WORK/python-tree"
  run rust-tar $RUST tar "$KEY" "$rust" "$WORK/rust.tar"; rm -f "$WORK/rust.tar"
  run python-tar $PY tar "$KEY" "$py" "$WORK/python.tar"; rm -f "$WORK/python.tar"
done

echo "== $FILES files of 1 MiB, $ROUNDS rounds: MiB/s median (min-max), client peak RSS"
for label in rust-import python-import rust-tree python-tree rust-tar python-tar; do
  rates=$(grep "^$label " "$RESULTS" | awk '{printf "%.1f\n", $3 / $2}' | sort -n)
  rss=$(grep "^$label " "$RESULTS" | awk '{print $4}' | sort -n | tail -1)
  echo "$rates" | awk -v l="$label" -v rss="$rss" '{v[NR] = $1}
    END {printf "%-14s %7.1f (%.1f-%.1f) MiB/s  peak RSS %5.1f MiB\n", l, v[int((NR + 1) / 2)], v[1], v[NR], rss / 1024}'
done
cp "$RESULTS" target/transfers-bench-results.txt
