#!/usr/bin/env bash
# `make bench`: runs tools/bench/bench.py with the local AWS up. See BENCHMARKS.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/bootstrap.sh"
cd "$root"
exec "$root/tools/with-moto.sh" python3 -m tools.bench.bench
