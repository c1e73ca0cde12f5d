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
import sys


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


class _PatchOnImport:
    """A meta path finder that only wraps the normal loading of tempfile,
    so that the module is patched the moment it has run."""

    def find_spec(self, name, path=None, target=None):
        if name != "tempfile":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                exec_module = spec.loader.exec_module

                def exec_and_patch(module):
                    exec_module(module)
                    _patch(module)
                spec.loader = _Loader(spec.loader, exec_and_patch)
                return spec
        return None


class _Loader:
    def __init__(self, loader, exec_module):
        self._loader = loader
        self.exec_module = exec_module

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def __getattr__(self, name):
        return getattr(self._loader, name)


def install():
    if "tempfile" in sys.modules:
        _patch(sys.modules["tempfile"])
    elif not any(isinstance(f, _PatchOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())
