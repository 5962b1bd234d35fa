#!/usr/bin/env bash
# Client peak memory of fw-sdk's bulk transfers against a release fw-server on 127.0.0.1:
# `import_folder` and `download_tree` of one file of MIB MiB (sparse, so it costs no
# disk to make; default 1024) and of FILES files of 1 MiB (default 1000). Prints each
# run's peak RSS (/usr/bin/time) and fails if one reaches LIMIT MiB (default 64, the
# target of issue 11). Not a test: `bash crates/fw-sdk/bench/memory.sh [MIB] [FILES]`.
set -euo pipefail
cd "$(dirname "$0")/../../.."

MIB=${1:-1024}
FILES=${2:-1000}
LIMIT=${LIMIT:-64}
PORT=${PORT:-18612}
cargo build --quiet --release -p fw-server --bin fw-server
cargo build --quiet --release -p fw-sdk --example transfers
RUST=target/release/examples/transfers

WORK=$(mktemp -d -p "${TMPDIR:-/tmp}" fw-memory.XXXXXX)
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/large/sub-1/ses-1/acq-1"
truncate -s "${MIB}M" "$WORK/large/sub-1/ses-1/acq-1/large.bin"
for ((i = 0; i < FILES; i++)); do
  dir="$WORK/many/sub-$((i % 10))/ses-1/acq-1"
  mkdir -p "$dir"
  head -c 1048576 /dev/urandom > "$dir/f$i.dat"
done

source crates/fw-sdk/bench/server.sh

failed=0
measure() { # LABEL COMMAND…: prints the peak RSS, and notes when it reaches the limit
  local label=$1; shift
  local kib
  kib=$(/usr/bin/time -f 'RSS %M' "$@" 2>&1 >/dev/null | awk '/^RSS/ {print $2}')
  local mib=$((kib / 1024))
  printf '%-28s peak RSS %4d MiB\n' "$label" "$mib"
  if [ "$mib" -ge "$LIMIT" ]; then failed=1; fi
}
large=$(new_project large); many=$(new_project many)
measure "import 1 x $MIB MiB" $RUST import "$KEY" "$large" "$WORK/large"
measure "download_tree 1 x $MIB MiB" $RUST tree "$KEY" "$large" "$WORK/large-tree"
cmp "$WORK/large/sub-1/ses-1/acq-1/large.bin" "$WORK/large-tree/bench/large/sub-1/ses-1/acq-1/large.bin"
measure "download_tar 1 x $MIB MiB" $RUST tar "$KEY" "$large" "$WORK/large.tar"
rm -rf "$WORK/large-tree" "$WORK/large.tar"
measure "import $FILES x 1 MiB" $RUST import "$KEY" "$many" "$WORK/many"
measure "download_tree $FILES x 1 MiB" $RUST tree "$KEY" "$many" "$WORK/many-tree"
test "$(find "$WORK/many-tree" -type f | wc -l)" -eq "$FILES"
if [ "$failed" -ne 0 ]; then
  echo "a peak RSS reached $LIMIT MiB" >&2
  exit 1
fi
echo "every peak RSS is under $LIMIT MiB"
