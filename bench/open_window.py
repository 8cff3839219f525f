"""Opens a published pre-order window of the demo producer for a benchmark or fault script.

    python3 bench/open_window.py BASE_URL CAPACITY [TITLE] [EXTRA_JSON]

Logs in as the demo LAO staff account (demo-maesot-staff), creates a window of CAPACITY
one-unit items (one variant at 90 baht, one pickup point), open from an hour ago for a day,
harvest in 30-40 days, with EXTRA_JSON's fields on top (e.g. '{"hold_minutes": 1}'), and prints
"WINDOW VARIANT PICKUP". Standard library only; the server must have the demo data.
"""
import datetime
import json
import sys
import urllib.parse
import urllib.request

base, capacity = sys.argv[1], int(sys.argv[2])
title = sys.argv[3] if len(sys.argv) > 3 else "ทุเรียนหมอนทอง ไฟลต์เซล"
extra = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}


def call(method, path, body=None, token=None, form=False):
    data = urllib.parse.urlencode(body).encode() if form else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("content-type", "application/x-www-form-urlencoded" if form else "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    return json.load(urllib.request.urlopen(req))


login = {"grant_type": "password", "username": "demo-maesot-staff", "password": "khongdee-demo-2569"}
token = call("POST", "/v1/auth/token", login, form=True)["access_token"]
product = call("GET", "/v1/products?lao_code=3630690")["items"][0]["id"]
now = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=7)))
at = lambda h: (now + datetime.timedelta(hours=h)).isoformat(timespec="seconds")
day = lambda d: (now + datetime.timedelta(days=d)).date().isoformat()
body = {
    "title": title, "opens_at": at(-1), "closes_at": at(24), "harvest_start": day(30), "harvest_end": day(40),
    "capacity": capacity, "variants": [{"name": "1 กก.", "units_per_item": 1, "price_satang": 9000}],
    "pickup_points": [{"name": "ที่ทำการเทศบาล", "address": "แม่สอด", "starts_at": at(24 * 45), "ends_at": at(24 * 45 + 8)}],
    "publish": True,
}
body.update(extra)
window = call("POST", f"/v1/products/{product}/windows", body, token)
print(window["id"], window["variants"][0]["id"], window["pickup_points"][0]["id"])
