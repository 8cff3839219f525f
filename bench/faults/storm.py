#!/usr/bin/env python3
"""An order storm that remembers every answer: the client side of bench/faults/kill_storm.sh.

    storm.py BASE_URL WINDOW_ID VARIANT_ID PICKUP_ID SECONDS THREADS OUT.jsonl

Each thread, over one keep-alive connection, in turn: places an order (1-2 units, its own
Idempotency-Key and buyer phone); holds 1 unit for one minute; turns every other such hold into an
order. Every request's outcome is one JSON line in OUT (written at once, so a line is never lost
when the server dies): the status and what a 2xx created (order code, hold id), or, when no answer
came (the server was killed or not yet back), "status": null with the key and body needed to
retry it. Loopback only; stops after SECONDS. Standard library only.
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


def record(entry):
    with lock:
        out.write(json.dumps(entry, ensure_ascii=False) + "\n")


def order_body(n, hold_id=None):
    body = {"buyer": {"name": "ผู้ซื้อทดสอบ", "phone": "08%08d" % (n % 100_000_000)},
            "delivery": {"method": "pickup", "pickup_point_id": pickup}}
    if hold_id:
        body["hold_id"] = hold_id
    else:
        body.update({"window_id": window, "lines": [{"variant_id": variant, "quantity": 1 + n % 2}]})
    return body


class Client:
    def __init__(self):
        self.conn = None

    def post(self, path, body, key=None):
        """(status, json) or (None, error text) when no answer came."""
        headers = {"content-type": "application/json"}
        if key:
            headers["idempotency-key"] = key
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
            self.conn.request("POST", path, json.dumps(body), headers)
            res = self.conn.getresponse()
            data = res.read()
            try:
                return res.status, json.loads(data or b"null")
            except ValueError:
                return res.status, {"raw": data[:200].decode("utf-8", "replace")}
        except (OSError, http.client.HTTPException) as e:
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            return None, f"{type(e).__name__}: {e}"


def order(client, n, hold_id=None):
    key = f"storm-{run}-{n}"
    body = order_body(n, hold_id)
    status, answer = client.post("/v1/orders", body, key)
    entry = {"kind": "order", "key": key, "status": status, "from_hold": hold_id}
    if status == 201:
        entry.update(code=answer.get("code"), id=answer.get("id"), units=answer.get("units_total"))
    elif status is None:
        entry.update(error=answer, body=body)
    else:
        entry.update(problem=answer.get("code") if isinstance(answer, dict) else None,
                     retry_after=answer.get("retry_after") if isinstance(answer, dict) else None)
    record(entry)
    return status


def worker():
    client = Client()
    while time.monotonic() < deadline:
        n = next(serial)
        if order(client, n) is None:
            time.sleep(0.05)  # the server is down: try again shortly, with a new request
            continue
        status, answer = client.post(f"/v1/windows/{window}/holds",
                                     {"lines": [{"variant_id": variant, "quantity": 1}], "minutes": 1})
        entry = {"kind": "hold", "status": status}
        if status == 201:
            entry["id"] = answer.get("id")
        elif status is not None:
            entry["problem"] = answer.get("code") if isinstance(answer, dict) else None
        record(entry)
        if status == 201 and n % 2 == 0:
            order(client, next(serial), answer.get("id"))


workers = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
for t in workers:
    t.start()
for t in workers:
    t.join()
