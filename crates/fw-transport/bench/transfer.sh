#!/usr/bin/env bash
# Uploads and downloads a file (1 GiB by default) through fw-transport and through curl,
# against a local streaming server, ROUNDS times each, alternating, and prints the median
# throughput and fw-transport's peak memory. fw-transport's download fsyncs the file before
# renaming it into place, so curl is timed both plain and followed by `sync`.
# Not part of the test suite: `bash crates/fw-transport/bench/transfer.sh [MiB] [ROUNDS]`.
set -euo pipefail
cd "$(dirname "$0")/../../.."

MIB=${1:-1024}
ROUNDS=${2:-3}
SIZE=$((MIB * 1024 * 1024))
PORT=${PORT:-18517}
WORK=$(mktemp -d)
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT

cargo build --quiet --release -p fw-transport --example transfer-bench
BENCH=target/release/examples/transfer-bench
head -c "$SIZE" /dev/urandom > "$WORK/big.bin"
URL="http://127.0.0.1:$PORT/api/acquisitions/a1/files"

"$BENCH" serve "$PORT" & SERVER=$!
for _ in $(seq 50); do curl -s -o /dev/null "$URL/x?size=0" && break; sleep 0.1; done

timed() { # LABEL COMMAND…: prints "LABEL MiB/s"
  local label=$1; shift
  local start end
  start=$(date +%s.%N); "$@" > /dev/null; end=$(date +%s.%N)
  echo "$label $(echo "$SIZE / ($end - $start) / 1048576" | bc -l)"
}

RESULTS="$WORK/results"
for round in $(seq "$ROUNDS"); do
  "$BENCH" upload "$PORT" "$WORK/big.bin" | tee -a "$WORK/rss" | awk '{print "fw-transport-upload", $6}' >> "$RESULTS"
  timed curl-upload curl -s -o /dev/null -H 'Authorization: scitran-user bench' -F "file=@$WORK/big.bin" "$URL" >> "$RESULTS"
  "$BENCH" download "$PORT" "$WORK/down.bin" "$SIZE" | tee -a "$WORK/rss" | awk '{print "fw-transport-download", $6}' >> "$RESULTS"
  test "$(stat -c %s "$WORK/down.bin")" -eq "$SIZE"; rm -f "$WORK/down.bin"
  NO_SYNC=1 "$BENCH" download "$PORT" "$WORK/down.bin" "$SIZE" | tee -a "$WORK/rss" | awk '{print "fw-transport-download-nosync", $6}' >> "$RESULTS"
  rm -f "$WORK/down.bin"
  timed curl-download curl -s -o "$WORK/down.bin" "$URL/big.bin?size=$SIZE" >> "$RESULTS"; rm -f "$WORK/down.bin"
  timed curl-download+sync sh -c "curl -s -o '$WORK/down.bin' '$URL/big.bin?size=$SIZE' && sync '$WORK/down.bin'" >> "$RESULTS"
  rm -f "$WORK/down.bin"
done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%Y-%m-%d)"
echo "command: bash crates/fw-transport/bench/transfer.sh $MIB $ROUNDS"
echo "== $MIB MiB, $ROUNDS rounds: median MiB/s (lowest - highest round)"
for label in fw-transport-upload curl-upload fw-transport-download curl-download+sync fw-transport-download-nosync curl-download; do
  grep "^$label " "$RESULTS" | awk '{print $2}' | sort -n | awk -v l="$label" '{v[NR]=$1} END {printf "%-30s %6.0f   (%.0f - %.0f)\n", l, v[int((NR+1)/2)], v[1], v[NR]}'
done
echo "fw-transport peak RSS: $(awk '{print $(NF-1)}' "$WORK/rss" | sort -n | tail -1) MiB"
