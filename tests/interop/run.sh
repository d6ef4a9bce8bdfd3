#!/usr/bin/env bash
# Runs the interop suite: builds tests/interop/.venv from requirements.txt when it is missing or the
# requirements changed (hash stamp), then runs pytest with the arguments given.
#   tests/interop/run.sh                 # both providers (ours skipped if the binary is not built)
#   tests/interop/run.sh -k django -x    # any pytest arguments
# Environment: CENTRALAUTH_BIN (default <repo>/target/debug/centralauth),
#              CENTRALAUTH_INTEROP_REQUIRE_OURS=1 (fail instead of skip without the binary),
#              PYTHON (default python3).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"

if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "interop: building $venv" >&2
    rm -rf "$venv"
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    echo "$want" > "$stamp"
fi

cd "$here"
exec "$venv/bin/python" -m pytest "$@"
