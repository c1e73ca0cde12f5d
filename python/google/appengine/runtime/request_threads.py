"""Threads started by a request belong to it (RT11).

threading.Thread.start is wrapped: a thread started while its creator works
for a request gets the request as its current request and a copy of the
creator's os.environ, and is recorded on the request so the runtime joins it
before the response is sent. Threads cannot outlive their request.

A thread whose `_gaelic_background` attribute is true (the background
thread API) is not tracked and starts with no request.

_thread.start_new_thread is wrapped the same way: App Engine joined the
threads of the `thread` module too, and such a thread would otherwise
outlive its request, with the process environment as its os.environ.
"""
import _thread
import sys
import threading

import _gaelic
from google.appengine.runtime import app_logs, request_state

_original_start = threading.Thread.start
original_bootstrap_inner = threading.Thread._bootstrap_inner
# threading keeps its own reference to the original: Thread.start is not
# affected by the wrapper below.
_original_start_new_thread = _thread.start_new_thread


def _start(self):
    request = request_state.current()
    if request is None or getattr(self, "_gaelic_background", False):
        return _original_start(self)
    environ = dict(request_state.current_environ() or ())
    self._gaelic_context = (request, environ)
    _original_start(self)
    # Recorded only once started: joining a thread that never started
    # would fail.
    request.threads.append(self)


def _bootstrap_inner(self):
    # Runs first thing in the new thread, before run().
    context = self.__dict__.pop("_gaelic_context", None)
    if context is None:
        return original_bootstrap_inner(self)
    request_state.enter(*context)
    try:
        original_bootstrap_inner(self)
    finally:
        # A last line without its newline is still the request's.
        app_logs.flush_thread()
        request_state.leave()


class _LowLevelThread:
    """A thread started with _thread.start_new_thread during a request:
    what join_all and the shutdown notice use of a threading.Thread."""

    __slots__ = ("ident", "_running")

    def __init__(self):
        self.ident = None
        self._running = _thread.allocate_lock()
        self._running.acquire()

    def is_alive(self):
        return self._running.locked()

    def join(self):
        with self._running:
            pass


def _start_new_thread(function, args, kwargs=None):
    request = request_state.current()
    if request is None:
        if kwargs is None:
            return _original_start_new_thread(function, args)
        return _original_start_new_thread(function, args, kwargs)
    # _thread's own checks, made here: they must fail before the thread
    # is recorded on the request.
    if not callable(function):
        raise TypeError("first arg must be callable")
    if not isinstance(args, tuple):
        raise TypeError("2nd arg must be a tuple")
    if kwargs is not None and not isinstance(kwargs, dict):
        raise TypeError("optional 3rd arg must be a dictionary")
    environ = dict(request_state.current_environ() or ())
    record = _LowLevelThread()

    def bootstrap():
        request_state.enter(request, environ)
        try:
            function(*args, **(kwargs or {}))
        except SystemExit:
            pass  # ends the thread quietly, as _thread does
        except BaseException:
            # _thread would report it only once the request context is
            # gone: report it here, the way its unraisable hook does.
            import traceback
            sys.stderr.write("Exception ignored in thread started by: %r\n%s"
                             % (function, traceback.format_exc()))
        finally:
            app_logs.flush_thread()
            request_state.leave()
            record._running.release()

    try:
        record.ident = _original_start_new_thread(bootstrap, ())
    except BaseException:
        record._running.release()
        raise
    request.threads.append(record)
    return record.ident


def join_all(request):
    """Joins every thread the request started, including threads started
    by those threads while we wait."""
    threads = request.threads
    if not threads:
        return
    current = threading.current_thread()
    # Other workers run this instance's queue meanwhile.
    _gaelic.block_begin()
    try:
        while threads:
            t = threads.pop()
            if t is not current:
                t.join()
    finally:
        _gaelic.block_end()


def install():
    """Patches threading.Thread and _thread.start_new_thread. Idempotent."""
    threading.Thread.start = _start
    threading.Thread._bootstrap_inner = _bootstrap_inner
    _thread.start_new_thread = _start_new_thread
    _thread.start_new = _start_new_thread  # its old alias
