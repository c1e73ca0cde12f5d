"""Application logs (RT9): what a request writes through `logging`, to
sys.stderr and, under WSGI, to sys.stdout becomes that request's app log
lines, each sent to the master as soon as it is complete so that a crash of
the instance later loses none of them.

Levels are App Engine's: 0 debug, 1 info, 2 warning, 3 error, 4 critical.
Text written to stderr is logged at warning level and stdout at info, so
that both show up where developers look (the console shows warnings and
above). A line written outside any request (the runtime itself, a thread
that no request owns) goes to the server's console.

Each request's lines also count towards logservice's autoflush (LG1): past
AUTOFLUSH_EVERY_LINES / _BYTES / _SECONDS since its last flush, the
request flushes by itself, which makes its log visible while it runs.
"""
import codecs
import io
import sys
import threading
import time

import _gaelic
from google.appengine.runtime import import_hooks, request_state

DEBUG, INFO, WARNING, ERROR, CRITICAL = range(5)

# Longer messages are cut (and say so): the console and the store take
# lines, not documents.
MAX_MESSAGE = 32 * 1024


def level_of(levelno):
    """App Engine's level for a `logging` level number (logging's own
    CRITICAL 50, ERROR 40, WARNING 30, INFO 20: fixed by the module's API)."""
    if levelno >= 50:
        return CRITICAL
    if levelno >= 40:
        return ERROR
    if levelno >= 30:
        return WARNING
    if levelno >= 20:
        return INFO
    return DEBUG


# logservice's autoflush (LG1), App Engine's defaults. The values in force
# are google.appengine.api.logservice's once it is imported (apps may set
# them there); until then nobody can have changed these.
AUTOFLUSH_ENABLED = True
AUTOFLUSH_EVERY_SECONDS = 60
AUTOFLUSH_EVERY_BYTES = 4096
AUTOFLUSH_EVERY_LINES = 50
_LOGSERVICE = "google.appengine.api.logservice.logservice"


def autoflush_due(settings, request):
    """Whether request has logged past one of settings' AUTOFLUSH_*
    thresholds since its last flush."""
    if not settings.AUTOFLUSH_ENABLED:
        return False
    lines, size, seconds = (settings.AUTOFLUSH_EVERY_LINES, settings.AUTOFLUSH_EVERY_BYTES,
                            settings.AUTOFLUSH_EVERY_SECONDS)
    return bool((lines and request.log_lines >= lines) or
                (size and request.log_bytes >= size) or
                (seconds and time.time() - request.log_flush_time >= seconds))


def write(level, message):
    """Logs one message for the calling thread's request."""
    request = request_state.current()
    data = message.encode("utf-8", "backslashreplace")
    if len(data) > MAX_MESSAGE:
        # Cut before the character the limit falls in: the store's readers
        # take UTF-8 only.
        cut = MAX_MESSAGE
        while data[cut] & 0xC0 == 0x80:
            cut -= 1
        data = data[:cut] + b"... (truncated)"
    if request is None:
        _gaelic.send_log(0, level, data)
        return
    _gaelic.send_log(request.id, level, data)
    if request.id and not request.log_flushing:
        request.log_lines += 1
        request.log_bytes += len(data)
        if autoflush_due(sys.modules.get(_LOGSERVICE) or _defaults, request):
            # Imported only now, so that instances do not pay for it at
            # start (the zygote preloads it for the later ones).
            from google.appengine.api.logservice import logservice
            logservice.autoflush_request(request)


_Utf8Decoder = codecs.getincrementaldecoder("utf-8")


class _WriteOnlyStream:
    """What LogStream and its .buffer say about themselves as files: open
    for good (see LogStream.close), write-only, no terminal, no seeking."""

    @property
    def closed(self):
        return False

    def isatty(self):
        return False

    def writable(self):
        return True

    def readable(self):
        return False

    def seekable(self):
        return False


class LogStream(_WriteOnlyStream):
    """A text stream whose lines become app log lines at one level.

    Partial lines wait per thread until their newline, a flush, or the end
    of the request (flush_thread). Bytes written to .buffer are decoded
    (UTF-8; invalid bytes as \\xNN, as `errors` says) and logged the same
    way; a character cut between two writes waits like a partial line."""

    def __init__(self, name, level):
        self.name = name
        self.level = level
        self._partial = threading.local()
        # Threads with an unfinished line: flush_thread checks this set, so
        # the common request that wrote nothing costs one test.
        self.waiting = set()
        self.encoding = "utf-8"
        self.errors = "backslashreplace"
        self.buffer = _LogBuffer(self)

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not %s" % type(text).__name__)
        head, sep, tail = text.rpartition("\n")
        if sep:
            taken = self._take()
            line = taken + head[:max(0, MAX_MESSAGE + 1 - len(taken))]
            self._keep(tail)
        else:
            self._keep(text)
        if self._partial.pieces or self._bytes_waiting():
            self.waiting.add(threading.get_ident())
        else:
            self.waiting.discard(threading.get_ident())
        if sep:
            write(self.level, line)
        return len(text)

    def _keep(self, text):
        """Adds text to the calling thread's unfinished line, as far as
        MAX_MESSAGE + 1 characters: write() cuts the line within them and
        says so, so the rest is never logged. The pieces are joined once,
        at the newline: joining each write into the line so far took time
        in proportion to the square of a line written in small pieces
        (progress dots), and held all of a line of any length."""
        partial = self._partial
        if not hasattr(partial, "pieces"):
            partial.pieces, partial.size = [], 0
        room = MAX_MESSAGE + 1 - partial.size
        if text and room > 0:
            piece = text[:room]
            partial.pieces.append(piece)
            partial.size += len(piece)

    def _take(self):
        """The calling thread's unfinished line so far, which it no longer
        holds."""
        partial = self._partial
        pieces = getattr(partial, "pieces", None)
        if not pieces:
            return ""
        partial.pieces, partial.size = [], 0
        return "".join(pieces)

    def _bytes_waiting(self):
        decoder = getattr(self._partial, "decoder", None)
        return decoder is not None and bool(decoder.getstate()[0])

    def write_bytes(self, data):
        """.buffer.write: data decoded, then written as text."""
        decoder = getattr(self._partial, "decoder", None)
        if decoder is None:
            decoder = self._partial.decoder = _Utf8Decoder(self.errors)
        with memoryview(data) as view:  # any bytes-like object, as a file takes
            size = view.nbytes
            text = decoder.decode(view)
        self.write(text)
        return size

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        text = self._take()
        if self._bytes_waiting():
            # An unfinished character is logged as its bytes (\\xNN).
            text += self._partial.decoder.decode(b"", True)
        if text:
            self.waiting.discard(threading.get_ident())
            write(self.level, text)

    def close(self):
        # The log outlives any request that closes its stdout or stderr
        # (a file's close would make every later print fail): only the
        # caller's unfinished line is sent.
        self.flush()

    def fileno(self):
        # No file descriptor: what is written to one would bypass the log
        # (fd 1 and 2 of an instance are the server's console), and one
        # that reached it would take a pipe and a reader thread per
        # instance. io.UnsupportedOperation, as io.StringIO raises, is what
        # libraries expect of a stream without one and fall back on (it
        # is an OSError and a ValueError). faulthandler.enable() then
        # raises it; faulthandler.enable(file=sys.__stderr__) works, and
        # sends fatal tracebacks to the console.
        raise io.UnsupportedOperation("%s is the app log, it has no file descriptor" % self.name)

    def __repr__(self):
        return "<gaelic app log %s>" % self.name


class _LogBuffer(_WriteOnlyStream):
    """LogStream.buffer: the binary side of sys.stdout and sys.stderr, for
    code that writes bytes (sys.stdout.buffer.write)."""

    def __init__(self, stream):
        self._stream = stream
        self.name = stream.name
        self.mode = "wb"

    def write(self, data):
        return self._stream.write_bytes(data)

    def writelines(self, lines):
        for line in lines:
            self._stream.write_bytes(line)

    def flush(self):
        self._stream.flush()

    def close(self):
        self._stream.close()

    def fileno(self):
        return self._stream.fileno()

    def __repr__(self):
        return "<gaelic app log %s (bytes)>" % self.name


stderr = LogStream("<stderr>", WARNING)
stdout = LogStream("<stdout>", INFO)


def flush_thread():
    """Sends the calling thread's unfinished lines (end of a request)."""
    if stderr.waiting:
        stderr.flush()
    if stdout.waiting:
        stdout.flush()


def _guard_module_lock(logging):
    """logging's module lock is taken by _acquireLock() before a try whose
    finally calls _releaseLock() (getLogger, and isEnabledFor for a level
    not yet cached, take it), and by setLevel's cache clearing with no try
    at all. A request's DeadlineExceededError can land just after the
    lock's acquire inside the one, just before its release inside the
    other, or while setLevel clears: the lock then stays held by that
    worker, and every other thread of the instance blocks for good in its
    next getLogger (no deadline can end a lock's wait). Here an exception
    that lands once the lock is taken releases it, the release is the
    lock's own method, after which alone an exception can land, and the
    cache is cleared under a `with`, which releases whatever happens."""
    lock = logging._lock

    def _acquireLock():
        try:
            lock.acquire()
        except BaseException:
            lock.release()
            raise

    def _clear_cache(manager):
        with lock:
            for logger in manager.loggerDict.values():
                if isinstance(logger, logging.Logger):
                    logger._cache.clear()
            manager.root._cache.clear()

    logging._acquireLock = _acquireLock
    logging._releaseLock = lock.release
    logging.Manager._clear_cache = _clear_cache


def _route_logging(logging):
    _guard_module_lock(logging)

    class AppLogHandler(logging.Handler):
        """The root logger's handler: each record is one app log line."""

        def createLock(self):
            # No lock: emit() hands the line to the master in one call that
            # is safe from any thread. Handler's acquire and release are
            # Python methods around the lock's: a request's deadline landing
            # in acquire once the lock is taken, or as release begins, left
            # it held, and every other thread blocked in its next log line.
            self.lock = None

        def emit(self, record):
            # Frameworks (webapp2, Flask, Django) catch a handler's
            # MemoryError, log it and answer 500 themselves: the runtime
            # learns of it only here, and retires the instance after the
            # request as it does for one that goes uncaught.
            exc_info = record.exc_info
            if isinstance(exc_info, tuple) and len(exc_info) == 3:
                from google.appengine.runtime import handlers
                request = request_state.current()
                if request is not None and handlers.is_out_of_memory(exc_info[1]):
                    request.out_of_memory = True
            try:
                write(level_of(record.levelno), self.format(record))
            except Exception:
                self.handleError(record)

    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    handler = AppLogHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    # App Engine kept debug lines too.
    root.setLevel(logging.DEBUG)


def install():
    """Routes logging, sys.stderr and the log side of sys.stdout to the
    master. Runs in a new instance, before any app code; `logging` is
    routed when it is first imported if the zygote has not loaded it."""
    import_hooks.when_imported("logging", _route_logging)
    sys.stderr = stderr


_defaults = sys.modules[__name__]
