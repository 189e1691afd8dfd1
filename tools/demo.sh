#!/usr/bin/env bash
# `make demo`: see tools/demo/demo.py.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/bootstrap.sh"
cd "$root"
exec "${SUITE_VENV:-$root/.venv}/bin/python" -m tools.demo.demo
