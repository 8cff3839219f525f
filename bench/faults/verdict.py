#!/usr/bin/env python3
"""Reads what load.py recorded around a fault and says whether the server kept its promises.

    verdict.py ANSWERS.jsonl FAULT_START FAULT_END [HANG_SECONDS] > summary

FAULT_START and FAULT_END are unix times: when the fault began and when it was undone. Prints,
for before / during (plus HANG_SECONDS of grace) / after, each kind of request's answers; then
the time to recover (from FAULT_END to the end of the last failed order after it), and a line
"FAIL: …" for each broken promise:
- every answer that is not 2xx is a 4xx or a 503 `application/problem+json`, and every 503
  carries `Retry-After` (never a 500, never a dropped connection while the server runs);
- no request takes HANG_SECONDS or more (default 10): a fault gives a quick 503, not a hang;
- the service recovers: after the fault is undone, orders are placed again (with
  VERDICT_RECOVERY=optional in the environment, a NOTE instead of a FAIL when it does not).
It also writes the codes of the orders that got a 201 to ANSWERS.jsonl.codes.
"""
import collections
import json
import os
import sys

path, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
hang = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
rows = sorted((json.loads(l) for l in open(path)), key=lambda r: r["t"])
failures = []


def phase(r):
    if r["t"] < start:
        return "before"
    return "during" if r["t"] < end else "after"


table = collections.defaultdict(collections.Counter)
for r in rows:
    label = "no answer" if r["status"] is None else str(r["status"])
    if r.get("code"):
        label += " " + r["code"]
    table[(phase(r), r["kind"])][label] += 1
for key in sorted(table, key=lambda k: (["before", "during", "after"].index(k[0]), k[1])):
    print(f"{key[0]:7} {key[1]:13} " + ", ".join(f"{n} × {s}" for s, n in table[key].most_common()))

bad = [r for r in rows if r["status"] is not None and r["status"] >= 500 and r["status"] != 503]
if bad:
    failures.append(f"{len(bad)} answers were 5xx other than 503, e.g. {bad[0]}")
not_problem = [r for r in rows if r["status"] is not None and r["status"] >= 400
               and not (r.get("ctype") or "").startswith("application/problem+json")]
if not_problem:
    failures.append(f"{len(not_problem)} error answers were not problem+json, e.g. {not_problem[0]}")
no_retry = [r for r in rows if r["status"] == 503 and not r.get("retry_after")]
if no_retry:
    failures.append(f"{len(no_retry)} 503 answers had no Retry-After, e.g. {no_retry[0]}")
dropped = [r for r in rows if r["status"] is None]
if dropped:
    failures.append(f"{len(dropped)} requests got no answer, e.g. {dropped[0]}")
slow = [r for r in rows if r["latency"] >= hang]
if slow:
    failures.append(f"{len(slow)} requests took {hang} s or more (a hang), e.g. {slow[0]}")
slowest = max((r["latency"] for r in rows if start <= r["t"] < end + hang), default=0)
print(f"slowest answer during the fault: {slowest:.2f} s")

orders_after = [r for r in rows if r["kind"] == "order" and r["t"] >= end]
failed_after = [r for r in orders_after if r["status"] != 201]
ok_after = [r for r in orders_after if r["status"] == 201]
if not ok_after:
    if os.environ.get("VERDICT_RECOVERY") == "optional":
        print("NOTE: no order was placed after the fault was undone: no recovery without a restart")
    else:
        failures.append("no order was placed after the fault was undone: the service did not recover")
    print("time to recover: never")
else:
    last = max((r["t"] + r["latency"] for r in failed_after), default=end)
    print(f"time to recover: {max(0.0, last - end):.2f} s after the fault was undone "
          f"({len(failed_after)} orders refused after it, {len(ok_after)} placed)")
failed = [r for r in rows if r["status"] is None or r["status"] >= 500]
if failed:
    first, last = failed[0]["t"], max(r["t"] + r["latency"] for r in failed)
    print(f"clients saw failures for {last - first:.2f} s (from {first - start:+.2f} s to "
          f"{last - start:+.2f} s after the fault began; it was undone at {end - start:+.2f} s)")
during = [r for r in rows if start <= r["t"] < end]
print("answers during the fault: " + (", ".join(
    f"{n} × {s}" for s, n in collections.Counter(str(r["status"]) for r in during).most_common()) or "none"))

with open(path + ".codes", "w") as f:
    for r in rows:
        if r.get("order_code"):
            f.write(r["order_code"] + "\n")
for failure in failures:
    print("FAIL: " + failure)
