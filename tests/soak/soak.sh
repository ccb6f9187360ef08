#!/usr/bin/env bash
# Soak test (not in `cargo test`): `firstlog serve` under mixed abusive load
# (slowloris, idle floods, undrained reads, huge headers) and normal clients for
# SOAK_SECONDS (default 120); checks that normal clients keep being served, the
# health check keeps answering, and every acknowledged event is stored once.
# Loopback only; stops by itself. See soak.py for what each client does.
#
#   bash tests/soak/soak.sh                 # 2 minutes
#   SOAK_SECONDS=600 bash tests/soak/soak.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export SOAK_SECONDS="${SOAK_SECONDS:-120}"
cargo build --release --features cli --bin firstlog >&2
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
export SOAK_BIN="$target/release/firstlog"
work="$(mktemp -d)"
export SOAK_DATA="$work/store" SOAK_TOKEN="soak-$RANDOM$RANDOM"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
"$SOAK_BIN" --data "$SOAK_DATA" init >/dev/null
export SOAK_KEY="$("$SOAK_BIN" --data "$SOAK_DATA" source create Soak | sed 's/.*"write_key":"\([^"]*\)".*/\1/')"
# Big pages for the undrained readers: 20,000 events of ~300 bytes.
python3 -c "
import json, sys
for i in range(20000):
    print(json.dumps({'event': 'Preloaded', 'write_key': sys.argv[1], 'properties': {'pad': 'x' * 250, 'i': i}}))
" "$SOAK_KEY" | "$SOAK_BIN" --data "$SOAK_DATA" collect - >/dev/null
"$SOAK_BIN" --data "$SOAK_DATA" serve --addr 127.0.0.1:0 --read-token "$SOAK_TOKEN" \
  --max-connections 512 --header-read-timeout-secs 5 --idle-timeout-secs 10 --write-timeout-secs 5 \
  >"$work/stdout" 2>"$work/stderr" &
pid=$!
for _ in $(seq 100); do grep -q '^listening on' "$work/stdout" 2>/dev/null && break; sleep 0.1; done
export SOAK_ADDR="$(sed -n 's/^listening on http:\/\///p' "$work/stdout")" SOAK_PID="$pid"
ulimit -n 4096 || true
status=0
timeout $((SOAK_SECONDS + 300)) python3 tests/soak/soak.py || status=$?
echo "--- serve stderr (last lines)"; tail -3 "$work/stderr"
exit "$status"
