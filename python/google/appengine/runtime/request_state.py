"""Per-request state, held per thread.

A worker thread serving a request, and every thread that request starts,
see the request's Request object and their own os.environ contents here.
Outside a request both are None.
"""
import threading
import time


class Request:
    """What later code needs to know about the request a thread works for."""

    __slots__ = ("id", "environ", "start_time", "threads", "tasks", "stopped", "thread_id",
                 "api_cpu_us", "cpu_origin", "log_lines", "log_bytes", "log_flush_time", "log_flushing",
                 "out_of_memory", "stopped_threads")

    def __init__(self, request_id, environ):
        self.id = request_id
        self.thread_id = threading.get_ident()
        # The request's CGI/App Engine variables: os.environ of the thread
        # that serves it.
        self.environ = environ
        self.start_time = time.time()
        # request_threads._Run objects of the threads started during the
        # request; they are joined before the response is sent (RT11).
        self.threads = []
        # request_futures.Task objects: work submitted to a thread pool
        # during the request, waited for like its threads.
        self.tasks = []
        # Set once its deadline has stopped its threads and tasks: what is
        # submitted for it after that is stopped at once.
        self.stopped = False
        # What its deadline found still running of its threads and tasks
        # (request_threads._stop), for the message that says why it failed.
        self.stopped_threads = None
        # The master's CPU time for the request's API calls (quota).
        self.api_cpu_us = 0
        # (clock, mark) of its worker's CPU count (_gaelic.request_cpu_origin),
        # so that its other threads can read it too (quota); None: none.
        self.cpu_origin = None
        # App log output since the last flush, for logservice's autoflush.
        self.log_lines = 0
        self.log_bytes = 0
        self.log_flush_time = self.start_time
        # Set when the app logged a MemoryError it caught (app_logs): its
        # framework answered, but the instance is out of memory all the same.
        self.out_of_memory = False
        self.log_flushing = False

    def __repr__(self):
        return "<Request %d>" % self.id


class _State(threading.local):
    # Class attributes are the defaults every thread starts with.
    request = None
    environ = None


_state = _State()

# Worker thread ident -> the Request it serves, for the shutdown notice
# (which must reach running requests) and deadlines.
running = {}

# Background thread ident -> its Request (google.appengine.api.
# background_thread): they get the shutdown notice too.
background = {}

# The variables of the instance's latest request: the internal /_ah/stop
# request is built from the instance-wide ones among them. As the master
# sent them: before_change copies them once the app changes them.
_last_environ = {}

# Variables that describe one request only, not the instance.
_PER_REQUEST = ("CONTENT_LENGTH", "CONTENT_TYPE", "QUERY_STRING", "REMOTE_ADDR",
                "REMOTE_PORT", "REQUEST_LOG_ID", "REQUEST_ID_HASH", "PATH_INFO",
                "PATH_TRANSLATED", "REQUEST_METHOD", "SCRIPT_NAME", "REQUEST_URI")


def current():
    """The Request the calling thread works for, or None."""
    return _state.request


def current_environ():
    """The calling thread's os.environ contents, or None outside requests."""
    return _state.environ


def enter(request, environ):
    _state.request = request
    _state.environ = environ


def begin(request):
    """The calling worker thread starts serving request."""
    global _last_environ
    running[request.thread_id] = request
    _last_environ = request.environ
    enter(request, request.environ)


def end(request):
    running.pop(request.thread_id, None)
    leave()


def before_change(environ):
    """environ, a request's os.environ, is about to change: if it is the
    one internal_environ reads, that keeps a copy of it as it is, so that
    what the app adds, changes or removes stays the request's own (RT8).
    One identity test per change; the copy is made once per request at
    most, and only for one that changes its os.environ."""
    global _last_environ
    if environ is _last_environ:
        _last_environ = dict(environ)


def add_api_cpu(request_id, cpu_us):
    """The master's CPU time for a call made with the API ticket of
    request (or background thread) request_id through its HTTP API server
    (IPC_API_CPU): it counts like the request's own channel calls (quota).
    Dropped when that request no longer runs here."""
    for request in list(running.values()) + list(background.values()):
        if request.id == request_id:
            request.api_cpu_us += cpu_us
            return


def internal_environ(path):
    """Variables for a request the runtime itself makes (GET path): the
    instance-wide ones of the latest real request, none of its own."""
    environ = {k: v for k, v in _last_environ.items()
               if k not in _PER_REQUEST and not k.startswith(("HTTP_", "USER_"))}
    # The runtime's own request, not the latest one's connection.
    environ.update(REQUEST_METHOD="GET", PATH_INFO=path, SCRIPT_NAME="", QUERY_STRING="",
                   HTTPS="off", SERVER_PROTOCOL="HTTP/1.1")
    return environ


def leave():
    _state.request = None
    _state.environ = None
