#!/usr/bin/env bash
# Validates the admin API's OpenAPI document (GET /api/v1/openapi.json of a real provider) with
# openapi-spec-validator from PyPI, in its own venv (tests/api/.venv, rebuilt when
# requirements.txt changes). Environment: CENTRALAUTH_BIN (default <repo>/target/debug/centralauth),
# PYTHON (default python3).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export CENTRALAUTH_BIN="${CENTRALAUTH_BIN:-$repo/target/debug/centralauth}"

if [ ! -x "$CENTRALAUTH_BIN" ]; then
    echo "api: no centralauth binary at $CENTRALAUTH_BIN (cargo build --bin centralauth, or set CENTRALAUTH_BIN)" >&2
    exit 1
fi

venv="$here/.venv"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "api: building $venv" >&2
    rm -rf "$venv"
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    echo "$want" > "$stamp"
fi
"$venv/bin/python" "$here/validate_openapi.py"
