#!/usr/bin/env bash
# Lints the SAM template with cfn-lint and checkov (skips carry their reasons in the template).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${SUITE_VENV:-$root/.venv}
template="$root/infra/template.yaml"
if [ ! -f "$template" ]; then
  echo "infra-lint: infra/template.yaml does not exist yet; nothing to lint" >&2
  exit 0
fi
"$venv/bin/cfn-lint" "$template"
# --skip-download: no call to the vendor platform (the checks ship with the package).
"$venv/bin/checkov" --quiet --compact --skip-download --framework cloudformation -f "$template"
