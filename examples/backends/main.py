"""Backends example: a resident in-memory counter and a dynamic worker.

The default version lists the backends with the URLs that reach them.
Each counter instance keeps its own total in memory between requests (it
is resident) and logs it from its shutdown hook. Worker instances warm up
in their start request and answer /work.
"""
import json
import logging
import os
import threading
import time
from urllib.parse import parse_qs

from google.appengine.api import backends, runtime

_lock = threading.Lock()
_total = 0
_warmed_at = None


def _json(start_response, data, status="200 OK"):
    start_response(status, [("Content-Type", "application/json")])
    return [json.dumps(data, indent=2).encode() + b"\n"]


def _log_total():
    logging.warning("counter instance %s shutting down with total %d",
                    backends.get_instance(), _total)


def counter(environ, start_response):
    global _total
    if runtime.set_shutdown_hook(_log_total) is None:
        logging.info("counter instance %s: shutdown hook set", backends.get_instance())
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if environ["PATH_INFO"] == "/add":
        with _lock:
            _total += int(query.get("n", ["1"])[0])
    return _json(start_response, {"instance": backends.get_instance(), "total": _total,
                                  "pid": os.getpid()})


def worker(environ, start_response):
    started = time.time()
    n = int(parse_qs(environ.get("QUERY_STRING", "")).get("n", ["100000"])[0])
    result = sum(i * i for i in range(min(n, 10 ** 7)))
    return _json(start_response, {"instance": backends.get_instance(), "warmed_at": _warmed_at,
                                  "result": result, "seconds": round(time.time() - started, 3),
                                  "shutting_down": runtime.is_shutting_down()})


def warm_up(environ, start_response):
    """The worker's start request: runs before any other request."""
    global _warmed_at
    _warmed_at = time.time()
    return _json(start_response, {"warmed": True})


def front(environ, start_response):
    return _json(start_response, {
        "counter": backends.get_url("counter"),
        "counter instance 1": backends.get_url("counter", instance=1),
        "worker": backends.get_url("worker"),
    })


def app(environ, start_response):
    handler = {"counter": counter, "worker": worker}.get(backends.get_backend(), front)
    return handler(environ, start_response)
