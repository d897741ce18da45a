#!/usr/bin/env bash
# The test hooks (the movable clock and its endpoint, the pause points) must
# exist only in test builds. Builds the binary as a release would, without
# the test-only `test-hooks` feature, and checks that `--test-clock` is an
# unknown flag and that TRACKER_TEST_CLOCK mounts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet -p tracker --bin tracker
bin=target/debug/tracker

if "$bin" serve --test-clock --help >/dev/null 2>&1; then
    echo "FAIL: the binary accepts --test-clock" >&2
    exit 1
fi

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
TRACKER_DATA_DIR="$dir" TRACKER_LISTEN="127.0.0.1:$port" TRACKER_TEST_CLOCK=true RUST_LOG=error \
    "$bin" serve >"$dir/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
status=$(python3 - "$port" <<'PY'
import sys, time, urllib.request, urllib.error
port = sys.argv[1]
for _ in range(300):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
        break
    except Exception:
        time.sleep(0.1)
req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/_test/clock", data=b'{"advance_ms": 1}',
                             headers={"content-type": "application/json"}, method="POST")
try:
    print(urllib.request.urlopen(req, timeout=5).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception as e:
    print(f"no answer: {e}")
PY
)
if [ "$status" != 404 ]; then
    echo "FAIL: POST /api/v1/_test/clock answered $status on a build without test hooks" >&2
    cat "$dir/serve.log" >&2
    exit 1
fi
echo "ok: no test clock in a build without test hooks (POST /api/v1/_test/clock -> 404)"
