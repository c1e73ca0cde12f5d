"""google.appengine.api.runtime: what an instance knows about its own life.

is_shutting_down() and set_shutdown_hook() (API3) come from shutdown.py.
"""
from google.appengine.api.runtime.shutdown import is_shutting_down, set_shutdown_hook

__all__ = ["is_shutting_down", "set_shutdown_hook"]
