#!/usr/bin/env python3
"""A slow webhook receiver on loopback: the other end of bench/faults/webhook_kill.sh.

    receiver.py PORT DELAY_SECONDS OUT.log

Every POST is read whole, its `webhook-id` header (Standard Webhooks) written as one line to
OUT (at once, before the answer, so a delivery the sender never hears back about is counted
too), then answered 204 after DELAY_SECONDS. One thread per request. Standard library only.
"""
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, delay, out_path = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
out = open(out_path, "a", buffering=1)
lock = threading.Lock()


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        with lock:
            out.write(f"{self.headers.get('webhook-id')}\n")
        time.sleep(delay)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", port), Hook).serve_forever()
