"""App for test_log_read_budget.py: many Logs API Reads of large answers at
once. Every path answers JSON.

  /fill?n=N&size=S             logs N lines of S bytes (the rows Reads return)
  /reads?n=N&end=T[&deadline=S][&pad=B][&tag=G]
                               N raw logservice Reads at once (asynchronous
                               RPCs), each of version v1's requests that ended
                               before T (microseconds) with their app lines
                               (pad: the request carries B bytes more, in a
                               field the service skips): per Read, the
                               SHA-256 and length of its serialized
                               LogReadResponse and its offset, or the error
                               it got
  /started?tag=G               how many Reads /reads with that tag has sent
                               (waits for them, 30 s at most)
  /hold?tag=T                  runs until /release?tag=T (60 s at most),
                               answering its API ticket to /ticket?tag=T
"""
import hashlib
import json
import logging
import os
import threading
import time
import urllib.parse

from google.appengine.api import apiproxy_stub_map
from google.appengine.api.logservice import log_service_pb2
from google.appengine.runtime import apiproxy_errors

_lock = threading.Lock()
_events = {}
_tickets = {}
_started = threading.Condition()
_sent = {}


def _event(tag):
    with _lock:
        return _events.setdefault(tag, threading.Event())


class PaddedRequest:
    """A request with an unknown field of pad bytes after it."""

    def __init__(self, request, pad):
        self.data = request.SerializeToString()
        if pad:
            n, length = pad, b""
            while True:
                byte = n & 0x7F
                n >>= 7
                length += bytes([byte | (0x80 if n else 0)])
                if not n:
                    break
            self.data += b"\x9a\x06" + length + b"p" * pad  # field 99, LEN

    def SerializeToString(self):
        return self.data


class RawResponse:
    """Keeps the serialized response as it came: no parsing, little memory."""

    data = b""

    def ParseFromString(self, data):
        self.data = bytes(data)


def read_request(app_id, end_us):
    req = log_service_pb2.LogReadRequest(app_id=app_id)
    req.version_id.append("v1")
    req.end_time = end_us
    req.include_app_logs = True
    req.count = 1000
    return req


def _fill(q):
    pad = "x" * int(q.get("size", "1000"))
    for i in range(int(q.get("n", "10"))):
        logging.info("fill %d %s", i, pad)
    return {"id": os.environ["REQUEST_LOG_ID"]}


def _reads(q):
    req = read_request(os.environ["APPLICATION_ID"], int(q["end"]))
    req = PaddedRequest(req, int(q.get("pad", "0")))
    rpcs = []
    for _ in range(int(q.get("n", "1"))):
        rpc = apiproxy_stub_map.UserRPC("logservice", deadline=float(q.get("deadline", "60")))
        rpc.make_call("Read", req, RawResponse())
        rpcs.append(rpc)
    if q.get("tag"):
        with _started:
            _sent[q["tag"]] = len(rpcs)
            _started.notify_all()
    out = []
    for rpc in rpcs:
        rpc.wait()
        try:
            rpc.check_success()
        except apiproxy_errors.ApplicationError as e:
            out.append({"error": "ApplicationError", "code": e.application_error,
                        "detail": e.error_detail})
            continue
        except apiproxy_errors.Error as e:
            out.append({"error": type(e).__name__})
            continue
        data = rpc.response.data
        resp = log_service_pb2.LogReadResponse()
        resp.ParseFromString(data)
        out.append({"sha256": hashlib.sha256(data).hexdigest(), "len": len(data),
                    "logs": len(resp.log),
                    "offset": resp.offset.request_id.decode() if resp.offset else None})
    return {"reads": out}


def _started_reads(q):
    with _started:
        _started.wait_for(lambda: q.get("tag") in _sent, timeout=30)
        return {"sent": _sent.get(q.get("tag"), 0)}


def _hold(q):
    tag = q.get("tag", "")
    with _lock:
        _tickets[tag] = os.environ.get("HTTP_X_APPENGINE_API_TICKET")
    released = _event(tag).wait(60)
    return {"released": released}


def _ticket(q):
    tag = q.get("tag", "")
    for _ in range(300):  # until /hold has run: 30 s at most
        with _lock:
            if _tickets.get(tag):
                return {"ticket": _tickets[tag], "app_id": os.environ["APPLICATION_ID"]}
        time.sleep(0.1)
    return {"ticket": None}


def _release(q):
    _event(q.get("tag", "")).set()
    return {"ok": True}


ROUTES = {"/fill": _fill, "/reads": _reads, "/started": _started_reads, "/hold": _hold,
          "/ticket": _ticket, "/release": _release}


def app(environ, start_response):
    q = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    handler = ROUTES.get(environ["PATH_INFO"])
    if handler is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no such path\n"]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(handler(q)).encode()]
