"""The Python side of the sandbox (SB1): temporary files live in memory.

Apps cannot write to the filesystem (the C audit hook refuses it with a
PermissionError, and the kernel would anyway), but App Engine let them use
tempfile.TemporaryFile: here it returns an in-memory file, and
SpooledTemporaryFile never rolls over to disk. Installed in the zygote,
before any app code runs; tempfile itself (with shutil, random, bz2 and
lzma behind it, several ms) is patched when something first imports it,
not at start.
"""
import io

from google.appengine.runtime import import_hooks


def _memory_file(mode="w+b", buffering=-1, encoding=None, newline=None,
                 suffix=None, prefix=None, dir=None, *, errors=None):
    """tempfile.TemporaryFile without a file: BytesIO, or StringIO for text."""
    if "b" in mode:
        return io.BytesIO()
    return io.StringIO(newline=newline)


def _patch(tempfile):
    tempfile.TemporaryFile = _memory_file
    # gettempdir() would probe for a writable folder by writing to each
    # candidate; with a fixed answer, mkstemp and friends fail at once with
    # the sandbox's own message.
    tempfile.tempdir = "/tmp"


def install():
    import_hooks.when_imported("tempfile", _patch)
