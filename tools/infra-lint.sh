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
# Both partitions: resource types and properties each region has (Rekognition, Textract and
# function URLs do not exist in cn-northwest-1; conditions keep them out there).
"$venv/bin/cfn-lint" --regions us-east-1 cn-northwest-1 -- "$template"
# --skip-download: no call to the vendor platform (the checks ship with the package).
"$venv/bin/checkov" --quiet --compact --skip-download --framework cloudformation -f "$template"
# SAM's own validation of the serverless resources (offline with --lint).
"$root/tools/sam.sh" validate --lint --template-file "$template"
