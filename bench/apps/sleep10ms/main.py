"""Benchmark app: I/O-bound; sleeps 10 ms, then a short body.
One thread can serve at most ~100 req/s, so the ceiling is threads x 100."""
import time

BODY = b"slept 10ms\n"


def application(environ, start_response):
    time.sleep(0.01)
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(BODY)))])
    return [BODY]
