#!/usr/bin/env bash
# Uploads and downloads a file (1 GiB by default) to a release fw-server with curl, then
# downloads it in bulk tar and zip archives, and reports the server's peak resident memory
# and the loopback throughput. Not part of the
# test suite: `bash crates/fw-server/bench/memory.sh [MiB]`.
set -euo pipefail
cd "$(dirname "$0")/../../.."

MIB=${1:-1024}
SIZE=$((MIB * 1024 * 1024))
WORK=$(mktemp -d)
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT

cargo build --quiet --release -p fw-server
head -c "$SIZE" /dev/urandom > "$WORK/big.bin"
target/release/fw-server serve --create --addr 127.0.0.1:0 --data-dir "$WORK/data" --admin-key bench \
  > "$WORK/out" 2> /dev/null & SERVER=$!
for _ in $(seq 50); do grep -q '^api key' "$WORK/out" 2>/dev/null && break; sleep 0.1; done
BASE="$(sed -n 's/^listening on //p' "$WORK/out")/api"
AUTH='Authorization: scitran-user bench'
json() { curl -sf -H "$AUTH" -H 'Content-Type: application/json' "$@"; }

json -X POST "$BASE/groups" -d '{"_id": "bench"}' > /dev/null
PROJECT=$(json -X POST "$BASE/projects" -d '{"label": "B", "group": "bench"}' | sed 's/.*"_id":"\([^"]*\)".*/\1/')
rss() { awk '/VmHWM/ {print $2 / 1024}' "/proc/$SERVER/status"; }
echo "server peak RSS at start: $(rss) MiB"

start=$(date +%s.%N)
curl -sf -H "$AUTH" -F "file=@$WORK/big.bin" "$BASE/projects/$PROJECT/files" > /dev/null
t=$(echo "$(date +%s.%N) - $start" | bc -l)
printf 'upload   %d MiB in %.2f s: %.0f MiB/s; server peak RSS %.1f MiB\n' "$MIB" "$t" "$(echo "$MIB / $t" | bc -l)" "$(rss)"

start=$(date +%s.%N)
curl -sf -H "$AUTH" -o "$WORK/down.bin" "$BASE/projects/$PROJECT/files/big.bin"
t=$(echo "$(date +%s.%N) - $start" | bc -l)
printf 'download %d MiB in %.2f s: %.0f MiB/s; server peak RSS %.1f MiB\n' "$MIB" "$t" "$(echo "$MIB / $t" | bc -l)" "$(rss)"
cmp "$WORK/big.bin" "$WORK/down.bin" && echo "the downloaded bytes are identical"

# Bulk archives: planned by POST /download, streamed by GET /download without a key.
TICKET=$(json -X POST "$BASE/download" -d "{\"nodes\": [{\"level\": \"project\", \"_id\": \"$PROJECT\"}]}" \
  | sed 's/.*"ticket":"\([^"]*\)".*/\1/')
for format in tar zip; do
  start=$(date +%s.%N)
  curl -sf -o "$WORK/bulk.$format" "$BASE/download?ticket=$TICKET&format=$format"
  t=$(echo "$(date +%s.%N) - $start" | bc -l)
  printf '%s      %d MiB in %.2f s: %.0f MiB/s; server peak RSS %.1f MiB\n' "$format" "$MIB" "$t" "$(echo "$MIB / $t" | bc -l)" "$(rss)"
done
tar -xOf "$WORK/bulk.tar" | cmp - "$WORK/big.bin" && echo "the tar member is identical"
python3 -c 'import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z, z.open(z.namelist()[0]) as m, open(sys.argv[2], "wb") as out:
    shutil.copyfileobj(m, out, 1 << 20)' "$WORK/bulk.zip" "$WORK/unzipped.bin"
cmp "$WORK/unzipped.bin" "$WORK/big.bin" && echo "the zip member is identical (CRC checked)"
