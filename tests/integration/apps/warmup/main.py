"""Test app for warmup requests. /_ah/warmup records in a module global
that it ran on this instance (then sleeps WARMUP_SLEEP seconds, and raises
when WARMUP_FAIL is set, ends the instance when WARMUP_EXIT is, runs out of
memory when WARMUP_NOMEM is); /_ah/start counts backend start requests; every
other path reports this instance's warmups, start requests and how many
live requests it served before this one (/sleep?s=N after sleeping)."""
import json
import logging
import os
import threading
import time
import urllib.parse

LOCK = threading.Lock()
WARMUPS = []  # one dict per warmup request this instance ran
STARTS = 0
LIVE = 0


def _json(start_response, obj):
    body = json.dumps(obj, sort_keys=True).encode("utf-8")
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def _warmup(environ, start_response):
    record = {"start": time.time(), "end": None, "remote_addr": environ.get("REMOTE_ADDR"),
              "method": environ.get("REQUEST_METHOD"),
              "user_agent": environ.get("HTTP_USER_AGENT"),
              "request_log_id": os.environ.get("REQUEST_LOG_ID")}
    with LOCK:
        WARMUPS.append(record)
    logging.info("warming up instance %s", os.environ.get("INSTANCE_ID"))
    time.sleep(float(os.environ.get("WARMUP_SLEEP", "0")))
    record["end"] = time.time()
    if os.environ.get("WARMUP_EXIT"):
        os._exit(1)
    if os.environ.get("WARMUP_NOMEM"):
        raise MemoryError("GAELIC-WARMUP-NOMEM")  # retires its instance
    if os.environ.get("WARMUP_FAIL"):
        raise RuntimeError("warmup failed on purpose")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"warm"]


def app(environ, start_response):
    global LIVE, STARTS
    path = environ["PATH_INFO"]
    if path == "/_ah/warmup":
        return _warmup(environ, start_response)
    if path == "/_ah/start":
        with LOCK:
            STARTS += 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"started"]
    if path == "/exit":
        os._exit(1)
    q = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    with LOCK:
        live_before = LIVE
        LIVE += 1
    start = time.time()
    if path == "/sleep":
        time.sleep(float(q.get("s", "1")))
    return _json(start_response, {
        "instance_id": os.environ.get("INSTANCE_ID"), "backend": os.environ.get("BACKEND_ID"),
        "path": path, "warmups": list(WARMUPS), "starts": STARTS, "live_before": live_before,
        "start": start})
