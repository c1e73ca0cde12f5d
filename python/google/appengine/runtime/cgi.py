"""CGI script handlers (RT3), run the way App Engine's python27 runtime ran
them.

`script: dir/file.py` names a file under the app root (or, uploaded
compiled only, the `dir/file.pyc` beside that name). The request is in
os.environ (the per-request environ of request_environ, with
PATH_TRANSLATED the script's file) and in sys.stdin;
the response is what the script writes to sys.stdout: header lines, a blank
line, then the body (parse_output: as on App Engine, the head also ends at
a line that is no header, or with the output). A `Status:` header sets the status (default 200 OK), a
`Location:` header without one means 302 Found, and a missing Content-Type
is text/html.

Caching: the file is executed as a fresh module named "__main__", which is
also sys.modules' module of the name its path gives (scripts/page.py:
scripts.page, an attribute of its package too) when an import of that name
would load that file, as App Engine's runtime kept it: a module that
imports the script by that name gets the script itself, not a second
copy. If that module defines a main() callable without arguments, later
requests on this instance call only main(), its globals intact.
Otherwise (or if the execution failed) it is executed again on the next
request, from the code compiled the first time while the file stays the
same (compiling a long script costs milliseconds on every request).

sys.stdin and sys.stdout are proxies installed once (install()): inside a
CGI request, and in threads that request starts, they are the request's
own streams; everywhere else stdout is the app log (info level) as under
WSGI.
"""
import _imp
import io
import marshal
import os
import sys
import types
# importlib.util.MAGIC_NUMBER is this one; importing it from here spares
# every cold start importlib and warnings.
from _frozen_importlib_external import MAGIC_NUMBER

import _gaelic

from google.appengine.runtime import DeadlineExceededError, app_logs, handlers, request_state
from google.appengine.runtime import request_threads, skip_files, wsgi


_app_root = None
# The process's own __main__, put back after each script that replaced it
# (not the one a script found: concurrent scripts would leave theirs).
_process_main = sys.modules.get("__main__")
_cached = {}   # relative script path -> module whose main() serves it
_compiled = {}  # absolute script path -> ((mtime_ns, size, inode), code)
_active = {}   # request_state.Request -> (stdin, stdout) of a CGI request


class ScriptError(Exception):
    """The request cannot be served; .status is the answer, str() the reason."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status


def set_app_root(path):
    global _app_root
    _app_root = os.path.realpath(path)


def _streams():
    return _active.get(request_state.current())


class _StdoutProxy:
    """sys.stdout: the calling request's CGI output, else the app log."""

    def _target(self):
        s = _streams()
        return app_logs.stdout if s is None else s[1]

    def __getattr__(self, name):
        return getattr(self._target(), name)

    def write(self, text):
        return self._target().write(text)

    def flush(self):
        return self._target().flush()

    def __repr__(self):
        return "<gaelic stdout -> %r>" % (self._target(),)


class _StdinProxy:
    """sys.stdin: the calling request's CGI body, else the process stdin."""

    def __init__(self, process_stdin):
        self._process = process_stdin

    def _target(self):
        s = _streams()
        return self._process if s is None else s[0]

    def __getattr__(self, name):
        return getattr(self._target(), name)

    def __iter__(self):
        return iter(self._target())

    def __repr__(self):
        return "<gaelic stdin -> %r>" % (self._target(),)


_stdout = _StdoutProxy()
_stdin = None


def install():
    """Puts the proxies in sys.stdout and sys.stdin. Idempotent."""
    global _stdin
    if _stdin is None:
        _stdin = _StdinProxy(sys.stdin)
    sys.stdout = _stdout
    sys.stdin = _stdin


class _Output(io.BytesIO):
    """The response buffer: refuses to grow past max_size bytes. A script
    that closes its stdout (or stdout.buffer) has ended its output, as
    under a web server's CGI: what it wrote is kept as the response."""

    def __init__(self, max_size):
        super().__init__()
        self.max_size = max_size
        self.too_large = False
        self.written = None  # the output once closed

    def write(self, data):
        if self.tell() + len(data) > self.max_size:
            self.too_large = True
            raise wsgi.ResponseTooLarge("response exceeds %d bytes" % self.max_size)
        return super().write(data)

    def close(self):
        if not self.closed:
            self.written = self.getvalue()
        super().close()

    def output(self):
        return self.written if self.closed else self.getvalue()


def _relative(script):
    """The path of script relative to its folder (the app root, or after
    `$PYTHON_LIB/` the runtime's own library), or ScriptError for one that
    would leave it."""
    rel = script[len("$PYTHON_LIB/"):] if script.startswith("$PYTHON_LIB/") else script
    if os.path.isabs(rel) or ".." in rel.replace("\\", "/").split("/"):
        raise ScriptError(500, "refused: the script path leaves the app folder")
    return rel


def module_name(script):
    """The name App Engine's runtime kept a script's module under: its path
    without .py, with dots for slashes (a package's __init__.py: the
    package)."""
    name = os.path.normpath(_relative(script)).rpartition(".py")[0]
    name = name.replace(os.sep, ".").strip(".")
    return name[:-len(".__init__")] if name.endswith(".__init__") else name


def resolve(script):
    """The absolute path of script, or ScriptError. Paths are relative to
    the app root; `$PYTHON_LIB/` means the runtime's own library."""
    rel = _relative(script)
    if script.startswith("$PYTHON_LIB/"):
        base = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.dirname(os.path.realpath(__file__)))))
    else:
        base = _app_root or os.path.realpath(os.getcwd())
    path = os.path.realpath(os.path.join(base, rel))
    if not os.path.isfile(path) and rel.endswith(".py") \
            and os.path.isfile(os.path.join(base, rel + "c")):
        # App Engine took a script uploaded compiled only under its .py
        # name: the .pyc beside it serves (sourceless, as imports find it).
        rel += "c"
        path = os.path.realpath(os.path.join(base, rel))
    if os.path.commonpath([base, path]) != base:
        raise ScriptError(500, "refused: the script resolves outside the app folder (%s)" % path)
    if not os.path.isfile(path):
        raise ScriptError(404, "script file not found: %s" % path)
    why = None if script.startswith("$PYTHON_LIB/") else skip_files.why_hidden(
        os.path.normpath(rel).replace(os.sep, "/"))
    if why:
        # Never uploaded to App Engine as code: as missing there as here.
        raise ScriptError(404, "script file %s: %s" % (why, path))
    return path


def _has_zero_arg_main(module):
    main = module.__dict__.get("main")
    if not callable(main):
        return False
    # A function or method is read from its code, without inspect: the app
    # folder comes first on sys.path, and an app may have an inspect of its
    # own. (inspect costs the zygote ~5 ms at start, hence not at the top.)
    bound = 0
    if isinstance(main, types.MethodType):
        main, bound = main.__func__, 1
    if isinstance(main, types.FunctionType):
        code = main.__code__
        return (code.co_argcount - bound <= len(main.__defaults__ or ()) and
                code.co_kwonlyargcount <= len(main.__kwdefaults__ or ()))
    import inspect  # a class, a partial...: rare enough
    try:
        inspect.signature(main).bind()
    except (TypeError, ValueError):
        return False
    return True


def _load_code(data, path):
    """The code of a script file: its source compiled, or a .pyc's code
    (this CPython's bytecode only, as a sourceless import takes it)."""
    if not path.endswith(".pyc"):
        return compile(data, path, "exec")
    if data[:4] != MAGIC_NUMBER or len(data) < 16:
        raise ImportError("bad magic number in %s: not this Python's bytecode" % path)
    return marshal.loads(memoryview(data)[16:])


def _registered_name(name, path):
    """(name, its package or None, its last part) when the script at path
    is what an import of name would load, so that it may be kept in
    sys.modules under that name; (None, None, None) when the name is
    another module's: one loaded already from another file, a built-in or
    frozen one (those come before the app's folder), or a submodule of a
    package that is not the script's folder (the standard library's email
    for a script email/utils.py)."""
    nothing = None, None, None
    previous = sys.modules.get(name) if name else None
    if not name or (previous is not None and not _is_file_of(previous, path)):
        return nothing
    parent, _, child = name.rpartition(".")
    if not parent:
        if name in sys.builtin_module_names or _imp.is_frozen(name):
            return nothing
        return name, None, child
    try:
        __import__(parent)  # as an import of name would
    except Exception as e:
        # A package that does not import (missing, or broken: a script
        # beside a Python 2 __init__.py ran before) has no submodule.
        if handlers.is_out_of_memory(e):
            raise
        return nothing
    package = sys.modules.get(parent)
    if not isinstance(package, types.ModuleType):
        return nothing
    folder = os.path.dirname(path)
    if os.path.basename(path).startswith("__init__."):
        folder = os.path.dirname(folder)
    try:
        folders = [os.path.realpath(f) for f in package.__path__]
    except (AttributeError, TypeError):
        return nothing  # a module, not a package
    return (name, package, child) if folder in folders else nothing


def _is_file_of(module, path):
    """Whether module was loaded from path (absolute, resolved): not a
    standard library module, say, that has the name a script's path gives."""
    file = getattr(module, "__file__", None)
    return isinstance(file, str) and os.path.realpath(file) == path


def _imported(module, script):
    """module, which the app imported by the script's module name, if it is
    the script's file with a main() to call, cached for the script; else
    None."""
    if not isinstance(module, types.ModuleType) or not _has_zero_arg_main(module):
        return None
    try:
        if not _is_file_of(module, resolve(script)):
            return None
    except ScriptError:
        return None
    return _cached.setdefault(script, module)


def _execute(script):
    """Runs the request's script: main() of its module when that has a
    main() without arguments (cached from an earlier request, or a module
    the app imported by the script's module name, as App Engine's runtime
    took it), else the whole file as a new module, which is then
    sys.modules' module of that name (_registered_name). Meanwhile the
    module is sys.modules["__main__"] and named so, as App Engine's runtime
    made it: pickle looks up the classes a script defines there; the
    process's own is put back after, and the module takes its own name
    again."""
    name = module_name(script)
    module = _cached.get(script)
    if module is None and name in sys.modules:
        module = _imported(sys.modules[name], script)
    try:
        if module is not None:
            # The script's file, as App Engine's runtime set it. Into the
            # request's dict directly, as dispatch does for WSGI handlers:
            # through os.environ, this first change of the request's
            # variables would cost a copy of them (before_change).
            request_state.current_environ()["PATH_TRANSLATED"] = module.__file__
            sys.modules["__main__"] = module
            module.__name__ = "__main__"
            try:
                module.main()
            except SystemExit:
                pass
            return
        path = resolve(script)
        request_state.current_environ()["PATH_TRANSLATED"] = path
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            compiled = _compiled.get(path)
            if compiled is not None and compiled[0] == stamp:
                code = compiled[1]
            else:
                code = _load_code(f.read(), path)
                _compiled[path] = (stamp, code)
        name, package, child = _registered_name(name, path)
        previous = sys.modules.get(name) if name else None
        module = types.ModuleType("__main__")
        module.__file__ = path
        before = package.__dict__.get(child) if package is not None else None
        sys.modules["__main__"] = module
        # Before it runs: the script's own imports (a module it imports
        # that imports it back by name) find it, as Python 2's did.
        if name:
            sys.modules[name] = module
        if package is not None:
            setattr(package, child, module)
        try:
            exec(code, module.__dict__)
        except SystemExit:
            pass
        except BaseException:
            # As after a failed import: the name is not this module's.
            if name and sys.modules.get(name) is module:
                if previous is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = previous
            if package is not None and package.__dict__.get(child) is module:
                if before is None:
                    delattr(package, child)
                else:
                    setattr(package, child, before)
            raise
        if _has_zero_arg_main(module):
            _cached.setdefault(script, module)
    finally:
        if module is not None:
            if sys.modules.get("__main__") is module:
                if _process_main is None:
                    sys.modules.pop("__main__", None)
                else:
                    sys.modules["__main__"] = _process_main
            if name:
                module.__name__ = name


# A line that begins a header field, as App Engine's runtime told one
# (email.feedparser's headerRE): a name of visible characters but ':',
# then a colon. Whether the name is also an HTTP token is checked after.
_NAME_CHARS = bytes(c for c in range(0x21, 0x7f) if c != ord(":"))


def _is_header_line(line):
    name, colon, _ = line.partition(b":")
    return bool(colon) and bool(name) and not name.strip(_NAME_CHARS)


def parse_output(out):
    """Splits CGI output into (status, headers, body) or raises ValueError.
    As App Engine's python27 runtime read it, the head is the header lines
    up to a blank line, the first line that is no header line (which
    begins the body) or the end of the output: a script that writes
    nothing, or headers alone, is answered, not failed."""
    headers = []
    status = None
    last_is_status = False  # what a folded line continues
    pos = 0
    while pos < len(out):
        nl = out.find(b"\n", pos)
        end = len(out) if nl < 0 else nl + 1
        line = out[pos:end].rstrip(b"\r\n")
        if not line:
            pos = end  # the blank line ending the head
            break
        if line[:1] in (b" ", b"\t") and (headers or last_is_status):
            # A folded line continues its field (obs-fold, RFC 9112 5.2:
            # a recipient may put a space in its place).
            more = " " + line.strip(b" \t").decode("latin-1")
            if last_is_status:
                status += more
            else:
                headers[-1] = (headers[-1][0], headers[-1][1] + more)
            pos = end
            continue
        if not _is_header_line(line):
            break  # the body begins with this line
        pos = end
        name, _, value = line.partition(b":")
        if not wsgi.is_token(name):
            raise ValueError("invalid header name %r" % name[:200])
        name = name.decode("ascii")
        value = value.strip(b" \t").decode("latin-1")
        last_is_status = name.lower() == "status"
        if last_is_status:
            status = value
        else:
            headers.append((name, value))
    body = out[pos:]
    if status is None:
        has_location = any(n.lower() == "location" for n, _ in headers)
        status = "302 Found" if has_location else "200 OK"
    elif status.isdigit() and len(status) == 3:
        # Not http.HTTPStatus: importing it costs a cold start about 3 ms,
        # and imported now it could be the app's own http package.
        status = "%s %s" % (status, _gaelic.reason_phrase(int(status)))
    wsgi.check_status(status)
    wsgi.check_headers(headers)
    if not any(n.lower() == "content-type" for n, _ in headers) \
            and status[:3] not in ("204", "205", "304"):
        headers.append(("Content-Type", "text/html"))
    return status, headers, body


def _still_open(stream):
    """Whether stream may still be flushed: neither closed (which flushed
    it) nor detached (sys.stdout.detach(), which flushed it too, and after
    which a TextIOWrapper raises even when asked whether it is closed)."""
    if stream is None:
        return False
    try:
        return not getattr(stream, "closed", False)
    except ValueError:
        return False


def run(script, environ, max_size):
    """Serves one request with a CGI script; returns (status, headers, body).
    Failures are logged and answered 500 (404 for a missing file)."""
    request = request_state.current()
    output = _Output(max_size)
    stdout = io.TextIOWrapper(output, encoding="utf-8", errors="surrogateescape",
                              newline="\n", write_through=True)
    stdin = io.TextIOWrapper(environ["wsgi.input"], encoding="utf-8",
                             errors="surrogateescape", newline="")
    _active[request] = (stdin, stdout)
    try:
        try:
            try:
                _execute(script)
            finally:
                # Threads the script started may still be printing.
                request_threads.join_all(request)
            # The script's own stdout (a buffered wrapper of
            # sys.stdout.buffer, say), then the request's: flushed as the
            # interpreter's exit flushes a CGI process's, unless closed.
            own = sys.stdout if sys.stdout is not _stdout else None
            flush = getattr(own, "flush", None) if _still_open(own) else None
            if flush is not None:
                flush()
            if _still_open(stdout):
                stdout.flush()
        except ScriptError as e:
            handlers.log(script, str(e))
            return _error(e.status)
        except DeadlineExceededError:
            raise  # answered by the master's timeout page
        except BaseException as e:
            if handlers.is_out_of_memory(e):
                raise  # dispatch retires the instance, as for a WSGI handler
            if output.too_large:
                handlers.log(script, "response not sent: longer than %d bytes" % max_size)
            else:
                handlers.log_exception(script, "CGI script failed:")
            return _error(500)
        if output.too_large:
            handlers.log(script, "response not sent: longer than %d bytes" % max_size)
            return _error(500)
        try:
            return parse_output(output.output())
        except (ValueError, TypeError) as e:
            handlers.log(script, "malformed CGI output: %s" % e)
            return _error(500)
    finally:
        del _active[request]
        # A script that replaced sys.stdout/stdin affects only its request.
        if sys.stdout is not _stdout or sys.stdin is not _stdin:
            install()


# The script was not found. Only the runtime's 500 gives way to the app's
# error page (the master uses those for 5xx answers alone).
_NOT_FOUND = ("404 Not Found", [("Content-Type", "text/html; charset=utf-8")],
              b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body>"
              b"<h1>Not Found</h1><p>The requested URL was not found.</p></body></html>\n")


def _error(status):
    """The answer for a ScriptError's status (404 or 500), or a failure."""
    return _NOT_FOUND if status == 404 else handlers.ERROR_500
