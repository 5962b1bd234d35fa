# Sourced by the benchmarks of this folder: starts a release fw-server with a `bench`
# group in "$WORK/data" on 127.0.0.1:$PORT, sets SERVER (its pid), KEY (an API key) and
# API, and defines `new_project LABEL`, which prints the new project's id.
target/release/fw-server serve --create --addr "127.0.0.1:$PORT" --data-dir "$WORK/data" \
  --admin-key bench-secret > "$WORK/server.log" 2>&1 & SERVER=$!
KEY="127.0.0.1:$PORT:__force_insecure:bench-secret"
API="http://127.0.0.1:$PORT/api"
for _ in $(seq 100); do curl -sf -o /dev/null "$API/version" && break; sleep 0.1; done
curl -sf -o /dev/null -H 'Authorization: scitran-user bench-secret' -H 'Content-Type: application/json' \
  -d '{"_id": "bench", "label": "Bench"}' "$API/groups"
new_project() {
  curl -sf -H 'Authorization: scitran-user bench-secret' -H 'Content-Type: application/json' \
    -d "{\"group\": \"bench\", \"label\": \"$1\"}" "$API/projects" | sed 's/.*"_id": *"\([^"]*\)".*/\1/'
}
