"""Backends (BK1-BK10): backends.yaml, resident and dynamic instances, start
requests, addressing by Host, private/public, the memory limit and the
`gaelic backends` commands with their persistent states."""
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import requests

from harness import (GAELIC_BIN, Conn, cgroup_folders, copy_app, newest_entry, pid_alive, run_gaelic,
                     stale_cgroups, wait_pids_gone, write_app)

ADMIN = {"dev_appserver_login": "admin@example.com:True:185804764220139124118"}


def get(srv, host, path="/", **kw):
    """GET path with Host: HOST:PORT (HOST None: the server's own)."""
    headers = kw.pop("headers", {})
    if host:
        headers["Host"] = "%s:%d" % (host, srv.port)
    kw.setdefault("timeout", 15)
    return requests.get(srv.url.rstrip("/") + path, headers=headers, **kw)


def who(srv, host, **kw):
    r = get(srv, host, **kw)
    assert r.status_code == 200, (host, r.status_code, r.text[:300], srv.stderr_text()[-3000:])
    return r.json()


def backends(srv, *args, **kw):
    return run_gaelic("backends", srv.appdir, *args, "--storage_path", srv.storage_path, **kw)


def listing(srv):
    """`gaelic backends list` as {name: row dict}."""
    r = backends(srv, "list")
    assert r.returncode == 0, r
    rows = {}
    for line in r.stdout.splitlines()[1:]:
        f = line.split()
        rows[f[0]] = {"class": f[1], "running": int(f[2].split("/")[0]),
                      "configured": int(f[2].split("/")[1]), "state": f[3], "options": f[4],
                      "hours": float(f[6]), "cost": float(f[7])}
    return rows


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def wait_replaced(srv, host, pid):
    """Waits until host is served by a process other than pid. Until the
    master has seen the old one go, its requests get 404 (BK4)."""
    def replaced():
        r = get(srv, host)
        assert r.status_code in (200, 404), r
        return r.status_code == 200 and r.json()["pid"] != pid
    wait_for(replaced, timeout=20, what="a replacement")


def serve_kept(serve, app, storage, *flags):
    """A server whose storage (backend states) outlives it, for a restart."""
    s = serve(app, *flags, "--storage_path", storage, storage=False)
    s.storage_path = storage
    return s


@pytest.fixture
def app(tmp_path):
    return copy_app("backends", tmp_path / "app")


@pytest.fixture
def srv(serve, app):
    s = serve(app, "--tier", "paid", "--instance_idle_timeout", "2")
    # Resident backends start with the server.
    wait_for(lambda: listing(s)["memdb"]["running"] == 2, what="memdb's instances")
    return s


def test_resident_instances_start_with_their_start_request(srv):
    rows = listing(srv)
    assert rows["memdb"]["running"] == 2 and rows["memdb"]["configured"] == 2
    assert rows["memdb"]["class"] == "B1" and rows["memdb"]["state"] == "START"
    assert rows["memdb"]["options"] == "resident,public"
    seen = {}
    for n in (0, 1):
        w = who(srv, "%d.memdb.localhost" % n)
        assert (w["backend"], w["instance"]) == ("memdb", str(n))
        # Its first request was the runtime's GET /_ah/start, on that instance.
        assert w["starts"] == [{"backend": "memdb", "instance": str(n), "method": "GET"}]
        seen[n] = w["pid"]
    assert seen[0] != seen[1]
    # Without an instance number, an available instance answers.
    assert who(srv, "memdb.localhost")["pid"] in seen.values()


def test_dynamic_backend_starts_instances_on_demand(srv):
    assert listing(srv)["crawler"]["running"] == 0
    w = who(srv, "crawler.localhost")
    assert w["backend"] == "crawler" and w["starts"][0]["backend"] == "crawler"
    assert listing(srv)["crawler"]["running"] == 1
    w2 = who(srv, "2.crawler.localhost")
    assert w2["instance"] == "2" and w2["starts"] == [
        {"backend": "crawler", "instance": "2", "method": "GET"}]
    assert listing(srv)["crawler"]["running"] == 2
    # Idle dynamic instances stop (--instance_idle_timeout 2 here).
    wait_for(lambda: listing(srv)["crawler"]["running"] == 0, timeout=15, what="idle stop")


def test_a_dynamic_backend_starts_an_instance_while_another_shuts_down(srv):
    # An instance in its shutdown (here a hook held by a file) is not one
    # that serves: a request for any instance gets a new one at once. The
    # scaling arithmetic overflowed while one was shutting down, and the
    # request waited for it to be gone.
    marker = os.path.join(srv.appdir, "hold-stop")
    open(marker, "w").close()
    try:
        old = who(srv, "crawler.localhost")
        assert get(srv, "crawler.localhost", "/hooks/held").status_code == 200
        r = backends(srv, "shutdown", "crawler", old["instance"])
        assert r.returncode == 0, r
        w = who(srv, "crawler.localhost")
        assert w["pid"] != old["pid"] and w["instance"] != old["instance"]
        assert pid_alive(old["pid"])
    finally:
        os.unlink(marker)
    assert srv.wait_stderr("shutdown hook ran in /_ah/stop", timeout=15)


def test_a_request_for_a_dynamic_instance_that_idles_out_waits_for_a_new_one(srv):
    """BK2: a dynamic instance stopped for being idle starts again for the
    next request that names it; only a shutdown (BK4: stop, update, shutdown
    by hand) answers such requests 404. One that came while the idle
    instance's shutdown hook still ran got 404."""
    marker = os.path.join(srv.appdir, "hold-stop")
    open(marker, "w").close()
    got = []
    waiting = threading.Thread(
        target=lambda: got.append(get(srv, "1.crawler.localhost", timeout=60)), daemon=True)
    try:
        old = who(srv, "1.crawler.localhost")
        mark = len(srv.stderr_text())
        assert get(srv, "1.crawler.localhost", "/hooks/held").status_code == 200
        # The fixture's --instance_idle_timeout is 2 s; the hook then holds.
        assert srv.wait_stderr("backend crawler instance 1 idle for", timeout=20, since=mark)
        waiting.start()
        time.sleep(0.5)  # it arrives during the held hook
    finally:
        os.unlink(marker)
        waiting.join(60)
    assert got and got[0].status_code == 200, (got and got[0].status_code,
                                               srv.stderr_text()[-2000:])
    w = got[0].json()
    assert w["instance"] == "1" and w["pid"] != old["pid"]
    assert w["starts"] == [{"backend": "crawler", "instance": "1", "method": "GET"}]


def test_a_stopping_server_refuses_backends_commands_but_lists(srv):
    # Server exit shuts every backend down; a start (or update, configure)
    # meanwhile started instances in the middle of it and saved the state.
    assert backends(srv, "stop", "memdb").returncode == 0
    marker = os.path.join(srv.appdir, "hold-stop")
    open(marker, "w").close()
    try:
        assert get(srv, "crawler.localhost", "/hooks/held").status_code == 200
        srv.send_signal(signal.SIGTERM)
        assert srv.wait_stderr("stopping:", timeout=10)
        r = backends(srv, "start", "memdb")
        assert r.returncode == 1, r
        assert "the server is stopping; start takes effect only on a running server" in r.stderr
        assert listing(srv)["memdb"]["running"] == 0
    finally:
        os.unlink(marker)
    assert srv.wait(20) == 0


def test_addressing_forms(srv):
    app_id = srv.app_id
    assert who(srv, "1.memdb.%s.localhost" % app_id)["instance"] == "1"
    assert who(srv, "1-dot-memdb-dot-%s.localhost" % app_id)["instance"] == "1"
    assert who(srv, "memdb-dot-%s.localhost" % app_id)["backend"] == "memdb"
    # A bad instance number is 404; an unknown backend is the default version.
    assert get(srv, "2.memdb.localhost").status_code == 404
    assert get(srv, "9-dot-memdb.localhost").status_code == 404
    assert who(srv, "nosuch.localhost")["backend"] is None
    assert who(srv, None)["backend"] is None


def test_private_backend_answers_admins_only(srv):
    assert get(srv, "private.localhost").status_code == 403
    signed_in = {"dev_appserver_login": "someone@example.com:False:1"}
    assert get(srv, "private.localhost", cookies=signed_in).status_code == 403
    assert who(srv, "private.localhost", cookies=ADMIN)["backend"] == "private"


def test_clients_cannot_send_start_or_stop(srv):
    for path in ("/_ah/start", "/_ah/stop"):
        assert get(srv, "memdb.localhost", path).status_code == 404
        assert get(srv, None, path).status_code == 404


def test_failed_start_is_retried_and_no_request_gets_in(serve, app):
    marker = os.path.join(app, "fail-start")
    open(marker, "w").close()
    s = serve(app, "--tier", "paid")
    assert s.wait_stderr("backend flaky instance 0: GET /_ah/start 500", timeout=10)
    assert s.wait_stderr("start request answered 500; the instance is stopped")
    # Started again (BK3), with a delay that grows while it keeps failing.
    wait_for(lambda: s.stderr_text().count("backend flaky instance 0 starting") >= 3,
             what="retries")
    assert listing(s)["flaky"]["running"] == 0
    os.unlink(marker)
    wait_for(lambda: "backend flaky instance 0 started" in s.stderr_text(), timeout=15,
             what="a successful start")
    w = who(s, "flaky.localhost")
    assert w["starts"] == [{"backend": "flaky", "instance": "0"}]


@pytest.mark.parametrize("command", [["stop", "flaky"], ["shutdown", "flaky", "0"]])
def test_a_start_request_shut_down_gets_the_notice_and_the_grace(serve, app, command):
    # BK4: a start request is a running request like any other; a stop or
    # a shutdown by hand killed its instance at once, the start handler
    # never seeing is_shutting_down() (server exit gave it the grace).
    hold = os.path.join(app, "hold-start")
    open(hold, "w").close()
    try:
        s = serve(app, "--tier", "paid")
        assert s.wait_stderr("flaky start request held")
        r = backends(s, *command)
        assert r.returncode == 0, r
        assert s.wait_stderr("flaky start request saw the shutdown")
    finally:
        os.unlink(hold)


def test_slow_start_holds_requests_until_it_ends(srv):
    # slow's start handler sleeps 1.5 s and answers 404 (which counts as
    # started); a request arriving meanwhile waits for it.
    w = who(srv, "slow.localhost")
    assert len(w["starts"]) == 1 and w["starts"][0]["backend"] == "slow"
    assert srv.wait_stderr("backend slow instance 0: GET /_ah/start 404", timeout=5)


def test_stop_and_start_commands(srv):
    pids = [who(srv, "%d.memdb.localhost" % n)["pid"] for n in (0, 1)]
    r = backends(srv, "stop", "memdb")
    assert r.returncode == 0 and "memdb: STOP" in r.stdout
    assert get(srv, "memdb.localhost").status_code == 404
    assert get(srv, "0.memdb.localhost").status_code == 404
    assert wait_pids_gone(pids, 40) == []
    assert listing(srv)["memdb"]["state"] == "STOP"
    assert listing(srv)["memdb"]["running"] == 0
    r = backends(srv, "start", "memdb")
    assert r.returncode == 0
    wait_for(lambda: listing(srv)["memdb"]["running"] == 2, what="restart")
    assert who(srv, "0.memdb.localhost")["pid"] not in pids


def test_states_survive_a_restart(serve, app, tmp_path):
    storage = str(tmp_path / "store")
    s1 = serve_kept(serve, app, storage, "--tier", "paid")
    assert backends(s1, "stop", "memdb").returncode == 0
    assert backends(s1, "delete", "crawler").returncode == 0
    assert s1.stop() == 0
    s2 = serve_kept(serve, app, storage, "--tier", "paid")
    assert get(s2, "memdb.localhost").status_code == 404
    rows = listing(s2)
    assert rows["memdb"]["state"] == "STOP" and "crawler" not in rows
    # A deleted backend's requests go to the default version.
    assert who(s2, "crawler.localhost")["backend"] is None
    assert backends(s2, "start", "memdb").returncode == 0
    wait_for(lambda: listing(s2)["memdb"]["running"] == 2, what="memdb after start")


def test_stop_and_start_do_not_freeze_backends_yaml_values(serve, app, tmp_path):
    # Only configure's values outlive a restart; a stop and start saved the
    # state with backends.yaml's values of that time, which then won over
    # later edits of backends.yaml.
    storage = str(tmp_path / "store")
    s1 = serve_kept(serve, app, storage, "--tier", "paid")
    assert backends(s1, "stop", "memdb").returncode == 0
    assert backends(s1, "start", "memdb").returncode == 0
    assert s1.stop() == 0
    edit_app(s1, "backends.yaml", "  class: B1\n  instances: 2\n  options: public\n",
             "  class: B1\n  instances: 1\n")
    s2 = serve_kept(serve, app, storage, "--tier", "paid")
    rows = listing(s2)
    assert rows["memdb"]["configured"] == 1 and rows["memdb"]["options"] == "resident"
    assert get(s2, "memdb.localhost").status_code == 403


def test_a_count_configured_under_a_higher_tier_is_not_kept(serve, tmp_path):
    # configure's count survives restarts, but one past the tier the server
    # now runs with made instances that never got their start request.
    storage = str(tmp_path / "store")
    yaml = "backends:\n- name: crawler\n  instances: %d\n  options: dynamic, public\n"
    app = write_app(tmp_path / "tiers", "runtime: python27\nthreadsafe: true\n"
                    "handlers:\n- url: /.*\n  script: main.app\n",
                    {"backends.yaml": yaml % 25, "main.py": (
                        "import os\n\ndef app(environ, start_response):\n"
                        "    start_response('200 OK', [])\n"
                        "    return [os.environ.get('INSTANCE_ID', '').encode()]\n")})
    s1 = serve_kept(serve, app, storage, "--tier", "paid")
    assert backends(s1, "configure", "crawler").returncode == 0
    assert s1.stop() == 0
    with open(os.path.join(app, "backends.yaml"), "w") as f:
        f.write(yaml % 3)
    s2 = serve_kept(serve, app, storage)
    assert s2.wait_stderr("using backends.yaml's 3")
    assert listing(s2)["crawler"]["configured"] == 3
    assert get(s2, "22.crawler.localhost").status_code == 404
    r = get(s2, "2.crawler.localhost")
    assert r.status_code == 200 and r.text == "2"


def test_list_shows_the_backends_in_alphabetical_order(srv):
    # As App Engine's console listed them, whatever backends.yaml's order
    # (memdb, crawler, private, flaky, slow, worker); a deleted one is gone.
    r = backends(srv, "list")
    assert r.returncode == 0, r
    names = [line.split()[0] for line in r.stdout.splitlines()[1:]]
    assert names == ["crawler", "flaky", "memdb", "private", "slow", "worker"], r.stdout
    assert backends(srv, "delete", "flaky").returncode == 0
    r = backends(srv, "list")
    assert [line.split()[0] for line in r.stdout.splitlines()[1:]] == [
        "crawler", "memdb", "private", "slow", "worker"], r.stdout


def test_configure_reports_one_instance_in_the_singular(srv):
    r = backends(srv, "configure", "flaky")
    assert r.returncode == 0, r
    assert "backend flaky: 1 instance, public" in r.stdout, r.stdout


def test_configure_applies_instances_and_options_live(srv):
    pids = {who(srv, "%d.memdb.localhost" % n)["pid"] for n in (0, 1)}
    text = open(os.path.join(srv.appdir, "backends.yaml")).read()
    text = text.replace("  class: B1\n  instances: 2\n  options: public",
                        "  class: B1\n  instances: 3\n  options: failfast")
    with open(os.path.join(srv.appdir, "backends.yaml"), "w") as f:
        f.write(text)
    r = backends(srv, "configure", "memdb")
    assert r.returncode == 0, r
    assert "3 instances, private, failfast" in r.stdout
    wait_for(lambda: listing(srv)["memdb"]["running"] == 3, what="the third instance")
    # No restart of the running ones; now private.
    assert get(srv, "memdb.localhost").status_code == 403
    assert {who(srv, "%d.memdb.localhost" % n, cookies=ADMIN)["pid"] for n in (0, 1)} == pids
    assert who(srv, "2.memdb.localhost", cookies=ADMIN)["instance"] == "2"


def test_a_dynamic_failfast_backend_still_starts_instances(srv):
    # failfast answers 503 rather than wait for an instance, but the
    # request still starts the one it needs: before, none ever started.
    edit_app(srv, "backends.yaml", "options: dynamic, public\n",
             "options: dynamic, public, failfast\n")
    assert backends(srv, "configure", "crawler").returncode == 0
    for host in ("crawler.localhost", "2.crawler.localhost"):
        def served():
            r = get(srv, host)
            assert r.status_code in (200, 503), r
            return r.status_code == 200 and r.json()
        w = wait_for(served, timeout=20, what="an instance for " + host)
        assert w["backend"] == "crawler"
    assert w["instance"] == "2"
    assert listing(srv)["crawler"]["running"] == 2


@pytest.mark.parametrize("path", ["/hog", "/hog_then_wait"])
def test_memory_over_the_class_limit_shuts_the_instance_down(srv, path):
    """/hog_then_wait is still running when the master's memory check (on
    its tick) finds the instance over: the line goes to that request, whose
    end the stop waits for, not to the one answered before it."""
    before = who(srv, "0.memdb.localhost")["pid"]
    mark = len(srv.stderr_text())
    r = requests.get(srv.url + path.lstrip("/") + "?200",
                     headers={"Host": "0.memdb.localhost:%d" % srv.port}, timeout=30)
    assert r.status_code == 200, r.text
    assert srv.wait_stderr("over its class's 128 MB; shutting it down", since=mark, timeout=10)

    # The request after which it was over says so in its own log too.
    def entry():
        text = newest_entry(srv.logs("--limit", "0").stdout, path + "?200", 200)
        return text if text and "over its class's 128 MB, and was shut down" in text else None
    text = wait_for(entry, timeout=20, what="the %s request's line about its instance" % path)
    assert "\t4:" in text and "after this request its instance used" in text, text[:3000]
    assert wait_pids_gone([before], 40) == []
    wait_replaced(srv, "0.memdb.localhost", before)


def test_instance_hours_accrue(srv):
    time.sleep(1.5)
    rows = listing(srv)
    assert rows["memdb"]["hours"] > 0
    assert rows["memdb"]["cost"] == pytest.approx(rows["memdb"]["hours"] * 0.05, abs=1e-4)
    assert rows["crawler"]["hours"] == 0


@pytest.mark.parametrize("args,code,message", [
    (["list"], 2, "no gaelic server is running"),
    (["stop"], 2, "stop needs a BACKEND name"),
    (["list", "memdb"], 2, "list takes no BACKEND name"),
    ([], 2, "missing APPDIR and VERB"),
    (["list", "--bogus", "1"], 2, "unknown option '--bogus'"),
    # An unknown verb is named as such, not taken for one that lacks a name.
    (["frob"], 2, "unknown verb 'frob' (list, start, stop, configure, update, rollback, "
                  "shutdown or delete)"),
    (["explode", "memdb"], 2, "unknown verb 'explode'"),
])
def test_command_usage_errors(app, tmp_path, args, code, message):
    argv = ["backends"] + ([app] if args else []) + args
    r = run_gaelic(*argv, "--storage_path", str(tmp_path / "nothing"))
    assert r.returncode == code, r
    assert message in r.stderr


def test_command_errors_from_the_server(srv):
    r = backends(srv, "stop", "nosuch")
    assert r.returncode == 1 and "no backend named 'nosuch'" in r.stderr
    # A negative instance number is one out of range, not an unknown option.
    r = backends(srv, "shutdown", "memdb", "-1")
    assert r.returncode == 1 and "instance number of backend 'memdb' (0 to" in r.stderr, r


def test_commands_for_another_app_are_refused_by_its_server(srv, tmp_path):
    """--storage_path names a folder, not an app: the command for another
    app (its own app.yaml, or -A) found this server there and stopped its
    backend, as appcfg never acted on an app other than the one named."""
    other = write_app(tmp_path / "other", "application: other-app\nruntime: python27\n"
                      "api_version: 1\nthreadsafe: true\nhandlers:\n- url: /.*\n  script: main.app\n")
    for argv in ([other, "stop", "memdb"], [srv.appdir, "stop", "memdb", "-A", "other-app"]):
        r = run_gaelic("backends", *argv, "--storage_path", srv.storage_path)
        assert r.returncode == 1, r
        assert ("the server with storage folder %s serves app '%s', not 'other-app'"
                % (srv.storage_path, srv.app_id)) in r.stderr, r
    assert listing(srv)["memdb"]["state"] == "START"
    # Given its id, the server's own app is still its own.
    r = run_gaelic("backends", other, "stop", "memdb", "-A", srv.app_id,
                   "--storage_path", srv.storage_path)
    assert r.returncode == 0, r
    assert listing(srv)["memdb"]["state"] == "STOP"


def test_a_name_with_a_tab_or_a_newline_acts_on_no_backend(srv):
    """The control protocol ends a word at a tab and a request at a
    newline: `stop 'memdb<TAB>x'` reached the server as stop memdb x, and
    `start 'memdb<LF>x'` as start memdb, and each acted on memdb."""
    for verb, name in (("stop", "memdb\tx"), ("stop", "memdb\nx"), ("shutdown", "memdb\t0")):
        r = backends(srv, verb, name, *(["0"] if verb == "shutdown" else []))
        assert r.returncode == 2, r
        assert "invalid BACKEND name 'memdb" in r.stderr, r
    r = backends(srv, "shutdown", "memdb", "0\t1")
    assert r.returncode == 2 and "invalid INSTANCE number '0" in r.stderr, r
    # The server, for any client: a word past those the verb takes.
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(15)
        s.connect(os.path.join(srv.storage_path, "control.sock"))
        s.sendall(("backends\t%s\tstop\tmemdb\tx\n" % srv.app_id).encode())
        answer = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    assert answer == b"error\tstop: 'x' is one word too many\n", answer
    rows = listing(srv)
    assert rows["memdb"]["state"] == "START" and rows["memdb"]["running"] == 2


@pytest.mark.skipif(os.geteuid() != 0, reason="runs the command as another user")
def test_commands_against_another_users_server(serve):
    """The server's control socket admits only its own user: the command
    said no server was running there (exit 2, "start it with gaelic
    serve"), or, when the socket's mode let it connect, that the server
    gave no answer."""
    base = tempfile.mkdtemp(prefix="gaelic-other-user-")
    s = None
    try:
        os.chmod(base, 0o755)
        app = copy_app("backends", os.path.join(base, "app"))
        for folder, _, files in os.walk(app):
            os.chmod(folder, 0o755)
            for name in files:
                os.chmod(os.path.join(folder, name), 0o644)
        storage = os.path.join(base, "store")
        os.mkdir(storage)
        os.chmod(storage, 0o755)
        s = serve_kept(serve, app, storage, "--tier", "paid")

        def as_nobody(*args):
            return subprocess.run([GAELIC_BIN, "backends", app, *args, "--storage_path", storage],
                                  user=65534, group=65534, extra_groups=[], cwd=base,
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=15)
        r = as_nobody("list")
        assert r.returncode == 1, r
        assert "belongs to another user" in r.stderr and "no gaelic server" not in r.stderr, r
        # A socket whose mode lets anyone connect: the server refuses, and
        # says why.
        os.chmod(os.path.join(storage, "control.sock"), 0o777)
        r = as_nobody("stop", "memdb")
        assert r.returncode == 1, r
        assert "only the user running this server" in r.stderr, r
        assert listing(s)["memdb"]["state"] == "START"
    finally:
        if s:
            s.stop()
        shutil.rmtree(base)


def test_bad_backends_yaml_is_refused_at_start(tmp_path):
    app = write_app(tmp_path / "bad", "runtime: python27\nthreadsafe: true\n"
                    "handlers:\n- url: /.*\n  script: main.app\n",
                    {"main.py": "app = None\n",
                     "backends.yaml": "backends:\n- name: a\n  class: B3\n"})
    r = run_gaelic("serve", app, "--port", "0")
    assert r.returncode == 2
    assert "backends.yaml:3:" in r.stderr
    app2 = write_app(tmp_path / "big", "runtime: python27\nthreadsafe: true\n"
                     "handlers:\n- url: /.*\n  script: main.app\n",
                     {"main.py": "app = None\n",
                      "backends.yaml": "backends:\n- name: a\n  instances: 30\n"})
    r = run_gaelic("serve", app2, "--port", "0")
    assert r.returncode == 2 and "the free tier allows at most 20" in r.stderr


# ---------- shutdown (BK4, API3) ----------

def hook_line(where):
    return "shutdown hook ran in %s, is_shutting_down=True, backend=worker" % where


def hooks_in_thread(srv, path, results, timeout=60):
    """GETs path (/hooks/...) on the worker backend on a thread of its own
    and returns once the request runs in its handler (a bounded wait, asked
    of the same instance: threadsafe), so that a stop sent next finds it
    running."""
    name = "hooks-%d" % time.monotonic_ns()
    path += ("&" if "?" in path else "?") + "name=" + name
    t = threading.Thread(target=lambda: results.append(
        get(srv, "worker.localhost", path, timeout=timeout)))
    t.start()
    wait_for(lambda: get(srv, "worker.localhost", "/hooks/begun?name=" + name).json()["begun"],
             timeout=15, what=path + " to begin")
    return t


def stop_worker_during(srv, path):
    """GETs path on the worker backend, stops the backend while that request
    runs, and returns (the response, seconds from the stop to the answer)."""
    result = []
    t = hooks_in_thread(srv, path, result)
    t0 = time.monotonic()
    assert backends(srv, "stop", "worker").returncode == 0
    t.join(30)
    assert result, "no answer to " + path
    return result[0], time.monotonic() - t0


def test_runtime_shutdown_api(srv):
    r = get(srv, "worker.localhost", "/hooks/api")
    assert r.status_code == 200, r.text
    assert r.json() == {"first": "None", "second": True, "shutting_down": False,
                        "refused": "the shutdown hook must be callable, not int"}


def test_shutdown_without_a_request_runs_the_hook_as_ah_stop(srv):
    pid = get(srv, "worker.localhost", "/hooks/log").json()["pid"]
    t0 = time.monotonic()
    assert backends(srv, "stop", "worker").returncode == 0
    assert srv.wait_stderr(hook_line("/_ah/stop"), timeout=10)
    # The console names the backend's instance, not a bare number that the
    # default version's instances use too.
    assert re.search(r"WARNING \[backend worker instance 0\] .*" + re.escape(hook_line("/_ah/stop")),
                     srv.stderr_text()), srv.stderr_text()[-2000:]
    # Nothing else to wait for: the instance exits at once, not at the
    # end of the 30-second grace.
    assert wait_pids_gone([pid], 10) == []
    assert time.monotonic() - t0 < 10


@pytest.mark.parametrize("path, status", [("/hooks/log", 200), ("/hooks/raise", 500)])
def test_shutdown_hook_run_as_ah_stop_has_a_request_log_with_its_lines(srv, path, status):
    """RT9: /_ah/stop is a request, as App Engine sent it: it has a request
    log of its own, and what the hook logs (info lines too, which the
    console does not show) is that request's app log; a hook that raises
    ends it with 500, its traceback logged there."""
    r = get(srv, "worker.localhost", path)
    assert r.status_code == 200, r.text
    assert backends(srv, "stop", "worker").returncode == 0
    assert srv.wait_stderr(hook_line("/_ah/stop"), timeout=10)
    # The row is stored unfinished when the stop starts, then again at
    # its end: wait for the second.
    stops = wait_for(lambda: [row for row in srv.log_rows("/_ah/stop")[0].values()
                              if row["finished"]], what="the finished /_ah/stop log")
    assert len(stops) == 1, stops
    stop = stops[0]
    assert stop["version_id"].split(".")[0] == "worker", stop
    assert stop["method"] == "GET" and stop["status"] == status, stop
    assert stop["end_time"] >= stop["start_time"] > 0
    assert stop["replica_index"] == 0 and stop["instance_id"], stop
    # The host its instance is addressed by, as its /_ah/start's row has it.
    assert stop["host"] == "0.worker.localhost:%d" % srv.port, stop
    lines = [(line["level"], line["message"]) for line in stop["app_logs"]]
    assert lines[0] == (2, hook_line("/_ah/stop")), stop
    if status == 200:
        assert len(lines) == 1, stop
    else:
        assert len(lines) == 2 and lines[1][0] == 3, stop
        assert "KeyboardInterrupt: shutting down" in lines[1][1], stop


def test_threads_a_hook_run_as_ah_stop_starts_are_joined(srv):
    """RT11: /_ah/stop is a request, so the threads its hook starts are
    joined before it ends, as a request's are. They were not: the instance
    exited as soon as the hook returned, cutting its threads' work short,
    and the /_ah/stop log ended without their lines."""
    pid = get(srv, "worker.localhost", "/hooks/thread").json()["pid"]
    assert backends(srv, "stop", "worker").returncode == 0
    stops = wait_for(lambda: [row for row in srv.log_rows("/_ah/stop")[0].values()
                              if row["finished"]], what="the finished /_ah/stop log")
    assert len(stops) == 1, stops
    assert [(line["level"], line["message"]) for line in stops[0]["app_logs"]] == [
        (2, hook_line("/_ah/stop (its thread)"))], stops
    assert wait_pids_gone([pid], 10) == []


def test_ah_stop_environ_has_none_of_the_latest_requests_connection(srv):
    """The internal /_ah/stop request takes the instance-wide variables of
    the latest request, never what describes that request alone: it used to
    keep its REQUEST_ID_HASH (of a log id it does not have) and REMOTE_PORT
    (of a client whose address it does not have)."""
    # Over HTTP/1.0: its SERVER_PROTOCOL is that request's, not the stop's.
    with Conn(srv.port) as c:
        c.request("GET", "/hooks/env", headers=[("Host", "worker.localhost:%d" % srv.port)],
                  version="HTTP/1.0")
        r = c.read_response()
    assert r.status == 200, r
    pid = json.loads(r.body)["pid"]
    assert backends(srv, "stop", "worker").returncode == 0
    out = srv.wait_stderr("shutdown hook environ: ", timeout=10)
    assert out, srv.stderr_text()[-2000:]
    line = srv.stderr_text().split("shutdown hook environ: ")[-1].splitlines()[0]
    assert json.loads(line) == {"REQUEST_LOG_ID": None, "REQUEST_ID_HASH": None,
                                "REMOTE_ADDR": None, "REMOTE_PORT": None, "HTTPS": "off",
                                "SERVER_PROTOCOL": "HTTP/1.1", "PATH_INFO": "/_ah/stop"}, line
    assert wait_pids_gone([pid], 10) == []


def test_ah_stop_environ_has_none_of_the_latest_requests_os_environ_changes(srv):
    """RT8: what a request adds to, changes in or removes from its
    os.environ is its own; the internal /_ah/stop request after it took its
    variables from that very dict, changes included."""
    r = get(srv, "worker.localhost", "/hooks/env_changed")
    assert r.status_code == 200, r.text
    before = r.json()["before"]
    assert before["CURRENT_VERSION_ID"] and before["DEFAULT_VERSION_HOSTNAME"], before
    assert backends(srv, "stop", "worker").returncode == 0
    assert srv.wait_stderr("shutdown hook environ: ", timeout=10), srv.stderr_text()[-2000:]
    line = srv.stderr_text().split("shutdown hook environ: ")[-1].splitlines()[0]
    assert json.loads(line) == dict(before, GAELIC_SET_BY_REQUEST=None), line
    assert wait_pids_gone([r.json()["pid"]], 10) == []


def test_shutdown_hook_exception_reaches_every_request_thread(srv):
    assert get(srv, "worker.localhost", "/hooks/raise").status_code == 200
    results = []
    threads = [hooks_in_thread(srv, "/hooks/wait", results, timeout=30) for _ in range(2)]
    assert backends(srv, "stop", "worker").returncode == 0
    for t in threads:
        t.join(30)
    assert len(results) == 2
    for r in results:
        assert r.status_code == 200, r.text
        # The hook ran in one of them and raised there; the other request
        # thread and the threads they started got the same exception.
        assert r.json() == {"outcome": "KeyboardInterrupt", "child": ["KeyboardInterrupt"],
                            "shutting_down": True}
    assert srv.wait_stderr(hook_line("/hooks/wait"), timeout=5)
    # New requests to the stopped backend get 404 at once.
    assert get(srv, "worker.localhost", "/").status_code == 404


def test_shutdown_hook_exception_reaches_a_requests_pool_task(srv):
    """A task the request handed to a module-level thread pool works for
    it as its threads do: the hook's exception reaches it too, and the
    request, which waits for it, ends in time."""
    assert get(srv, "worker.localhost", "/hooks/raise").status_code == 200
    r, took = stop_worker_during(srv, "/hooks/wait?pool=1")
    assert r.status_code == 200, r.text
    assert r.json() == {"outcome": "KeyboardInterrupt", "child": ["KeyboardInterrupt"],
                        "shutting_down": True}
    assert took < 10


def test_shutdown_hook_runs_in_a_request_that_starts_threads(srv):
    """The hook runs in the request's own thread even while a thread that
    request has just started has not run yet (its thread state carries the
    request thread's id until then): the request gets the hook's exception
    at once, every time."""
    for _ in range(5):
        assert get(srv, "worker.localhost", "/hooks/raise").status_code == 200
        r, took = stop_worker_during(srv, "/hooks/starts")
        assert r.status_code == 200, r.text
        assert r.json() == {"outcome": "KeyboardInterrupt"}
        assert took < 10
        assert backends(srv, "start", "worker").returncode == 0


def test_cancel_api_calls_in_a_shutdown_hook(srv):
    r, _ = stop_worker_during(srv, "/hooks/cancel")
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["before"] is True and d["after"].startswith("CancelledError"), d


def test_shutdown_hook_runs_inside_a_sleeping_request(srv):
    assert get(srv, "worker.localhost", "/hooks/raise").status_code == 200
    r, _ = stop_worker_during(srv, "/hooks/sleep")
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["outcome"] == "KeyboardInterrupt" and d["slept"] < 10, d
    assert srv.wait_stderr(hook_line("/hooks/sleep"), timeout=5)


def test_running_requests_are_killed_after_the_grace(serve, app):
    s = serve(app, "--tier", "paid", "--shutdown_timeout", "2")
    wait_for(lambda: listing(s)["worker"]["running"] == 1, what="worker's instance")
    pid = get(s, "worker.localhost", "/hooks/log").json()["pid"]
    r, took = stop_worker_during(s, "/hooks/stubborn")
    assert r.status_code == 500
    assert took < 15
    assert wait_pids_gone([pid], 10) == []
    assert s.wait_stderr(hook_line("/hooks/stubborn"), timeout=5)


def test_server_exit_runs_the_hook(serve, app):
    s = serve(app, "--tier", "paid")
    wait_for(lambda: listing(s)["worker"]["running"] == 1, what="worker's instance")
    assert get(s, "worker.localhost", "/hooks/log").status_code == 200
    assert s.stop() == 0
    assert hook_line("/_ah/stop") in s.stderr_text()


def test_server_exit_gives_the_hook_the_grace_period(serve, app):
    """With no request running, the hook runs in /_ah/stop at server exit;
    like a running request it has the grace period, not the moment the
    server gives instances to exit once its connections are done."""
    s = serve(app, "--tier", "paid")
    wait_for(lambda: listing(s)["worker"]["running"] == 1, what="worker's instance")
    assert get(s, "worker.localhost", "/hooks/slow").status_code == 200
    assert s.stop() == 0
    assert hook_line("/_ah/stop") in s.stderr_text(), s.stderr_text()[-3000:]


def test_server_exit_runs_the_hook_inside_a_running_request(srv):
    """Server exit is one of BK4's shutdowns: a backend request running at
    SIGTERM sees is_shutting_down() and gets the hook's exception at the
    start of the grace period, not only once the grace is over."""
    assert get(srv, "worker.localhost", "/hooks/raise").status_code == 200
    results = []
    t = hooks_in_thread(srv, "/hooks/wait", results, timeout=60)
    srv.send_signal(signal.SIGTERM)
    t.join(60)
    assert len(results) == 1
    r = results[0]
    assert r.status_code == 200, r.text
    assert r.json() == {"outcome": "KeyboardInterrupt", "child": ["KeyboardInterrupt"],
                        "shutting_down": True}
    assert srv.wait(15) == 0
    assert hook_line("/hooks/wait") in srv.stderr_text()


def test_backends_api_builds_urls_that_reach_the_instance(srv):
    d = get(srv, None, "/addr").json()
    port = srv.port
    assert d == {"backend": None, "instance": None,
                 "url": "http://1.memdb.localhost:%d" % port,
                 "configurable": "199.memdb.localhost:%d" % port,
                 "https": "https://crawler.localhost:%d" % port,
                 "hostname": "crawler.localhost:%d" % port, "leak": False, "module": True,
                 "bad_backend": "InvalidBackendError", "bad_instance": "InvalidInstanceError",
                 "negative": "InvalidInstanceError", "not_a_number": "InvalidInstanceError", "own": "InvalidBackendError"}
    # The URL reaches that very instance.
    host = d["url"].split("://", 1)[1].rsplit(":", 1)[0]
    assert who(srv, host)["instance"] == "1"
    inside = get(srv, "0.memdb.localhost", "/addr").json()
    assert inside["backend"] == "memdb" and inside["instance"] == 0
    assert inside["own"] == "http://memdb.localhost:%d" % port


# ---------- update and rollback (BK6) ----------

def edit_app(srv, name, old, new):
    path = os.path.join(srv.appdir, name)
    text = open(path).read()
    assert old in text
    with open(path, "w") as f:
        f.write(text.replace(old, new))


def test_update_starts_new_instances_with_new_code_and_config(srv):
    old_pids = [who(srv, "%d.memdb.localhost" % n)["pid"] for n in (0, 1)]
    assert who(srv, "memdb.localhost")["version"] == "one"
    # Loaded before the edit (an instance still starting would load the new code).
    flaky = who(srv, "flaky.localhost")
    assert flaky["version"] == "one"
    edit_app(srv, "version.py", '"one"', '"second"')
    edit_app(srv, "backends.yaml", "  class: B1\n", "  class: B2\n")
    r = backends(srv, "update", "memdb")
    assert r.returncode == 0, r
    assert "backend memdb: update started" in r.stdout
    # When update returns, the new instances serve.
    for n in (0, 1):
        w = who(srv, "%d.memdb.localhost" % n)
        assert w["version"] == "second" and w["pid"] not in old_pids
        assert w["starts"] == [{"backend": "memdb", "instance": str(n), "method": "GET"}]
    row = listing(srv)["memdb"]
    assert row["class"] == "B2" and row["running"] == 2 and row["state"] == "START"
    assert wait_pids_gone(old_pids, 40) == []
    # Other backends were not touched.
    assert who(srv, "flaky.localhost") == flaky


ONE_SLOT_MAIN = """import os, time

def app(environ, start_response):
    # /hold: runs while the app folder holds "hold" (60 s at most).
    if environ["PATH_INFO"] == "/hold":
        here, deadline = os.path.dirname(__file__), time.time() + 60
        while os.path.exists(os.path.join(here, "hold")) and time.time() < deadline:
            time.sleep(0.05)
    start_response("200 OK", [])
    return [str(os.getpid()).encode()]


def start(environ, start_response):
    # Held while the app folder holds "hold-start" (60 s at most).
    here, deadline = os.path.dirname(__file__), time.time() + 60
    while os.path.exists(os.path.join(here, "hold-start")) and time.time() < deadline:
        time.sleep(0.05)
    start_response("200 OK", [])
    return [b""]
"""


def serve_one_slot(serve, tmp_path, options="public"):
    """A server whose backend `one` has one instance that takes one request
    at a time; its /hold runs while the app folder holds "hold", its start
    request while it holds "hold-start"."""
    app = write_app(tmp_path / "one", "runtime: python27\nthreadsafe: true\n"
                    "handlers:\n- url: /.*\n  script: main.app\n",
                    {"main.py": ONE_SLOT_MAIN,
                     "backends.yaml": "backends:\n- name: one\n  max_concurrent_requests: 1\n"
                                      "  start: main.start\n  options: %s\n" % options})
    s = serve(app)
    if "dynamic" in options:
        assert get(s, "one.localhost").status_code == 200
    wait_for(lambda: listing(s)["one"]["running"] == 1, what="the instance")
    return s, app


def test_requests_waiting_when_an_update_ends_go_to_the_new_instances(serve, tmp_path):
    """A request queued for the backend (its one slot busy) when the update
    switched to the new instances got 404, as if the backend had stopped:
    the old instances' queue was failed with them."""
    s, app = serve_one_slot(serve, tmp_path)
    hold = os.path.join(app, "hold")
    open(hold, "w").close()
    results = []
    threads = [threading.Thread(target=lambda p=p: results.append(
        get(s, "one.localhost", p, timeout=60))) for p in ("/hold", "/")]
    try:
        for t in threads:
            t.start()
            time.sleep(0.3)  # in this order: the second one waits for the slot
        r = backends(s, "update", "one")
        assert r.returncode == 0, r
    finally:
        os.unlink(hold)
        for t in threads:
            t.join(60)
    assert sorted(r.status_code for r in results) == [200, 200], [(r.status_code, r.text[:200])
                                                                 for r in results]


def test_a_request_moved_by_an_update_can_still_be_abandoned(serve, tmp_path):
    # The queued request moved to the new instances' pool, where it waits
    # for a new dynamic instance's start request: its client going away
    # must take it out of that queue (not the old one's), and the backend
    # keeps serving.
    s, app = serve_one_slot(serve, tmp_path, "dynamic, public")
    holds = [os.path.join(app, "hold"), os.path.join(app, "hold-start")]
    open(holds[0], "w").close()
    results = []
    t = threading.Thread(target=lambda: results.append(get(s, "one.localhost", "/hold",
                                                           timeout=60)))
    try:
        t.start()
        time.sleep(0.3)  # /hold takes the slot first
        with Conn(s.port) as c:
            c.request("GET", "/gone", headers=[("Host", "one.localhost:%d" % s.port)])
            time.sleep(0.3)
            open(holds[1], "w").close()
            mark = len(s.stderr_text())
            r = backends(s, "update", "one")
            assert r.returncode == 0 and "update done" in r.stdout, r
            assert s.wait_stderr("backend one instance 0 starting", since=mark)
            c.reset()  # gone (a FIN alone would be a half-close)
        assert s.wait_stderr('"GET /gone HTTP/1.1" 499')
    finally:
        for path in holds:
            os.unlink(path)
        t.join(60)
    assert [r.status_code for r in results] == [200]
    for _ in range(3):
        assert get(s, "one.localhost").status_code == 200


def test_failed_update_keeps_the_old_instances_until_rollback(srv):
    old = who(srv, "flaky.localhost")
    open(os.path.join(srv.appdir, "fail-start"), "w").close()
    edit_app(srv, "version.py", '"one"', '"second"')
    r = backends(srv, "update", "flaky")
    assert r.returncode == 1, r
    assert "update of flaky failed: instance 0's start request answered 500" in r.stderr
    assert "rollback flaky" in r.stderr
    # The old instance still serves.
    for _ in range(3):
        w = who(srv, "flaky.localhost")
        assert w["pid"] == old["pid"] and w["version"] == "one"
    assert "failed" in backends(srv, "list").stdout
    r = backends(srv, "rollback", "flaky")
    assert r.returncode == 0 and "rolled back" in r.stdout, r
    assert who(srv, "flaky.localhost")["pid"] == old["pid"]
    r = backends(srv, "rollback", "flaky")
    assert r.returncode == 1 and "no unfinished update" in r.stderr


def test_the_old_instances_keep_their_access_until_the_update_is_done(srv):
    """An update that makes a backend private (or public) applied that to
    the old instances at once: while it ran, and after it failed until a
    rollback, the old instances served under the new rule."""
    old = who(srv, "flaky.localhost")
    open(os.path.join(srv.appdir, "fail-start"), "w").close()
    edit_app(srv, "backends.yaml", "- name: flaky\n  instances: 1\n  options: public\n",
             "- name: flaky\n  instances: 1\n")
    r = backends(srv, "update", "flaky")
    assert r.returncode == 1 and "update of flaky failed" in r.stderr, r
    assert who(srv, "flaky.localhost")["pid"] == old["pid"]
    assert listing(srv)["flaky"]["options"] == "resident,public"
    # Private backends the other way round: nobody but admins while the
    # update of one made public has not taken over.
    assert get(srv, "private.localhost").status_code == 403
    who(srv, "private.localhost", cookies=ADMIN)  # its old instance serves
    edit_app(srv, "backends.yaml", "- name: private\n  instances: 1\n",
             "- name: private\n  instances: 1\n  options: public\n  start: main.flaky_start\n")
    r = backends(srv, "update", "private")
    assert r.returncode == 1 and "update of private failed" in r.stderr, r
    assert get(srv, "private.localhost").status_code == 403
    assert who(srv, "private.localhost", cookies=ADMIN)["backend"] == "private"
    # Once an update is done, its values apply.
    os.unlink(os.path.join(srv.appdir, "fail-start"))
    assert backends(srv, "update", "private").returncode == 0
    assert who(srv, "private.localhost")["backend"] == "private"


@contextlib.contextmanager
def update_held_in_start(srv):
    """Runs `gaelic backends update flaky` in a thread and yields once the
    update's new instance is in its start request, held there (the app's
    start handler waits while the file hold-start exists) until the block
    ends; then the update's CompletedProcess is in the yielded dict's "r".
    The old instance serves first: one still in its own start request
    would let the update take over at once."""
    who(srv, "flaky.localhost")
    hold = os.path.join(srv.appdir, "hold-start")
    open(hold, "w").close()
    done = {}
    t = threading.Thread(
        target=lambda: done.update(r=backends(srv, "update", "flaky", timeout=60)))
    t.start()
    try:
        wait_for(lambda: srv.stderr_text().count("backend flaky instance 0 starting") == 2,
                 what="the update's new instance")
        yield done
    finally:
        os.unlink(hold)
        t.join(60)


def test_configure_during_an_update_applies_to_the_new_instances(srv):
    # configure while update's new instance is still in its start request:
    # the update then ends once the configured count of new instances runs
    # (it waited for the old count's worth forever).
    with update_held_in_start(srv) as done:
        edit_app(srv, "backends.yaml", "- name: flaky\n  instances: 1\n",
                 "- name: flaky\n  instances: 2\n")
        r = backends(srv, "configure", "flaky")
        assert r.returncode == 0 and "flaky: 2 instances" in r.stdout, r
    assert done["r"].returncode == 0, done["r"]
    row = listing(srv)["flaky"]
    assert row["running"] == 2 and row["configured"] == 2
    assert re.search(r"^flaky .* done$", backends(srv, "list").stdout, re.M)


def test_stop_during_an_update_ends_it_as_for_a_stopped_backend(srv):
    # Stopping a backend whose update's new instance is still in its start
    # request: the update is done as one of a stopped backend is, and
    # start then runs the new code. It used to fail, blaming a start
    # request for the 500 that stopping it answered.
    edit_app(srv, "version.py", '"one"', '"second"')
    with update_held_in_start(srv) as done:
        r = backends(srv, "stop", "flaky")
        assert r.returncode == 0, r
    assert done["r"].returncode == 0, done["r"]
    assert re.search(r"^flaky .* STOP .* done$", backends(srv, "list").stdout, re.M)
    assert get(srv, "flaky.localhost").status_code == 404
    assert backends(srv, "start", "flaky").returncode == 0
    wait_for(lambda: listing(srv)["flaky"]["running"] == 1, what="flaky after start")
    assert who(srv, "flaky.localhost")["version"] == "second"


def test_an_update_is_a_new_deployment_of_the_backend(srv):
    """A backend is a version of its own: its instances' CURRENT_VERSION_ID
    is NAME.MINOR, the minor number the deployment's. App Engine deployed
    each `backends update` (new code) as a new minor version of the
    backend: the new instances, their start requests and their logs have
    it; the default version, not updated, keeps its own."""
    default = who(srv, None)["current_version_id"]
    before = who(srv, "0.memdb.localhost")["current_version_id"]
    assert before == "memdb." + default.split(".")[1]
    r = backends(srv, "update", "memdb")
    assert r.returncode == 0 and "backend memdb: update started" in r.stdout, r
    after = {who(srv, "%d.memdb.localhost" % n)["current_version_id"] for n in (0, 1)}
    assert len(after) == 1, after
    after = after.pop()
    name, minor = after.split(".")
    assert name == "memdb" and int(minor) > int(before.split(".")[1]), (before, after)
    assert who(srv, None)["current_version_id"] == default
    assert who(srv, "crawler.localhost")["current_version_id"] == "crawler." + default.split(".")[1]
    # The new instances' start requests are logged under the new deployment.
    # Each lands in its own log commit: wait for both, not the first.
    def new_starts():
        rows = [row for row in srv.log_rows("/_ah/start")[0].values()
                if row["version_id"] == after]
        return rows if len(rows) >= 2 else None
    rows = wait_for(new_starts, what="the new start requests' logs")
    assert sorted(row["host"].split(".")[0] for row in rows) == ["0", "1"], rows


def test_update_creates_a_deleted_backend_again(srv):
    # update creates or updates what backends.yaml lists: a deleted backend
    # came back neither by update nor by a restart (its deletion is saved).
    for name in ("memdb", "crawler"):
        assert backends(srv, "delete", name).returncode == 0
        assert who(srv, name + ".localhost")["backend"] is None
    r = backends(srv, "update", "memdb")
    assert r.returncode == 0 and "backend memdb: update started" in r.stdout, r
    assert who(srv, "1.memdb.localhost")["backend"] == "memdb"
    r = backends(srv, "update")
    assert r.returncode == 0 and "backend crawler: update done" in r.stdout, r
    assert who(srv, "crawler.localhost")["backend"] == "crawler"
    rows = listing(srv)
    assert rows["memdb"]["state"] == rows["crawler"]["state"] == "START"


def test_update_of_a_deleted_backend_starts_only_its_new_instances(srv):
    """The deleted backend's old instances were started again too, each
    running its start request only to be shut down at once (its shutdown
    hook too) as the update's new ones took over."""
    old_pids = {who(srv, "%d.memdb.localhost" % n)["pid"] for n in (0, 1)}
    assert backends(srv, "delete", "memdb").returncode == 0
    assert wait_pids_gone(list(old_pids), 40) == []
    mark = len(srv.stderr_text())
    r = backends(srv, "update", "memdb")
    assert r.returncode == 0, r
    for n in (0, 1):
        w = who(srv, "%d.memdb.localhost" % n)
        assert w["starts"] == [{"backend": "memdb", "instance": str(n), "method": "GET"}], w
    # Info lines leave once per event batch, maybe after the answer, and
    # earlier ones (the server's own start) after mark: the update's lines
    # bound its start requests.
    assert srv.wait_stderr("backend memdb: update done", since=mark, timeout=30), \
        srv.stderr_text()[mark:]
    text = srv.stderr_text()[mark:]
    text = text[text.index("backend memdb: update: starting"):]
    for n in (0, 1):
        assert text.count("backend memdb instance %d: GET /_ah/start" % n) == 1, text


def test_an_update_rolled_back_while_update_waits_is_not_reported_done(srv):
    # update waits for its new instances; a rollback meanwhile made it exit
    # 0 as if they served, and logged the stopped start request as the
    # update failing.
    with update_held_in_start(srv) as done:
        r = backends(srv, "rollback", "flaky")
        assert r.returncode == 0 and "rolled back" in r.stdout, r
    assert done["r"].returncode == 1, done["r"]
    assert "the update of flaky was rolled back" in done["r"].stderr
    assert re.search(r"^flaky .* rolled-back$", backends(srv, "list").stdout, re.M)
    assert "update failed" not in srv.stderr_text()


def test_update_says_a_backend_new_in_backends_yaml_needs_a_restart(srv):
    # The server creates its backends when it starts; update used to pass
    # over a newly listed one in silence, its requests going elsewhere.
    with open(os.path.join(srv.appdir, "backends.yaml"), "a") as f:
        f.write("- name: newcomer\n  options: public\n")
    r = backends(srv, "update", timeout=60)
    assert r.returncode == 0, r
    assert "backend newcomer: new in backends.yaml; restart gaelic serve to create it" in r.stdout
    assert "memdb: update" in r.stdout


def test_update_of_every_backend_passes_over_one_backends_yaml_dropped(srv):
    # Removing a backend from backends.yaml made `update` fail part-way:
    # the backends listed before it updated, those after it not at all.
    edit_app(srv, "backends.yaml", "- name: private\n  instances: 1\n", "")
    r = backends(srv, "update", timeout=60)
    assert r.returncode == 0, r
    assert "backend private: not in backends.yaml; left as it is" in r.stdout
    assert "backend worker: update" in r.stdout
    updates = {line.split()[0]: line.split()[-1]
               for line in backends(srv, "list").stdout.splitlines()[1:]}
    assert updates["private"] == "-"
    assert all(v == "done" for k, v in updates.items() if k != "private"), updates


def test_update_of_every_backend_answers_for_the_backends_it_updated(srv):
    # A backend left as it is (no longer in backends.yaml) with an earlier
    # update that failed made `update` of every backend exit 1, reporting
    # that old failure as this update's. The old instance serves first
    # (update_held_in_start says why).
    who(srv, "flaky.localhost")
    open(os.path.join(srv.appdir, "fail-start"), "w").close()
    r = backends(srv, "update", "flaky")
    assert r.returncode == 1 and "update of flaky failed" in r.stderr, r
    os.unlink(os.path.join(srv.appdir, "fail-start"))
    edit_app(srv, "backends.yaml", "- name: flaky\n  instances: 1\n  options: public\n"
             "  start: main.flaky_start\n", "")
    r = backends(srv, "update", timeout=60)
    assert r.returncode == 0, r
    assert "backend flaky: not in backends.yaml; left as it is" in r.stdout
    assert "flaky" not in r.stderr, r
    # Its failed update is still there to roll back.
    assert backends(srv, "rollback", "flaky").returncode == 0


def test_update_of_a_stopped_backend_keeps_it_stopped(srv):
    assert backends(srv, "stop", "crawler").returncode == 0
    r = backends(srv, "update", "crawler")
    assert r.returncode == 0 and "update done" in r.stdout, r
    assert listing(srv)["crawler"]["state"] == "STOP"
    assert get(srv, "crawler.localhost").status_code == 404


def test_example_backends_app(serve):
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    s = serve(os.path.join(repo, "examples", "backends"))
    front = get(s, None, "/").json()
    host = front["counter instance 1"].split("://", 1)[1].rsplit(":", 1)[0]
    assert host == "1.counter.localhost"
    assert get(s, host, "/add?n=5").json()["total"] == 5
    assert get(s, host, "/add?n=2").json()["total"] == 7
    assert get(s, "0.counter.localhost", "/").json()["total"] == 0
    w = get(s, "worker.localhost", "/work?n=10").json()
    assert w["result"] == 285 and w["warmed_at"] is not None
    assert s.stop() == 0
    assert "counter instance 1 shutting down with total 7" in s.stderr_text()


def test_one_instance_shut_down_by_hand(srv):
    pid = get(srv, "0.worker.localhost", "/hooks/log").json()["pid"]
    r = backends(srv, "shutdown", "worker", "0")
    assert r.returncode == 0 and "instance 0: shutting down (it starts again)" in r.stdout, r
    assert srv.wait_stderr(hook_line("/_ah/stop"), timeout=10)
    assert wait_pids_gone([pid], 10) == []
    wait_replaced(srv, "0.worker.localhost", pid)
    r = backends(srv, "shutdown", "worker", "1")
    assert r.returncode == 1 and "0 to 0" in r.stderr
    r = run_gaelic("backends", srv.appdir, "shutdown", "worker", "--storage_path",
                   srv.storage_path)
    assert r.returncode == 2 and "INSTANCE" in r.stderr


def test_update_leaves_no_cgroups_of_the_old_instances(srv):
    """The cgroups of a replaced generation's zygote and instances go with
    it, not only when the server stops."""
    if not cgroup_folders(srv):
        pytest.skip("no cgroup caps here")
    old_pids = [who(srv, "%d.memdb.localhost" % n)["pid"] for n in (0, 1)]
    r = backends(srv, "update", "memdb")
    assert r.returncode == 0, r
    assert wait_pids_gone(old_pids, 40) == []
    deadline = time.monotonic() + 20
    while stale_cgroups(srv) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stale_cgroups(srv) == []


def test_each_zygote_s_output_names_its_backend(serve, app):
    """Each backend's zygote writes to a pipe of its own, whose lines name
    the backend. What it writes here: while idle, each zygote writes the
    bytecode of the app's sources (runtime/bytecode.py), and CPython prints
    a compiler warning on the zygote's stderr. This source can have no
    bytecode (it ends in an error), so every zygote compiles it."""
    with open(os.path.join(app, "warns_when_compiled.py"), "w") as f:
        f.write("X = 1 is 1\nreturn\n")
    s = serve(app, "--tier", "paid")
    names = ["zygote"] + ["backend %s zygote" % b for b in
                          ("memdb", "crawler", "private", "flaky", "slow", "worker")]

    def warned():
        text = s.stderr_text()
        return all(re.search(r"WARNING \[%s\] \S*warns_when_compiled\.py:1: SyntaxWarning" % n,
                             text) for n in names)
    wait_for(warned, timeout=20, what="each zygote's compiler warning")
    # None without a name, nor under another's.
    lines = [x for x in s.stderr_text().splitlines() if "warns_when_compiled.py" in x]
    assert len(lines) == len(names), lines


def test_a_backend_zygote_s_death_names_its_backend(srv):
    """The master's line about a zygote that died says whose it was."""
    pid = who(srv, "0.memdb.localhost")["pid"]
    with open("/proc/%d/stat" % pid) as f:
        zygote = int(f.read().rsplit(")", 1)[1].split()[1])
    os.kill(zygote, signal.SIGKILL)
    assert wait_pids_gone([zygote, pid], 10) == []
    line = "backend memdb zygote (pid %d) was killed by signal 9" % zygote
    assert srv.wait_stderr(line), srv.stderr_text()[-3000:]
    assert srv.alive()


SOLO_MAIN = '''import json
import os
import time

from google.appengine.api import runtime
from google.appengine.api.logservice import logservice


def app(environ, start_response):
    if environ["PATH_INFO"] == "/hold":
        logservice.flush()  # its log row shows it running
        end = time.monotonic() + 20
        while not runtime.is_shutting_down() and time.monotonic() < end:
            time.sleep(0.05)
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"backend": os.environ.get("BACKEND_ID"),
                        "version": os.environ["CURRENT_VERSION_ID"]}).encode()]
'''


def test_delete_sends_requests_waiting_for_the_backend_to_the_default_version(serve, tmp_path):
    """BK6: delete routes the backend's requests to the default version,
    those already waiting for it too (they got 404 with the backend's
    stop); the one running on it has the stop's grace."""
    d = write_app(tmp_path / "solo", "runtime: python27\napi_version: 1\nthreadsafe: true\n"
                  "handlers:\n- url: /.*\n  script: main.app\n",
                  {"main.py": SOLO_MAIN,
                   "backends.yaml": "backends:\n- name: solo\n  max_concurrent_requests: 1\n"
                                    "  options: public\n"})
    srv = serve(d)
    got = {}

    def call(key, path):
        got[key] = get(srv, "solo.localhost", path, timeout=30)
    running = threading.Thread(target=call, args=("running", "/hold"), daemon=True)
    running.start()
    wait_for(lambda: srv.log_rows("/hold")[0], what="the held request running")
    waiting = [threading.Thread(target=call, args=("waiting%d" % k, "/who"), daemon=True)
               for k in range(3)]
    for t in waiting:
        t.start()
    time.sleep(0.5)  # they wait in the backend's queue
    assert not got, got
    deleted_at = time.time()
    r = backends(srv, "delete", "solo")
    assert r.returncode == 0, r
    for t in waiting:
        t.join(15)
    for k in range(3):
        r = got["waiting%d" % k]
        assert r.status_code == 200, (r.status_code, r.text[:300])
        assert r.json()["backend"] is None and not r.json()["version"].startswith("solo.")
    # Their logs, the default version's, count the wait for the backend in
    # their pending time: each waited at least from its start until the
    # delete (1 ms for the printed figures' rounding).
    rows = wait_for(lambda: (lambda rows: len(rows) == 3 and rows)(srv.log_rows("/who")[0]),
                    what="the three diverted requests' logs")
    for row in rows.values():
        assert not row["version_id"].startswith("solo."), row
        # Each reached the server before the delete: it was diverted, not
        # merely routed to the default version as a later request is.
        assert row["start_time"] < deleted_at, (row, deleted_at)
        waited_ms = (deleted_at - row["start_time"]) * 1000
        assert row["pending_ms"] >= waited_ms - 1, (row["pending_ms"], waited_ms, row)
    # The running one had the shutdown notice, and ended in the grace.
    running.join(30)
    assert got["running"].status_code == 200 and got["running"].json()["backend"] == "solo"
    assert who(srv, "solo.localhost")["backend"] is None


HELD_MAIN = '''import os
import time

from google.appengine.api.logservice import logservice


def app(environ, start_response):
    # /hold: runs while the app folder holds "hold" (60 s at most).
    if environ["PATH_INFO"] == "/hold":
        logservice.flush()  # its log row shows it running
        here, deadline = os.path.dirname(__file__), time.time() + 60
        while os.path.exists(os.path.join(here, "hold")) and time.time() < deadline:
            time.sleep(0.05)
    start_response("200 OK", [])
    return [os.environ["INSTANCE_ID"].encode()]
'''


def serve_two_held(serve, tmp_path, options):
    """A backend "two" of 2 instances with one slot each, serving HELD_MAIN;
    its hold file made (requests for /hold wait until it goes). Returns the
    server and the hold file's path."""
    yaml = ("backends:\n- name: two\n  instances: 2\n  max_concurrent_requests: 1\n"
            "  options: %s\n" % options)
    d = write_app(tmp_path / "two", "runtime: python27\napi_version: 1\nthreadsafe: true\n"
                  "handlers:\n- url: /.*\n  script: main.app\n",
                  {"main.py": HELD_MAIN, "backends.yaml": yaml})
    srv = serve(d)
    hold = os.path.join(d, "hold")
    open(hold, "w").close()
    return srv, hold


@pytest.mark.parametrize("options", ["public", "dynamic, public"])
def test_configure_answers_requests_waiting_for_an_instance_it_removes(serve, tmp_path, options):
    """A request queued for instance 1 when configure leaves one instance
    gets the 404 a new request for it gets, at once: it used to wait for
    the request running there (then 503 after --max_pending_latency)."""
    srv, hold = serve_two_held(serve, tmp_path, options)
    got = {}

    def call(key, path):
        got[key] = get(srv, "1.two.localhost", path, timeout=60)
    running = threading.Thread(target=call, args=("running", "/hold"), daemon=True)
    waiting = threading.Thread(target=call, args=("waiting", "/"), daemon=True)
    try:
        running.start()
        wait_for(lambda: srv.log_rows("/hold")[0], timeout=30, what="the held request running")
        waiting.start()
        time.sleep(0.5)  # it waits for instance 1's one slot
        assert not got, got
        edit_app(srv, "backends.yaml", "instances: 2", "instances: 1")
        assert backends(srv, "configure", "two").returncode == 0
        waiting.join(30)
        # Answered while the running request still holds its slot.
        assert "running" not in got
        assert got["waiting"].status_code == 404, (got["waiting"].status_code,
                                                   got["waiting"].text[:200])
    finally:
        os.unlink(hold)
        running.join(30)
    assert got["running"].status_code == 200 and got["running"].text == "1"
    assert get(srv, "1.two.localhost").status_code == 404
    assert get(srv, "0.two.localhost").text == "0"


def test_requests_for_an_instance_shut_down_by_hand_get_404_while_all_slots_are_busy(
        serve, tmp_path):
    """BK4: once an instance is shut down, requests for it get 404 at once.
    They waited for a free slot on another instance first (then 404), or
    got 503 after --max_pending_latency, when every slot was busy."""
    srv, hold = serve_two_held(serve, tmp_path, "public")
    got = {}

    def call(key, host, path):
        got[key] = get(srv, host, path, timeout=60)
    held = [threading.Thread(target=call, args=("held%d" % n, "%d.two.localhost" % n, "/hold"),
                             daemon=True) for n in (0, 1)]
    queued = threading.Thread(target=call, args=("queued", "1.two.localhost", "/"), daemon=True)
    try:
        for t in held:
            t.start()
        wait_for(lambda: len(srv.log_rows("/hold")[0]) == 2, timeout=30,
                 what="both held requests running")
        queued.start()
        time.sleep(0.5)  # it waits for instance 1's one slot
        assert not got, got
        assert backends(srv, "shutdown", "two", "1").returncode == 0
        queued.join(30)
        call("new", "1.two.localhost", "/")
        # Both answered while every slot is still held.
        assert sorted(got) == ["new", "queued"], sorted(got)
        assert got["queued"].status_code == 404 and got["new"].status_code == 404, (
            got["queued"].status_code, got["new"].status_code)
    finally:
        os.unlink(hold)
        for t in held:
            t.join(30)
    assert got["held0"].status_code == 200 and got["held1"].status_code == 200


def test_a_backend_named_as_the_apps_version_is_warned_of(serve, tmp_path):
    """A backend is a version named after it: one named as app.yaml's
    version takes that version's host name and shares its logs. The server
    serves all the same, and says so."""
    d = write_app(tmp_path / "same", "version: worker\nruntime: python27\napi_version: 1\n"
                  "threadsafe: true\nhandlers:\n- url: /.*\n  script: main.app\n",
                  {"main.py": SOLO_MAIN,
                   "backends.yaml": "backends:\n- name: worker\n  options: public\n"})
    srv = serve(d)
    assert ("backends.yaml: backend 'worker' has the name of app.yaml's version"
            in srv.stderr_text()), srv.stderr_text()[-2000:]
    assert who(srv, "worker.localhost")["backend"] == "worker"
    assert who(srv, None)["backend"] is None


FOREVER_MAIN = """import logging, os, time
from google.appengine.api import runtime

import version


def start(environ, start_response):
    # The whole work of the instance, as the seed allows a start request:
    # it ends only with the shutdown notice (or after 120 s, a bound).
    logging.warning("worker %s runs in pid %d", version.VERSION, os.getpid())
    deadline = time.time() + 120
    while not runtime.is_shutting_down() and time.time() < deadline:
        time.sleep(0.05)
    logging.warning("worker %s in pid %d stops", version.VERSION, os.getpid())
    start_response("200 OK", [])
    return [b""]


def app(environ, start_response):
    start_response("200 OK", [])
    return [b""]
"""


def test_update_of_a_backend_whose_start_request_runs_for_ever_ends(serve, tmp_path):
    """BK3: a start request may run for hours, the instance's whole work.
    update waited for the new instances' start requests to end before it
    stopped the old ones, so for such a backend it never ended: the old
    code's worker ran on beside the new one, and the command gave up after
    10 minutes. Old instances still in their start request serve nothing:
    once the new ones are in theirs, the update takes over."""
    d = write_app(tmp_path / "forever", "runtime: python27\napi_version: 1\nthreadsafe: true\n"
                  "handlers:\n- url: /.*\n  script: main.app\n",
                  {"main.py": FOREVER_MAIN, "version.py": 'VERSION = "one"\n',
                   "backends.yaml": "backends:\n- name: worker\n  start: main.start\n"})
    s = serve(d)
    found = wait_for(lambda: re.search(r"worker one runs in pid (\d+)", s.stderr_text()),
                     what="the first worker")
    old_pid = int(found.group(1))
    # Another size: bytecode written within the same second is judged by
    # the source's size and whole-second mtime.
    with open(os.path.join(d, "version.py"), "w") as f:
        f.write('VERSION = "second"\n')
    r = backends(s, "update", "worker", timeout=60)
    assert r.returncode == 0, r
    assert s.wait_stderr("worker second runs in pid"), s.stderr_text()[-3000:]
    assert s.wait_stderr("worker one in pid %d stops" % old_pid), s.stderr_text()[-3000:]
    assert wait_pids_gone([old_pid], 40) == []
    assert re.search(r"^worker .* done$", backends(s, "list").stdout, re.M)

