#!/usr/bin/env bash
# Installs the test identity provider (npm's oidc-provider, SSO1) into
# crates/tracker/tests/oidc-idp/node_modules from its committed
# package-lock.json with `npm ci`, once per lock file: a later run with the
# same lock does nothing. Safe to run from several tests at once (flock).
# Installs Debian's nodejs and npm first when the machine lacks them.
#
#   bash scripts/lib/oidc-idp.sh
set -euo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/crates/tracker/tests/oidc-idp"
exec 9>"$dir/.install.lock"
flock 9
want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
stamp="$dir/node_modules/.installed-lock-sha256"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
printf '\n== installing the test identity provider (oidc-provider) into %s\n' "$dir" >&2
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
printf '%s\n' "$want" >"$stamp"
