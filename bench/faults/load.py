#!/usr/bin/env python3
"""Steady mixed load that records every answer: the client side of pg_restart.sh and sqlite_disk.sh.

    load.py BASE_URL WINDOW_ID VARIANT_ID PICKUP_ID SECONDS THREADS OUT.jsonl

Each thread, over its own keep-alive connection, repeats: read the window's availability, list
open windows, place a one-unit order (its own Idempotency-Key). Each answer is a JSON line in OUT:
wall-clock time it was sent (`t`, unix seconds), what was asked (`kind`), the status (null when no
answer came: connection refused or cut), the content type, `Retry-After`, the problem `code`, the
latency in seconds. Nothing is retried. Loopback only; stops after SECONDS. Standard library only.
"""
import http.client
import itertools
import json
import sys
import threading
import time
import urllib.parse

base, window, variant, pickup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
seconds, threads, out_path = float(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
url = urllib.parse.urlparse(base)
assert url.hostname in ("127.0.0.1", "localhost", "::1"), "loopback only"
out = open(out_path, "a", buffering=1)
lock = threading.Lock()
serial = itertools.count(1)
deadline = time.monotonic() + seconds
run = f"{int(time.time())}"


def one(conn, kind, method, path, body=None, headers=None):
    t = time.time()
    started = time.monotonic()
    entry = {"t": t, "kind": kind, "status": None}
    try:
        if conn[0] is None:
            conn[0] = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        conn[0].request(method, path, body, headers or {})
        res = conn[0].getresponse()
        data = res.read()
        entry.update(status=res.status, ctype=res.getheader("content-type"),
                     retry_after=res.getheader("retry-after"))
        if res.status == 201 and kind == "order":
            entry["order_code"] = json.loads(data).get("code")
        if res.status >= 400:
            try:
                entry["code"] = json.loads(data).get("code")
            except ValueError:
                entry["code"] = None
    except (OSError, http.client.HTTPException) as e:
        entry["error"] = f"{type(e).__name__}: {e}"
        if conn[0] is not None:
            conn[0].close()
        conn[0] = None
    entry["latency"] = round(time.monotonic() - started, 4)
    with lock:
        out.write(json.dumps(entry) + "\n")
    if entry["status"] is None:
        time.sleep(0.05)


def worker():
    conn = [None]
    while time.monotonic() < deadline:
        n = next(serial)
        one(conn, "availability", "GET", f"/v1/windows/{window}/availability")
        one(conn, "list", "GET", "/v1/windows?limit=5")
        body = {"window_id": window, "lines": [{"variant_id": variant, "quantity": 1}],
                "buyer": {"name": "ผู้ซื้อทดสอบ", "phone": "09%08d" % (n % 100_000_000)},
                "delivery": {"method": "pickup", "pickup_point_id": pickup}}
        one(conn, "order", "POST", "/v1/orders", json.dumps(body),
            {"content-type": "application/json", "idempotency-key": f"load-{run}-{n}"})
        time.sleep(0.02)


workers = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
for t in workers:
    t.start()
for t in workers:
    t.join()
