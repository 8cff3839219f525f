#!/usr/bin/env bash
# How long `khongdee backup` and `khongdee copy-db` take on a SQLite database of a given size, and
# a PostgreSQL backup of the copy (issue 17). One command, loopback only, bounded (each step under
# `timeout`), prints what it saw. See bench/README.md.
#
#   bench/backup_copy.sh [ROWS]        # ROWS extra outbox events (default 300000)
#
# Needs: the khongdee binary (KHONGDEE_BIN, default target/release/khongdee: `cargo build
# --release`), python3 (its sqlite3 module fills the database), PostgreSQL on 127.0.0.1:5432
# (BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres) with psql and
# pg_dump (Debian: postgresql-client).
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS="${1:-300000}"
BIN="${KHONGDEE_BIN:-${CARGO_TARGET_DIR:-target}/release/khongdee}"
ADMIN_URL="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
case "$ADMIN_URL" in
  postgres://*@127.*|postgres://*@localhost*|postgresql://*@127.*|postgresql://*@localhost*) ;;
  *) echo "BENCH_POSTGRES_URL must point at a loopback server" >&2; exit 2 ;;
esac
[ -x "$BIN" ] || { echo "no khongdee binary at $BIN (cargo build --release, or set KHONGDEE_BIN)" >&2; exit 2; }
for tool in python3 psql pg_dump; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (see the header of this script)" >&2; exit 2; }
done

WORK="$(mktemp -d)"
DB_NAME="khongdee_bench_copy_$$"
TARGET_URL="${ADMIN_URL%/*}/$DB_NAME"
cleanup() {
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export KHONGDEE_DATA_DIR="$WORK/data" KHONGDEE_LOG=warn KHONGDEE_LOG_FORMAT=pretty
export KHONGDEE_JWT_SECRET="bench-secret-bench-secret-bench-secret-0123"
SOURCE="$WORK/khongdee.db"
run() { timeout 600 "$@"; }
seconds() { python3 -c 'import sys,time; print(f"{time.time()-float(sys.argv[1]):.2f}")' "$1"; }
now() { python3 -c 'import time; print(time.time())'; }

echo "== source: SQLite with the demo data set and $ROWS extra outbox events (Thai payloads)"
KHONGDEE_DATABASE_URL="sqlite://$SOURCE" run "$BIN" seed --demo >/dev/null
python3 - "$SOURCE" "$ROWS" <<'PY'
import sqlite3, sys, json
path, rows = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(path)
payload = json.dumps({"type": "order.created", "data": {"code": "7KQ3-XPMA", "buyer": {"name": "สมหญิง รักดี", "phone": "+66891234567"},
    "lines": [{"variant": "กล่อง 5 กก.", "quantity": 2, "price_satang": 42500}], "total_satang": 85000}}, ensure_ascii=False)
with db:
    db.executemany(
        "INSERT INTO outbox_events (event_type, aggregate_type, aggregate_id, lao_id, partner_client_id, payload, occurred_at, published_at, attempts, next_attempt_at) "
        "VALUES ('order.created', 'order', ?, NULL, NULL, ?, '2026-11-30 03:00:00.123456', '2026-11-30 03:00:01', 1, NULL)",
        ((str(i), payload) for i in range(rows)))
tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'")]
total = sum(db.execute('SELECT COUNT(*) FROM "%s"' % t).fetchone()[0] for t in tables)
print("rows in the source: %d in %d tables" % (total, len(tables)))
PY
echo "source file: $(du -h "$SOURCE" | cut -f1)"

echo "== khongdee backup (SQLite, VACUUM INTO + integrity_check + fsync)"
t=$(now)
KHONGDEE_DATABASE_URL="sqlite://$SOURCE" run "$BIN" backup --out "$WORK/backup.db" >/dev/null
echo "backup: $(seconds "$t") s, $(du -h "$WORK/backup.db" | cut -f1)"

echo "== khongdee copy-db (SQLite -> new PostgreSQL database $DB_NAME)"
psql -q "$ADMIN_URL" -c "CREATE DATABASE \"$DB_NAME\"" >/dev/null
t=$(now)
run "$BIN" copy-db --from "sqlite://$SOURCE" --to "$TARGET_URL" > "$WORK/copy.json"
elapsed=$(seconds "$t")
rows=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rows"])' "$WORK/copy.json")
echo "copy-db: $elapsed s for $rows rows ($(python3 -c "print(round($rows/$elapsed))") rows/s), row counts equal on every table"

echo "== khongdee reconcile on the copy"
KHONGDEE_DATABASE_URL="$TARGET_URL" run "$BIN" reconcile | python3 -c 'import json,sys; r=json.load(sys.stdin); print("windows checked %d, mismatches %d" % (r["windows_checked"], len(r["mismatches"])))'

echo "== khongdee backup (PostgreSQL, pg_dump --format=custom + pg_restore --list)"
t=$(now)
KHONGDEE_DATABASE_URL="$TARGET_URL" run "$BIN" backup --out "$WORK/backup.dump" >/dev/null
echo "pg_dump backup: $(seconds "$t") s, $(du -h "$WORK/backup.dump" | cut -f1)"
