"""The API channel (API4, BK11), runtime statistics (API1, API2, API6,
RT12) and quota (API5): apps call services through
apiproxy_stub_map.MakeSyncCall over their instance's channel to the master,
which answers system.GetSystemStats from its own measurements of the
instance process. The hidden --api_test_service flag adds the gaelic_test
service (Delay, Echo, Fail) to hold calls open and make them fail."""
import json
import os
import re
import secrets
import sys
import threading
import time

import pytest

from harness import REPO, app_path, copy_app, run_gaelic, server_cgroup_name

APP = app_path("api_channel")
TEST_SERVICE = "--api_test_service"
F1_MHZ = 600
# Accounting only: megacycles count at the class clock. (Capped, the default
# where cgroups allow, they count at the host clock; tested below.)
ACCOUNT_ONLY = ("--cpu_cap", "off")


@pytest.fixture(scope="module")
def srv(mserve):
    return mserve(APP, TEST_SERVICE, *ACCOUNT_ONLY)


def get(srv, path):
    return srv.get_json(path)


# ---------------------------------------------------------------- calls

def test_get_system_stats_returns_real_figures(srv):
    raw = get(srv, "/raw_stats")
    assert raw["ok"] and raw["has_cpu"] and raw["has_memory"], raw
    assert raw["cpu"]["total"] > 0
    assert raw["cpu"]["rate1m"] >= 0 and raw["cpu"]["rate10m"] >= 0
    # An instance of the runtime takes a few MB, and far less than its limit.
    assert 2 < raw["memory"]["current"] < 1024
    assert raw["memory"]["average1m"] > 0 and raw["memory"]["average10m"] > 0


def test_cpu_is_process_cpu_time_at_the_class_clock(srv):
    s = get(srv, "/stats")
    # total is read by the master just before the app reads its own
    # process CPU time: megacycles = CPU seconds x 600 MHz (F1).
    ratio = s["cpu"]["total"] / (s["process_time"] * F1_MHZ)
    assert 0.8 < ratio <= 1.001, s


def test_figures_read_as_attributes_and_accessors(srv):
    s = get(srv, "/stats")
    assert s["cpu"]["total"] == s["cpu"]["total_call"]
    assert s["cpu"]["rate1m"] == s["cpu"]["rate1m_call"]
    assert s["memory"]["current"] == s["memory"]["current_call"]


def test_runtime_module_of_the_sdks(srv):
    # from google.appengine.api.runtime import runtime, as apps write it;
    # and runtime.runtime after from google.appengine.api import runtime.
    assert get(srv, "/runtime_module") == {"memory": True, "cpu": True,
                                           "shutting_down": False, "same": True,
                                           "package_attribute": True}


def test_unknown_service_or_method_is_call_not_found(srv):
    r = get(srv, "/unknown?service=no_such_service&method=Nope")
    assert r["error"] == "CallNotFoundError", r
    assert r["message"] == "The API package 'no_such_service' or call 'Nope()' was not found."
    r = get(srv, "/unknown?service=system&method=NoSuchMethod")
    assert r["error"] == "CallNotFoundError", r


def test_service_error_is_application_error(srv):
    r = get(srv, "/app_error?code=7")
    assert r == {"error": "ApplicationError", "message": "ApplicationError: 7 oops", "code": 7,
                 "detail": "oops", "args": [7]}


def test_unparsable_request_is_argument_error(srv):
    r = get(srv, "/bad_request")
    assert r["error"] == "ArgumentError", r
    assert "system.GetSystemStats()" in r["message"]


def test_payload_round_trip(srv):
    assert get(srv, "/echo?text=h%C3%A9llo%20%E2%82%AC")["value"] == "héllo €"


def test_registered_stub_answers_its_service_and_hooks_run(srv):
    r = get(srv, "/local_stub")
    assert r == {"value": "local_test.Hello from the local stub", "hooked": ["local_test"]}


def test_postcall_hooks_and_returned_response_as_in_the_sdk(srv):
    r = get(srv, "/hooks")
    # Every hook sees a call that works; the channel's calls have an RPC.
    assert r["works"] == [["four", "Echo"], ["five", "Echo", True], ["six", "Echo", None]], r
    # A failed call reaches only the hooks that take its error (the SDK's
    # ListOfHooks.Call: four- and five-argument hooks are skipped).
    assert r["fails"] == [["six", "Fail", "ApplicationError"]], r
    # MakeSyncCall hands back what a stub returns instead of filling response.
    assert r["returned"] == "returned by the stub", r


def test_hook_keys_are_unique_within_their_module(srv):
    # The SDK's ListOfHooks: another module's hook with the same key is
    # added; the same module's is not, whatever service it is for. A hook
    # that cannot be called is refused with TypeError as Append or Push
    # adds it, not at every later API call of the instance.
    assert get(srv, "/hook_keys") == {"first": True, "other_module": True,
                                      "same_module_other_service": False,
                                      "append_uncallable": "TypeError",
                                      "push_uncallable": "TypeError", "count": 2}


def test_call_past_its_deadline(srv):
    r = get(srv, "/deadline?deadline=0.3&ms=3000")
    assert r["error"] == "DeadlineExceededError", r
    assert r["message"].startswith("The API call gaelic_test.Delay() took too long")


def test_calls_with_sub_millisecond_deadlines_free_their_slots(srv):
    # Each of the 100 calls times out in the instance at once, and the
    # master must end it as soon: a deadline under 1 ms reached it as 0,
    # its "none given", so each call held its slot for 60 s and the call
    # after them found none within its 10 s.
    r = get(srv, "/tiny_deadlines?n=100")
    assert r == {"errors": ["DeadlineExceededError"], "after": "after"}, r


@pytest.mark.parametrize("deadline", ["0", "-1"])
def test_non_positive_deadline_is_ignored(srv, deadline):
    # As App Engine's RPC documents: the call gets the default deadline.
    assert get(srv, "/deadline?deadline=%s&ms=0" % deadline) == {"ok": True}


@pytest.mark.parametrize("deadline", ["86401", "nan"])
def test_deadline_out_of_range_is_a_value_error_that_says_the_range(srv, deadline):
    r = get(srv, "/deadline?deadline=%s&ms=0" % deadline)
    assert r["error"] == "ValueError", r
    # The message names the range and the value given, not format codes.
    assert "86400 seconds" in r["message"] and "%" not in r["message"], r
    assert r["message"].endswith(" " + repr(float(deadline))), r


def test_more_than_100_concurrent_calls_wait_for_a_slot(srv):
    pid = get(srv, "/stats")["pid"]
    # 150 threads each hold a 300 ms call: the instance keeps at most 100 on
    # its channel (the master would kill it for the 101st), the others wait.
    r = get(srv, "/concurrent?n=150&ms=300")
    assert r["ok"] == 150, r
    assert get(srv, "/stats")["pid"] == pid
    assert "lost" not in srv.stderr_text()


def test_make_call_sends_at_once_so_calls_overlap(srv):
    # Each Rendezvous is answered only once all three are at the master
    # together: make_call must send, not wait for wait_all to.
    r = get(srv, "/overlap?n=3&key=" + secrets.token_hex(4))
    assert r == {"results": [3, 3, 3], "callbacks": [0, 1, 2]}, r


def test_wait_any_returns_the_first_finished(srv):
    # The Rendezvous made first cannot finish before its partner is made;
    # the Echo made after it can.
    r = get(srv, "/first_done?key=" + secrets.token_hex(4))
    assert r == {"first": "echo", "echo": "echoed", "second": "rendezvous",
                 "rendezvous": [2, 2]}, r


def test_waiting_on_a_call_never_made_is_an_error(srv):
    # As in the SDK: a UserRPC must be made (make_call) before it is
    # waited for; an app that forgot must not get a silent success.
    r = get(srv, "/unstarted")
    assert r == {"wait": "AssertionError", "check_success": "AssertionError",
                 "get_result": "AssertionError", "wait_all": "AssertionError"}, r


def test_answers_nobody_took_hold_no_call_slot(srv):
    # 150 calls never waited for, half of them kept: the 100 slots hold
    # only calls whose answer has not come.
    r = get(srv, "/unwaited?n=150")
    assert r == {"after": "after", "kept": ["147", "149"]}, r


def test_quota_conversions_and_request_figures(srv):
    r = get(srv, "/quota?calls=20")
    assert r["to_seconds"] == 2.0
    assert r["to_megacycles"] == 1800
    assert r["request"] >= 0 and r["api"] >= 0
    burn = get(srv, "/burn?cpu=0.3")
    # 0.3 s of the thread's CPU at 600 MHz is at least 180 megacycles.
    assert burn["request_mcycles"] >= 0.3 * F1_MHZ * 0.99, burn


def test_request_cpu_usage_from_a_thread_the_request_started(srv):
    # A thread the request starts belongs to it (its os.environ, its logs,
    # its API CPU): quota gave it only that thread's own CPU time, 0 here.
    r = get(srv, "/burn_then_ask_from_a_thread?cpu=0.3")
    assert r["request_mcycles"] >= 0.3 * F1_MHZ * 0.99, r
    assert r["request_mcycles"] <= r["own_mcycles"], r
    # App code can read no other clock through it.
    assert r["clock_refused"], r


# ---------------------------------------------------------------- statistics

def test_cpu_rate_rises_under_load_and_falls_after(serve):
    srv = serve(APP, *ACCOUNT_ONLY)
    get(srv, "/stats")  # the instance is up
    time.sleep(2)  # and idle: its rates fall from those of its start-up
    before = get(srv, "/stats")
    burn = get(srv, "/burn?cpu=1.0")
    # The burn's CPU second, at 600 MHz.
    assert burn["cpu"]["total"] - before["cpu"]["total"] >= 1.0 * F1_MHZ * 0.99
    assert burn["cpu"]["rate1m"] > before["cpu"]["rate1m"]
    assert burn["cpu"]["rate10m"] > before["cpu"]["rate10m"]
    assert burn["cpu"]["rate1m"] <= burn["cpu"]["total"]
    time.sleep(3)
    after = get(srv, "/stats")
    assert after["cpu"]["rate1m"] < burn["cpu"]["rate1m"], (burn, after)
    assert after["cpu"]["rate10m"] < burn["cpu"]["rate10m"], (burn, after)
    assert after["cpu"]["total"] >= burn["cpu"]["total"]

    # The request log counts the same megacycles (RT12).
    rid = burn["request_log_id"]
    out = srv.wait_logs(rid, "--json", "--limit", "0")
    entry = [e for e in map(json.loads, out.splitlines()) if e["request_id"] == rid]
    assert entry, out
    logged = entry[0]["mcycles"]
    assert burn["request_mcycles"] <= logged <= burn["request_mcycles"] * 1.5 + 30, (burn, entry)


def test_a_new_instance_s_rates_count_from_its_start(serve):
    # The figures must cover the instance from its start: its first sample
    # came with the pool's next tick (up to 250 ms later), so what a first
    # request burned before then was left out of the rates, which read 0
    # until that tick. Each /burn below is the first request of an instance.
    srv = serve(APP, *ACCOUNT_ONLY)
    pids = set()
    for _ in range(5):
        s = get(srv, "/burn?cpu=0.02")
        assert s["cpu"]["rate1m"] > 0 and s["cpu"]["rate10m"] > 0, s
        assert s["pid"] not in pids
        pids.add(s["pid"])
        assert srv.get("/exit").status_code == 500  # the next runs on a new instance


def test_memory_grows_with_a_big_allocation(serve):
    srv = serve(APP)
    before = get(srv, "/stats")["memory"]
    after = get(srv, "/alloc?mb=64")["memory"]
    assert after["current"] >= before["current"] + 60, (before, after)
    time.sleep(2.5)  # a few samples of the new size
    later = get(srv, "/stats")["memory"]
    assert later["current"] >= before["current"] + 60
    assert before["average1m"] < later["average1m"] <= later["current"] + 0.01
    get(srv, "/free")


def test_instance_class_sets_the_clock(serve, tmp_path):
    app = copy_app("api_channel", tmp_path / "f4", lambda text: text + "instance_class: F4\n")
    srv = serve(app, *ACCOUNT_ONLY)
    s = get(srv, "/stats")
    ratio = s["cpu"]["total"] / (s["process_time"] * 2400)
    assert 0.8 < ratio <= 1.001, s


def test_backend_class_sets_the_clock(serve, tmp_path):
    app = copy_app("api_channel", tmp_path / "b4")
    with open(os.path.join(app, "backends.yaml"), "w") as f:
        f.write("backends:\n- name: worker\n  class: B4\n  options: public\n")
    srv = serve(app, *ACCOUNT_ONLY)
    r = srv.get("/stats", headers={"Host": "worker.localhost:%d" % srv.port})
    assert r.status_code == 200, (r.status_code, r.text[:300], srv.stderr_text()[-2000:])
    s = r.json()
    ratio = s["cpu"]["total"] / (s["process_time"] * 2400)
    assert 0.8 < ratio <= 1.001, s


def test_bad_instance_class_is_refused(tmp_path):
    app = copy_app("api_channel", tmp_path / "bad", lambda text: text + "instance_class: F3\n")
    r = run_gaelic("serve", app, "--port", "0")
    assert r.returncode == 2
    assert "app.yaml:10:" in r.stderr and "instance_class" in r.stderr, r.stderr


# ---------------------------------------------------------------- cancelling

def test_cancel_api_calls(serve):
    srv = serve(APP, TEST_SERVICE)
    r = get(srv, "/cancel?ms=5000&after=0.5")
    # The call waiting in another thread, and the next one, are cancelled.
    assert r["pending"]["error"] == "CancelledError", r
    assert r["pending"]["message"] == "The API call gaelic_test.Delay() was explicitly cancelled."
    assert r["after"]["error"] == "CancelledError", r
    # For the rest of the instance's life.
    assert get(srv, "/unknown?service=system&method=GetSystemStats")["error"] == "CancelledError"


@pytest.mark.parametrize("wait, hook, outcome", [
    ("wait", "cancel", "CancelledError"),
    ("wait_any", "cancel", "CancelledError"),
    ("slot", "cancel", "CancelledError"),
    ("wait", "raise", "KeyboardInterrupt"),
])
def test_shutdown_hook_runs_while_a_request_waits_for_a_call(serve, tmp_path, wait, hook,
                                                             outcome):
    # App Engine's own advice: a shutdown hook interrupts long-running code
    # by CancelApiCalls() or an exception. The hook runs in the request's
    # thread, which waits for a call that takes 60 s: the hook must run
    # inside that wait and end it, not after the call, past the 5 s grace,
    # when the instance has been killed.
    r = _stop_backend_during(serve, tmp_path, "/hooked_call?ms=60000&wait=%s&hook=%s"
                             % (wait, hook))
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert r.json() == {"outcome": outcome, "hook_ran": ["/hooked_call"]}, r.json()


def test_shutdown_hook_left_for_a_thread_in_c_code_runs_at_its_next_sleep(serve, tmp_path):
    # The hook is left for the request's thread while it is blocked in C
    # code (a lock's acquire) that goes on to time.sleep in the same line:
    # no line event comes in between, and the notice's poke found no
    # sleeper. The sleep must run the hook first, not sleep past the grace.
    r = _stop_backend_during(serve, tmp_path, "/hooked_sleep?")
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert r.json() == {"outcome": "KeyboardInterrupt", "hook_ran": ["/hooked_sleep"]}, r.json()


def _stop_backend_during(serve, tmp_path, path):
    """Serves the app as a backend (worker, a 5 s grace at shutdown), GETs
    path&name=NAME there, stops the backend once the request has said it
    has begun (/begun?name=NAME) and returns the response."""
    app = copy_app("api_channel", tmp_path / "hooked")
    with open(os.path.join(app, "backends.yaml"), "w") as f:
        f.write("backends:\n- name: worker\n  options: public\n")
    srv = serve(app, TEST_SERVICE, "--shutdown_timeout", "5")
    host = {"Host": "worker.localhost:%d" % srv.port}
    name = "hooked-%d" % time.monotonic_ns()
    result = {}
    t = threading.Thread(target=lambda: result.update(r=srv.get(
        "%s&name=%s" % (path, name), headers=host, timeout=60)))
    t.start()
    deadline = time.monotonic() + 15
    while not srv.get("/begun?name=" + name, headers=host).json()["begun"]:
        assert time.monotonic() < deadline, path + " never began"
        time.sleep(0.05)
    stop = run_gaelic("backends", app, "stop", "worker", "--storage_path", srv.storage_path)
    assert stop.returncode == 0, stop.stderr
    t.join(60)
    return result["r"]


def test_request_deadline_ends_a_wait_any(serve):
    srv = serve(APP, TEST_SERVICE, "--deadline", "2")
    pid = get(srv, "/stats")["pid"]
    # The call alone is never answered (its deadline: 60 s): the request's
    # deadline must end the wait, or the master kills the instance.
    r = srv.get("/wait_any_forever?key=" + secrets.token_hex(4))
    assert r.status_code == 500, r.text
    assert get(srv, "/stats")["pid"] == pid
    assert "lost" not in srv.stderr_text()


def test_a_wait_the_request_deadline_interrupts_is_no_success(serve):
    # The request's DeadlineExceededError (a BaseException) lands in the
    # request's thread while it waits for a call. As with App Engine's
    # runtime RPC, it propagates with the call still running: the call's
    # callback must not run as if the call had succeeded, nor may a later
    # check_success report success and hand over an empty response.
    srv = serve(APP, TEST_SERVICE, "--deadline", "1")
    r = srv.get("/interrupted_wait?ms=10000")
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["wait"] == "google.appengine.runtime.DeadlineExceededError", d
    assert d["callback_at_interruption"] == [], d
    # The call itself ended with the request's deadline.
    api_deadline = "google.appengine.runtime.apiproxy_errors.DeadlineExceededError"
    assert d["after"] == api_deadline, d
    assert d["callback_saw"] == [api_deadline], d


def test_calls_left_by_ended_requests_free_their_slots(serve):
    srv = serve(APP, TEST_SERVICE, "--deadline", "2")
    pid = get(srv, "/stats")["pid"]
    # Four requests each leave 25 calls waiting when their deadline ends
    # them. The master cancels a request's calls when it ends; before, each
    # held one of the instance's 100 call slots until its own deadline
    # (60 s), and the instance could make no call meanwhile.
    for _ in range(4):
        r = srv.get("/abandon?n=25")
        assert r.status_code == 500, r.text
    assert get(srv, "/echo?text=after")["value"] == "after"
    assert get(srv, "/stats")["pid"] == pid  # on the same instance


def test_calls_left_by_ended_background_threads_free_their_slots(serve):
    # A background thread (on a backend) leaves 100 slow calls when it
    # ends. The master cancels them then, as a request's at its end; before,
    # they held the instance's 100 call slots until their deadline (60 s),
    # and its next call waited for one.
    srv = serve(APP, TEST_SERVICE)
    host = {"Host": "bg.localhost:%d" % srv.port}
    pid = srv.get_json("/stats", headers=host)["pid"]
    assert srv.get_json("/bg_abandon?n=100", headers=host)["left"] == 100
    assert srv.get_json("/echo?text=after", headers=host, timeout=30)["value"] == "after"
    assert srv.get_json("/stats", headers=host)["pid"] == pid  # the same instance


# ---------------------------------------------------------------- an untrusted channel

@pytest.mark.parametrize("path, reason", [
    ("/raw_garbage", "malformed API call frame"),
    ("/raw_envelope", "malformed remote_api envelope"),
    ("/raw_flood", "more than 100 concurrent API calls"),
])
def test_bad_api_frames_kill_only_that_instance(serve, path, reason):
    # One request at a time per instance: a second instance takes the bad
    # frame while the first one keeps serving a slow request.
    srv = serve(APP, TEST_SERVICE, "--threads", "1", "--max_instances", "2")
    first = get(srv, "/stats")["pid"]
    slow = {}
    name = "slow-%d" % time.monotonic_ns()
    t = threading.Thread(target=lambda: slow.update(r=srv.get("/sleep?s=3&name=" + name)))
    t.start()
    # The slow request runs on the first instance before the bad frame is
    # sent (it flushes a log line then: a bounded wait).
    assert "sleep %s begun" % name in srv.wait_logs("sleep %s begun" % name), \
        srv.stderr_text()[-2000:]
    r = srv.get(path)
    assert r.status_code == 500
    assert srv.wait_stderr(reason), srv.stderr_text()[-2000:]
    t.join()
    assert slow["r"].status_code == 200 and slow["r"].json()["pid"] == first
    assert srv.alive()
    assert get(srv, "/stats")["pid"] > 0


# ---------------------------------------------------------------- messages

@pytest.fixture(scope="module")
def proto():
    sys.path.insert(0, os.path.join(REPO, "python"))
    try:
        from google.appengine.runtime import proto as module
        from google.appengine.api import api_base_pb2
        from google.appengine.api.system import system_service_pb2
        yield module, api_base_pb2, system_service_pb2
    finally:
        sys.path.remove(os.path.join(REPO, "python"))


def test_messages_serialize_like_protobuf(proto):
    module, base, system = proto
    r = system.GetSystemStatsResponse()
    r.cpu.total = 1.5
    r.memory.current = 2
    assert r.SerializeToString() == (b"\x0a\x09\x11" + b"\0" * 6 + b"\xf8\x3f"
                                     + b"\x12\x09\x09" + b"\0" * 7 + b"\x40")
    back = system.GetSystemStatsResponse.FromString(r.SerializeToString())
    assert back == r and back.HasField("cpu") and back.cpu.total == 1.5
    assert not system.GetSystemStatsResponse().HasField("cpu")
    assert base.Integer32Proto(value=-1).SerializeToString() == b"\x08" + b"\xff" * 9 + b"\x01"
    assert base.Integer32Proto.FromString(b"\x08" + b"\xff" * 9 + b"\x01").value == -1
    assert base.StringProto(value="é").SerializeToString() == b"\x0a\x02\xc3\xa9"
    # Unknown fields are skipped; required fields are checked on the way out.
    assert base.StringProto.FromString(b"\x10\x05\x0a\x01x\x1a\x00").value == "x"
    # A sub-message given, copied, merged or parsed in is present even
    # empty, and goes on the wire, as protobuf's does.
    r = system.GetSystemStatsResponse(cpu=system.SystemStat())
    assert r.SerializeToString() == b"\x0a\x00"
    for step in ("CopyFrom", "MergeFrom"):
        r = system.GetSystemStatsResponse()
        getattr(r.memory, step)(system.SystemStat())
        assert r.HasField("memory") and r.SerializeToString() == b"\x12\x00", step
    r = system.GetSystemStatsResponse()
    r.cpu.ParseFromString(b"")
    assert r.SerializeToString() == b"\x0a\x00"
    # Groups too (10 { 1: 1, 11 { } }); a group's end tag must be its own.
    assert base.StringProto.FromString(b"\x53\x08\x01\x5b\x5c\x54\x0a\x01x").value == "x"
    for bad in (b"\x53\x08\x01", b"\x53\x5c", b"\x54", b"\x53" * 101 + b"\x54" * 101):
        with pytest.raises(module.DecodeError):
            base.StringProto.FromString(bad)
    with pytest.raises(module.EncodeError):
        base.StringProto().SerializeToString()
    with pytest.raises(module.DecodeError):
        base.StringProto.FromString(b"\x0a\x05ab")
    with pytest.raises(TypeError):
        base.Integer32Proto().value = "1"
    with pytest.raises(AttributeError):
        r.cpu = system.SystemStat()


# ---------------------------------------------------------------- the CPU cap

def _cgroup_of(pid, controller):
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            ident, controllers, path = line.rstrip("\n").split(":", 2)
            if controller in controllers.split(",") or (controller == "" and ident == "0"):
                return path
    return None


def test_cpu_cap_limits_instances_to_their_class_clock_by_default(serve):
    srv = serve(APP)
    m = re.search(r"cpu cap: each instance is limited to its class clock on this (\d+) MHz host "
                  r"\(cgroup v(\d) cpu at (\S+)\)", srv.stderr_text())
    if not m:
        # No cgroup cpu controller this server may use: accounting only.
        assert "cpu cap: not possible here" in srv.stderr_text()
        assert get(srv, "/stats")["cpu"]["total"] > 0
        pytest.skip("the cgroup cpu controller is not available here")
    host_mhz, version, where = int(m.group(1)), m.group(2), m.group(3)
    assert where.endswith("/" + server_cgroup_name(srv.pid))
    s = get(srv, "/stats")
    pid = s["pid"]
    group = os.path.join(where, "pid-%d" % pid)
    with open(os.path.join(group, "cgroup.procs")) as f:
        assert str(pid) in f.read().split()
    quota_file = "cpu.max" if version == "2" else "cpu.cfs_quota_us"
    with open(os.path.join(group, quota_file)) as f:
        quota = int(f.read().split()[0])
    assert quota == 100000 * F1_MHZ // host_mhz
    # Capped, the instance runs at most 600 MHz worth of the host's cycles:
    # megacycles count at the host clock.
    ratio = s["cpu"]["total"] / (s["process_time"] * host_mhz)
    assert 0.8 < ratio <= 1.001, s
    assert srv.stop() == 0
    assert not os.path.exists(where)


def test_cpu_cap_on_either_caps_or_refuses_to_start(serve):
    srv = serve(APP, "--cpu_cap", "on", wait=False)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "cpu cap:" not in srv.stderr_text():
        time.sleep(0.05)
    text = srv.stderr_text()
    if "cpu cap: not possible here" in text:
        assert srv.wait(10) == 1
    else:
        assert "cpu cap: each instance is limited" in text
        srv.wait_ready()
