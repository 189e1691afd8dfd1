#!/usr/bin/env bash
# For `make report` / `make query`: prints the local AWS's `export` lines when it is running and
# no account was chosen (AWS_ENDPOINT_URL or AWS_PROFILE set win); prints nothing otherwise.
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${AWS_ENDPOINT_URL:-}" ] && [ -z "${AWS_PROFILE:-}" ]; then
  "$root/tools/moto.sh" env 2> /dev/null || true
fi
