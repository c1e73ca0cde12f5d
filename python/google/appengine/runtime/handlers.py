"""Resolving handler scripts to WSGI applications, cached per instance (RT4).
CGI scripts (file paths ending in .py) are served by runtime.cgi instead.

"main.app" imports module `main` and takes its `app`; "pkg.mod.obj.attr"
imports the longest importable module prefix and follows the rest as
attributes. A failure is logged with the script name and not cached, so the
next request retries the import.

As App Engine's python27 runtime did, the app's appengine_config module (if
it has one) is imported before the first handler, so that what it sets up
(vendor.add('lib'), say) is there for the handlers' imports, and its
webapp_add_wsgi_middleware(app), if defined, wraps the application on every
request. google.appengine.ext.webapp.util.run_wsgi_app wraps with it too
(add_wsgi_middleware), so CGI scripts get the same middleware.
"""
import errno
import sys
from types import ModuleType

from google.appengine.runtime import DeadlineExceededError, app_logs

# The runtime's 500 for a handler that failed (its import, a CGI script
# that raised or wrote no valid head). dispatch tells it from an app's own
# 500 by identity and has the master answer with the app's default error
# page instead, as App Engine did.
ERROR_500 = (
    "500 Internal Server Error",
    [("Content-Type", "text/html; charset=utf-8")],
    b"<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>"
    b"<body><h1>Server Error</h1><p>The application failed while handling this "
    b"request.</p></body></html>\n",
)

_apps = {}
# appengine_config imported (or found absent). Its settings are read then,
# once, as lib_config did: not looked up on every request.
_config_loaded = False
_middleware = None  # its webapp_add_wsgi_middleware, if any


def is_out_of_memory(e):
    """Whether exception e says the instance ran out of memory: MemoryError,
    or OSError ENOMEM, which the import system and os calls raise then.
    Such a failure is not the handler's: it goes up to dispatch, which
    retires the instance."""
    return isinstance(e, MemoryError) or (isinstance(e, OSError) and e.errno == errno.ENOMEM)


def log(script, text):
    """Logs text as an error of the calling request (or on the console
    outside requests), every line prefixed with the script name."""
    app_logs.write(app_logs.ERROR, "\n".join("%s: %s" % (script, line)
                                             for line in text.splitlines()))


def log_exception(script, headline):
    """Logs the exception being handled. It never raises: a failure to log
    must not leave a request unanswered or end a worker thread. Out of
    memory, loading the traceback module can fail (MemoryError, or OSError
    ENOMEM from the import system), and an app can break that module; the
    exception is then logged without its traceback, or, with no memory
    even for that, not at all."""
    failure = sys.exc_info()[1]
    try:
        import traceback  # only on errors: not part of every cold start
        log(script, headline + "\n" + traceback.format_exc())
    except Exception as logging_error:
        try:
            log(script, "%s %s: %s (no traceback: %s: %s)" % (
                headline, type(failure).__name__, failure,
                type(logging_error).__name__, logging_error))
        except Exception:
            pass


def _load(script):
    """(the object script names, the file of the module it is taken
    from, or None). A python3 entrypoint's "module:factory()" comes as
    "module.factory()": the app is what the factory returns, called once
    (gunicorn's application factory)."""
    if script.endswith("()"):
        factory, path = _load(script[:-2])
        app = factory()
        if not callable(app):
            raise TypeError("handler %r returned no callable: %r" % (script, app))
        return app, path
    parts = script.split(".")
    if len(parts) < 2 or not all(parts):
        raise ValueError(
            "handler script %r is not a module path followed by an object name" % script)
    for i in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:i])
        try:
            # importlib.import_module without importing importlib (and
            # warnings) on every cold start.
            __import__(module_name)
            obj = sys.modules[module_name]
            break
        except ModuleNotFoundError as e:
            # Only "this prefix is not a module": then maybe a shorter one
            # is, and the rest are attributes. A missing import inside the
            # module is the app's error and is reported as such.
            if e.name != module_name or i == 1:
                raise
    path = None
    for name in parts[i:]:
        # App Engine's PATH_TRANSLATED: the file of the last module on the
        # way, so "pkg.mod.App.app" gives pkg/mod.py.
        if type(obj) is ModuleType:
            path = getattr(obj, "__file__", None) or path
        obj = getattr(obj, name)
    if not callable(obj):
        raise TypeError("handler %r is not callable: %r" % (script, obj))
    return obj, path


def _load_config():
    """Imports the app's appengine_config, if it has one. A failing one
    raises, and is tried again on the next request (as on App Engine)."""
    global _config_loaded, _middleware
    try:
        __import__("appengine_config")
    except ModuleNotFoundError as e:
        if e.name != "appengine_config":
            raise  # a missing import inside it is the app's error
    else:
        _middleware = getattr(sys.modules["appengine_config"], "webapp_add_wsgi_middleware",
                              None)
    _config_loaded = True


def add_wsgi_middleware(app):
    """app wrapped by appengine_config's webapp_add_wsgi_middleware, or app
    itself when there is none. Imports appengine_config first if no request
    has yet (a failing one raises)."""
    if not _config_loaded:
        _load_config()
    return app if _middleware is None else _middleware(app)


def is_cgi(script):
    """A script path (dir/file.py) rather than a WSGI object path: served
    by google.appengine.runtime.cgi."""
    return script.endswith(".py")


def get(script):
    """Returns (the application for script, the file of its module or
    None), or (None, None) after logging why there is none (the caller
    answers 500)."""
    loaded = _apps.get(script)
    if loaded is None and is_cgi(script):
        log(script, "a CGI script is not a WSGI application")
        return None, None
    try:
        if loaded is None:
            # appengine_config first: it may set up what the handler imports.
            if not _config_loaded:
                _load_config()
            loaded = _apps[script] = _load(script)
        app, path = loaded
        # Inline, not add_wsgi_middleware: every request passes here.
        return (app if _middleware is None else _middleware(app)), path
    except BaseException as e:
        if isinstance(e, DeadlineExceededError) or is_out_of_memory(e):
            # The request ran out of time or memory importing it: not a
            # broken handler (dispatch retires an instance out of memory).
            raise
        log_exception(script, "cannot load the handler:")
        return None, None
