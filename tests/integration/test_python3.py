"""python3 apps (RT1: runtime python3 / python3NN) as App Engine's second
generation ran them: what their app.yaml holds and how their code reaches
the bundled services (the appengine-python-standard package's API)."""
import json
import os
import re
import threading
import time
import urllib.parse

import pytest

from harness import app_path, run_gaelic, write_app

WRAPPED_MAIN = """\
import json
import os

import google.appengine.api
from google.appengine.api import users, wrap_wsgi_app


def _app(environ, start_response):
    user = users.get_current_user()
    start_response('200 OK', [('Content-Type', 'application/json')])
    return [json.dumps({'path': os.environ['PATH_INFO'],
                        'user': user.email() if user else None}).encode()]


# As the package's README writes it for a plain WSGI app, and for Flask
# (app.wsgi_app = wrap_wsgi_app(app.wsgi_app)), with its keyword arguments.
app = google.appengine.api.wrap_wsgi_app(_app)
other = wrap_wsgi_app(_app, use_legacy_context_mode=False, use_deferred=True)
"""


def test_wrap_wsgi_app_serves_the_app_with_its_apis(serve, tmp_path):
    """`from google.appengine.api import wrap_wsgi_app` is how a python3 app
    with `app_engine_apis: true` reaches the bundled APIs; the wrapped app
    sees its request in os.environ and its signed-in user."""
    d = write_app(tmp_path / "wrapped", "runtime: python311\napp_engine_apis: true\n"
                  "handlers:\n- url: /other\n  script: main.other\n", {"main.py": WRAPPED_MAIN})
    s = serve(d)
    assert s.get_json("/some/path") == {"path": "/some/path", "user": None}
    login = s.get("/_ah/login?" + urllib.parse.urlencode(
        {"email": "ann@example.com", "action": "Login", "continue": "/"}), allow_redirects=False)
    assert login.status_code == 302, login
    assert s.get_json("/other", cookies=login.cookies) == {"path": "/other",
                                                           "user": "ann@example.com"}


ENV_MAIN = """\
import json
import os


def app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'application/json')])
    return [json.dumps(dict(os.environ)).encode()]
"""


def test_requests_carry_the_python3_runtime_variables(serve, tmp_path):
    """App Engine's python3 runtimes set GAE_* and GOOGLE_CLOUD_PROJECT for
    the app (its client libraries find their project by it); dev_appserver
    set GAE_ENV to "localdev", by which apps tell it from production
    ("standard"). env_variables do not override them."""
    d = write_app(tmp_path / "py3env", "runtime: python312\nversion: v3\n"
                  "env_variables:\n  GAE_ENV: standard\n  OWN: mine\n", {"main.py": ENV_MAIN})
    s = serve(d, "--application", "s~proj-1")
    env = s.get_json("/")
    assert {k: env.get(k) for k in ("GAE_ENV", "GAE_APPLICATION", "GOOGLE_CLOUD_PROJECT",
                                    "GAE_RUNTIME", "GAE_SERVICE", "GAE_VERSION", "OWN")} == {
        "GAE_ENV": "localdev", "GAE_APPLICATION": "s~proj-1", "GOOGLE_CLOUD_PROJECT": "proj-1",
        "GAE_RUNTIME": "python312", "GAE_SERVICE": "default", "GAE_VERSION": "v3", "OWN": "mine"}
    assert env["GAE_INSTANCE"] == env["INSTANCE_ID"] and env["GAE_INSTANCE"]
    assert env["PORT"] == str(s.port)


def test_the_service_app_yaml_names_is_the_requests(serve, tmp_path):
    """service: (module: in python27 apps) is the service its requests say
    they are of: GAE_SERVICE and CURRENT_MODULE_ID, as App Engine set them."""
    d = write_app(tmp_path / "svc", "runtime: python312\nservice: api\n", {"main.py": ENV_MAIN})
    env = serve(d).get_json("/")
    assert env["GAE_SERVICE"] == "api" and env["CURRENT_MODULE_ID"] == "api"
    d = write_app(tmp_path / "mod", "runtime: python27\nthreadsafe: true\nmodule: worker\n"
                  "handlers:\n- url: /.*\n  script: main.app\n", {"main.py": ENV_MAIN})
    env = serve(d).get_json("/")
    assert env["CURRENT_MODULE_ID"] == "worker" and "GAE_SERVICE" not in env


def test_a_python3_request_log_names_its_handler_auto(serve, tmp_path):
    """App Engine logged the handler of a python3 app's request as app.yaml
    gives it, `script: auto` (also for an app.yaml without handlers), as
    RequestLog.url_map_entry "auto": not the module:app that gaelic reads
    out of the entrypoint. A static file is still its path."""
    d = write_app(tmp_path / "auto", "runtime: python312\n"
                  "entrypoint: gunicorn -b :$PORT main:make_app()\n"
                  "handlers:\n- url: /static\n  static_dir: static\n"
                  "- url: /named/.*\n  script: auto\n",
                  {"main.py": ENV_MAIN + "\n\ndef make_app():\n    return app\n",
                   "static/a.css": "body{}"})
    s = serve(d)
    for path in ("/named/x", "/unnamed", "/static/a.css"):
        assert s.get(path).status_code == 200
    out = s.wait_logs('"/static/a.css"', "--json")
    rows = {x["resource"]: x for x in map(json.loads, out.splitlines())}
    assert rows["/named/x"]["url_map_entry"] == "auto"
    assert rows["/unnamed"]["url_map_entry"] == "auto"
    assert rows["/static/a.css"]["url_map_entry"] == "static/a.css"


def test_python27_requests_have_no_python3_variables(serve, tmp_path):
    d = write_app(tmp_path / "py27env", "runtime: python27\nthreadsafe: true\n"
                  "handlers:\n- url: /.*\n  script: main.app\n", {"main.py": ENV_MAIN})
    env = serve(d).get_json("/")
    assert not [k for k in env if k.startswith("GAE_") or k in ("GOOGLE_CLOUD_PROJECT", "PORT")], env


PLAIN_MAIN = """\
def app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'main']
"""


def test_start_says_what_the_entrypoint_becomes(serve, tmp_path):
    """gaelic does not run an entrypoint's command: it serves the WSGI app
    the command names, and the start says so, also when the command names
    none (main.app then, App Engine's default) or runs an ASGI server."""
    cases = [
        ("", r"INFO requests no handler takes go to main\.app, as App Engine's default "
             r"entrypoint \(gunicorn main:app\)"),
        ("entrypoint: gunicorn -b :$PORT -w 2 main:app\n",
         r"app\.yaml:2: entrypoint: requests no handler takes go to main\.app, the app it "
         r"names; gaelic serves it in its own instances and does not run the command"),
        ("entrypoint: python main.py\n",
         r"WARNING .*app\.yaml:2: entrypoint names no module:app .*go to main\.app"),
        # A script run as a program: the start says it is imported instead.
        ("entrypoint: python3 -u app.py\n",
         r"WARNING .*app\.yaml:2: entrypoint names no module:app .*go to main\.app\. gaelic "
         r"does not run app\.py: it imports the module of main\.app, where `__name__ == "
         r"'__main__'` is false, and a server started as it is imported \(app\.run\(\) outside "
         r"that `if`\) cannot listen here"),
        ("entrypoint: uvicorn main:app --port $PORT\n",
         r"WARNING .*app\.yaml:2: entrypoint runs an ASGI server; gaelic calls main\.app as a "
         r"WSGI app"),
    ]
    for i, (entrypoint, line) in enumerate(cases):
        s = serve(write_app(tmp_path / ("ep%d" % i), "runtime: python312\n" + entrypoint,
                            {"main.py": PLAIN_MAIN}))
        assert s.get("/x").content == b"main"
        assert re.search(line, s.stderr_text()), s.stderr_text()
        s.stop()


READ_MAIN = """\
def app(environ, start_response):
    try:
        with open(environ['PATH_INFO'][1:]) as f:
            body = f.read()
    except OSError as e:
        body = type(e).__name__
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [body.encode()]
"""


def test_dotfiles_are_the_app_s_files(serve, tmp_path):
    """A python3 app had no skip_files: gcloud uploaded what .gcloudignore
    let through, by default all but .git, .gitignore, .gcloudignore,
    __pycache__ and the top setup.cfg. So .env reads and a .well-known
    static_dir serves, where python27's default skip_files left out every
    dotfile (as it still does for python27 apps)."""
    files = {"main.py": READ_MAIN, ".env": "KEY=1\n", ".well-known/security.txt": "sec\n",
             ".git/config": "[core]\n", "setup.cfg": "[x]\n", "sub/setup.cfg": "[y]\n"}
    handlers = "handlers:\n- url: /.well-known\n  static_dir: .well-known\n- url: /.*\n  script: main.app\n"
    s = serve(write_app(tmp_path / "py3", "runtime: python312\n" + handlers, files))
    assert s.get("/.env").text == "KEY=1\n"
    assert s.get("/.well-known/security.txt").text == "sec\n"
    assert s.get("/sub/setup.cfg").text == "[y]\n"
    assert s.get("/.git/config").text == "PermissionError"
    assert s.get("/setup.cfg").text == "PermissionError"
    s27 = serve(write_app(tmp_path / "py27", "runtime: python27\nthreadsafe: true\n" + handlers,
                          files))
    assert s27.get("/.env").text == "PermissionError"
    assert s27.get("/.well-known/security.txt").status_code == 404


def test_gcloudignore_leaves_files_out(serve, tmp_path):
    """The app's .gcloudignore says what gcloud left out of a python3 app
    (.gitignore syntax, "!" taking a file back, "#!include:"): a local
    virtualenv listed there is not the app's, nor counted against its
    1,000 files."""
    files = {"main.py": READ_MAIN, "a.secret": "a", "public.secret": "p", ".env": "E",
             "extra-ignore": "*.log\n", "x.log": "l",
             ".gcloudignore": "# ours\n/venv\n*.secret\n!public.secret\n#!include:extra-ignore\n"}
    files.update({"venv/lib/m%d.py" % i: "" for i in range(1001)})
    s = serve(write_app(tmp_path / "ignored", "runtime: python312\n", files))
    assert [s.get(p).text for p in ("/venv/lib/m1.py", "/a.secret", "/x.log")] == \
        ["PermissionError"] * 3
    assert [s.get(p).text for p in ("/public.secret", "/.env")] == ["p", "E"]


def test_default_gcloudignore_takes_the_gitignore(serve, tmp_path):
    """Without a .gcloudignore, gcloud's default for Python apps included
    the app's .gitignore: what git ignores was not uploaded either."""
    files = {"main.py": READ_MAIN, ".gitignore": ".env\n", ".env": "E", "kept.txt": "k"}
    s = serve(write_app(tmp_path / "gitignored", "runtime: python312\n", files))
    assert [s.get(p).text for p in ("/.env", "/kept.txt", "/.gitignore")] == \
        ["PermissionError", "k", "PermissionError"]


def test_bad_gcloudignore_include_is_refused(tmp_path):
    d = write_app(tmp_path / "badinclude", "runtime: python312\n",
                  {"main.py": READ_MAIN, ".gcloudignore": "x\n#!include:missing.txt\n"})
    r = run_gaelic("serve", d, "--port", "0")
    assert r.returncode != 0
    assert re.search(r"badinclude/\.gcloudignore:2: #!include:missing\.txt: No such file",
                     r.stderr), r.stderr


def test_start_names_the_keys_it_cannot_honour(serve, tmp_path):
    """Scaling, VPC, service account and build keys are App Engine's and
    accepted, but mean nothing on one machine: the start says so."""
    s = serve(write_app(tmp_path / "keys", "runtime: python312\ninstance_class: F2\n"
                        "automatic_scaling:\n  max_instances: 10\n  target_cpu_utilization: 0.6\n"
                        "vpc_access_connector:\n  name: projects/p/locations/l/connectors/c\n"
                        "service_account: sa@p.iam.gserviceaccount.com\n",
                        {"main.py": PLAIN_MAIN}))
    assert s.get("/").content == b"main"
    assert re.search(r"INFO .*keys/app\.yaml: automatic_scaling \(but max_instances\), "
                     r"vpc_access_connector, service_account: accepted as App Engine took them, "
                     r"not used here",
                     s.stderr_text()), s.stderr_text()


CONCURRENT_MAIN = """\
import threading

running = 0
lock = threading.Lock()
released = threading.Event()


def app(environ, start_response):
    global running
    start_response('200 OK', [('Content-Type', 'text/plain')])
    if environ['PATH_INFO'] == '/release':
        # How many /wait requests this instance runs meanwhile.
        with lock:
            seen = running
        if seen:
            released.set()
        return [str(seen).encode()]
    with lock:
        running += 1
    released.wait(float(environ['QUERY_STRING']))
    with lock:
        running -= 1
    return [b'done']
"""


def seen_running(s, wait):
    """GET /wait?WAIT in a thread, and /release until it sees the /wait
    running on its instance (bounded): what /release saw last."""
    waiter = threading.Thread(target=lambda: s.get("/wait?%s" % wait))
    waiter.start()
    seen = "0"
    for _ in range(50):
        seen = s.get("/release").text
        if seen != "0" or not waiter.is_alive():
            break
        time.sleep(0.1)
    waiter.join(60)
    return seen


def test_python3_apps_are_threadsafe(serve, tmp_path):
    """python3 runtimes presumed every app threadsafe (threadsafe: was no
    longer read): one instance serves a request while another runs,
    unless automatic_scaling max_concurrent_requests is 1."""
    d = write_app(tmp_path / "conc", "runtime: python312\n", {"main.py": CONCURRENT_MAIN})
    s = serve(d, "--max_instances", "1")
    assert "(threadsafe, python312)" in s.stderr_text()
    assert seen_running(s, 30) == "1"
    d1 = write_app(tmp_path / "one", "runtime: python312\nautomatic_scaling:\n"
                   "  max_concurrent_requests: 1\n", {"main.py": CONCURRENT_MAIN})
    s1 = serve(d1, "--max_instances", "1")
    assert "(one request at a time, python312)" in s1.stderr_text()
    assert seen_running(s1, 1) == "0"


def test_requirements_txt_provides_known_libraries(serve, tmp_path):
    """python3 apps listed their dependencies in requirements.txt (App
    Engine's build pip-installed them; libraries: was gone): those gaelic
    knows come from Debian's packages, and the start names the rest."""
    if not os.path.isdir("/usr/lib/python3/dist-packages/flask"):
        pytest.skip("python3-flask is not installed (scripts/deps.sh test)")
    main = open(os.path.join(app_path("libraries"), "main.py")).read()
    files = {"main.py": main,
             "requirements.txt": "Flask==2.2.5\ngunicorn\nsome-private-package>=1\n"}
    s = serve(write_app(tmp_path / "req", "runtime: python312\n", files))
    assert s.get("/import", params={"name": "flask"}).text.startswith("ok ")
    assert s.get("/import", params={"name": "werkzeug"}).text.startswith("ok ")
    assert re.search(r"WARNING .*req/requirements\.txt: gaelic installs nothing; .*"
                     r"some-private-package only from the app's own files", s.stderr_text())
    # python27 apps had libraries: instead, and no requirements.txt build.
    s27 = serve(write_app(tmp_path / "req27", "runtime: python27\nthreadsafe: true\n"
                          "handlers:\n- url: /.*\n  script: main.app\n", files))
    assert s27.get("/import", params={"name": "flask"}).text.startswith("ImportError")


FACTORY_MAIN = """\
calls = []


def create_app():
    calls.append(1)

    def app(environ, start_response):
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [('app of call %d' % len(calls)).encode()]
    return app
"""


def test_entrypoint_application_factory(serve, tmp_path):
    """gunicorn's "module:factory()" (quoted for the shell) serves what the
    factory returns, called once per instance."""
    d = write_app(tmp_path / "factory", "runtime: python312\n"
                  "entrypoint: gunicorn -b :$PORT -w 2 'main:create_app()'\n",
                  {"main.py": FACTORY_MAIN})
    s = serve(d)
    assert [s.get(p).text for p in ("/", "/again")] == ["app of call 1"] * 2
    assert "go to main.create_app(), the app it names" in s.stderr_text()


DJANGO_STYLE_WSGI = """\
def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'mysite.wsgi.application']
"""


@pytest.mark.parametrize("entrypoint", [
    "gunicorn -b :$PORT mysite.wsgi",
    "gunicorn --bind :$PORT --workers 1 --threads 8 --timeout 0 mysite.wsgi",
    "gunicorn --preload -b :$PORT 'mysite.wsgi' --log-level debug",
    "python3 -m gunicorn --bind=:$PORT -w4 mysite.wsgi",
])
def test_entrypoint_module_without_name_serves_its_application(serve, tmp_path, entrypoint):
    """gunicorn's APP_MODULE without ":name" (`gunicorn -b :$PORT
    mysite.wsgi`, as Django apps wrote it) serves the module's
    `application`, as gunicorn does: not main.app, which such an app
    does not have. Options' values (`--log-level debug`) are no module."""
    d = write_app(tmp_path / "django_style", "runtime: python311\nentrypoint: %s\n" % entrypoint,
                  {"mysite/__init__.py": "", "mysite/wsgi.py": DJANGO_STYLE_WSGI})
    s = serve(d)
    assert s.get("/polls/").text == "mysite.wsgi.application"
    assert "go to mysite.wsgi.application, the app it names" in s.stderr_text()


CHDIR_MAIN = """\
import os
import sys

import common  # shared/common.py, on sys.path by --pythonpath
import helper  # src/helper.py, beside this file


def app(environ, start_response):
    app_root = os.getcwd()
    first = [os.path.relpath(p, app_root) for p in sys.path[:3]]
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [repr((helper.NAME, common.NAME, first)).encode()]
"""


@pytest.mark.parametrize("options", [
    "--chdir src --pythonpath ../shared",
    "--chdir=./src/ --pythonpath=../shared,.",
    # App Engine ran the app from /workspace: the app folder here.
    "--chdir /workspace/src --pythonpath /workspace/shared,/workspace",
])
def test_gunicorn_chdir_and_pythonpath_folders_import_first(serve, tmp_path, options):
    """`gunicorn --chdir src main:app`, as apps with their code in a
    subfolder started it: gunicorn imported main from src/ (and what
    --pythonpath lists, relative to that folder), so they come before the
    app folder on sys.path here too; the working folder stays the app
    folder, and the start says so."""
    d = write_app(tmp_path / "chdir", "runtime: python311\n"
                  "entrypoint: gunicorn -b :$PORT %s -w 2 main:app\n" % options,
                  {"src/main.py": CHDIR_MAIN, "src/helper.py": "NAME = 'helper'\n",
                   "shared/common.py": "NAME = 'common'\n"})
    s = serve(d)
    assert s.get("/").text == repr(("helper", "common", ["shared", "src", "."]))
    assert re.search(r"app\.yaml:2: entrypoint: --chdir \S*src/?: the app imports from \S*src/? "
                     r"first, as under gunicorn, but its working folder stays the app folder",
                     s.stderr_text()), s.stderr_text()


@pytest.mark.parametrize("options, reason", [
    ("--chdir app", "--chdir app: no such folder in the app"),
    ("--chdir /srv/src", "--chdir /srv/src: give the folder relative to the app folder"),
    ("--chdir /workspace/app", "--chdir /workspace/app: no such folder in the app"),
    ("--chdir src --pythonpath ../..", "--pythonpath ../..: outside the app folder"),
])
def test_gunicorn_chdir_outside_the_app_is_refused(tmp_path, options, reason):
    d = write_app(tmp_path / "chdir", "runtime: python311\n"
                  "entrypoint: gunicorn -b :$PORT %s main:app\n" % options,
                  {"src/main.py": CHDIR_MAIN})
    r = run_gaelic("serve", d, "--port", "0")
    assert r.returncode == 2
    assert "app.yaml:2: entrypoint: " + reason in r.stderr, r.stderr


SIGTERM_MAIN = """\
import logging
import signal
import sys


def shutdown_handler(signal_int, frame):
    logging.info('Caught signal %s', signal.strsignal(signal_int))
    sys.exit(0)


def noop(signal_int, frame):
    pass


# As Google's python3 samples install it: gunicorn imported the app in its
# worker's main thread, and App Engine sent SIGTERM as the instance stopped.
if __name__ == '__main__':
    signal.signal(signal.SIGINT, shutdown_handler)
else:
    signal.signal(signal.SIGTERM, shutdown_handler)


def app(environ, start_response):
    before = signal.signal(signal.SIGINT, noop)
    answer = [before is signal.SIG_IGN,  # an instance ignores SIGINT
              signal.signal(signal.SIGINT, before) is noop,
              signal.getsignal(signal.SIGTERM) is shutdown_handler]
    for bad in ((signal.SIGKILL, noop), (0, noop), (signal.SIGINT, 'x')):
        try:
            signal.signal(*bad)
        except (OSError, ValueError, TypeError) as e:
            answer.append(type(e).__name__)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [repr(answer).encode()]
"""


SIGALRM_MAIN = """\
import signal
import time


def on_alarm(signum, frame):
    raise RuntimeError('timed out')


def app(environ, start_response):
    # As a timeout library does: a handler, then a timer that raises it.
    try:
        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        time.sleep(0.5)
        said = 'slept'
    except (ValueError, RuntimeError) as e:
        said = '%s: %s' % (type(e).__name__, e)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [said.encode()]
"""


def test_a_sigalrm_handler_outside_the_main_thread_is_refused(serve, tmp_path):
    """Only SIGTERM and SIGINT handlers are kept outside the main thread:
    one kept for SIGALRM was never called, so the timer the app set next
    never raised its timeout (the request slept on, told nothing). Refused
    as CPython refuses it, the app sees ValueError, and does again."""
    d = write_app(tmp_path / "sigalrm", "runtime: python312\n", {"main.py": SIGALRM_MAIN})
    s = serve(d)
    for _ in range(2):
        r = s.get("/")
        assert r.status_code == 200, s.stderr_text()
        assert r.text.startswith("ValueError: signal only works in main thread"), r.text


def test_a_python27_app_setting_a_signal_handler_gets_cpython_s_refusal(serve, tmp_path):
    """Handlers are kept outside the main thread for python3 apps only: a
    python27 app's signal.signal there raised ValueError on App Engine, as
    CPython raises it, and still does."""
    d = write_app(tmp_path / "sig27", "runtime: python27\nthreadsafe: true\n"
                  "handlers:\n- url: /.*\n  script: main.app\n", {"main.py": SIG27_MAIN})
    r = serve(d).get("/")
    assert r.status_code == 200 and r.text == "ValueError", r.text


SIG27_MAIN = """\
import signal


def app(environ, start_response):
    try:
        signal.signal(signal.SIGTERM, lambda n, f: None)
        answer = "kept"
    except ValueError:
        answer = "ValueError"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [answer.encode()]
"""


def test_sigterm_handler_set_at_import_runs_as_the_instance_stops(serve, tmp_path):
    """A python3 app that sets a SIGTERM handler as it is imported (outside
    the main thread here, where CPython refuses signal.signal) imports, and
    the handler runs when its instance stops, as App Engine's SIGTERM ran
    it; its sys.exit(0) fails nothing. signal.signal keeps and returns
    handlers as it would, and refuses what it would refuse. The SIGINT
    handler it had is SIG_IGN: an instance ignores SIGINT, whatever the
    server was started with."""
    d = write_app(tmp_path / "sigterm", "runtime: python312\n", {"main.py": SIGTERM_MAIN})
    s = serve(d)
    r = s.get("/")
    assert r.status_code == 200, s.stderr_text()
    assert r.text == "[True, True, True, 'ValueError', 'ValueError', 'TypeError']"
    assert s.stop() == 0
    out = s.logs().stdout
    assert re.search(r'"GET /_ah/stop HTTP/1.1" 200 .*\n\t1:[0-9.]+ Caught signal Terminated\n',
                     out), out
    assert "shutdown hook failed" not in s.stderr_text()
