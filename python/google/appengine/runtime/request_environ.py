"""os.environ per request thread (RT8).

os.environ (and os.environb, and so os.getenv) become views whose contents
depend on the calling thread: inside a request they are exactly that
request's variables, and writes stay there, invisible to any other request;
outside requests they are the process environment as before.
"""
import os
from collections.abc import MutableMapping

from google.appengine.runtime import request_state

_current = request_state.current_environ
_before_change = request_state.before_change


def _check_str(value):
    if not isinstance(value, str):
        raise TypeError("str expected, not %s" % type(value).__name__)
    return value


class RequestEnviron(MutableMapping):
    """A str -> str mapping that reads and writes the calling thread's
    request environ, or the process environ outside requests."""

    __slots__ = ("_process",)

    def __init__(self, process_environ):
        self._process = process_environ

    def _data(self):
        env = _current()
        return self._process if env is None else env

    def __getitem__(self, key):
        return self._data()[key]

    def get(self, key, default=None):
        return self._data().get(key, default)

    def __contains__(self, key):
        return key in self._data()

    def __setitem__(self, key, value):
        env = _current()
        if env is None:
            self._process[key] = value  # os._Environ checks types, putenv()s
        else:
            _before_change(env)
            env[_check_str(key)] = _check_str(value)

    def __delitem__(self, key):
        env = _current()
        if env is None:
            del self._process[key]
        else:
            _before_change(env)
            del env[key]

    def __iter__(self):
        # A snapshot, like os.environ: the loop body may change the mapping.
        return iter(list(self._data()))

    def __len__(self):
        return len(self._data())

    def copy(self):
        return dict(self._data())

    def __repr__(self):
        return "environ(%r)" % (self.copy(),)

    def __or__(self, other):
        if not isinstance(other, dict):
            return NotImplemented
        new = self.copy()
        new.update(other)
        return new

    def __ror__(self, other):
        if not isinstance(other, dict):
            return NotImplemented
        new = dict(other)
        new.update(self._data())
        return new

    def __ior__(self, other):
        self.update(other)
        return self


class RequestEnvironBytes(MutableMapping):
    """os.environb over RequestEnviron: the same data, file-system encoded."""

    __slots__ = ("_environ",)

    def __init__(self, environ):
        self._environ = environ

    def __getitem__(self, key):
        return os.fsencode(self._environ[os.fsdecode(key)])

    def __setitem__(self, key, value):
        if not isinstance(key, bytes) or not isinstance(value, bytes):
            raise TypeError("bytes expected")
        self._environ[os.fsdecode(key)] = os.fsdecode(value)

    def __delitem__(self, key):
        del self._environ[os.fsdecode(key)]

    def __iter__(self):
        return iter([os.fsencode(k) for k in self._environ])

    def __len__(self):
        return len(self._environ)

    def copy(self):
        return dict(self.items())

    def __repr__(self):
        return "environb(%r)" % (self.copy(),)


_environ = _environb = None  # what install() put in os


def install():
    """Replaces os.environ/os.environb. Idempotent."""
    global _environ, _environb
    if _environ is None:
        _environ = RequestEnviron(os.environ)
        if hasattr(os, "environb"):
            _environb = RequestEnvironBytes(_environ)
    restore()


def restore():
    """Puts the runtime's os.environ and os.environb back if the app bound
    them to objects of its own: those are process-wide, and every later
    request would read the variables the app's object holds (another
    request's user, say) instead of its own."""
    if os.environ is not _environ:
        os.environ = _environ
    if _environb is not None and os.environb is not _environb:
        os.environb = _environb
