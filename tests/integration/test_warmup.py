"""Warmup requests (`inbound_services: - warmup`): an instance the
autoscaler adds while another serves gets GET /_ah/warmup, through the
app's handlers, before any live request; the instance of a cold start
serves the waiting request itself; backends get /_ah/start instead."""
import threading
import time

import pytest
import requests

from harness import HTTP_TIMEOUT, app_path, copy_app

ADMIN = {"dev_appserver_login": "admin@example.com:True:185804764220139124118"}
# Each instance takes two requests at once: four of SLEEP seconds keep the
# first instance busy, so that the autoscaler adds the second for the two
# that wait.
FLAGS = ("--max_instances", "2", "--threads", "2")
SLEEP = 3


def concurrent_gets(url, n, headers=None):
    """n GETs at once, one thread and connection each; their responses."""
    results = [None] * n
    barrier = threading.Barrier(n)

    def one(i):
        try:
            barrier.wait(5)
            results[i] = requests.get(url, headers=headers, timeout=HTTP_TIMEOUT)
        except Exception as e:
            results[i] = e

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HTTP_TIMEOUT + 10)
    bad = [r if isinstance(r, Exception) else (r.status_code, r.content[:300])
           for r in results if isinstance(r, Exception) or r.status_code != 200]
    assert not bad, bad
    return [r.json() for r in results]


def by_instance(answers):
    """{instance_id: its answers in the order they started}."""
    out = {}
    for a in sorted(answers, key=lambda a: a["start"]):
        out.setdefault(a["instance_id"], []).append(a)
    return out


def scale_to_two(s):
    """The first request (a cold start), then a burst that needs a second
    instance. Returns (the first answer, the burst's answers by instance)."""
    first = s.get_json("/state")
    burst = by_instance(concurrent_gets(s.url + "sleep?s=%d" % SLEEP, 4))
    assert len(burst) == 2 and first["instance_id"] in burst, (
        "the burst did not run on two instances: %s\n%s"
        % (burst, s.stderr_text()[-3000:]))
    return first, burst


def warmup_rows(s):
    """The request logs of /_ah/warmup once there is one (or at the bound),
    and the output of `gaelic logs`."""
    return s.wait_new_log_rows("/_ah/warmup", set(), bool)


def test_cold_start_instance_serves_its_request_without_warmup(serve):
    s = serve(app_path("warmup"))
    first = s.get_json("/state")
    assert first["warmups"] == [] and first["live_before"] == 0, first
    again = s.get_json("/state")
    assert again["instance_id"] == first["instance_id"]
    assert again["warmups"] == [], again


def test_instance_added_under_load_gets_one_warmup_before_live_traffic(serve):
    s = serve(app_path("warmup"), *FLAGS)
    first, burst = scale_to_two(s)
    cold = first["instance_id"]
    assert first["warmups"] == []
    assert all(a["warmups"] == [] for a in burst[cold]), burst[cold]
    (added,) = set(burst) - {cold}
    served = burst[added]
    assert served[0]["live_before"] == 0, served
    for a in served:
        assert len(a["warmups"]) == 1, a
    warm = served[0]["warmups"][0]
    # It ran to its end (0.5 s, WARMUP_SLEEP) before the instance took a
    # live request, though it had a free thread for one meanwhile.
    assert warm["end"] is not None and warm["end"] <= served[0]["start"], served
    assert warm["method"] == "GET" and warm["remote_addr"] == "0.1.0.3", warm
    assert warm["user_agent"].startswith("AppEngine-Google"), warm

    rows, out = warmup_rows(s)
    assert len(rows) == 1, out
    row = rows[0]
    assert row["status"] == 200 and row["instance_id"] == added, row
    assert row["request_id"] == warm["request_log_id"], (row, warm)
    assert "warming up instance" in out, out
    assert s.wait_stderr("GET /_ah/warmup 200")


def test_min_instance_gets_its_warmup_before_the_first_request(serve, tmp_path):
    # Started with the server, not for a waiting request: like an instance
    # the autoscaler adds, it warms up before it serves.
    app = copy_app("warmup", tmp_path / "warmup",
                   lambda t: t + "automatic_scaling:\n  min_instances: 1\n")
    s = serve(app)
    first = s.get_json("/state")
    assert first["live_before"] == 0 and len(first["warmups"]) == 1, first
    assert first["warmups"][0]["end"] is not None, first
    rows, out = warmup_rows(s)
    assert len(rows) == 1 and rows[0]["status"] == 200, out


def test_warmup_past_its_deadline_still_leaves_the_instance_serving(serve, tmp_path):
    # The normal deadline applies; whatever the warmup answers (here the
    # 500 of a DeadlineExceededError), the instance then serves.
    app = copy_app("warmup", tmp_path / "warmup",
                   lambda t: t.replace("WARMUP_SLEEP: '0.5'", "WARMUP_SLEEP: '30'"))
    s = serve(app, *FLAGS, "--deadline", str(SLEEP + 1))
    first = s.get_json("/state")
    for _ in range(5):  # bounded: until the added instance served a burst
        burst = by_instance(concurrent_gets(s.url + "sleep?s=%d" % SLEEP, 4))
        added = set(burst) - {first["instance_id"]}
        if added:
            break
    assert added, s.stderr_text()[-3000:]
    served = burst[added.pop()]
    assert len(served[0]["warmups"]) == 1 and served[0]["warmups"][0]["end"] is None, served
    rows, out = warmup_rows(s)
    assert [r["status"] for r in rows] == [500], out


def test_instances_lost_in_their_warmup_leave_the_waiting_requests_to_the_serving_one(
        serve, tmp_path):
    # Each added instance dies in its warmup. Three in a row count as
    # instances that cannot start, but the first instance still serves:
    # the requests waiting for it are its to answer, not 500s. Before,
    # the two that waited were answered 500 ('instances fail to start')
    # about 1.5 s into the 6 s the first pair ran.
    app = copy_app("warmup", tmp_path / "warmup", lambda t: t.replace(
        "WARMUP_SLEEP: '0.5'", "WARMUP_SLEEP: '0'\n  WARMUP_EXIT: '1'"))
    s = serve(app, *FLAGS)
    first = s.get_json("/state")
    answers = concurrent_gets(s.url + "sleep?s=6", 4)
    assert {a["instance_id"] for a in answers} == {first["instance_id"]}, answers
    assert s.wait_stderr("GET /_ah/warmup 500")


@pytest.mark.parametrize("how", ["WARMUP_EXIT", "WARMUP_NOMEM"])
def test_instances_lost_in_their_warmup_are_not_started_again_and_again(serve, tmp_path, how):
    # An instance lost in its warmup beside one that serves (it died, or
    # ran out of memory and was shut down) costs no request, so nothing
    # bounded how often the next was started: for as long as requests
    # waited (here 6 s of them), a new instance was forked at once after
    # each loss, some 200 of them. After three in a row the next now
    # waits, twice as long after each further loss.
    app = copy_app("warmup", tmp_path / "warmup", lambda t: t.replace(
        "WARMUP_SLEEP: '0.5'", "WARMUP_SLEEP: '0'\n  %s: '1'" % how))
    s = serve(app, *FLAGS)
    first = s.get_json("/state")
    answers = concurrent_gets(s.url + "sleep?s=3", 4)
    assert {a["instance_id"] for a in answers} == {first["instance_id"]}, answers
    # Console lines leave once per event batch, maybe after the answers.
    assert s.wait_stderr(
        "3 instances in a row were lost as they started; the next starts in 500 ms"), \
        s.stderr_text()[-3000:]
    err = s.stderr_text()
    # Three at once, then one after 0.5 s, 1 s, 2 s, 4 s, ... at most.
    assert 3 <= err.count("GET /_ah/warmup 500") <= 20, err[-3000:]
    assert s.alive()


@pytest.mark.parametrize("how", ["WARMUP_EXIT", "WARMUP_NOMEM"])
def test_min_instances_lost_in_their_warmup_are_not_started_again_and_again(serve, tmp_path,
                                                                             how):
    # min_instances start without a request. One shut down for running out
    # of memory in its warmup was replaced at the next tick, four times a
    # second for good, whatever the pause the console announced; now the
    # pause after three losses in a row holds for them too.
    app = copy_app("warmup", tmp_path / "warmup", lambda t: t.replace(
        "WARMUP_SLEEP: '0.5'", "WARMUP_SLEEP: '0'\n  %s: '1'" % how) +
        "automatic_scaling:\n  min_instances: 1\n")
    s = serve(app)
    deadline = time.monotonic() + 15  # a bound, not a timing
    while s.stderr_text().count("GET /_ah/warmup 500") < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(4)
    err = s.stderr_text()
    # Three, then one after 0.5 s, 1 s, 2 s at most: not 16 more.
    assert 3 <= err.count("GET /_ah/warmup 500") <= 10, err[-3000:]
    assert s.get("/state").status_code == 200


def test_warmup_without_a_handler_is_a_404_and_the_instance_serves(serve, tmp_path):
    app = copy_app("warmup", tmp_path / "warmup", lambda t: t.replace(
        "- url: /_ah/warmup\n  script: main.app\n  login: admin\n", "").replace(
            "- url: /.*", "- url: /(state|sleep)"))
    s = serve(app, *FLAGS)
    first, burst = scale_to_two(s)
    (added,) = set(burst) - {first["instance_id"]}
    assert all(a["warmups"] == [] for a in burst[added])
    rows, out = warmup_rows(s)
    assert [r["status"] for r in rows] == [404], out


def test_no_warmup_without_inbound_services_warmup(serve, tmp_path):
    app = copy_app("warmup", tmp_path / "warmup",
                   lambda t: t.replace("inbound_services:\n- warmup\n", ""))
    s = serve(app, *FLAGS)
    first, burst = scale_to_two(s)
    for answers in burst.values():
        assert all(a["warmups"] == [] for a in answers), answers
    # A warmup would have been logged before the live requests after it.
    s.wait_new_log_rows("/sleep", set(), lambda rows: len(rows) == 4)
    rows, out = s.log_rows("/_ah/warmup")
    assert not rows, out


def test_backends_get_their_start_request_and_never_a_warmup(serve, tmp_path):
    app = copy_app("warmup", tmp_path / "warmup")
    with open(app + "/backends.yaml", "w") as f:
        f.write("backends:\n"
                "- name: worker\n"
                "  instances: 2\n"
                "  max_concurrent_requests: 1\n"
                "  options: dynamic, public\n"
                "- name: resident\n"
                "  instances: 1\n"
                "  options: public\n")
    s = serve(app)

    def get(host, path):
        r = requests.get(s.url + path.lstrip("/"), timeout=HTTP_TIMEOUT,
                         headers={"Host": "%s:%d" % (host, s.port)})
        assert r.status_code == 200, (r.status_code, r.content[:300])
        return r.json()

    answers = [get("resident.localhost", "/state"), get("worker.localhost", "/state")]
    # Instance 1 of worker starts while instance 0 serves.
    results = [None, None]

    def one(i):
        results[i] = get("worker.localhost", "/sleep?s=1")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HTTP_TIMEOUT + 10)
    answers += results
    assert {(a["backend"], a["instance_id"]) for a in answers} == {
        ("resident", "0"), ("worker", "0"), ("worker", "1")}, answers
    for a in answers:
        assert a["starts"] == 1 and a["warmups"] == [], a
    s.wait_new_log_rows("/_ah/start", set(), lambda rows: len(rows) == 3)
    rows, out = s.log_rows("/_ah/warmup")
    assert not rows, out


def test_users_reach_the_warmup_handler_as_before(serve):
    # Only the runtime's own /_ah/start and /_ah/stop are kept from users;
    # /_ah/warmup is the app's handler, with its login: admin.
    s = serve(app_path("warmup"))
    r = s.get("/_ah/warmup", allow_redirects=False)
    assert r.status_code == 302 and "/_ah/login" in r.headers["Location"], r
    r = s.get("/_ah/warmup", cookies=ADMIN)
    assert r.status_code == 200 and r.text == "warm", (r.status_code, r.text[:300])
