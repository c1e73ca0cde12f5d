"""App for test_hostile_channel.py: /send?case=NAME writes the frames of
one hostile case (CASES below) straight to the instance's channel socket,
bypassing the runtime, then does what the case says: "hang" waits for the
master to kill the instance, "exit" ends the process at once, "return"
answers normally. Frame layout: src/ipc.h."""
import json
import os
import select
import stat
import struct
import time
import urllib.parse

from google.appengine.runtime import request_state

READY, REQUEST, RESPONSE, LOG, SHUTDOWN, DEADLINE = 1, 2, 3, 4, 5, 6
API_CALL, API_RESULT, BG_START, BG_END, API_CPU, RETIRE = 7, 8, 9, 10, 11, 12
MAX_PAYLOAD = 64 << 20
BG_BIT = 0x80000000
BG_MAX = 10


def _channel_fd():
    for fd in range(64):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                return fd
        except OSError:
            continue
    raise LookupError("no socket among the open descriptors")


def frame(type_, id_, payload=b"", flags=0, length=None):
    n = len(payload) if length is None else length
    return struct.pack("<IHHI", n, type_, flags, id_) + payload


def u32(v):
    return struct.pack("<I", v)


def u64(v):
    return struct.pack("<Q", v)


def byts(b):
    if isinstance(b, str):
        b = b.encode("latin-1")
    return u32(len(b)) + b


def response(status="200 OK", headers=(), body=b"forged", cpu=0):
    out = u64(cpu) + byts(status) + u32(len(headers))
    for k, v in headers:
        out += byts(k) + byts(v)
    return out + byts(body)


def log(level, message):
    return u32(level) + byts(message)


def api_delay(ms):
    """An IPC_API_CALL payload: gaelic_test.Delay(ms) (--api_test_service)."""
    arg = b"\x08" + _varint(ms)
    envelope = (b"\x12\x0bgaelic_test" + b"\x1a\x05Delay" + b"\x22" + bytes([len(arg)]) + arg)
    return u32(0) + u32(0) + byts(envelope)


def _varint(v):
    out = b""
    while v >= 0x80:
        out += bytes([v & 0x7F | 0x80])
        v >>= 7
    return out + bytes([v])


def _forge(status, headers=(), body=b"forged", cpu=0):
    """The own request answered with the app's status and headers, then, in
    the same write, a frame of no known type: the master answers the client
    and kills the instance in one go, so that no other request reaches it."""
    return lambda rid: [frame(RESPONSE, rid, response(status, headers, body, cpu)) + frame(99, 0)]


CPU_PAST_U32 = 3 * (1 << 32) + 12345  # us: 3.6 CPU-hours
CPU_MAX = 1 << 52  # IPC_MAX_CPU_US


# name -> (frames(rid) -> list of writes, then "hang" | "exit" | "return")
CASES = {
    # framing
    "oversize": (lambda rid: [frame(LOG, 0, length=MAX_PAYLOAD + 1)], "hang"),
    "oversize_max_u32": (lambda rid: [frame(LOG, 0, length=0xFFFFFFFF)], "hang"),
    "split_header_exit": (lambda rid: [frame(LOG, 0, log(1, "x"))[:5],
                                       frame(LOG, 0, log(1, "x"))[5:9]], "exit"),
    "split_payload_exit": (lambda rid: [frame(LOG, rid, log(1, "partial"))[:-3]], "exit"),
    "huge_frame_exit": (lambda rid: [frame(LOG, rid, length=MAX_PAYLOAD) + b"\0" * 65536],
                        "exit"),
    # types and flags
    "type_0": (lambda rid: [frame(0, 0)], "hang"),
    "type_99": (lambda rid: [frame(99, rid, b"abc")], "hang"),
    "type_0xffff": (lambda rid: [frame(0xFFFF, 0)], "hang"),
    "type_request": (lambda rid: [frame(REQUEST, rid, byts("main.app") + u32(0) + byts(""))],
                     "hang"),
    "type_shutdown": (lambda rid: [frame(SHUTDOWN, 0)], "hang"),
    "type_deadline": (lambda rid: [frame(DEADLINE, rid)], "hang"),
    "type_api_result": (lambda rid: [frame(API_RESULT, 1, u32(0) + byts(b""))], "hang"),
    "type_api_cpu": (lambda rid: [frame(API_CPU, rid, u32(5))], "hang"),
    "response_flags": (lambda rid: [frame(RESPONSE, rid, response(), flags=0x8)], "hang"),
    "log_flags": (lambda rid: [frame(LOG, rid, log(1, "flagged"), flags=0x1)], "hang"),
    "ready_flags": (lambda rid: [frame(READY, 0, flags=0x2)], "hang"),
    "ready_payload": (lambda rid: [frame(READY, 0, b"junk")], "hang"),
    "ready_id": (lambda rid: [frame(READY, rid)], "hang"),
    "bg_start_flags": (lambda rid: [frame(BG_START, BG_BIT | 7, flags=0x8000)], "hang"),
    "retire_flags": (lambda rid: [frame(RETIRE, 0, byts("why"), flags=0x1)], "hang"),
    # responses to what the instance was not given
    "response_unknown_id": (lambda rid: [frame(RESPONSE, rid + 1000, response())], "hang"),
    "response_id_0": (lambda rid: [frame(RESPONSE, 0, response())], "hang"),
    "response_background_id": (lambda rid: [frame(RESPONSE, BG_BIT | rid, response())], "hang"),
    "response_all_other_ids": (lambda rid: [b"".join(frame(RESPONSE, i, response(body=b"stolen"))
                                                     for i in range(1, 65) if i != rid)], "hang"),
    # malformed responses
    "response_empty": (lambda rid: [frame(RESPONSE, rid)], "hang"),
    "response_n_headers_huge": (lambda rid: [frame(RESPONSE, rid, u64(0) + byts("200 OK") +
                                                   u32(0xFFFFFFFF) + byts("a") + byts("b"))],
                                "hang"),
    "response_truncated": (lambda rid: [frame(RESPONSE, rid, u64(0) + u32(100) + b"200 OK")],
                           "hang"),
    "response_status_len_overflow": (lambda rid: [frame(RESPONSE, rid, u64(0) + u32(0xFFFFFFFF) +
                                                        b"200 OK")], "hang"),
    "response_header_len_overflow": (lambda rid: [frame(RESPONSE, rid, u64(0) + byts("200 OK") +
                                                        u32(1) + u32(0xFFFFFFF8) + b"abcd")],
                                     "hang"),
    "response_body_len_overflow": (lambda rid: [frame(RESPONSE, rid, u64(0) + byts("200 OK") +
                                                      u32(0) + u32(0xFFFFFFFC) + b"body")],
                                   "hang"),
    "response_trailing_bytes": (lambda rid: [frame(RESPONSE, rid, response() + b"extra")], "hang"),
    "response_cpu_over_max": (lambda rid: [frame(RESPONSE, rid, response(cpu=CPU_MAX + 1))], "hang"),
    "response_cpu_u32": (lambda rid: [frame(RESPONSE, rid, response()[4:])], "hang"),
    # the app's own response, invalid as HTTP: a 500, never sent on
    "status_short": (_forge("20 OK"), "hang"),
    "status_long": (_forge("2000 OK"), "hang"),
    "status_no_space": (_forge("200OK"), "hang"),
    "status_no_reason": (_forge("200"), "hang"),
    "status_empty": (_forge(""), "hang"),
    "status_letters": (_forge("abc OK"), "hang"),
    "status_1xx": (_forge("101 Switching Protocols", [("Upgrade", "h2c")]), "hang"),
    "status_999": (_forge("999 Nope"), "hang"),
    "status_crlf": (_forge("200 OK\r\nX-Injected: 1"), "hang"),
    "status_lf": (_forge("200 OK\nX-Injected: 1"), "hang"),
    "status_nul": (_forge("200 OK\0X-Injected: 1"), "hang"),
    "header_value_crlf": (_forge("200 OK", [("X-A", "1\r\nX-Injected: 1")]), "hang"),
    "header_value_lf": (_forge("200 OK", [("X-A", "1\nX-Injected: 1")]), "hang"),
    "header_value_cr": (_forge("200 OK", [("X-A", "1\rX-Injected: 1")]), "hang"),
    "header_value_nul": (_forge("200 OK", [("X-A", "1\0X-Injected: 1")]), "hang"),
    "header_name_crlf": (_forge("200 OK", [("X-A\r\nX-Injected", "1")]), "hang"),
    "header_name_colon": (_forge("200 OK", [("X-Injected: 1\r\nX-A", "1")]), "hang"),
    "header_name_space": (_forge("200 OK", [("X A", "1")]), "hang"),
    "header_name_nul": (_forge("200 OK", [("X-A\0", "1")]), "hang"),
    "header_name_empty": (_forge("200 OK", [("", "1")]), "hang"),
    "header_body_split": (_forge("200 OK", [("X-A", "1\r\n\r\nHTTP/1.1 200 OK")]), "hang"),
}

# The app's headers that would desync the client's connection if sent on.
DESYNC = {
    "content_length_short": [("Content-Length", "3")],
    "content_length_long": [("Content-Length", "100000")],
    "content_length_two": [("Content-Length", "3"), ("Content-Length", "4")],
    "content_length_junk": [("Content-Length", "-1, 5")],
    "transfer_encoding": [("Transfer-Encoding", "chunked")],
    "transfer_encoding_cl": [("Transfer-Encoding", "chunked"), ("Content-Length", "0")],
    "connection_close": [("Connection", "close")],
    "connection_upgrade": [("Connection", "Upgrade"), ("Upgrade", "websocket")],
    "keep_alive": [("Keep-Alive", "timeout=1"), ("Proxy-Connection", "close")],
    "trailer": [("Trailer", "X-T"), ("TE", "trailers")],
}
BODY = b"the forged body, 32 bytes long.."

for _name, _headers in DESYNC.items():
    CASES["desync_" + _name] = (_forge("200 OK", _headers, BODY), "hang")
for _name, _status in (("204", "204 No Content"), ("304", "304 Not Modified")):
    CASES["no_body_" + _name] = (_forge(_status, [("Content-Length", "32")], BODY), "hang")
# A valid answer, then the runtime's own to the same request: a duplicate.
CASES["duplicate"] = (lambda rid: [frame(RESPONSE, rid, response(body=BODY))], "return")
# A valid answer whose CPU time a u32 could not carry: its log row's megacycles.
CASES["cpu_past_u32"] = (_forge("200 OK", body=BODY, cpu=CPU_PAST_U32), "hang")


def _hang():
    time.sleep(10)  # the master kills this instance meanwhile
    return {"survived": True}


def send(q, environ):
    rid = request_state.current().id
    make, then = CASES[q["case"]]
    fd = _channel_fd()
    for chunk in make(rid):
        os.write(fd, chunk)
        time.sleep(0.05)  # separate reads on the master's side
    if then == "exit":
        os._exit(3)
    if then == "hang":
        return _hang()
    return {"rid": rid}


def answer_other(q, environ):
    """Answers another request this instance holds (id in the query)."""
    os.write(_channel_fd(), frame(RESPONSE, int(q["id"]), response(body=b"from another request")))
    return {"rid": request_state.current().id}


_held = {}


def hold(q, environ):
    """Waits until released, reporting its request id meanwhile."""
    _held[q["tag"]] = request_state.current().id
    end = time.monotonic() + float(q.get("s", "3"))
    while time.monotonic() < end and q["tag"] in _held:
        time.sleep(0.02)
    return {"tag": q["tag"], "rid": request_state.current().id}


def held(q, environ):
    return {"rids": _held}


def flood_logs(q, environ):
    """n app log lines of the request (or of no request, id 0)."""
    rid = 0 if q.get("id") == "0" else request_state.current().id
    n = int(q.get("n", "10000"))
    level = int(q.get("level", "1"))
    fd = _channel_fd()
    batch = [frame(LOG, rid, log(level, "flood line %d" % i)) for i in range(n)]
    os.write(fd, b"".join(batch))
    return {"sent": n, "rid": rid}


def log_line(q, environ):
    """One app log line with the text given (then nl newlines and "end"),
    of the request or (id=0) of none."""
    rid = 0 if q.get("id") == "0" else request_state.current().id
    nl = int(q.get("nl", "0"))
    text = q["text"].encode() + (b"\n" * nl + b"end" if nl else b"")
    os.write(_channel_fd(), frame(LOG, rid, log(int(q.get("level", "2")), text)))
    return {"rid": rid}


def repeat(q, environ):
    """n copies of one frame the master accepts: READY, RETIRE, a
    background thread's start and end (its log rows; a backend's), or a
    start alone (which the master refuses on the default version)."""
    kind, n = q["kind"], int(q.get("n", "50"))
    if kind == "ready":
        data = frame(READY, 0) * n
    elif kind == "retire":
        data = frame(RETIRE, 0, byts("retired by the test app")) * n
    elif kind == "background":
        data = b""
        for i in range(n):
            ids = [BG_BIT | (1000 + i * BG_MAX + k) for k in range(BG_MAX)]
            data += b"".join(frame(BG_START, b) for b in ids)
            data += b"".join(frame(BG_END, b, u32(k % 2) + u64(k << 30)) for k, b in enumerate(ids))
    elif kind == "background_starts":
        data = b"".join(frame(BG_START, BG_BIT | (3000 + i)) for i in range(n))
    else:
        raise ValueError(kind)
    os.write(_channel_fd(), data)
    return {"sent": n, "pid": os.getpid()}


def bad_many(q, environ):
    """Valid frames first, then the one that breaks the protocol (kind)."""
    kind = q["kind"]
    fd = _channel_fd()
    if kind == "bg_over_max":
        data = b"".join(frame(BG_START, BG_BIT | (i + 1)) for i in range(BG_MAX + 1))
    elif kind == "bg_end_unknown":
        data = frame(BG_START, BG_BIT | 1) + frame(BG_END, BG_BIT | 2, u32(0) + u64(0))
    elif kind == "bg_start_twice":
        data = frame(BG_START, BG_BIT | 1) + frame(BG_START, BG_BIT | 1)
    elif kind == "bg_start_no_bit":
        data = frame(BG_START, 5)
    elif kind == "bg_start_payload":
        data = frame(BG_START, BG_BIT | 1, u32(0))
    elif kind == "bg_stop_not_stopping":
        # /_ah/stop's log (IPC_BACKGROUND_STOP) before any IPC_SHUTDOWN
        data = frame(BG_START, BG_BIT | 1, u32(1))
    elif kind == "bg_end_failed_2":
        data = frame(BG_START, BG_BIT | 1) + frame(BG_END, BG_BIT | 1, u32(2) + u64(0))
    elif kind == "bg_end_cpu_over_max":
        data = frame(BG_START, BG_BIT | 1) + frame(BG_END, BG_BIT | 1, u32(0) + u64(CPU_MAX + 1))
    elif kind == "bg_end_cpu_u32":
        data = frame(BG_START, BG_BIT | 1) + frame(BG_END, BG_BIT | 1, u32(0) + u32(0))
    elif kind == "api_reused_id":
        data = frame(API_CALL, 9, api_delay(3000)) + frame(API_CALL, 9, api_delay(3000))
    elif kind == "api_id_0":
        data = frame(API_CALL, 0, api_delay(10))
    elif kind == "api_flood":
        data = b"".join(frame(API_CALL, i, api_delay(3000)) for i in range(1, 102))
    elif kind == "log_level_huge":
        data = frame(LOG, 0, log(0xFFFFFFFF, "x"))
    elif kind == "log_level_5":
        data = frame(LOG, 0, log(5, "x"))
    elif kind == "log_truncated":
        data = frame(LOG, 0, u32(1) + u32(50) + b"short")
    elif kind == "retire_id":
        data = frame(RETIRE, 7, byts("why"))
    elif kind == "retire_long":
        data = frame(RETIRE, 0, byts("x" * 1025))
    else:
        raise ValueError(kind)
    os.write(fd, data)
    return _hang()


def pid(q, environ):
    return {"pid": os.getpid()}


def bg_cpu(q, environ):
    """Three background threads that end at once, having used 1 s (the
    clock's megacycles), CPU_PAST_U32 and CPU_MAX us of CPU."""
    ids = [BG_BIT | (2000 + k) for k in range(3)]
    data = b"".join(frame(BG_START, b) for b in ids)
    data += b"".join(frame(BG_END, b, u32(0) + u64(us))
                     for b, us in zip(ids, [1000000, CPU_PAST_U32, CPU_MAX]))
    os.write(_channel_fd(), data)
    return {"pid": os.getpid()}


def _random_frame(rnd, rid):
    """One frame of a random kind: well formed, or, one time in eight, with
    one thing wrong (its type, flags or id, a length field, its end)."""
    bad = rnd.choice(["type", "flags", "id", "length", "cut"]) if rnd.random() < 0.125 else None

    def text():
        n = rnd.choice([0, 1, 6, 40, 300])
        return bytes(rnd.choice(b"200 OK\r\n\0:ab\x7f\xc3\xa9") for _ in range(n))

    lied = []

    def field(data):
        """bytes; for a "length" frame, the first length may lie"""
        if bad == "length" and not lied and rnd.random() < 0.5:
            lied.append(1)
            return u32(rnd.choice([len(data) + 1, 0x7FFFFFFF, 0xFFFFFFFF])) + data
        return u32(len(data)) + data

    kind = rnd.choice(["response", "response", "log", "log", "api", "bg", "retire", "ready"])
    if kind == "response":
        type_, id_ = RESPONSE, rid
        status = rnd.choice([b"200 OK", b"404 Not Found", b"204 No Content", text()])
        heads = [(rnd.choice([b"X-A", b"Content-Length", b"Transfer-Encoding", b"Vary", b"ETag",
                              text()]),
                  rnd.choice([b"1", b'"e"', b"chunked", text()])) for _ in range(rnd.randrange(4))]
        payload = (u64(rnd.randrange(1 << 40)) + field(status) + u32(len(heads)) +
                   b"".join(field(k) + field(v) for k, v in heads) + field(text()))
    elif kind == "log":
        type_, id_ = LOG, rnd.choice([0, rid, BG_BIT | rnd.randrange(1, 4)])
        payload = u32(rnd.randrange(5)) + field(text())
    elif kind == "api":
        type_, id_ = API_CALL, rnd.randrange(1, 200)
        envelope = b"\x12\x06system" + b"\x1a\x0eGetSystemStats" + b"\x22\x00"
        payload = u32(rnd.choice([0, rid])) + u32(rnd.choice([0, 50])) + field(envelope)
    elif kind == "bg":
        type_, id_ = rnd.choice([BG_START, BG_END]), BG_BIT | rnd.randrange(1, 4)
        payload = b"" if type_ == BG_START else u32(rnd.randrange(2)) + u64(rnd.randrange(1 << 40))
    elif kind == "retire":
        type_, id_, payload = RETIRE, 0, field(text())
    else:
        type_, id_, payload = READY, 0, b""
    flags = 0
    if bad == "type":
        type_ = rnd.choice([0, REQUEST, SHUTDOWN, DEADLINE, API_RESULT, API_CPU, 13, 0xFFFF])
    elif bad == "flags":
        flags = rnd.choice([1, 2, 0x8000])
    elif bad == "id":
        id_ = rnd.choice([0, rid + 1, BG_BIT | rid, 0xFFFFFFFF])
    elif bad == "cut" and payload:
        payload = payload[:rnd.randrange(len(payload))]
    return frame(type_, id_, payload, flags=flags)


def fuzz(q, environ):
    """A seeded run of random frames (_random_frame), then a normal answer
    if the instance is still there."""
    import random

    rnd = random.Random(int(q["seed"]))
    rid = request_state.current().id
    data = b"".join(_random_frame(rnd, rid) for _ in range(rnd.randrange(1, 8)))
    os.write(_channel_fd(), data)
    time.sleep(0.02)
    return {"seed": q["seed"]}


def start(environ, start_response):
    """/_ah/start of a backend: the case named in the file start-case of
    the app folder (the test adds it), else a plain start."""
    try:
        with open(os.path.join(os.path.dirname(__file__), "start-case")) as f:
            case = f.read().strip()
    except OSError:
        case = ""
    if case:
        send({"case": case}, environ)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"started"]


def background(q, environ):
    """A background thread (backends only) that forges frames with its own
    id: "end_twice" ends itself early (the runtime's own end comes later),
    "response" answers its id as a request, "logs" logs a flood."""
    from google.appengine.api import background_thread

    case = q["case"]

    def run():
        bg = request_state.current().id
        fd = _channel_fd()
        if case == "end_twice":
            os.write(fd, frame(BG_END, bg, u32(0) + u64(0)))
        elif case == "response":
            os.write(fd, frame(RESPONSE, bg, response()))
        elif case == "logs":
            os.write(fd, b"".join(frame(LOG, bg, log(2, "bg line %d" % i)) for i in range(5000)))
        time.sleep(0.5)

    background_thread.start_new_background_thread(run, [])
    return {"started": True, "pid": os.getpid()}


def stop_reading(q, environ):
    """Points the runtime's channel reader at a pipe that never delivers,
    keeping the socket to write on, then writes n background start/end
    cycles: the master answers each start (IPC_BACKGROUND_STARTED), and
    those answers pile up unread. Waits to be killed.

    It lets another worker take up reading first (this one hands that role
    on as it sleeps): one blocked in read(2) goes on reading the socket it
    started on, where a worker taking the role after the swap would call
    recv(2) on the pipe (ENOTSOCK) and end the instance, as a freshly
    started backend instance did here."""
    time.sleep(0.2)
    fd = _channel_fd()
    saved = os.dup(fd)
    r, _w = os.pipe()
    os.dup2(r, fd)
    data = b""
    for i in range(int(q.get("n", "200"))):
        ids = [BG_BIT | (1000 + i * BG_MAX + k) for k in range(BG_MAX)]
        data += b"".join(frame(BG_START, b) for b in ids)
        data += b"".join(frame(BG_END, b, u32(0) + u64(0)) for b in ids)
    os.write(saved, data)
    time.sleep(60)  # the master kills this instance meanwhile
    return {"survived": True}


def _api_echo(data):
    """An IPC_API_CALL payload: gaelic_test.Echo(data), answered with data."""
    envelope = (b"\x12\x0bgaelic_test" + b"\x1a\x04Echo" + b"\x22" + _varint(len(data)) + data)
    return u32(0) + u32(0) + byts(envelope)


def _write_all(fd, data, owed):
    """Writes data on the non-blocking fd, reading what the master sends
    meanwhile (counted in owed) so that neither side waits on the other."""
    while data:
        try:
            data = data[os.write(fd, data):]
        except BlockingIOError:
            time.sleep(0.01)
        try:
            owed[0] += len(os.read(fd, 1 << 20))
        except BlockingIOError:
            pass


def flood_unread(q, environ):
    """Points the runtime's channel reader at a pipe that never delivers,
    then sends Echo calls of 1 MiB (at most `calls`, for at most `s`
    seconds) while reading only 4 KiB of the answers per call, so that the
    channel never looks stalled. The master must stop taking its frames
    once the answers it owes pile up, which stalls these writes. Then reads
    all it is owed, and answers its own request with how many calls the
    master took meanwhile, then a frame that ends the instance."""
    rid = request_state.current().id
    fd = _channel_fd()
    chan = os.dup(fd)
    r, _w = os.pipe()
    os.dup2(r, fd)
    os.set_blocking(chan, False)
    payload = _api_echo(b"x" * (1 << 20))
    owed = [0]
    sent = 0
    pending = b""
    end = time.monotonic() + float(q.get("s", "4"))
    while time.monotonic() < end and sent < int(q.get("calls", "200")):
        if not pending:
            pending = frame(API_CALL, 0x100000 + sent, payload)
        select.select([], [chan], [], 0.05)
        try:
            pending = pending[os.write(chan, pending):]
        except BlockingIOError:
            pass
        if not pending:
            sent += 1
        try:
            owed[0] += len(os.read(chan, 4096))
        except BlockingIOError:
            pass
    took = sent
    _write_all(chan, pending, owed)  # a frame is never left half written
    quiet_since, give_up = time.monotonic(), time.monotonic() + 20
    while time.monotonic() - quiet_since < 0.5 and time.monotonic() < give_up:
        try:
            got = os.read(chan, 1 << 20)
        except BlockingIOError:
            time.sleep(0.01)
            continue
        owed[0] += len(got)
        quiet_since = time.monotonic()
    body = json.dumps({"took": took, "answered_mib": owed[0] / (1 << 20)}).encode()
    _write_all(chan, _forge("200 OK", [("Content-Type", "application/json")], body)(rid)[0],
               owed)
    return _hang()


def _pb_len(num, data):
    return _varint(num << 3 | 2) + _varint(len(data)) + data


def flush_flood(q, environ):
    """calls logservice.Flush calls at once, each carrying mb MiB of empty
    log lines (UserAppLogLine: time 0, level 0, message ""; 8 bytes each,
    millions a call), through the runtime's API channel."""
    import _gaelic

    line = _pb_len(2, b"\x08\x00\x10\x00" + _pb_len(3, b""))
    body = _pb_len(1, line * ((int(q.get("mb", "31")) << 20) // len(line)))
    rid = request_state.current().id
    calls = [_gaelic.api_start(rid, "logservice", "Flush", body, None)
             for _ in range(int(q.get("calls", "6")))]
    return {"results": [list(c.wait()[:2]) for c in calls]}


ROUTES = {"/send": send, "/answer_other": answer_other, "/hold": hold, "/held": held,
          "/flood_logs": flood_logs, "/repeat": repeat, "/bad_many": bad_many, "/pid": pid,
          "/bg_cpu": bg_cpu,
          "/background": background, "/fuzz": fuzz,
          "/log_line": log_line, "/stop_reading": stop_reading, "/flood_unread": flood_unread,
          "/flush_flood": flush_flood}


def app(environ, start_response):
    q = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    handler = ROUTES.get(environ["PATH_INFO"])
    if handler is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no such path"]
    body = json.dumps(handler(q, environ)).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
