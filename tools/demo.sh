#!/usr/bin/env bash
# `make demo`: see tools/demo/demo.py.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/bootstrap.sh"
exec "${SUITE_VENV:-$root/.venv}/bin/python" "$root/tools/demo/demo.py"
