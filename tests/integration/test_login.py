"""Sign-in (SV4): the dev_appserver-compatible /_ah/login page and cookie,
/_ah/logout, login: required / admin with auth_fail_action, the USER_*
environment and google.appengine.api.users."""
import re
import urllib.parse

import pytest

from harness import app_path, http_request, parse_json

COOKIE = "dev_appserver_login"
FORM = [("Content-Type", "application/x-www-form-urlencoded")]


@pytest.fixture(scope="module")
def srv(mserve):
    return mserve(app_path("login"))


def req(srv, path, method="GET", cookie=None, headers=None, body=None):
    h = list(headers or [])
    if cookie is not None:
        h.append(("Cookie", cookie))
    return http_request(srv.port, method, path, headers=h, body=body)


def host(srv):
    return "127.0.0.1:%d" % srv.port


def set_cookie_value(r):
    """The dev_appserver_login value set by r, without quotes."""
    for v in r.header_all("Set-Cookie"):
        m = re.match(r'%s=("?)([^";]*)\1(;|$)' % COOKIE, v)
        if m:
            return m.group(2), v
    raise AssertionError("no %s cookie in %r" % (COOKIE, r))


def sign_in(srv, email="alice@example.com", admin=False, via="post", cont="/"):
    fields = {"email": email, "action": "Login", "continue": cont}
    if admin:
        fields["admin"] = "True"
    q = urllib.parse.urlencode(fields)
    if via == "post":
        r = req(srv, "/_ah/login", "POST", headers=FORM, body=q)
    else:
        r = req(srv, "/_ah/login?" + q)
    assert r.status == 302, r
    value, _ = set_cookie_value(r)
    return r, '%s="%s"' % (COOKIE, value)


def info(srv, path="/info", cookie=None):
    r = req(srv, path, cookie=cookie)
    assert r.status == 200, r
    return parse_json(r)


# ---------- the sign-in page ----------

def test_login_form(srv):
    r = req(srv, "/_ah/login?continue=/required")
    assert r.status == 200
    assert r.header("Content-Type").startswith("text/html")
    body = r.body.decode()
    assert 'name="email"' in body and "test@example.com" in body
    assert 'type="checkbox" name="admin"' in body and "Sign in as Administrator" in body
    assert 'type="hidden" name="continue" value="/required"' in body
    assert 'value="Login"' in body and 'value="Logout"' in body
    assert r.header("Set-Cookie") is None


def test_login_form_escapes_continue(srv):
    r = req(srv, "/_ah/login?continue=%22%3E%3Cscript%3E")
    assert r.status == 200
    assert b"<script>" not in r.body and b"&quot;&gt;&lt;script&gt;" in r.body


def test_login_form_page_stays_utf8_for_a_continue_that_is_not(srv):
    """The page says charset=utf-8: a continue URL's byte that is no UTF-8
    shows as U+FFFD, a valid character as itself."""
    r = req(srv, "/_ah/login?continue=/caf%C3%A9%FF%C3")
    assert r.status == 200
    body = r.body.decode("utf-8")  # raises on invalid UTF-8
    assert 'name="continue" value="/caf\u00e9\ufffd\ufffd"' in body


@pytest.mark.parametrize("via", ["post", "get"])
def test_sign_in_sets_cookie_and_redirects(srv, via):
    r, cookie = sign_in(srv, "bob@example.com", via=via, cont="/required?a=1")
    assert r.header("Location") == "/required?a=1"
    value, raw = set_cookie_value(r)
    assert "Path=/" in raw
    email, admin, uid = value.split(":")
    assert email == "bob@example.com" and admin == "False"
    assert re.fullmatch(r"\d{21}", uid)
    d = info(srv, "/required?a=1", cookie)
    assert d["email"] == "bob@example.com" and d["admin"] is False


def test_user_id_is_stable_and_per_email(srv):
    ids = []
    for email in ("carol@example.com", "carol@example.com", "dave@example.com"):
        r, _ = sign_in(srv, email)
        ids.append(set_cookie_value(r)[0].split(":")[2])
    assert ids[0] == ids[1] and ids[0] != ids[2]


def test_user_id_is_dev_appservers(srv):
    # dev_appserver derived the id from the address's MD5; apps (and their
    # test fixtures) have test@example.com's, whatever case it is typed in.
    for email in ("test@example.com", "Test@Example.COM"):
        r, cookie = sign_in(srv, email)
        assert set_cookie_value(r)[0].split(":")[2] == "185804764220139124118"
        d = info(srv, cookie=cookie)
        assert d["user_id"] == d["env"]["USER_ID"] == "185804764220139124118"
    # A cookie without an id (one a test sets by hand) gets the same.
    d = info(srv, cookie='%s="test@example.com:False:"' % COOKIE)
    assert d["user_id"] == "185804764220139124118"


def test_sign_in_as_admin(srv):
    r, cookie = sign_in(srv, "root@example.com", admin=True)
    assert set_cookie_value(r)[0].startswith("root@example.com:True:")
    assert r.header("Location") == "/"
    assert info(srv, cookie=cookie)["admin"] is True


def test_continue_default_and_same_host_absolute(srv):
    r = req(srv, "/_ah/login?action=Login&email=a%40example.com")
    assert r.status == 302 and r.header("Location") == "/"
    target = "http://%s/required?z=2" % host(srv)
    r, _ = sign_in(srv, cont=target)
    assert r.header("Location") == target


@pytest.mark.parametrize("target", [
    "http://evil.example.com/", "https://evil.example.com/x", "//evil.example.com/",
    "/\\evil.example.com", "javascript:alert(1)", "http://127.0.0.1:1@evil.example.com/",
    "/ok\r\nSet-Cookie: x=1",
])
def test_open_redirects_refused(srv, target):
    r, _ = sign_in(srv, cont=target)
    assert r.header("Location") == "/"
    r = req(srv, "/_ah/logout?continue=" + urllib.parse.quote(target, safe=""))
    assert r.status == 302 and r.header("Location") == "/"


def test_logout_clears_cookie(srv):
    _, cookie = sign_in(srv)
    for path, method, body in [
            ("/_ah/logout?continue=/info", "GET", None),
            ("/_ah/login?action=Logout&continue=/info", "GET", None),
            ("/_ah/login", "POST", "action=Logout&continue=%2Finfo")]:
        r = req(srv, path, method, cookie=cookie, headers=FORM if body else None, body=body)
        assert r.status == 302 and r.header("Location") == "/info"
        raw = [v for v in r.header_all("Set-Cookie") if v.startswith(COOKIE + "=")][0]
        assert "Max-Age=0" in raw and "Path=/" in raw
        assert set_cookie_value(r)[0] == ""


@pytest.mark.parametrize("email", ["a%22b%3Ac", "test", "admin%3Aexample.com"])
def test_invalid_email_rejected(srv, email):
    # An address without '@' signed no one in on dev_appserver (and apps
    # take the part after it): the form refuses it.
    r = req(srv, "/_ah/login?action=Login&email=" + email)
    assert r.status == 400
    assert r.header("Set-Cookie") is None


def test_head_of_login_page(srv):
    r = http_request(srv.port, "HEAD", "/_ah/login")
    assert r.status == 200 and r.body == b""


# ---------- login: handlers ----------

@pytest.mark.parametrize("path", ["/required", "/required/x?a=1&b=%2F", "/admin", "/files/page.txt"])
def test_anonymous_redirected_to_sign_in(srv, path):
    r = req(srv, path)
    assert r.status == 302
    loc = r.header("Location")
    assert loc.startswith("/_ah/login?continue=")
    cont = urllib.parse.unquote(loc[len("/_ah/login?continue="):])
    assert cont == "http://%s%s" % (host(srv), path)
    assert b"login static file" not in r.body


def test_host_without_a_host_name_signs_in_at_the_server_s_address(srv):
    """A Host of a port alone (":80", which the front end takes) would make
    the continue URL "http://:80/required", no http URI (RFC 9110 4.2.1):
    the sign-in goes through the server's own address instead."""
    r = req(srv, "/required/x", headers=[("Host", ":80")])
    assert r.status == 302, r
    cont = urllib.parse.unquote(r.header("Location").split("continue=", 1)[1])
    assert cont == "http://%s/required/x" % host(srv)
    q = urllib.parse.urlencode({"email": "a@example.com", "action": "Login", "continue": cont})
    r = req(srv, "/_ah/login?" + q, headers=[("Host", ":80")])
    assert r.status == 302 and r.header("Location") == cont, r


def test_sign_in_from_https_comes_back_to_https(mserve):
    # Behind a TLS proxy the continue URL was http://, so the signed-in
    # user came back over plain HTTP (which such a site may not serve).
    s = mserve(app_path("login"), "--trusted_proxy", "::1,127.0.0.1")
    r = req(s, "/required/x?a=1", headers=[("X-Forwarded-Proto", "https")])
    assert r.status == 302, r
    cont = urllib.parse.unquote(r.header("Location").split("continue=", 1)[1])
    assert cont == "https://%s/required/x?a=1" % host(s)
    # The sign-in page takes it back there.
    r, _ = sign_in(s, cont=cont)
    assert r.header("Location") == cont
    # Plain HTTP stays http://.
    r = req(s, "/required/x")
    assert r.header("Location").startswith("/_ah/login?continue=http%3A//")


@pytest.mark.parametrize("path", ["/%61dmin/x", "/a%64min", "/re%71uired/x", "/%66iles/page.txt"])
def test_percent_encoded_path_gets_its_handlers_login(srv, path):
    """Handlers match the decoded path, the PATH_INFO the app routes on (as
    dev_appserver matched it): /%61dmin/x is /admin/x, and its login: admin
    holds; matched as sent it fell to the open /.* handler, and the app
    served /admin/x to anyone."""
    r = req(srv, path)
    assert r.status == 302, r
    assert r.header("Location").startswith("/_ah/login?continue=")
    assert b'"path"' not in r.body and b"login static file" not in r.body


def test_sign_in_round_trip(srv):
    r = req(srv, "/required/deep?q=1")
    cont = urllib.parse.unquote(r.header("Location").split("continue=", 1)[1])
    r, cookie = sign_in(srv, "eve@example.com", cont=cont)
    assert r.header("Location") == cont
    path = urllib.parse.urlsplit(cont)
    d = info(srv, path.path + "?" + path.query, cookie)
    assert d["path"] == "/required/deep" and d["email"] == "eve@example.com"


def test_unauthorized_answers_401(srv):
    assert req(srv, "/members_files/page.txt").status == 401
    assert req(srv, "/api_only").status == 401
    _, user = sign_in(srv, "u@example.com")
    r = req(srv, "/members_files/page.txt", cookie=user)
    assert r.status == 200 and r.body == b"login static file\n"
    # A signed-in user's file: no shared cache may keep it for others.
    assert r.header("Cache-Control") == "private, max-age=3600", r.header("Cache-Control")
    assert req(srv, "/api_only", cookie=user).status == 403


def test_non_admin_gets_403(srv):
    _, cookie = sign_in(srv, "user@example.com")
    assert info(srv, "/required", cookie)["email"] == "user@example.com"
    for path in ("/admin", "/files/page.txt"):
        r = req(srv, path, cookie=cookie)
        assert r.status == 403 and b"login static file" not in r.body


def test_admin_allowed(srv):
    _, cookie = sign_in(srv, "boss@example.com", admin=True)
    d = info(srv, "/admin", cookie)
    assert d["admin"] is True and d["env"]["USER_IS_ADMIN"] == "1"
    r = req(srv, "/files/page.txt", cookie=cookie)
    assert r.status == 200 and r.body == b"login static file\n"
    # No expiration: App Engine's 10 minutes, yet a signed-in user's file,
    # which no shared cache may keep for others.
    assert r.header("Cache-Control") == "private, max-age=600", r.header("Cache-Control")
    assert info(srv, "/api_only", cookie)["email"] == "boss@example.com"


# ---------- environment and users API ----------

def test_signed_out_values(srv):
    d = info(srv)
    assert d["signed_in"] is False and d["admin"] is False
    assert d["user_error"] == "UserNotFoundError"
    assert d["env"] == {"USER_EMAIL": "", "USER_ID": "", "USER_NICKNAME": "",
                        "USER_IS_ADMIN": "0", "AUTH_DOMAIN": "gmail.com"}


def test_signed_in_values(srv):
    r, cookie = sign_in(srv, "frank@example.com")
    uid = set_cookie_value(r)[0].split(":")[2]
    d = info(srv, cookie=cookie)
    assert d["env"] == {"USER_EMAIL": "frank@example.com", "USER_ID": uid,
                        "USER_NICKNAME": "frank@example.com", "USER_IS_ADMIN": "0",
                        "AUTH_DOMAIN": "gmail.com"}
    assert d["email"] == "frank@example.com" and d["user_id"] == uid
    assert d["nickname"] == "frank@example.com" and d["auth_domain"] == "gmail.com"
    assert d["str"] == "frank@example.com" and d["equal_to_copy"] is True
    assert d["user_error"] is None


def test_nickname_in_auth_domain(srv):
    _, cookie = sign_in(srv, "grace@gmail.com")
    d = info(srv, cookie=cookie)
    assert d["nickname"] == "grace" and d["env"]["USER_NICKNAME"] == "grace"
    assert d["str"] == "grace"


def test_users_compare_with_every_operator(srv):
    # As the SDK's User (functools.total_ordering), not only < and ==.
    assert info(srv)["ordering"] == {"lt": True, "le": True, "gt": True, "ge": True,
                                     "le_self": True, "ge_self": True,
                                     "other_domain_equal": False}


def test_login_and_logout_urls(srv):
    d = info(srv, "/info?k=v")
    base = "http://%s" % host(srv)
    assert d["login_url"] == "/_ah/login?continue=" + urllib.parse.quote(base + "/required?x=1")
    assert d["login_url_default"] == "/_ah/login?continue=" + urllib.parse.quote(base + "/info?k=v")
    assert d["logout_url"] == "/_ah/login?continue=%s&action=Logout" % urllib.parse.quote(base + "/")
    # the login URL works as given
    r, cookie = sign_in(srv, cont=base + "/required?x=1")
    assert r.header("Location") == base + "/required?x=1"


def test_sign_in_round_trip_from_a_raw_non_ascii_url(srv):
    """A target with raw UTF-8 bytes (a client that does not escape them):
    the continue URL has them escaped, as users.create_login_url does, so
    the sign-in page takes the user back there. Raw in the continue URL,
    they made it one the page refuses, and the user landed on "/"."""
    r = req(srv, "/required/caf\xc3\xa9?k=\xe6\x97\xa5")
    assert r.status == 302, r
    cont = urllib.parse.unquote(r.header("Location").split("continue=", 1)[1])
    assert cont == "http://%s/required/caf%%C3%%A9?k=%%E6%%97%%A5" % host(srv)
    r, cookie = sign_in(srv, "eve@example.com", cont=cont)
    assert r.header("Location") == cont
    d = info(srv, "/required/caf%C3%A9?k=%E6%97%A5", cookie)
    assert d["path"] == "/required/caf\xc3\xa9" and d["email"] == "eve@example.com"


def test_sign_in_back_to_a_non_ascii_path(srv):
    """users.create_login_url('/required/caf\u00e9') quotes the path's UTF-8:
    the sign-in page unquotes it to those bytes, which it refused, sending
    the user to "/"; it now goes back there, escaped."""
    r, cookie = sign_in(srv, "eve@example.com", cont="/required/caf\u00e9?k=\u65e5")
    assert r.header("Location") == "/required/caf%C3%A9?k=%E6%97%A5", r
    d = info(srv, r.header("Location"), cookie)
    assert d["path"] == "/required/caf\xc3\xa9" and d["email"] == "eve@example.com"


def test_default_login_url_is_this_requests_url_as_sent(srv):
    # The path's escapes kept: from PATH_INFO (decoded, and latin-1 on
    # Python 3) '/\u65e5' was escaped as mojibake and '%3F' became a '?'.
    d = info(srv, "/info/%E6%97%A5/a%3Fb%23c?k=%E6%97%A5")
    url = "http://%s/info/%%E6%%97%%A5/a%%3Fb%%23c?k=%%E6%%97%%A5" % host(srv)
    assert d["login_url_default"] == "/_ah/login?continue=" + urllib.parse.quote(url)


def test_default_login_url_escapes_a_raw_query_as_the_path_is(srv):
    # The query's raw UTF-8 bytes (QUERY_STRING holds them as latin-1, PEP
    # 3333) were quoted as that text: '\u00e6\u0097\u00a5' (%C3%A6%C2%97%C2%A5)
    # in place of the request's %E6%97%A5.
    r = req(srv, "/info/%E6%97%A5?k=\xe6\x97\xa5")
    assert r.status == 200, r
    url = "http://%s/info/%%E6%%97%%A5?k=%%E6%%97%%A5" % host(srv)
    assert parse_json(r)["login_url_default"] == "/_ah/login?continue=" + urllib.parse.quote(url)


def test_cookie_tolerated_without_quotes_and_among_others(srv):
    d = info(srv, cookie="a=b; %s=hank@example.com:True:123; c=d" % COOKIE)
    assert d["email"] == "hank@example.com" and d["admin"] is True and d["user_id"] == "123"
    d = info(srv, cookie='%s="ivy@example.com:False:"' % COOKIE)
    assert d["email"] == "ivy@example.com" and len(d["user_id"]) == 21


@pytest.mark.parametrize("value", [
    "", '""', "garbage", "a@example.com", "a@example.com:True", "a@example.com:maybe:1",
    ":True:1", "test:True:1", "a@example.com:True:12x", 'a"b@example.com:True:1', "a@example.com:True:1:2",
    "x" * 300 + ":True:1",
])
def test_malformed_cookie_is_signed_out(srv, value):
    cookie = "%s=%s" % (COOKIE, value)
    d = info(srv, cookie=cookie)
    assert d["signed_in"] is False and d["env"]["USER_EMAIL"] == ""
    r = req(srv, "/admin", cookie=cookie)
    assert r.status == 302 and r.header("Location").startswith("/_ah/login?continue=")
