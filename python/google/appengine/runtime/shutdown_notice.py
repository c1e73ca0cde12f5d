"""The shutdown notice (BK4, API3).

When the master shuts an instance down (a backend stopped or updated, its
memory over the class limit, the server exiting), the instance's main
thread calls notice(). From then on is_shutting_down() is true, and the
app's shutdown hook runs once:

- inside the oldest running request, in that request's own thread, the next
  time the thread runs Python code, or at once if it sleeps or waits for an
  API call (so a hook that cancels API calls ends that wait), so an
  exception the hook raises propagates into the request as from a signal
  handler; the same exception type is then raised in every other request
  thread too, and in the tasks requests run in thread pools;
- otherwise as an internal GET /_ah/stop request that the runtime itself
  handles (no app handler sees it), in the main thread, with a request log
  of its own that the hook's lines go to; the threads the hook starts are
  joined before it ends, as a request's are (RT11).

The instance exits once the hook and the requests have finished; the
master kills it when its grace period ends first.
"""
import functools
import threading
import time

import _gaelic
from google.appengine.runtime import app_logs, handlers, request_state, request_threads
from google.appengine.runtime import signal_compat

_lock = threading.Lock()
_hook = None


def set_hook(hook):
    """Installs hook (None removes it) and returns the previous one."""
    global _hook
    if hook is not None and not callable(hook):
        raise TypeError("the shutdown hook must be callable, not %s" % type(hook).__name__)
    with _lock:
        previous, _hook = _hook, hook
    return previous


def is_shutting_down():
    return _gaelic.shutting_down()


def _raise_everywhere(except_id, exc):
    """Raises exc in every thread working for a running request or a
    background thread but except_id: in the threads the requests started
    and the tasks they run in thread pools only while the app's code runs
    there (stoppable: never in threading's code around it, nor in a pool
    worker that has moved on)."""
    for requests in (request_state.running, request_state.background):
        for thread_id, request in list(requests.items()):
            if thread_id != except_id:
                _gaelic.async_raise(thread_id, exc)
            for run in list(request.threads):
                if run.ident != except_id:
                    run.interrupt(exc)
            for task in list(request.tasks):
                task.interrupt(exc)


def _open_stop_log():
    """Opens the request log of the internal /_ah/stop request, as App
    Engine logged it (RT9: what the hook logs is that request's): an id
    of the background threads' kind, in their slots. The id, or 0 when
    none is left (the hook then runs unlogged)."""
    from google.appengine.api.background_thread import background_thread
    try:
        stop_id = background_thread._reserve()
    except background_thread.BackgroundThreadLimitReachedError:
        return 0
    try:
        _gaelic.stop_started(stop_id)
    except MemoryError:
        background_thread._unreserve(stop_id)
        return 0
    return stop_id


def _internal_stop(hook):
    """The hook as the internal /_ah/stop request: its failure is logged,
    there is nobody to propagate it to."""
    environ = request_state.internal_environ("/_ah/stop")
    stop_id = _open_stop_log()
    cpu_start = time.thread_time_ns()
    request = request_state.Request(stop_id, environ)
    request_state.enter(request, environ)
    failed = False
    try:
        hook()
    except BaseException as e:
        failed = True
        handlers.log_exception("/_ah/stop", "the shutdown hook failed:")
        # Background threads get it as requests would.
        _raise_everywhere(threading.get_ident(), type(e))
    finally:
        try:
            # RT11, as for any request: the threads the hook started end
            # before /_ah/stop does, and the instance exits only after it.
            request_threads.join_all(request)
        finally:
            app_logs.flush_thread()
            request_state.leave()
            if stop_id:
                from google.appengine.api.background_thread import background_thread
                try:
                    _gaelic.background_ended(stop_id, failed, time.thread_time_ns() - cpu_start)
                finally:
                    background_thread._unreserve(stop_id)


def _in_request(hook, thread_id, request):
    """Runs in the request's thread (see _gaelic.call_in_thread)."""
    try:
        if request_state.running.get(thread_id) is not request:
            # The request ended before its thread ran Python again.
            _internal_stop(hook)
            return
        try:
            hook()
        except BaseException as e:
            _raise_everywhere(thread_id, type(e))
            raise
    finally:
        _gaelic.release()


def _with_sigterm_handler(hook):
    """The hook, and after it the SIGTERM handler the app set
    (signal_compat), which App Engine's python3 instances were sent as
    they stopped."""
    handler = signal_compat.sigterm_handler()
    if handler is None:
        return hook
    if hook is None:
        return functools.partial(signal_compat.run_sigterm_handler, handler)

    def both():
        try:
            hook()
        finally:
            signal_compat.run_sigterm_handler(handler)
    return both


def notice():
    """Called once, in the main thread, when IPC_SHUTDOWN arrives."""
    hook = _with_sigterm_handler(_hook)
    if hook is None:
        return
    _gaelic.hold()  # released once the hook has run, wherever it runs
    oldest_first = sorted(request_state.running.items(), key=lambda kv: kv[1].start_time)
    for thread_id, request in oldest_first:
        if _gaelic.call_in_thread(thread_id, functools.partial(_in_request, hook, thread_id,
                                                               request)):
            return
    try:
        _internal_stop(hook)
    finally:
        _gaelic.release()
