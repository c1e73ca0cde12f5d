"""App for test_api_channel.py: API calls through the channel to the master
(API4), runtime statistics (API1, API2) and quota figures (API5). Every
path answers JSON."""
import json
import logging
import os
import stat
import struct
import threading
import time
import urllib.parse

import _gaelic

from google.appengine.api import (api_base_pb2, apiproxy_stub_map, logservice, quota,
                                  runtime)
from google.appengine.api.system import system_service_pb2
from google.appengine.runtime import apiproxy_errors

# Taken before any handler imports the module itself: the SDKs' package
# bound it (their __init__ imported everything from it).
_PACKAGE_NAMES_ITS_MODULE = getattr(runtime, "runtime", None) is not None

_kept = []  # allocations that outlive their request


def _error(e):
    out = {"error": type(e).__name__, "message": str(e)}
    if isinstance(e, apiproxy_errors.ApplicationError):
        out.update(code=e.application_error, detail=e.error_detail, args=list(e.args))
    return out


def _call(service, method, request, response):
    try:
        apiproxy_stub_map.MakeSyncCall(service, method, request, response)
    except apiproxy_errors.Error as e:
        return _error(e)
    return {"ok": True}


def _figures():
    cpu, mem = runtime.cpu_usage(), runtime.memory_usage()
    return {
        "cpu": {"total": cpu.total, "rate1m": cpu.rate1m, "rate10m": cpu.rate10m,
                "total_call": cpu.total(), "rate1m_call": cpu.rate1m()},
        "memory": {"current": mem.current, "average1m": mem.average1m,
                   "average10m": mem.average10m, "current_call": mem.current()},
        "process_time": time.process_time(),
        "pid": os.getpid(),
    }


def stats(q):
    return _figures()


def raw_stats(q):
    response = system_service_pb2.GetSystemStatsResponse()
    out = _call("system", "GetSystemStats", system_service_pb2.GetSystemStatsRequest(), response)
    out["has_cpu"] = response.HasField("cpu")
    out["has_memory"] = response.HasField("memory")
    out["cpu"] = {n: getattr(response.cpu, n) for n in ("total", "rate1m", "rate10m")}
    out["memory"] = {n: getattr(response.memory, n) for n in ("current", "average1m", "average10m")}
    return out


def burn(q):
    """Burns CPU in this thread for `cpu` seconds of CPU time, then reports
    the figures and how much the request used by quota's count."""
    end = time.thread_time() + float(q.get("cpu", "0.5"))
    n = 0
    while time.thread_time() < end:
        n += sum(i * i for i in range(1000))
    out = _figures()
    out["request_mcycles"] = quota.get_request_cpu_usage()
    out["request_log_id"] = os.environ.get("REQUEST_LOG_ID")
    return out


def burn_then_ask_from_a_thread(q):
    """Burns `cpu` seconds of CPU in the request's thread, then reads the
    request's quota figures from a thread the request starts."""
    end = time.thread_time() + float(q.get("cpu", "0.3"))
    while time.thread_time() < end:
        sum(i * i for i in range(1000))
    got = {}

    def ask():
        got["request_mcycles"] = quota.get_request_cpu_usage()
        got["clock_refused"] = False
        try:
            _gaelic.thread_clock_ns(-14)  # a process's clock (pid 1), not a thread's
        except ValueError:
            got["clock_refused"] = True
    t = threading.Thread(target=ask)
    t.start()
    t.join()
    got["own_mcycles"] = quota.get_request_cpu_usage()
    return got


def exit_(q):
    os._exit(1)  # the instance is lost; the next request gets a new one


def alloc(q):
    n = int(q.get("mb", "64")) << 20
    _kept.append(b"x" * n)  # written, so resident
    return _figures()


def free(q):
    del _kept[:]
    return {"freed": True}


def unknown(q):
    return _call(q.get("service", "no_such_service"), q.get("method", "Nope"),
                 api_base_pb2.VoidProto(), api_base_pb2.VoidProto())


def app_error(q):
    request = api_base_pb2.VoidProto()
    raw = _RawMessage(b"\x08" + bytes([int(q.get("code", "7"))]) + b"\x12\x04oops")
    out = _call("gaelic_test", "Fail", raw, request)
    return out


class _RawMessage:
    """Any object with SerializeToString works as a request."""

    def __init__(self, data):
        self.data = data

    def SerializeToString(self):
        return self.data


def echo(q):
    request = api_base_pb2.StringProto(value=q.get("text", "héllo"))
    response = api_base_pb2.StringProto()
    out = _call("gaelic_test", "Echo", request, response)
    out["value"] = response.value
    return out


def bad_request(q):
    """A request the service cannot parse: ArgumentError."""
    return _call("system", "GetSystemStats", _RawMessage(b"\xff\xff"), api_base_pb2.VoidProto())


def delay(q):
    return _call("gaelic_test", "Delay", api_base_pb2.Integer32Proto(value=int(q["ms"])),
                 api_base_pb2.VoidProto())


def tiny_deadlines(q):
    """n calls whose deadline passes before they can be answered, then one
    with time to spare: it needs a slot one of them held."""
    errors = set()
    for _ in range(int(q.get("n", "100"))):
        rpc = apiproxy_stub_map.UserRPC("gaelic_test", deadline=0.0001)
        rpc.make_call("Delay", api_base_pb2.Integer32Proto(value=600000), api_base_pb2.VoidProto())
        try:
            rpc.get_result()
        except apiproxy_errors.Error as e:
            errors.add(type(e).__name__)
    rpc = apiproxy_stub_map.UserRPC("gaelic_test", deadline=10)
    rpc.make_call("Echo", api_base_pb2.StringProto(value="after"), api_base_pb2.StringProto())
    try:
        rpc.get_result()
        after = rpc.response.value
    except apiproxy_errors.Error as e:
        after = type(e).__name__
    return {"errors": sorted(errors), "after": after}


def concurrent(q):
    """n threads each hold a Delay call open at once: more than the 100
    calls an instance may have on its channel."""
    n, ms = int(q.get("n", "150")), int(q.get("ms", "300"))
    results = [None] * n

    def one(i):
        results[i] = delay({"ms": ms})

    # Small stacks: 150 default ones do not fit the instance's address space.
    threading.stack_size(256 << 10)
    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"ok": sum(1 for r in results if r.get("ok")), "results": results[:3],
            "failed": [r for r in results if not r.get("ok")][:3]}


def deadline(q):
    rpc = apiproxy_stub_map.UserRPC("gaelic_test", deadline=float(q.get("deadline", "0.3")))
    rpc.make_call("Delay", api_base_pb2.Integer32Proto(value=int(q.get("ms", "3000"))),
                  api_base_pb2.VoidProto())
    try:
        rpc.get_result()
    except (apiproxy_errors.Error, ValueError) as e:  # ValueError: a deadline out of range
        return _error(e)
    return {"ok": True}


def cancel(q):
    """CancelApiCalls while another thread waits for a slow call; then a
    new call. Cancelling holds for the rest of the instance's life."""
    pending = {}

    def slow():
        pending.update(delay({"ms": q.get("ms", "5000")}))

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(float(q.get("after", "0.5")))
    apiproxy_stub_map.apiproxy.CancelApiCalls()
    t.join()
    after = _call("system", "GetSystemStats", system_service_pb2.GetSystemStatsRequest(),
                  system_service_pb2.GetSystemStatsResponse())
    return {"pending": pending, "after": after}


def abandon(q):
    """n threads wait for slow calls until the request's deadline ends the
    request, and with it their waits."""
    def wait_for_slow_call():
        try:
            delay({"ms": 600000})
        except BaseException:  # the deadline's exception: nothing to report
            pass

    threading.stack_size(256 << 10)
    for _ in range(int(q.get("n", "25"))):
        threading.Thread(target=wait_for_slow_call).start()
    time.sleep(600)  # until the deadline
    return {}


def runtime_module(q):
    """The runtime API by the module path App Engine's SDKs define it in."""
    from google.appengine.api.runtime import runtime as module
    return {"memory": module.memory_usage().current() > 0,
            "cpu": module.cpu_usage().total() > 0,
            "shutting_down": module.is_shutting_down(),
            "same": module.set_shutdown_hook is runtime.set_shutdown_hook,
            "package_attribute": _PACKAGE_NAMES_ITS_MODULE}


def quota_figures(q):
    for _ in range(int(q.get("calls", "20"))):
        runtime.cpu_usage()
    return {
        "to_seconds": quota.megacycles_to_cpu_seconds(2400),
        "to_megacycles": quota.cpu_seconds_to_megacycles(1.5),
        "request": quota.get_request_cpu_usage(),
        "api": quota.get_request_api_cpu_usage(),
    }


def _channel_fd():
    for fd in range(64):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                return fd
        except OSError:
            continue
    raise LookupError("no socket among the open descriptors")


def _frame(type_, id_, payload):
    return struct.pack("<IHHI", len(payload), type_, 0, id_) + payload


def raw_garbage(q):
    """An IPC_API_CALL frame whose payload is too short."""
    os.write(_channel_fd(), _frame(7, 5, b"\x01\x02"))
    time.sleep(5)  # the master kills this instance meanwhile
    return {"survived": True}


def raw_envelope(q):
    """A well-framed call whose remote_api envelope is not protobuf."""
    payload = struct.pack("<III", 0, 0, 3) + b"\xff\xff\xff"
    os.write(_channel_fd(), _frame(7, 5, payload))
    time.sleep(5)
    return {"survived": True}


def raw_flood(q):
    """101 calls on the channel at once, bypassing the instance's limit."""
    envelope = (b"\x12\x0bgaelic_test" + b"\x1a\x05Delay" + b"\x22\x03\x08\xd0\x0f")
    payload = struct.pack("<III", 0, 0, len(envelope)) + envelope
    os.write(_channel_fd(), b"".join(_frame(7, i, payload) for i in range(1, 102)))
    time.sleep(5)
    return {"survived": True}


class _LocalStub:
    """A stub registered for one service answers it instead of the master."""

    def MakeSyncCall(self, service, call, request, response):
        response.value = "%s.%s from the local stub" % (service, call)


_hooked = []
apiproxy_stub_map.apiproxy.RegisterStub("local_test", _LocalStub())
apiproxy_stub_map.apiproxy.GetPreCallHooks().Append(
    "count", lambda service, call, request, response: _hooked.append(service))


def local_stub(q):
    response = api_base_pb2.StringProto()
    apiproxy_stub_map.MakeSyncCall("local_test", "Hello", api_base_pb2.VoidProto(), response)
    return {"value": response.value, "hooked": _hooked[-1:]}


class _ReturningStub:
    """A stub that returns its response instead of filling the caller's, as
    the SDK allows."""

    def MakeSyncCall(self, service, call, request, response):
        return api_base_pb2.StringProto(value="returned by the stub")


def hooks(q):
    """Which postcall hooks see a call that works and one that fails, and
    what MakeSyncCall gives back from a stub that returns its response."""
    stubmap = apiproxy_stub_map.APIProxyStubMap(apiproxy_stub_map.apiproxy.GetDefaultStub())
    stubmap.RegisterStub("returning", _ReturningStub())
    seen = []
    post = stubmap.GetPostCallHooks()
    post.Append("four", lambda service, call, request, response: seen.append(("four", call)))
    post.Append("five", lambda service, call, request, response, rpc: seen.append(
        ("five", call, rpc is not None)))
    post.Append("six", lambda service, call, request, response, rpc, error: seen.append(
        ("six", call, type(error).__name__ if error else None)))
    out = {}
    stubmap.MakeSyncCall("gaelic_test", "Echo", api_base_pb2.StringProto(value="x"),
                         api_base_pb2.StringProto())
    out["works"], seen[:] = list(seen), []
    try:
        stubmap.MakeSyncCall("gaelic_test", "Fail", api_base_pb2.Integer32Proto(value=3),
                             api_base_pb2.VoidProto())
    except apiproxy_errors.ApplicationError:
        pass
    out["fails"], seen[:] = list(seen), []
    returned = stubmap.MakeSyncCall("returning", "Get", api_base_pb2.VoidProto(), None)
    out["returned"] = getattr(returned, "value", None)
    return out


def hook_keys(q):
    """A hook's key is unique within its function's module, as in the SDK:
    what Append answers for the same key from main, from another module,
    and from main again for another service; and what Append and Push
    raise for a hook that cannot be called (none is added)."""
    import hook_helper

    hooks = apiproxy_stub_map.ListOfHooks()
    out = {"first": hooks.Append("k", lambda s, c, req, resp: None),
           "other_module": hooks.Append("k", hook_helper.hook),
           "same_module_other_service": hooks.Append("k", lambda s, c, req, resp: None,
                                                     "memcache")}
    for name, add in (("append_uncallable", hooks.Append), ("push_uncallable", hooks.Push)):
        try:
            out[name] = add("bad", "not a function")
        except TypeError as e:
            out[name] = type(e).__name__
    out["count"] = len(hooks)
    return out


def _rendezvous(n, key, callback=None, deadline=5):
    """gaelic_test.Rendezvous: answered only once n such calls are in
    flight at the master together."""
    rpc = apiproxy_stub_map.UserRPC("gaelic_test", deadline=deadline, callback=callback)
    k = key.encode()
    rpc.make_call("Rendezvous", _RawMessage(b"\x08" + bytes([n]) + b"\x12" + bytes([len(k)]) + k),
                  api_base_pb2.Integer32Proto())
    return rpc


def _outcome(rpc):
    try:
        rpc.check_success()
    except apiproxy_errors.Error as e:
        return type(e).__name__
    return rpc.response.value


def overlap(q):
    """n calls made one after another, then waited for: each is answered
    only if make_call sent it, so that all n were in flight at once."""
    n, called = int(q.get("n", "3")), []
    rpcs = [_rendezvous(n, q["key"], callback=lambda i=i: called.append(i)) for i in range(n)]
    apiproxy_stub_map.UserRPC.wait_all(rpcs)
    return {"results": [_outcome(rpc) for rpc in rpcs], "callbacks": sorted(called)}


def first_done(q):
    """wait_any returns the call that finished first: an Echo made after a
    Rendezvous that cannot finish until its partner is made."""
    waiting = _rendezvous(2, q["key"])
    echo = apiproxy_stub_map.UserRPC("gaelic_test", deadline=5)
    echo.make_call("Echo", api_base_pb2.StringProto(value="echoed"), api_base_pb2.StringProto())
    first = apiproxy_stub_map.UserRPC.wait_any([waiting, echo])
    out = {"first": "echo" if first is echo else "rendezvous" if first is waiting else None,
           "echo": _outcome(echo)}
    partner = _rendezvous(2, q["key"])
    out["second"] = "rendezvous" if apiproxy_stub_map.UserRPC.wait_any(
        [waiting, partner]) in (waiting, partner) else None
    apiproxy_stub_map.UserRPC.wait_all([waiting, partner])
    out["rendezvous"] = [_outcome(waiting), _outcome(partner)]
    return out


def wait_any_forever(q):
    """wait_any on a call that is never answered, until the request's
    deadline ends the wait."""
    rpc = _rendezvous(2, q["key"], deadline=60)
    apiproxy_stub_map.UserRPC.wait_any([rpc])
    return {"waited": True}


_LEFT_BEHIND = []  # the calls of ended background threads, never collected


def bg_abandon(q):
    """A background thread (the bg backend's) that starts n slow calls and
    ends without waiting for them; answers once it has ended."""
    from google.appengine.api import background_thread

    def leave_calls():
        for _ in range(int(q.get("n", "100"))):
            rpc = apiproxy_stub_map.UserRPC("gaelic_test", deadline=60)
            rpc.make_call("Delay", api_base_pb2.Integer32Proto(value=600000),
                          api_base_pb2.VoidProto())
            _LEFT_BEHIND.append(rpc)
    thread = background_thread.BackgroundThread(target=leave_calls)
    thread.start()
    thread.join()
    return {"left": len(_LEFT_BEHIND)}


def unwaited(q):
    """n answered calls nobody waits for, kept or dropped, then one more:
    answers not yet taken hold none of the 100 call slots."""
    kept = []
    for i in range(int(q.get("n", "150"))):
        rpc = apiproxy_stub_map.UserRPC("gaelic_test", deadline=5)
        rpc.make_call("Echo", api_base_pb2.StringProto(value=str(i)), api_base_pb2.StringProto())
        if i % 2:
            kept.append(rpc)
    return {"after": echo({"text": "after"}).get("value"),
            "kept": [_outcome(rpc) for rpc in kept[-2:]]}


def unstarted(q):
    """Waiting on a UserRPC whose make_call never ran, as an app that
    forgot it would: what each way of waiting raises (None: nothing)."""
    out = {}
    for name in ("wait", "check_success", "get_result"):
        rpc = apiproxy_stub_map.UserRPC("gaelic_test", deadline=5)
        try:
            getattr(rpc, name)()
            out[name] = None
        except Exception as e:
            out[name] = type(e).__name__
    try:
        apiproxy_stub_map.UserRPC.wait_all([apiproxy_stub_map.UserRPC("gaelic_test")])
        out["wait_all"] = None
    except Exception as e:
        out["wait_all"] = type(e).__name__
    return out


BEGUN = set()  # the name= of each /hooked_call that has made its call


def begun(q):
    return {"begun": q["name"] in BEGUN}


def hooked_call(q):
    """Sets a shutdown hook that cancels API calls (or raises, with
    hook=raise), then waits (with UserRPC's `wait`: wait or wait_any) for a
    call of `ms` milliseconds; wait=slot makes that call while 100 others
    hold every call slot, so that it waits for a slot. A shutdown meanwhile
    must run the hook, and so end the wait."""
    ran = []

    def hook():
        ran.append(os.environ.get("PATH_INFO"))
        if q.get("hook") == "raise":
            raise KeyboardInterrupt("shutting down")
        apiproxy_stub_map.apiproxy.CancelApiCalls()
    runtime.set_shutdown_hook(hook)
    holding = []
    for _ in range(100 if q.get("wait") == "slot" else 0):
        holding.append(apiproxy_stub_map.UserRPC("gaelic_test", deadline=600))
        holding[-1].make_call("Delay", api_base_pb2.Integer32Proto(value=int(q["ms"])),
                              api_base_pb2.VoidProto())
    if holding:
        BEGUN.add(q["name"])
    rpc = apiproxy_stub_map.UserRPC("gaelic_test", deadline=600)
    try:
        rpc.make_call("Delay", api_base_pb2.Integer32Proto(value=int(q["ms"])),
                      api_base_pb2.VoidProto())
        BEGUN.add(q["name"])
        if q.get("wait") == "wait_any":
            apiproxy_stub_map.UserRPC.wait_any([rpc])
        rpc.check_success()
        outcome = "answered"
    except BaseException as e:
        outcome = type(e).__name__
    return {"outcome": outcome, "hook_ran": ran}


def hooked_sleep(q):
    """Sets a shutdown hook that raises, then blocks (up to 3 s) in C code
    that releases the GIL, and sleeps 60 s in the same line: the hook,
    left for this thread while it was blocked, must run at the sleep."""
    ran = []

    def hook():
        ran.append(os.environ.get("PATH_INFO"))
        raise KeyboardInterrupt("shutting down")
    runtime.set_shutdown_hook(hook)
    lock = threading.Lock()
    lock.acquire()
    BEGUN.add(q["name"])
    try:
        time.sleep((lock.acquire(True, 3), 60)[1])  # one line: no line event before the sleep
        outcome = "slept"
    except BaseException as e:
        outcome = type(e).__name__
    return {"outcome": outcome, "hook_ran": ran}


def _name(e):
    return "%s.%s" % (type(e).__module__, type(e).__name__)


def interrupted_wait(q):
    """Waits for a call of `ms` milliseconds until the request's deadline
    interrupts the wait, then asks the call for its result: what the wait
    raised, what its callback saw and when, and what check_success gives
    afterwards."""
    out = {"callback_saw": []}
    rpc = apiproxy_stub_map.UserRPC("gaelic_test", deadline=30)

    def callback():
        try:
            rpc.get_result()
            out["callback_saw"].append("success")
        except BaseException as e:
            out["callback_saw"].append(_name(e))
    rpc.callback = callback
    rpc.make_call("Delay", api_base_pb2.Integer32Proto(value=int(q.get("ms", "10000"))),
                  api_base_pb2.VoidProto())
    try:
        rpc.wait()
        out["wait"] = "returned"
    except BaseException as e:
        out["wait"] = _name(e)
    out["callback_at_interruption"] = list(out["callback_saw"])
    try:
        rpc.check_success()
        out["after"] = "success"
    except BaseException as e:
        out["after"] = _name(e)
    return out


def sleep(q):
    if "name" in q:
        # Makes the running request visible in the request logs, so that a
        # test can tell it has begun on its instance.
        logging.info("sleep %s begun", q["name"])
        logservice.flush()
    time.sleep(float(q.get("s", "3")))
    return {"slept": True, "pid": os.getpid()}


ROUTES = {
    "/local_stub": local_stub, "/hooks": hooks, "/sleep": sleep,
    "/stats": stats, "/raw_stats": raw_stats, "/burn": burn, "/burn_then_ask_from_a_thread": burn_then_ask_from_a_thread,
    "/exit": exit_, "/alloc": alloc, "/free": free,
    "/unknown": unknown, "/app_error": app_error, "/echo": echo, "/bad_request": bad_request,
    "/runtime_module": runtime_module, "/delay": delay, "/tiny_deadlines": tiny_deadlines, "/abandon": abandon, "/concurrent": concurrent, "/deadline": deadline, "/cancel": cancel,
    "/quota": quota_figures, "/raw_garbage": raw_garbage, "/raw_envelope": raw_envelope,
    "/raw_flood": raw_flood, "/bg_abandon": bg_abandon, "/overlap": overlap, "/first_done": first_done,
    "/unwaited": unwaited, "/wait_any_forever": wait_any_forever, "/unstarted": unstarted,
    "/hook_keys": hook_keys, "/begun": begun, "/hooked_call": hooked_call,
    "/hooked_sleep": hooked_sleep, "/interrupted_wait": interrupted_wait,
}


def app(environ, start_response):
    q = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    handler = ROUTES.get(environ["PATH_INFO"])
    if handler is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no such path"]
    body = json.dumps(handler(q)).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
