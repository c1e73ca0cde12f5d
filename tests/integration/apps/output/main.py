"""Writes to the instance's stdout/stderr (tests/integration/test_instance_output.py).

Times (`at`, `then_at`) are time.time() values the test chooses, so that
two instances write in an order it knows.

  /pid                    this instance's pid
  /sleep?s=S              sleeps S seconds
  /partial?tag=T&at=&then_at=
                          writes "T-pid PID\\n", then at `at` "T-one " (no
                          newline), at `then_at` "T-two\\n"; answers the pid
  /flood?seconds=S&at=    from `at` on (default: now), writes 100-byte lines
                          to stderr for S seconds, about 4 MB a second (16
                          times what the console shows of one instance)
  /marks?tag=T&at=&n=&gap=
                          from `at` on, writes the line "T-mark K" n times,
                          `gap` seconds apart
  /escapes?tag=T          writes a line of terminal controls: "T-esc ", an
                          OSC title, CSI clear screen, a C1 CSI, a raw 0x9b
                          byte, an invalid byte, " T-end"
  /long?tag=T&n=N         writes the line "T-long " and N times "é" (two
                          bytes each), longer than the console shows at once
  /exit?tag=T             writes "T" without a newline, then exits
  /kill?tag=T&sig=N       writes "T" without a newline, then kills itself
                          with signal N
"""
import json
import os
import time
import urllib.parse


def _sleep_until(t):
    time.sleep(max(0.0, t - time.time()))


def _partial(q):
    tag = q["tag"]
    os.write(2, ("%s-pid %d\n" % (tag, os.getpid())).encode())
    _sleep_until(float(q["at"]))
    os.write(2, ("%s-one " % tag).encode())
    _sleep_until(float(q["then_at"]))
    os.write(2, ("%s-two\n" % tag).encode())
    return os.getpid()


def _flood(q):
    block = b"f" * 99 + b"\n"
    block *= 640  # 64000 bytes a write
    _sleep_until(float(q.get("at", 0)))
    end = time.time() + float(q["seconds"])
    written = 0
    while time.time() < end:
        written += os.write(2, block)
        time.sleep(0.015)
    return written


def _marks(q):
    tag = q["tag"]
    _sleep_until(float(q["at"]))
    for k in range(int(q["n"])):
        os.write(2, ("%s-mark %d\n" % (tag, k)).encode())
        time.sleep(float(q["gap"]))
    return os.getpid()


def _escapes(q):
    os.write(2, q["tag"].encode() + b"-esc \x1b]0;title\x07 \x1b[2J \xc2\x9b31m \x9b \xff " +
             q["tag"].encode() + b"-end\n")
    return os.getpid()


def _long(q):
    os.write(2, q["tag"].encode() + b"-long " + "\u00e9".encode() * int(q["n"]) + b"\n")
    return os.getpid()


def _exit(q):
    os.write(2, q["tag"].encode())
    os._exit(3)


def _kill(q):
    os.write(2, q["tag"].encode())
    os.kill(os.getpid(), int(q["sig"]))
    time.sleep(10)  # the signal ends it long before


ROUTES = {
    "/pid": lambda q: os.getpid(),
    "/sleep": lambda q: time.sleep(float(q["s"])),
    "/partial": _partial,
    "/flood": _flood,
    "/marks": _marks,
    "/escapes": _escapes,
    "/long": _long,
    "/exit": _exit,
    "/kill": _kill,
}


def app(environ, start_response):
    q = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    body = json.dumps({"pid": os.getpid(), "done": ROUTES[environ["PATH_INFO"]](q)}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
