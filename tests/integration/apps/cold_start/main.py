"""App for test_instances.py: which of the modules the runtime keeps off a
cold start are loaded when the first instance serves its first request.
Imports nothing itself but sys: the answer is the loaded ones, comma
separated (json would import re)."""
import sys

WATCHED = ("logging", "traceback", "re", "importlib", "inspect", "tempfile", "warnings",
           "webob")  # webob: only apps that use google.appengine.ext.webapp load it


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [",".join(m for m in WATCHED if m in sys.modules).encode()]
