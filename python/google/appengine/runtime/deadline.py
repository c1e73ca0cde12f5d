"""Blocking calls that a request's deadline can cut short (RT7).

At the deadline the instance raises DeadlineExceededError in the request's
thread (instance/deadline.h). That exception only lands when the thread
runs Python code, and CPython retries an interrupted system call without
looking at it, so the runtime replaces the usual ways of waiting with
nothing to wait for: time.sleep, and select.select on no file at all (the
old idiom for sleeping). The deadline wakes these at once.

A request's waits for a thread (Thread.join) or on a threading.Condition
(and so Event.wait, queue.Queue.get, Semaphore.acquire,
concurrent.futures' Future.result and wait) are made in short slices
instead of one lock wait, which nothing but the lock's release ends: the
exception lands between two. These are how a request waits for the
threads it starts (RT11): one lock wait would hold a handler joining a
thread that runs past the deadline until the master killed its instance,
with every request beside it. A Condition wait the deadline ends passes
on a wakeup notify() gave it (_condition_wait). Anything else that blocks
(a bare Lock.acquire, queue.SimpleQueue.get, a read) still does.
Installed in the zygote, before any app code runs; outside requests they
behave as before.
"""
import _thread
import select
import threading
import time

import _gaelic
from google.appengine.runtime import DeadlineExceededError, request_state

# select.select without a timeout, on nothing: sleeps until the deadline.
_FOREVER = 1e9

_select = select.select


def _select_interruptible(rlist, wlist, xlist, timeout=None):
    # Any other iterable (even an empty generator) goes to the real select.
    if any(type(x) not in (list, tuple) or x for x in (rlist, wlist, xlist)):
        return _select(rlist, wlist, xlist, timeout)
    if timeout is None:
        _gaelic.sleep(_FOREVER)
    else:
        if timeout < 0:
            raise ValueError("timeout must be non-negative")
        _gaelic.sleep(timeout)
    return [], [], []


# A request's wait for a thread or a condition is made in slices of this
# many seconds: the deadline's exception lands within one. The wait still
# ends as soon as what it waits for happens.
_SLICE = 0.05

_join = threading.Thread.join
_wait = threading.Condition.wait
_allocate_lock = _thread.allocate_lock


def _slices(timeout):
    """The timeouts of the slices a wait of timeout seconds (None or
    negative: no end) is made in."""
    if timeout is None or timeout < 0:
        while True:
            yield _SLICE
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        yield min(_SLICE, left)


def _join_interruptible(self, timeout=None):
    lock = self._tstate_lock  # released by the interpreter as the thread ends
    # A short timeout too: join's own wait, which the exception lands
    # right after, would release the running thread's lock (bpo-45274's
    # fix), and threading would take it for ended (is_alive() False).
    if (lock is None or request_state.current() is None or not self._started.is_set()
            or self is threading.current_thread()
            or (timeout is not None and not timeout > 0)):  # (NaN: its ValueError)
        return _join(self, timeout)  # with its own checks and errors
    for wait in _slices(timeout):
        # One C call that leaves the lock as it found it: the exception
        # cannot land between taking the lock and giving it back, which
        # would leave threading believing a running thread had ended.
        if _gaelic.wait_released(lock, wait):
            _join(self, 0)  # it has ended: what join does then
            return


class _Waiter:
    """The lock a Condition.wait made during a request blocks on, until
    notify() releases it: its blocking acquire waits in slices, letting the
    instance's other requests run (_gaelic.acquire_waiting)."""

    __slots__ = ("_lock", "notified")

    def __init__(self):
        self._lock = _allocate_lock()
        self.notified = False  # released by notify() (Condition.wait holds it)

    def acquire(self, blocking=True, timeout=-1):
        # Where it waits, the instance's other requests run meanwhile.
        if not blocking:
            return self._lock.acquire(blocking, timeout)
        if 0 <= timeout <= _SLICE:
            return _gaelic.acquire_waiting(self._lock, timeout)
        for wait in _slices(timeout):
            if _gaelic.acquire_waiting(self._lock, wait):
                return True
        return False

    def release(self):
        self.notified = True
        self._lock.release()

    def locked(self):
        return self._lock.locked()

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


# The _Waiter of the Condition.wait the thread is in (_condition_wait).
_waiting = threading.local()


def _allocate_waiter():
    # threading allocates with this the lock each Condition.wait blocks on,
    # in the waiting thread.
    if request_state.current() is None:
        return _allocate_lock()
    waiter = _waiting.waiter = _Waiter()
    return waiter


def _condition_wait(self, timeout=None):
    """threading.Condition.wait, but a request's wait that the deadline
    ends after a notify() released its waiter passes that wakeup on.

    The exception is set while the waiter blocks in a slice and lands as
    the slice ends; when a notify() ended it, that notify counted this
    waiter as woken and took it off the list, so another waiter (another
    request's Queue.get of the item just put) would sleep on with what it
    waits for there. A wakeup passed on when none was lost is harmless:
    Condition users wait in a loop on their own test."""
    _waiting.waiter = None
    try:
        return _wait(self, timeout)
    except BaseException:
        waiter = _waiting.waiter
        # Not owned: the exception came while the wait took the lock back.
        if waiter is not None and waiter.notified and self._is_owned():
            self.notify()
        raise


def install():
    _gaelic.set_deadline_error(DeadlineExceededError)
    time.sleep = _gaelic.sleep
    select.select = _select_interruptible
    threading.Thread.join = _join_interruptible
    threading._allocate_lock = _allocate_waiter
    threading.Condition.wait = _condition_wait
