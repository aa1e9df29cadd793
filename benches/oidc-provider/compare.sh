#!/usr/bin/env bash
# Lanyard and Node's oidc-provider under the same load, one after the other in one run:
#   benches/oidc-provider/compare.sh
# Installs oidc-provider from npm on first use (node_modules here, not committed).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
[ -d node_modules/oidc-provider ] || npm install --no-audit --no-fund --silent
PORT=3900 NODE_ENV=production node server.mjs &
node_pid=$!
trap 'kill $node_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf http://127.0.0.1:3900/.well-known/openid-configuration >/dev/null && break; sleep 0.2; done
cd "$here/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/lanyard-target}"
cargo bench --bench oidc
OIDC_BENCH_LABEL="oidc-provider $(node -p 'require("./benches/oidc-provider/node_modules/oidc-provider/package.json").version')" \
OIDC_BENCH_TOKEN_URL=http://127.0.0.1:3900/token OIDC_BENCH_CLIENT_ID=bench \
OIDC_BENCH_CLIENT_SECRET=bench-secret-0123456789abcdef0123456789abcdef \
  cargo bench --bench oidc
