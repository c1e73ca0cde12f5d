"""App code the request's deadline can stop in a thread that outlives it
(RT7, RT11).

A thread a request starts, and a pool worker running a task the request
submitted, run the app's code through call(); stop() raises the deadline's
exception there only while that code runs: never in the runtime's code
around it (which must still release what the request waits on), nor in a
pool worker that has moved on to other work. One stopped before its code
runs raises the exception at once instead of running it.
"""
import threading

import _gaelic


class Stoppable:
    __slots__ = ("_lock", "_ident", "_stop_exc", "_raised")

    def __init__(self):
        # Guards _ident against stop(): an exception must not reach the
        # thread once it has left the app's code.
        self._lock = threading.Lock()
        self._ident = None
        # Set by stop(): a call() not yet begun raises it at once.
        self._stop_exc = None
        self._raised = False

    @property
    def stopped(self):
        return self._stop_exc is not None

    def call(self, fn, *args, **kwargs):
        """fn(*args, **kwargs) in the calling thread, where stop() reaches it."""
        with self._lock:
            self._ident = threading.get_ident()
            stop_exc = self._stop_exc
        try:
            if stop_exc is not None:
                raise stop_exc
            return fn(*args, **kwargs)
        finally:
            # First, with no call before it where an exception could land.
            self._ident = None
            # A stop() that read the ident before has raised by now.
            with self._lock:
                raised = self._raised
            if raised:
                _gaelic.clear_async_exc()

    def stop(self, exc):
        """Raises exc in the app's code call() runs now, or makes the next
        call() raise it. Once: a later stop() does nothing."""
        with self._lock:
            if self._stop_exc is not None:
                return
            self._stop_exc = exc
            if self._ident is not None:
                self._raise_locked(exc)

    def interrupt(self, exc):
        """Raises exc in the app's code call() runs now, if any: a notice
        (the shutdown's), not a stop, so later calls still run. Whether it
        was raised."""
        with self._lock:
            if self._ident is None:
                return False
            self._raise_locked(exc)
            return True

    def _raise_locked(self, exc):
        self._raised = True
        _gaelic.async_raise(self._ident, exc)
