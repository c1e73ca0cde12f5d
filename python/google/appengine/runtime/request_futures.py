"""Work a request hands to a concurrent.futures.ThreadPoolExecutor (RT11).

An executor is usually a module global (RT4): its worker threads start
during the first request that submits work, then serve every later one.
They belong to the process, not to that first request, whose end would
otherwise wait for them forever (they wait for work) and stop them at its
deadline. What a request owns is the work it submits: each task runs with
the submitting request's state (os.environ, app log), and the request ends
only once its tasks have, as with its own threads. At the deadline, tasks
not started are cancelled and running ones get DeadlineExceededError; one
that has not ended shortly after retires the instance (request_threads).
asyncio's run_in_executor and to_thread submit here too.
"""
import _thread
import threading

import _gaelic
from google.appengine.runtime import DeadlineExceededError, app_logs, import_hooks
from google.appengine.runtime import request_state

# A long-lived request (a background thread's) prunes its finished tasks
# once it holds this many, so that its list does not grow without end.
_PRUNE_AT = 64


class Task:
    """A callable submitted during a request, run in its context."""

    __slots__ = ("request", "environ", "fn", "future", "ended", "_lock", "_ident", "_raised",
                 "_stop_exc")

    def __init__(self, request, environ, fn):
        self.request = request
        self.environ = environ
        self.fn = fn
        self.future = None
        # Held until the future is done (ran, failed or cancelled): what
        # the request's end waits on, as on its threads' locks.
        self.ended = _thread.allocate_lock()
        self.ended.acquire()
        # Guards _ident against stop(): an exception must not reach the
        # worker once it has left this task for another.
        self._lock = threading.Lock()
        self._ident = None
        self._raised = False
        # An exception for a task stopped after the pool took it but
        # before it got here (its future is running, its _ident not yet
        # set): it raises that at once instead of running fn.
        self._stop_exc = None

    def __call__(self, *args, **kwargs):
        saved = (request_state.current(), request_state.current_environ())
        request_state.enter(self.request, self.environ)
        with self._lock:
            self._ident = threading.get_ident()
            stop_exc = self._stop_exc
        try:
            if stop_exc is not None:
                raise stop_exc
            return self.fn(*args, **kwargs)
        finally:
            # First, with no call before it where an exception could land.
            self._ident = None
            try:
                # A stop() that read the ident before has raised by now.
                with self._lock:
                    raised = self._raised
                if raised:
                    _gaelic.clear_async_exc()
                app_logs.flush_thread()
            finally:
                request_state.enter(*saved)

    def _future_done(self, future):
        self.ended.release()

    def stop(self, exc):
        """Cancels the task if it has not started; raises exc in it if it
        runs. Whether it may still be running."""
        if self.future.cancel():
            return False
        return self.interrupt(exc)

    def interrupt(self, exc):
        """Raises exc in the task if the pool runs it (a queued one is left
        as it is). Whether it may still be running."""
        with self._lock:
            if self._ident is None:
                # Not begun (the pool took it a moment ago) or over.
                if self.future.running():
                    self._stop_exc = exc
                return not self.future.done()
            self._raised = True
            _gaelic.async_raise(self._ident, exc)
        return True

    def __repr__(self):
        return "<task %r of request %d>" % (self.fn, self.request.id)


def _submit_in_request(submit):
    def wrapper(self, fn, /, *args, **kwargs):
        request = request_state.current()
        if request is None:
            return submit(self, fn, *args, **kwargs)
        task = Task(request, dict(request_state.current_environ() or ()), fn)
        task.future = submit(self, task, *args, **kwargs)
        task.future.add_done_callback(task._future_done)
        tasks = request.tasks
        if len(tasks) >= _PRUNE_AT:
            # One by one: other threads of the request append (and
            # join_all pops) meanwhile; a slice assignment would drop
            # what they add.
            for t in [t for t in tasks if not t.ended.locked()]:
                try:
                    tasks.remove(t)
                except ValueError:
                    pass
        tasks.append(task)
        if request.stopped:
            # Submitted after its request's deadline stopped its tasks
            # (by a task that caught the exception, say): the request is
            # over, and so is this work.
            task.stop(DeadlineExceededError)
        return task.future
    wrapper.__name__ = submit.__name__
    wrapper.__doc__ = submit.__doc__
    wrapper.__wrapped__ = submit
    return wrapper


def _patch(thread_module):
    from google.appengine.runtime import request_threads
    executor = thread_module.ThreadPoolExecutor
    if not hasattr(executor.submit, "__wrapped__"):
        executor.submit = _submit_in_request(executor.submit)
    request_threads.process_thread_target(thread_module._worker)


def install():
    import_hooks.when_imported("concurrent.futures.thread", _patch)
