"""The cgi module's functions python27 apps called and Python 3.8 removed.

App Engine's guestbook tutorial, and the apps written from it, escaped
what users wrote with cgi.escape(text) (quote=True for attributes), and
older code read query strings with cgi.parse_qs and cgi.parse_qsl, which
Python 2.6 had already moved to urlparse. On Python 3.11 each raised
AttributeError. They are put back with Python 2.7's meaning: escape
replaces & < > (and " only when quote is true; html.escape, its
successor, also replaces ' and does so by default), and the two parsers
are urllib.parse's. A cgi module that has them (an app's own) is left
alone.
"""
from google.appengine.runtime import import_hooks


def escape(s, quote=None):
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return s.replace('"', "&quot;") if quote else s


def parse_qs(*args, **kwargs):
    import urllib.parse  # on first use: not on every cold start
    return urllib.parse.parse_qs(*args, **kwargs)


def parse_qsl(*args, **kwargs):
    import urllib.parse
    return urllib.parse.parse_qsl(*args, **kwargs)


def _put_back(cgi):
    for function in (escape, parse_qs, parse_qsl):
        if not hasattr(cgi, function.__name__):
            setattr(cgi, function.__name__, function)


def install():
    import_hooks.when_imported("cgi", _put_back)
