"""A module whose import fails: the request gets 500 and the server's log
shows the traceback with this message."""
raise RuntimeError("broken.py refuses to load: GAELIC-IMPORT-MARKER-7731")


def app(environ, start_response):  # never reached
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"unreachable"]
