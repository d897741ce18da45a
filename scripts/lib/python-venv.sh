# Source this file, then call:  python_venv DIR 'pkg==1.2.3' ...
# Makes (or reuses) a virtual environment in DIR holding exactly the pinned
# packages, installing python3-venv first when the machine lacks it. Test
# tools written in Python (schemathesis, the SCIM client) live in such
# environments under test-output/, never in the system Python.
python_venv() {
    local dir=$1
    shift
    local want stamp="$dir/.requirements"
    want=$(printf '%s\n' "$@" | sort)
    if [ -x "$dir/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        local sudo=""
        [ "$(id -u)" = 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    fi
    printf '\n== installing %s into %s\n' "$*" "$dir"
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
    printf '%s\n' "$want" >"$stamp"
}
