"""The command line: help, usage errors, the URL line, the app id, ports and
a clean stop on SIGTERM/SIGINT."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests

from harness import (GAELIC_BIN, HOST, REPO, Conn, app_path, copy_app, descendants, free_port,
                     ipv6_loopback, run_gaelic, wait_pids_gone)

SERVE_FLAGS = [
    "--host", "--port", "--application", "--storage_path", "--max_instances", "--threads",
    "--max_concurrent_requests", "--max_pending_requests", "--max_pending_latency",
    "--instance_idle_timeout", "--max_request_bytes", "--max_response_bytes",
    "--max_response_header_bytes", "--max_header_bytes", "--max_url_bytes", "--header_timeout",
    "--body_timeout", "--keepalive_timeout", "--shutdown_timeout", "--sandbox", "--instance_memory",
    "--instance_max_threads", "--max_held_request_bytes", "--max_held_response_bytes",
    "--max_app_files",
    "--max_app_file_bytes", "--max_app_bytes", "--env_var", "--threadsafe_override",
    "--admin_host", "--admin_port", "--enable_host_checking", "--automatic_restart",
    "--watcher_ignore_re",
]

HELLO = os.path.join(REPO, "examples", "hello")


def test_help_exits_0_and_names_serve():
    r = run_gaelic("--help")
    assert r.returncode == 0, r
    assert "serve" in r.stdout, r.stdout


@pytest.mark.parametrize("command", ["serve", "logs", "backends"])
def test_help_of_a_command_is_its_own_help(command):
    """`gaelic help serve` shows what `gaelic serve --help` shows."""
    r = run_gaelic("help", command)
    assert (r.returncode, r.stdout) == (0, run_gaelic(command, "--help").stdout), r
    assert r.stdout.startswith("usage: gaelic %s " % command), r.stdout


def test_help_of_an_unknown_command_says_so():
    r = run_gaelic("help", "deploy")
    assert r.returncode == 2, r
    assert "unknown command 'deploy'" in r.stderr, r.stderr


def test_version_names_gaelic_and_what_apps_see():
    r = run_gaelic("--version")
    assert r.returncode == 0, r
    assert re.fullmatch(r"gaelic \d+\.\d+\S* \(apps see SERVER_SOFTWARE Development/2\.0\)\n",
                        r.stdout), r.stdout


def test_serve_help_lists_every_flag():
    r = run_gaelic("serve", "--help")
    assert r.returncode == 0, r
    missing = [f for f in SERVE_FLAGS if not re.search(re.escape(f) + r"\b", r.stdout)]
    assert not missing, "serve --help does not mention %s\n%s" % (missing, r.stdout)


def test_no_command_is_usage_error():
    r = run_gaelic()
    assert r.returncode == 2, r
    assert r.stderr.strip(), "a usage error should say something on stderr"


def test_unknown_command_exits_2():
    r = run_gaelic("frobnicate")
    assert r.returncode == 2, r
    assert "frobnicate" in r.stderr, r.stderr


def test_unknown_flag_exits_2(tmp_path):
    r = run_gaelic("serve", app_path("basic"), "--port", "0", "--no_such_flag", "1")
    assert r.returncode == 2, r
    assert "no_such_flag" in r.stderr, r.stderr
    assert "serving" not in r.stdout


# (command words, what stderr must say): an unknown option last on the line
# was reported as needing a value; a flag given a value as unknown.
OPTION_MISTAKES = [
    (["serve", "APP", "--no_such_flag"], "unknown option '--no_such_flag'"),
    (["serve", "APP", "--port"], "--port needs a value"),
    (["serve", "APP", "--log_level"], "--log_level needs a value"),
    (["logs", "APP", "--no_such_flag"], "unknown option '--no_such_flag'"),
    (["logs", "APP", "--limit"], "--limit needs a value"),
    (["logs", "APP", "--json=maybe"], "--json: invalid value 'maybe' (none, or true, false, "
     "yes, no, 1 or 0)"),
    (["backends", "APP", "list", "--no_such_flag"], "unknown option '--no_such_flag'"),
    (["backends", "APP", "list", "--application"], "--application needs a value"),
    # The next word an option: "--port" was taken for the storage folder,
    # then 9000 reported as a stray argument.
    (["serve", "APP", "--storage_path", "--port", "9000"], "--storage_path needs a value"),
    (["serve", "APP", "--application", "-h"], "--application needs a value"),
    (["logs", "APP", "--logs_path", "--json"], "--logs_path needs a value"),
    # Given twice, the last counts (as dev_appserver's): its bad value is
    # what is refused, not the first one's good one.
    (["serve", "APP", "--port", "0", "--port", "eighty"], "--port: invalid value 'eighty'"),
    (["logs", "APP", "--limit", "1", "--limit=oops"], "--limit: invalid value 'oops'"),
    # Empty: logs and backends looked for /logs.db and a socket in "".
    (["logs", "APP", "--storage_path="], "--storage_path: the value is empty"),
    (["logs", "APP", "--logs_path", ""], "--logs_path: the value is empty"),
    (["backends", "APP", "list", "--storage_path", ""], "--storage_path: the value is empty"),
    # An id gaelic serve refuses names no app it served: logs looked for
    # it (~/.cache/gaelic/.._x) and said "serve the app first".
    (["logs", "APP", "--application", "../x"], "--application: invalid value '../x'"),
    (["backends", "APP", "list", "-A", "My App"], "--application: invalid value 'My App'"),
]


@pytest.mark.parametrize("words,says", OPTION_MISTAKES)
def test_option_mistakes_exit_2_saying_which(words, says):
    r = run_gaelic(*[app_path("basic") if w == "APP" else w for w in words])
    assert r.returncode == 2, r
    assert says in r.stderr, r.stderr


def test_serve_without_appdir_exits_2():
    r = run_gaelic("serve")
    assert r.returncode == 2, r


# Each bad value with the allowed values the message must name.
BAD_FLAG_VALUES = [
    ("--port", "eighty", "0 to 65535"),
    ("--threads", "0", "1 to 1024"),
    # gaelic-instance runs at most 1024 worker threads: a larger value
    # must not start a server whose every request is a 500.
    ("--threads", "1025", "1 to 1024"),
    ("--max_instances", "-1", "1 to 1000000"),
    ("--header_timeout", "soon", "0.001 to 31536000"),
    # Rounded to 0 ms, a deadline or timeout would mean none at all.
    ("--deadline", "0.0001", "0.001 to 31536000"),
    # Bodies travel to and from an instance in one frame of at most 64 MiB:
    # a larger limit was accepted and then not honoured (500s naming the
    # wrong limit). App Engine's own limit was 32 MB.
    ("--max_request_bytes", str(64 << 20), "1 to 33554432"),
    ("--max_response_bytes", str(64 << 20), "1 to 33554432"),
    ("--max_header_bytes", str(2 << 20), "1 to 1048576"),
    ("--log_level", "loud", "debug, info, warning, error or critical"),
    ("--max_module_instances", "default:0", "1 to 1000000, or SERVICE:N[,SERVICE:N...]"),
    ("--max_module_instances", "default:2,", "1 to 1000000, or SERVICE:N[,SERVICE:N...]"),
    ("--max_module_instances", "two", "1 to 1000000, or SERVICE:N[,SERVICE:N...]"),
    # dev_appserver refused a service named twice (the empty name is default).
    ("--max_module_instances", "default:2,:3", "service default is named twice"),
    # Plain decimal only: strtod read "0x10" as 16 seconds, and strtol
    # took a sign or leading blanks.
    ("--deadline", "0x10", "0.001 to 31536000"),
    ("--max_instances", "+2", "1 to 1000000"),
    ("--max_request_bytes", " 1000", "1 to 33554432"),
    # An id app.yaml's application: would refuse (as dev_appserver refused
    # it from -A): it went as it was into APPLICATION_ID and the console,
    # a quote and a line break splitting the "serving app" line.
    ("--application", "My App", "lowercase letters, digits and '-'"),
    ("--application", 'a"\nb', "lowercase letters, digits and '-'"),
    # Not a host name: the instances' description of the backends, split
    # at blanks, broke, and every zygote exited at start.
    ("--hostname", "my host", "a host name: letters, digits, '-' and dots"),
    ("--hostname", "example..com", "a host name: letters, digits, '-' and dots"),
    # dev_appserver's booleans (true, yes, 1, false, no, 0, any case), for
    # all services or SERVICE:BOOL each, a service named once (an empty one
    # is default).
    ("--threadsafe_override", "maybe", "true or false, also yes/no or 1/0"),
    ("--threadsafe_override", "default:", "true or false, also yes/no or 1/0"),
    ("--threadsafe_override", "default:true,false", "SERVICE:BOOL[,SERVICE:BOOL...]"),
    ("--threadsafe_override", "a:b:true", "SERVICE:BOOL[,SERVICE:BOOL...]"),
    ("--threadsafe_override", "default:true,", "SERVICE:BOOL[,SERVICE:BOOL...]"),
    ("--threadsafe_override", ":true,default:false", "service default is named twice"),
    # dev_appserver's KEY=VALUE, KEY a name app.yaml's env_variables takes.
    ("--env_var", "NO_EQUALS", "KEY=VALUE, KEY a name as in app.yaml's env_variables"),
    ("--env_var", "=value", "KEY=VALUE, KEY a name as in app.yaml's env_variables"),
    ("--env_var", "1ST=value", "KEY=VALUE, KEY a name as in app.yaml's env_variables"),
    ("--env_var", "MY-VAR=value", "KEY=VALUE, KEY a name as in app.yaml's env_variables"),
]


@pytest.mark.parametrize("flag,value,allowed", BAD_FLAG_VALUES)
def test_bad_flag_value_exits_2_naming_flag_and_allowed_values(tmp_path, flag, value, allowed):
    port = [] if flag == "--port" else ["--port", "0"]
    r = run_gaelic("serve", app_path("basic"), *port, "--storage_path", tmp_path / "storage", flag,
                   value)
    assert r.returncode == 2, r
    assert "serving" not in r.stdout
    assert flag in r.stderr and allowed in r.stderr, r.stderr


def test_held_bodies_below_one_body_refuse_the_start(tmp_path):
    """A --max_held_request_bytes below --max_request_bytes made every body
    between the two a 503, "try again later", that no retry could pass."""
    r = run_gaelic("serve", app_path("basic"), "--port", "0", "--storage_path",
                   tmp_path / "storage", "--max_held_request_bytes", "1000000")
    assert r.returncode == 2, r
    assert "serving" not in r.stdout
    assert "--max_held_request_bytes (1000000) is below --max_request_bytes (10485760)" \
        in r.stderr, r.stderr


def test_single_dash_word_is_an_unknown_option(tmp_path):
    """`-p 8080` is not taken for the APPDIR (then 8080 for a stray word)."""
    r = run_gaelic("serve", "-p", "8080", app_path("basic"))
    assert r.returncode == 2, r
    assert "unknown option '-p'" in r.stderr, r.stderr


def test_missing_appdir_exits_2(tmp_path):
    r = run_gaelic("serve", tmp_path / "does-not-exist", "--port", "0")
    assert r.returncode == 2, r
    assert "does-not-exist" in r.stderr, r.stderr


def test_app_yaml_file_itself_serves_its_folder(serve, tmp_path):
    """As `dev_appserver.py app.yaml`: the file, of any name, is the app's
    config and its folder the app."""
    s = serve(os.path.join(HELLO, "app.yaml"))
    assert s.get("/").content == b"Hello, world!"
    s.stop()
    d = copy_app("basic", tmp_path / "renamed")
    os.rename(os.path.join(d, "app.yaml"), os.path.join(d, "live.yaml"))
    s = serve(os.path.join(d, "live.yaml"), "--application", "renamed")
    assert _app_id(s) == "renamed"
    r = run_gaelic("serve", os.path.join(d, "missing.yaml"), "--port", "0")
    assert r.returncode == 2 and "missing.yaml" in r.stderr, r


def test_port_0_prints_url_and_serves_hello(serve):
    s = serve(HELLO)
    assert s.host == HOST
    assert s.port > 0
    assert s.url == "http://%s:%d/" % (HOST, s.port)
    assert s.app_id == "hello"
    r = s.get("/")
    assert r.status_code == 200
    assert r.content == b"Hello, world!"
    assert r.headers["Content-Type"].startswith("text/plain")
    assert r.headers["Content-Length"] == "13"


def test_hello_env_page_shows_appengine_variables(serve):
    s = serve(HELLO)
    r = s.get("/env")
    assert r.status_code == 200, r.content
    lines = dict(line.split("=", 1) for line in r.text.splitlines() if "=" in line)
    assert lines.get("APPLICATION_ID") == "hello", r.text
    assert re.match(r"^1\.\d+$", lines.get("CURRENT_VERSION_ID", "")), r.text
    assert lines.get("SERVER_SOFTWARE", "").startswith("Development/"), r.text
    assert lines.get("DEFAULT_VERSION_HOSTNAME") == "%s:%d" % (HOST, s.port), r.text


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback here")
def test_host_ipv6_loopback(serve):
    """--host ::1 serves there, and both printed URLs put the address in
    brackets (the API server follows the front end onto IPv6)."""
    s = serve(HELLO, "--host", "::1")
    assert s.url == "http://[::1]:%d/" % s.port, s.stdout_text()
    assert re.search(r"(?m)^gaelic: API server at http://\[::1\]:\d+/rpc_http$", s.stdout_text())
    r = s.get("/")
    assert r.status_code == 200 and r.content == b"Hello, world!"


def _instances_serving_at_once(s, n):
    """The instance ids of n one-at-a-time requests (single app) sent at once."""
    got = [None] * n
    barrier = threading.Barrier(n)

    def one(i):
        barrier.wait(5)
        got[i] = requests.get(s.url + "sleep?s=0.3", timeout=30).json()["instance_id"]

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(40)
    assert None not in got, got
    return set(got)


@pytest.mark.parametrize("value", ["1", "backend:3,default:1", " backend :3, :1", "default: 1 ", " 1"])
def test_max_module_instances_is_dev_appservers_max_instances(serve, value):
    """dev_appserver's --max_module_instances (N, or SERVICE:N,... of which
    the app's service's counts) was an unknown option. With one instance,
    requests that arrive together wait for it (the default 4 would take
    them on more)."""
    s = serve(app_path("single"), "--max_module_instances", value)
    assert len(_instances_serving_at_once(s, 4)) == 1


def test_max_module_instances_without_the_apps_service_is_said(serve):
    s = serve(app_path("single"), "--max_module_instances", "backend:1")
    assert s.wait_stderr("--max_module_instances backend:1: no entry for this app's service, "
                         "default; it has --max_instances 4"), s.stderr_text()


def test_skip_sdk_update_check_is_taken(serve):
    """dev_appserver's --skip_sdk_update_check, in many of its command
    lines, was an unknown option (exit 2); gaelic checks for no update."""
    s = serve(HELLO, "--skip_sdk_update_check")
    assert s.get("/").content == b"Hello, world!"


@pytest.mark.parametrize("words", [["--skip_sdk_update_check=yes"],
                                   ["--skip_sdk_update_check", "True"],
                                   ["--skip_sdk_update_check=0"]])
def test_boolean_options_take_dev_appservers_values(serve, words):
    """dev_appserver's boolean options took --NAME=BOOL and --NAME BOOL;
    command lines written for it pass --skip_sdk_update_check=yes, which
    was refused (takes no value)."""
    s = serve(HELLO, *words)
    assert s.get("/").content == b"Hello, world!"


def test_a_boolean_option_leaves_the_app_folder_alone(tmp_path):
    # Only a boolean word is taken as the option's value.
    r = run_gaelic("serve", "--skip_sdk_update_check", str(tmp_path / "nothing-here"), "--port",
                   "0")
    assert r.returncode == 2 and "nothing-here" in r.stderr, r


@pytest.mark.parametrize("value,is_json", [("=true", True), ("=No", False), ("", True)])
def test_logs_flags_take_a_boolean(serve, value, is_json):
    s = serve(HELLO)
    s.get("/")
    out = s.wait_logs("GET", *(["--json" + value] if value else ["--json"]))
    assert out.lstrip().startswith("{") == is_json, out


def test_host_checking_refuses_names_of_other_sites(serve):
    """dev_appserver's --enable_host_checking (an unknown option): a page
    of another site that makes its name resolve to 127.0.0.1 (DNS
    rebinding) has the browser send that name as Host, and is refused."""
    s = serve(HELLO, "--enable_host_checking", "--hostname", "example.test")
    for host in ("localhost:%d" % s.port, "127.0.0.1:%d" % s.port, "[::1]:%d" % s.port,
                 "example.test", "www.example.test:8443"):
        r = s.get("/", headers={"Host": host})
        assert (r.status_code, r.content) == (200, b"Hello, world!"), host
    for host in ("evil.example", "evil.example:%d" % s.port, "localhost.evil.example"):
        r = s.get("/", headers={"Host": host})
        assert r.status_code == 400, host
    assert s.wait_stderr("400 Host 'evil.example' names no address of this server "
                         "(--enable_host_checking)"), s.stderr_text()
    # A refused request is logged, and the connection serves on.
    with Conn(s.port) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n"
               b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert c.read_response().status == 400
        assert c.read_response().status == 200


@pytest.mark.parametrize("words", [[], ["--enable_host_checking=false"],
                                   ["--enable_host_checking", "no"]])
def test_host_checking_is_off_unless_asked_for(serve, words):
    # gaelic also serves behind proxies, under names it does not know.
    s = serve(HELLO, *words)
    assert s.get("/", headers={"Host": "www.example.com"}).content == b"Hello, world!"


def test_admin_console_options_are_taken_and_said_to_be_none(serve):
    """A typical dev_appserver command line (Docker: --admin_host=0.0.0.0
    --admin_port=8000) was refused for unknown options."""
    port = free_port()  # left free: nothing listens there
    s = serve(HELLO, "--admin_host=0.0.0.0", "--admin_port", str(port),
              "--enable_host_checking=false", "--skip_sdk_update_check=yes")
    assert s.get("/").content == b"Hello, world!"
    assert "gaelic has no admin console; `gaelic logs` reads the request logs" in \
        s.stderr_text()
    with pytest.raises(OSError):
        socket.create_connection((HOST, port), timeout=2).close()
    r = run_gaelic("serve", HELLO, "--port", "0", "--admin_port", "70000")
    assert r.returncode == 2 and "--admin_port" in r.stderr, r


def test_explicit_port(serve):
    port = free_port()
    s = serve(app_path("basic"), port=str(port))
    assert s.port == port
    assert s.get("/").content == b"ok"


def test_host_that_cannot_be_listened_on_names_the_flags(tmp_path):
    """A --host that is no address of this machine (TEST-NET-3)."""
    r = run_gaelic("serve", app_path("basic"), "--host", "203.0.113.1", "--port", "0",
                   "--storage_path", tmp_path / "storage")
    assert r.returncode == 1, r
    assert "--host, --port: cannot listen on 203.0.113.1:0" in r.stderr, r.stderr
    assert "serving" not in r.stdout


def test_port_in_use_exits_1(tmp_path):
    blocker = socket.socket()
    try:
        blocker.bind((HOST, 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        r = run_gaelic("serve", app_path("basic"), "--port", port,
                       "--storage_path", tmp_path / "storage")
        assert r.returncode == 1, r
        # The flags to change, as the API server's failure names --api_port.
        assert "--host, --port: cannot listen on %s:%d: Address already in use" % (HOST, port) \
            in r.stderr, r.stderr
        assert "serving" not in r.stdout
    finally:
        blocker.close()


def test_log_level_critical_as_dev_appserver_took_it(serve, tmp_path):
    """dev_appserver's --log_level took critical as well (it was refused):
    the console then shows only the app's critical lines, and the server's
    own errors still, or a failed start would say nothing."""
    s = serve(app_path("logs"), "--log_level", "critical")
    assert s.get("/levels?LEVEL7").status_code == 200
    assert s.wait_stderr("critical LEVEL7"), s.stderr_text()[-2000:]
    assert "error LEVEL7" not in s.stderr_text()
    with socket.socket() as blocker:
        blocker.bind((HOST, 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        r = run_gaelic("serve", app_path("basic"), "--port", port, "--log_level", "critical",
                       "--storage_path", tmp_path / "storage")
    assert r.returncode == 1, r
    assert "--host, --port: cannot listen on %s:%d" % (HOST, port) in r.stderr, r.stderr


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback here")
def test_ipv6_port_in_use_names_the_address_in_brackets(tmp_path):
    """'::1:PORT' reads as an address with one more group; [::1]:PORT not."""
    with socket.socket(socket.AF_INET6) as blocker:
        blocker.bind(("::1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        r = run_gaelic("serve", app_path("basic"), "--host", "::1", "--port", port,
                       "--storage_path", tmp_path / "storage")
    assert r.returncode == 1, r
    assert "--host, --port: cannot listen on [::1]:%d" % port in r.stderr, r.stderr


def test_failed_start_says_only_why(tmp_path):
    """The zygote starts beside the master's own set-up; when that fails
    (here the request log cannot be made), the master says why and exits 1,
    and the zygote goes quietly when its channel closes."""
    r = run_gaelic("serve", app_path("basic"), "--port", "0",
                   "--storage_path", "/proc/gaelic-no-such-folder")
    assert r.returncode == 1, r
    assert "request logs: cannot create /proc/gaelic-no-such-folder" in r.stderr, r.stderr
    assert "zygote" not in r.stderr, r.stderr


@pytest.mark.parametrize("where", ["storage", "logs"])
def test_storage_path_that_is_a_file_is_named(tmp_path, where):
    """--storage_path (or a folder of --logs_path) naming a file: SQLite
    said only "unable to open database file"."""
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder\n")
    flags = (["--storage_path", a_file] if where == "storage" else
             ["--storage_path", tmp_path / "storage", "--logs_path", a_file / "logs.db"])
    r = run_gaelic("serve", app_path("basic"), "--port", "0", *flags)
    assert r.returncode == 1, r
    assert "request logs: %s is not a folder" % a_file in r.stderr, r.stderr
    assert "serving" not in r.stdout


def test_log_database_that_cannot_be_opened_says_why(tmp_path):
    """SQLite says only "unable to open database file": the system's
    reason follows it, for gaelic serve and gaelic logs alike."""
    folder = tmp_path / "logs.db"
    folder.mkdir()
    r = run_gaelic("serve", app_path("basic"), "--port", "0", "--storage_path",
                   tmp_path / "storage", "--logs_path", folder)
    assert r.returncode == 1, r
    assert "request logs: %s: opening: unable to open database file (Is a directory)" % folder \
        in r.stderr, r.stderr
    r = run_gaelic("logs", app_path("basic"), "--logs_path", folder)
    assert r.returncode == 1, r
    assert "gaelic logs: %s: " % folder in r.stderr and "(Is a directory)" in r.stderr, r.stderr


def test_log_database_path_too_long_for_sqlite_is_named(tmp_path):
    """SQLite opens no file whose path passes 504 bytes (512, with room for
    "-journal"), and said only "unable to open database file"; the whole
    message is printed however long the path."""
    storage = tmp_path
    while len(str(storage / "logs.db")) <= 600:
        storage = storage / ("d" * 200)
    r = run_gaelic("serve", app_path("basic"), "--port", "0", "--storage_path", storage)
    assert r.returncode == 1, r
    assert "request logs: %s/logs.db: the path is too long for SQLite (%d bytes, at most 504)" % (
        storage, len(str(storage / "logs.db"))) in r.stderr, r.stderr
    assert "serving" not in r.stdout


def test_missing_instance_binary_exits_1_and_names_it(tmp_path):
    """The master runs gaelic-instance from its own folder: without it, it
    says which file it needs instead of serving an app it cannot run."""
    lone = tmp_path / "bin" / "gaelic"
    lone.parent.mkdir()
    shutil.copy(GAELIC_BIN, lone)
    proc = subprocess.run([str(lone), "serve", app_path("basic"), "--port", "0",
                           "--storage_path", str(tmp_path / "storage")],
                          capture_output=True, text=True, timeout=15,
                          env=dict(os.environ, GAELIC_PYTHON_DIR=os.path.join(REPO, "python")))
    assert proc.returncode == 1, proc
    assert str(lone.parent / "gaelic-instance") in proc.stderr, proc.stderr
    assert "serving" not in proc.stdout


# ---------------------------------------------------------------- app id

def _app_id(s):
    return s.get_json("/env")["os_environ"].get("APPLICATION_ID")


def test_app_id_from_flag_wins(serve):
    s = serve(app_path("basic"), "--application", "from-flag")
    assert s.app_id == "from-flag"
    assert _app_id(s) == "from-flag"


def test_app_id_from_dev_appservers_short_flag(serve):
    s = serve(app_path("basic"), "-A", "short-flag")
    assert s.app_id == "short-flag"
    assert _app_id(s) == "short-flag"
    r = run_gaelic("serve", app_path("basic"), "-A")
    assert r.returncode == 2 and "--application needs a value" in r.stderr, r


def test_app_id_from_app_yaml(serve):
    s = serve(app_path("basic"))
    assert s.app_id == "gaelic-test"
    assert _app_id(s) == "gaelic-test"


def without_application(app_yaml):
    return re.sub(r"(?m)^application:.*\n", "", app_yaml)


def test_app_id_from_folder_name(serve, tmp_path):
    d = copy_app("basic", tmp_path / "folder-named-app", without_application)
    s = serve(d)
    assert s.app_id == "folder-named-app"
    assert _app_id(s) == "folder-named-app"


def test_app_id_from_a_folder_name_that_is_no_app_id(serve, tmp_path):
    """As App Engine's ids are: lowercase letters, digits and '-'. The
    folder's own name went into APPLICATION_ID and the console as it was,
    a quote and a line break splitting the "serving app" line. The storage
    folder is named after the id."""
    d = copy_app("basic", tmp_path / 'My "App"\n_1', without_application)
    s = serve(d, storage=False, env=dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache")))
    assert s.app_id == "my-app-1"
    assert _app_id(s) == "my-app-1"
    assert os.path.isfile(tmp_path / "cache" / "gaelic" / "my-app-1" / "logs.db")


# ---------------------------------------------------------------- stopping

def _get_in_thread(url, results, timeout=20):
    def run():
        try:
            results.append(requests.get(url, timeout=timeout))
        except Exception as e:  # reported by the test
            results.append(e)
    t = threading.Thread(target=run)
    t.start()
    return t


def _sleep_in_thread(s, seconds, results, timeout=20):
    """GETs /sleep?s=SECONDS on a thread of its own and returns once the
    request runs in its handler (a bounded wait, asked of the same
    instance: threadsafe), so that a signal sent next finds it running."""
    name = "sleep-%d" % time.monotonic_ns()
    t = _get_in_thread(s.url + "sleep?s=%s&name=%s" % (seconds, name), results, timeout)
    deadline = time.monotonic() + 15
    while not s.get_json("/waiting?name=" + name)["waiting"]:
        assert time.monotonic() < deadline and t.is_alive(), ("/sleep never ran", results)
        time.sleep(0.05)
    return t


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_lets_running_request_finish(serve, sig):
    s = serve(app_path("basic"))
    assert s.get("/").status_code == 200  # an instance is running
    results = []
    t = _sleep_in_thread(s, 1, results)
    kids = s.children()
    assert kids, "no instance processes under the master while a request runs"
    s.send_signal(sig)
    t.join(20)
    assert not t.is_alive()
    assert len(results) == 1 and not isinstance(results[0], Exception), results
    assert results[0].status_code == 200, results[0].content
    assert results[0].json()["end"] - results[0].json()["start"] >= 0.9
    rc = s.wait(15)
    assert rc == 0, "exit code %r\nstderr:\n%s" % (rc, s.stderr_text())
    left = wait_pids_gone(kids, 15)
    assert not left, "instance processes left after exit: %s" % left


def test_stop_delivers_a_large_answer_whole_despite_a_pipelined_request(serve):
    """A keep-alive client reading a large answer has sent its next request
    when the server is told to stop: it reads the whole answer, then EOF.
    The server closed the connection at once with that request unread,
    which sends a reset and drops what the kernel still had to send: the
    answer was cut (4.8 of 8 MB) and the read failed."""
    s = serve(app_path("basic"), "--max_response_bytes", 8 << 20)
    assert s.get("/").status_code == 200  # an instance is running
    n = 8000000
    c = Conn(s.port, timeout=20)
    try:
        c.request("GET", "/bytes?n=%d&ct=application/octet-stream" % n)
        # Not read yet: most of the answer waits in the server's buffers.
        assert s.wait_stderr('"GET /bytes?n=%d&ct=application/octet-stream HTTP/1.1" 200' % n)
        c.request("GET", "/path/next")
        time.sleep(0.2)  # the second request is there before the stop
        s.send_signal(signal.SIGTERM)
        r = c.read_response()
        assert (r.status, len(r.body)) == (200, n)
        assert c.is_closed(10)
    finally:
        c.close()
    assert s.wait(15) == 0, s.stderr_text()


def test_sighup_stops_gracefully(serve):
    """A closed terminal (SIGHUP) stops the server like SIGTERM: the running
    request is answered and the exit status is 0, not death by the signal."""
    s = serve(app_path("basic"))
    assert s.get("/").status_code == 200
    results = []
    t = _sleep_in_thread(s, 1, results)
    kids = s.children()
    s.send_signal(signal.SIGHUP)
    t.join(20)
    assert results and not isinstance(results[0], Exception), results
    assert results[0].status_code == 200
    assert s.wait(15) == 0, s.stderr_text()
    assert not wait_pids_gone(kids, 15)


def test_sigterm_stops_accepting(serve):
    s = serve(app_path("basic"))
    assert s.get("/").status_code == 200
    results = []
    t = _sleep_in_thread(s, 2, results)
    s.send_signal(signal.SIGTERM)
    # The server is draining the running request now.
    assert s.wait_stderr("stopping: finishing running requests"), s.stderr_text()[-3000:]
    got = None
    try:
        with Conn(s.port, timeout=1.5) as c:
            c.request("GET", "/")
            got = c.read_response()
    except Exception:  # refused, reset, closed or timed out: not served
        got = None
    assert got is None or got.status != 200, "a new request was served during shutdown: %r" % got
    t.join(20)
    assert results and not isinstance(results[0], Exception), results
    assert results[0].status_code == 200
    assert s.wait(15) == 0, s.stderr_text()


def test_sigint_exits_0_and_stops_instances(serve):
    s = serve(app_path("basic"))
    assert s.get("/").status_code == 200
    kids = s.children()
    assert kids, "no instance processes after a request"
    s.send_signal(signal.SIGINT)
    rc = s.wait(15)
    assert rc == 0, "exit code %r\nstderr:\n%s" % (rc, s.stderr_text())
    assert not wait_pids_gone(kids, 15)


def test_second_signal_stops_at_once(serve):
    """A second SIGINT does not wait out the 30 s grace of a running
    request: the server exits 0 and leaves no instance behind. The request
    it dropped is logged as the server's doing (503), not the client's
    (499)."""
    s = serve(app_path("basic"))
    assert s.get("/").status_code == 200
    results = []
    t = _sleep_in_thread(s, 60, results, timeout=70)
    kids = s.children()
    s.send_signal(signal.SIGINT)
    assert s.wait_stderr("stopping: finishing running requests")
    s.send_signal(signal.SIGINT)
    rc = s.wait(15)
    assert rc == 0, "exit code %r\nstderr:\n%s" % (rc, s.stderr_text())
    assert not wait_pids_gone(kids, 15), "instances left behind"
    t.join(70)
    assert results and (isinstance(results[0], Exception) or results[0].status_code != 200), results
    out = s.logs("--json", "--limit", "0").stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [row["status"] for row in rows if row["resource"].startswith("/sleep")] == [503], out


def test_idle_sigterm_exits_0(serve):
    s = serve(app_path("basic"))
    s.send_signal(signal.SIGTERM)
    assert s.wait(10) == 0, s.stderr_text()


def test_shutdown_timeout_bounds_the_wait(serve):
    s = serve(app_path("basic"), "--shutdown_timeout", "1")
    assert s.get("/").status_code == 200
    results = []
    t = _sleep_in_thread(s, 30, results, timeout=25)
    kids = s.children()
    t0 = time.monotonic()
    s.send_signal(signal.SIGTERM)
    rc = s.wait(1 + 5)
    elapsed = time.monotonic() - t0
    assert rc is not None, "still running %.1fs after SIGTERM with --shutdown_timeout 1" % elapsed
    assert rc == 0, s.stderr_text()
    assert not wait_pids_gone(kids, 15), "instances left behind"
    t.join(25)
    if results and not isinstance(results[0], Exception):
        assert results[0].status_code != 200, "the 30 s request cannot have completed"


def test_request_log_line_on_stderr(serve):
    """The server's log goes to stderr, one line per request."""
    s = serve(app_path("basic"))
    assert s.get("/path/logged-request-4711").status_code == 200
    assert s.get("/notfound").status_code == 404
    deadline = time.monotonic() + 15
    lines = []
    while time.monotonic() < deadline:
        lines = s.stderr_text().splitlines()
        if any("/notfound" in line for line in lines):
            break
        time.sleep(0.1)
    ok_lines = [line for line in lines if "/path/logged-request-4711" in line]
    nf_lines = [line for line in lines if "/notfound" in line]
    assert len(ok_lines) == 1 and "GET" in ok_lines[0] and "200" in ok_lines[0], lines[-20:]
    assert len(nf_lines) == 1 and "404" in nf_lines[0], lines[-20:]


# ---------------------------------------------------------------- console

def _serve_with_stderr(tmp_path, stderr, *flags):
    """Starts the server with stderr on the given fd; returns (proc, port)."""
    out_path = tmp_path / "stdout"
    with open(out_path, "wb") as out:
        proc = subprocess.Popen([GAELIC_BIN, "serve", app_path("basic"), "--port", "0",
                                 "--storage_path", str(tmp_path / "storage")] + list(flags),
                                stdout=out, stderr=stderr, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and proc.poll() is None:
        m = re.search(r"at http://[^/]+:(\d+)/", out_path.read_text())
        if m:
            return proc, int(m.group(1))
        time.sleep(0.05)
    proc.kill()
    proc.wait(5)
    raise AssertionError("the server did not start")


def test_unread_stderr_pipe_does_not_stop_the_server(tmp_path):
    """The console is a pipe nobody reads (`gaelic serve ... 2>&1 | less`,
    paused): once it is full, the server keeps serving, drops the lines
    that do not fit, says how many when the pipe is read again, and still
    stops on SIGTERM."""
    r, w = os.pipe()
    proc, port = _serve_with_stderr(tmp_path, w)
    os.close(w)
    kids, chunks = [], []

    def read_console():
        for _ in range(100000):  # bounded: ends at EOF (the server exited)
            data = os.read(r, 65536)
            if not data:
                return
            chunks.append(data)
    try:
        long_path = "/Nothing-" + "x" * 2000  # a router 404: one ~2 KB console line each
        with Conn(port, timeout=5) as c:
            for _ in range(200):  # ~400 KB of lines: far beyond the pipe's 64 KB
                c.request("GET", long_path)
                assert c.read_response().status == 404
        kids = descendants(proc.pid)
        reader = threading.Thread(target=read_console, daemon=True)
        reader.start()  # the pipe is read again: the next lines say what was dropped
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and b"console lines dropped" not in b"".join(chunks):
            with Conn(port, timeout=5) as c:
                c.request("GET", "/Nothing")
                assert c.read_response().status == 404
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        reader.join(10)
        text = b"".join(chunks).decode("utf-8", "replace")
        assert re.search(r"WARNING \d+ console lines dropped", text), text[-2000:]
        assert "INFO stopped" in text
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        os.close(r)
    assert not wait_pids_gone(kids, 15)


def test_closed_stderr_at_start_is_dev_null(tmp_path):
    """Started with stderr closed (`2>&-`), the server puts /dev/null there
    before opening anything, so no file it opens later (the log database,
    a socket) becomes its console or the instances' output."""
    out_path = tmp_path / "stdout"
    with open(out_path, "wb") as out:
        proc = subprocess.Popen([GAELIC_BIN, "serve", app_path("basic"), "--port", "0",
                                 "--storage_path", str(tmp_path / "storage")],
                                stdout=out, stdin=subprocess.DEVNULL,
                                preexec_fn=lambda: os.close(2))
    try:
        port = None
        deadline = time.monotonic() + 10
        while port is None and time.monotonic() < deadline and proc.poll() is None:
            m = re.search(r"at http://[^/]+:(\d+)/", out_path.read_text())
            port = int(m.group(1)) if m else None
            time.sleep(0.05)
        assert port, "the server did not start"
        assert requests.get("http://%s:%d/path/x" % (HOST, port), timeout=10).text == "/path/x"
        assert os.readlink("/proc/%d/fd/2" % proc.pid) == "/dev/null"
        # The zygote and instances write to the master's output pipe.
        for pid in descendants(proc.pid):
            assert os.readlink("/proc/%d/fd/2" % pid).startswith("pipe:"), pid
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_deps_script_refuses_an_unknown_level():
    """`scripts/deps.sh tests` (for test) installed only the build level's
    packages and exited 0, so the test run failed later on a missing one."""
    r = subprocess.run([os.path.join(REPO, "scripts", "deps.sh"), "tests"], capture_output=True,
                       text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert r.returncode == 2, r
    assert "usage: scripts/deps.sh [build|test|bench] (got 'tests')" in r.stderr, r.stderr
