"""google.appengine.api.logservice: the Logs API (LG1). See logservice.py."""
from google.appengine.api.logservice.logservice import (
    AUTOFLUSH_ENABLED, AUTOFLUSH_EVERY_BYTES, AUTOFLUSH_EVERY_LINES, AUTOFLUSH_EVERY_SECONDS,
    LOG_LEVEL_CRITICAL, LOG_LEVEL_DEBUG, LOG_LEVEL_ERROR, LOG_LEVEL_INFO, LOG_LEVEL_WARNING,
    MAX_ITEMS_PER_FETCH, AppLog, Error, InvalidArgumentError, RequestLog, TimeoutError,
    auto_flush, autoflush, clear, fetch, flush, flush_time, log_buffer_age, log_buffer_bytes,
    log_buffer_lines, write, write_record)

__all__ = ["AUTOFLUSH_ENABLED", "AUTOFLUSH_EVERY_BYTES", "AUTOFLUSH_EVERY_LINES",
           "AUTOFLUSH_EVERY_SECONDS", "LOG_LEVEL_CRITICAL", "LOG_LEVEL_DEBUG",
           "LOG_LEVEL_ERROR", "LOG_LEVEL_INFO", "LOG_LEVEL_WARNING", "MAX_ITEMS_PER_FETCH",
           "AppLog", "Error", "InvalidArgumentError", "RequestLog", "TimeoutError", "auto_flush",
           "autoflush", "clear", "fetch", "flush", "flush_time", "log_buffer_age",
           "log_buffer_bytes", "log_buffer_lines", "write", "write_record"]


class _Package(type(__import__("sys"))):
    """Setting logservice.AUTOFLUSH_* on the package (as apps do) sets the
    value the autoflush reads in logservice.logservice."""

    def __setattr__(self, name, value):
        if name.startswith("AUTOFLUSH_"):
            from google.appengine.api.logservice import logservice as _impl
            setattr(_impl, name, value)
        super().__setattr__(name, value)


__import__("sys").modules[__name__].__class__ = _Package
