"""Answers every page with JSON: what google.appengine.api.users and the
USER_* environment variables say about the current request's user."""
import json
import os

from google.appengine.api import users


def _ordering():
    """Every comparison operator between two users, as sorting, min() and
    max() and app code use them (an error's name if one fails)."""
    a, b = users.User("ann@example.com"), users.User("bob@example.com")
    out = {}
    for name, compare in (("lt", lambda: a < b), ("le", lambda: a <= b), ("gt", lambda: b > a),
                          ("ge", lambda: b >= a), ("le_self", lambda: a <= a),
                          ("ge_self", lambda: a >= a)):
        try:
            out[name] = compare()
        except TypeError as e:
            out[name] = type(e).__name__
    # The same address in another auth domain is another user (the SDK's
    # key is the address, or the federated identity, with the domain).
    other = users.User("ann@example.com", _auth_domain="other.example")
    out["other_domain_equal"] = a == other or hash(a) == hash(other)
    return out


def app(environ, start_response):
    user = users.get_current_user()
    try:
        users.User()
        user_error = None
    except users.UserNotFoundError:
        user_error = "UserNotFoundError"
    out = {
        "path": environ.get("PATH_INFO"),
        "signed_in": user is not None,
        "email": user.email() if user else None,
        "user_id": user.user_id() if user else None,
        "nickname": user.nickname() if user else None,
        "auth_domain": user.auth_domain() if user else None,
        "str": str(user) if user else None,
        "equal_to_copy": (user == users.User(user.email())) if user else None,
        "admin": users.is_current_user_admin(),
        "user_error": user_error,
        "ordering": _ordering(),
        "login_url": users.create_login_url("/required?x=1"),
        "login_url_default": users.create_login_url(),
        "logout_url": users.create_logout_url("/"),
        "env": {k: environ.get(k, os.environ.get(k)) for k in (
            "USER_EMAIL", "USER_ID", "USER_NICKNAME", "USER_IS_ADMIN", "AUTH_DOMAIN")},
    }
    body = json.dumps(out, sort_keys=True).encode("utf-8")
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
