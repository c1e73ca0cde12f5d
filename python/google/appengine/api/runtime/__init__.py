"""google.appengine.api.runtime: what an instance knows about its own life.

is_shutting_down() and set_shutdown_hook() (API3) come from shutdown.py;
cpu_usage() and memory_usage() (API1, API2) from stats.py.
"""
from google.appengine.api.runtime.shutdown import is_shutting_down, set_shutdown_hook
from google.appengine.api.runtime.stats import cpu_usage, memory_usage

__all__ = ["is_shutting_down", "set_shutdown_hook", "cpu_usage", "memory_usage"]
