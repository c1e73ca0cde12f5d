"""webapp2_extras, the runtime's own (python/webapp2_extras/), over real
HTTP: json, security, securecookie, sessions (a value kept across requests
by its cookie, a tampered cookie ignored, flashes shown once, the
unavailable backends named), routes (strict_slash, redirect_to(_name),
path/name/handler prefixes, DomainRoute by Host) and jinja2 (listed in
app.yaml; refused by the runtime when it is not)."""
import base64
import os
import urllib.parse

import pytest

from harness import app_path, write_app

DIST = "/usr/lib/python3/dist-packages"
for _package, _debian in (("webob", "python3-webob"), ("jinja2", "python3-jinja2")):
    if not os.path.isdir(os.path.join(DIST, _package)):
        pytest.skip("%s is not installed (scripts/deps.sh)" % _debian, allow_module_level=True)


@pytest.fixture(scope="module")
def srv(mserve):
    return mserve(app_path("webapp2_extras"))


def get(srv, path, **kw):
    return srv.get(path, allow_redirects=False, **kw)


def ok(srv, r):
    assert r.status_code == 200, (r.status_code, r.text[:2000], srv.stderr_text()[-3000:])
    return r


# json, security, securecookie

def test_json_encode_decode_and_helpers(srv):
    r = ok(srv, get(srv, "/json", params={"v": '{"a": [1, "\\u00e9"]}'}))
    # Compact, with '</' escaped for <script> elements.
    assert '"html":"<\\/script>"' in r.text
    assert r.json() == {"value": {"a": [1, "é"]}, "html": "</script>", "b64": True, "quote": True}


def test_security_password_hashes_and_random_strings(srv):
    got = ok(srv, get(srv, "/security")).json()
    assert got["hash_parts"] == ["sha256", 22]
    assert (got["right"], got["wrong"], got["no_pepper"]) == (True, False, False)
    assert len(got["random"]) == 16 and got["random"].isalnum()
    assert len(got["digits"]) == 8 and got["digits"].isdigit()
    assert got["compare"] == [True, False]


def test_securecookie_round_trip_tamper_and_max_age(srv):
    r = ok(srv, get(srv, "/cookie/set"))
    value = r.cookies["signed"].strip('"')
    encoded, timestamp, signature = value.split("|")
    assert len(signature) == 40 and timestamp.isdigit()
    assert get(srv, "/cookie/get", cookies={"signed": value}).json() == {"n": [1, 2]}
    # The value of another cookie name, or changed, or too old: None.
    assert get(srv, "/cookie/get", cookies={"signed": value[:-1] + "x"}).json() is None
    forged = "|".join(("eyJuIjo5fQ==", timestamp, signature))
    assert get(srv, "/cookie/get", cookies={"signed": forged}).json() is None
    assert get(srv, "/cookie/get", params={"max_age": "-10"},
               cookies={"signed": value}).json() is None


# sessions

def test_session_value_kept_across_requests_by_its_cookie(srv):
    r = ok(srv, get(srv, "/session/set", params={"user": "ann"}))
    assert r.json()["new"] is True
    cookie = r.cookies["sess"]
    got = ok(srv, get(srv, "/session/peek", cookies={"sess": cookie})).json()
    assert got == {"user": "ann", "new": False, "flashes": None}
    # A request without the cookie has a new, empty session.
    assert get(srv, "/session/peek").json() == {"user": None, "new": True, "flashes": None}


def test_session_unchanged_sets_no_cookie(srv):
    cookie = get(srv, "/session/set", params={"user": "bo"}).cookies["sess"]
    r = ok(srv, get(srv, "/session/peek", cookies={"sess": cookie}))
    assert "Set-Cookie" not in r.headers


def test_tampered_session_cookie_is_ignored(srv):
    cookie = get(srv, "/session/set", params={"user": "ann"}).cookies["sess"].strip('"')
    encoded, timestamp, signature = cookie.split("|")
    # Another user's data under the signature of ann's.
    evil = base64.b64encode(b'{"user":"admin"}').decode()
    for bad in ("|".join((evil, timestamp, signature)), cookie[:-2], "garbage"):
        got = ok(srv, get(srv, "/session/peek", cookies={"sess": bad})).json()
        assert got == {"user": None, "new": True, "flashes": None}, bad


def test_a_cookie_not_utf8_leaves_the_others_readable(srv):
    cookie = get(srv, "/session/set", params={"user": "ann"}).cookies["sess"]
    # Another cookie whose quoted value is the byte 0xFF: WebOb failed to
    # decode it, and reading any cookie was a 500.
    r = ok(srv, get(srv, "/session/peek", headers={"Cookie": 'x="\\377"; sess=' + cookie}))
    assert r.json()["user"] == "ann"


def test_flashes_show_once(srv):
    cookie = get(srv, "/session/set", params={"user": "cy"}).cookies["sess"]
    r = ok(srv, get(srv, "/session/read", cookies={"sess": cookie}))
    assert r.json()["flashes"] == [["welcome cy", "info"]]
    # Reading them changed the session: the new cookie has none left.
    cookie = r.cookies["sess"]
    r = ok(srv, get(srv, "/session/read", cookies={"sess": cookie}))
    assert r.json() == {"user": "cy", "new": False, "flashes": []}


def test_set_secure_cookie_is_the_session_of_its_name(srv):
    r = ok(srv, get(srv, "/session/prefs", params={"a": "1"}))
    assert r.json() == {"a": "1"}
    # The configured cookie_args apply to it, as to sessions.
    assert "httponly" in r.headers["Set-Cookie"].lower()
    cookie = r.cookies["prefs"]
    # Added to what the request's cookie held, and set once.
    r = ok(srv, get(srv, "/session/prefs", params={"b": "2"}, cookies={"prefs": cookie}))
    assert r.json() == {"a": "1", "b": "2"}
    assert r.headers["Set-Cookie"].count("prefs=") == 1


@pytest.mark.parametrize("backend", ["memcache", "datastore"])
def test_unavailable_session_backends_say_so(srv, backend):
    r = ok(srv, get(srv, "/session/backend", params={"name": backend}))
    assert r.text.startswith("NotImplementedError: ")
    assert repr(backend) in r.text and "gaelic does not provide" in r.text


# appengine.users

def sign_in(srv, admin=False):
    fields = {"email": "alice@example.com", "action": "Login", "continue": "/"}
    if admin:
        fields["admin"] = "True"
    r = srv.post("/_ah/login", data=fields, allow_redirects=False)
    assert r.status_code == 302, r.text
    return {"dev_appserver_login": r.cookies["dev_appserver_login"].strip('"')}


def test_appengine_users_login_and_admin_required(srv):
    for path in ("/signed/in", "/signed/admin"):
        r = get(srv, path + "?x=1")
        assert r.status_code == 302, r.text
        login = r.headers["Location"]
        assert "/_ah/login?continue=" in login, login
        assert urllib.parse.unquote(login.split("continue=", 1)[1]).endswith(path + "?x=1")
    user, admin = sign_in(srv), sign_in(srv, admin=True)
    assert ok(srv, get(srv, "/signed/in", cookies=user)).text == "signed in"
    assert get(srv, "/signed/admin", cookies=user).status_code == 403
    assert ok(srv, get(srv, "/signed/admin", cookies=admin)).text == "admin"
    # The sign-in page comes back with a GET: other methods are refused.
    assert srv.post("/signed/in", cookies=user, allow_redirects=False).status_code == 400


def test_appengine_modules_needing_services_say_so(srv):
    for module in ("sessions_memcache", "sessions_ndb", "auth.models"):
        r = ok(srv, get(srv, "/import", params={"name": "webapp2_extras.appengine." + module}))
        assert r.text.startswith("ImportError: "), r.text
        assert "gaelic does not provide" in r.text


# routes

@pytest.mark.parametrize("path,location", [
    ("/strict/", "/strict"),
    ("/strict/?a=1", "/strict?a=1"),
    ("/slashed", "/slashed/"),
    ("/old", "/strict"),
    ("/elsewhere", "/slashed/"),
])
def test_redirect_routes(srv, path, location):
    r = get(srv, path)
    assert r.status_code == 301, r.text
    assert r.headers["Location"] == "http://127.0.0.1:%d%s" % (srv.port, location)


def test_strict_slash_routes_answer_their_own_form(srv):
    assert ok(srv, get(srv, "/strict")).json()["route"] == "strict"
    assert ok(srv, get(srv, "/slashed/")).json()["route"] == "slashed"


def test_path_and_name_prefixes_match_and_build(srv):
    got = ok(srv, get(srv, "/users/ann/items/3")).json()
    assert got["route"] == "user-item"
    assert got["kwargs"] == {"user": "ann", "item": "3"}
    assert got["profile"] == "/users/zed/profile"
    assert got["item"] == "/users/zed/items/7"
    assert ok(srv, get(srv, "/users/ann/profile")).json()["route"] == "user-profile"
    assert get(srv, "/users/ann").status_code == 404
    assert get(srv, "/profile").status_code == 404


def test_handler_prefix_imports_the_prefixed_name(srv):
    r = ok(srv, get(srv, "/named/x1"))
    assert r.text == "named named x1"


@pytest.mark.parametrize("host,path,text", [
    ("blog.example.test", "/", "host [('sub', 'blog')]"),
    # The port does not stop a match.
    ("blog.example.test:8080", "/", "host [('sub', 'blog')]"),
    ("www.eu.example.test", "/zone", "host [('sub', 'www'), ('zone', 'eu')]"),
    # Hosts no DomainRoute takes go on to later routes.
    ("example.test", "/", "host []"),
    ("a.b.example.test", "/", "host []"),
])
def test_domain_route_by_host(srv, host, path, text):
    r = ok(srv, get(srv, path, headers={"Host": host}))
    assert r.text == text


def test_domain_route_other_hosts_do_not_reach_its_routes(srv):
    assert get(srv, "/zone", headers={"Host": "www.asia.example.test"}).status_code == 404
    assert get(srv, "/zone").status_code == 404


# jinja2

def test_jinja2_renders_with_config_and_uri_for(srv):
    r = ok(srv, get(srv, "/jinja"))
    assert "<title>Jinja</title>" in r.text
    # Autoescaped by default; globals, filters and uri_for from the config.
    assert "<p>&lt;b&gt;ann&lt;/b&gt;|&lt;B&gt;ANN&lt;/B&gt;|gaelic|/users/zed/profile</p>" in r.text


def test_jinja2_without_the_libraries_line_is_the_runtimes_import_error(serve, tmp_path):
    app_yaml = ("application: nojinja\nversion: 1\nruntime: python27\napi_version: 1\n"
                "threadsafe: true\nhandlers:\n- url: /.*\n  script: main.app\n")
    main = ("import webapp2\n"
            "def page(request):\n"
            "    try:\n"
            "        import webapp2_extras.jinja2\n"
            "    except ImportError as e:\n"
            "        return webapp2.Response('ImportError: %s' % e)\n"
            "    return webapp2.Response('imported')\n"
            "app = webapp2.WSGIApplication([('/', page)])\n")
    s = serve(write_app(tmp_path / "app", app_yaml, {"main.py": main}))
    r = s.get("/")
    assert r.status_code == 200, (r.text, s.stderr_text()[-3000:])
    assert r.text.startswith("ImportError: No module named 'jinja2'"), r.text
    assert "libraries:" in r.text


def test_jinja2_compiled_templates_not_with_debug_unless_forced(serve, tmp_path):
    import jinja2
    app_yaml = ("application: compiled\nversion: 1\nruntime: python27\napi_version: 1\n"
                "threadsafe: true\nlibraries:\n- name: jinja2\n  version: latest\n"
                "handlers:\n- url: /debug\n  script: main.debug\n"
                "- url: /forced\n  script: main.forced\n- url: /.*\n  script: main.app\n")
    main = ("import webapp2\n"
            "from webapp2_extras import jinja2\n"
            "def page(request):\n"
            "    return webapp2.Response(jinja2.get_jinja2().render_template('p.html'))\n"
            "def make(debug, forced=False):\n"
            "    return webapp2.WSGIApplication([('/.*', page)], debug=debug, config={\n"
            "        'webapp2_extras.jinja2': {'compiled_path': 'compiled',\n"
            "                                  'force_compiled': forced}})\n"
            "app, debug, forced = make(False), make(True), make(True, True)\n")
    root = write_app(tmp_path / "app", app_yaml, {"main.py": main,
                                                  "templates/p.html": "from the file"})
    # What compile_templates made of an older version of the template.
    jinja2.Environment(loader=jinja2.DictLoader({"p.html": "compiled"})).compile_templates(
        os.path.join(root, "compiled"), zip=None)
    s = serve(root)
    for path, text in (("/", "compiled"), ("/debug", "from the file"), ("/forced", "compiled")):
        r = s.get(path)
        assert (r.status_code, r.text) == (200, text), (path, r.text, s.stderr_text()[-3000:])


def test_strict_slash_redirect_stays_on_the_host(serve, tmp_path):
    app_yaml = ("application: slash\nversion: 1\nruntime: python27\napi_version: 1\n"
                "threadsafe: true\nhandlers:\n- url: /.*\n  script: main.app\n")
    main = ("import webapp2\n"
            "from webapp2_extras.routes import RedirectRoute\n"
            "def page(request, path):\n"
            "    return webapp2.Response('page ' + path)\n"
            "app = webapp2.WSGIApplication([\n"
            "    RedirectRoute('/<path:.*>/', page, 'page', strict_slash=True)])\n")
    s = serve(write_app(tmp_path / "app", app_yaml, {"main.py": main}))
    base = "http://127.0.0.1:%d" % s.port
    assert s.get("/docs/x", allow_redirects=False).headers["Location"] == base + "/docs/x/"
    # '//evil.example' + '/' is a URL of another host: the redirect keeps to this one.
    r = s.get("//evil.example", allow_redirects=False)
    assert r.status_code == 301, (r.text, s.stderr_text()[-3000:])
    assert r.headers["Location"] == base + "/evil.example/"
