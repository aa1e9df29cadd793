#!/usr/bin/env bash
# Lanyard (release binary, SQLite, its own process) and Node's oidc-provider under the same wrk
# load, alternately: `wrk -t2 -c32 -d10s` of client_credentials grants, as the issue's reference
# figure for oidc-provider was measured.
#   benches/oidc-provider/wrk.sh             (needs wrk: apt-get install wrk)
#   ROUNDS=5 benches/oidc-provider/wrk.sh    (five alternating pairs)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/lanyard-target}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
(cd "$here" && { [ -d node_modules/oidc-provider ] || npm install --no-audit --no-fund --silent; })
(cd "$root" && cargo build --release --bin lanyard --quiet)
bin="$CARGO_TARGET_DIR/release/lanyard"
data="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$data"' EXIT

# A server left over from an earlier run would be measured instead of a fresh one.
for port in 3900 3901; do
  if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
    echo "port $port is taken (a server from an earlier run?): stop it first" >&2; exit 1
  fi
done
export LANYARD_DATA_DIR="$data" LANYARD_LISTEN=127.0.0.1:3901 LANYARD_LOG_LEVEL=warn \
  LANYARD_OIDC_RATE_PER_IP=0 LANYARD_OIDC_RATE_PER_CLIENT=0
"$bin" serve >"$data/serve.log" 2>&1 &
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:3901/readyz >/dev/null && break; sleep 0.2; done
token=$("$bin" admin token create bench --json | sed -n 's/.*"secret": *"\([^"]*\)".*/\1/p')
app=$(curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"name":"bench","grant_types":["client_credentials"],"scopes":["api.read"]}' \
  http://127.0.0.1:3901/api/v1/applications)
id=$(echo "$app" | sed -n 's/.*"client_id": *"\([^"]*\)".*/\1/p')
secret=$(echo "$app" | sed -n 's/.*"client_secret": *"\([^"]*\)".*/\1/p')
lanyard_basic=$(printf '%s:%s' "$id" "$secret" | base64 -w0)

(cd "$here" && PORT=3900 NODE_ENV=production exec node server.mjs >/dev/null 2>&1) &
for _ in $(seq 1 50); do curl -sf http://127.0.0.1:3900/.well-known/openid-configuration >/dev/null && break; sleep 0.2; done
node_basic=$(printf 'bench:bench-secret-0123456789abcdef0123456789abcdef' | base64 -w0)

# One wrk run; prints "<requests/s> <p99>".
run() {
  BASIC="$2" wrk -t2 -c32 -d10s --latency -s "$here/client_credentials.lua" "$1" |
    awk '/Requests\/sec/ {rps=$2} $1=="99%" {p99=$2} END {print rps, p99}'
}
# Both servers stay up; the runs alternate so drift on the machine hits both alike.
rounds="${ROUNDS:-1}"
echo "Lanyard $(git -C "$root" rev-parse --short HEAD) (SQLite, release build) vs oidc-provider $(node -p "require('$here/node_modules/oidc-provider/package.json').version") (Node $(node -v)); wrk -t2 -c32 -d10s, $rounds round(s)"
printf '%-6s %-24s %-24s %s\n' round "Lanyard grants/s (p99)" "oidc-provider (p99)" ratio
for i in $(seq 1 "$rounds"); do
  read -r l lp < <(run http://127.0.0.1:3901/oauth2/token "$lanyard_basic")
  read -r n np < <(run http://127.0.0.1:3900/token "$node_basic")
  printf '%-6s %-24s %-24s %s\n' "$i" "$l ($lp)" "$n ($np)" "$(awk -v a="$l" -v b="$n" 'BEGIN {printf "%.1fx", a/b}')"
done
