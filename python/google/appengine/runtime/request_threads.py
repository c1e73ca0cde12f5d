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
only the master's kill at the end of the grace costs them. A thread started
for the request from then on (one the exception ended may start another as
it ends) raises DeadlineExceededError as it begins instead of running the
app's code, and is waited for the same way.
"""
import _thread
import functools
import sys
import threading
import time

import _gaelic
from _gaelic import wait_released
from google.appengine.runtime import DeadlineExceededError, app_logs, request_state, stoppable

# A worker waits for a request's thread in slices of this many seconds: the
# deadline's exception can only land between two (CPython checks for it
# when Python code runs, not in a lock's wait). A thread that ends wakes
# the wait at once, so the usual request does not wait any longer for it.
_JOIN_SLICE = 0.05
# How long the threads told to stop at the deadline get to end before the
# request is answered without them. Within the grace, which is under 1 s.
_STOP_WAIT = 0.25
# A request still waiting for its threads this many seconds after its
# handler returned says so once: with python3's 10-minute deadline, a thread
# that never ends (one a library starts at import) would otherwise leave
# the client waiting with nothing on the console to say why.
_WAIT_WARN = 5.0

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
                           "as it may (--instance_max_threads) or no memory for another "
                           "(--instance_memory)") from None


# Thread targets whose threads serve the process, not the request that
# happens to start them (a thread pool's workers: request_futures).
_process_targets = []


def process_thread_target(target):
    if target not in _process_targets:
        _process_targets.append(target)


class _Run(stoppable.Stoppable):
    """A thread started for a request: what join_all, _stop and the
    shutdown notice use of it."""

    __slots__ = ("thread", "ident", "running")

    def __init__(self, thread):
        super().__init__()
        # The threading.Thread; None for one of _thread.start_new_thread.
        self.thread = thread
        self.ident = None  # set by the thread as it begins
        # Held while the thread works for the request: join_all waits on it
        # rather than on Thread.join, which an exception interrupting its
        # wait can leave believing a running thread has ended (bpo-45274's
        # fix releases the lock whoever holds it).
        self.running = _thread.allocate_lock()
        self.running.acquire()

    def is_alive(self):
        return self.running.locked()

    def join(self):
        """The rest of the thread's exit once it released running: no
        Python code of the app."""
        if self.thread is not None:
            self.thread.join()

    def drop(self, request):
        """The thread was never started: nothing is to wait for."""
        try:
            request.threads.remove(self)
        except ValueError:
            pass  # join_all or _stop took it meanwhile
        self.running.release()

    @property
    def name(self):
        if self.thread is not None:
            return self.thread.name
        return "_thread %s" % self.ident

    def __repr__(self):
        if self.thread is not None:
            return repr(self.thread)
        return "<_thread thread %s>" % self.ident


# A request prunes its ended threads from its list once it holds this many:
# one with no deadline (a backend's, a background thread's) may start
# threads for as long as it runs, and its list would otherwise keep every
# one of them (and what they hold) until it ends.
_PRUNE_AT = 64


def _prune(threads):
    """Takes the threads that have ended altogether off a request's list,
    one at a time: its other threads append meanwhile, and join_all pops."""
    for t in [t for t in threads if not t.is_alive() and
              (t.thread is None or not t.thread.is_alive())]:
        try:
            threads.remove(t)
        except ValueError:
            pass  # join_all took it meanwhile


def _record(request, thread):
    """A _Run for thread, about to start for request, on its list before
    the thread starts: an exception landing in the starter once the thread
    runs cannot leave the thread unlisted. A request whose deadline stopped
    its threads already gets no more: the new thread raises
    DeadlineExceededError at once instead of running the app's code."""
    run = _Run(thread)
    if len(request.threads) >= _PRUNE_AT:
        _prune(request.threads)
    request.threads.append(run)
    # After the append: either _stop, which marks the request stopped
    # before it takes the list, takes this one too, or this sees the mark.
    if request.stopped:
        run.stop(DeadlineExceededError)
    return run


def _start(self):
    request = request_state.current()
    if (request is None or getattr(self, "_gaelic_background", False) or
            getattr(self, "_target", None) in _process_targets or
            not getattr(self, "_initialized", False) or self._started.is_set()):
        # (Thread.start refuses the last two: nothing to record.)
        try:
            return _original_start(self)
        except RuntimeError as e:
            _raise_named(e)
            raise
    environ = dict(request_state.current_environ() or ())
    run = _record(request, self)
    self._gaelic_context = (request, environ, run)
    try:
        _original_start(self)
    except BaseException as e:
        # Thread.start puts the thread in _limbo before it creates it, and
        # takes it out again if that fails; the thread moves itself from
        # there to _active once it has set _started. Otherwise it runs (an
        # exception landed in the wait for it) and stays on the list.
        if not (self in threading._limbo or self._started.is_set()):
            self.__dict__.pop("_gaelic_context", None)
            run.drop(request)
            _raise_named(e)
        raise


def _bootstrap_inner(self):
    # Runs first thing in the new thread, before run().
    context = self.__dict__.pop("_gaelic_context", None)
    if context is None:
        return original_bootstrap_inner(self)
    request, environ, run = context
    run.ident = threading.get_ident()
    request_state.enter(request, environ)
    # The deadline's exception lands in the app's run() only, never in
    # threading's code around it.
    own_run = self.__dict__.get("run")
    self.run = functools.partial(run.call, self.run)
    try:
        original_bootstrap_inner(self)
    finally:
        try:
            if own_run is None:
                del self.run
            else:
                self.run = own_run
            # A last line without its newline is still the request's.
            app_logs.flush_thread()
            request_state.leave()
        finally:
            run.running.release()


# What _thread.start_new_thread itself refuses a thread with.
_REFUSED = (RuntimeError, MemoryError)


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
    run = _record(request, None)

    def bootstrap():
        run.ident = threading.get_ident()
        request_state.enter(request, environ)
        try:
            run.call(function, *args, **(kwargs or {}))
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
            run.running.release()

    try:
        return _original_start_new_thread(bootstrap, ())
    except _REFUSED as e:
        run.drop(request)
        _raise_named(e)
        raise


def join_all(request):
    """Joins every thread the request started and waits for the tasks it
    submitted to thread pools (request_futures), including those started
    or submitted by them while we wait. At the request's deadline they are
    stopped instead (_stop); DeadlineExceededError propagates when it
    lands here, so the request fails as if it had landed in the handler."""
    threads, tasks = request.threads, request.tasks
    if not threads and not tasks:
        return
    current = threading.get_ident()
    warn_at = time.monotonic() + _WAIT_WARN
    try:
        # Other workers run this instance's queue meanwhile. Inside the try:
        # a deadline landing just after it would otherwise skip block_end
        # and leave the worker counted as blocked for good (an end without
        # its begin does nothing).
        _gaelic.block_begin()
        t = task = None
        try:
            while threads or tasks:
                if threads:
                    t = threads.pop()
                    ended = None if t.ident == current else t.running
                else:
                    task = tasks.pop()
                    ended = task.ended
                while ended is not None and not wait_released(ended, _JOIN_SLICE):
                    # The deadline came before the wait (the handler
                    # caught it or it propagates): it will not land.
                    if _gaelic.deadline_passed():
                        _stop(request, t, task, current)
                        return
                    if warn_at is not None and time.monotonic() >= warn_at:
                        warn_at = None
                        _warn_waiting(t, task)
                if t is not None and t.ident != current:
                    t.join()
                t = task = None
        except DeadlineExceededError:
            _stop(request, t, task, current)
            raise
    finally:
        _gaelic.block_end()


# Why a request waits for its threads, and the way out, for the messages
# that say it is waiting (here) or ran past its deadline waiting (dispatch).
RT11_HINT = ("a request's threads are joined before it is answered (RT11); one that should "
             "outlive its request must be a google.appengine.api.background_thread "
             "(on a backend)")


def _warn_waiting(thread, task):
    what = _names([thread]) if thread is not None else "a thread-pool task"
    app_logs.write(app_logs.WARNING,
                   "the request still waits for %s it started, %d s after its handler "
                   "ended: %s" % (what, _WAIT_WARN, RT11_HINT))


def _take(items):
    """Empties a request's list of threads or tasks, which its threads
    still append to (and _record's drop removes from): one pop at a time."""
    taken = []
    while True:
        try:
            taken.append(items.pop())
        except IndexError:
            return taken


def _stop(request, thread, task, current):
    """Raises DeadlineExceededError in the request's threads and tasks
    still running (those on its lists, and thread and task, the ones
    join_all had taken off them), which ends those in Python code or in
    time.sleep; cancels its tasks not started, waits _STOP_WAIT for them,
    and leaves behind those still running, retiring the instance: one
    stuck in C that holds the GIL gets the instance killed anyway, one
    blocked in C without it (a lock, a read) would otherwise hold the
    request past its grace. What they start or submit meanwhile is stopped
    as it begins (the request is marked stopped) and waited for the same
    way, until a wait ends with nothing new. The lists end empty."""
    # Before the lists are read: what is started or submitted for the
    # request from now on is stopped at once (_record, request_futures).
    request.stopped = True
    threads = [] if thread is None else [thread]
    tasks = [] if task is None else [task]
    left = []
    while True:
        threads += _take(request.threads)
        tasks += _take(request.tasks)
        if not threads and not tasks:
            break
        alive = [t for t in threads if t.ident != current and t.running.locked()]
        for t in alive:
            t.stop(DeadlineExceededError)
        running = [task for task in tasks if task.stop(DeadlineExceededError)]
        if request.stopped_threads is None and (alive or running):
            request.stopped_threads = _running_names(alive, running)
        end = time.monotonic() + _STOP_WAIT
        for t in alive:
            wait_released(t.running, max(0.0, end - time.monotonic()))
        for task in running:
            wait_released(task.ended, max(0.0, end - time.monotonic()))
        left = [t for t in alive if t.running.locked()]
        left += [task for task in running if task.ended.locked()]
        if left:
            # The instance retires: what they start from now on is
            # stopped as it begins, and not waited for.
            break
        threads, tasks = [], []
    for t in left:
        app_logs.write(app_logs.ERROR, "thread %r still runs after the request's deadline: "
                       "left behind; the instance is shut down" % (t,))
    if left:
        _gaelic.retire("has %s of request %d still running after its deadline, "
                       "which threads may not outlive (RT11)" % (_names(left), request.id))


# The retire reason names this many threads, each cut to this length: a
# console line, whatever the app named its threads.
_NAMES_SHOWN = 3
_NAME_CHARS = 40


def _names(left):
    names = ", ".join(t.name[:_NAME_CHARS] for t in left[:_NAMES_SHOWN])
    more = len(left) - _NAMES_SHOWN
    return ("thread " if len(left) == 1 else "threads ") + names + (
        " and %d more" % more if more > 0 else "")


def _running_names(threads, tasks):
    """The threads (by name) and thread-pool tasks (by count) a deadline
    found running, for a message."""
    parts = [_names(threads)] if threads else []
    if tasks:
        parts.append("%d thread-pool task%s" % (len(tasks), "" if len(tasks) == 1 else "s"))
    return " and ".join(parts)


def install():
    """Patches threading.Thread and _thread.start_new_thread. Idempotent."""
    threading.Thread.start = _start
    threading.Thread._bootstrap_inner = _bootstrap_inner
    _thread.start_new_thread = _start_new_thread
    _thread.start_new = _start_new_thread  # its old alias
