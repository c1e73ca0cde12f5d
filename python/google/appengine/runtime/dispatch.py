"""The request loop of an instance.

The zygote imports this module and calls prepare_zygote() before forking, so
every instance starts with the hooks installed and the modules loaded. A new
instance calls start_workers(): each worker thread takes requests from the C
reader (_gaelic.next_request), runs the handler, joins the threads the
request started, and sends the response (_gaelic.send_response). Background
requests (google.appengine.runtime.background) each get a thread of their
own instead, started by the channel reader.
"""
import faulthandler
import os
import sys
import threading

import _gaelic
from google.appengine.api import backends
from google.appengine.runtime import DeadlineExceededError, app_logs, background, cgi, deadline
from google.appengine.runtime import cgi_compat, django_compat, handlers, jinja2_compat, yaml_compat
from google.appengine.runtime import request_environ, request_futures, request_state
from google.appengine.runtime import request_threads, sandbox, signal_compat, site_builtins
from google.appengine.runtime import werkzeug_compat, wsgi, wsgiref_compat

# Modules most apps use, loaded in the zygote so instances share them.
_PRELOAD = ("io", "traceback", "json", "logging", "urllib.parse", "datetime",
            "base64", "hashlib", "email.utils", "wsgiref.util",
            "google.appengine.api.logservice.logservice")
# What preload() imported with them, while instances forked later share it.
_preloaded = []

_FAILED = handlers.ERROR_500 + (False, True)


def prepare_zygote():
    """Installs the process-wide hooks. No app code runs here."""
    # A crash in C (a broken extension, a segfault at import) leaves no
    # Python traceback to log: the fault handler writes the crashing
    # thread's stack, file and line, to the console (fd 2) as the
    # instance dies. Only that thread's: the idle workers' add nothing.
    faulthandler.enable(file=sys.__stderr__, all_threads=False)
    # The server's backends, for google.appengine.api.backends; not an
    # environment variable apps should see.
    backends.configure(os.environ.pop("GAELIC_BACKENDS", ""))
    site_builtins.install()
    request_environ.install()
    request_threads.install()
    request_futures.install()
    # A WSGI handler's stdout is log output, not the response (RT9); a CGI
    # script's is its response (RT3): sys.stdout/stdin depend on the thread.
    cgi.install()
    sandbox.install()
    deadline.install()
    cgi_compat.install()
    django_compat.install()
    jinja2_compat.install()
    yaml_compat.install()
    werkzeug_compat.install()
    wsgiref_compat.install()
    signal_compat.install()
    _gaelic.set_api_cpu_hook(request_state.add_api_cpu)
    _gaelic.set_background_request_hook(_start_background_request)
    _gaelic.set_wsgi_defaults({
        "wsgi.version": (1, 0),
        # The request's app log (warning), even while the app has put
        # something else in sys.stderr.
        "wsgi.errors": app_logs.stderr,
        "wsgi.multithread": _gaelic.threads > 1,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
    })


def preload(app_root):
    """Imports modules most apps use, so instances forked later share them.
    Runs after the first instance is forked: a cold start does not wait.

    The app folder is first on sys.path, so the first instance imports an
    app's own module of such a name (a calendar.py, a backport vendored in
    lib/) where later ones would find the preloaded one: one import would
    then give different modules on different instances. When the app has
    any, the preloaded modules are dropped again, and every instance
    imports what it needs as the first one does."""
    global _preloaded
    before = set(sys.modules)
    for name in _PRELOAD:
        __import__(name)
    _preloaded = [name for name in sys.modules if name not in before]
    app_changed(app_root)
    # The zygote loads only bytecode, so the compiler has not run yet; its
    # first use sets up tables (1.2-1.6 ms here) that each later instance
    # would pay for when it compiles the app's script (app folders are
    # read-only to instances: a .pyc is there only if something else wrote
    # it). Not before the first fork: an app with its .pyc never compiles.
    compile("pass", "<warm-up>", "exec")


def app_changed(app_root):
    """Drops the preloaded modules when the app now has a module of one of
    their names (the zygote calls it at preload, and with
    --automatic_restart whenever the app's files change: a calendar.py
    added later must not be shadowed by the preloaded one). Returns
    whether it dropped them: instances forked before then hold them."""
    global _preloaded
    # Only new top-level modules: a package loaded before (google, urllib)
    # finds its submodules in its own folders, whatever the app has.
    if not _preloaded or not _app_has_modules(
            app_root, {name for name in _preloaded if "." not in name}):
        return False
    for name in _preloaded:
        sys.modules.pop(name, None)
    _preloaded = []
    return True

# At most this many folder entries of the app are looked at for modules;
# past it, the app is taken to have some.
_APP_ENTRIES_MAX = 50000


def _app_has_modules(app_root, names):
    """Whether the app has, in any of its folders, a module or package of
    one of these top-level names (name.py, name.pyc, or a folder name
    holding Python files) it may import (not skipped, not static-only)."""
    seen = 0
    for folder, dirs, files in os.walk(app_root):  # symlinked folders are not entered
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
        seen += len(dirs) + len(files)
        if seen > _APP_ENTRIES_MAX:
            return True
        if os.path.basename(folder) in names and folder != app_root and any(
                _is_code(folder, app_root, f) for f in files):
            return True
        for f in files:
            if f.rpartition(".")[0] in names and _is_code(folder, app_root, f):
                return True
    return False


def _is_code(folder, app_root, name):
    """Whether folder/name is a Python file the app's imports may see."""
    if not name.endswith((".py", ".pyc")):
        return False
    rel = os.path.relpath(os.path.join(folder, name), app_root)
    return _gaelic.why_hidden(os.fsencode(rel)) is None


def _run(script, environ):
    if handlers.is_cgi(script):
        # Its output is head and body together: send_response checks each
        # against its own limit (RT10).
        return cgi.run(script, environ, _gaelic.MAX_PAYLOAD)
    app, path = handlers.get(script)
    if app is None:
        return handlers.ERROR_500
    if path is not None:
        # As App Engine's python27 runtime did for WSGI handlers too: the
        # handler's module file, in the request's os.environ and environ
        # (apps found files beside their code from it). The request's
        # os.environ dict is set directly: os.environ's own checks cost
        # several times more, on every request.
        environ["PATH_TRANSLATED"] = request_state.current_environ()["PATH_TRANSLATED"] = path
    return wsgi.run(app, environ, _gaelic.MAX_RESPONSE_BYTES)


# Said to the master (IPC_RETIRE) by an instance whose request failed with
# MemoryError: made now, since then there may be no memory to make it.
_OUT_OF_MEMORY = ("ran out of memory (its address space is --instance_memory); a new "
                  "instance serves what comes next")


def _out_of_memory():
    """A request ran out of memory: what the app keeps (a module's
    cache, a leak) may leave every later request on this instance short
    too, so the instance retires, as App Engine shut down an instance over
    its memory limit after the request. The request is still answered."""
    try:
        _gaelic.retire(_OUT_OF_MEMORY)
    except MemoryError:
        pass  # no memory even for that: the instance goes on as it is


def _log_retired(request_id):
    """Says in the request's own log, after its traceback, that its
    instance is shut down for lack of memory and after how many requests
    (App Engine put such a line in the request log too): the console that
    _out_of_memory's retirement reaches is not where the app's developer
    reads why an instance went away. Request ids count an instance's
    requests from 1. Without memory for it, the line is left out."""
    try:
        app_logs.write(app_logs.CRITICAL,
                       "this instance ran out of memory (--instance_memory) after serving %d "
                       "request%s in all; it is shut down after this request"
                       % (request_id, "" if request_id == 1 else "s"))
    except Exception:
        pass


def _handle(request_id, script, environ, cgi_env, run=_run):
    """Runs one request with run(script, environ): (status, headers, body,
    deadline_exceeded, failed). failed: the answer is the runtime's 500 for
    an app that raised or answered wrongly, which the master replaces with
    the app's default error page, as App Engine did."""
    if environ is None:  # the C side failed to build it and said why
        return _FAILED
    request = request_state.Request(request_id, cgi_env)
    request.cpu_origin = _gaelic.request_cpu_origin()
    request_state.begin(request)
    returned = False
    try:
        try:
            try:
                answer = run(script, environ)
                answer += (False, answer is handlers.ERROR_500)
                returned = True
            finally:
                request_threads.join_all(request)
            if request.out_of_memory:
                _out_of_memory()
                _log_retired(request_id)
            return answer
        except DeadlineExceededError:
            # The master answers with the app's timeout page (RT7).
            if returned and request.stopped_threads:
                # The app had answered: its traceback would only show the
                # runtime's wait. Say what it waited for, and why (a
                # thread started at import, say, as python3 libraries do).
                handlers.log(script, "request %d ran past its deadline waiting for %s it "
                             "started: %s" % (request_id, request.stopped_threads,
                                              request_threads.RT11_HINT))
            else:
                handlers.log_exception(script, "request %d ran past its deadline:" % request_id)
            return handlers.ERROR_500 + (True, True)
        except wsgi.ResponseTooLarge as e:
            handlers.log(script, "response not sent: %s" % e)
            return _FAILED
        except BaseException as e:
            out_of_memory = handlers.is_out_of_memory(e)
            if out_of_memory:
                _out_of_memory()
            handlers.log_exception(script, "request %d failed:" % request_id)
            if out_of_memory:
                _log_retired(request_id)
            return _FAILED
        finally:
            # From here on the deadline cannot land (send_response disarms
            # too, for the paths that never get here).
            _gaelic.deadline_disarm()
    finally:
        app_logs.flush_thread()
        request_state.end(request)
        if not request_state.running:
            _restore_globals()


def _restore_globals():
    """Puts the runtime's sys.stdout, sys.stderr and sys.stdin back if the
    app replaced them and left them so: they are process-wide, and later
    requests would lose their log lines to the app's object (and CGI
    scripts their response); os.environ likewise (request_environ.restore).
    Only once no request runs, so that one request's
    contextlib.redirect_stdout is not undone by another's end."""
    if sys.stderr is not app_logs.stderr:
        sys.stderr = app_logs.stderr
    cgi.install()
    request_environ.restore()


def _serve(item, run=_run):
    """Runs one request (next_request's item) and answers it."""
    request_id, script = item[0], item[1]
    send_response = _gaelic.send_response
    try:
        status, headers, body, timed_out, failed = _handle(*item, run=run)
    except BaseException as e:
        # A deadline can land in the runtime itself, just before or
        # after the handler.
        timed_out = isinstance(e, DeadlineExceededError)
        if handlers.is_out_of_memory(e):
            _out_of_memory()
        handlers.log_exception(script, "request %d failed in the runtime:" % request_id)
        status, headers, body = handlers.ERROR_500
        failed = True
    try:
        send_response(request_id, status, headers, body, timed_out, failed)
    except BaseException as e:
        if handlers.is_out_of_memory(e):
            _out_of_memory()
        try:
            handlers.log(script, "request %d: response not sent: %s: %s"
                         % (request_id, type(e).__name__, e))
        except Exception:
            pass  # the 500 below matters more
        try:
            send_response(request_id, *_FAILED)
        except BaseException:
            # The request would stay unanswered and shutdown would wait
            # for it forever: fail loudly instead.
            handlers.log_exception(script, "cannot answer request %d:" % request_id)
            try:
                sys.stderr.flush()
            finally:
                os._exit(5)


def _worker():
    _gaelic.set_thread_name("gaelic-worker")
    next_request = _gaelic.next_request
    while True:
        try:
            item = next_request()
            if item is None:
                return  # shutting down and nothing left to run
            _serve(item)
        except BaseException:
            # Out of memory building the request (it is lost; the master's
            # deadline covers it), or an exception meant for a request
            # (the shutdown hook's) landing between two: this worker keeps
            # serving, and keeps counting as one (request_queue.h), even
            # when there is no memory left to log it.
            handlers.log_exception("gaelic", "worker: outside any request:")


def _serve_background(item):
    _gaelic.set_thread_name("gaelic-background")
    _gaelic.adopt_request(item[0])
    try:
        _serve(item, background.run)
    finally:
        background.ended(item[0])


def _start_background_request(item):
    """_gaelic's background request hook: called by the channel reader as
    the request arrives, so that background_thread counts it at once."""
    background.arrived(item[0])
    try:
        threading.Thread(target=_serve_background, args=(item,), daemon=True,
                         name="gaelic-background-request").start()
    except BaseException:
        background.ended(item[0])
        handlers.log_exception("/_ah/background", "cannot start background request %d:" % item[0])
        _gaelic.send_response(item[0], *handlers.ERROR_500)


def _add_apps_google_folder(root):
    """RT5: the app's own packages under google/ (google/cloud, say)
    import beside google.appengine. The runtime's `google` package was
    imported before the app folder was on sys.path, so its __path__ (see
    google/__init__.py) does not have the app's folder yet."""
    folder = os.path.join(root, "google")
    google = sys.modules["google"]
    if folder not in google.__path__ and os.path.isdir(folder):
        google.__path__.append(folder)


def start_workers(first, stop):
    """Starts worker threads number first..stop-1 of this instance."""
    if first == 0:
        root = os.getcwd()  # the instance has just entered it
        cgi.set_app_root(root)
        _add_apps_google_folder(root)
        app_logs.install()
    for i in range(first, min(stop, _gaelic.threads)):
        threading.Thread(target=_worker, name="gaelic-worker-%d" % i, daemon=True).start()
