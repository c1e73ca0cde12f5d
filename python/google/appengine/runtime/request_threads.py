"""Threads started by a request belong to it (RT11).

threading.Thread.start is wrapped: a thread started while its creator works
for a request gets the request as its current request and a copy of the
creator's os.environ, and is recorded on the request so the runtime joins it
before the response is sent. Threads cannot outlive their request.

A thread whose `_gaelic_background` attribute is true (the background
thread API) is not tracked and starts with no request.
"""
import threading

import _gaelic
from google.appengine.runtime import request_state

_original_start = threading.Thread.start
original_bootstrap_inner = threading.Thread._bootstrap_inner


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
        request_state.leave()


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
    """Patches threading.Thread. Idempotent."""
    threading.Thread.start = _start
    threading.Thread._bootstrap_inner = _bootstrap_inner
