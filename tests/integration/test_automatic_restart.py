"""--automatic_restart: dev_appserver's restart of instances when the app's
files change. Instances that imported the app shut down; the next import
the files as they are now. Off unless given."""
import os
import threading
import time

import harness
from harness import run_gaelic, write_app

MAIN = """import os
from lib import words

COUNT = 0


def app(environ, start_response):
    global COUNT
    COUNT += 1
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("%s %d %s" % (words.WORD, COUNT, os.environ["INSTANCE_ID"])).encode()]
"""
YAML = ("runtime: python27\napi_version: 1\nthreadsafe: true\n"
        "handlers:\n- url: /.*\n  script: main.app\n")


def make_app(tmp_path, word="one"):
    return write_app(tmp_path / "app", YAML, {"main.py": MAIN, "lib/__init__.py": "",
                                              "lib/words.py": "WORD = %r\n" % word})


def answer(s, host=None):
    r = s.get("/", headers={"Host": "%s.localhost:%d" % (host, s.port)} if host else None)
    word, count, instance = r.text.split()
    return word, int(count), instance


def wait_answer(s, word, host=None, timeout=harness.WAIT_TIMEOUT):
    """The answer once it says word (a bounded wait), else the last one."""
    deadline = time.monotonic() + timeout
    while True:
        got = answer(s, host)
        if got[0] == word or time.monotonic() >= deadline:
            return got
        time.sleep(0.05)


def console(s):
    """The server's console without its request lines (what a failure
    needs to show)."""
    return "\n".join(line for line in s.stderr_text().splitlines()
                     if '"GET / HTTP/1.1"' not in line and "cap: " not in line)


def edit(path, text):
    """Writes the file whole at once, as editors that save atomically do
    (a dot file, which the default skip_files excludes, renamed over it):
    a write that truncates first could be seen empty by a restart."""
    tmp = os.path.join(os.path.dirname(path), ".%s.tmp" % os.path.basename(path))
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def test_a_changed_module_is_served_by_new_instances(serve, tmp_path):
    app = make_app(tmp_path)
    s = serve(app, "--automatic_restart")
    assert s.wait_stderr("--automatic_restart: watching 2 folders of the app"), s.stderr_text()
    first = answer(s)
    assert first[:2] == ("one", 1)
    assert answer(s)[:2] == ("one", 2)  # module state stays between requests (RT4)
    edit(os.path.join(app, "lib", "words.py"), "WORD = 'two'\n")
    got = wait_answer(s, "two")
    assert got[:2] == ("two", 1) and got[2] != first[2], (got, s.stderr_text()[-2000:])
    assert s.wait_stderr("app files changed (lib/words.py): 1 instance that imported the app "
                         "shuts down; the next import it anew (--automatic_restart)"), \
        s.stderr_text()[-2000:]


def test_new_folders_are_watched_and_skip_files_are_not(serve, tmp_path):
    app = make_app(tmp_path)
    s = serve(app, "--automatic_restart=yes")
    assert s.wait_stderr("watching 2 folders")
    first = answer(s)
    # An editor's backup file and a dot file: excluded by the default
    # skip_files, so no restart.
    edit(os.path.join(app, "main.py~"), "backup")
    edit(os.path.join(app, ".main.py.swp"), "swap")
    time.sleep(0.5)  # past the settling of a burst: a restart would have come
    assert answer(s)[2] == first[2]
    assert "app files changed" not in s.stderr_text()
    # A folder made after the start is watched: a change in it restarts.
    os.makedirs(os.path.join(app, "pkg", "sub"))
    assert s.wait_stderr("app files changed (pkg"), s.stderr_text()[-2000:]
    second = wait_answer(s, "one")
    edit(os.path.join(app, "pkg", "sub", "x.py"), "X = 1\n")
    assert s.wait_stderr("app files changed (pkg/sub/x.py)"), s.stderr_text()[-2000:]
    assert second[2] != first[2]


def test_backend_instances_restart_too(serve, tmp_path):
    """As dev_appserver restarted every module's instances; a resident
    backend's replacement gets its start request and serves the new code."""
    app = make_app(tmp_path)
    edit(os.path.join(app, "backends.yaml"), "backends:\n- name: worker\n  options: public\n")
    s = serve(app, "--automatic_restart")
    assert s.wait_stderr("watching 2 folders"), console(s)
    assert s.wait_stderr("worker instance 0 started"), console(s)
    first = answer(s, "worker")
    assert first[0] == "one"
    edit(os.path.join(app, "lib", "words.py"), "WORD = 'two'\n")
    got = wait_answer(s, "two", "worker")
    assert got[0] == "two", "%r\n%s" % (got, console(s))
    # (A backend's INSTANCE_ID is its number: the start request says it is
    # new. The console is written in batches: a bounded wait.)
    deadline = time.monotonic() + harness.WAIT_TIMEOUT
    while s.stderr_text().count("worker instance 0 started") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert s.stderr_text().count("worker instance 0 started") == 2, s.stderr_text()[-2000:]


# Which calendar module the app imported: calendar is one of the modules
# the zygote preloads for later instances (with email.utils).
SHADOW_MAIN = """import calendar
import os
import time


def app(environ, start_response):
    time.sleep(float(environ.get("QUERY_STRING") or 0))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("%s %s" % (getattr(calendar, "MARK", "stdlib"), os.environ["INSTANCE_ID"])).encode()]
"""


def shadow_app(tmp_path, yaml=YAML):
    return write_app(tmp_path / "app", yaml, {"main.py": SHADOW_MAIN})


def instance_pids(s):
    return {p for p in s.children() if harness.comm(p) == "gaelic-instance"}


def wait_file(path, timeout=harness.WAIT_TIMEOUT):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    return os.path.exists(path)


def test_a_module_named_as_a_preloaded_one_is_the_apps_after_a_change(serve, tmp_path):
    """The zygote preloads common modules for later instances unless the
    app has its own of such a name; one the app gains while served must
    not be shadowed by the preloaded one in the next instances."""
    app = shadow_app(tmp_path)
    s = serve(app, "--automatic_restart")
    assert s.get("/").text.split()[0] == "stdlib"
    # The zygote writes the app's bytecode right after its preload.
    assert wait_file(os.path.join(app, "__pycache__", "main.cpython-311.pyc")), console(s)
    edit(os.path.join(app, "calendar.py"), "MARK = 'app'\n")
    deadline = time.monotonic() + harness.WAIT_TIMEOUT
    while s.get("/").text.split()[0] != "app" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert s.get("/").text.split()[0] == "app", console(s)
    # And the zygote writes the bytecode again, for the new module too.
    assert wait_file(os.path.join(app, "__pycache__", "calendar.cpython-311.pyc")), console(s)


def test_an_instance_forked_before_such_a_change_restarts_too(serve, tmp_path):
    """The min_idle_instances instance that started beside a busy one,
    after the preload, had never been given a request (nothing of the app
    to restart for), but held the preloaded calendar all the same."""
    app = shadow_app(tmp_path, YAML.replace("threadsafe: true", "threadsafe: false") +
                     "automatic_scaling:\n  min_idle_instances: 1\n")
    s = serve(app, "--automatic_restart", "--max_instances", "4")
    assert wait_file(os.path.join(app, "__pycache__", "main.cpython-311.pyc")), console(s)
    busy = []
    t = threading.Thread(target=lambda: busy.append(s.get("/?2").text))
    t.start()
    try:
        # The idle one starts beside the busy one, from the preloaded zygote.
        deadline = time.monotonic() + harness.WAIT_TIMEOUT
        while len(instance_pids(s)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(instance_pids(s)) == 2, console(s)
        edit(os.path.join(app, "calendar.py"), "MARK = 'app'\n")
        assert s.wait_stderr("app files changed (calendar.py)"), console(s)
        assert s.wait_stderr("the app now has a module named as one the zygote loaded for "
                             "instances: 1 more instance holding that one shuts down"), console(s)
    finally:
        t.join(harness.HTTP_TIMEOUT)
    assert busy and busy[0].split()[0] == "stdlib", busy  # it ran before the change
    # Two requests at once, on two instances (one request at a time each):
    # the idle one of before, unless it restarted, takes one of them.
    for _ in range(3):
        got = []
        pair = [threading.Thread(target=lambda: got.append(s.get("/?0.3").text)) for _ in range(2)]
        for p in pair:
            p.start()
        for p in pair:
            p.join(harness.HTTP_TIMEOUT)
        assert [g.split()[0] for g in got] == ["app", "app"], (got, console(s))


def test_moved_folders_go_by_their_new_path_and_skipped_ones_are_not_watched(serve, tmp_path):
    app = write_app(tmp_path / "app", YAML + "skip_files:\n- ^tests/.*$\n- ^(.*/)?\\..*$\n",
                    {"main.py": MAIN, "lib/__init__.py": "", "lib/words.py": "WORD = 'one'\n",
                     "pkg/mod.py": "X = 1\n", "tests/test_main.py": ""})
    s = serve(app, "--automatic_restart")
    # The root, lib and pkg: a folder skip_files leaves out is not watched.
    assert s.wait_stderr("watching 3 folders"), s.stderr_text()[-2000:]
    os.makedirs(os.path.join(app, "tests", "sub"))
    edit(os.path.join(app, "tests", "test_main.py"), "X = 2\n")
    time.sleep(0.5)
    assert "app files changed" not in s.stderr_text(), s.stderr_text()[-2000:]
    # A renamed folder's files go by its new path (its watch stays with it).
    os.rename(os.path.join(app, "pkg"), os.path.join(app, "pkg2"))
    assert s.wait_stderr("app files changed (pkg"), s.stderr_text()[-2000:]
    time.sleep(0.3)  # a burst of its own
    edit(os.path.join(app, "pkg2", "mod.py"), "X = 3\n")
    assert s.wait_stderr("app files changed (pkg2/mod.py)"), s.stderr_text()[-2000:]
    # Moved out of the app: no longer watched.
    before = s.stderr_text().count("app files changed")
    os.rename(os.path.join(app, "pkg2"), str(tmp_path / "outside"))
    deadline = time.monotonic() + harness.WAIT_TIMEOUT  # the move's own report
    while s.stderr_text().count("app files changed") == before and time.monotonic() < deadline:
        time.sleep(0.05)
    before = s.stderr_text().count("app files changed")
    edit(str(tmp_path / "outside" / "mod.py"), "X = 4\n")
    time.sleep(0.5)
    assert s.stderr_text().count("app files changed") == before, s.stderr_text()[-2000:]


def test_watcher_ignore_re_leaves_paths_out(serve, tmp_path):
    """dev_appserver's --watcher_ignore_re (a Python regex), for what the
    app keeps but no restart needs: generated files, a node_modules."""
    app = make_app(tmp_path)
    os.makedirs(os.path.join(app, "node_modules", "x"))
    s = serve(app, "--automatic_restart", "--watcher_ignore_re", r"(^node_modules/|\.log$)")
    # The root and lib; node_modules is not even watched.
    assert s.wait_stderr("watching 2 folders"), s.stderr_text()[-2000:]
    first = answer(s)
    edit(os.path.join(app, "node_modules", "x", "index.js"), "x")
    edit(os.path.join(app, "build.log"), "x")
    time.sleep(0.5)
    assert answer(s)[2] == first[2]
    assert "app files changed" not in s.stderr_text(), s.stderr_text()[-2000:]
    edit(os.path.join(app, "lib", "words.py"), "WORD = 'two'\n")
    assert wait_answer(s, "two")[0] == "two"


def test_a_bad_watcher_ignore_re_is_refused(tmp_path):
    r = run_gaelic("serve", make_app(tmp_path), "--port", "0", "--automatic_restart",
                   "--watcher_ignore_re", "(unclosed")
    assert r.returncode == 2, r
    assert "--watcher_ignore_re: invalid regular expression '(unclosed'" in r.stderr, r.stderr


def test_app_yaml_changes_are_said_to_need_a_restart(serve, tmp_path):
    app = make_app(tmp_path)
    s = serve(app, "--automatic_restart")
    before = answer(s)
    edit(os.path.join(app, "app.yaml"), YAML + "# edited\n")
    assert s.wait_stderr("app.yaml changed: gaelic serve reads it at start only; restart it for "
                         "the change to apply"), s.stderr_text()[-2000:]
    # Only app.yaml changed: the instances keep serving.
    assert answer(s)[2] == before[2]


def test_storage_inside_the_app_restarts_nothing(serve, tmp_path):
    # The request log database is written after every request: in the app
    # folder it would restart the instances after each one.
    app = make_app(tmp_path)
    s = serve(app, "--automatic_restart", "--storage_path", os.path.join(app, "data"))
    first = answer(s)
    for _ in range(3):
        answer(s)
    time.sleep(0.5)
    assert answer(s)[2] == first[2]
    assert "app files changed" not in s.stderr_text(), s.stderr_text()[-2000:]


def test_off_unless_given(serve, tmp_path):
    app = make_app(tmp_path)
    s = serve(app)
    first = answer(s)
    edit(os.path.join(app, "lib", "words.py"), "WORD = 'two'\n")
    time.sleep(0.5)
    assert answer(s)[:2] == ("one", 2) and answer(s)[2] == first[2]
    assert "--automatic_restart" not in s.stderr_text()


def test_help_documents_it():
    r = run_gaelic("serve", "--help")
    assert "--automatic_restart" in r.stdout, r.stdout
