"""Each instance's stdout and stderr: a pipe of its own (child_output.h),
whose lines the console shows as "[instance N] ..." with a budget of their
own, and which goes when the instance does."""
import os
import signal
import re
import resource
import threading
import time

import pytest

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
    # Each instance's pipe is read on its own: wait for the ends of both.
    assert srv.wait_stderr("A-two"), srv.stderr_text()[-3000:]
    assert srv.wait_stderr("B-two"), srv.stderr_text()[-3000:]
    text = srv.stderr_text()
    na, nb = instance_of(srv, "A", a["pid"]), instance_of(srv, "B", b["pid"])
    assert na != nb
    for tag, n in (("A", na), ("B", nb)):
        lines = [x for x in text.splitlines() if "%s-one" % tag in x]
        assert len(lines) == 1 and lines[0].endswith(
            " WARNING [instance %s] %s-one %s-two" % (n, tag, tag)), text[-3000:]


def test_terminal_controls_an_instance_writes_do_not_reach_the_console(serve):
    """What an instance writes on its fd 2 is the app's text: escape
    sequences in it (a title, a cleared screen, colours) must not take
    over the terminal the console is on. Controls and invalid bytes show
    as '?', as in the app's log lines on the console."""
    srv = serve(APP)
    srv.get_json("/escapes?tag=E")
    assert srv.wait_stderr("E-end"), srv.stderr_text()[-3000:]
    line = next(x for x in srv.stderr_text().splitlines() if "E-esc" in x)
    # Whichever instance ran it: a loaded machine may have started a second.
    assert re.search(r"WARNING \[instance \d+\] E-esc \?\]0;title\? \?\[2J \?31m \? \? E-end$",
                     line), repr(line)


def test_a_long_line_is_shown_in_pieces_cut_between_characters(serve):
    """A line longer than the console shows at once (4 KiB) comes out in
    pieces, each a whole number of UTF-8 characters: a piece that ended
    inside one would show its bytes on either side as '?'."""
    srv = serve(APP)
    # "L-long " and 3000 two-byte characters: the first 4 KiB end inside one.
    srv.get_json("/long?tag=L&n=3000")
    assert srv.wait_stderr("L-long "), srv.stderr_text()[-3000:]
    pieces = []
    for _ in range(100):  # bounded: the pieces follow the first at once
        lines = srv.stderr_text().splitlines()
        first = next(i for i, x in enumerate(lines) if "L-long " in x)
        pieces = [x.split("] ", 1)[1] for x in lines[first:]
                  if re.search(r"WARNING \[instance \d+\] ", x)]
        if "".join(pieces).count("\u00e9") >= 3000:
            break
        time.sleep(0.1)
    text = "".join(pieces)
    assert len(pieces) == 2, pieces
    assert text == "L-long " + "\u00e9" * 3000, text.replace("\u00e9", "")


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
    assert srv.wait_stderr("not shown"), srv.stderr_text()[-3000:]
    # The marks come through a pipe of their own: the notice on the
    # flooder's says nothing of how far the master has read this one.
    assert srv.wait_stderr("] B-mark %d" % (n - 1)), srv.stderr_text()[-3000:]
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
    deadline = time.monotonic() + 15
    while fds(srv.pid) > before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert fds(srv.pid) <= before, (before, os.listdir("/proc/%d/fd" % srv.pid))
    text = srv.stderr_text()
    for k in range(12):
        assert re.search(r"WARNING \[instance \d+\] bye-%d$" % k, text, re.M), text[-3000:]


def test_an_instance_whose_pipe_cannot_be_made_shares_the_zygotes(serve):
    """At the master's descriptor limit an instance still starts, without a
    pipe of its own: its lines come through its zygote's pipe, under the
    zygote's name (the line before says which instance shares it)."""
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
    assert re.search(r" WARNING \[zygote\] Z-pid %d$" % got["pid"], text, re.M), text[-3000:]
    assert re.search(r" WARNING \[zygote\] Z-one Z-two$", text, re.M), text[-3000:]


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_last_words_come_before_the_line_that_says_the_instance_is_lost(serve, how):
    """An instance that dies in a request with a partial line in its pipe:
    the master shows that line before it says the instance was lost."""
    srv = serve(APP, "--max_instances", "1")
    srv.get_json("/pid")
    rounds = 6
    for k in range(rounds):
        tag = "last-words-%s-%d" % (how, k)
        path = "/exit?tag=%s" % tag if how == "exit" else "/kill?tag=%s&sig=%d" % (
            tag, signal.SIGKILL)
        r = srv.get(path)
        assert r.status_code == 500, (r.status_code, r.content[:300])
    deadline = time.monotonic() + 15
    while srv.stderr_text().count(") lost: ") < rounds and time.monotonic() < deadline:
        time.sleep(0.1)
    assert srv.wait_stderr("] last-words-%s-%d" % (how, rounds - 1)), srv.stderr_text()[-3000:]
    text = srv.stderr_text()
    for k in range(rounds):
        words = re.search(r"WARNING \[instance (\d+)\] last-words-%s-%d$" % (how, k), text, re.M)
        assert words, text[-3000:]
        lost = re.search(r"WARNING instance %s \(\S+\) lost: " % words.group(1), text)
        assert lost, text[-3000:]
        assert words.start() < lost.start(), text[-3000:]


def instances(srv, n):
    """Starts instances until n run beside each other."""
    for _ in range(10):
        pids = {r["pid"] for r in get_all(srv, ["/sleep?s=1.5"] * n)}
        if len(pids) == n:
            return
    raise AssertionError("not %d instances:\n%s" % (n, srv.stderr_text()[-3000:]))


# The console's bytes a second for all instances and zygotes together
# (child_output.c), twice what one instance may show.
TOTAL_BYTES_PER_SECOND = 512 * 1024


def test_instances_flooding_together_are_bound_by_the_server_wide_budget(serve):
    """Four instances flooding at once get no more of the console than the
    server-wide budget, though each is within its own; the notice says
    which budget cut their lines."""
    n = 4
    srv = serve(APP, "--max_instances", str(n))
    instances(srv, n)
    at = time.time() + 1.5
    floods = get_all(srv, ["/flood?seconds=4&at=%f" % at] * n)
    assert len({r["pid"] for r in floods}) == n, floods
    # Each reads 1 MiB a second of its pipe (child_output.c), four times its
    # own budget; together they are eight times the server-wide one.
    assert all(r["done"] > 3 << 20 for r in floods), floods
    # Said at the end of a budget's second, after the lines it let through.
    assert srv.wait_stderr("not shown"), srv.stderr_text()[-3000:]
    times, shown = [], 0
    for line in srv.stderr_text().splitlines():
        if re.match(r"\S+ \S+ WARNING \[instance \d+\] f{99}$", line):
            times.append(time.mktime(time.strptime(line[:19], "%Y-%m-%d %H:%M:%S"))
                         + float(line[19:23]))
            shown += len(line) + 1  # what the console received, its newline too
    # Lines shown over `span` seconds fall into at most span + 2 of the
    # budget's one-second windows; the margin is for clock readings.
    span = max(times) - min(times)
    limit = (int(span) + 2) * TOTAL_BYTES_PER_SECOND * 1.25
    assert shown <= limit, (shown, limit, span)
    assert srv.wait_stderr("the server-wide budget"), srv.stderr_text()[-3000:]
    text = srv.stderr_text()
    assert re.search(r"WARNING instance \d+: \d+ lines \(\d+ bytes\) of its stdout/stderr not "
                     r"shown: instances and zygotes together wrote more than 512 KiB a second "
                     r"\(the server-wide budget\)$", text, re.M), text[-3000:]


def test_instances_flooding_together_do_not_hide_another_s_lines(serve):
    """Three flooders fill the server-wide budget, not all of it: a part is
    kept for instances that write little, whose lines still show."""
    srv = serve(APP, "--max_instances", "4")
    instances(srv, 4)
    at = time.time() + 1.5
    n = 8
    results = get_all(srv, ["/flood?seconds=4&at=%f" % at] * 3 +
                      ["/marks?tag=Q&at=%f&n=%d&gap=0.3" % (at + 0.5, n)])
    assert len({r["pid"] for r in results}) == 4, results
    assert srv.wait_stderr("the server-wide budget"), srv.stderr_text()[-3000:]
    # The marks come through a pipe of their own: wait for the last one.
    assert srv.wait_stderr("] Q-mark %d" % (n - 1)), srv.stderr_text()[-3000:]
    shown = re.findall(r"WARNING \[instance \d+\] Q-mark (\d+)$", srv.stderr_text(), re.M)
    assert sorted(int(k) for k in shown) == list(range(n)), shown
