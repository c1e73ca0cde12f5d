"""Shutdown notice for backend instances (API3, BK4).

An instance is shut down when its backend is stopped or updated, when its
memory passes its class's limit, when it is shut down by hand, or when the
server exits. Running requests then get a grace period (30 s by default)
before the instance is killed.
"""
from google.appengine.runtime import shutdown_notice


def is_shutting_down():
    """True once this instance has been told to shut down."""
    return shutdown_notice.is_shutting_down()


def set_shutdown_hook(hook):
    """Sets the function called (with no arguments) when shutdown begins.

    It runs inside a running request when there is one, so an exception it
    raises interrupts that request (and, in a threadsafe app, every other
    request thread); otherwise in an internal /_ah/stop request. Returns the
    previous hook, or None. Raises TypeError if hook is not callable.
    """
    return shutdown_notice.set_hook(hook)
