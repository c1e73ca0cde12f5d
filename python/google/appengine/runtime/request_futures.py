"""Work a request hands to a concurrent.futures.ThreadPoolExecutor (RT11).

An executor is usually a module global (RT4): its worker threads start
during the first request that submits work, then serve every later one.
They belong to the process, not to that first request, whose end would
otherwise wait for them forever (they wait for work) and stop them at its
deadline. What a request owns is the work it submits: each task runs with
the submitting request's state (os.environ, app log), and the request ends
only once its tasks have, as with its own threads. So do the done-callbacks
the app adds to a task's future before it is done, which concurrent.futures
would run in the pool's worker outside the task (one added later runs at
once in the thread adding it, which is the app's), and the pool's
initializer, which a worker that a request's submit starts runs first. At
the deadline, tasks
not started are cancelled and running ones get DeadlineExceededError; one
that has not ended shortly after retires the instance (request_threads).
(asyncio cannot run an event loop here: it needs a socketpair, and SB2
refuses sockets, as App Engine's sandbox did.)
"""
import _thread

import _gaelic
from google.appengine.runtime import DeadlineExceededError, app_logs, import_hooks
from google.appengine.runtime import request_state, stoppable

# A long-lived request (a background thread's) prunes its finished tasks
# once it holds this many, so that its list does not grow without end.
_PRUNE_AT = 64


class Task(stoppable.Stoppable):
    """A callable submitted during a request, run in its context, with the
    done-callbacks the app adds to its future."""

    __slots__ = ("request", "environ", "fn", "future", "ended", "callbacks")

    def __init__(self, request, environ, fn):
        super().__init__()
        self.request = request
        self.environ = environ
        self.fn = fn
        self.future = None  # set once submitted
        # Held until the future is done (ran, failed or cancelled) and the
        # app's callbacks have run: what the request's end waits on, as on
        # its threads' locks.
        self.ended = _thread.allocate_lock()
        self.ended.acquire()
        # The app's done-callbacks added before the future was done: they
        # run in the request's context (_future_done), not where
        # concurrent.futures would run them.
        self.callbacks = []

    def __call__(self, *args, **kwargs):
        return self._in_request(self.call, self.fn, *args, **kwargs)

    def _in_request(self, fn, *args, **kwargs):
        saved = (request_state.current(), request_state.current_environ())
        request_state.enter(self.request, self.environ)
        try:
            return fn(*args, **kwargs)
        finally:
            try:
                app_logs.flush_thread()
            finally:
                request_state.enter(*saved)

    def link(self, future):
        """The future submit returned for this task."""
        self.future = future
        _original_add_done_callback(future, self._future_done)
        # From here on the app's add_done_callback comes to this task.
        future._gaelic_task = self

    def _future_done(self, future):
        # Where concurrent.futures runs done-callbacks: the pool's worker
        # right after the task, or the thread that cancelled it.
        try:
            if self.callbacks and not self.stopped:
                try:
                    self._in_request(self.call, self._call_back, future)
                except BaseException:
                    pass  # the deadline stopped them; nobody to tell
        finally:
            self.ended.release()

    def _call_back(self, future):
        for callback in self.callbacks:
            try:
                callback(future)
            except Exception:
                _futures_base.LOGGER.exception(
                    "exception calling callback for %r", future)

    def drop(self):
        """The task was never queued: nothing is to wait for."""
        try:
            self.request.tasks.remove(self)
        except ValueError:
            pass  # join_all or the deadline's stop took it meanwhile
        self.ended.release()

    def stop(self, exc):
        """Cancels the task if it has not started; raises exc in it if it
        runs (or in its callbacks; those not begun do not run). Whether it
        may still be running."""
        super().stop(exc)
        if self.future is not None:
            self.future.cancel()
        return self.ended.locked()

    def interrupt(self, exc):
        """Raises exc in the task if the pool runs it (a queued one is left
        as it is). Whether it may still be running."""
        with self._lock:
            if self._ident is not None:
                self._raise_locked(exc)
                return True
            if self.future is not None and self.future.running():
                # The pool took it a moment ago: it raises as it begins.
                self._stop_exc = exc
        return self.ended.locked()

    @property
    def name(self):
        return "pool task " + getattr(self.fn, "__qualname__", type(self.fn).__name__)

    def __repr__(self):
        return "<task %r of request %d>" % (self.fn, self.request.id)


class _Initializer(Task):
    """A pool's initializer, as a worker thread that a request's submit
    started runs it: it works for that request (its os.environ and app log,
    and the threads it starts are the request's), and the request ends only
    once it has, as with the work the request submits."""

    __slots__ = ()

    def __call__(self, *args):
        try:
            return super().__call__(*args)
        except BaseException:
            if self.stopped:
                # The worker breaks the pool, as for any initializer that
                # raises: a module's pool would fail every later request of
                # the instance (BrokenThreadPool), so the instance retires.
                _gaelic.retire("has a thread pool broken by request %d's deadline, which "
                               "stopped its %s" % (self.request.id, self.name))
            raise
        finally:
            self.ended.release()

    @property
    def name(self):
        return "pool initializer " + getattr(self.fn, "__qualname__", type(self.fn).__name__)


def _adjust_in_request(adjust):
    """ThreadPoolExecutor._adjust_thread_count, which submit calls (under
    the executor's lock) and which may start a worker thread with the
    executor's initializer: during a request, the worker gets the
    initializer as an _Initializer of that request instead. Otherwise it
    would run as the process, with none of the request's variables, and the
    threads it starts would outlive the request."""
    def wrapper(self):
        request = request_state.current()
        initializer = self._initializer
        if request is None or initializer is None:
            return adjust(self)
        if request.stopped:
            # What is being submitted is cancelled (_submit_in_request): no
            # worker for it, whose initializer, stopped at once, would
            # break the pool for every later request.
            return None
        task = _Initializer(request, dict(request_state.current_environ() or ()), initializer)
        # Listed before the worker can run it, as submit lists its tasks.
        request.tasks.append(task)
        if request.stopped:
            task.stop(DeadlineExceededError)
        workers = len(self._threads)
        self._initializer = task
        try:
            adjust(self)
        except RuntimeError:
            task.drop()  # the worker was refused: nothing runs it
            raise
        finally:
            self._initializer = initializer
        if len(self._threads) == workers:
            task.drop()  # an idle worker takes the work: none started
    wrapper.__wrapped__ = adjust
    return wrapper


def _drain_past_cancelled(initializer_failed):
    """ThreadPoolExecutor._initializer_failed, which a worker whose
    initializer raised calls: it fails each queued task's future with
    BrokenThreadPool, but stops at the first one that was cancelled
    (Future.set_exception raises InvalidStateError there), which would
    leave those behind it queued for ever and their requests waiting until
    their deadline. The deadline that stops an _Initializer always leaves
    one: the task whose submit started the worker, which it cancels.
    Called again, it goes on past that one."""
    def wrapper(self):
        while True:
            try:
                return initializer_failed(self)
            except _futures_base.InvalidStateError:
                pass  # taken off the queue: the drain goes on past it
    wrapper.__wrapped__ = initializer_failed
    return wrapper


def _submit_in_request(submit):
    def wrapper(self, fn, /, *args, **kwargs):
        request = request_state.current()
        if request is None:
            return submit(self, fn, *args, **kwargs)
        task = Task(request, dict(request_state.current_environ() or ()), fn)
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
        # Listed before it is queued: an exception landing here once it is
        # cannot leave it unlisted (one landing before leaves it waited for
        # in vain: the deadline's stop then retires the instance).
        tasks.append(task)
        # After the append: either the deadline's stop, which marks the
        # request stopped before it takes the list, takes this one too, or
        # this sees the mark. Submitted after its request's deadline
        # stopped its tasks (by a task that caught the exception, say):
        # the request is over, and so is this work.
        if request.stopped:
            task.stop(DeadlineExceededError)
        try:
            future = submit(self, task, *args, **kwargs)
        except Exception:
            task.drop()  # refused: the pool is shut down
            raise
        task.link(future)
        if task.stopped:
            # Stopped before it had a future to cancel (here or by the
            # deadline's stop meanwhile).
            future.cancel()
        return future
    wrapper.__name__ = submit.__name__
    wrapper.__doc__ = submit.__doc__
    wrapper.__wrapped__ = submit
    return wrapper


def _add_done_callback(self, fn):
    task = getattr(self, "_gaelic_task", None)
    if task is not None:
        with self._condition:
            if not self.done():
                task.callbacks.append(fn)
                return
    # Done already: fn runs at once in the calling thread, as it would.
    _original_add_done_callback(self, fn)


# concurrent.futures._base and its Future.add_done_callback, once imported.
_futures_base = _original_add_done_callback = None


def _patch(thread_module):
    global _futures_base, _original_add_done_callback
    from google.appengine.runtime import request_threads
    executor = thread_module.ThreadPoolExecutor
    if not hasattr(executor.submit, "__wrapped__"):
        _futures_base = thread_module._base
        future = _futures_base.Future
        _original_add_done_callback = future.add_done_callback
        _add_done_callback.__doc__ = future.add_done_callback.__doc__
        _add_done_callback.__wrapped__ = future.add_done_callback
        future.add_done_callback = _add_done_callback
        executor.submit = _submit_in_request(executor.submit)
        executor._adjust_thread_count = _adjust_in_request(executor._adjust_thread_count)
        executor._initializer_failed = _drain_past_cancelled(executor._initializer_failed)
    request_threads.process_thread_target(thread_module._worker)


def install():
    import_hooks.when_imported("concurrent.futures.thread", _patch)
