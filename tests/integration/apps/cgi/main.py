"""WSGI handlers in the same app as the CGI scripts: their print() output
is log output, never part of a response."""
import io
import json
import sys
import threading

import beside
from google.appengine.api import background_thread

_stop = threading.Event()


def app(environ, start_response):
    print("WSGI-PRINT-MARKER from the wsgi handler")
    if environ["QUERY_STRING"] == "replace_stdout":
        sys.stdout = io.StringIO()  # and left so
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"wsgi response"]


def _print_beside():
    for i in range(3000):  # at most 30 s
        if _stop.wait(0.01):
            return
        print("BG-PRINT-%d" % i)
        if beside.cgi_running:
            beside.printed_during_cgi += 1


def background(environ, start_response):
    """?start: a background thread (backends only) that prints every 10 ms
    until ?stop; both answer how often it printed while a CGI script ran."""
    if environ["QUERY_STRING"] == "start":
        _stop.clear()
        background_thread.start_new_background_thread(_print_beside, [])
    elif environ["QUERY_STRING"] == "stop":
        _stop.set()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"printed_during_cgi": beside.printed_during_cgi}).encode()]
