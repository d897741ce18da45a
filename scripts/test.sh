#!/usr/bin/env bash
# Runs every test of Tracker on this machine, installing what they need.
#
#   bash scripts/test.sh                      # the whole suite
#   bash scripts/test.sh -E 'test(lockout)'   # only the tests the filter selects,
#                                             # on both databases (other
#                                             # arguments go to nextest)
#
# It installs the Debian packages the tests need when they are missing
# (chromium and chromium-driver for the browser tests, postgresql for the
# second pass), checks formatting and lints (also of a build without the
# test hooks, which must not expose them), runs every suite on the embedded
# SQLite database, then the integration suites again on a throw-away
# PostgreSQL cluster. Before the suites, scripts/schemathesis.sh checks the
# API against its OpenAPI document (it installs schemathesis with pip into
# test-output/). Doc tests and schemathesis run first so that the last line
# printed is the PostgreSQL pass's summary.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        local sudo=""
        [ "$(id -u)" = 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

if [ "${TRACKER_SKIP_BROWSER:-0}" != 1 ]; then
    apt_install chromium chromium-driver
fi

export CARGO_TERM_COLOR=never
# A run from scratch gains nothing from incremental caches, which cost gigabytes.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
mkdir -p test-output

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

if ! cargo nextest --version >/dev/null 2>&1; then
    log "installing cargo-nextest"
    cargo install --locked cargo-nextest >/dev/null
fi

log "cargo clippy on the release feature set (no test hooks)"
cargo clippy --workspace --quiet -- -D warnings

log "no test hooks in a build without them"
bash scripts/check-no-test-hooks.sh

log "doc tests"
cargo test --workspace --doc --quiet

# nextest joins several -E filters with "or": a filter given here must be
# joined with each pass's own with "and", or it would widen the run.
filter="all()"
rest=()
while (($#)); do
    case "$1" in
        -E) filter="($2)"; shift 2 ;;
        -E=*) filter="(${1#-E=})"; shift ;;
        *) rest+=("$1"); shift ;;
    esac
done

# The API against its own OpenAPI document: every check, all four phases,
# a fixed seed, 0 failures. A run narrowed with -E is about some tests, so
# it leaves this out.
if [ "$filter" = "all()" ] && [ "${TRACKER_SKIP_SCHEMATHESIS:-0}" != 1 ]; then
    log "schemathesis against a demo server"
    bash scripts/schemathesis.sh
fi

log "the OpenID provider the single sign-on tests talk to (npm ci)"
bash scripts/lib/oidc-idp.sh

log "tests on the embedded SQLite database"
cargo nextest run --workspace --no-fail-fast --failure-output final -E "not binary(postgres) and $filter" "${rest[@]}"

log "the integration suites again on PostgreSQL"
bash scripts/with-postgres.sh \
    cargo nextest run --workspace --no-fail-fast --failure-output final -E "(binary(api) | binary(postgres)) and $filter" "${rest[@]}"

