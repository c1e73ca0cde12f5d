"""Blocking calls that a request's deadline can cut short (RT7).

At the deadline the instance raises DeadlineExceededError in the request's
thread (instance/deadline.h). That exception only lands when the thread
runs Python code, and CPython retries an interrupted system call without
looking at it, so the runtime replaces the usual ways of waiting with
nothing to wait for: time.sleep, and select.select on no file at all (the
old idiom for sleeping). The deadline wakes these at once. Anything else
that blocks (a lock, a read) holds the request until the master kills its
instance at the end of the grace. Installed in the zygote, before any app
code runs; outside requests they behave as before.
"""
import select
import time

import _gaelic
from google.appengine.runtime import DeadlineExceededError

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


def install():
    _gaelic.set_deadline_error(DeadlineExceededError)
    time.sleep = _gaelic.sleep
    select.select = _select_interruptible
