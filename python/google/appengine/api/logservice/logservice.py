"""The Logs API (LG1), written for gaelic: read the app's request logs and
their app log lines, and flush the running request's log.

    from google.appengine.api import logservice

    for req in logservice.fetch(include_app_logs=True, minimum_log_level=
                                logservice.LOG_LEVEL_ERROR):
        print(req.resource, req.status, [line.message for line in req.app_logs])

fetch() pages through the `logservice` service's Read method newest first
(by request start), `batch_size` requests per call; each RequestLog's
`offset` resumes after it: fetch(offset=req.offset). An offset is bytes (a
serialized LogOffset, App Engine's byte string): apps that carry it in a
URL base64-encode it, as App Engine's documentation showed.

Log lines reach the master as they are written (google.appengine.runtime.
app_logs), so nothing is buffered here; flushing a request makes its
request log visible while it still runs: unfinished (`finished` False,
status 0, end_time 0) with its start time and its lines so far, until its
final log replaces it. A request flushes by itself after
AUTOFLUSH_EVERY_SECONDS, AUTOFLUSH_EVERY_BYTES or AUTOFLUSH_EVERY_LINES of
log output since its last flush (App Engine's defaults: 60 s, 4096 bytes,
50 lines; 0 or None turns one off, AUTOFLUSH_ENABLED = False all of them).
"""
import base64
import binascii
import math
import os
import re
import sys
import time

from google.appengine.api import api_base_pb2, apiproxy_stub_map
from google.appengine.api.logservice import log_service_pb2
from google.appengine.runtime import apiproxy_errors, app_logs, request_state
from google.appengine.runtime.proto import DecodeError

# app_logs checks them at each line of a request (apps may change them here).
AUTOFLUSH_ENABLED = app_logs.AUTOFLUSH_ENABLED
AUTOFLUSH_EVERY_SECONDS = app_logs.AUTOFLUSH_EVERY_SECONDS
AUTOFLUSH_EVERY_BYTES = app_logs.AUTOFLUSH_EVERY_BYTES
AUTOFLUSH_EVERY_LINES = app_logs.AUTOFLUSH_EVERY_LINES

MAX_ITEMS_PER_FETCH = 1000

LOG_LEVEL_DEBUG = 0
LOG_LEVEL_INFO = 1
LOG_LEVEL_WARNING = 2
LOG_LEVEL_ERROR = 3
LOG_LEVEL_CRITICAL = 4

_MODULE_ID_RE = r"(?!-)[a-z\d\-]{1,63}"
_VERSION_RE = r"(?!-)[a-z\d\-]{1,100}"
_MAJOR_VERSION_ID_RE = re.compile(r"^(?:(?:(%s):)?)(%s)$" % (_MODULE_ID_RE, _VERSION_RE))
_REQUEST_ID_RE = re.compile(r"^[\da-fA-F]+$")
_FETCH_KWARGS = frozenset(["prototype_request", "timeout", "module_versions",
                           "server_versions"])


class Error(Exception):
    """Base error class for this module."""


class InvalidArgumentError(Error):
    """Function argument has invalid value."""


class TimeoutError(Error):
    """fetch()'s timeout passed while iterating; offset and last_end_time
    tell where to resume."""

    def __init__(self, msg, offset, last_end_time):
        Error.__init__(self, msg)
        self.offset = offset
        self.last_end_time = last_end_time


# ------------------------------------------------------------------ flushing

def _flush_request(request):
    """The Flush call for request (our lines are already at the master, so
    the group it carries is empty); resets its autoflush counters."""
    request.log_flushing = True
    try:
        flush_request = log_service_pb2.FlushRequest(
            logs=log_service_pb2.UserAppLogGroup().SerializeToString())
        apiproxy_stub_map.MakeSyncCall("logservice", "Flush", flush_request,
                                       api_base_pb2.VoidProto())
    finally:
        request.log_lines = request.log_bytes = 0
        request.log_flush_time = time.time()
        request.log_flushing = False


def flush():
    """Makes the calling request's log, with its lines so far, visible to
    fetch(include_incomplete=True) while the request still runs. Outside a
    request, and once the instance's API calls are cancelled
    (CancelApiCalls, as shutdown hooks do), it does nothing: App Engine's
    flush then kept the lines for the request's final log, and ours are
    stored already."""
    request = request_state.current()
    if request is None or request.log_flushing:
        return
    app_logs.flush_thread()  # a partial stdout/stderr line is a line now
    try:
        _flush_request(request)
    except apiproxy_errors.CancelledError:
        pass


def autoflush_request(request):
    """app_logs' autoflush: never raises (logging must not fail because a
    flush did: a cancelled or timed-out API call); the lines are stored
    anyway."""
    try:
        _flush_request(request)
    except Exception:
        pass


def auto_flush():
    """Flushes the calling request if one of the AUTOFLUSH thresholds is
    reached."""
    request = request_state.current()
    if (request is not None and request.id and not request.log_flushing and
            app_logs.autoflush_due(sys.modules[__name__], request)):
        autoflush_request(request)


autoflush = auto_flush  # the legacy SDK's name


# The SDK's log buffer functions. Lines go to the master as they are
# written, so "the buffer" is what the calling request logged since its
# last flush: its counts and the time of that flush (what autoflush goes by).

def _parse_entry(line):
    """App Engine's reading of a raw log line: "LOG <level> <usec> <message>"
    (NULs standing for newlines) is that level and message, anything else
    the whole line at error level."""
    magic, _, rest = line.partition(" ")
    level, _, rest = rest.partition(" ")
    usec, _, message = rest.partition(" ")
    if magic == "LOG" and level in ("0", "1", "2", "3", "4") and usec.isdigit():
        return int(level), message.replace("\0", "\n")
    return LOG_LEVEL_ERROR, line.replace("\0", "\n")


def write(message):
    """Logs message for the calling request: each of its lines an app log
    line at error level, or as _parse_entry reads it."""
    if not isinstance(message, str):
        raise TypeError("message must be str, not %s" % type(message).__name__)
    for line in message.splitlines():
        if line:
            app_logs.write(*_parse_entry(line))


def write_record(level, created, message):
    """Logs message at level (LOG_LEVEL_DEBUG .. LOG_LEVEL_CRITICAL; any
    other at error level, as App Engine read it). The line is stamped when
    the master receives it, not at created."""
    if level not in (LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARNING, LOG_LEVEL_ERROR,
                     LOG_LEVEL_CRITICAL):
        level = LOG_LEVEL_ERROR
    app_logs.write(level, str(message))


def clear():
    """Starts the autoflush counts over, as a flush would. What the request
    logged is stored already and stays."""
    request = request_state.current()
    if request is not None:
        request.log_lines = request.log_bytes = 0
        request.log_flush_time = time.time()


def flush_time():
    """When the calling request last flushed (its start if it has not), in
    seconds since the epoch; now outside a request."""
    request = request_state.current()
    return request.log_flush_time if request is not None else time.time()


def log_buffer_age():
    """Seconds since the calling request last flushed."""
    return time.time() - flush_time()


def log_buffer_lines():
    """App log lines the calling request wrote since its last flush."""
    request = request_state.current()
    return request.log_lines if request is not None else 0


def log_buffer_bytes():
    """Bytes of app log the calling request wrote since its last flush."""
    request = request_state.current()
    return request.log_bytes if request is not None else 0


# ------------------------------------------------------------------ reading

class AppLog:
    """Application log line emitted while processing a request."""

    __slots__ = ("_time", "_level", "_message")

    def __init__(self, time=None, level=None, message=None):
        self._time = time
        self._level = level
        self._message = message

    @property
    def time(self):
        """Time the line was logged, in seconds since the epoch (float)."""
        return self._time

    @property
    def level(self):
        """Level, LOG_LEVEL_DEBUG (0) .. LOG_LEVEL_CRITICAL (4)."""
        return self._level

    @property
    def message(self):
        return self._message

    def __eq__(self, other):
        if not isinstance(other, AppLog):
            return NotImplemented
        return (self.time, self.level, self.message) == (other.time, other.level, other.message)

    def __hash__(self):
        return hash((self.time, self.level, self.message))

    def __repr__(self):
        return "AppLog(time=%f, level=%d, message=%r)" % (self.time, self.level, self.message)


def _text(b):
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else b


def _field(name, doc=None, optional=False, seconds=False):
    """A RequestLog property reading its message's field: None for an
    optional field that is not set; microseconds as float seconds."""
    def get(self):
        if optional and not self._pb.HasField(name):
            return None
        value = getattr(self._pb, name)
        return value / 1e6 if seconds else value
    return property(get, doc=doc)


class RequestLog:
    """Complete log information about one request (a LogReadResponse's
    RequestLog; the message itself is `_pb`)."""

    def __init__(self, request_log=None):
        if isinstance(request_log, log_service_pb2.RequestLog):
            self._pb = request_log
        elif isinstance(request_log, (str, bytes)):
            self._pb = log_service_pb2.RequestLog.FromString(base64.b64decode(request_log))
        else:
            self._pb = log_service_pb2.RequestLog()
        self._lines = None

    def __repr__(self):
        return "RequestLog(%r)" % base64.b64encode(
            self._pb.SerializePartialToString()).decode("ascii")

    def __str__(self):
        return "<RequestLog(app_id=%s, version_id=%s, request_id=%s)>" % (
            self.app_id, self.version_id, self.request_id)

    app_id = _field("app_id")
    version_id = _field("version_id", "The version that served it, major.minor.")
    module_id = _field("module_id")
    ip = _field("ip")
    nickname = _field("nickname", "The signed-in user, or None.", optional=True)
    start_time = _field("start_time", "Seconds since the epoch.", seconds=True)
    end_time = _field("end_time", "Seconds since the epoch; 0.0 while the request runs.",
                      seconds=True)
    latency = _field("latency", "Seconds.", seconds=True)
    mcycles = _field("mcycles")
    method = _field("method")
    resource = _field("resource", "Path and query string.")
    http_version = _field("http_version")
    status = _field("status", "HTTP status; 0 while the request runs.")
    response_size = _field("response_size")
    referrer = _field("referrer", optional=True)
    user_agent = _field("user_agent", optional=True)
    url_map_entry = _field("url_map_entry")
    combined = _field("combined", "The request as an Apache combined log line.")
    api_mcycles = _field("api_mcycles", optional=True)
    host = _field("host", optional=True)
    cost = _field("cost", optional=True)
    task_queue_name = _field("task_queue_name", optional=True)
    task_name = _field("task_name", optional=True)
    pending_time = _field("pending_time", "Seconds it waited for an instance.", seconds=True)
    replica_index = _field("replica_index", "The backend instance that served it, or None.",
                           optional=True)

    @property
    def request_id(self):
        """Its REQUEST_LOG_ID (hex; later requests sort higher)."""
        return _text(self._pb.request_id)

    @property
    def offset(self):
        """Opaque bytes: fetch(offset=...) continues after this request."""
        return self._pb.offset.SerializeToString() if self._pb.HasField("offset") else None

    @property
    def was_loading_request(self):
        """True for the first request of its instance (the one that loaded
        the app's code)."""
        return bool(self._pb.was_loading_request)

    @property
    def finished(self):
        """False for a request still running (seen through a flush)."""
        return bool(self._pb.finished)

    @property
    def instance_key(self):
        """The id of the instance that served it, or None."""
        return _text(self._pb.clone_key) if self._pb.HasField("clone_key") else None

    @property
    def lines_incomplete(self):
        """True when app_logs was cut to keep the batch small enough."""
        return bool(self._pb.lines_incomplete)

    @property
    def app_engine_release(self):
        """The release of the runtime that served it; None, as App Engine
        said when it did not know."""
        return _text(self._pb.app_engine_release) if self._pb.HasField(
            "app_engine_release") else None

    @property
    def app_logs(self):
        """Its app log lines (AppLog), oldest first; [] unless fetched with
        include_app_logs=True."""
        if self._lines is None:
            self._lines = [AppLog(time=line.time / 1e6, level=line.level,
                                  message=line.log_message) for line in self._pb.line]
        return self._lines


class _LogQueryResult:
    """What fetch() returns: iterating it yields RequestLog objects, asking
    the service for the next batch when one is used up."""

    def __init__(self, request, timeout=None):
        self._request = request
        self._logs = []
        self._read_called = False
        self._last_end_time = None
        self._end_time = time.time() + timeout if timeout is not None else None

    def __iter__(self):
        while True:
            for log in self._logs:
                yield RequestLog(log)
            self._logs = []
            if self._read_called and not self._request.HasField("offset"):
                return
            if self._end_time is not None and time.time() >= self._end_time:
                offset = (self._request.offset.SerializeToString()
                          if self._request.HasField("offset") else None)
                raise TimeoutError("A timeout occurred while iterating results",
                                   offset=offset, last_end_time=self._last_end_time)
            self._read_called = True
            self._advance()

    def _advance(self):
        response = log_service_pb2.LogReadResponse()
        try:
            apiproxy_stub_map.MakeSyncCall("logservice", "Read", self._request, response)
        except apiproxy_errors.ApplicationError as e:
            if e.application_error == log_service_pb2.LogServiceError.INVALID_REQUEST:
                raise InvalidArgumentError(e.error_detail) from None
            raise Error(e.error_detail) from None
        self._logs = list(response.log)
        self._request.ClearField("offset")
        if response.HasField("offset"):
            self._request.offset.CopyFrom(response.offset)
        self._last_end_time = (response.last_end_time / 1e6
                               if response.HasField("last_end_time") else None)


def _number(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and not math.isfinite(value)):
        raise InvalidArgumentError("%s must be a float or integer" % name)
    usec = int(value * 1000000)
    if not -2 ** 63 <= usec < 2 ** 63:  # the request's int64 microseconds
        raise InvalidArgumentError("%s is out of range" % name)
    return usec


def _offset(offset):
    """fetch(offset=): RequestLog.offset (bytes), or its URL-safe base64
    text (str)."""
    try:
        if isinstance(offset, str):
            data = base64.urlsafe_b64decode(offset.encode("ascii"))
        elif isinstance(offset, (bytes, bytearray, memoryview)):
            data = bytes(offset)
        else:
            raise TypeError
        parsed = log_service_pb2.LogOffset.FromString(data)
    except (TypeError, ValueError, binascii.Error, DecodeError):
        raise InvalidArgumentError("offset must be a string or read-only buffer") from None
    if not parsed.HasField("request_id"):
        raise InvalidArgumentError("offset must be a string or read-only buffer")
    return parsed


def fetch(start_time=None, end_time=None, offset=None, minimum_log_level=None,
          include_incomplete=False, include_app_logs=False, version_ids=None,
          request_ids=None, batch_size=None, **kwargs):
    """Returns an iterable of the app's request logs (RequestLog), newest
    first.

    start_time, end_time: seconds since the epoch: requests that ended in
      [start_time, end_time), and unfinished ones last updated in it (at
      their newest app line, or their start while they have none).
    offset: a RequestLog's offset: continue with the requests after it.
    minimum_log_level: only requests with an app log line at or above it.
    include_incomplete: also requests still running (seen once flushed).
    include_app_logs: fill each RequestLog's app_logs.
    version_ids: major versions of the default service, or "service:version"
      (default: this version of this service).
    request_ids: these requests (REQUEST_LOG_IDs), in this order; not with
      start_time, end_time, offset or minimum_log_level.
    batch_size: requests per call to the service (1..1000, default 20).
    Also module_versions ([(module, version)], not with version_ids; the
    SDK's older name server_versions works too),
    timeout (seconds; iterating past it raises TimeoutError) and
    prototype_request (a LogReadRequest merged in).

    Raises InvalidArgumentError for an argument of the wrong type or value.
    """
    unknown = set(kwargs) - _FETCH_KWARGS
    if unknown:
        raise InvalidArgumentError("Invalid arguments: %s" % ", ".join(sorted(unknown)))
    request = log_service_pb2.LogReadRequest()
    request.app_id = os.environ.get("APPLICATION_ID", "")

    if start_time is not None:
        request.start_time = _number("start_time", start_time)
    if end_time is not None:
        request.end_time = _number("end_time", end_time)
    if offset is not None:
        request.offset.CopyFrom(_offset(offset))
    if batch_size is not None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int):
            raise InvalidArgumentError("batch_size must be an integer")
        if batch_size < 1:
            raise InvalidArgumentError("batch_size must be greater than zero")
        if batch_size > MAX_ITEMS_PER_FETCH:
            raise InvalidArgumentError("batch_size specified is too large")
        request.count = batch_size
    if minimum_log_level is not None:
        if isinstance(minimum_log_level, bool) or not isinstance(minimum_log_level, int):
            raise InvalidArgumentError("minimum_log_level must be an int")
        if not LOG_LEVEL_DEBUG <= minimum_log_level <= LOG_LEVEL_CRITICAL:
            raise InvalidArgumentError("minimum_log_level must be between 0 and 4 inclusive")
        request.minimum_log_level = minimum_log_level
    if not isinstance(include_incomplete, bool):
        raise InvalidArgumentError("include_incomplete must be a boolean")
    request.include_incomplete = include_incomplete
    if not isinstance(include_app_logs, bool):
        raise InvalidArgumentError("include_app_logs must be a boolean")
    request.include_app_logs = include_app_logs

    # server_versions: the SDK's earlier name for module_versions.
    module_versions = kwargs.get("module_versions", kwargs.get("server_versions"))
    if module_versions and version_ids:
        raise InvalidArgumentError("version_ids and module_versions cannot both be given")
    if module_versions is None and version_ids is None:
        if request_ids is None:
            # This version of this service (app.yaml's service:).
            major = os.environ.get("CURRENT_VERSION_ID", "").split(".")[0]
            module = os.environ.get("CURRENT_MODULE_ID") or "default"
            if module == "default":
                request.version_id.append(major)
            else:
                request.module_version.add(module_id=module, version_id=major)
    if module_versions is not None:
        if not isinstance(module_versions, list):
            raise InvalidArgumentError("module_versions must be a list")
        pairs = []
        for pair in module_versions:
            # A pair is a tuple or a list, as App Engine took either.
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and
                    all(isinstance(x, str) for x in pair) and
                    _MAJOR_VERSION_ID_RE.match("%s:%s" % tuple(pair))):
                raise InvalidArgumentError(
                    "module_versions must be a list of (module, major version) pairs")
            if tuple(pair) not in pairs:
                pairs.append(tuple(pair))
        for module, major in pairs:
            request.module_version.add(module_id=module, version_id=major)
    if version_ids is not None:
        if not isinstance(version_ids, list):
            raise InvalidArgumentError("version_ids must be a list")
        pairs = []
        for version_id in version_ids:
            if not isinstance(version_id, str) or not _MAJOR_VERSION_ID_RE.match(version_id):
                raise InvalidArgumentError(
                    "version_ids must only contain valid major version identifiers")
            module, _, major = version_id.rpartition(":")
            pairs.append((module or "default", major))
        if all(module == "default" for module, _ in pairs):
            request.version_id.extend(major for _, major in pairs)
        else:
            # "module:version": that service's version.
            for module, major in pairs:
                request.module_version.add(module_id=module, version_id=major)

    if request_ids is not None:
        if not isinstance(request_ids, list):
            raise InvalidArgumentError("request_ids must be a list")
        if offset is not None:
            # The service takes one, to go on through a long list; fetch()
            # gives a list of requests from its start.
            raise InvalidArgumentError("request_ids cannot be combined with offset")
        if not request_ids:
            raise InvalidArgumentError("request_ids must not be empty")
        for request_id in request_ids:
            if isinstance(request_id, bytes):
                request_id = request_id.decode("ascii", "replace")
            if not isinstance(request_id, str) or not _REQUEST_ID_RE.match(request_id):
                raise InvalidArgumentError("request_ids must only contain valid request ids")
            # Ids are given out in lowercase; hex means the same in either case.
            request.request_id.append(request_id.lower().encode("ascii"))
        if len(set(request.request_id)) != len(request.request_id):
            raise InvalidArgumentError("request_ids must not contain duplicates")

    prototype_request = kwargs.get("prototype_request")
    if prototype_request:
        if not isinstance(prototype_request, log_service_pb2.LogReadRequest):
            raise InvalidArgumentError("prototype_request must be a LogReadRequest")
        request.MergeFrom(prototype_request)

    timeout = kwargs.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or
                                not isinstance(timeout, (int, float))):
        raise InvalidArgumentError("timeout must be a float or integer")
    return _LogQueryResult(request, timeout=timeout)
