"""Calling a WSGI application exactly as PEP 3333 asks (RT2).

Responses are buffered (RT6): the body is collected whole and handed back;
"headers sent" in the PEP's sense means the body has begun (write() was
called or the iterable yielded a non-empty chunk).

Hop-by-hop headers (Connection, Transfer-Encoding, ...) pass here: PEP 3333
forbids apps to send them, but App Engine dropped them without failing the
request, and so does the master (app_header_dropped in src/conn.c).
"""
import _gaelic

# The checks below use str methods, not re: they run on every response,
# and re is not imported at all on a cold start that does not need it.

# RFC 9110 token characters for header names.
TOKEN_CHARS = ("!#$%&'*+-.^_`|~0123456789"
               "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_TOKEN_BYTES = TOKEN_CHARS.encode("ascii")
# Control characters other than horizontal tab (which field values allow).
_CONTROL = frozenset("".join(map(chr, range(0x20))).replace("\t", "") + "\x7f")
_DIGITS = "0123456789"


def is_token(name):
    """A header name: one or more token characters (str or bytes)."""
    # strip() removes token characters from both ends: none are left
    # exactly when every character is one.
    return bool(name) and not name.strip(TOKEN_CHARS if type(name) is str else _TOKEN_BYTES)


def has_control(value, allow_tab=True):
    # isprintable() is true only without any control character, which is
    # the usual case; tabs and non-ASCII spaces need the exact check.
    if value.isprintable():
        return False
    return any(c in _CONTROL or (c == "\t" and not allow_tab) for c in value)


def _valid_status(status):
    """A final status (200-599), a space and a reason phrase without control
    characters, which may be empty (RFC 9112 4; wsgiref.validate passes "200 ").
    A 1xx is an interim response (RFC 9110 15.2): sent as the answer, the
    client would wait for another (or, after 101, stop speaking HTTP)."""
    return (len(status) >= 4 and status[0] in "2345"
            and status[1] in _DIGITS and status[2] in _DIGITS and status[3] == " "
            and not has_control(status[4:], allow_tab=False))


class ResponseTooLarge(Exception):
    """The body outgrew what the runtime can send in one response."""


def _check_latin1(s, what):
    if not s.isascii():
        try:
            s.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError("%s must be latin-1: %r" % (what, s)) from None


# Statuses and header pairs already found valid: apps send the same few
# again and again, and checking them costs more than the rest of a small
# response. Only exact str objects get here, so equality and hashing are
# str's own. Bounded: short values only, and a full set is emptied (header
# values can be anything).
_VALID_SEEN_MAX = 512
_VALID_SEEN_MAX_LEN = 256
_valid_statuses = set()
_valid_pairs = set()


def _remember(seen, item, length):
    if length <= _VALID_SEEN_MAX_LEN:
        if len(seen) >= _VALID_SEEN_MAX:
            seen.clear()
        seen.add(item)


def with_reason(status):
    """status, or a code alone ("200") with its reason phrase. PEP 3333
    wants the phrase, but App Engine's runtime took the code (its front end
    wrote the phrase), as a CGI script's "Status: 200" is taken here."""
    if type(status) is str and len(status) == 3 and status.isascii() and status.isdigit():
        return "%s %s" % (status, _gaelic.reason_phrase(int(status)))
    return status


def check_status(status):
    if type(status) is not str:
        raise TypeError("status must be str, not %s" % type(status).__name__)
    if status in _valid_statuses:
        return
    if not _valid_status(status):
        raise ValueError(
            "status must be a code 200-599, a space and a reason phrase: %r" % status)
    _check_latin1(status, "status")
    _remember(_valid_statuses, status, len(status))


def check_headers(headers):
    if type(headers) is not list:
        raise TypeError("headers must be a list, not %s" % type(headers).__name__)
    for item in headers:
        if type(item) is not tuple or len(item) != 2:
            raise TypeError("each header must be a (name, value) tuple: %r" % (item,))
        name, value = item
        if type(name) is not str or type(value) is not str:
            raise TypeError("header name and value must be str: %r" % (item,))
        if item in _valid_pairs:
            continue
        if not is_token(name):
            raise ValueError("invalid header name %r" % name)
        if has_control(value):
            raise ValueError("control character in header %s: %r" % (name, value))
        _check_latin1(value, "header %s" % name)
        _remember(_valid_pairs, item, len(name) + len(value))


def _too_large(max_size):
    return "response body exceeds the %d-byte limit (--max_response_bytes)" % max_size


def run(app, environ, max_size):
    """Calls app(environ, start_response) and returns (status, headers,
    body). Exceptions from the app propagate; so does ResponseTooLarge once
    the body would exceed max_size bytes."""
    app_status = app_headers = checked = None
    body_started = False
    # The iterable is exhausted (or failed): the body is what was collected.
    complete = False
    chunks = []
    size = 0

    def write(data):
        nonlocal body_started, size
        if app_status is None:
            raise AssertionError("write() called before start_response()")
        if complete:
            # A thread of the request's, say: its bytes would be dropped.
            raise AssertionError("write() called after the response body was complete")
        if type(data) is not bytes:
            raise TypeError("write() takes bytes, not %s" % type(data).__name__)
        body_started = True
        size += len(data)
        if size > max_size:
            raise ResponseTooLarge(_too_large(max_size))
        chunks.append(data)

    # PEP 3333's parameter names, which App Engine's runtime had too: apps
    # may pass them by keyword.
    def start_response(status, response_headers, exc_info=None):
        nonlocal app_status, app_headers, checked
        if complete:
            raise AssertionError("start_response() called after the response body was complete")
        if exc_info is not None:
            try:
                if body_started:
                    # Too late to change the response: re-raise (PEP 3333).
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # break the traceback cycle
        elif app_status is not None:
            raise AssertionError("start_response() called again without exc_info")
        status = with_reason(status)
        check_status(status)
        check_headers(response_headers)
        app_status, app_headers, checked = status, response_headers, list(response_headers)
        return write

    result = app(environ, start_response)
    try:
        for data in result:
            if type(data) is not bytes:
                raise TypeError(
                    "the application must yield bytes, not %s" % type(data).__name__)
            if data:
                if app_status is None:
                    raise AssertionError(
                        "the application yielded body data before start_response()")
                body_started = True
                size += len(data)
                if size > max_size:
                    raise ResponseTooLarge(_too_large(max_size))
                chunks.append(data)
    finally:
        complete = True
        close = getattr(result, "close", None)
        if close is not None:
            close()
    if size > max_size:
        # write() refused a chunk and the app caught that and went on: the
        # body collected is not the one it meant to send.
        raise ResponseTooLarge(_too_large(max_size))
    if app_status is None:
        raise AssertionError("the application returned without calling start_response()")
    if app_headers != checked:
        # The app changed the list after start_response: what is sent is
        # what is in it now, so that is what must pass.
        check_headers(app_headers)
    if len(chunks) == 1:
        return app_status, app_headers, chunks[0]
    return app_status, app_headers, b"".join(chunks)
