"""The request log database in trouble (LG3): the server keeps answering
while it cannot store, says so on the console once for each episode of
trouble, and says when it stores again."""
import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import threading
import time

import pytest
import requests

from harness import GAELIC_BIN, Server, app_path, run_gaelic, write_app

APP = app_path("logs")
LOCKED = "request logs: starting a transaction: database is locked"
STORED_AGAIN = "request logs: stored again"
# The writer waits 5 s for a lock before it gives up on a batch; the
# machine may be slow.
TROUBLE_TIMEOUT = 60


@contextlib.contextmanager
def locked(db_path):
    """Another process's write transaction on the log database."""
    db = sqlite3.connect(db_path, isolation_level=None, timeout=TROUBLE_TIMEOUT)
    try:
        db.execute("BEGIN EXCLUSIVE")
        yield db
        db.execute("ROLLBACK")
    finally:
        db.close()


def test_each_episode_of_a_locked_log_is_said_once_with_its_end(serve):
    s = serve(APP)
    db_path = os.path.join(s.storage_path, "logs.db")
    for episode in range(2):
        since = len(s.stderr_text())
        with locked(db_path):
            assert s.get("/levels?locked%d" % episode).status_code == 200
            assert s.wait_stderr(LOCKED, since=since, timeout=TROUBLE_TIMEOUT), \
                (episode, s.stderr_text()[since:])
            assert s.get("/levels?still_locked%d" % episode).status_code == 200
        assert s.get("/levels?free%d" % episode).status_code == 200
        assert s.wait_stderr(STORED_AGAIN, since=since, timeout=TROUBLE_TIMEOUT), \
            (episode, s.stderr_text()[since:])
        said = s.stderr_text()[since:]
        assert said.count(LOCKED) == 1 and said.count(STORED_AGAIN) == 1, said


def test_requests_logged_while_the_log_was_locked_are_stored_once_it_is_not(serve):
    s = serve(APP)
    db_path = os.path.join(s.storage_path, "logs.db")
    with locked(db_path):
        r = s.get("/levels?while_locked")
        assert r.status_code == 200
        request_id = r.text.split()[0]
        # Its batch has failed once the console says so.
        assert s.wait_stderr(LOCKED, timeout=TROUBLE_TIMEOUT), s.stderr_text()
    out = s.wait_logs(request_id, "--json", timeout=TROUBLE_TIMEOUT)
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    [row] = [row for row in rows if row["request_id"] == request_id]
    assert row["status"] == 200
    assert [line["message"] for line in row["app_logs"]] == [
        "%s while_locked" % level for level in ("debug", "info", "warning", "error", "critical")]


needs_private_mounts = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("nsenter"),
    reason="mounts in a private mount namespace (they vanish with the server)")


@needs_private_mounts
def test_log_database_on_a_read_only_mount_is_refused_with_the_reason(tmp_path):
    """SQLite opens a file it cannot write read-only and then failed for
    want of a WAL file: the server said "No such file or directory"."""
    storage = tmp_path / "storage"
    storage.mkdir()
    sqlite3.connect(storage / "logs.db").close()
    # The mount vanishes with the namespace, when gaelic exits.
    r = subprocess.run(
        ["unshare", "-m", "sh", "-c",
         'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1" && '
         'exec "$2" serve "$3" --port 0 --storage_path "$1"',
         "sh", str(storage), GAELIC_BIN, APP],
        capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r
    assert ("request logs: %s/logs.db: opening: cannot write it (Read-only file system)" % storage
            in r.stderr), r.stderr
    assert "serving" not in r.stdout


def test_a_log_database_deleted_under_the_server_is_made_again(serve):
    """SQLite kept writing into the deleted file: every later log was lost,
    and `gaelic logs` found none."""
    s = serve(APP)
    assert s.get("/levels?before").status_code == 200
    db_path = os.path.join(s.storage_path, "logs.db")
    s.wait_logs("before")
    since = len(s.stderr_text())
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(db_path + suffix)
    r = s.get("/levels?after")
    assert r.status_code == 200
    request_id = r.text.split()[0]
    assert request_id in s.wait_logs(request_id, timeout=TROUBLE_TIMEOUT), s.stderr_text()[since:]
    said = s.stderr_text()[since:]
    assert said.count("request logs: %s was deleted or replaced: opening it again" % db_path) == 1, \
        said


@needs_private_mounts
def test_requests_left_running_are_ended_once_a_full_disk_has_room(serve, tmp_path):
    """The last server's unfinished requests were ended in the first batch
    only: on a full disk that batch failed and they read as running for
    good."""
    first = serve(APP)
    first.stop()
    db = sqlite3.connect(os.path.join(first.storage_path, "logs.db"))
    db.execute("INSERT INTO request_logs(request_id, version_id, start_us, end_us, resource) "
               "VALUES ('0000000000000001stale000', '1.1', 1000000, 0, '/left_running')")
    db.commit()
    db.close()
    small, run = tmp_path / "small", tmp_path / "run"
    small.mkdir()
    run.mkdir()
    # A 4 MiB tmpfs holding the old storage folder, filled but for the
    # 48 KiB that opening the database takes (its -shm, its empty -wal): no
    # write fits. Its mount vanishes with the server's namespace.
    args = ["unshare", "-m", "sh", "-c",
            'mount -t tmpfs -o size=4M tmpfs "$1" && cp -r "$2" "$1/storage" && '
            'avail=$(df -k --output=avail "$1" | tail -n 1) && '
            'dd if=/dev/zero of="$1/filler" bs=4k count=$(((avail - 48) / 4)) 2>/dev/null && '
            'exec "$3" serve "$4" --port 0 --storage_path "$1/storage"',
            "sh", str(small), first.storage_path, GAELIC_BIN, APP]
    with open(run / "stdout", "wb") as out, open(run / "stderr", "wb") as err:
        proc = subprocess.Popen(args, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=run)
    s = Server(proc, str(run), APP, args)
    serve.servers.append(s)  # stopped at teardown whatever happens
    s.wait_ready()
    assert s.get("/levels?full").status_code == 200
    assert s.wait_stderr("database or disk is full", timeout=TROUBLE_TIMEOUT), s.stderr_text()
    # The server's own view of the tmpfs (SQLite resolves /proc/PID/root
    # to this namespace's root: gaelic logs runs in the server's).
    os.unlink("/proc/%d/root%s/filler" % (s.pid, small))
    assert s.wait_stderr(STORED_AGAIN, timeout=TROUBLE_TIMEOUT), s.stderr_text()
    r = subprocess.run(["nsenter", "-t", str(s.pid), "-m", GAELIC_BIN, "logs", APP,
                        "--storage_path", str(small / "storage"), "--json", "--limit", "0"],
                       capture_output=True, text=True, timeout=60)
    rows = {row["resource"]: row for row in map(json.loads, r.stdout.splitlines())}
    assert rows["/left_running"]["status"] == 500 and rows["/left_running"]["finished"], r
    assert rows["/levels?full"]["status"] == 200, r


@needs_private_mounts
def test_logs_command_reads_a_stopped_server_s_logs_on_a_read_only_mount(serve):
    """SQLite reads a WAL database through a -shm file it could not create
    there: gaelic logs said "unable to open database file"."""
    s = serve(APP)
    request_id = s.get("/levels?kept").text.split()[0]
    s.wait_logs(request_id)
    assert s.stop() == 0
    r = subprocess.run(
        ["unshare", "-m", "sh", "-c",
         'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1" && '
         'exec "$2" logs "$3" --storage_path "$1" --json',
         "sh", s.storage_path, GAELIC_BIN, APP],
        capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r
    [row] = [json.loads(line) for line in r.stdout.splitlines()
             if json.loads(line)["request_id"] == request_id]
    assert row["resource"] == "/levels?kept", r


FLUSH_THEN_WAIT = """
import logging
import time

from google.appengine.api import logservice


def app(environ, start_response):
    logging.warning("running")
    logservice.flush()
    time.sleep(float(environ["QUERY_STRING"]))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["REQUEST_LOG_ID"].encode()]
"""


def test_a_server_sharing_the_log_ends_none_of_the_running_server_s_requests(serve, tmp_path):
    """Servers of two storage folders may share --logs_path; the second
    one ended the first one's running (flushed) requests with 500 as if
    their server had died."""
    app = write_app(tmp_path / "app", "runtime: python27\napi_version: 1\nthreadsafe: true\n"
                    "handlers:\n- url: /.*\n  script: main.app\n", {"main.py": FLUSH_THEN_WAIT})
    shared = str(tmp_path / "shared.db")
    first = serve(app, "--logs_path", shared)
    answers = []

    def wait():
        try:
            answers.append(first.get("/wait?45", timeout=90))
        except requests.RequestException as e:  # the server stopped under it
            answers.append(e)
    # Under the 60 s deadline: it runs while the second server starts.
    running = threading.Thread(target=wait)
    running.start()
    try:
        def rows():
            out = run_gaelic("logs", app, "--logs_path", shared, "--json", "--limit", "0").stdout
            return [json.loads(line) for line in out.splitlines()]
        flushed = []
        for _ in range(300):
            flushed = [r for r in rows() if r["resource"] == "/wait?45"]
            if flushed:
                break
            time.sleep(0.1)
        assert flushed, "/wait?45 was never flushed: %s" % first.stderr_text()
        assert not flushed[0]["finished"], flushed
        second = serve(app, "--logs_path", shared)
        assert second.wait_stderr("another running server writes %s too" % shared), \
            second.stderr_text()
        # The second server's own request is stored after anything it ends.
        assert second.get("/mine?0").status_code == 200
        for _ in range(300):
            if any(r["resource"] == "/mine?0" for r in rows()):
                break
            time.sleep(0.1)
        else:
            pytest.fail("the second server's /mine?0 was never stored: %s"
                        % second.stderr_text())
        assert running.is_alive(), answers
        [row] = [r for r in rows() if r["resource"] == "/wait?45"]
        assert not row["finished"] and row["status"] != 500, row
    finally:
        first.stop()
        running.join(100)
