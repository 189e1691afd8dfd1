#!/usr/bin/env bash
# Installs the project's local tools (moto server, cargo-lambda, cfn-lint, checkov) into .venv,
# pinned by tools/requirements.txt. Re-runs only when that file changes. SUITE_VENV moves the
# environment elsewhere (CI keeps it in its cache directory).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${SUITE_VENV:-$root/.venv}
req="$root/tools/requirements.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "bootstrap: installing local tools into .venv (moto, cargo-lambda, cfn-lint, checkov)" >&2
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
echo "$want" > "$stamp"
