#!/usr/bin/env bash
# Uploads and downloads a file (1 GiB by default) through fw-transport and through curl,
# against a local streaming server, and prints throughput and the client's peak memory.
# Not part of the test suite: run it by hand, `bash crates/fw-transport/bench/transfer.sh [MiB]`.
set -euo pipefail
cd "$(dirname "$0")/../../.."

MIB=${1:-1024}
SIZE=$((MIB * 1024 * 1024))
PORT=${PORT:-18517}
WORK=$(mktemp -d)
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT

cargo build --quiet --release -p fw-transport --example transfer-bench
BENCH=target/release/examples/transfer-bench
head -c "$SIZE" /dev/urandom > "$WORK/big.bin"

"$BENCH" serve "$PORT" & SERVER=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/api/acquisitions/a/files/x?size=0" && break; sleep 0.1; done

seconds() { local start=$1; echo "$(date +%s.%N) - $start" | bc -l; }
rate() { echo "$SIZE / $1 / 1048576" | bc -l | xargs printf '%.0f'; }

echo "== fw-transport ($MIB MiB)"
"$BENCH" upload "$PORT" "$WORK/big.bin"
"$BENCH" download "$PORT" "$WORK/down.bin" "$SIZE"
test "$(stat -c %s "$WORK/down.bin")" -eq "$SIZE"
rm -f "$WORK/down.bin"

echo "== curl ($MIB MiB)"
start=$(date +%s.%N)
curl -s -o /dev/null -H 'Authorization: scitran-user bench' -F "file=@$WORK/big.bin" \
  "http://127.0.0.1:$PORT/api/acquisitions/a1/files"
t=$(seconds "$start"); echo "upload $SIZE bytes $(printf '%.2f' "$t") s $(rate "$t") MiB/s"
start=$(date +%s.%N)
curl -s -o "$WORK/down.bin" "http://127.0.0.1:$PORT/api/acquisitions/a1/files/big.bin?size=$SIZE"
t=$(seconds "$start"); echo "download $SIZE bytes $(printf '%.2f' "$t") s $(rate "$t") MiB/s"
