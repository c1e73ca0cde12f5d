"""app.yaml `libraries:` (RT1): a listed library is imported from Debian's
dist-packages, nothing else there is importable, and an unknown library or
one whose Debian package is missing stops the start with exit 2."""
import json
import os
import re
import subprocess

import pytest

from harness import REPO, app_path, run_gaelic, write_app

DIST = "/usr/lib/python3/dist-packages"

APP_YAML = """\
application: libtest
version: 1
runtime: python27
api_version: 1
threadsafe: true

libraries:
%s
handlers:
- url: /.*
  script: main.app
"""


def listed(*names):
    """app.yaml listing names (the first on line 8, each two lines)."""
    return APP_YAML % "".join("- name: %s\n  version: latest\n" % n for n in names)


def served_answer(serve, tmp_path, app_yaml, files):
    """GET / of an app made of app_yaml and files, which must answer 200."""
    s = serve(write_app(tmp_path / "app", app_yaml, files))
    r = s.get("/")
    assert r.status_code == 200, (r.text, s.stderr_text()[-3000:])
    return r


# A Python 2.5 (runtime: python) app whose main.py is a CGI script.
PYTHON25_APP = "runtime: python\napi_version: 1\nhandlers:\n- url: /.*\n  script: main.py\n"

MAIN_PY = ("def app(environ, start_response):\n"
           "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
           "    return [b'ok']\n")


def deb_installed(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
    return r.returncode == 0 and "ok installed" in r.stdout


def in_dist(top):
    return os.path.isdir(os.path.join(DIST, top)) or os.path.exists(os.path.join(DIST, top + ".py"))


def try_import(serve, tmp_path, app_yaml, name):
    """The libraries app's /import?name= answer, served with app_yaml."""
    main = open(os.path.join(app_path("libraries"), "main.py")).read()
    return serve(write_app(tmp_path / "app", app_yaml, {"main.py": main})).get(
        "/import", params={"name": name})


@pytest.fixture(scope="module")
def libs(mserve):
    return mserve(app_path("libraries"))


def test_flask_example_serves_its_routes(serve):
    if not deb_installed("python3-flask"):
        pytest.skip("python3-flask is not installed (scripts/deps.sh test)")
    s = serve(os.path.join(REPO, "examples", "flask"))
    r = s.get("/")
    assert r.status_code == 200, r.text
    assert "Flask" in r.text
    r = s.get("/greet/ada?lang=ga")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == {"greeting": "Hello, ada!", "lang": "ga"}
    assert s.get("/nope").status_code == 404


def test_listed_library_imports_from_dist_packages(libs):
    r = libs.get("/yaml")
    assert r.status_code == 200, r.text
    assert json.loads(r.text) == {"a": [1, 2], "b": "text"}
    r = libs.get("/import", params={"name": "yaml"})
    assert r.text.startswith("ok " + DIST + "/yaml/"), r.text


def test_stdlib_still_imports(libs):
    for name in ("json", "ssl", "sqlite3"):
        r = libs.get("/import", params={"name": name})
        assert r.text.startswith("ok "), (name, r.text)


@pytest.mark.parametrize("name", ["requests", "flask", "jinja2.ext", "click"])
def test_unlisted_dist_package_is_refused(serve, tmp_path, name):
    top = name.split(".")[0]
    if not in_dist(top):
        pytest.skip("%s is not in %s" % (top, DIST))
    r = try_import(serve, tmp_path, listed("ssl"), name)
    assert r.text.startswith("ImportError: "), r.text
    assert "libraries" in r.text, r.text


def test_unlisted_module_refused_next_to_a_listed_one(libs):
    r = libs.get("/import", params={"name": "requests"})
    assert r.text.startswith("ImportError: "), r.text
    assert "libraries" in r.text and "requests" in r.text, r.text


def refused(tmp_path, library):
    d = write_app(tmp_path / "app", listed(library), {"main.py": MAIN_PY})
    r = run_gaelic("serve", d, "--port", "0", "--storage_path", tmp_path / "storage")
    assert r.returncode == 2, "exit %s\nstdout:\n%s\nstderr:\n%s" % (r.returncode, r.stdout,
                                                                     r.stderr)
    assert "serving" not in r.stdout
    return r


def test_unknown_library_is_refused_with_line(tmp_path):
    r = refused(tmp_path, "nosuchlib")
    m = re.search(r"app\.yaml:(\d+): (.*)", r.stderr)
    assert m, r.stderr
    assert int(m.group(1)) == 8, r.stderr
    assert "unknown library 'nosuchlib'" in m.group(2), r.stderr
    assert "flask" in m.group(2), r.stderr  # lists the known ones


@pytest.mark.parametrize("library,package", [("MySQLdb", "python3-mysqldb"),
                                             ("lxml", "python3-lxml")])
def test_missing_debian_package_is_named(tmp_path, library, package):
    if deb_installed(package):
        pytest.skip("%s is installed here" % package)
    r = refused(tmp_path, library)
    assert re.search(r"app\.yaml:8: ", r.stderr), r.stderr
    assert "apt-get install %s" % package in r.stderr, r.stderr



def test_app_engine_library_gaelic_lacks_is_accepted_and_the_apps_copy_imports(serve, tmp_path):
    # endpoints has no Debian package: App Engine accepted the entry, so the
    # start goes on with a warning naming the line, and it does not import.
    # webapp2 is the runtime's own (python/webapp2.py), with no warning;
    # the app's own webapp2, first on sys.path, wins over it.
    main = ("def app(environ, start_response):\n"
            "    import webapp2\n"
            "    try:\n"
            "        import endpoints\n"
            "        other = 'imported'\n"
            "    except ImportError:\n"
            "        other = 'ImportError'\n"
            "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
            "    return [(webapp2.WHO + ' ' + other).encode()]\n")
    d = write_app(tmp_path / "app", listed("webapp2", "endpoints"),
                  {"main.py": main, "webapp2.py": "WHO = 'own'\n"})
    s = serve(d)
    r = s.get("/")
    assert r.status_code == 200 and r.text == "own ImportError", r.text
    err = s.stderr_text() + s.stdout_text()
    assert "library webapp2" not in err, err
    assert re.search(r"app\.yaml:10: library endpoints: gaelic does not provide it", err), err


def test_listed_webapp2_is_the_runtimes(serve, tmp_path):
    if not os.path.isdir("/usr/lib/python3/dist-packages/webob"):
        pytest.skip("python3-webob is not installed (scripts/deps.sh)")
    main = ("import webapp2\n"
            "class Hello(webapp2.RequestHandler):\n"
            "    def get(self, who):\n"
            "        self.response.write('hi %s from %s' % (who, webapp2.__version__))\n"
            "app = webapp2.WSGIApplication([webapp2.Route('/<who>', Hello)])\n")
    d = write_app(tmp_path / "app", listed("webapp2"), {"main.py": main})
    s = serve(d)
    r = s.get("/ann")
    assert (r.status_code, r.text) == (200, "hi ann from 2.5.2"), (r.text, s.stderr_text())
    assert "library webapp2" not in s.stderr_text() + s.stdout_text()


def test_jinja2_2x_code_of_python27_apps_runs_on_jinja2_3(serve, tmp_path):
    # App Engine's python27 tutorial made its environment with
    # extensions=['jinja2.ext.autoescape'], and filters used jinja2.Markup
    # and evalcontextfilter: Jinja2 3.1 removed them all, so such an app
    # failed on import.
    if not in_dist("jinja2"):
        pytest.skip("python3-jinja2 is not installed (scripts/deps.sh)")
    main = ("import jinja2\n"
            "ENV = jinja2.Environment(loader=jinja2.DictLoader({'t': '{{ x }}{{ y|bold }}'\n"
            "    '{% with z = 1 %}{{ z }}{% endwith %}{% autoescape false %}{{ x }}{% endautoescape %}'}),\n"
            "    extensions=['jinja2.ext.autoescape', 'jinja2.ext.with_'], autoescape=True)\n"
            "@jinja2.evalcontextfilter\n"
            "def bold(ctx, v):\n"
            "    return jinja2.Markup('<b>%s</b>') % v if ctx.autoescape else v\n"
            "ENV.filters['bold'] = bold\n"
            "def app(environ, start_response):\n"
            "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
            "    body = ENV.get_template('t').render(x='<i>', y='&')\n"
            "    return [(body + '|' + str(jinja2.escape('<'))).encode()]\n")
    s = serve(write_app(tmp_path / "app", listed("jinja2"), {"main.py": main}))
    r = s.get("/")
    assert (r.status_code, r.text) == (200, "&lt;i&gt;<b>&amp;</b>1<i>|&lt;"), (
        r.text, s.stderr_text()[-3000:])


def test_pkg_resources_finds_what_the_app_vendors(serve, tmp_path):
    # python27 apps install libraries into lib/ (pip install -t lib) and
    # add it with vendor.add('lib'); libraries read their own version with
    # pkg_resources.get_distribution at import, and older namespace
    # packages (google.cloud's) are joined across folders with
    # pkg_resources.declare_namespace
    if not in_dist("pkg_resources"):
        pytest.skip("python3-setuptools is not installed (scripts/deps.sh)")
    ns_init = "__import__('pkg_resources').declare_namespace(__name__)\n"
    main = ("import pkg_resources\n"
            "import nsp.a, nsp.b\n"
            "def app(environ, start_response):\n"
            "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
            "    version = pkg_resources.get_distribution('vendored').version\n"
            "    return [('%s %s %s' % (version, nsp.a.A, nsp.b.B)).encode()]\n")
    r = served_answer(serve, tmp_path, listed("setuptools"), {
        "main.py": main,
        "appengine_config.py": ("from google.appengine.ext import vendor\n"
                                "vendor.add('lib')\nvendor.add('lib2')\n"),
        "lib/vendored/__init__.py": "",
        "lib/vendored-1.2.3.dist-info/METADATA": ("Metadata-Version: 2.1\nName: vendored\n"
                                                   "Version: 1.2.3\n"),
        "lib/nsp/__init__.py": ns_init,
        "lib/nsp/a.py": "A = 'a'\n",
        "lib2/nsp/__init__.py": ns_init,
        "lib2/nsp/b.py": "B = 'b'\n",
    })
    assert r.text == "1.2.3 a b"


def test_pyyaml_3_load_without_loader_runs_on_pyyaml_6(serve, tmp_path):
    # python27 apps read their settings with yaml.load(f) (PyYAML 3.10 took
    # no Loader); PyYAML 6 requires one, so the call raised TypeError. The
    # default is PyYAML 5's FullLoader: no arbitrary objects from tags.
    if not in_dist("yaml"):
        pytest.skip("yaml is not in %s" % DIST)
    main = ("import json, os, yaml\n"
            "def app(environ, start_response):\n"
            "    with open(os.path.join(os.path.dirname(__file__), 'settings.yaml')) as f:\n"
            "        settings = yaml.load(f)\n"
            "    docs = list(yaml.load_all('a: 1\\n---\\nb: [x, y]\\n'))\n"
            "    try:\n"
            "        yaml.load('!!python/object/apply:os.getpid []')\n"
            "        tag = 'built'\n"
            "    except yaml.YAMLError as e:\n"
            "        tag = type(e).__name__\n"
            "    safe = yaml.load('c: 2', Loader=yaml.SafeLoader)\n"
            "    start_response('200 OK', [('Content-Type', 'application/json')])\n"
            "    return [json.dumps([settings, docs, tag, safe]).encode()]\n")
    r = served_answer(serve, tmp_path, listed("yaml"),
                      {"main.py": main, "settings.yaml": "title: Guestbook\npage_size: 20\n"})
    assert r.json() == [{"title": "Guestbook", "page_size": 20}, [{"a": 1}, {"b": ["x", "y"]}],
                        "ConstructorError", {"c": 2}], r.text


def test_werkzeug_0x_top_level_names_run_on_werkzeug_2(serve, tmp_path):
    # python27 apps imported Werkzeug 0.11 unlisted, and took its API from
    # the package: from werkzeug import secure_filename (Flask's upload
    # documentation of the time). Werkzeug 1.0 dropped those names.
    if not in_dist("werkzeug"):
        pytest.skip("werkzeug is not in %s" % DIST)
    main = ("import json\n"
            "import werkzeug\n"
            "from werkzeug import secure_filename, MultiDict, generate_password_hash\n"
            "from werkzeug import check_password_hash, url_quote\n"
            "def app(environ, start_response):\n"
            "    h = generate_password_hash('pw')\n"
            "    try:\n"
            "        werkzeug.no_such_name\n"
            "        missing = 'found'\n"
            "    except AttributeError:\n"
            "        missing = 'AttributeError'\n"
            "    body = [secure_filename('../my file.txt'), MultiDict([('a', '1')])['a'],\n"
            "            check_password_hash(h, 'pw'), url_quote('a b'), missing]\n"
            "    start_response('200 OK', [('Content-Type', 'application/json')])\n"
            "    return [json.dumps(body).encode()]\n")
    r = served_answer(serve, tmp_path, listed("ssl"), {"main.py": main})
    assert r.json() == ["my_file.txt", "1", True, "a%20b", "AttributeError"], r.text


def test_werkzeug_0x_top_level_names_beside_a_werkzeug_getattr_of_its_own(serve, tmp_path):
    # Werkzeug 2.3 and later have a module __getattr__ (for __version__):
    # the old names must still resolve, and its own names stay its own. A
    # werkzeug package in the app folder stands for such a Werkzeug.
    main = ("import json\n"
            "import werkzeug\n"
            "from werkzeug import secure_filename\n"
            "def app(environ, start_response):\n"
            "    try:\n"
            "        werkzeug.no_such_name\n"
            "        missing = 'found'\n"
            "    except AttributeError as e:\n"
            "        missing = str(e)\n"
            "    body = [secure_filename('x'), werkzeug.__version__, missing]\n"
            "    start_response('200 OK', [('Content-Type', 'application/json')])\n"
            "    return [json.dumps(body).encode()]\n")
    package = ("def __getattr__(name):\n"
               "    if name == '__version__':\n"
               "        return '3.0'\n"
               "    raise AttributeError('own: ' + name)\n")
    utils = "def secure_filename(name):\n    return 'secured ' + name\n"
    r = served_answer(serve, tmp_path, listed("ssl"), {"main.py": main,
                                                       "werkzeug/__init__.py": package,
                                                       "werkzeug/utils.py": utils})
    assert r.json() == ["secured x", "3.0", "own: no_such_name"], r.text


def test_more_of_app_engines_libraries_import_in_the_sandbox(serve, tmp_path):
    # pytz reads Debian's zoneinfo files, ujson is an extension module at the
    # top of dist-packages, enum and futures are Python 3's own.
    for pkg in ("python3-tz", "python3-ujson"):
        if not deb_installed(pkg):
            pytest.skip("%s is not installed (scripts/deps.sh test)" % pkg)
    main = ("import datetime\n"
            "def app(environ, start_response):\n"
            "    import pytz, ujson, enum, concurrent.futures\n"
            "    t = datetime.datetime(2020, 7, 1, 12, tzinfo=pytz.utc)\n"
            "    local = t.astimezone(pytz.timezone('America/New_York')).isoformat()\n"
            "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
            "    return [ujson.dumps([local, pytz.__file__]).encode()]\n")
    d = write_app(tmp_path / "app", listed("pytz", "ujson", "enum", "futures"), {"main.py": main})
    s = serve(d)
    r = s.get("/")
    assert r.status_code == 200, r.text
    local, where = json.loads(r.text)
    assert local == "2020-07-01T08:00:00-04:00", r.text
    assert where.startswith(DIST + "/pytz/"), r.text


@pytest.mark.parametrize("name", ["yaml", "six", "pytz", "webob", "werkzeug"])
def test_python27_imports_app_engines_default_libraries_unlisted(serve, tmp_path, name):
    # App Engine's SDK enabled every library that had a default version
    # (yaml, six, pytz, webob, werkzeug of those Debian has), listed or not.
    if not in_dist(name):
        pytest.skip("%s is not in %s" % (name, DIST))
    r = try_import(serve, tmp_path, listed("ssl"), name)
    assert r.text.startswith("ok " + DIST + "/" + name), r.text


def test_python25_runtime_carries_django(serve, tmp_path):
    # App Engine's Python 2.5 runtime included Django (with WebOb and
    # PyYAML) for every app, and its apps could list no libraries: they
    # imported django.template, django.utils.html and so on as they were.
    if not in_dist("django"):
        pytest.skip("django is not in %s" % DIST)
    main = ("import django\n"
            "from django.utils.html import escape\n"
            "print('Content-Type: text/plain')\n"
            "print('')\n"
            "print(django.__file__ + ' ' + escape('<a>'))\n")
    r = served_answer(serve, tmp_path, PYTHON25_APP, {"main.py": main})
    assert r.text == DIST + "/django/__init__.py &lt;a&gt;\n", r.text
    # python27 apps list it, as App Engine had them do.
    r = try_import(serve, tmp_path / "py27", listed("ssl"), "django")
    assert r.text.startswith("ImportError: "), r.text


@pytest.mark.parametrize("runtime", ["python", "python27"])
def test_django_utils_simplejson_of_app_engines_django(serve, tmp_path, runtime):
    # Python 2.5 had no json module: apps used the simplejson Django
    # bundled, which Django 1.7 removed; the json module takes its place.
    if not in_dist("django"):
        pytest.skip("django is not in %s" % DIST)
    main = ("from django.utils import simplejson\n"
            "import django.utils.simplejson as sj\n"
            "print('Content-Type: application/json')\n"
            "print('')\n"
            "print(simplejson.dumps([simplejson.loads('{\"a\": [1]}'), sj is simplejson]))\n")
    app_yaml = "runtime: %s\napi_version: 1\n" % runtime
    if runtime == "python27":
        app_yaml += "threadsafe: false\nlibraries:\n- name: django\n  version: \"1.2\"\n"
    app_yaml += "handlers:\n- url: /.*\n  script: main.py\n"
    r = served_answer(serve, tmp_path, app_yaml, {"main.py": main})
    assert r.json() == [{"a": [1]}, True], r.text


def test_use_library_of_python25_apps(serve, tmp_path):
    # App Engine's documentation had Python 2.5 apps pick Django 1.2 for
    # webapp.template with use_library; the module did not exist here.
    if not in_dist("django"):
        pytest.skip("django is not in %s" % DIST)
    main = ("import os\n"
            "from google.appengine.dist import use_library\n"
            "use_library('django', '1.2')\n"
            "from google.appengine.ext.webapp import template\n"
            "refused = []\n"
            "for args in (('django', '9.9'), ('pylons', '0.9')):\n"
            "    try:\n"
            "        use_library(*args)\n"
            "    except ValueError as e:\n"
            "        refused.append(str(e))\n"
            "print('Content-Type: text/plain')\n"
            "print('')\n"
            "print(template.Template('{{ x }}').render(template.Context({'x': '<1>'})))\n"
            "print('\\n'.join(refused))\n")
    r = served_answer(serve, tmp_path, PYTHON25_APP, {"main.py": main})
    assert r.text.splitlines() == [
        "&lt;1&gt;",
        "9.9 is not a supported version for django; supported versions are "
        "['0.96', '1.0', '1.1', '1.2']",
        "pylons is not a supported package"], r.text


def test_python3_has_no_default_libraries(serve, tmp_path):
    if not in_dist("yaml"):
        pytest.skip("yaml is not in %s" % DIST)
    r = try_import(serve, tmp_path, "runtime: python3\n", "yaml")
    assert r.text.startswith("ImportError: "), r.text


PYTHON3_LISTING = "runtime: python3\nlibraries:\n- name: %s\n  version: latest\n"

# library -> one of its C extensions (or its dependency's), which must load
EXTENSIONS = {
    "jinja2": "markupsafe._speedups", "yaml": "yaml._yaml", "ujson": "ujson",
    "crcmod": "crcmod._crcfunext", "numpy": "numpy.core._multiarray_umath",
    "lxml": "lxml.etree", "PIL": "PIL._imaging", "psycopg2": "psycopg2._psycopg",
    "MySQLdb": "MySQLdb._mysql",
}


@pytest.mark.parametrize("library", sorted(EXTENSIONS))
def test_listed_librarys_c_extensions_load(serve, tmp_path, library):
    """The audit hook loads C extensions from dist-packages only for the
    libraries app.yaml lists, with their dependencies (jinja2's
    markupsafe); python3 enables no library by default."""
    module = EXTENSIONS[library]
    if not in_dist(module.split(".")[0]):
        pytest.skip("%s is not in %s" % (module, DIST))
    r = try_import(serve, tmp_path, PYTHON3_LISTING % library, module)
    assert r.text.startswith("ok " + DIST + "/") and r.text.endswith(".so"), r.text


def test_unlisted_librarys_c_extension_is_refused_on_sys_path(serve, tmp_path):
    """With dist-packages put on sys.path, an unlisted library's pure
    Python imports (as the app's own copy would), its C extension does not:
    only the listed libraries' C code loads from there."""
    if not in_dist("markupsafe"):
        pytest.skip("markupsafe is not in %s" % DIST)
    main = ("import sys\n"
            "sys.path.append(%r)\n"
            "def app(environ, start_response):\n"
            "    try:\n"
            "        import markupsafe._speedups\n"
            "        body = 'loaded'\n"
            "    except ImportError as e:\n"
            "        body = 'ImportError: %%s' %% e\n"
            "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
            "    return [body.encode()]\n" % DIST)
    d = write_app(tmp_path / "app", PYTHON3_LISTING % "yaml", {"main.py": main})
    r = serve(d).get("/")
    assert r.text == (
        "ImportError: sandbox rule SB5: only the C extension modules of the libraries app.yaml "
        "lists (libraries:) load from Debian's dist-packages, and this one belongs to none: "
        "markupsafe._speedups"), r.text


def test_numpy_loads_its_blas_through_debians_alternatives(serve, tmp_path):
    # libblas.so.3 is a link through /etc/alternatives, which the sandbox
    # did not show: numpy's C extension failed to load inside instances.
    if not deb_installed("python3-numpy"):
        pytest.skip("python3-numpy is not installed (scripts/deps.sh test)")
    main = ("def app(environ, start_response):\n"
            "    import numpy\n"
            "    a = numpy.arange(6, dtype=float).reshape(2, 3)\n"
            "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
            "    return [str(float((a @ a.T).trace())).encode()]\n")
    d = write_app(tmp_path / "app", listed("numpy"), {"main.py": main})
    s = serve(d)
    r = s.get("/")
    assert r.status_code == 200 and r.text == "55.0", r.text
