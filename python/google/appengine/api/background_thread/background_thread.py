"""Background threads (BG1-BG3).

A background thread works like a threading.Thread but is not joined at the
end of the request that started it. It runs only on backend instances.
Like App Engine's, it runs as a /_ah/background request of its own: the
master answers its start with that request's environ (its own
REQUEST_LOG_ID, matching the request log its log lines go to, and an API
ticket valid while it runs), which becomes its os.environ; nothing of its
creator's os.environ carries over. At most 10 run per instance, together
with the background requests of system.StartBackgroundRequest
(google.appengine.runtime.background). While one runs, its instance does
not idle out; at shutdown it gets the notice like a request (an exception
the shutdown hook raises is raised in it too), and the instance waits for
it until the grace period ends.
"""
import itertools
import threading
import time

import _gaelic
from google.appengine.runtime import app_logs, background, request_state, request_threads

MAX_THREADS = 10
_ID_BIT = 0x80000000

_lock = threading.Lock()
_live = set()
_ids = itertools.count(1)


class Error(Exception):
    """A background thread could not be started."""


class FrontendsNotSupported(Error):
    """Background threads run only on backend instances."""


class BackgroundThreadLimitReachedError(Error):
    """This instance already runs MAX_THREADS background threads."""


def _reserve():
    with _lock:
        # Background requests (system.StartBackgroundRequest) count too,
        # as in the master.
        if len(_live) + background.running() >= MAX_THREADS:
            raise BackgroundThreadLimitReachedError(
                "this instance already runs %d background threads" % MAX_THREADS)
        bg_id = _ID_BIT | (next(_ids) & 0x7FFFFFFF)
        _live.add(bg_id)
    return bg_id


def _unreserve(bg_id):
    with _lock:
        _live.discard(bg_id)


def _release(bg_id, failed, cpu_ns=0):
    # The slot frees only once the master has the end: a start that takes
    # it must reach the master after it, or the master sees an 11th thread.
    try:
        _gaelic.background_ended(bg_id, failed, cpu_ns)
    finally:
        _unreserve(bg_id)
        _gaelic.release()


class BackgroundThread(threading.Thread):
    """A threading.Thread that outlives the request that starts it."""

    # request_threads: not one of the request's threads, not joined by it.
    _gaelic_background = True

    def start(self):
        # threading's own refusals come first, as in the SDK: a thread that
        # will not run must not take a slot or leave a background request.
        if not self._initialized:
            raise RuntimeError("thread.__init__() not called")
        if self._started.is_set():
            raise RuntimeError("threads can only be started once")
        bg_id = _reserve()
        self._gaelic_failed = False
        # threading reports what run() raised through this hook, whether
        # run is Thread's (a target) or a subclass's own: its request log
        # then ends with 500.
        report = self._invoke_excepthook

        def failed(thread):
            thread._gaelic_failed = True
            report(thread)
        self._invoke_excepthook = failed
        _gaelic.hold()  # the instance waits for it at shutdown
        # The environ lands in answer once the master has opened the
        # thread's request log, even when an exception from outside (the
        # shutdown hook's, raised during the wait for the master) lands as
        # the call returns: that log must be ended then, or the master
        # keeps counting the slot this instance frees.
        answer = []

        def unreserve():
            _unreserve(bg_id)
            _gaelic.release()
        try:
            environ = _gaelic.background_started(bg_id, answer)
        except BaseException as e:
            if answer:
                _release(bg_id, True)
                raise
            unreserve()
            raise Error("cannot start a background thread: %s" % e) from e
        if environ is False:
            # The master's answer for an instance that is not a backend's,
            # whatever its os.environ says (BG2).
            unreserve()
            raise FrontendsNotSupported(
                "background threads run only on backend instances (backends.yaml)")
        self._gaelic_background_context = (bg_id, environ)
        try:
            threading.Thread.start(self)
        except BaseException as e:
            # Thread.start puts the thread in _limbo before it creates it
            # and takes it out again if that fails; the thread leaves it
            # once it has set _started. Otherwise the thread runs (an
            # exception, the shutdown hook's, landed in the wait for it)
            # and releases its slot itself as it ends: the exception goes
            # on as it is.
            if self in threading._limbo or self._started.is_set():
                raise
            _release(bg_id, True)
            if isinstance(e, RuntimeError):
                raise  # no thread to be had (SB4): threading's own error
            raise Error("cannot start a background thread: %s" % e) from e

    def _bootstrap_inner(self):
        bg_id, environ = self._gaelic_background_context
        request = request_state.Request(bg_id, environ)
        # All of this new thread's CPU is its request's: the threads it
        # starts read it from here (quota).
        request.cpu_origin = _gaelic.request_cpu_origin()
        request_state.enter(request, environ)
        request_state.background[request.thread_id] = request
        try:
            request_threads.original_bootstrap_inner(self)
        finally:
            try:
                request_threads.join_all(request)
                app_logs.flush_thread()
            finally:
                request_state.background.pop(request.thread_id, None)
                request_state.leave()
                # Its request log's CPU (RT9): all this thread used.
                _release(bg_id, self._gaelic_failed, time.thread_time_ns())


def start_new_background_thread(target, args, kwargs=None):
    """Starts target(*args, **kwargs) in a background thread; returns its
    thread id."""
    thread = BackgroundThread(target=target, args=args, kwargs=kwargs or {})
    thread.start()
    return thread.ident
