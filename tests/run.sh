#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests use besides
# Rust (Chromium, Node.js and npm for tests/browser; Python's DuckDB for
# tests/export), then runs `cargo test --all-features`. Safe to run again: what is
# already there is not installed twice. `.ci/run` calls this too.
#
#   bash tests/run.sh            # everything
#   bash tests/run.sh storage    # arguments go to cargo test (here: one test binary's filter)
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "tests/run.sh: need root (or sudo) to install: $*" >&2
    return 1
  fi
}

missing=()
[ -x "${CHROMIUM_BIN:-/usr/bin/chromium}" ] || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import duckdb' 2>/dev/null || python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
# .ci/sdk-smoke installs Segment's Python library into a virtualenv.
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing with apt-get: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! python3 -c 'import duckdb' 2>/dev/null; then
  echo "== installing DuckDB for Python (the export tests read the Parquet back with it)"
  python3 -m pip install --quiet --user duckdb 2>/dev/null \
    || python3 -m pip install --quiet --user --break-system-packages duckdb 2>/dev/null \
    || as_root python3 -m pip install --quiet --break-system-packages duckdb
fi

echo "== node modules of tests/browser"
(cd tests/browser && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; })

echo "== cargo test --all-features $*"
cargo test --all-features "$@"
