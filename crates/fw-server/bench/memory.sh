#!/usr/bin/env bash
# Uploads and downloads a file (1 GiB by default) to a release fw-server with curl, then
# downloads it in bulk tar and zip archives, and reports the server's peak resident memory
# and the loopback throughput: the median of ROUNDS rounds with the range, and the machine.
# Not part of the test suite: `bash crates/fw-server/bench/memory.sh [MiB] [ROUNDS]`.
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

ROUNDS=${2:-3}
TIMES="$WORK/times"
timed() { # NAME COMMAND...: runs it, appends "NAME seconds peak-RSS" to $TIMES
  local name=$1 start t; shift
  start=$(date +%s.%N)
  "$@"
  t=$(echo "$(date +%s.%N) - $start" | bc -l)
  echo "$name $t $(rss)" >> "$TIMES"
}
for round in $(seq "$ROUNDS"); do
  timed upload curl -sf -H "$AUTH" -F "file=@$WORK/big.bin" "$BASE/projects/$PROJECT/files" -o /dev/null
  timed download curl -sf -H "$AUTH" -o "$WORK/down.bin" "$BASE/projects/$PROJECT/files/big.bin"
  cmp "$WORK/big.bin" "$WORK/down.bin"
  # Bulk archives: planned by POST /download, streamed by GET /download without a key.
  TICKET=$(json -X POST "$BASE/download" -d "{\"nodes\": [{\"level\": \"project\", \"_id\": \"$PROJECT\"}]}" \
    | sed 's/.*"ticket":"\([^"]*\)".*/\1/')
  for format in tar zip; do
    timed "$format" curl -sf -o "$WORK/bulk.$format" "$BASE/download?ticket=$TICKET&format=$format"
  done
  tar -xOf "$WORK/bulk.tar" | cmp - "$WORK/big.bin"
  python3 -c 'import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z, z.open(z.namelist()[0]) as m, open(sys.argv[2], "wb") as out:
    shutil.copyfileobj(m, out, 1 << 20)' "$WORK/bulk.zip" "$WORK/unzipped.bin"
  cmp "$WORK/unzipped.bin" "$WORK/big.bin"
  echo "round $round: every downloaded byte identical (file, tar member, zip member with its CRC)"
done

echo "== $MIB MiB, $ROUNDS rounds on $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)"
echo "== reproduce: bash crates/fw-server/bench/memory.sh $MIB $ROUNDS"
python3 - "$TIMES" "$MIB" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, seconds, rss = line.split()
    rows.setdefault(name, []).append((float(seconds), float(rss)))
mib = float(sys.argv[2])
for name, runs in rows.items():
    speeds = sorted(mib / s for s, _ in runs)
    print(f"{name:9} {statistics.median(speeds):7.0f} MiB/s ({speeds[0]:.0f}-{speeds[-1]:.0f}); "
          f"server peak RSS after it {max(r for _, r in runs):.1f} MiB")
PY
