"""App caching (RT4) and what imports (RT5): packages, sourceless .pyc and
.zip archives of pure Python."""
import os
import py_compile
import sqlite3
import shutil
import stat
import tempfile
import time
import zipfile

import pytest

from harness import comm, copy_app, http_request, write_app

PYC_SOURCE = 'VALUE = "compiled without source"\n'
ZIP_MOD = 'VALUE = "from the zip"\n'
ZIP_PKG_INNER = 'VALUE = "package in the zip"\n'


def build_caching_app(dst):
    """Copies apps/caching and adds what must be generated: compiled_mod.pyc
    (compiled by this same Python 3.11, its .py removed) and lib.zip."""
    d = copy_app("caching", dst)
    src = os.path.join(d, "compiled_mod.py")
    with open(src, "w") as f:
        f.write(PYC_SOURCE)
    py_compile.compile(src, cfile=os.path.join(d, "compiled_mod.pyc"), doraise=True)
    os.remove(src)
    with zipfile.ZipFile(os.path.join(d, "lib.zip"), "w") as z:
        z.writestr("zipped_mod.py", ZIP_MOD)
        z.writestr("zipped_pkg/__init__.py", "")
        z.writestr("zipped_pkg/inner.py", ZIP_PKG_INNER)
    return d


@pytest.fixture(scope="module")
def srv(mserve, tmp_path_factory):
    d = build_caching_app(tmp_path_factory.mktemp("caching") / "caching")
    return mserve(d, "--max_instances", "1")


def test_generated_files_are_as_intended(srv):
    assert not os.path.exists(os.path.join(srv.appdir, "compiled_mod.py"))
    assert os.path.exists(os.path.join(srv.appdir, "compiled_mod.pyc"))


def test_module_globals_persist(srv):
    got = [srv.get_json("/counter") for _ in range(4)]
    counts = [g["count"] for g in got]
    assert counts == list(range(counts[0], counts[0] + 4)), counts
    assert len({g["instance_id"] for g in got}) == 1
    assert len({g["module_id"] for g in got}) == 1
    assert len({g["pkg_loaded_at"] for g in got}) == 1, "pkg.sub.mod was imported again"


def test_package_import(srv):
    assert srv.get_json("/counter")["where"] == "pkg.sub.mod"


def test_dotted_wsgi_path_handler(srv):
    r = http_request(srv.port, "GET", "/deep/x")
    assert r.status == 200, (r, srv.stderr_text()[-2000:])
    assert r.body == b"deep handler /deep/x"


def test_sourceless_pyc_imports(srv):
    d = srv.get_json("/pyc")
    assert d["value"] == "compiled without source"
    assert d["file"].endswith("compiled_mod.pyc"), d


def test_default_skip_files_leaves_pyc_files_out(serve, tmp_path):
    """App Engine's default skip_files left .pyc files out of the upload:
    an app ships sourceless modules by giving its own, as apps/caching
    does. Without one, its compiled_mod.pyc is not the app's (no import),
    and stray .pyc files (a Python 2 checkout's) count against no limit."""
    d = build_caching_app(tmp_path / "app")
    with open(os.path.join(d, "app.yaml")) as f:
        text = f.read()
    with open(os.path.join(d, "app.yaml"), "w") as f:
        f.write(text.replace("skip_files:\n- ^(.*/)?\\..*$\n", ""))
    for i in range(1001):  # past the 1,000 files an app may have (RT10)
        with open(os.path.join(d, "stale%d.pyc" % i), "wb") as f:
            f.write(b"\x03\xf3\r\n")
    s = serve(d, "--max_instances", "1")
    assert s.get_json("/counter")["where"] == "pkg.sub.mod"
    r = http_request(s.port, "GET", "/pyc")
    assert r.status == 500, (r, s.stderr_text()[-2000:])
    assert "No module named 'compiled_mod'" in s.stderr_text(), s.stderr_text()[-2000:]


def test_zip_on_sys_path_imports(srv):
    d = srv.get_json("/zip")
    assert d["value"] == "from the zip"
    assert d["pkg_value"] == "package in the zip"
    assert "lib.zip" in d["file"], d


def test_app_root_on_sys_path(srv):
    d = srv.get_json("/sys_path")
    real = [os.path.realpath(p) for p in d["sys_path"] if p]
    assert os.path.realpath(d["root"]) in real, d
    assert os.path.realpath(d["root"]) == os.path.realpath(srv.appdir)


def test_two_servers_do_not_share_state(serve, tmp_path):
    """Globals live per instance: a fresh server starts counting again."""
    d = build_caching_app(tmp_path / "caching2")
    s = serve(d)
    assert s.get_json("/counter")["count"] == 1
    assert s.get_json("/counter")["count"] == 2


def test_apps_own_google_packages_import_beside_the_runtimes(serve, tmp_path):
    # Vendored libraries such as google-cloud-* live under google/ too.
    d = write_app(tmp_path / "own_google", BYTECODE_YAML, {
        "google/__init__.py": "",
        "google/cloud/__init__.py": "",
        "google/cloud/thing.py": 'VALUE = "the app\'s google.cloud"\n',
        "main.py": (
            "import google.cloud.thing\n"
            "from google.appengine.api import backends\n"
            "def app(environ, start_response):\n"
            "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
            "    return [('%s, %s' % (google.cloud.thing.VALUE,\n"
            "                         callable(backends.get_backend))).encode()]\n"),
    })
    r = http_request(serve(d).port, "GET", "/")
    assert (r.status, r.body) == (200, b"the app's google.cloud, True"), r


LATER_GOOGLE_MAIN = """import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "third_party"))
import google.auth_thing
import google.cloud.storage_thing
from google.appengine.api import backends
def app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('%s, %s, %s' % (google.auth_thing.VALUE, google.cloud.storage_thing.VALUE,
                             callable(backends.get_backend))).encode()]
"""


def test_google_packages_of_folders_put_on_sys_path_later_import(serve, tmp_path):
    """Packages that pip installs under google/ without a google/__init__.py
    (google-auth, google-cloud-* and protobuf now: PEP 420 namespace
    parts) import from a folder the app puts on sys.path as it runs
    (vendor.add('lib') in appengine_config, sys.path.insert), as the google
    namespace package of a plain Python 3 finds them. The runtime's google
    package looked only in the folders on sys.path when it was imported,
    before the app's code ran: ModuleNotFoundError."""
    d = write_app(tmp_path / "later_google", BYTECODE_YAML, {
        "appengine_config.py": "from google.appengine.ext import vendor\nvendor.add('lib')\n",
        "lib/google/auth_thing/__init__.py": 'VALUE = "google.auth_thing from lib"\n',
        "third_party/google/cloud/storage_thing.py": 'VALUE = "google.cloud from third_party"\n',
        "main.py": LATER_GOOGLE_MAIN,
    })
    s = serve(d)
    r = http_request(s.port, "GET", "/")
    assert (r.status, r.body) == (
        200, b"google.auth_thing from lib, google.cloud from third_party, True"), (
        r, s.stderr_text()[-2000:])


# ---------------------------------------------------------------- bytecode

BYTECODE_YAML = """runtime: python27
api_version: 1
threadsafe: true
handlers:
- url: /.*
  script: main.app
"""
BYTECODE_MAIN = """
def app(environ, start_response):
    import helper
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [helper.VALUE.encode()]
"""


def _wait_for(path, seconds=15):
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        assert time.monotonic() < deadline, "%s never appeared" % path
        time.sleep(0.05)


def test_zygote_writes_the_apps_bytecode_and_instances_load_it(serve, tmp_path):
    """Instances see the app read-only and would compile every module from
    source on each start; the idle zygote writes the .pyc files instead.
    Proof that an instance loads them: with its source unreadable (instances
    have no capability to override file permissions), the module still
    imports."""
    app = write_app(tmp_path / "app", BYTECODE_YAML, {
        "main.py": BYTECODE_MAIN, "helper.py": 'VALUE = "from bytecode"\n',
        "broken.py": "def f(:\n", "pkg/__init__.py": "", "pkg/inner.py": "X = 1\n"})
    s = serve(app)
    cache = os.path.join(app, "__pycache__")
    for name in ("main", "helper"):
        _wait_for(os.path.join(cache, "%s.cpython-311.pyc" % name))
    _wait_for(os.path.join(app, "pkg", "__pycache__", "inner.cpython-311.pyc"))
    assert not os.path.exists(os.path.join(cache, "broken.cpython-311.pyc"))
    helper = os.path.join(app, "helper.py")
    os.chmod(helper, 0)
    try:
        r = http_request(s.port, "GET", "/")
    finally:
        os.chmod(helper, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
    assert r.status == 200, (r, s.stderr_text()[-2000:])
    assert r.body == b"from bytecode"


def test_bytecode_never_written_through_a_symlinked_pycache(serve, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    app = write_app(tmp_path / "app", BYTECODE_YAML, {
        "main.py": BYTECODE_MAIN, "helper.py": 'VALUE = "from source"\n', "pkg/inner.py": ""})
    os.symlink(str(elsewhere), os.path.join(app, "__pycache__"))
    s = serve(app)
    # The zygote gets to the package's folder after the app root's.
    _wait_for(os.path.join(app, "pkg", "__pycache__", "inner.cpython-311.pyc"))
    assert os.listdir(str(elsewhere)) == []
    r = http_request(s.port, "GET", "/")
    assert (r.status, r.body) == (200, b"from source")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs a root server")
def test_a_root_servers_bytecode_is_written_as_the_app_folders_owner(serve):
    """The app folder's owner could swap one of its folders for a link
    between the writer's check and its write: written as root, the .pyc
    would land, root-owned, wherever the link led. With the owner's ids
    the writer can do nothing the owner could not."""
    top = tempfile.mkdtemp(prefix="gaelic-owned-")
    try:
        os.chmod(top, 0o755)  # the owner must reach the app folder
        app = write_app(os.path.join(top, "app"), BYTECODE_YAML, {
            "main.py": BYTECODE_MAIN, "helper.py": 'VALUE = "owned"\n', "pkg/inner.py": ""})
        nobody = 65534
        for folder, dirs, files in os.walk(app):
            for name in [folder] + [os.path.join(folder, f) for f in files]:
                os.chown(name, nobody, nobody)
        s = serve(app)
        inner = os.path.join(app, "pkg", "__pycache__", "inner.cpython-311.pyc")
        _wait_for(inner)
        for path in (inner, os.path.dirname(inner),
                     os.path.join(app, "__pycache__", "helper.cpython-311.pyc")):
            st = os.stat(path)
            assert (st.st_uid, st.st_gid) == (nobody, nobody), path
        r = http_request(s.port, "GET", "/")
        assert (r.status, r.body) == (200, b"owned"), (r, s.stderr_text()[-2000:])
    finally:
        shutil.rmtree(top)


PYCACHE_READER = """
import json
import marshal


def app(environ, start_response):
    got = {}
    for path in environ["QUERY_STRING"].split(","):
        try:
            with open(path, "rb") as f:
                code = marshal.loads(f.read()[16:])
            got[path] = [c for c in code.co_consts if isinstance(c, str)]
        except Exception as e:
            got[path] = type(e).__name__
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(got).encode()]
"""


def test_bytecode_of_a_file_the_app_may_not_read_is_hidden_too(serve, tmp_path):
    """A module's bytecode holds what its source says (its strings, say):
    for a source skip_files leaves out, the zygote writes none, and one in
    __pycache__ from elsewhere (a developer's own python run) is refused as
    its source is, whatever its optimisation level; others still read."""
    app = write_app(tmp_path / "app", BYTECODE_YAML + "skip_files:\n- ^secret\\.py$\n- ^private/\n", {
        "main.py": PYCACHE_READER, "helper.py": 'VALUE = "public"\n',
        "secret.py": 'TOKEN = "s3cr3t"\n', "private/keys.py": 'KEY = "k3y"\n'})
    s = serve(app)
    cache = os.path.join(app, "__pycache__")
    _wait_for(os.path.join(cache, "helper.cpython-311.pyc"))
    _wait_for(os.path.join(cache, "main.cpython-311.pyc"))
    assert not os.path.exists(os.path.join(cache, "secret.cpython-311.pyc"))
    assert not os.path.exists(os.path.join(app, "private", "__pycache__"))
    wanted = {"__pycache__/secret.cpython-311.pyc": "secret.py",
              "__pycache__/secret.cpython-311.opt-2.pyc": "secret.py",
              "private/__pycache__/keys.cpython-311.pyc": "private/keys.py"}
    for pyc, source in wanted.items():
        py_compile.compile(os.path.join(app, source), cfile=os.path.join(app, pyc), doraise=True)
    got = s.get_json("/?" + ",".join(list(wanted) + ["__pycache__/helper.cpython-311.pyc"]))
    assert got == dict({pyc: "PermissionError" for pyc in wanted},
                       **{"__pycache__/helper.cpython-311.pyc": ["public"]}), got


def test_a_source_slow_to_compile_does_not_hold_up_new_instances(serve, tmp_path):
    """CPython compiles a long f-string in quadratic time (this 600 KB one
    takes about half a minute). The zygote writes bytecode in a process of
    its own, so meanwhile it still forks instances: each crash's
    replacement serves the next request while that source's .pyc is still
    being made, instead of waiting for it."""
    main = ("import os\n"
            "def app(environ, start_response):\n"
            "    if environ['PATH_INFO'] == '/exit':\n"
            "        os._exit(1)\n"
            "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
            "    return [str(os.getpid()).encode()]\n")
    # Sources are compiled in name order: main.py first, then this one.
    slow = "X = f'" + "{a}" * 200000 + "'\n"
    app = write_app(tmp_path / "app", BYTECODE_YAML, {"main.py": main, "zz_slow.py": slow})
    s = serve(app)
    cache = os.path.join(app, "__pycache__")
    _wait_for(os.path.join(cache, "main.cpython-311.pyc"))
    pids = set()
    for _ in range(3):
        assert http_request(s.port, "GET", "/exit").status == 500
        r = http_request(s.port, "GET", "/")
        assert r.status == 200, (r, s.stderr_text()[-2000:])
        pids.add(r.body)
    assert len(pids) == 3
    assert not os.path.exists(os.path.join(cache, "zz_slow.cpython-311.pyc"))


def test_the_bytecode_writer_runs_only_on_idle_cpu_and_within_a_budget(serve, tmp_path):
    """Writing bytecode is background work: it must never take CPU time an
    instance wants (SCHED_IDLE), and a source that would compile for many
    minutes is given up after a CPU-time budget (RLIMIT_CPU)."""
    slow = "X = f'" + "{a}" * 200000 + "'\n"
    app = write_app(tmp_path / "app", BYTECODE_YAML, {"main.py": BYTECODE_MAIN,
                                                      "helper.py": "VALUE = \"x\"\n",
                                                      "zz_slow.py": slow})
    s = serve(app)
    assert http_request(s.port, "GET", "/").status == 200
    deadline = time.monotonic() + 15
    writer = None
    while writer is None:
        writer = next((p for p in s.children() if comm(p) == "gaelic-bytecode"), None)
        assert writer or time.monotonic() < deadline, "no bytecode writer"
        time.sleep(0.05)
    with open("/proc/%d/stat" % writer) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    SCHED_IDLE = 5
    assert int(fields[38]) == SCHED_IDLE  # field 41, "policy"
    with open("/proc/%d/limits" % writer) as f:
        cpu = next(line for line in f if line.startswith("Max cpu time")).split()
    assert cpu[3:5] == ["60", "60"]


def test_the_bytecode_writer_stays_within_the_instance_memory(serve, tmp_path):
    """The writer runs outside the sandbox, on sources the app brings: this
    4 MB one (a tuple of two million names) took CPython's compiler 2.3 GB
    of memory, and the writer had no limit on it. Within the instances'
    memory limit such a source is left to the import (which fails the same
    way in an instance) and the writer goes on with the next one."""
    big = "X = (" + "a," * 1900000 + ")\n"
    app = write_app(tmp_path / "app", BYTECODE_YAML, {
        "main.py": BYTECODE_MAIN, "helper.py": 'VALUE = "x"\n', "big.py": big,
        "zz_after.py": "Y = 1\n"})
    s = serve(app, "--instance_memory", str(512 << 20))
    if "address space unlimited (sanitizer build)" in s.stderr_text():
        pytest.skip("sanitizer builds leave the address space unlimited")
    cache = os.path.join(app, "__pycache__")
    _wait_for(os.path.join(cache, "zz_after.cpython-311.pyc"), seconds=60)
    assert not os.path.exists(os.path.join(cache, "big.cpython-311.pyc"))


# ---------------------------------------------------------------- skip_files

SKIP_YAML = """runtime: python27
api_version: 1
threadsafe: false
skip_files:
- ^devonly\\.py$
# a prefix rule: App Engine matched skip_files with re.match
- ^tests/
- ^vendor\\.zip$
- ^calendar\\.py$
- ^cgi/hidden\\.py$
handlers:
- url: /cgi/(.*)
  script: cgi/\\1.py
- url: /.*
  script: main.app
"""
SKIP_MAIN = """import json, sys
sys.path.insert(0, "vendor.zip")
sys.path.insert(0, "kept.zip")

def attempt(name):
    try:
        module = __import__(name, fromlist=["*"])
    except ImportError as e:
        return "ImportError: %s" % e
    return getattr(module, "VALUE", module.__file__ if hasattr(module, "__file__") else "?")

def probe(name):
    import importlib.util, pkgutil
    attempt(name)
    return [repr(importlib.util.find_spec(name)), repr(pkgutil.find_loader(name))]

def listings():
    # __pycache__: the zygote's bytecode, written whenever it is idle
    import glob, os, pathlib
    def app_files(names):
        return sorted(n for n in map(str, names) if "__pycache__" not in n)
    return [app_files(os.listdir()), app_files(map(os.fsdecode, os.listdir(b"tests"))),
            app_files(e.name for e in os.scandir("cgi")),
            app_files(os.path.join(d, f) for d, _, files in os.walk(".") for f in files),
            app_files(glob.glob("*.py")), app_files(pathlib.Path("cgi").iterdir())]

def app(environ, start_response):
    if environ["PATH_INFO"] == "/list":
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(listings()).encode()]
    if environ["PATH_INFO"] == "/iter":
        import pkgutil
        listed = [m.name for m in pkgutil.iter_modules(["tests"])]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps([listed, attempt("helpers")]).encode()]
    if environ["PATH_INFO"] == "/probe":
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(probe("devonly")).encode()]
    names = ("kept", "devonly", "tests.helpers", "zipped_kept", "zipped_hidden")
    out = {name: attempt(name) for name in names}
    import calendar
    out["calendar"] = calendar.__file__
    import pkgutil
    out["listed"] = sorted(m.name for m in pkgutil.iter_modules(["."]))
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(out).encode()]
"""
CGI_SCRIPT = 'print("Content-Type: text/plain")\nprint()\nprint("%s")\n'


def build_skip_app(dst):
    d = write_app(dst, SKIP_YAML, {
        "main.py": SKIP_MAIN,
        "kept.py": 'VALUE = "kept"\n',
        "devonly.py": 'VALUE = "never uploaded"\n',
        "tests/helpers.py": 'VALUE = "never uploaded"\n',
        "calendar.py": 'VALUE = "never uploaded"\n',
        "cgi/shown.py": CGI_SCRIPT % "shown",
        "cgi/hidden.py": CGI_SCRIPT % "never uploaded",
    })
    with zipfile.ZipFile(os.path.join(d, "kept.zip"), "w") as z:
        z.writestr("zipped_kept.py", 'VALUE = "zipped and kept"\n')
    with zipfile.ZipFile(os.path.join(d, "vendor.zip"), "w") as z:
        z.writestr("zipped_hidden.py", 'VALUE = "never uploaded"\n')
    return d


def test_files_skip_files_excludes_cannot_be_imported(serve, tmp_path):
    """App Engine never uploaded what skip_files matches: importing it
    failed there (and in dev_appserver), so it must fail here too, saying
    why, and a skipped file must not hide a module found further on."""
    s = serve(build_skip_app(tmp_path / "skip"))
    got = s.get_json("/")
    excluded = "ImportError: No module named %r: %s is excluded by app.yaml skip_files"
    assert got == {
        "kept": "kept",
        "devonly": excluded % ("devonly", "devonly.py"),
        "tests.helpers": excluded % ("tests.helpers", "tests/helpers.py"),
        "zipped_kept": "zipped and kept",
        "zipped_hidden": "ImportError: No module named 'zipped_hidden'",
        "calendar": "/usr/lib/python3.11/calendar.py",
        "listed": ["kept", "main"],
    }, got


def test_probing_for_a_skipped_module_finds_none(serve, tmp_path):
    """importlib.util.find_spec and pkgutil.find_loader return None for a
    module whose file is absent (apps and Django's module_has_submodule
    probe for optional modules that way): only an import says which
    skip_files rule hid it."""
    s = serve(build_skip_app(tmp_path / "skipprobe"))
    assert s.get_json("/probe") == ["None", "None"]


def test_listing_a_folder_blames_no_skipped_file_for_other_imports(serve, tmp_path):
    """Listing tests/ passes over the skipped tests/helpers.py; a later
    import of a top-level helpers module (there is none) must not be
    blamed on that file."""
    s = serve(build_skip_app(tmp_path / "skipiter"))
    assert s.get_json("/iter") == [[], "ImportError: No module named 'helpers'"]


def test_folder_listings_leave_skipped_files_out(serve, tmp_path):
    """What skip_files names was never uploaded, so App Engine listed no
    such file: an app that lists a folder (os.listdir, os.scandir, os.walk,
    glob, pathlib) and opens what it finds must not meet one it may not
    open."""
    s = serve(build_skip_app(tmp_path / "skiplist"))
    assert s.get_json("/list") == [
        ["app.yaml", "cgi", "kept.py", "kept.zip", "main.py", "tests"],
        [],
        ["shown.py"],
        ["./app.yaml", "./cgi/shown.py", "./kept.py", "./kept.zip", "./main.py"],
        ["kept.py", "main.py"],
        ["cgi/shown.py"],
    ]


def test_cgi_script_skip_files_excludes_is_not_found(serve, tmp_path):
    s = serve(build_skip_app(tmp_path / "skipcgi"))
    r = http_request(s.port, "GET", "/cgi/shown")
    assert (r.status, r.body) == (200, b"shown\n"), r
    r = http_request(s.port, "GET", "/cgi/hidden")
    assert r.status == 404, r
    assert b"never uploaded" not in r.body


FOLDER_SKIP_YAML = """runtime: python27
api_version: 1
threadsafe: false
skip_files:
- ^venv$
- ^(.*/)?devtools$
handlers:
- url: /static
  static_dir: web
  application_readable: true
- url: /cgi
  script: web/devtools/run.py
- url: /.*
  script: main.app
"""
FOLDER_SKIP_MAIN = """import json, sys
sys.path.insert(1, "venv")

def attempt(name):
    try:
        return __import__(name, fromlist=["*"]).VALUE
    except ImportError as e:
        return "ImportError: %s" % e

def app(environ, start_response):
    out = [attempt(n) for n in ("vmod", "web.devtools.tool", "web.kept")]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(out).encode()]
"""


def test_a_skipped_folder_is_skipped_whole(serve, tmp_path):
    """App Engine's upload matched each folder's path too (no trailing
    '/'): a rule that matches a folder left all of it out, so its modules,
    CGI scripts and static files are not there."""
    d = write_app(tmp_path / "skipfolder", FOLDER_SKIP_YAML, {
        "main.py": FOLDER_SKIP_MAIN,
        "venv/vmod.py": 'VALUE = "never uploaded"\n',
        "web/__init__.py": "",
        "web/kept.py": 'VALUE = "kept"\n',
        "web/devtools/__init__.py": "",
        "web/devtools/tool.py": 'VALUE = "never uploaded"\n',
        "web/devtools/run.py": CGI_SCRIPT % "never uploaded",
        "web/devtools/page.txt": "never uploaded",
    })
    s = serve(d)
    excluded = "ImportError: No module named %r: %s is excluded by app.yaml skip_files"
    assert s.get_json("/") == [
        excluded % ("vmod", "venv/vmod.py"),
        excluded % ("web.devtools", "web/devtools/__init__.py"),
        "kept",
    ]
    r = http_request(s.port, "GET", "/cgi")
    assert r.status == 404 and b"never uploaded" not in r.body, r
    r = http_request(s.port, "GET", "/static/devtools/page.txt")
    assert r.status == 404 and b"never uploaded" not in r.body, r


STATIC_FILES_YAML = """\
runtime: python27
api_version: 1
threadsafe: false
skip_files:
- ^secret/.*
handlers:
- url: /static
  static_dir: static/
- url: /shared
  static_dir: shared
  application_readable: true
- url: /img/(.*)
  static_files: img/\\1
  upload: img/.*\\.png
- url: /cgi
  script: static/run.py
- url: /.*
  script: main.app
"""

STATIC_FILES_MAIN = r"""
import json
import os


def attempt(f):
    try:
        return "ok: %s" % f()
    except Exception as e:
        return "%s: %s" % (type(e).__name__, e)


def read(path):
    with open(path) as f:
        return f.read().strip()


def query(path):
    import sqlite3
    return sqlite3.connect(path).execute("select x from t").fetchone()[0]


def app(environ, start_response):
    out = [
        attempt(lambda: read("static/page.txt")),
        attempt(lambda: read(os.path.join(os.getcwd(), "static", "page.txt"))),
        attempt(lambda: read("img/logo.png")),
        attempt(lambda: read("img/notes.txt")),
        attempt(lambda: read("shared/data.txt")),
        attempt(lambda: read("secret/key.txt")),
        attempt(lambda: __import__("static.helper", fromlist=["*"]).VALUE),
        attempt(lambda: __import__("shared.lib", fromlist=["*"]).VALUE),
        attempt(lambda: os.path.exists("static/page.txt")),
        # listings leave out what the app may not open
        attempt(lambda: [sorted(n for n in os.listdir(d) if n != "__pycache__")
                         for d in ("static", "img", "shared", "secret")]),
        # the same files by the instance's own links to its working folder
        # and to its root
        attempt(lambda: read("/proc/self/cwd/static/page.txt")),
        attempt(lambda: read("/proc/self/root" + os.getcwd() + "/secret/key.txt")),
        # SQLite opens what it cannot write read-only: the app's own
        # database, not a hidden file; it cannot create one
        attempt(lambda: query("data.db")),
        attempt(lambda: query("secret/key.db")),
        attempt(lambda: query("new.db")),
    ]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(out).encode()]
"""


def test_static_files_are_not_the_apps_unless_application_readable(serve, tmp_path):
    """App Engine uploaded a static handler's files apart from the app's
    code unless `application_readable: true`, and never uploaded what
    skip_files names: the app can neither open nor import them
    (PermissionError with EACCES, as App Engine's IOError had), while
    clients still get the static files."""
    d = write_app(tmp_path / "staticfiles", STATIC_FILES_YAML, {
        "main.py": STATIC_FILES_MAIN,
        "static/page.txt": "page",
        "static/__init__.py": "",
        "static/helper.py": 'VALUE = "static code"\n',
        "static/run.py": CGI_SCRIPT % "static script",
        "img/logo.png": "png",
        "img/notes.txt": "notes",
        "shared/data.txt": "shared data",
        "shared/__init__.py": "",
        "shared/lib.py": 'VALUE = "readable code"\n',
        "secret/key.txt": "key",
    })
    for db in ("data.db", "secret/key.db"):
        with sqlite3.connect(os.path.join(d, db)) as c:
            c.execute("create table t (x)")
            c.execute("insert into t values (42)")
        c.close()
    s = serve(d)
    static = ("a static file: app.yaml's static handlers serve it, and only "
              "application_readable: true lets the app read it too")
    here = os.path.realpath(d)
    assert s.get_json("/") == [
        "PermissionError: [Errno 13] %s: 'static/page.txt'" % static,
        "PermissionError: [Errno 13] %s: '%s/static/page.txt'" % (static, here),
        "PermissionError: [Errno 13] %s: 'img/logo.png'" % static,
        "ok: notes",
        "ok: shared data",
        "PermissionError: [Errno 13] app.yaml's skip_files leaves this file out of the app: "
        "'secret/key.txt'",
        "ModuleNotFoundError: No module named 'static': static/__init__.py is a static "
        "file (app.yaml's static handlers serve it; application_readable: true makes it the "
        "app's too)",
        "ok: readable code",
        "ok: True",
        "ok: [[], ['notes.txt'], ['__init__.py', 'data.txt', 'lib.py'], []]",
        "PermissionError: [Errno 13] %s: '/proc/self/cwd/static/page.txt'" % static,
        "PermissionError: [Errno 13] app.yaml's skip_files leaves this file out of the app: "
        "'/proc/self/root%s/secret/key.txt'" % d,
        "ok: 42",
        "PermissionError: [Errno 13] app.yaml's skip_files leaves this file out of the app: "
        "'secret/key.db'",
        "PermissionError: sandbox rule SB1: the app cannot write to the filesystem "
        "(tempfile.TemporaryFile works in memory): sqlite3.connect 'new.db'",
    ]
    r = http_request(s.port, "GET", "/cgi")
    assert r.status == 404 and b"static script" not in r.body, r
    for path, body in (("/static/page.txt", b"page"), ("/img/logo.png", b"png"),
                       ("/shared/data.txt", b"shared data")):
        r = http_request(s.port, "GET", path)
        assert (r.status, r.body) == (200, body), (path, r)


CLASHING_UPLOADS_YAML = """\
runtime: python27
api_version: 1
threadsafe: true
handlers:
- url: /a/(.*)
  static_files: a/\\1
  upload: a/(?P<name>.*)\\.txt
- url: /b/(.*)
  static_files: b/\\1
  upload: (b)/(?P<name>.*)\\.txt
- url: /c/(.*)
  static_files: c/\\1
  upload: c/(?P<other>.*)\\.txt
- url: /.*
  script: main.app
"""
CLASHING_UPLOADS_MAIN = r"""
import json


def attempt(path):
    try:
        with open(path) as f:
            return "ok: " + f.read()
    except Exception as e:
        return type(e).__name__


def app(environ, start_response):
    out = [attempt(p) for p in ("a/x.txt", "b/y.txt", "c/z.txt", "c/z.dat")]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(out).encode()]
"""


def test_upload_regexes_are_each_their_own(serve, tmp_path):
    """App Engine matched each handler's upload regex alone, so two may
    name their groups alike at other numbers, or differently at the same:
    the app starts (it was refused, without a line, as one combined regex
    could not hold them), serves the files and keeps each handler's files
    from the app."""
    d = write_app(tmp_path / "uploads", CLASHING_UPLOADS_YAML, {
        "main.py": CLASHING_UPLOADS_MAIN, "a/x.txt": "x", "b/y.txt": "y", "c/z.txt": "z",
        "c/z.dat": "dat"})
    s = serve(d)
    assert s.get_json("/") == ["PermissionError", "PermissionError", "PermissionError", "ok: dat"]
    for path, body in (("/a/x.txt", b"x"), ("/b/y.txt", b"y"), ("/c/z.txt", b"z")):
        r = http_request(s.port, "GET", path)
        assert (r.status, r.body) == (200, body), (path, r)


SPELLINGS_MAIN = r"""
import json
import os

HERE = os.getcwd()


def app(environ, start_response):
    out = []
    for rel in ("static/page.txt", "secret/key.txt"):
        for path in ("/" + HERE + "/" + rel, "/." + HERE + "/" + rel,
                     os.path.dirname(HERE) + "/./" + os.path.basename(HERE) + "/" + rel):
            try:
                with open(path) as f:
                    out.append("read: " + f.read())
            except PermissionError as e:
                out.append("PermissionError: " + e.strerror)
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(out).encode()]
"""


def test_hidden_files_are_hidden_by_any_spelling_of_their_path(serve, tmp_path):
    """A static or skipped file is hidden however its absolute path is
    spelt: "//APP/...", "/./APP/..." and "PARENT/./NAME/..." name the same
    file as "APP/...", which the kernel opens alike, but the text of the
    path did not start with the app folder's, so it was let through
    unresolved and read."""
    d = write_app(tmp_path / "spellings", STATIC_FILES_YAML, {
        "main.py": SPELLINGS_MAIN,
        "static/page.txt": "page",
        "secret/key.txt": "key",
    })
    s = serve(d)
    static = ("a static file: app.yaml's static handlers serve it, and only "
              "application_readable: true lets the app read it too")
    skipped = "app.yaml's skip_files leaves this file out of the app"
    assert s.get_json("/") == ["PermissionError: " + static] * 3 + \
        ["PermissionError: " + skipped] * 3


DIR_FD_MAIN = r"""
import glob
import json
import os
import pathlib


def attempt(f):
    try:
        return "ok: %s" % (f(),)
    except Exception as e:
        return "%s: %s" % (type(e).__name__, e)


def read_at(folder, name, flags=os.O_RDONLY):
    fd = os.open(name, os.O_RDONLY, dir_fd=os.open(folder, flags))
    return os.read(fd, 100).decode()


def app(environ, start_response):
    out = [
        attempt(lambda: read_at("static", "page.txt", os.O_RDONLY | os.O_DIRECTORY)),
        attempt(lambda: read_at("secret", "key.txt")),
        attempt(lambda: read_at(".", "static/page.txt", os.O_PATH)),
        attempt(lambda: read_at("/proc/self/cwd", "secret/key.txt")),
        # what lists the app's folders still does, without the hidden files
        attempt(lambda: sorted(os.listdir("static"))),
        attempt(lambda: sorted(e.name for e in os.scandir("secret"))),
        attempt(lambda: sorted(d for d, _, _ in os.walk("."))),
        attempt(lambda: sorted(glob.glob("*/*.txt"))),
        attempt(lambda: sorted(str(p) for p in pathlib.Path("shared").iterdir())),
        attempt(lambda: sorted(str(p) for p in pathlib.Path(".").glob("**/*.txt"))),
        attempt(lambda: read_at("shared", "data.txt")),
    ]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(out).encode()]
"""


def test_hidden_files_are_not_read_through_a_folder_descriptor(serve, tmp_path):
    """os.open(name, dir_fd=...) raised an "open" event with the name alone,
    taken from the app's folder: a static or skipped file opened relative
    to a descriptor of its own folder was read. No folder opens as a
    descriptor (os.open, O_DIRECTORY, O_PATH), so dir_fd has nothing to
    start from; listing folders still works (hidden files are left out of
    listings). The idle zygote writes
    main.py's bytecode into ./__pycache__ at a time of its own: the test
    waits for it, so the listing is the same however fast that is."""
    d = write_app(tmp_path / "dirfd", STATIC_FILES_YAML, {
        "main.py": DIR_FD_MAIN,
        "static/page.txt": "page",
        "shared/data.txt": "shared data",
        "secret/key.txt": "key",
    })
    s = serve(d)
    _wait_for(os.path.join(d, "__pycache__", "main.cpython-311.pyc"))
    refused = ("PermissionError: sandbox rule SB1: the app cannot open a folder as a descriptor "
               "(a file it may not read would open relative to it; os.listdir, os.scandir and "
               "os.walk list folders): os.open %r")
    assert s.get_json("/") == [
        refused % "static",
        refused % "secret",
        refused % ".",
        refused % "/proc/self/cwd",
        "ok: []",
        "ok: []",
        "ok: ['.', './__pycache__', './secret', './shared', './static']",
        "ok: ['shared/data.txt']",
        "ok: ['shared/data.txt']",
        "ok: ['shared/data.txt']",
        refused % "shared",
    ]


# ---------------------------------------------------------- appengine_config

CONFIG_YAML = BYTECODE_YAML
APPENGINE_CONFIG = """import attempts
attempts.n += 1
if attempts.n == 1:
    raise RuntimeError("appengine_config fails the first time")
from google.appengine.ext import vendor
vendor.add("lib")
wrapped = []

def webapp_add_wsgi_middleware(app):
    wrapped.append(app)
    def middleware(environ, start_response):
        environ["middleware.calls"] = len(wrapped)
        return app(environ, start_response)
    return middleware
"""
CONFIG_MAIN = """import mylib
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("%s, wrapped %d times" % (mylib.NAME, environ["middleware.calls"])).encode()]
"""


def test_appengine_config_sets_up_imports_and_middleware(serve, tmp_path):
    """App Engine's python27 runtime imported the app's appengine_config
    before the handler (vendor.add('lib') there makes lib/ importable) and
    wrapped the application in its webapp_add_wsgi_middleware on every
    request. One that fails is a 500, logged, and tried again."""
    d = write_app(tmp_path / "config", CONFIG_YAML, {
        "appengine_config.py": APPENGINE_CONFIG,
        "attempts.py": "n = 0\n",
        "lib/mylib/__init__.py": 'NAME = "vendored"\n',
        "main.py": CONFIG_MAIN,
    })
    s = serve(d, "--max_instances", "1")
    r = http_request(s.port, "GET", "/")
    assert r.status == 500, r
    assert s.wait_stderr("appengine_config fails the first time")
    for n in (1, 2):
        r = http_request(s.port, "GET", "/")
        assert (r.status, r.body) == (200, b"vendored, wrapped %d times" % n), r


def test_appengine_config_is_read_once_not_on_every_request(serve, tmp_path):
    """The common appengine_config only calls vendor.add: its settings are
    read once, when it is imported (as lib_config did), not looked up
    again on every request (a failed module attribute lookup formats an
    AttributeError each time). Its __getattr__ counts the lookups."""
    d = write_app(tmp_path / "configonce", CONFIG_YAML, {
        "appengine_config.py": ("lookups = []\n"
                                "def __getattr__(name):\n"
                                "    lookups.append(name)\n"
                                "    raise AttributeError(name)\n"),
        "main.py": ("import appengine_config\n"
                    "def app(environ, start_response):\n"
                    "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
                    "    return [repr(appengine_config.lookups).encode()]\n"),
    })
    s = serve(d, "--max_instances", "1")
    bodies = [http_request(s.port, "GET", "/").body for _ in range(3)]
    assert bodies == [b"['webapp_add_wsgi_middleware']"] * 3, bodies


# What pip -t writes for a package of a pkg_resources-style namespace
# (google-cloud-core 1.x, zope.interface, backports.*): one line that puts
# lib/google on the google package's __path__, importing importlib.util.
NSPKG_PTH = (
    "import sys, types, os;has_mfs = sys.version_info > (3, 5);"
    "p = os.path.join(sys._getframe(1).f_locals['sitedir'], *('google',));"
    "importlib = has_mfs and __import__('importlib.util');"
    "has_mfs and __import__('importlib.machinery');"
    "m = has_mfs and sys.modules.setdefault('google', importlib.util.module_from_spec("
    "importlib.machinery.PathFinder.find_spec('google', [os.path.dirname(p)])));"
    "m = m or sys.modules.setdefault('google', types.ModuleType('google'));"
    "mp = (m or []) and m.__dict__.setdefault('__path__',[]);(p not in mp) and mp.append(p)\n")


def test_vendor_add_runs_pth_files_with_the_whole_sys_path(serve, tmp_path):
    """vendor.add runs the site folder's .pth files, whose import lines may
    import any module (a namespace package's nspkg.pth imports
    importlib.util): the standard library must still be on sys.path while
    they run. It was taken off meanwhile, so such a line failed with
    ModuleNotFoundError and a vendored google-cloud package did not import.
    What the folder adds still goes at the index asked for."""
    d = write_app(tmp_path / "nspkg", CONFIG_YAML, {
        "appengine_config.py": "from google.appengine.ext import vendor\nvendor.add('lib')\n",
        "lib/google_cloud_thing-1.0-nspkg.pth": NSPKG_PTH,
        "lib/google/cloud_thing.py": 'NAME = "vendored google.cloud_thing"\n',
        "main.py": ("import os, sys\n"
                    "from google import cloud_thing\n"
                    "def app(environ, start_response):\n"
                    "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
                    "    at = sys.path.index(os.path.join(os.getcwd(), 'lib'))\n"
                    "    return [('%s at %d' % (cloud_thing.NAME, at)).encode()]\n"),
    })
    s = serve(d, "--max_instances", "1")
    r = http_request(s.port, "GET", "/")
    assert (r.status, r.body) == (200, b"vendored google.cloud_thing at 1"), (
        r, s.stderr_text()[-3000:])


def test_vendor_add_refuses_a_missing_folder(serve, tmp_path):
    d = write_app(tmp_path / "novendor", CONFIG_YAML, {
        "appengine_config.py": "from google.appengine.ext import vendor\nvendor.add('nolib')\n",
        "main.py": CONFIG_MAIN,
    })
    s = serve(d)
    assert http_request(s.port, "GET", "/").status == 500
    assert s.wait_stderr("virtualenv: cannot access nolib")
