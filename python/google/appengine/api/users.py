"""The Users API (SV4) for the development sign-in.

The master reads the dev_appserver_login cookie of each request and puts
the signed-in user in the request's environment (USER_EMAIL, USER_ID,
USER_NICKNAME, USER_IS_ADMIN, AUTH_DOMAIN); this module reads them from
os.environ, which the runtime keeps per request.
"""
import functools
import os
from urllib.parse import quote

__all__ = [
    "Error", "UserNotFoundError", "RedirectTooLongError", "NotAllowedError", "User",
    "get_current_user", "is_current_user_admin", "create_login_url", "create_logout_url",
]

_MAX_URL_LENGTH = 2047
# Every printable ASCII character: what quote() leaves of a query.
_ASCII_PRINTABLE = "".join(map(chr, range(0x21, 0x7f)))
_LOGIN_PATH = "/_ah/login"


class Error(Exception):
    """Base class for errors of this module."""


class UserNotFoundError(Error):
    """No email was given and no user is signed in."""


class RedirectTooLongError(Error):
    """The URL to return to is too long."""


class NotAllowedError(Error):
    """The requested redirection is not allowed."""


def _default_auth_domain():
    return os.environ.get("AUTH_DOMAIN") or "gmail.com"


@functools.total_ordering  # <=, > and >= from __lt__ and __eq__, as in the SDK
class User(object):
    """A user account: an email address in an authentication domain."""

    __slots__ = ("_email", "_auth_domain", "_user_id", "_federated_identity",
                 "_federated_provider")

    def __init__(self, email=None, _auth_domain=None, _user_id=None, federated_identity=None,
                 federated_provider=None, _strict_mode=True):
        if _auth_domain is None:
            _auth_domain = _default_auth_domain()
        if email is None and federated_identity is None:
            email = os.environ.get("USER_EMAIL", "")
            if email and _user_id is None:
                _user_id = os.environ.get("USER_ID") or None
            federated_identity = os.environ.get("FEDERATED_IDENTITY") or None
            federated_provider = os.environ.get("FEDERATED_PROVIDER") or None
        if email is None:
            email = ""
        if not email and not federated_identity and _strict_mode:
            raise UserNotFoundError
        self._email = email
        self._auth_domain = _auth_domain
        self._user_id = _user_id or None
        self._federated_identity = federated_identity
        self._federated_provider = federated_provider

    def email(self):
        return self._email

    def user_id(self):
        return self._user_id

    def auth_domain(self):
        return self._auth_domain

    def federated_identity(self):
        return self._federated_identity

    def federated_provider(self):
        return self._federated_provider

    def nickname(self):
        """The email without "@" + auth domain when it is in that domain."""
        suffix = "@" + self._auth_domain if self._auth_domain else None
        if self._email and suffix and self._email.lower().endswith(suffix.lower()):
            return self._email[:-len(suffix)]
        if self._federated_identity:
            return self._federated_identity
        return self._email

    def _key(self):
        # As the SDK: a user is its federated identity when it has one,
        # else its address, within its auth domain.
        return (self._federated_identity or self._email, self._auth_domain)

    def __eq__(self, other):
        if not isinstance(other, User):
            return NotImplemented
        return self._key() == other._key()

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __lt__(self, other):
        if not isinstance(other, User):
            return NotImplemented
        return self._key() < other._key()

    def __hash__(self):
        return hash(self._key())

    def __str__(self):
        return str(self.nickname())

    def __repr__(self):
        parts = []
        if self._email:
            parts.append("email=%r" % self._email)
        if self._federated_identity:
            parts.append("federated_identity=%r" % self._federated_identity)
        if self._user_id:
            parts.append("_user_id=%r" % self._user_id)
        return "users.User(%s)" % ",".join(parts)


def get_current_user():
    """The signed-in User of this request, or None."""
    try:
        return User()
    except UserNotFoundError:
        return None


def is_current_user_admin():
    """True when the signed-in user is an administrator of the app."""
    return os.environ.get("USER_IS_ADMIN", "0") == "1"


def _absolute(dest_url):
    if "://" in dest_url.split("?", 1)[0]:
        return dest_url
    host = os.environ.get("HTTP_HOST")
    if not host:
        host = os.environ.get("SERVER_NAME", "localhost")
        port = os.environ.get("SERVER_PORT", "80")
        if port != "80":
            host = "%s:%s" % (host, port)
    scheme = "https" if os.environ.get("HTTPS", "off") == "on" else "http"
    if not dest_url.startswith("/"):
        dest_url = "/" + dest_url
    return "%s://%s%s" % (scheme, host, dest_url)


def _continue_url(dest_url):
    if dest_url is None:
        # The path as the client sent it: PATH_INFO is unescaped (a '%3F'
        # in it a '?') and, as PEP 3333 has it, its bytes are latin-1
        # characters, which quote() below would take as text.
        path = os.environ.get("PATH_INFO", "/").encode("latin-1") or b"/"
        dest_url = quote(path, safe="/~!$&'()*+,;=:@")
        query = os.environ.get("QUERY_STRING")
        if query:
            # As the client sent it, but for the bytes that are not ASCII
            # (latin-1 characters here, as the path's), escaped as the
            # path's are: quote() below would take them as text.
            dest_url += "?" + quote(query.encode("latin-1"), safe=_ASCII_PRINTABLE)
    dest = _absolute(dest_url)
    if len(dest) > _MAX_URL_LENGTH:
        raise RedirectTooLongError
    return quote(dest)


def create_login_url(dest_url=None, _auth_domain=None, federated_identity=None):
    """A URL that signs the user in, then goes to dest_url (default: this
    request's URL)."""
    return "%s?continue=%s" % (_LOGIN_PATH, _continue_url(dest_url))


CreateLoginURL = create_login_url


def create_logout_url(dest_url, _auth_domain=None):
    """A URL that signs the user out, then goes to dest_url."""
    return "%s?continue=%s&action=Logout" % (_LOGIN_PATH, _continue_url(dest_url))


CreateLogoutURL = create_logout_url
GetCurrentUser = get_current_user
IsCurrentUserAdmin = is_current_user_admin
