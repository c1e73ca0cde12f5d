"""App for test_logservice.py: the Logs API (LG1). Every path answers JSON.

  /log?tag=T[&levels=0,3][&status=404]  logs "T level N" at those levels
  /fetch?args=JSON[&limit=N]           logservice.fetch(**args) as dicts
  /long?tag=T&mode=flush|none&lines=N  logs N lines (flush: then flush()),
                                       runs until /release?tag=T (30 s at most)
  /burst?n=N[&size=S]                  logs N lines (S more bytes each) as fast
                                       as it can
  /offsets?until=T                     RequestLog.offset and TimeoutError.offset:
                                       their types, and paging with them
  /buffer                              the SDK's log buffer functions
  /module_versions                     fetch(module_versions=, server_versions=)
                                       of pairs as lists and tuples
  /cancelled_flush                     CancelApiCalls (for good: the instance's
                                       every later call fails), then flush()
  /raw/...                             direct logservice API calls
"""
import base64
import json
import logging
import os
import threading
import time
import urllib.parse

from google.appengine.api import api_base_pb2, apiproxy_stub_map, logservice
from google.appengine.api.logservice import log_service_pb2
from google.appengine.runtime import apiproxy_errors

_release = {}
_lock = threading.Lock()


def _event(tag):
    with _lock:
        return _release.setdefault(tag, threading.Event())


def _log(q):
    tag = q.get("tag", "")
    levels = [int(x) for x in q.get("levels", "1").split(",") if x]
    for level in levels:
        logging.log({0: logging.DEBUG, 1: logging.INFO, 2: logging.WARNING, 3: logging.ERROR,
                     4: logging.CRITICAL}[level], "%s level %d", tag, level)
    return {"id": os.environ["REQUEST_LOG_ID"], "instance": os.environ.get("INSTANCE_ID"),
            "version": os.environ["CURRENT_VERSION_ID"]}


def _as_dict(r):
    return {
        "request_id": r.request_id, "offset_type": type(r.offset).__name__,
        # As App Engine's documentation carried offsets in URLs.
        "offset": base64.urlsafe_b64encode(r.offset).decode(), "app_id": r.app_id,
        "version_id": r.version_id, "ip": r.ip, "nickname": r.nickname,
        "start_time": r.start_time, "end_time": r.end_time, "latency": r.latency,
        "mcycles": r.mcycles, "method": r.method, "resource": r.resource,
        "http_version": r.http_version, "status": r.status, "response_size": r.response_size,
        "referrer": r.referrer, "user_agent": r.user_agent, "host": r.host,
        "url_map_entry": r.url_map_entry, "module_id": r.module_id, "combined": r.combined, "finished": r.finished,
        "instance_key": r.instance_key, "lines_incomplete": r.lines_incomplete,
        "app_engine_release": r.app_engine_release,
        "was_loading_request": r.was_loading_request, "pending_time": r.pending_time,
        "replica_index": r.replica_index,
        "app_logs": [[l.time, l.level, l.message] for l in r.app_logs],
    }


def _fetch(q):
    args = json.loads(q.get("args", "{}"))
    limit = int(q.get("limit", "0")) or None
    t0 = time.monotonic()
    try:
        out = []
        for r in logservice.fetch(**args):
            out.append(_as_dict(r))
            if limit and len(out) >= limit:
                break
    except logservice.Error as e:
        return {"error": type(e).__name__, "message": str(e)}
    return {"logs": out, "seconds": time.monotonic() - t0}


def _long(q):
    tag = q.get("tag", "")
    for i in range(int(q.get("lines", "1"))):
        logging.info("%s line %d", tag, i)
    if q.get("mode") == "flush":
        logservice.flush()
    released = _event(tag).wait(30)
    logging.info("%s done", tag)
    return {"id": os.environ["REQUEST_LOG_ID"], "released": released}


def _release_tag(q):
    _event(q.get("tag", "")).set()
    return {"ok": True}


def _burst(q):
    n = int(q.get("n", "1000"))
    pad = "x" * int(q.get("size", "0"))
    for i in range(n):
        logging.info("burst line %d%s", i, pad)
    return {"id": os.environ["REQUEST_LOG_ID"]}


def _call(method, request, response):
    try:
        apiproxy_stub_map.MakeSyncCall("logservice", method, request, response)
    except apiproxy_errors.ApplicationError as e:
        return {"error": "ApplicationError", "code": e.application_error,
                "detail": e.error_detail}
    except apiproxy_errors.Error as e:
        return {"error": type(e).__name__}
    return {"ok": True}


def _raw(q, path):
    if path == "/raw/flush_lines":
        # A FlushRequest that carries lines itself, as the legacy SDK's did.
        group = log_service_pb2.UserAppLogGroup()
        now = int(time.time() * 1e6)
        group.log_line.add(timestamp_usec=now, level=3, message="carried one")
        group.log_line.add(timestamp_usec=now + 1, level=0, message="carried two")
        out = _call("Flush", log_service_pb2.FlushRequest(logs=group.SerializeToString()),
                    api_base_pb2.VoidProto())
        out["id"] = os.environ["REQUEST_LOG_ID"]
        return out
    if path == "/raw/flush_big":
        # One line of a megabyte, past the runtime's own 32 KiB cut.
        group = log_service_pb2.UserAppLogGroup()
        group.log_line.add(timestamp_usec=int(time.time() * 1e6), level=1,
                           message="\u20ac" * int(q.get("n", "1")))
        out = _call("Flush", log_service_pb2.FlushRequest(logs=group.SerializeToString()),
                    api_base_pb2.VoidProto())
        out["id"] = os.environ["REQUEST_LOG_ID"]
        return out
    if path == "/raw/flush_bad":
        group = log_service_pb2.UserAppLogGroup()
        group.log_line.add(timestamp_usec=1, level=9, message="bad level")
        return _call("Flush", log_service_pb2.FlushRequest(logs=group.SerializeToString()),
                     api_base_pb2.VoidProto())
    if path == "/raw/read_no_version":
        return _call("Read", log_service_pb2.LogReadRequest(app_id=os.environ["APPLICATION_ID"]),
                     log_service_pb2.LogReadResponse())
    if path == "/raw/read_other_app":
        r = log_service_pb2.LogReadRequest(app_id="someone-else")
        r.version_id.append("v1")
        return _call("Read", r, log_service_pb2.LogReadResponse())
    if path == "/raw/set_status":
        return _call("SetStatus", log_service_pb2.SetStatusRequest(status="x"),
                     api_base_pb2.VoidProto())
    if path == "/raw/usage":
        return _call("Usage", log_service_pb2.LogUsageRequest(app_id="x"),
                     log_service_pb2.LogUsageResponse())
    if path == "/raw/autoflush_lines":
        # The package attribute is the one apps set.
        logservice.AUTOFLUSH_EVERY_LINES = int(q.get("n", "50"))
        return {"ok": True}
    return None


def _offsets(q):
    until = float(q["until"])
    first, second = list(logservice.fetch(end_time=until, batch_size=2))[:2]
    offset = first.offset
    text = base64.urlsafe_b64encode(offset).decode()
    after_bytes = next(iter(logservice.fetch(end_time=until,
                                             offset=base64.urlsafe_b64decode(text))))
    after_text = next(iter(logservice.fetch(end_time=until, offset=text)))
    try:
        list(logservice.fetch(end_time=until, offset=offset, timeout=0))
        timeout_offset = None
    except logservice.TimeoutError as e:
        timeout_offset = e.offset
    return {"type": type(offset).__name__, "second": second.request_id,
            "after_bytes": after_bytes.request_id, "after_text": after_text.request_id,
            "timeout_offset_is_it": timeout_offset == offset}


def _buffer(q):
    out = {"start_lines": logservice.log_buffer_lines()}
    logservice.write("written one\nLOG 1 123 written\0two\n")
    logservice.write_record(logservice.LOG_LEVEL_WARNING, time.time(), "a record")
    logservice.write_record(7, time.time(), "bad level")
    out["lines"] = logservice.log_buffer_lines()
    out["bytes"] = logservice.log_buffer_bytes()
    out["age_ok"] = 0 <= logservice.log_buffer_age() < 600
    logservice.flush()
    out["after_flush"] = [logservice.log_buffer_lines(), logservice.log_buffer_bytes()]
    out["flush_time_ok"] = time.time() - 60 < logservice.flush_time() <= time.time()
    logging.info("after flush")
    logservice.clear()
    out["after_clear"] = logservice.log_buffer_lines()
    out["id"] = os.environ["REQUEST_LOG_ID"]
    return out


def _module_versions(q):
    out = {}
    for name, arg in (("lists", {"module_versions": [["default", "v1"]]}),
                      ("tuples", {"module_versions": [("default", "v1"), ("default", "v1")]}),
                      ("server_versions", {"server_versions": [["default", "v1"]]}),
                      ("empty_beside_version_ids", {"module_versions": [],
                                                    "version_ids": ["v1"]})):
        try:
            out[name] = len(list(logservice.fetch(**arg)))
        except logservice.Error as e:
            out[name] = "%s: %s" % (type(e).__name__, e)
    return out


def _cancelled_flush(q):
    apiproxy_stub_map.apiproxy.CancelApiCalls()
    logging.info("logged after the cancel")
    try:
        logservice.flush()
    except apiproxy_errors.Error as e:
        return {"error": type(e).__name__}
    return {"flushed": True}


ROUTES = {"/log": _log, "/fetch": _fetch, "/long": _long, "/release": _release_tag,
          "/burst": _burst, "/offsets": _offsets, "/buffer": _buffer,
          "/module_versions": _module_versions, "/cancelled_flush": _cancelled_flush}


def app(environ, start_response):
    path = environ["PATH_INFO"]
    q = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    handler = ROUTES.get(path)
    out = handler(q) if handler else _raw(q, path) if path.startswith("/raw/") else None
    if out is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no such path\n"]
    status = q.get("status", "200")
    start_response("%s X" % status, [("Content-Type", "application/json")])
    return [json.dumps(out).encode()]


def slow_start(environ, start_response):
    """The starter backend's start request: logs, flushes, then runs until
    the test logs "release-starter" through /log of the default version
    (30 s at most), so the test sees it unfinished however slow the
    machine."""
    begin = time.time()
    logging.info("starter begins")
    logservice.flush()
    end = time.monotonic() + 30
    while time.monotonic() < end and not any(
            line.message.startswith("release-starter ")
            for r in logservice.fetch(start_time=begin, include_app_logs=True,
                                      version_ids=["v1"])
            for line in r.app_logs):
        time.sleep(0.05)
    logging.info("starter ends")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"started\n"]
