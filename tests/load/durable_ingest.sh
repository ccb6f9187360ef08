#!/usr/bin/env bash
# Durable single-event ingest over HTTP: `firstlog serve --durability sync` on a
# fresh store in a temporary directory, then examples/http_load with 1, 8 and 64
# keep-alive clients, each posting single events to /events/track one after the
# other, SECONDS seconds each (default 10). Loopback only; stops by itself.
#
#   bash tests/load/durable_ingest.sh            # builds the release binary and the example
#   SECONDS_EACH=5 CLIENTS="1 64" DURABILITY=buffered bash tests/load/durable_ingest.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_EACH="${SECONDS_EACH:-10}"
CLIENTS="${CLIENTS:-1 8 64}"
DURABILITY="${DURABILITY:-sync}"
cargo build --release --features cli --bin firstlog --example http_load >&2
target="${CARGO_TARGET_DIR:-target}/release"
work="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
"$target/firstlog" --data "$work/store" init >/dev/null
key="$("$target/firstlog" --data "$work/store" source create Load | sed 's/.*"write_key":"\([^"]*\)".*/\1/')"
"$target/firstlog" --data "$work/store" serve --durability "$DURABILITY" --addr 127.0.0.1:0 \
  >"$work/stdout" 2>"$work/stderr" &
pid=$!
for _ in $(seq 100); do grep -q '^listening on' "$work/stdout" 2>/dev/null && break; sleep 0.1; done
addr="$(sed -n 's/^listening on http:\/\///p' "$work/stdout")"
echo "firstlog serve --durability $DURABILITY on $addr; $(nproc) cores"
for c in $CLIENTS; do
  timeout $((SECONDS_EACH + 60)) "$target/examples/http_load" "$addr" "$key" "$c" "$SECONDS_EACH"
done
