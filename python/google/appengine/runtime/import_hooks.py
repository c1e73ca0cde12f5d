"""Code that must run when a module is first imported, not before.

The runtime adapts a few standard modules (tempfile for the sandbox,
logging for app logs), but importing them up front would put their cost
on every cold start, including apps that never use them. when_imported()
runs a callback on the module right after it has executed, the first time
anything imports it, or at once if it is already loaded.
"""
import sys

_callbacks = {}


def when_imported(name, callback):
    module = sys.modules.get(name)
    if module is not None:
        callback(module)
        return
    _callbacks.setdefault(name, []).append(callback)
    if not any(isinstance(f, _AfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport())


class _AfterImport:
    """A meta path finder that finds nothing itself: for a module with
    callbacks it wraps the spec the other finders return."""

    def find_spec(self, name, path=None, target=None):
        if name not in _callbacks:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                spec.loader = _Loader(spec.loader)
                return spec
        return None


class _Loader:
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        for callback in _callbacks.pop(module.__name__, ()):
            callback(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)
