#!/usr/bin/env bash
# Checks the served OpenAPI document against the server itself with
# schemathesis: every check, the examples, coverage, fuzzing and stateful
# phases, a fixed seed. Any failure makes this script fail.
#
#   bash scripts/schemathesis.sh            # builds and starts `tracker serve --demo`
#
# The server runs on a fresh SQLite database in a temporary directory, on a
# free port, signed in as the demo administrator (see
# scripts/schemathesis_hooks.py for how the run keeps its own session).
# Reports go to test-output/schemathesis/.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
SEED=${SCHEMATHESIS_SEED:-20261122}
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-25}

log() { printf '\n== %s\n' "$*"; }

mkdir -p test-output
source scripts/lib/python-venv.sh
python_venv test-output/schemathesis-venv "schemathesis==$SCHEMATHESIS_VERSION"

log "building tracker"
cargo build --quiet -p tracker --bin tracker

data=$(mktemp -d)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$data"
}
trap cleanup EXIT

source scripts/lib/free-port.sh
port=$(free_port)
base="http://127.0.0.1:$port"
# 127.0.0.1 is trusted as a proxy so that the run's own sign-ins can come
# from an address of their own (S12); nothing else sends X-Forwarded-For.
RUST_LOG=warn target/debug/tracker serve --demo --data-dir "$data" --listen "127.0.0.1:$port" \
    --trusted-proxies 127.0.0.1 >"$data/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    if python3 -c "import urllib.request; urllib.request.urlopen('$base/healthz', timeout=1)" 2>/dev/null; then
        break
    fi
    kill -0 "$server_pid" 2>/dev/null || { cat "$data/server.log"; echo "tracker serve --demo did not start" >&2; exit 1; }
    sleep 0.2
done

log "schemathesis $SCHEMATHESIS_VERSION against $base (seed $SEED, at most $MAX_EXAMPLES examples an operation)"
mkdir -p test-output/schemathesis
status=0
# too_slow is suppressed: generating names that match the exact S8 text
# pattern (a class of every visible Unicode character) is slow, not wrong.
# From test-output/: schemathesis keeps a crash cache in its working directory.
(cd test-output && TRACKER_ST_BASE="$base" TRACKER_ST_EMAIL=admin@demo.example TRACKER_ST_PASSWORD=Demo-Password-2026 \
    SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH=../scripts \
    schemathesis-venv/bin/st --config-file ../scripts/schemathesis.toml --no-color run "$base/api/v1/openapi.json" \
    --url "$base" \
    --checks all \
    --phases examples,coverage,fuzzing,stateful \
    --seed "$SEED" \
    --max-examples "$MAX_EXAMPLES" \
    --generation-unique-inputs \
    --generation-database none \
    --workers 1 \
    --request-timeout 30 \
    --suppress-health-check=too_slow \
    --report junit,ndjson --report-dir schemathesis \
    "$@") || status=$?
if [ "$status" != 0 ]; then
    echo "schemathesis found failures (exit $status); server log: test-output/schemathesis/server.log" >&2
    cp "$data/server.log" test-output/schemathesis/server.log
fi
exit "$status"
