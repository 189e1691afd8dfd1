#!/usr/bin/env bash
# Runs a command with the local AWS up: starts moto, exports its endpoint, runs the command,
# and stops moto again whatever the command's outcome (unless it was already running).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
started=0
if ! "$root/tools/moto.sh" env > /dev/null 2>&1; then started=1; fi
eval "$("$root/tools/moto.sh" start)"
if [ "$started" = 1 ]; then trap '"$root/tools/moto.sh" stop' EXIT; fi
"$@"
