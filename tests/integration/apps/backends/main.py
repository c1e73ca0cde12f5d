"""App for test_backends.py: reports who served a request and what its
start requests saw."""
import json
import os
import time

STARTS = []
HOG = []


def _answer(start_response, data, status="200 OK"):
    start_response(status, [("Content-Type", "application/json")])
    return [json.dumps(data).encode()]


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/_ah/start":
        STARTS.append({"backend": os.environ.get("BACKEND_ID"),
                       "instance": os.environ.get("INSTANCE_ID"),
                       "method": environ["REQUEST_METHOD"]})
        return _answer(start_response, {"started": True})
    if path == "/hog":
        # Touch the memory for real: RSS, not just address space.
        HOG.append(bytearray(int(environ["QUERY_STRING"]) << 20))
        for block in HOG:
            for i in range(0, len(block), 4096):
                block[i] = 1
        return _answer(start_response, {"held_mb": sum(len(b) for b in HOG) >> 20})
    return _answer(start_response, {
        "backend": os.environ.get("BACKEND_ID"),
        "instance": os.environ.get("INSTANCE_ID"),
        "pid": os.getpid(),
        "starts": STARTS,
        "host": environ.get("HTTP_HOST"),
    })


def flaky_start(environ, start_response):
    # The test makes starts fail by creating this file in the app folder.
    if os.path.exists(os.path.join(os.path.dirname(__file__), "fail-start")):
        return _answer(start_response, {"started": False}, "500 Internal Server Error")
    STARTS.append({"backend": "flaky", "instance": os.environ.get("INSTANCE_ID")})
    return _answer(start_response, {"started": True})


def slow_start(environ, start_response):
    time.sleep(1.5)
    STARTS.append({"backend": "slow", "at": time.time()})
    return _answer(start_response, {"started": True}, "404 Not Found")
