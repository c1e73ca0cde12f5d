"""google.appengine.api.runtime: what an instance knows about its own life.

is_shutting_down() and set_shutdown_hook() (API3) come from shutdown.py;
cpu_usage() and memory_usage() (API1, API2) from stats.py. They are taken
through runtime.py, as both SDKs' package took them from its runtime module,
which is thereby this package's `runtime` attribute too: apps reach them
as google.appengine.api.runtime.runtime.memory_usage() after `from
google.appengine.api import runtime`.
"""
from google.appengine.api.runtime.runtime import (cpu_usage, is_shutting_down, memory_usage,
                                                  set_shutdown_hook)

__all__ = ["is_shutting_down", "set_shutdown_hook", "cpu_usage", "memory_usage"]
