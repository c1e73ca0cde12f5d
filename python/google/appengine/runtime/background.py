"""Background requests: the other half of system.StartBackgroundRequest.

The App Engine SDK starts a background thread in two steps, and so can an
app here: it calls the `system` service's StartBackgroundRequest (through
apiproxy_stub_map), which answers a request id, then hands the callable to
EnqueueBackgroundThread(request_id, target, args, kwargs). Meanwhile the
master has sent the instance GET /_ah/background with
X-AppEngine-BackgroundRequest set to that id; the runtime serves it on a
thread of its own (never a request worker, which may be the very caller
waiting here) with run() below. Whichever side comes first waits for the
other: the caller gets the ident of the thread that runs target, and
target runs as that request, with its own os.environ and request log.

Either side waits at most WAIT_SECONDS: a background request whose callable
never comes ends with 500 (its slot under the instance's limit of 10 frees
up), and EnqueueBackgroundThread then raises Error. A background request
also stops waiting when the instance shuts down.

google.appengine.api.background_thread starts its threads directly instead;
running() lets it count these requests under the same limit.
"""
import threading
import time

import _gaelic
from google.appengine.runtime import handlers

BACKGROUND_REQUEST_ID = "HTTP_X_APPENGINE_BACKGROUNDREQUEST"
WAIT_SECONDS = 60.0
_POLL_SECONDS = 0.25  # how often a waiting request looks for shutdown

_OK = ("200 OK", [("Content-Type", "text/plain; charset=utf-8")], b"OK\n")
_FAILED = ("500 Internal Server Error", [("Content-Type", "text/plain; charset=utf-8")],
           b"the background request failed\n")

_cond = threading.Condition()
_meetings = {}   # request id -> _Meeting
_running = set()  # channel ids of the background requests this instance runs


class Error(Exception):
    """A callable could not be handed to a background request."""


class _Meeting:
    __slots__ = ("target", "args", "kwargs", "has_callable", "thread_id", "over")

    def __init__(self):
        self.target = self.args = self.kwargs = None
        self.has_callable = False
        self.thread_id = None
        self.over = False  # one side gave up: the other must not wait


def running():
    """How many background requests this instance runs now (counted from
    the moment their frame is read)."""
    with _cond:
        return len(_running)


def arrived(channel_id):
    with _cond:
        _running.add(channel_id)


def ended(channel_id):
    with _cond:
        _running.discard(channel_id)


def EnqueueBackgroundThread(request_id, target, args, kwargs):
    """Hands target(*args, **kwargs) to background request request_id (the
    id StartBackgroundRequest answered) and returns the ident of the thread
    that runs it, once it does."""
    if not callable(target):
        raise TypeError("target must be callable")
    deadline = time.monotonic() + WAIT_SECONDS
    with _cond:
        meeting = _meetings.setdefault(request_id, _Meeting())
        if meeting.has_callable or meeting.over:
            raise Error("background request %s already has its callable" % request_id)
        meeting.target, meeting.args, meeting.kwargs = target, tuple(args), dict(kwargs or {})
        meeting.has_callable = True
        _cond.notify_all()
        while meeting.thread_id is None and not meeting.over:
            left = deadline - time.monotonic()
            if left <= 0:
                meeting.over = True
                _meetings.pop(request_id, None)
                raise Error("background request %s did not start within %d s"
                            % (request_id, WAIT_SECONDS))
            _cond.wait(left)
        if meeting.thread_id is None:
            raise Error("background request %s has ended" % request_id)
        return meeting.thread_id


def _wait_for_callable(request_id):
    """The background request's side: (target, args, kwargs), or None when
    none came in time or the instance shuts down."""
    deadline = time.monotonic() + WAIT_SECONDS
    with _cond:
        meeting = _meetings.setdefault(request_id, _Meeting())
        meeting.thread_id = threading.get_ident()
        _cond.notify_all()
        while not meeting.has_callable:
            left = deadline - time.monotonic()
            if left <= 0 or meeting.over or _gaelic.shutting_down():
                break
            _cond.wait(min(left, _POLL_SECONDS))
        _meetings.pop(request_id, None)
        if not meeting.has_callable:
            meeting.over = True
            meeting.thread_id = None
            _cond.notify_all()
            return None
        return meeting.target, meeting.args, meeting.kwargs


def run(script, environ):
    """Serves GET /_ah/background: runs the callable enqueued for its id.
    Returns (status, headers, body)."""
    request_id = environ.get(BACKGROUND_REQUEST_ID, "")
    call = _wait_for_callable(request_id)
    if call is None:
        handlers.log(script, "background request %s: no callable was handed to it "
                     "(google.appengine.runtime.background.EnqueueBackgroundThread)"
                     % request_id)
        return _FAILED
    target, args, kwargs = call
    try:
        target(*args, **kwargs)
    except Exception:
        handlers.log_exception(script, "background request %s failed:" % request_id)
        return _FAILED
    return _OK
