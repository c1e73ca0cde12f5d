"""google.appengine.api.runtime.runtime: where App Engine's SDKs define the
runtime API, imported as `from google.appengine.api.runtime import runtime`
by many apps. The functions live in shutdown.py and stats.py."""
from google.appengine.api.runtime.shutdown import is_shutting_down, set_shutdown_hook
from google.appengine.api.runtime.stats import cpu_usage, memory_usage

__all__ = ["is_shutting_down", "set_shutdown_hook", "cpu_usage", "memory_usage"]
