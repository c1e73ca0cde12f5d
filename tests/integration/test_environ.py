"""The App Engine environment of a request (RT8) and os.environ per request
thread."""
import os
import re
import threading
import zlib

import pytest

from harness import HOST, app_path, write_app


@pytest.fixture(scope="module")
def srv(mserve):
    # one instance, so concurrent requests share a process
    return mserve(app_path("basic"), "--max_instances", "1")


def osenv(srv, path="/env", **kw):
    return srv.get_json(path, **kw)["os_environ"]


def test_application_id(srv):
    assert osenv(srv)["APPLICATION_ID"] == "gaelic-test"


def test_current_version_id_major_minor(srv):
    v = osenv(srv)["CURRENT_VERSION_ID"]
    assert re.match(r"^v7\.\d+$", v), v


def test_current_version_id_stable_across_requests(srv):
    assert osenv(srv)["CURRENT_VERSION_ID"] == osenv(srv)["CURRENT_VERSION_ID"]


def test_default_version_is_1(serve):
    s = serve(app_path("single"))  # its app.yaml has no version:
    v = s.get_json("/env")["os_environ"]["CURRENT_VERSION_ID"]
    assert re.match(r"^1\.\d+$", v), v


def test_auth_domain(srv):
    assert osenv(srv)["AUTH_DOMAIN"] == "gmail.com"


def test_server_software(srv):
    v = osenv(srv)["SERVER_SOFTWARE"]
    assert re.match(r"^Development/\d+\.\d+", v), v


def test_request_log_id_unique(srv):
    ids = [osenv(srv)["REQUEST_LOG_ID"] for _ in range(5)]
    assert all(ids), ids
    assert len(set(ids)) == 5, ids


def test_request_id_hash_follows_the_log_id(srv):
    """Eight upper-case hex digits, the CRC-32 of REQUEST_LOG_ID."""
    for _ in range(3):
        e = osenv(srv)
        assert e["REQUEST_ID_HASH"] == "%08X" % zlib.crc32(e["REQUEST_LOG_ID"].encode())


def test_python27_constants(srv):
    """What every python27 request also had: its module, its time zone, the
    signed-out user's organization, and X-AppEngine-Country's "unknown"
    (also as a header to the app), which a client cannot set."""
    e = osenv(srv, headers={"X-AppEngine-Country": "DE"})
    assert e["CURRENT_MODULE_ID"] == "default"
    assert e["TZ"] == "UTC"
    assert e["USER_ORGANIZATION"] == ""
    assert e["HTTP_X_APPENGINE_COUNTRY"] == "ZZ"


def test_instance_id(srv):
    a = osenv(srv)["INSTANCE_ID"]
    b = osenv(srv)["INSTANCE_ID"]
    assert a and a == b


def test_default_version_hostname(srv):
    assert osenv(srv)["DEFAULT_VERSION_HOSTNAME"] == "%s:%d" % (HOST, srv.port)


def test_appengine_runtime_python27(srv):
    """The python27 runtime and its dev_appserver set APPENGINE_RUNTIME:
    libraries (urllib3's is_appengine_sandbox, the SDK's webapp, endpoints)
    tell the first-generation sandbox by it."""
    assert osenv(srv)["APPENGINE_RUNTIME"] == "python27"


RUNTIME_MAIN = """import json, os
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"os_environ": dict(os.environ)}).encode()]
"""


def test_no_appengine_runtime_on_python3(serve, tmp_path):
    """App Engine's python3 runtimes (second generation) had no such
    variable: a library must not take such an app for a python27 one."""
    d = write_app(tmp_path / "py3", "runtime: python3\nhandlers:\n- url: /.*\n"
                  "  script: main.app\n", {"main.py": RUNTIME_MAIN})
    assert "APPENGINE_RUNTIME" not in serve(d).get_json("/")["os_environ"]


def test_appengine_runtime_python(serve, tmp_path):
    """The python 2.5 runtime's apps (`runtime: python`) say so: the SDK's
    webapp picked its 1.x implementation by it."""
    d = write_app(tmp_path / "py25", "runtime: python\nhandlers:\n- url: /.*\n"
                  "  script: main.app\n", {"main.py": RUNTIME_MAIN})
    assert serve(d).get_json("/")["os_environ"]["APPENGINE_RUNTIME"] == "python"


def test_env_variables_from_app_yaml(srv):
    e = osenv(srv)
    assert e["GAELIC_TEST_VAR"] == "from app.yaml"
    assert e["GAELIC_TEST_OTHER"] == "42"


def test_env_var_flag_overrides_and_adds_env_variables(serve):
    """dev_appserver's --env_var KEY=VALUE: each goes where app.yaml's
    env_variables go, the command line winning over app.yaml and a later
    --env_var over an earlier; the --name=VALUE form takes a VALUE with '='
    in it, and VALUE is text as app.yaml's values are."""
    s = serve(app_path("basic"), "--env_var", "GAELIC_TEST_VAR=from the command line",
              "--env_var=ADDED=a=b", "--env_var", "REPEATED=first", "--env_var", "REPEATED=second",
              "--env_var", "EMPTY=", "--env_var", "GREETING=caf\u00e9")
    got = s.get_json("/env")
    want = {"GAELIC_TEST_VAR": "from the command line", "GAELIC_TEST_OTHER": "42",
            "ADDED": "a=b", "REPEATED": "second", "EMPTY": "", "GREETING": "caf\u00e9"}
    for where in ("os_environ", "environ"):
        assert {k: got[where].get(k) for k in want} == want, (where, got[where])


ENV_VAR_MAIN = """import json, os
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({k: os.environ.get(k) for k in ("BACKEND_ID", "FROM_FLAG", "FROM_YAML")}
                       ).encode()]
"""


def test_env_var_flag_reaches_backends(serve, tmp_path):
    d = write_app(tmp_path / "app", "runtime: python27\napi_version: 1\nthreadsafe: true\n"
                  "env_variables:\n  FROM_YAML: yaml\n  FROM_FLAG: yaml\n"
                  "handlers:\n- url: /.*\n  script: main.app\n",
                  {"main.py": ENV_VAR_MAIN,
                   "backends.yaml": "backends:\n- name: worker\n  options: public\n"})
    s = serve(d, "--env_var", "FROM_FLAG=flag")
    got = s.get_json("/", headers={"Host": "worker.localhost:%d" % s.port})
    assert got == {"BACKEND_ID": "worker", "FROM_FLAG": "flag", "FROM_YAML": "yaml"}, got
    got = s.get_json("/")
    assert got == {"BACKEND_ID": None, "FROM_FLAG": "flag", "FROM_YAML": "yaml"}, got


def test_empty_header_value(srv):
    """A header with an empty value is there, empty. The one here comes
    first in the master's sorted pass over the headers, when its buffer for
    values holds nothing yet (UBSan saw a null pointer's arithmetic)."""
    e = osenv(srv, "/env/cgi", headers={"A": "", "X-Probe": "probe"})
    assert e["HTTP_A"] == ""
    assert e["HTTP_X_PROBE"] == "probe"


def test_cgi_variables_in_os_environ(srv):
    e = osenv(srv, "/env/cgi?x=1", headers={"X-Probe": "probe"})
    assert e["REQUEST_METHOD"] == "GET"
    assert e["PATH_INFO"] == "/env/cgi"
    assert e["QUERY_STRING"] == "x=1"
    assert e["HTTP_X_PROBE"] == "probe"
    assert e["SERVER_PORT"] == str(srv.port)


def test_variables_follow_each_request_on_one_instance(srv):
    """The instance reuses the str objects of repeated names and values:
    each request must still see exactly its own headers, long or short,
    changed, repeated or gone, in the environ and in os.environ."""
    long_value = "L" * 5000 + "-end"
    non_ascii = "\u00e9t\u00e9"  # sent as latin-1 bytes, read back as latin-1 str
    sequence = [{"X-Probe": "a", "X-Only-First": "1"}, {"X-Probe": "b"},
                {"X-Probe": long_value}, {"X-Probe": "a"}, {"X-Probe": non_ascii}, {}]
    instances = set()
    for headers in sequence:
        got = srv.get_json("/env", headers=headers)
        instances.add(got["os_environ"]["INSTANCE_ID"])
        for where in (got["os_environ"], got["environ"]):
            assert where.get("HTTP_X_PROBE") == headers.get("X-Probe"), headers
            assert where.get("HTTP_X_ONLY_FIRST") == headers.get("X-Only-First"), headers
    assert len(instances) == 1, instances


def test_not_signed_in_has_no_user(srv):
    e = osenv(srv)
    assert not e.get("USER_EMAIL")
    assert not e.get("USER_ID")
    assert e.get("USER_IS_ADMIN", "0") in ("0", "")


def test_os_environ_is_per_request_thread(srv):
    results = {}

    def run(v):
        try:
            results[v] = srv.get_json("/isolate?v=%s&s=0.5" % v)
        except Exception as e:
            results[v] = e

    threads = [threading.Thread(target=run, args=(v,)) for v in ("alpha", "beta")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    a, b = results["alpha"], results["beta"]
    assert not isinstance(a, Exception) and not isinstance(b, Exception), results
    assert a["instance_id"] == b["instance_id"], "expected both on the one instance"
    assert a["start"] < b["end"] and b["start"] < a["end"], "the two requests did not overlap"
    assert a["after"] == "alpha", a
    assert b["after"] == "beta", b
    assert a["before"] is None and b["before"] is None, (a, b)


def test_later_request_does_not_see_earlier_writes(srv):
    first = srv.get_json("/isolate?v=first&s=0")
    assert first["after"] == "first"
    second = srv.get_json("/isolate?v=second&s=0")
    assert second["instance_id"] == first["instance_id"]
    assert second["before"] is None, second


def test_changed_env_variable_restored_for_next_request(srv):
    r = srv.get_json("/isolate?k=GAELIC_TEST_VAR&v=changed&s=0")
    assert (r["before"], r["after"]) == ("from app.yaml", "changed")
    e = osenv(srv)
    assert e["GAELIC_TEST_VAR"] == "from app.yaml"
    assert "GAELIC_ISOLATION" not in e


TZ_MAIN = """import datetime, json, time
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    now = time.time()
    return [json.dumps({"timezone": time.timezone, "tzname": list(time.tzname),
                        "local_is_utc": time.localtime(now)[:6] == time.gmtime(now)[:6],
                        "utcoffset": datetime.datetime.now().astimezone().utcoffset()
                        .total_seconds()}).encode()]
"""


def test_instances_run_in_utc_whatever_the_hosts_zone(serve, tmp_path):
    """App Engine's instances ran in UTC: apps store datetime.now() as UTC.
    The server's own TZ (here New York's) must not reach them."""
    d = write_app(tmp_path / "tz", "runtime: python27\napi_version: 1\nthreadsafe: true\n"
                  "handlers:\n- url: /.*\n  script: main.app\n", {"main.py": TZ_MAIN})
    s = serve(d, env=dict(os.environ, TZ="America/New_York"))
    got = s.get_json("/")
    assert got == {"timezone": 0, "tzname": ["UTC", "UTC"], "local_is_utc": True,
                   "utcoffset": 0.0}, got


TEXT_MAIN = """import json, os
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    keys = ("GREETING", "PLAIN", "HTTP_X_PROBE", "PATH_INFO")
    return [json.dumps({"os": {k: os.environ.get(k) for k in keys},
                        "wsgi": {k: environ.get(k) for k in keys}}).encode()]
"""


def test_env_variables_are_text(serve, tmp_path):
    """app.yaml is UTF-8 text: its env_variables reach os.environ and the
    WSGI environ as the same str, while what comes from HTTP stays latin-1
    decoded bytes (PEP 3333)."""
    d = write_app(tmp_path / "text", "runtime: python27\napi_version: 1\nthreadsafe: true\n"
                  "env_variables:\n  GREETING: 'caf\u00e9 \u20ac \U0001f600'\n  PLAIN: ascii\n"
                  "handlers:\n- url: /.*\n  script: main.app\n", {"main.py": TEXT_MAIN})
    s = serve(d)
    for _ in range(2):  # and again, with the values the instance keeps
        got = s.get_json("/caf%C3%A9", headers={"X-Probe": "caf\u00e9".encode().decode("latin-1")})
        want = {"GREETING": "caf\u00e9 \u20ac \U0001f600", "PLAIN": "ascii",
                "HTTP_X_PROBE": "caf\u00c3\u00a9", "PATH_INFO": "/caf\u00c3\u00a9"}
        assert got == {"os": want, "wsgi": want}, got


REBIND_MAIN = """import json, os
def app(environ, start_response):
    seen = (os.environ.get("REQUEST_LOG_ID"), os.environb.get(b"REQUEST_LOG_ID"))
    if environ["QUERY_STRING"] == "rebind":
        os.environ = dict(os.environ)
        os.environb = {k.encode(): v.encode() for k, v in os.environ.items()}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"own": environ["REQUEST_LOG_ID"], "seen": seen[0],
                        "seen_bytes": seen[1].decode()}).encode()]
"""


def test_app_that_rebinds_os_environ_does_not_hand_its_values_on(serve, tmp_path):
    """os.environ is process-wide, like sys.stdout: a request that binds it
    to an object of its own (a plain dict) would leave every later request
    reading that one's variables (its user, its log id). The runtime puts
    its own back once no request runs, as it does sys.stdout."""
    d = write_app(tmp_path / "rebind", "runtime: python27\napi_version: 1\nthreadsafe: true\n"
                  "handlers:\n- url: /.*\n  script: main.app\n", {"main.py": REBIND_MAIN})
    s = serve(d, "--max_instances", "1")
    for query in ("rebind", "", ""):
        r = s.get_json("/?" + query)
        assert r["seen"] == r["seen_bytes"] == r["own"], (query, r)
