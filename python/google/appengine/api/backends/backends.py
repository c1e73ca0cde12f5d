"""Backend addressing (BK7): which backend and instance this is, and the
URLs that reach a backend or one of its instances on this server.

Hostnames take the forms the server routes by Host header:
`[instance.]backend.HOSTNAME:PORT`, where HOSTNAME is the server's
--hostname. The backends are those of backends.yaml when the server
started; an instance number is checked against the most the tier allows.
Apps import the package (google.appengine.api.backends) or, as the SDK
allowed, this module itself.
"""
import os

__all__ = ["Error", "DefaultHostnameError", "InvalidBackendError", "InvalidInstanceError",
           "get_backend", "get_instance", "get_url", "get_hostname"]


class Error(Exception):
    """Base class for this module's errors."""


class DefaultHostnameError(Error):
    """The server's hostname is unknown (code running outside a served
    instance, which the runtime did not configure)."""


class InvalidBackendError(Error):
    """No backend of that name, or no backend named outside a backend."""


class InvalidInstanceError(Error):
    """Not an instance number of that backend."""


# Backend names: 1-100 of these (str.strip leaves nothing of a valid one).
_NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-"

# Set by the runtime before app code runs (see configure).
_host = None
_instances = {}


def configure(description):
    """Takes the server's description: 'HOST:PORT name=N name=N ...', N
    the most instances the backend may have."""
    global _host
    parts = description.split()
    _host = parts[0] if parts else None
    _instances.clear()
    for part in parts[1:]:
        name, _, count = part.partition("=")
        _instances[name] = int(count)


def get_backend():
    """The name of the backend this code runs on, or None on the default
    version."""
    return os.environ.get("BACKEND_ID") or None


def get_instance():
    """This backend instance's number, or None on the default version."""
    if get_backend() is None:
        return None
    try:
        return int(os.environ.get("INSTANCE_ID", ""))
    except ValueError:
        return None


def get_hostname(backend=None, instance=None):
    """The host that reaches backend (default: this one), or one instance
    of it, on this server."""
    if backend is None:
        backend = get_backend()
        if backend is None:
            raise InvalidBackendError("no backend given, and this is not a backend")
    if _host is None:
        raise DefaultHostnameError("the server's hostname is unknown here")
    if (not isinstance(backend, str) or not 1 <= len(backend) <= 100
            or backend.strip(_NAME_CHARS) or backend not in _instances):
        raise InvalidBackendError("no backend named %r" % (backend,))
    if instance is not None:
        try:
            number = int(instance)
        except (TypeError, ValueError):
            raise InvalidInstanceError("instance must be a number, not %r" % (instance,))
        # Against the most the tier allows: the backend's count may grow
        # while this instance runs (backends configure).
        if not 0 <= number < _instances[backend]:
            raise InvalidInstanceError("backend %s can have no instance %r (at most %d)"
                                       % (backend, instance, _instances[backend]))
        return "%d.%s.%s" % (number, backend, _host)
    return "%s.%s" % (backend, _host)


def get_url(backend=None, instance=None, protocol="http"):
    """protocol://get_hostname(backend, instance)."""
    if protocol not in ("http", "https"):
        raise ValueError("protocol must be 'http' or 'https', not %r" % (protocol,))
    return "%s://%s" % (protocol, get_hostname(backend, instance))
