#!/usr/bin/env bash
# Fails when a function's dependency tree (as built for Lambda, arm64) links a second HTTP/TLS
# stack: the SDK's legacy hyper 0.14 / rustls 0.21 client, or ring (rustls' other crypto
# provider; the suite uses aws-lc, which the SDK needs anyway). The SDK crates bring these back
# as soon as one of them is declared with default features.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=$(cargo tree --locked -e normal --target aarch64-unknown-linux-gnu --workspace --prefix none --format '{p}' | sort -u)
bad=$(grep -E '^(hyper v0\.14|rustls v0\.(19|20|21)|rustls-webpki v0\.10[01]|hyper-rustls v0\.(23|24)|ring v)' <<<"$tree" || true)
if [ -n "$bad" ]; then
  echo "check-deps: the functions link a second HTTP/TLS stack:" >&2
  echo "$bad" | sed 's/^/  /' >&2
  echo "  see which dependency brings it: cargo tree -e normal --target aarch64-unknown-linux-gnu -i <crate>@<version>" >&2
  exit 1
fi
echo "check-deps: one HTTP/TLS stack (hyper 1, rustls 0.23 on aws-lc) in every function"
