"""wsgiref.handlers for CGI scripts on this runtime.

A CGI script may serve its request with the standard library's bridge,
wsgiref.handlers.CGIHandler().run(app), as App Engine's first tutorial
did. That bridge builds the WSGI environ with read_environ(), which takes
os.environ to hold what a Python 3 process gets from its environment (the
request's bytes decoded as UTF-8, surrogateescape) and turns the request's
variables into PEP 3333's latin-1. Here os.environ holds them in PEP 3333's
form already (one character per byte, as the WSGI environ has them):
converted again, every byte past ASCII would be garbled (the path
/caf%C3%A9 would reach the app as '/cafÃ\\x83Â©', not '/cafÃ©'), so
read_environ() gives them as they are.

BaseHandler.os_environ, the base of every environ a SimpleHandler or
BaseCGIHandler builds, is os.environ copied as the module is imported:
inside a request, that request's variables (its cookies, its credentials),
which every later request without them would get. It is emptied, as App
Engine's webapp module emptied it (CGIHandler has an empty one of its own).
"""
import os

from google.appengine.runtime import import_hooks


def _read_environ():
    return dict(os.environ)


def _adapt(handlers):
    handlers.read_environ = _read_environ
    handlers.BaseHandler.os_environ = {}


def install():
    import_hooks.when_imported("wsgiref.handlers", _adapt)
