"""app.yaml validation (RT1) and the app file limits (RT10): a bad app is
refused at start with exit code 2, `app.yaml:LINE: reason` on stderr, and
nothing is served."""
import os
import re
import subprocess
import tempfile

import pytest

from harness import GAELIC_BIN, run_gaelic, write_app

MAIN_PY = ("def app(environ, start_response):\n"
           "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
           "    return [b'ok']\n")

GOOD = """\
application: cfgtest
version: 1
runtime: python27
api_version: 1
threadsafe: true

handlers:
- url: /.*
  script: main.app
"""


def lines_with(replacements):
    """GOOD with some 1-based lines replaced (value None deletes the line,
    a list inserts several)."""
    lines = GOOD.splitlines()
    out = []
    for i, line in enumerate(lines, 1):
        if i in replacements:
            r = replacements[i]
            if r is None:
                continue
            out.extend(r if isinstance(r, list) else [r])
        else:
            out.append(line)
    return "\n".join(out) + "\n"


# name: (app.yaml text, acceptable error lines, reason regex)
CASES = {
    "unknown_key": (lines_with({5: ["threadsafe: true", "bogus_key: 1"]}), {6}, r"bogus_key"),
    "bad_threadsafe": (lines_with({5: "threadsafe: maybe"}), {5}, r"threadsafe|maybe"),
    "bad_runtime": (lines_with({3: "runtime: java8"}), {3}, r"runtime|java8"),
    "missing_url": (lines_with({8: "- script: main.app", 9: None}), {8}, r"\burl\b"),
    "script_and_static_dir": (lines_with({9: ["  script: main.app", "  static_dir: static"]}),
                              {8, 9, 10}, r"static_dir|script"),
    "yaml_syntax": (lines_with({5: "threadsafe: true: yes"}), {5}, r"\S"),
    "bad_regex": (lines_with({8: "- url: /foo(bar"}), {8}, r"regex|regular expression|pattern|url|parenthes"),
    "empty_handlers": (lines_with({7: "handlers: []", 8: None, 9: None}), {7}, r"handler"),
    "handlers_not_a_list": (lines_with({7: "handlers: main.app", 8: None, 9: None}), {7}, r"handler"),
    "bad_login": (lines_with({9: ["  script: main.app", "  login: sometimes"]}), {10},
                  r"login|sometimes"),
    "bad_secure": (lines_with({9: ["  script: main.app", "  secure: maybe"]}), {10},
                   r"secure|maybe"),
    "env_variables_not_a_mapping": (lines_with({6: "env_variables: [a, b]"}), {6},
                                    r"env_variables|mapping"),
    "bad_default_expiration": (lines_with({6: "default_expiration: soon"}), {6},
                               r"expiration|soon"),
    "mime_type_with_crlf": (lines_with({9: ["  static_dir: static",
                                            '  mime_type: "text/plain\\r\\nSet-Cookie: a=b"']}),
                            {10}, r"mime_type.*control character"),
    "manual_scaling_bad_instances": (lines_with({5: ["threadsafe: true", "manual_scaling:",
                                                     "  instances: lots"]}), {7},
                                     r"instances.*lots"),
    "two_kinds_of_scaling": (lines_with({5: ["threadsafe: true", "basic_scaling:",
                                             "  max_instances: 2", "manual_scaling:",
                                             "  instances: 1"]}), {8}, r"one kind of scaling"),
    "static_files_without_upload": (lines_with({9: "  static_files: static/\\1"}), {8, 9},
                                    r"upload"),
    # As App Engine's appinfo and YAML loader refused them.
    "url_with_caret": (lines_with({8: "- url: ^/.*"}), {8}, r"url.*'\^'"),
    "expiration_terms_unspaced": (lines_with({6: "default_expiration: 1h30m"}), {6},
                                  r"expiration.*separated by spaces"),
    "yaml_alias": (lines_with({1: "application: &a cfgtest"}), {1}, r"anchors"),
    # App Engine's AdminConsole took only `pages`.
    "admin_console_unknown_key": (lines_with({5: ["threadsafe: true", "admin_console:",
                                                  "  page:", "  - name: Stats",
                                                  "    url: /stats"]}), {7}, r"unknown key 'page'"),
    # PyYAML had no constructor for an application's own tag.
    "yaml_custom_tag": (lines_with({1: "application: !app cfgtest"}), {1}, r"tag '!app'"),
    # PyYAML's Python scanner (App Engine's) took no tab between tokens.
    "yaml_tab_after_key": (lines_with({5: "threadsafe:\ttrue"}), {5}, r"tab character"),
}

ERR_RE = re.compile(r"app\.yaml:(\d+):(?:\d+:)?\s*(.*)")


def refused(tmp_path, app_yaml, files=None, extra=()):
    d = write_app(tmp_path / "app", app_yaml, dict({"main.py": MAIN_PY}, **(files or {})))
    r = run_gaelic("serve", d, "--port", "0", "--storage_path", tmp_path / "storage", *extra)
    assert r.returncode == 2, "exit code %s, expected 2\nstdout:\n%s\nstderr:\n%s" % (
        r.returncode, r.stdout, r.stderr)
    assert "serving" not in r.stdout, "a refused app must not be served:\n" + r.stdout
    return r


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_app_yaml_is_refused_with_line(tmp_path, name):
    text, lines, reason = CASES[name]
    r = refused(tmp_path, text)
    found = ERR_RE.findall(r.stderr)
    assert found, "no 'app.yaml:LINE:' in stderr:\n%s\napp.yaml:\n%s" % (r.stderr, text)
    line, msg = int(found[0][0]), found[0][1]
    assert line in lines, "reported line %d, expected one of %s\nstderr:\n%s\napp.yaml:\n%s" % (
        line, sorted(lines), r.stderr, text)
    assert re.search(reason, msg, re.I), "reason %r does not match /%s/" % (msg, reason)


def test_missing_handlers_key_is_refused(tmp_path):
    r = refused(tmp_path, lines_with({7: None, 8: None, 9: None}))
    assert "app.yaml" in r.stderr
    assert re.search(r"handler", r.stderr, re.I), r.stderr


def test_missing_app_yaml_is_refused(tmp_path):
    d = tmp_path / "noyaml"
    d.mkdir()
    (d / "main.py").write_text(MAIN_PY)
    r = run_gaelic("serve", d, "--port", "0", "--storage_path", tmp_path / "storage")
    assert r.returncode == 2, r
    assert "app.yaml" in r.stderr, r.stderr
    assert "serving" not in r.stdout


def test_missing_folder_is_named_as_missing(tmp_path):
    r = run_gaelic("serve", tmp_path / "nowhere", "--port", "0")
    assert r.returncode == 2, r
    assert "nowhere: No such file or directory" in r.stderr, r.stderr


def test_unreadable_folder_says_permission_denied(tmp_path):
    """A folder the server may not search is refused for that reason, not
    as a folder without app.yaml. (As root, the server runs as nobody, in
    a folder nobody can reach: pytest's own are private.)"""
    with tempfile.TemporaryDirectory() as top:
        os.chmod(top, 0o755)
        d = write_app(os.path.join(top, "app"), GOOD, {"main.py": MAIN_PY})
        os.chmod(d, 0)
        user = {"user": 65534, "group": 65534, "extra_groups": []} if os.geteuid() == 0 else {}
        try:
            r = subprocess.run([GAELIC_BIN, "serve", d, "--port", "0"], capture_output=True,
                               text=True, stdin=subprocess.DEVNULL, timeout=15, **user)
        finally:
            os.chmod(d, 0o755)
    assert r.returncode == 2, r
    assert "app.yaml: Permission denied" in r.stderr, r.stderr
    assert "no app.yaml" not in r.stderr


@pytest.mark.parametrize("kind", ["fifo", "folder", "symlink_loop"])
def test_app_yaml_that_is_not_a_file_is_refused(tmp_path, kind):
    """A FIFO named app.yaml is refused at once (opening it used to wait for
    a writer forever); a folder or a symlink loop names its own problem."""
    d = tmp_path / "app"
    d.mkdir()
    (d / "main.py").write_text(MAIN_PY)
    if kind == "fifo":
        os.mkfifo(d / "app.yaml")
    elif kind == "folder":
        (d / "app.yaml").mkdir()
    else:
        os.symlink("app.yaml", d / "app.yaml")
    r = run_gaelic("serve", d, "--port", "0", "--storage_path", tmp_path / "storage", timeout=10)
    assert r.returncode == 2, r
    want = "symbolic links" if kind == "symlink_loop" else "not a regular file"
    assert re.search(r"app\.yaml: .*" + want, r.stderr), r.stderr
    assert "serving" not in r.stdout


def test_good_app_yaml_is_served(serve, tmp_path):
    """The control for the cases above: the same file unbroken starts."""
    d = write_app(tmp_path / "good", GOOD, {"main.py": MAIN_PY})
    s = serve(d)
    assert s.get("/anything").content == b"ok"


FULL = """\
application: full-app
version: alpha-1
runtime: python3
api_version: 1
threadsafe: false
default_expiration: "1d 6h"

env_variables:
  ONE: "1"

libraries:
- name: ssl
  version: latest

skip_files:
- ^(.*/)?#.*#$
- ^(.*/)?.*~$
- ^(.*/)?\\..*$

error_handlers:
- file: errors/default.html
- error_code: over_quota
  file: errors/quota.html
  mime_type: text/html

handlers:
- url: /static
  static_dir: static
  expiration: "10m"
- url: /img/(.*\\.png)
  static_files: images/\\1
  upload: images/.*\\.png
  mime_type: image/png
- url: /admin/.*
  script: main.app
  login: admin
  secure: always
- url: /user/.*
  script: main.app
  login: required
  auth_fail_action: unauthorized
- url: /cgi
  script: cgi/old.py
- url: /.*
  script: main.app
  login: optional
  secure: optional
"""


def test_every_rt1_key_accepted(serve, tmp_path):
    """A file using every key RT1 names loads; its WSGI handler serves."""
    d = write_app(tmp_path / "full", FULL, {
        "main.py": MAIN_PY, "cgi/old.py": "print('Status: 200')\n",
        "static/a.txt": "a", "images/b.png": "b",
        "errors/default.html": "e", "errors/quota.html": "q"})
    s = serve(d)
    assert s.app_id == "full-app"
    r = s.get("/hello")
    assert (r.status_code, r.content) == (200, b"ok")


def test_app_yml_spelling_is_accepted(serve, tmp_path):
    d = write_app(tmp_path / "yml", GOOD, {"main.py": MAIN_PY})
    os.rename(os.path.join(d, "app.yaml"), os.path.join(d, "app.yml"))
    s = serve(d)
    assert s.get("/").content == b"ok"


# ---------------------------------------------------------------- RT10 files

def _many_files(n_extra):
    """main.py + app.yaml + n_extra small files."""
    return {"data/f%04d.txt" % i: "x\n" for i in range(n_extra)}


def test_1001_files_refused(tmp_path):
    r = refused(tmp_path, GOOD, _many_files(999))  # 999 + app.yaml + main.py
    assert re.search(r"1,?000", r.stderr), "message should name the limit:\n" + r.stderr
    assert re.search(r"file", r.stderr, re.I), r.stderr


def test_1000_files_accepted(serve, tmp_path):
    d = write_app(tmp_path / "app", GOOD, dict({"main.py": MAIN_PY}, **_many_files(998)))
    s = serve(d)
    assert s.get("/").content == b"ok"


def test_skip_files_do_not_count(serve, tmp_path):
    text = GOOD + "\nskip_files:\n- ^data/.*$\n"
    d = write_app(tmp_path / "app", text, dict({"main.py": MAIN_PY}, **_many_files(1100)))
    s = serve(d)
    assert s.get("/").content == b"ok"


def test_static_files_have_a_limit_of_their_own(serve, tmp_path):
    """App Engine's upload limited the app's files and its static files to
    1000 each: 600 of each start, the static ones served; 1001 static
    files are refused, named as such."""
    text = GOOD.replace("handlers:\n", "handlers:\n- url: /static\n  static_dir: static\n")
    files = dict({"main.py": MAIN_PY}, **{"data/f%04d.txt" % i: "x\n" for i in range(600)})
    files.update({"static/s%04d.css" % i: "s\n" for i in range(600)})
    d = write_app(tmp_path / "app", text, files)
    s = serve(d)
    assert s.get("/static/s0599.css").content == b"s\n"
    assert s.get("/").content == b"ok"
    s.stop()
    r = refused(tmp_path / "more", text, {"static/s%04d.css" % i: "s\n" for i in range(1001)})
    assert "1001 static files, the limit is 1000" in r.stderr, r.stderr


def _sparse(path, size):
    with open(path, "wb") as f:
        f.truncate(size)


def test_file_over_10mb_refused(tmp_path):
    d = write_app(tmp_path / "app", GOOD, {"main.py": MAIN_PY})
    _sparse(os.path.join(d, "big.bin"), 11 * 1024 * 1024)
    r = run_gaelic("serve", d, "--port", "0", "--storage_path", tmp_path / "storage")
    assert r.returncode == 2, r
    assert "big.bin" in r.stderr, "message should name the file:\n" + r.stderr
    assert re.search(r"10 ?M|10485760|10000000", r.stderr), "message should name the limit:\n" + r.stderr
    assert "serving" not in r.stdout


def test_total_over_150mb_refused(tmp_path):
    d = write_app(tmp_path / "app", GOOD, {"main.py": MAIN_PY})
    for i in range(16):  # each under 10 MB, together 160 MB
        _sparse(os.path.join(d, "part%02d.bin" % i), 10_000_000)
    r = run_gaelic("serve", d, "--port", "0", "--storage_path", tmp_path / "storage")
    assert r.returncode == 2, r
    assert re.search(r"150 ?M|157286400|150000000", r.stderr), "message should name the limit:\n" + r.stderr
    assert "serving" not in r.stdout


def test_app_file_limits_are_options(serve, tmp_path):
    """RT10's limits are defaults, all configurable: the app file limits
    too, as the request and response sizes are."""
    d = write_app(tmp_path / "app", GOOD, dict({"main.py": MAIN_PY}, **_many_files(999)))
    s = serve(d, "--max_app_files", "1001")
    assert s.get("/").content == b"ok"
    s.stop()
    for flag, value, says in (("--max_app_files", "3", "1001 files, the limit is 3"),
                              ("--max_app_file_bytes", "2", "the limit for one file is 2"),
                              ("--max_app_bytes", "100", "the limit is 100 bytes")):
        files = [] if flag == "--max_app_files" else ["--max_app_files", "2000"]
        r = run_gaelic("serve", d, "--port", "0", "--storage_path", tmp_path / "storage",
                       *files, flag, value)
        assert r.returncode == 2, r
        assert says in r.stderr, r.stderr
        assert "serving" not in r.stdout


# App Engine's refusals (appinfo): name: (app.yaml text, error line, reason regex)
APP_ENGINE_REFUSALS = {
    "python27_without_threadsafe": (lines_with({5: None}), 3, r"threadsafe"),
    "version_trailing_dash": (lines_with({2: "version: beta-"}), 2, r"version.*not first or last"),
    "version_reserved_prefix": (lines_with({2: "version: ah-builtin-1"}), 2, r"ah-builtin"),
    "backend_class_with_automatic_scaling": (lines_with({2: "instance_class: B4"}), 2,
                                             r"B4 is not for automatic scaling"),
    "version_reserved_ah_prefix": (lines_with({2: "version: ah-1"}), 2, r"prefix 'ah-'"),
    "version_reserved_default": (lines_with({2: "version: default"}), 2, r"reserved"),
    "version_reserved_latest": (lines_with({2: "version: latest"}), 2, r"reserved"),
    "env_name_with_space": (lines_with({6: ["env_variables:", "  'A B': x"]}), 7,
                            r"not a valid variable name"),
    "env_name_leading_digit": (lines_with({6: ["env_variables:", "  '1A': x"]}), 7,
                               r"not a valid variable name"),
    "unknown_builtin": (lines_with({6: ["builtins:", "- remote_apy: on"]}), 7, r"not a builtin"),
    "builtin_not_on_off": (lines_with({6: ["builtins:", "- deferred: later"]}), 7, r"on or off"),
    "position_in_app_yaml": (lines_with({9: ["  script: main.app", "  position: tail"]}), 10,
                             r"position.*included"),
    "missing_include": (lines_with({6: ["includes:", "- lib/nowhere.yaml"]}), 7, r"not found"),
    # ThreadsafeWithCgiHandler: the error is at the CGI handler's script line.
    "cgi_with_threadsafe": (lines_with({9: ["  script: main.app", "- url: /old",
                                            "  script: old/page.py"]}), 11,
                            r"'old/page\.py' is a CGI script.*'threadsafe: true' does not allow"),
}


@pytest.mark.parametrize("name", sorted(APP_ENGINE_REFUSALS))
def test_app_engine_refusal(tmp_path, name):
    text, line, reason = APP_ENGINE_REFUSALS[name]
    r = refused(tmp_path, text)
    found = ERR_RE.findall(r.stderr)
    assert found and int(found[0][0]) == line, (r.stderr, text)
    assert re.search(reason, found[0][1], re.I), r.stderr


INCLUDED = """\
handlers:
- url: /inc
  script: inc.app
- url: /.*
  script: inc.fallback
  position: tail
env_variables:
  FROM_INCLUDE: "yes"
"""

INC_PY = ("import os\n"
          "def app(environ, start_response):\n"
          "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
          "    return [('inc ' + os.environ.get('FROM_INCLUDE', '-')).encode()]\n"
          "def fallback(environ, start_response):\n"
          "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
          "    return [b'fallback']\n")


def test_included_handlers_are_served(serve, tmp_path):
    """An included file's handlers serve (before app.yaml's, or after them
    with position: tail) and its env_variables reach the app."""
    app_yaml = lines_with({6: ["includes:", "- lib/extra"],
                           8: "- url: /main"})
    d = write_app(tmp_path / "inc", app_yaml,
                  {"main.py": MAIN_PY, "inc.py": INC_PY, "lib/extra/include.yaml": INCLUDED})
    s = serve(d)
    assert s.get("/inc").content == b"inc yes"
    assert s.get("/main").content == b"ok"
    assert s.get("/other").content == b"fallback"


def test_bad_included_file_is_refused_naming_it(tmp_path):
    app_yaml = lines_with({6: ["includes:", "- lib/extra.yaml"]})
    r = refused(tmp_path, app_yaml, {"lib/extra.yaml": "handlers:\n- url: /x\n  script: x.app\n"
                                                      "runtime: python27\n"})
    assert re.search(r"lib/extra\.yaml:4: unknown key 'runtime' in an included file", r.stderr), \
        r.stderr


def test_cgi_handler_of_an_included_file_is_refused_naming_it(tmp_path):
    """Included handlers are merged into a threadsafe app too: a CGI one is
    refused at its script line in the included file."""
    app_yaml = lines_with({6: ["includes:", "- lib/extra.yaml"]})
    r = refused(tmp_path, app_yaml, {"lib/extra.yaml": "handlers:\n- url: /x\n  script: x.app\n"
                                                      "- url: /cgi\n  script: cgi.py\n"})
    assert re.search(r"lib/extra\.yaml:5: script 'cgi\.py' is a CGI script, which "
                     r"'threadsafe: true' does not allow", r.stderr), r.stderr


def test_static_files_too_long_for_an_instance_are_refused(tmp_path):
    """The static handlers' upload patterns go to each instance as one
    command-line argument (Linux takes 128 KiB): past it, the server used to
    start and fail when spawning its first instance (E2BIG, exit 1)."""
    handlers = "".join(
        "- url: /s%d/(.*)\n  static_files: s%d/\\1\n  upload: s%d/(%s)\n"
        % (i, i, i, "|".join("file%04d\\.png" % j for j in range(130))) for i in range(99))
    app_yaml = GOOD.replace("handlers:\n", "handlers:\n" + handlers)
    r = refused(tmp_path, app_yaml)
    assert "the static handlers' upload patterns and static_dir folders take more than 131071 " \
        "bytes together" in r.stderr and "'/s71/(.*)' goes past it" in r.stderr, r.stderr


ENV_PY = ("import os\n"
          "def application(environ, start_response):\n"
          "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
          "    return [' '.join(os.environ.get(k, '-') for k in ('FLAG', 'COUNT', 'EMPTY'))"
          ".encode()]\n")


def test_python3_app_without_handlers_is_served(serve, tmp_path):
    """A python3 app.yaml needs no handlers, as on App Engine's second
    generation: every request goes to the app its entrypoint names, and
    env_variables hold what App Engine set (str() of the YAML value)."""
    d = write_app(tmp_path / "py3", "runtime: python311\n"
                  "entrypoint: gunicorn -b :$PORT mysite.wsgi:application\n"
                  "env_variables:\n  FLAG: true\n  COUNT: 010\n  EMPTY:\n"
                  "handlers:\n- url: /static\n  static_dir: static\n",
                  {"mysite/__init__.py": "", "mysite/wsgi.py": ENV_PY, "static/a.txt": "a"})
    s = serve(d)
    assert s.get("/static/a.txt").content == b"a"
    r = s.get("/any/path")
    assert (r.status_code, r.content) == (200, b"True 8 None")


VERSION_PY = ("import os\n"
              "def app(environ, start_response):\n"
              "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
              "    return [os.environ['CURRENT_VERSION_ID'].split('.')[0].encode()]\n")


def test_empty_keys_are_not_given_and_the_version_is_as_yaml_read_it(serve, tmp_path):
    """As App Engine's appinfo took them: an optional key left empty (its
    items commented out) is no value, and `version: 010` is the YAML int 8."""
    d = write_app(tmp_path / "empty", "application:\nversion: 010\nruntime: python27\n"
                  "api_version:\nthreadsafe: true\nlibraries:\n#- name: jinja2\n"
                  "env_variables:\ninbound_services:\nbuiltins:\nerror_handlers:\n"
                  "handlers:\n- url: /.*\n  script: main.app\n  position:\n",
                  {"main.py": VERSION_PY})
    s = serve(d)
    r = s.get("/")
    assert (r.status_code, r.content) == (200, b"8")
