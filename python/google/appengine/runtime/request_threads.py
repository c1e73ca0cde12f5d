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

At the request's deadline (RT7) the wait for its threads ends: the
request's still-running threads get DeadlineExceededError too. One that
has not ended shortly after (blocked in C, where the exception cannot
land) would outlive its request, so the instance retires: the master
shuts it down once its running requests are answered and starts another
for what comes next. The request and those beside it are still answered;
only the master's kill at the end of the grace costs them.
"""
import _thread
import sys
import threading
import time

import _gaelic
from _gaelic import wait_released
from google.appengine.runtime import DeadlineExceededError, app_logs, request_state

# A worker waits for a request's thread in slices of this many seconds: the
# deadline's exception can only land between two (CPython checks for it
# when Python code runs, not in a lock's wait). A thread that ends wakes
# the wait at once, so the usual request does not wait any longer for it.
_JOIN_SLICE = 0.05
# How long the threads told to stop at the deadline get to end before the
# request is answered without them. Within the grace, which is under 1 s.
_STOP_WAIT = 0.25

_original_start = threading.Thread.start
original_bootstrap_inner = threading.Thread._bootstrap_inner
# threading keeps its own reference to the original: Thread.start is not
# affected by the wrapper below.
_original_start_new_thread = _thread.start_new_thread


# CPython's words when the kernel refuses a thread (EAGAIN).
_CANNOT_START = "can't start new thread"


def _raise_named(error):
    """SB6: when the thread cap (or the memory limit) refused a thread,
    raises the same RuntimeError naming the rule; otherwise returns."""
    if isinstance(error, RuntimeError) and str(error) == _CANNOT_START:
        raise RuntimeError(_CANNOT_START + ": sandbox rule SB4: the instance has as many threads "
                           "as it may (--instance_max_threads) or no memory for another") from None


# Thread targets whose threads serve the process, not the request that
# happens to start them (a thread pool's workers: request_futures).
_process_targets = []


def process_thread_target(target):
    if target not in _process_targets:
        _process_targets.append(target)


def _start(self):
    request = request_state.current()
    if (request is None or getattr(self, "_gaelic_background", False) or
            getattr(self, "_target", None) in _process_targets):
        try:
            return _original_start(self)
        except RuntimeError as e:
            _raise_named(e)
            raise
    environ = dict(request_state.current_environ() or ())
    # Held while the thread works for the request: join_all waits on it
    # rather than on Thread.join, which an exception interrupting its wait
    # can leave believing a running thread has ended (bpo-45274's fix
    # releases the lock whoever holds it).
    running = _thread.allocate_lock()
    running.acquire()
    self._gaelic_context = (request, environ, running)
    try:
        _original_start(self)
    except BaseException as e:
        running.release()
        _raise_named(e)
        raise
    self._gaelic_running = running
    # Recorded only once started: joining a thread that never started
    # would fail.
    request.threads.append(self)


def _bootstrap_inner(self):
    # Runs first thing in the new thread, before run().
    context = self.__dict__.pop("_gaelic_context", None)
    if context is None:
        return original_bootstrap_inner(self)
    request, environ, running = context
    request_state.enter(request, environ)
    try:
        original_bootstrap_inner(self)
    finally:
        try:
            # A last line without its newline is still the request's.
            app_logs.flush_thread()
            request_state.leave()
        finally:
            running.release()


class _LowLevelThread:
    """A thread started with _thread.start_new_thread during a request:
    what join_all and the shutdown notice use of a threading.Thread."""

    __slots__ = ("ident", "_gaelic_running")

    def __init__(self):
        self.ident = None
        self._gaelic_running = _thread.allocate_lock()
        self._gaelic_running.acquire()

    def is_alive(self):
        return self._gaelic_running.locked()

    def __repr__(self):
        return "<_thread thread %s>" % self.ident

    def join(self):
        with self._gaelic_running:
            pass


def _start_new_thread(function, args, kwargs=None):
    request = request_state.current()
    if request is None:
        try:
            if kwargs is None:
                return _original_start_new_thread(function, args)
            return _original_start_new_thread(function, args, kwargs)
        except RuntimeError as e:
            _raise_named(e)
            raise
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
            record._gaelic_running.release()

    try:
        record.ident = _original_start_new_thread(bootstrap, ())
    except BaseException as e:
        record._gaelic_running.release()
        _raise_named(e)
        raise
    request.threads.append(record)
    return record.ident


def join_all(request):
    """Joins every thread the request started and waits for the tasks it
    submitted to thread pools (request_futures), including those started
    or submitted by them while we wait. At the request's deadline they are
    stopped instead (_stop); DeadlineExceededError propagates when it
    lands here, so the request fails as if it had landed in the handler."""
    threads, tasks = request.threads, request.tasks
    if not threads and not tasks:
        return
    current = threading.current_thread()
    # Other workers run this instance's queue meanwhile.
    _gaelic.block_begin()
    try:
        t = task = None
        try:
            while threads or tasks:
                if threads:
                    t = threads.pop()
                    ended = None if t is current else t._gaelic_running
                else:
                    task = tasks.pop()
                    ended = task.ended
                while ended is not None and not wait_released(ended, _JOIN_SLICE):
                    # The deadline came before the wait (the handler
                    # caught it or it propagates): it will not land.
                    if _gaelic.deadline_passed():
                        _stop(request, t, task, current)
                        return
                if t is not None and t is not current:
                    t.join()  # the rest of its exit: no Python code of the app
                t = task = None
        except DeadlineExceededError:
            _stop(request, t, task, current)
            raise
    finally:
        _gaelic.block_end()


def _stop(request, thread, task, current):
    """Raises DeadlineExceededError in the request's threads and tasks
    still running (those still on its lists, and thread and task, the ones
    join_all had taken off them), which ends those in Python code or in
    time.sleep; cancels its tasks not started, waits _STOP_WAIT for them,
    and leaves behind those still running, retiring the instance: one
    stuck in C that holds the GIL gets the instance killed anyway, one
    blocked in C without it (a lock, a read) would otherwise hold the
    request past its grace. The lists end empty."""
    # Before the lists are read: what is submitted for the request from
    # now on is stopped at once (request_futures).
    request.stopped = True
    threads, tasks = request.threads + [thread], request.tasks + [task]
    request.threads.clear()
    request.tasks.clear()
    alive = [t for t in threads
             if t is not None and t is not current and t._gaelic_running.locked()]
    for t in alive:
        _gaelic.async_raise(t.ident, DeadlineExceededError)
    running = [task for task in tasks
               if task is not None and task.stop(DeadlineExceededError)]
    end = time.monotonic() + _STOP_WAIT
    for t in alive:
        wait_released(t._gaelic_running, max(0.0, end - time.monotonic()))
    for task in running:
        wait_released(task.ended, max(0.0, end - time.monotonic()))
    left = [t for t in alive if t._gaelic_running.locked()]
    left += [task for task in running if task.ended.locked()]
    for t in left:
        app_logs.write(app_logs.ERROR, "thread %r still runs after the request's deadline: "
                       "left behind; the instance is shut down" % (t,))
    if left:
        _gaelic.retire("has %d thread(s) of request %d still running after its deadline, "
                       "which threads may not outlive (RT11)" % (len(left), request.id))


def install():
    """Patches threading.Thread and _thread.start_new_thread. Idempotent."""
    threading.Thread.start = _start
    threading.Thread._bootstrap_inner = _bootstrap_inner
    _thread.start_new_thread = _start_new_thread
    _thread.start_new = _start_new_thread  # its old alias
