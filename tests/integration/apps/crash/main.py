"""Crash probes: /segv crashes with SIGSEGV (ctypes is refused by the
sandbox; faulthandler's test helper crashes the same way), /exit calls os._exit(1),
/sleep?s=N is a slow request that shares the instance, /ok says which
instance answered. /leak takes every byte of the address space it can and
keeps it, then needs a megabyte more and does not catch that MemoryError."""
import faulthandler
import json
import os
import time
import urllib.parse


def _json(start_response, obj):
    body = json.dumps(obj).encode("utf-8")
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


_kept = []


def _fill():
    for size in (1 << 20, 1 << 12):
        try:
            while True:
                _kept.append(bytearray(size))
        except MemoryError:
            pass


def app(environ, start_response):
    path = environ["PATH_INFO"]
    q = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    if path == "/segv":
        faulthandler._sigsegv()
    elif path == "/exit":
        os._exit(1)
    elif path == "/leak":
        _fill()
        _kept.append(bytearray(1 << 20))
    elif path == "/sleep":
        time.sleep(float(q.get("s", "1")))
    return _json(start_response, {"instance_id": os.environ.get("INSTANCE_ID"),
                                  "pid": os.getpid()})
