"""Per-request state, held per thread.

A worker thread serving a request, and every thread that request starts,
see the request's Request object and their own os.environ contents here.
Outside a request both are None.
"""
import threading
import time


class Request:
    """What later code needs to know about the request a thread works for."""

    __slots__ = ("id", "environ", "start_time", "threads", "api_cpu_us")

    def __init__(self, request_id, environ):
        self.id = request_id
        # The request's CGI/App Engine variables: os.environ of the thread
        # that serves it.
        self.environ = environ
        self.start_time = time.time()
        # threading.Thread objects started during the request; they are
        # joined before the response is sent (RT11).
        self.threads = []
        # The master's CPU time for the request's API calls (quota).
        self.api_cpu_us = 0

    def __repr__(self):
        return "<Request %d>" % self.id


class _State(threading.local):
    # Class attributes are the defaults every thread starts with.
    request = None
    environ = None


_state = _State()


def current():
    """The Request the calling thread works for, or None."""
    return _state.request


def current_environ():
    """The calling thread's os.environ contents, or None outside requests."""
    return _state.environ


def enter(request, environ):
    _state.request = request
    _state.environ = environ


def leave():
    _state.request = None
    _state.environ = None
