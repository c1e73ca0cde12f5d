"""Crash probes: /segv crashes with SIGSEGV (ctypes is refused by the
sandbox; faulthandler's test helper crashes the same way), /exit calls os._exit(1),
/sleep?s=N is a slow request that shares the instance (with &name=NAME,
/running?name=NAME says it has begun), /ok says which instance answered. /leak takes every byte of the address space it can and
keeps it, then needs a megabyte more and does not catch that MemoryError.
/unloggable breaks the traceback module, as running out of memory can, then
fails. /interrupt_main calls _thread.interrupt_main(), which a library may
call to stop the program, then answers."""
import _thread
import faulthandler
import json
import os
import sys
import time
import urllib.parse


def _json(start_response, obj):
    body = json.dumps(obj).encode("utf-8")
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


_kept = []
_running = set()  # the names of the /sleep requests that have begun


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
    elif path == "/interrupt_main":
        if q.get("import_signal"):
            import signal  # noqa: F401 (fills CPython's table of handlers)
        _thread.interrupt_main()
        time.sleep(0.2)  # the main thread would handle the SIGINT meanwhile
    elif path == "/exit":
        os._exit(1)
    elif path == "/leak":
        _fill()
        _kept.append(bytearray(1 << 20))
    elif path == "/unloggable":
        sys.modules["traceback"] = None  # importing it now raises ImportError
        raise ValueError("GAELIC-UNLOGGABLE-4410")
    elif path == "/sleep":
        _running.add(q.get("name"))
        time.sleep(float(q.get("s", "1")))
    elif path == "/running":
        return _json(start_response, {"running": q.get("name") in _running})
    return _json(start_response, {"instance_id": os.environ.get("INSTANCE_ID"),
                                  "pid": os.getpid()})
