"""General-purpose WSGI test app for the gaelic integration suite.

Each page is selected by the first path segment; pages that report state
answer JSON. Module-level state (counters, lists) lives as long as the
instance, which is what the caching tests look at.
"""
import _thread
import json
import os
import sys
import threading
import time
import urllib.parse

# RT4: module globals persist between requests of one instance.
COUNTER = 0
COUNTER_LOCK = threading.Lock()
CLOSED = 0
THREAD_DONE = []
ACTIVE = 0
ACTIVE_LOCK = threading.Lock()

TEXT = [("Content-Type", "text/plain")]


def _json(start_response, obj, status="200 OK"):
    body = json.dumps(obj, sort_keys=True).encode("utf-8")
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))])
    return [body]


def _query(environ):
    return dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))


def _ident():
    return {"instance_id": os.environ.get("INSTANCE_ID"), "pid": os.getpid()}


def page_root(environ, start_response):
    start_response("200 OK", TEXT)
    return [b"ok"]


def page_env(environ, start_response):
    """The WSGI environ (values as str, or repr for non-str), their type
    names, a description of the wsgi.* objects, and os.environ."""
    env = {}
    types = {}
    for k, v in environ.items():
        types[k] = type(v).__name__
        env[k] = v if isinstance(v, str) else repr(v)
    inp, err = environ["wsgi.input"], environ["wsgi.errors"]
    wsgi = {
        "version": list(environ["wsgi.version"]) if isinstance(environ["wsgi.version"], tuple) else None,
        "url_scheme": environ["wsgi.url_scheme"],
        "multithread": environ["wsgi.multithread"],
        "multiprocess": environ["wsgi.multiprocess"],
        "run_once": environ["wsgi.run_once"],
        "input": [a for a in ("read", "readline", "readlines", "__iter__") if hasattr(inp, a)],
        "errors": [a for a in ("write", "writelines", "flush") if hasattr(err, a)],
        "environ_is_dict": type(environ) is dict,
    }
    return _json(start_response, {"environ": env, "types": types, "wsgi": wsgi,
                                  "os_environ": dict(os.environ)})


def page_echo(environ, start_response):
    cl = environ.get("CONTENT_LENGTH", "")
    inp = environ["wsgi.input"]
    body = inp.read(int(cl)) if cl else inp.read()
    start_response("200 OK", [
        ("Content-Type", "application/octet-stream"),
        ("X-Method", environ["REQUEST_METHOD"]),
        ("X-Env-Content-Length", cl or "-"),
        ("X-Env-Content-Type", environ.get("CONTENT_TYPE", "-") or "-"),
    ])
    return [body]


def page_path(environ, start_response):
    """PATH_INFO re-encoded as latin-1: the exact bytes the server decoded."""
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("X-Query", environ.get("QUERY_STRING", ""))])
    return [environ["PATH_INFO"].encode("latin-1")]


def page_sleep(environ, start_response):
    """Sleeps s seconds; with name=NAME, /waiting?name=NAME says it has begun."""
    global ACTIVE
    q = _query(environ)
    s = float(q.get("s", "1"))
    with ACTIVE_LOCK:
        ACTIVE += 1
        active = ACTIVE
    if "name" in q:
        WAITING.add(q["name"])
    t0 = time.time()
    try:
        time.sleep(s)
    finally:
        with ACTIVE_LOCK:
            ACTIVE -= 1
    return _json(start_response, dict(_ident(), start=t0, end=time.time(), active=active))


def page_counter(environ, start_response):
    global COUNTER
    with COUNTER_LOCK:
        COUNTER += 1
        n = COUNTER
    return _json(start_response, dict(_ident(), count=n, module_id=id(sys.modules[__name__])))


def page_isolate(environ, start_response):
    """os.environ per request: what was there before, what we set, and what we
    read back after sleeping while another request may be doing the same."""
    q = _query(environ)
    v, k = q.get("v", ""), q.get("k", "GAELIC_ISOLATION")
    t0 = time.time()
    before = os.environ.get(k)
    os.environ[k] = v
    time.sleep(float(q.get("s", "0.5")))
    after = os.environ.get(k)
    return _json(start_response, dict(_ident(), before=before, after=after, set=v,
                                      start=t0, end=time.time()))


def page_bytes(environ, start_response):
    """n bytes of a repeating text (compressible), with the given type;
    with rand=1, n random bytes (that compression does not shrink)."""
    q = _query(environ)
    n = int(q.get("n", "100"))
    ct = q.get("ct", "text/plain")
    unit = b"gaelic 0123456789 abcdefghijklmnopqrstuvwxyz\n"
    body = (unit * (n // len(unit) + 1))[:n]
    if q.get("rand") == "1":
        import random
        body = random.Random(n).randbytes(n)
    headers = [("Content-Type", ct)]
    if q.get("cl") != "0":
        headers.append(("Content-Length", str(n)))
    start_response("200 OK", headers)
    return [body]


def page_write(environ, start_response):
    write = start_response("200 OK", TEXT)
    write(b"part1;")
    write(b"part2;")
    return [b"part3"]


def page_write_caught(environ, start_response):
    """Writes n bytes through write() and carries on if that raises (an
    app's broad except), returning an empty iterable."""
    write = start_response("200 OK", TEXT)
    try:
        write(b"w" * int(_query(environ).get("n", "10")))
    except Exception as e:
        sys.stderr.write("write_caught: write() raised %r\n" % (e,))
    return []


def page_late_write(environ, start_response):
    """A thread the request started calls write() once the body is
    complete (the iterable's close() lets it go), and logs how that went."""
    write = start_response("200 OK", TEXT)
    complete = threading.Event()

    def work():
        complete.wait()
        try:
            write(b"late")
            outcome = "accepted"
        except Exception as e:
            outcome = "%s: %s" % (type(e).__name__, e)
        sys.stderr.write("late_write: %s\n" % outcome)

    class Body:
        def __iter__(self):
            return iter([b"main;"])

        def close(self):
            complete.set()

    threading.Thread(target=work).start()
    return Body()


def page_exc_info(environ, start_response):
    start_response("200 OK", TEXT)
    try:
        raise ValueError("boom")
    except ValueError:
        start_response("503 Service Unavailable", [("Content-Type", "text/plain"),
                                                   ("X-Recovered", "yes")], sys.exc_info())
    return [b"recovered: boom"]


def page_keywords(environ, start_response):
    """start_response with PEP 3333's parameter names as keywords."""
    start_response(status="200 OK", response_headers=TEXT)
    try:
        raise ValueError("boom")
    except ValueError:
        start_response(status="202 Accepted", response_headers=[("X-Keywords", "yes")],
                       exc_info=sys.exc_info())
    return [b"keywords"]


class _Closing:
    def __init__(self, parts):
        self.parts = parts

    def __iter__(self):
        return iter(self.parts)

    def close(self):
        global CLOSED
        with COUNTER_LOCK:
            CLOSED += 1


def page_closing(environ, start_response):
    start_response("200 OK", TEXT)
    return _Closing([b"closing ", b"body"])


def page_closed_count(environ, start_response):
    return _json(start_response, dict(_ident(), closed=CLOSED))


def page_notfound(environ, start_response):
    start_response("404 Not Found", TEXT)
    return [b"app says not found"]


def page_thread(environ, start_response):
    """RT11: starts a thread that appends to a module list after 0.5 s and
    returns at once without joining it."""
    def work():
        time.sleep(0.5)
        THREAD_DONE.append(time.time())
    n_before = len(THREAD_DONE)
    threading.Thread(target=work).start()
    return _json(start_response, dict(_ident(), before=n_before, at_return=len(THREAD_DONE),
                                      returned=time.time()))


def page_thread_count(environ, start_response):
    return _json(start_response, dict(_ident(), count=len(THREAD_DONE),
                                      last=THREAD_DONE[-1] if THREAD_DONE else None,
                                      low_level_saw=LOW_LEVEL_SAW))


LOW_LEVEL_SAW = []


def page_low_level_thread(environ, start_response):
    """RT11 with the `thread` module: like page_thread, but through
    _thread.start_new_thread; the thread records the os.environ it sees."""
    def work(delay):
        time.sleep(delay)
        LOW_LEVEL_SAW.append([os.environ.get("PATH_INFO"), os.environ.get("QUERY_STRING")])
        THREAD_DONE.append(time.time())
    n_before = len(THREAD_DONE)
    _thread.start_new_thread(work, (0.5,))
    return _json(start_response, dict(_ident(), before=n_before, at_return=len(THREAD_DONE)))


def page_stream(environ, start_response):
    """RT6: a body produced in two parts 1 s apart."""
    start_response("200 OK", TEXT)

    def gen():
        yield b"first;"
        time.sleep(1)
        yield b"second"
    return gen()


def page_raise(environ, start_response):
    raise RuntimeError("page_raise: deliberate failure")


def page_cookies(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Set-Cookie", "a=1; Path=/"),
                              ("Set-Cookie", "b=2; Path=/"),
                              ("X-Custom", "custom value")])
    return [b"cookies"]


def page_status(environ, start_response):
    q = _query(environ)
    status = q.get("status", "200 OK")
    ct = q.get("ct", "text/plain")
    headers = [("Content-Type", ct)] if ct else []  # ct= (empty): none
    if "location" in q:
        headers.append(("Location", q["location"]))
    if "cl" in q:
        headers.append(("Content-Length", q["cl"]))
    if "range" in q:
        headers.append(("Content-Range", q["range"]))
    if "etag" in q:
        headers.append(("ETag", q["etag"]))
    if "vary" in q:
        headers.append(("Vary", q["vary"]))
    if "cookie" in q:
        headers.append(("Set-Cookie", q["cookie"]))
    for cc in q["cc"].split("|") if "cc" in q else ():  # one field each
        headers.append(("Cache-Control", cc))
    if "expires" in q:
        headers.append(("Expires", q["expires"]))
    start_response(status, headers)
    return [q.get("body", "").encode("utf-8")]


def page_head_empty(environ, start_response):
    """What WebOb and Werkzeug do for HEAD: the GET's headers, Content-Length
    included, and an empty body. n: the GET body's length; cl=0: no
    Content-Length (a streamed body); etag: an ETag."""
    q = _query(environ)
    body = b"<p>" + b"head and get " * 40 + b"</p>"
    if "n" in q:
        body = (body * (int(q["n"]) // len(body) + 1))[:int(q["n"])]
    headers = [("Content-Type", "text/html")]
    if q.get("cl") != "0":
        headers.append(("Content-Length", str(len(body))))
    if "etag" in q:
        headers.append(("ETag", q["etag"]))
    start_response("200 OK", headers)
    return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]


def page_big_header(environ, start_response):
    """A 2-byte body under a header of n bytes (X-Big: n times "h"); the
    head is then 52 + n bytes as the master writes it."""
    n = int(_query(environ).get("n", "100"))
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Big", "h" * n)])
    return [b"ok"]


def page_precompressed(environ, start_response):
    """A body the app gzipped itself: the server must not compress it again."""
    import gzip
    body = gzip.compress(b"already compressed " * 200)
    start_response("200 OK", [("Content-Type", "text/html"), ("Content-Encoding", "gzip")])
    return [body]


def page_str_body(environ, start_response):
    start_response("200 OK", TEXT)
    return ["a str, not bytes"]  # PEP 3333 violation by the app


def page_no_start(environ, start_response):
    return [b"start_response never called"]


def page_start_twice(environ, start_response):
    start_response("200 OK", TEXT)
    start_response("201 Created", TEXT)  # no exc_info: a fatal error
    return [b"twice"]


def page_bad_status(environ, start_response):
    start_response("OK", TEXT)
    return [b"bad status"]


def page_late_header(environ, start_response):
    """Adds a header to the list after start_response has checked it: a
    valid one (?v=...) or one with a control character."""
    headers = [("Content-Type", "text/plain")]
    start_response("200 OK", headers)
    headers.append(("X-Late", _query(environ).get("v", "a\x01b")))
    return [b"late header"]


def page_hop_by_hop(environ, start_response):
    """Hop-by-hop headers, which PEP 3333 forbids an app and App Engine
    dropped, beside one of its own."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Connection", "close"),
                              ("Keep-Alive", "timeout=5"), ("Transfer-Encoding", "chunked"),
                              ("Upgrade", "websocket"), ("Proxy-Authenticate", "Basic"),
                              ("Proxy-Authorization", "Basic eDp5"),
                              ("Trailer", "X-Sum"), ("X-Kept", "yes")])
    return [b"hop by hop"]


def page_wrong_length(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "100")])
    return [b"ten bytes!"]  # not 100


# Named events for the pages that wait on each other (rendezvous).
EVENTS = {}
WAITING = set()
EVENTS_LOCK = threading.Lock()


def _event(name):
    with EVENTS_LOCK:
        return EVENTS.setdefault(name, threading.Event())


def page_wait_event(environ, start_response):
    """Waits on a threading.Event (a wait the runtime cannot see) until
    /set_event sets it, or s seconds."""
    q = _query(environ)
    ev = _event(q["name"])
    WAITING.add(q["name"])
    was_set = ev.wait(float(q.get("s", "30")))
    return _json(start_response, dict(_ident(), set=was_set))


def page_spin_event(environ, start_response):
    """Keeps the CPU busy, never blocking, until /set_event sets the event,
    or s seconds."""
    q = _query(environ)
    ev = _event(q["name"])
    WAITING.add(q["name"])
    end = time.monotonic() + float(q.get("s", "30"))
    spins = 0
    while not ev.is_set() and time.monotonic() < end:
        spins += 1
    return _json(start_response, dict(_ident(), set=ev.is_set(), spins=spins))


def page_waiting(environ, start_response):
    return _json(start_response, dict(_ident(), waiting=_query(environ)["name"] in WAITING))


def page_set_event(environ, start_response):
    _event(_query(environ)["name"]).set()
    return _json(start_response, _ident())


PAGES = {
    "wait_event": page_wait_event,
    "spin_event": page_spin_event,
    "waiting": page_waiting,
    "set_event": page_set_event,
    "wrong_length": page_wrong_length,
    "hop_by_hop": page_hop_by_hop,
    "late_header": page_late_header,
    "precompressed": page_precompressed,
    "big_header": page_big_header,
    "head_empty": page_head_empty,
    "str_body": page_str_body,
    "no_start": page_no_start,
    "start_twice": page_start_twice,
    "bad_status": page_bad_status,
    "": page_root,
    "env": page_env,
    "echo": page_echo,
    "path": page_path,
    "sleep": page_sleep,
    "counter": page_counter,
    "isolate": page_isolate,
    "bytes": page_bytes,
    "write": page_write,
    "write_caught": page_write_caught,
    "late_write": page_late_write,
    "exc_info": page_exc_info,
    "keywords": page_keywords,
    "closing": page_closing,
    "closed_count": page_closed_count,
    "notfound": page_notfound,
    "thread": page_thread,
    "thread_count": page_thread_count,
    "low_level_thread": page_low_level_thread,
    "stream": page_stream,
    "raise": page_raise,
    "cookies": page_cookies,
    "status": page_status,
}


def app(environ, start_response):
    first = environ.get("PATH_INFO", "/").lstrip("/").split("/", 1)[0]
    page = PAGES.get(first)
    if page is None:
        start_response("404 Not Found", TEXT)
        return [b"no such page"]
    return page(environ, start_response)
