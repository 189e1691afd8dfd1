#!/usr/bin/env bash
# Runs the pinned AWS SAM CLI (tools/requirements-sam.txt), installing it on first use into
# $SUITE_VENV/sam (its own environment: its boto3 pin conflicts with checkov's). No telemetry.
#   tools/sam.sh validate --lint --template-file infra/template.yaml
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${SUITE_VENV:-$root/.venv}/sam
req="$root/tools/requirements-sam.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "sam: installing the AWS SAM CLI into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
  echo "$want" > "$stamp"
fi
export SAM_CLI_TELEMETRY=0
exec "$venv/bin/sam" "$@"
