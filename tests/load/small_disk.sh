#!/usr/bin/env bash
# A full disk, for real: `firstlog serve` on a 6 MiB tmpfs (needs root for the
# mount; not in the default test run). A 3 MiB filler file leaves less than one
# 64 MiB segment: the server starts with smaller segments, collects until the
# disk is full (503 disk_full, /readyz disk_full, not poisoned), then the filler
# is removed and writes resume without a restart; after a kill -9, verify is
# clean and every acknowledged event is there.
#
#   sudo bash tests/load/small_disk.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --features cli --bin firstlog >&2
bin="${CARGO_TARGET_DIR:-target}/release/firstlog"
mnt="$(mktemp -d)"
mount -t tmpfs -o size=6m tmpfs "$mnt"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; fi
  sleep 0.2
  umount "$mnt" || true
  rmdir "$mnt" || true
}
trap cleanup EXIT
store="$mnt/store"
"$bin" --data "$store" init >/dev/null
key="$("$bin" --data "$store" source create Web | sed 's/.*"write_key":"\([^"]*\)".*/\1/')"
dd if=/dev/zero of="$mnt/filler" bs=1M count=3 status=none
"$bin" --data "$store" serve --addr 127.0.0.1:0 >"$mnt/../small-disk-stdout" 2>/dev/null &
pid=$!
for _ in $(seq 100); do grep -q '^listening on' "$mnt/../small-disk-stdout" 2>/dev/null && break; sleep 0.1; done
addr="$(sed -n 's/^listening on http:\/\///p' "$mnt/../small-disk-stdout")"
echo "serve on $addr, $(df -k "$mnt" | awk 'NR==2 {print $4}') KiB free"
acked="$(python3 - "$addr" "$key" <<'PY'
import json, sys, urllib.request, urllib.error
addr, key = sys.argv[1], sys.argv[2]
ok = 0
while True:
    body = json.dumps({"event": "Page Viewed", "write_key": key,
                       "properties": {"pad": "x" * 1500, "i": ok}}).encode()
    req = urllib.request.Request(f"http://{addr}/events/track", data=body,
                                 headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(req).read()
        ok += 1
    except urllib.error.HTTPError as e:
        print(f"after {ok} events: {e.code} {e.read().decode()}", file=sys.stderr)
        assert e.code == 503, e.code
        break
print(ok)
PY
)"
echo "acknowledged: $acked"
ls -l "$store"/*.seg
echo "readyz: $(curl -s "http://$addr/readyz")"
rm "$mnt/filler"
echo "filler removed; readyz: $(curl -s "http://$addr/readyz")"
echo "one more: $(curl -s -XPOST "http://$addr/events/track" -d "{\"event\":\"Page Viewed\",\"write_key\":\"$key\"}")"
kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=""
"$bin" --data "$store" verify
last="$("$bin" --data "$store" stats --format ndjson | python3 -c 'import json,sys; print(json.load(sys.stdin)["last_seq"])')"
echo "after kill -9: last seq $last (acknowledged $acked + 1)"
[ "$last" = "$((acked + 1))" ]
