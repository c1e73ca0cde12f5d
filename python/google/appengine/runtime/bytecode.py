"""Bytecode for the app's own modules, written by the zygote.

Instances see the app folder read-only, so without this each one compiles
every module of the app from source on its first request, on every start
(for a large app that is most of a cold start). The zygote is not sandboxed:
when it is idle it writes the .pyc files CPython itself would write
(__pycache__/NAME.cpython-311.pyc beside each source, checked by timestamp),
as dev_appserver's Python did. Compiling runs no app code.

It works in short steps (step()), so the zygote still answers the master
between them, and it is bounded: at most MAX_FILES sources of at most
MAX_SOURCE_BYTES each. A folder the server cannot write to is left alone; a
__pycache__ that is not a plain folder (a symlink, say) is never written
through.
"""
import importlib.util
import os
import py_compile
import stat
import time

MAX_FILES = 5000
MAX_SOURCE_BYTES = 4 << 20
STEP_SECONDS = 0.005

_pending = None


def start(app_root):
    """Lists the app's sources that lack up-to-date bytecode."""
    global _pending
    _pending = []
    if not os.access(app_root, os.W_OK):
        return
    seen = 0
    for folder, dirs, files in os.walk(app_root):  # symlinked folders are not entered
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            seen += 1
            if seen > MAX_FILES:
                return
            _pending.append(os.path.join(folder, name))
    _pending.reverse()  # step() pops from the end: in walk order


def step():
    """Compiles sources for up to STEP_SECONDS. Returns whether any remain."""
    if not _pending:
        return False
    stop = time.monotonic() + STEP_SECONDS
    while _pending and time.monotonic() < stop:
        _compile(_pending.pop())
    return bool(_pending)


def _compile(source):
    try:
        st = os.lstat(source)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_SOURCE_BYTES:
            return
        cfile = importlib.util.cache_from_source(source)
        if _up_to_date(cfile, st):
            return
        cache_dir = os.path.dirname(cfile)
        try:
            dst = os.lstat(cache_dir)
        except FileNotFoundError:
            os.mkdir(cache_dir)
            dst = os.lstat(cache_dir)
        if not stat.S_ISDIR(dst.st_mode):
            return
        # Errors (a syntax error, say) stay the import's to report.
        py_compile.compile(source, cfile=cfile, doraise=False, quiet=2)
    except OSError:
        pass


def _up_to_date(cfile, st):
    """Whether cfile is timestamp bytecode for a source with st's mtime and size."""
    try:
        with open(cfile, "rb") as f:
            head = f.read(16)
    except OSError:
        return False
    return (len(head) == 16 and head[:4] == importlib.util.MAGIC_NUMBER
            and int.from_bytes(head[4:8], "little") == 0
            and int.from_bytes(head[8:12], "little") == int(st.st_mtime) & 0xFFFFFFFF
            and int.from_bytes(head[12:16], "little") == st.st_size & 0xFFFFFFFF)
