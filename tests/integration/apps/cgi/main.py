"""A WSGI handler in the same app as the CGI scripts: its print() output is
log output, never part of the response."""
import io
import sys


def app(environ, start_response):
    print("WSGI-PRINT-MARKER from the wsgi handler")
    if environ["QUERY_STRING"] == "replace_stdout":
        sys.stdout = io.StringIO()  # and left so
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"wsgi response"]
