#!/usr/bin/env bash
# Fuzzes the running API against its own OpenAPI document with Schemathesis: a fresh SQLite
# server with demo data, an admin token, and every operation exercised (examples, boundary
# values, random and stateful sequences). Fails on any 5xx, an undocumented status code or
# content type, a response that does not match its schema, or a wrong answer to an undeclared
# method.
# Needs: Schemathesis (pip install schemathesis), curl, python3, a built binary.
#   cargo build --release && tests/fuzz_openapi.sh [extra schemathesis options, e.g. -n 100]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-${CARGO_TARGET_DIR:-target}/release/khongdee}"
PORT="${PORT:-18081}"
work=$(mktemp -d)
# Rate limits out of the way (the fuzzer sends thousands of requests); tokens outlive the run.
KHONGDEE_DATABASE_URL="sqlite://$work/fuzz.db" KHONGDEE_BIND="127.0.0.1:$PORT" \
  KHONGDEE_DATA_DIR="$work" KHONGDEE_LOG=warn KHONGDEE_ACCESS_TOKEN_TTL=14400 \
  KHONGDEE_RATE_LIMIT_ANONYMOUS=1000000 KHONGDEE_RATE_LIMIT_AUTHENTICATED=1000000 \
  KHONGDEE_RATE_LIMIT_TOKEN=1000000 "$BIN" serve >"$work/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done

token=$(curl -fs -d grant_type=password -d username=demo-admin -d password=khongdee-demo-2569 \
  "http://127.0.0.1:$PORT/v1/auth/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

schemathesis run "http://127.0.0.1:$PORT/openapi.json" \
  -H "Authorization: Bearer $token" \
  -c not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,unsupported_method \
  -n "${FUZZ_EXAMPLES:-50}" "$@"
