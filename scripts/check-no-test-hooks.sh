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
source scripts/lib/free-port.sh
port=$(free_port)
TRACKER_DATA_DIR="$dir" TRACKER_LISTEN="127.0.0.1:$port" TRACKER_TEST_CLOCK=true RUST_LOG=error \
    "$bin" serve >"$dir/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done
# One HTTP/1.1 request over bash's /dev/tcp; the status code of the answer.
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'POST /api/v1/_test/clock HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 17\r\nConnection: close\r\n\r\n{"advance_ms": 1}' >&3
read -r _ status _ <&3 || status="no answer"
exec 3<&-
if [ "$status" != 404 ]; then
    echo "FAIL: POST /api/v1/_test/clock answered $status on a build without test hooks" >&2
    cat "$dir/serve.log" >&2
    exit 1
fi
echo "ok: no test clock in a build without test hooks (POST /api/v1/_test/clock -> 404)"
