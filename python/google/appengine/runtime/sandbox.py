"""The Python side of the sandbox: temporary files live in memory (SB1),
and socketpair is refused with SB2's message.

Apps cannot write to the filesystem (the C audit hook refuses it with a
PermissionError, and the kernel would anyway), but App Engine let them use
tempfile.TemporaryFile: here it returns an in-memory file, and
SpooledTemporaryFile never rolls over to disk. Installed in the zygote,
before any app code runs; tempfile itself (with shutil, random, bz2 and
lzma behind it, several ms) is patched when something first imports it,
not at start.
"""
import io
import sys

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


def _audit_socketpair(socket):
    """CPython raises no audit event for socketpair, so the audit hook
    could not name SB2 (SB6): the kernel's bare EPERM was all the app saw.
    The event is raised here; _socket.socketpair itself, called directly,
    still meets the kernel's refusal."""
    original = socket.socketpair

    def socketpair(*args, **kwargs):
        sys.audit("socket.socketpair", *args)
        return original(*args, **kwargs)

    socketpair.__doc__ = original.__doc__
    socketpair.__wrapped__ = original
    socket.socketpair = socketpair


def install():
    import_hooks.when_imported("tempfile", _patch)
    import_hooks.when_imported("socket", _audit_socketpair)
