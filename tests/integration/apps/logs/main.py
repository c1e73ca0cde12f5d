"""App for test_logs.py: each path writes app log lines a known way."""
import _thread as thread_module
import io
import logging
import os
import sys
import threading
import time


def _levels(tag):
    logging.debug("debug %s", tag)
    logging.info("info %s", tag)
    logging.warning("warning %s", tag)
    logging.error("error %s", tag)
    logging.critical("critical %s", tag)


def _streams(tag):
    print("stdout %s" % tag)
    sys.stderr.write("stderr %s\nunfinished %s" % (tag, tag))


def _exception(tag):
    try:
        raise ValueError("boom %s" % tag)
    except ValueError:
        logging.exception("caught %s", tag)


def _thread(tag):
    t = threading.Thread(target=lambda: logging.warning("from thread %s", tag))
    t.start()
    t.join()


def _thread_lines(tag):
    # Unfinished lines of threads that end, and what a `thread` module
    # thread writes or raises: all of it is the request's.
    t = threading.Thread(target=lambda: sys.stderr.write("unfinished in thread %s" % tag))
    t.start()
    t.join()

    def low_level():
        print("low-level thread %s" % tag)
        raise ValueError("low-level failure %s" % tag)
    thread_module.start_new_thread(low_level, ())


def _replace_streams(tag, environ):
    # Left replaced: the runtime puts its own back after the request.
    sys.stdout = io.StringIO()
    sys.stderr = io.StringIO()
    environ["wsgi.errors"].write("errors %s\n" % tag)


def _close_streams(tag):
    sys.stdout.close()
    sys.stderr.close()
    print("stdout after close %s, closed=%s" % (tag, sys.stdout.closed))
    sys.stderr.write("stderr after close %s\n" % tag)


def _bytes(tag):
    # Bytes through .buffer: decoded as UTF-8, a character cut between two
    # writes joined again, an invalid byte as \\xNN, an unfinished line
    # (ending in half a character) logged at the end of the request.
    sys.stdout.buffer.write(("bytes %s caf\u00e9\n" % tag).encode())
    sys.stderr.buffer.write(b"split \xc3")
    sys.stderr.buffer.write(bytearray(b"\xa9 " + tag.encode() + b"\n"))
    sys.stderr.buffer.write(memoryview(b"bad \xff " + tag.encode() + b"\ntail \xc3"))


def _fileno(tag):
    # No descriptor: io.UnsupportedOperation, as io.StringIO; faulthandler
    # wants one by default and works with the process's own stderr.
    import faulthandler
    for name, f in (("stdout", sys.stdout), ("stderr.buffer", sys.stderr.buffer)):
        try:
            f.fileno()
        except io.UnsupportedOperation as e:
            print("%s.fileno %s: %s %s" % (name, tag, isinstance(e, OSError),
                                           isinstance(e, ValueError)))
    try:
        faulthandler.enable()
    except io.UnsupportedOperation:
        print("faulthandler.enable() %s: UnsupportedOperation" % tag)
    faulthandler.enable(file=sys.__stderr__)
    print("faulthandler.enable(file=sys.__stderr__) %s: %s" % (tag, faulthandler.is_enabled()))
    faulthandler.disable()


def _crash(tag):
    logging.error("before crash %s", tag)
    os._exit(3)


def _hang(tag):
    logging.error("before kill %s", tag)
    sys.stderr.write("pid %d\n" % os.getpid())
    time.sleep(30)


def _concurrent(tag):
    for i in range(20):
        logging.info("%s line %d", tag, i)
        time.sleep(0.005)


def _long_line(tag):
    """One line of 80 KB of two-byte characters: longer than a line may be."""
    logging.info("%s %s", tag, "\u00e9" * 40000)


def _unfinished_big(tag):
    """600 MB written to stdout in writes of 50 MB, and only then a
    newline: one line, longer than the instance's memory."""
    sys.stdout.write(tag + " ")
    chunk = "u" * (50 << 20)
    for _ in range(12):
        sys.stdout.write(chunk)
    sys.stdout.write("\n")


def _controls(tag):
    # Terminal controls: an OSC title, CSI clear screen, a C1 CSI, a NUL.
    logging.warning("%s \x1b]0;title\x07 \x1b[2J \u009b31m \x00 end", tag)


def _flush_times(tag):
    # Lines a Flush carries, with the times it says: here before the epoch.
    from google.appengine.api import api_base_pb2, apiproxy_stub_map
    from google.appengine.api.logservice import log_service_pb2
    group = log_service_pb2.UserAppLogGroup()
    group.log_line.add(timestamp_usec=-1, level=1, message="%s at -1 us" % tag)
    group.log_line.add(timestamp_usec=-1500000, level=1, message="%s at -1.5 s" % tag)
    apiproxy_stub_map.MakeSyncCall(
        "logservice", "Flush", log_service_pb2.FlushRequest(logs=group.SerializeToString()),
        api_base_pb2.VoidProto())


def _warn_flood(tag):
    """Writes int(tag) lines of 1 KB to stderr (app log lines at warning,
    which the console shows)."""
    for i in range(int(tag)):
        sys.stderr.write("warn-flood %d %s\n" % (i, "w" * 1000))


def _warn_for(tag):
    """Writes lines of 1 KB to stderr (app log lines at warning) for
    float(tag) seconds."""
    end = time.monotonic() + float(tag)
    i = 0
    while time.monotonic() < end:
        sys.stderr.write("warn-for %d %s\n" % (i, "w" * 1000))
        i += 1


def _quiet(tag):
    pass


def _flood(tag):
    """Logs int(tag) lines of 2 KB."""
    for i in range(int(tag)):
        logging.info("%d %s", i, "f" * 2048)


ACTIONS = {"/flood": _flood, "/levels": _levels, "/streams": _streams, "/exception": _exception,
           "/thread": _thread, "/thread_lines": _thread_lines, "/crash": _crash, "/hang": _hang,
           "/concurrent": _concurrent, "/quiet": _quiet, "/private": _quiet,
           "/close_streams": _close_streams, "/bytes": _bytes, "/fileno": _fileno,
           "/long_line": _long_line, "/unfinished_big": _unfinished_big,
           "/controls": _controls,
           "/flush_times": _flush_times, "/warn_flood": _warn_flood,
           "/warn_for": _warn_for}
WITH_ENVIRON = {"/replace_streams": _replace_streams}


def app(environ, start_response):
    action = ACTIONS.get(environ["PATH_INFO"])
    if environ["PATH_INFO"] in WITH_ENVIRON:
        action = lambda tag: WITH_ENVIRON[environ["PATH_INFO"]](tag, environ)  # noqa: E731
    if action is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no such action\n"]
    tag = environ.get("QUERY_STRING", "")
    action(tag)
    body = ("%s %s %s" % (environ["REQUEST_LOG_ID"], environ["INSTANCE_ID"], os.getpid())).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
