"""Test app for threadsafe: false. /sleep?s=N reports how many requests were
running in this instance at once (must always be 1); /env reports the wsgi.*
flags and os.environ."""
import json
import os
import threading
import time
import urllib.parse

ACTIVE = 0
LOCK = threading.Lock()


def _json(start_response, obj):
    body = json.dumps(obj, sort_keys=True).encode("utf-8")
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def app(environ, start_response):
    global ACTIVE
    path = environ["PATH_INFO"]
    q = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    if path == "/sleep":
        with LOCK:
            ACTIVE += 1
            active = ACTIVE
        t0 = time.time()
        time.sleep(float(q.get("s", "1")))
        with LOCK:
            active = max(active, ACTIVE)
            ACTIVE -= 1
        return _json(start_response, {"instance_id": os.environ.get("INSTANCE_ID"),
                                      "pid": os.getpid(), "active": active,
                                      "start": t0, "end": time.time()})
    if path == "/env":
        return _json(start_response, {
            "wsgi": {"multithread": environ["wsgi.multithread"],
                     "multiprocess": environ["wsgi.multiprocess"],
                     "run_once": environ["wsgi.run_once"]},
            "os_environ": dict(os.environ)})
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"single ok"]
