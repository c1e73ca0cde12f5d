"""google.appengine.api.background_thread: threads that outlive their
request, on backend instances (BG1-BG3). See background_thread.py."""
from google.appengine.api.background_thread.background_thread import (
    BackgroundThread, BackgroundThreadLimitReachedError, Error, FrontendsNotSupported,
    start_new_background_thread)

__all__ = ["BackgroundThread", "BackgroundThreadLimitReachedError", "Error",
           "FrontendsNotSupported", "start_new_background_thread"]
