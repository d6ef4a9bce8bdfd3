#!/usr/bin/env bash
# Two independent OpenID Connect relying parties against our provider:
#   node/    panva's openid-client (npm), with node:test
#   python/  authlib (PyPI), with pytest
# Each test file starts its own `centralauth serve` on a fresh SQLite database in a temporary
# directory; nothing is started globally.
#   tests/oidc/run.sh                  # both suites
#   tests/oidc/run.sh node             # one of them
#   tests/oidc/run.sh python -k nonce  # further arguments go to that suite's runner
# Installs what is missing: `npm ci` in node/ (when node_modules is older than the lockfile),
# python/.venv from python/requirements.txt (rebuilt when its hash changes).
# Environment: CENTRALAUTH_BIN (default <repo>/target/debug/centralauth), PYTHON (default python3).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export CENTRALAUTH_BIN="${CENTRALAUTH_BIN:-$repo/target/debug/centralauth}"

if [ ! -x "$CENTRALAUTH_BIN" ]; then
    echo "oidc: no centralauth binary at $CENTRALAUTH_BIN (cargo build --bin centralauth, or set CENTRALAUTH_BIN)" >&2
    exit 1
fi

which=all
if [ $# -gt 0 ]; then
    case "$1" in
        node|python) which="$1"; shift ;;
        *) echo "usage: $0 [node|python [ARGS for node --test or pytest...]]" >&2; exit 2 ;;
    esac
fi

run_node() {
    local dir="$here/node"
    local stamp="$dir/node_modules/.package-lock.sha256"
    local want
    want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
    if [ ! -d "$dir/node_modules" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        echo "oidc: npm ci in $dir" >&2
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
        echo "$want" > "$stamp"
    fi
    echo "-- openid-client $(cd "$dir" && node -p 'require("openid-client/package.json").version')"
    (cd "$dir" && node --test --test-concurrency=1 "$@" test/)
}

run_python() {
    local dir="$here/python"
    local venv="$dir/.venv"
    local stamp="$venv/.requirements.sha256"
    local want
    want="$(sha256sum "$dir/requirements.txt" | cut -d' ' -f1)"
    if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        echo "oidc: building $venv" >&2
        rm -rf "$venv"
        "${PYTHON:-python3}" -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$dir/requirements.txt"
        echo "$want" > "$stamp"
    fi
    echo "-- authlib $("$venv/bin/python" -c 'import authlib; print(authlib.__version__)')"
    (cd "$dir" && "$venv/bin/python" -m pytest "$@")
}

status=0
if [ "$which" = all ] || [ "$which" = node ]; then
    run_node "$@" || status=1
fi
if [ "$which" = all ] || [ "$which" = python ]; then
    run_python "$@" || status=1
fi
exit "$status"
