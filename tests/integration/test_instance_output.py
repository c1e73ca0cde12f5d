"""Each instance's stdout and stderr: a pipe of its own (child_output.h),
whose lines the console shows as "[instance N] ..." with a budget of their
own, and which goes when the instance does."""
import os
import re
import resource
import threading
import time

import requests

from harness import HTTP_TIMEOUT, app_path

APP = app_path("output")


def get_all(srv, paths):
    """GETs paths at once (one thread and connection each); the JSON
    answers in order."""
    results = [None] * len(paths)

    def one(i):
        try:
            results[i] = srv.get_json(paths[i], timeout=HTTP_TIMEOUT + 30)
        except Exception as e:  # reported below, with the others
            results[i] = e

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(paths))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HTTP_TIMEOUT + 40)
    assert all(isinstance(r, dict) for r in results), results
    return results


def two_instances(srv):
    """Starts a second instance beside the first: requests that arrive
    together then run in different ones (threadsafe: false)."""
    for _ in range(5):
        pids = {r["pid"] for r in get_all(srv, ["/sleep?s=1", "/sleep?s=1"])}
        if len(pids) == 2:
            return
    raise AssertionError("no second instance:\n" + srv.stderr_text()[-3000:])


def instance_of(srv, tag, pid):
    """N of the "[instance N] TAG-pid PID" line."""
    m = re.search(r"WARNING \[instance (\d+)\] %s-pid %d$" % (tag, pid), srv.stderr_text(), re.M)
    assert m, srv.stderr_text()[-3000:]
    return m.group(1)


def test_partial_lines_of_two_instances_are_not_joined(serve):
    """A line an instance writes in two parts comes out whole, even when
    another instance writes in between, and names its instance."""
    srv = serve(APP, "--max_instances", "2")
    two_instances(srv)
    t = time.time() + 1.5  # both requests run by then
    a, b = get_all(srv, ["/partial?tag=A&at=%f&then_at=%f" % (t, t + 1.2),
                         "/partial?tag=B&at=%f&then_at=%f" % (t + 0.6, t + 1.8)])
    assert a["pid"] != b["pid"], (a, b)
    assert srv.wait_stderr("B-two"), srv.stderr_text()[-3000:]
    text = srv.stderr_text()
    na, nb = instance_of(srv, "A", a["pid"]), instance_of(srv, "B", b["pid"])
    assert na != nb
    for tag, n in (("A", na), ("B", nb)):
        lines = [x for x in text.splitlines() if "%s-one" % tag in x]
        assert len(lines) == 1 and lines[0].endswith(
            " WARNING [instance %s] %s-one %s-two" % (n, tag, tag)), text[-3000:]


def test_one_instance_flooding_does_not_hide_another_s_lines(serve):
    """The 256 KiB a second the console shows is per instance: one that
    floods its stderr loses its own lines, not those of the others."""
    srv = serve(APP, "--max_instances", "2")
    two_instances(srv)
    t = time.time() + 1.5
    n = 5
    flood, marks = get_all(srv, ["/flood?seconds=%f" % (t + 3 - time.time()),
                                 "/marks?tag=B&at=%f&n=%d&gap=0.3" % (t, n)])
    assert flood["pid"] != marks["pid"], (flood, marks)
    assert flood["done"] > 2 << 20, flood  # many times what one second may show
    assert srv.wait_stderr("not shown", timeout=5), srv.stderr_text()[-3000:]
    text = srv.stderr_text()
    shown = re.findall(r"WARNING \[instance (\d+)\] B-mark (\d+)$", text, re.M)
    assert sorted(int(k) for _, k in shown) == list(range(n)), shown
    assert len({i for i, _ in shown}) == 1, shown
    flooder = re.findall(r"WARNING instance (\d+) wrote more than 256 KiB a second to "
                         r"stdout/stderr: \d+ lines \(\d+ bytes\) not shown", text)
    assert flooder and set(flooder) != {shown[0][0]}, flooder


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def test_no_descriptor_left_behind_by_instances_that_exit(serve):
    """Each instance's pipe is closed once the instance is gone, after
    what it wrote last (a partial line too) is shown."""
    srv = serve(APP, "--max_instances", "1")
    first = srv.get_json("/pid")["pid"]
    before = fds(srv.pid)
    pids = {first}
    for k in range(12):
        r = srv.get("/exit?tag=bye-%d" % k)
        assert r.status_code == 500, (r.status_code, r.content[:300])
        pids.add(srv.get_json("/pid")["pid"])
    assert len(pids) == 13, pids
    assert srv.wait_stderr("] bye-11"), srv.stderr_text()[-3000:]
    # One pipe left behind per instance would be 12 more; a client's
    # connection still open at the first count may make it one less.
    deadline = time.monotonic() + 5
    while fds(srv.pid) > before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert fds(srv.pid) <= before, (before, os.listdir("/proc/%d/fd" % srv.pid))
    text = srv.stderr_text()
    for k in range(12):
        assert re.search(r"WARNING \[instance \d+\] bye-%d$" % k, text, re.M), text[-3000:]


def test_an_instance_whose_pipe_cannot_be_made_shares_the_zygotes(serve):
    """At the master's descriptor limit an instance still starts, without a
    pipe of its own: its lines come through the zygotes' pipe, unnamed."""
    srv = serve(APP, "--max_instances", "1")
    srv.get_json("/pid")
    assert srv.get("/exit?tag=x").status_code == 500
    assert srv.wait_stderr("exited with status 3"), srv.stderr_text()[-3000:]
    time.sleep(0.5)  # the client's connection closed too
    used = {int(x) for x in os.listdir("/proc/%d/fd" % srv.pid)}
    free = [k for k in range(1 << 16) if k not in used][:4]
    soft, hard = resource.prlimit(srv.pid, resource.RLIMIT_NOFILE)
    # Room for the request's connection and the channel's socketpair, not
    # for a pipe as well.
    resource.prlimit(srv.pid, resource.RLIMIT_NOFILE, (free[3] + 1, hard))
    try:
        got = srv.get_json("/partial?tag=Z&at=0&then_at=0")
    finally:
        resource.prlimit(srv.pid, resource.RLIMIT_NOFILE, (soft, hard))
    assert srv.wait_stderr("Z-two"), srv.stderr_text()[-3000:]
    text = srv.stderr_text()
    assert re.search(r"WARNING instance \d+: no output pipe of its own \(Too many open files\); "
                     r"it shares the zygote's$", text, re.M), text[-3000:]
    assert re.search(r" WARNING Z-pid %d$" % got["pid"], text, re.M), text[-3000:]
    assert re.search(r" WARNING Z-one Z-two$", text, re.M), text[-3000:]
