"""App for test_api_http.py: requests that hold their API ticket open
until the test releases them, and the app's side of background requests
(system.StartBackgroundRequest, then EnqueueBackgroundThread)."""
import json
import os
import posix
import threading
import time
import urllib.parse

from google.appengine.api import apiproxy_stub_map, background_thread
from google.appengine.api.system import system_service_pb2
from google.appengine.runtime import apiproxy_errors, background, request_state

WAIT = 30.0  # longest any handler waits for the test

_lock = threading.Lock()
HELD = {}    # key -> what a held request tells about itself
EVENTS = {}  # key -> threading.Event the test sets through /release
DONE = {}    # key -> what a background job saw
HOG = []


def _event(key):
    with _lock:
        return EVENTS.setdefault(key, threading.Event())


def _me(environ):
    return {"ticket": environ.get("HTTP_X_APPENGINE_API_TICKET"),
            "log_id": environ.get("REQUEST_LOG_ID"),
            "instance": environ.get("INSTANCE_ID"),
            "backend": environ.get("BACKEND_ID")}


def _job(key, wait):
    """A background job: says where it ran, then (wait) holds its slot
    until the test releases key."""
    DONE[key] = {"thread": threading.get_ident(), "path": os.environ.get("PATH_INFO"),
                 "request": os.environ.get("HTTP_X_APPENGINE_BACKGROUNDREQUEST"),
                 "backend": os.environ.get("BACKEND_ID")}
    if wait:
        _event(key).wait(WAIT)


def _start_background_request():
    """What the SDK's background_thread does first: the request id, or the
    ApplicationError's code."""
    response = system_service_pb2.StartBackgroundRequestResponse()
    try:
        apiproxy_stub_map.MakeSyncCall("system", "StartBackgroundRequest",
                                       system_service_pb2.StartBackgroundRequestRequest(),
                                       response)
    except apiproxy_errors.ApplicationError as e:
        return None, {"code": e.application_error, "detail": e.error_detail}
    return response.request_id, None


def app(environ, start_response):
    path = environ["PATH_INFO"]
    q = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    key = q.get("key", "")
    out = {}
    if path == "/env":
        out = _me(environ)
        out["process_api_host"] = posix.environ.get(b"API_HOST", b"").decode()
        out["process_api_port"] = posix.environ.get(b"API_PORT", b"").decode()
    elif path == "/hold":
        HELD[key] = _me(environ)
        out = dict(HELD[key])
        out["released"] = _event(key).wait(WAIT)
        # What the master's IPC_API_CPU frames added up to for this request.
        out["api_cpu_us"] = request_state.current().api_cpu_us
    elif path == "/peek":
        deadline = time.monotonic() + 10
        while key not in HELD and time.monotonic() < deadline:
            time.sleep(0.01)
        out = HELD.get(key, {})
    elif path == "/release":
        _event(key).set()
    elif path == "/hog":
        block = bytearray(int(q["mb"]) << 20)
        for i in range(0, len(block), 4096):
            block[i] = 1
        HOG.append(block)
    elif path == "/adopt":
        # Hands a job to a background request the test started over /rpc_http.
        try:
            out["thread"] = background.EnqueueBackgroundThread(q["id"], _job, (key, "wait" in q),
                                                               {})
        except background.Error as e:
            out["error"] = str(e)
    elif path == "/bg_channel":
        # The SDK's two steps over the channel.
        request_id, error = _start_background_request()
        if error:
            out["error"] = error
        else:
            out["id"] = request_id
            out["thread"] = background.EnqueueBackgroundThread(request_id, _job,
                                                               (key, "wait" in q), {})
    elif path == "/threads":
        # gaelic's own background threads, each holding its slot until key.
        started = 0
        try:
            for i in range(int(q["n"])):
                background_thread.start_new_background_thread(_event(key).wait, (WAIT,))
                started += 1
        except background_thread.Error as e:
            out["error"] = type(e).__name__
        out["started"] = started
    elif path == "/bg_thread":
        # A background thread that says who it is (/peek) and holds on
        # until the test releases key; then (/done) what the master's
        # IPC_API_CPU frames added up to for it.
        def thread():
            HELD[key] = _me(os.environ)
            _event(key).wait(WAIT)
            DONE[key] = {"api_cpu_us": request_state.current().api_cpu_us}
        background_thread.start_new_background_thread(thread, ())
        out = _me(environ)
    elif path == "/idle":
        # Until no background request or thread runs here. The master has
        # seen them end by the time this answer leaves (same channel).
        deadline = time.monotonic() + WAIT
        while background.running() or background_thread.background_thread._live:
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        out = {"requests": background.running(),
               "threads": len(background_thread.background_thread._live)}
    elif path == "/done":
        out = DONE.get(key, {})
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(out).encode()]
