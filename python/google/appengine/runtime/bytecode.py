"""Bytecode for the app's own modules, written by the zygote.

Instances see the app folder read-only, so without this each one compiles
every module of the app from source on its first request, on every start
(for a large app that is most of a cold start). The zygote is not sandboxed:
when it is idle it writes the .pyc files CPython itself would write
(__pycache__/NAME.cpython-311.pyc beside each source, checked by timestamp),
as dev_appserver's Python did. Compiling runs no app code.

It runs in a child of the zygote (instance/zygote_bytecode.c), so the
zygote goes on forking instances however long a source takes to compile
(CPython compiles a long f-string in quadratic time: 480 KB took 17 s here),
only on CPU time no instance wants, and it is bounded: a CPU-time budget
(zygote_bytecode.h), the instances' address space, at most MAX_FILES
sources of at most MAX_SOURCE_BYTES each. Sources the app may not read
(skip_files, static files) are left out. A folder the server cannot
write to is left alone; a __pycache__ that is not a plain folder (a
symlink, say) is never written through.
"""
import compileall
import importlib.util
import os
import stat
import time

import _gaelic

MAX_FILES = 5000
MAX_SOURCE_BYTES = 4 << 20


def write(app_root):
    """Writes the bytecode of the app's sources under app_root."""
    if os.access(app_root, os.W_OK):
        for source in _walk(app_root):
            _compile(source)


def _walk(app_root):
    count = 0
    for folder, dirs, files in os.walk(app_root):  # symlinked folders are not entered
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in sorted(files):
            # Not for a source the app may not read (skip_files, a static
            # file): its bytecode would tell what the source says.
            if name.endswith(".py") and _gaelic.why_hidden(
                    os.fsencode(os.path.relpath(os.path.join(folder, name), app_root))) is None:
                count += 1
                if count > MAX_FILES:
                    return
                yield os.path.join(folder, name)


def _settled(source, st):
    """The source's lstat once the second of its mtime has passed, or None.
    CPython takes bytecode as up to date when it holds the source's mtime
    in whole seconds and its size: bytecode of a source changed within the
    current second would pass for an edit later in that second that keeps
    the size (WORD = 'one' -> 'two'), and instances would run the old
    code. Once the second has passed, any later edit has another mtime."""
    for _ in range(3):
        wait = int(st.st_mtime) + 1 - time.time()
        if wait <= 0:
            return st
        if wait > 1:
            return None  # dated in the future: left to the import
        time.sleep(wait)
        st = os.lstat(source)
    return None  # still being written to


def _compile(source):
    try:
        st = _settled(source, os.lstat(source))
        if st is None or not stat.S_ISREG(st.st_mode) or st.st_size > MAX_SOURCE_BYTES:
            return
        cache_dir = os.path.dirname(importlib.util.cache_from_source(source))
        try:
            dst = os.lstat(cache_dir)
        except FileNotFoundError:
            os.mkdir(cache_dir)
            dst = os.lstat(cache_dir)
        if not stat.S_ISDIR(dst.st_mode):
            return
        # Skips bytecode that is up to date; errors (a syntax error, say)
        # stay the import's to report.
        compileall.compile_file(source, quiet=2)
        # CPython stats the source for the bytecode's stamp after it has
        # read and compiled it: an edit meanwhile (a second save while the
        # writer, at idle priority, waited) would give the old code the new
        # source's stamp, and instances would run it until the next edit.
        now = os.lstat(source)
        if (now.st_mtime_ns, now.st_size) != (st.st_mtime_ns, st.st_size):
            os.unlink(importlib.util.cache_from_source(source))
    except OSError:
        pass

