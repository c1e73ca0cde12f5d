"""signal.signal() in app code, as App Engine's python3 instances took it.

App Engine's second generation ran a python3 app under gunicorn, whose
worker imports the app in its main thread: an app could install a
SIGTERM handler as it was imported, and Google's samples do (to log and
clean up as the instance stops, which App Engine announced with
SIGTERM). Here the app is imported, and runs, in worker threads, where
CPython refuses signal.signal() with ValueError ("signal only works in
main thread"), so such an app failed every request at its import.

Outside the main thread signal.signal() now keeps a SIGTERM or SIGINT
handler (what such apps set) instead of installing it (an instance gets
no signal its app could handle: the master tells it to stop over its
channel), checked as CPython checks it, and returns the one kept before;
signal.getsignal() returns the kept one.
The SIGTERM handler kept is called, as handler(signal.SIGTERM, None), when
the instance is told to shut down, as the shutdown hook is
(shutdown_notice); a sys.exit() there, how such handlers end, only says
what the instance does anyway once its requests have finished.

Any other signal is refused there as CPython refuses it (ValueError): a
handler kept for SIGALRM, say, told the app it was installed, yet nothing
ever called it, so the signal.setitimer() timeout a library set after it
silently never came.
"""
import os
import threading

from google.appengine.runtime import import_hooks

_lock = threading.Lock()
_kept = {}
_real_signal = None
_real_getsignal = None


def _signal(signalnum, handler):
    # python27 apps get CPython's refusal, as App Engine's python27 runtime
    # gave it: only App Engine's python3 requests carry GAE_RUNTIME.
    if (threading.current_thread() is threading.main_thread()
            or "GAE_RUNTIME" not in os.environ):
        return _real_signal(signalnum, handler)
    import signal
    signum = int(signalnum)
    if signum not in (signal.SIGTERM, signal.SIGINT):
        return _real_signal(signalnum, handler)  # ValueError, as CPython says
    if handler not in (signal.SIG_IGN, signal.SIG_DFL) and not callable(handler):
        raise TypeError("signal handler must be signal.SIG_IGN, signal.SIG_DFL, "
                        "or a callable object")
    with _lock:
        previous = _kept.get(signum)
        _kept[signum] = handler
    return previous if previous is not None else _real_getsignal(signum)


def _getsignal(signalnum):
    handler = _kept.get(int(signalnum))
    return handler if handler is not None else _real_getsignal(signalnum)


def sigterm_handler():
    """The callable SIGTERM handler the app has set, or None."""
    import signal
    handler = _kept.get(signal.SIGTERM)
    return handler if callable(handler) else None


def run_sigterm_handler(handler):
    import signal
    try:
        handler(signal.SIGTERM, None)
    except SystemExit:
        pass  # the instance exits once its requests have finished


def _adapt(signal):
    global _real_signal, _real_getsignal
    _real_signal, _real_getsignal = signal.signal, signal.getsignal
    signal.signal = _signal
    signal.getsignal = _getsignal


def install():
    import_hooks.when_imported("signal", _adapt)
