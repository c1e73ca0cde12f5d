"""Messages of the `logservice` API service, defined for gaelic from the
field facts in API-MESSAGES.md section 4 (the legacy SDK's numbering: same
names and field numbers as App Engine's, so the same bytes go over the
wire). The Python 3 SDK has no such module; apps of the Python 2.7 era
used `log_service_pb`, which this replaces."""
from google.appengine.runtime import proto
from google.appengine.runtime.proto import REPEATED, REQUIRED, Field


class LogServiceError(proto.Message):
    """Holds the service's ApplicationError codes."""
    FIELDS = ()
    OK = 0
    INVALID_REQUEST = 1
    STORAGE_ERROR = 2


class SourceLocation(proto.Message):
    FIELDS = (
        Field("file", 1, proto.STRING),
        Field("line", 2, proto.INT64),
        Field("function_name", 3, proto.STRING),
    )


class UserAppLogLine(proto.Message):
    FIELDS = (
        Field("timestamp_usec", 1, proto.INT64, REQUIRED),
        Field("level", 2, proto.INT64, REQUIRED),  # int64 here, int32 in LogLine
        Field("message", 3, proto.STRING, REQUIRED),
        Field("source_location", 4, proto.MESSAGE, message_type=SourceLocation),
    )


class UserAppLogGroup(proto.Message):
    # Field 1 is unused.
    FIELDS = (Field("log_line", 2, proto.MESSAGE, REPEATED, message_type=UserAppLogLine),)


class FlushRequest(proto.Message):
    # A serialized UserAppLogGroup.
    FIELDS = (Field("logs", 1, proto.BYTES),)


class SetStatusRequest(proto.Message):
    FIELDS = (Field("status", 1, proto.STRING, REQUIRED),)


class LogOffset(proto.Message):
    FIELDS = (
        Field("request_id", 1, proto.BYTES),
        Field("deprecated_request_id_set", 101, proto.BOOL),
    )


class LogLine(proto.Message):
    FIELDS = (
        Field("time", 1, proto.INT64, REQUIRED),
        Field("level", 2, proto.INT32, REQUIRED),
        Field("log_message", 3, proto.STRING, REQUIRED),
        Field("source_location", 4, proto.MESSAGE, message_type=SourceLocation),
    )


class RequestLog(proto.Message):
    FIELDS = (
        Field("app_id", 1, proto.STRING, REQUIRED),
        Field("module_id", 37, proto.STRING, default="default"),
        Field("version_id", 2, proto.STRING, REQUIRED),
        Field("request_id", 3, proto.BYTES, REQUIRED),
        Field("offset", 35, proto.MESSAGE, message_type=LogOffset),
        Field("ip", 4, proto.STRING, REQUIRED),
        Field("nickname", 5, proto.STRING),
        Field("start_time", 6, proto.INT64, REQUIRED),
        Field("end_time", 7, proto.INT64, REQUIRED),
        Field("latency", 8, proto.INT64, REQUIRED),
        Field("mcycles", 9, proto.INT64, REQUIRED),
        Field("method", 10, proto.STRING, REQUIRED),
        Field("resource", 11, proto.STRING, REQUIRED),
        Field("http_version", 12, proto.STRING, REQUIRED),
        Field("status", 13, proto.INT32, REQUIRED),
        Field("response_size", 14, proto.INT64, REQUIRED),
        Field("referrer", 15, proto.STRING),
        Field("user_agent", 16, proto.STRING),
        Field("url_map_entry", 17, proto.STRING, REQUIRED),
        Field("combined", 18, proto.STRING, REQUIRED),
        Field("api_mcycles", 19, proto.INT64),
        Field("host", 20, proto.STRING),
        Field("cost", 21, proto.DOUBLE),
        Field("task_queue_name", 22, proto.STRING),
        Field("task_name", 23, proto.STRING),
        Field("was_loading_request", 24, proto.BOOL),
        Field("pending_time", 25, proto.INT64),
        Field("replica_index", 26, proto.INT32, default=-1),
        Field("finished", 27, proto.BOOL, default=True),
        Field("clone_key", 28, proto.BYTES),
        Field("line", 29, proto.MESSAGE, REPEATED, message_type=LogLine),
        Field("exit_reason", 30, proto.INT32),
        Field("was_throttled_for_time", 31, proto.BOOL),
        Field("was_throttled_for_requests", 32, proto.BOOL),
        Field("throttled_time", 33, proto.INT64),
        Field("server_name", 34, proto.BYTES),
        Field("lines_incomplete", 36, proto.BOOL),
        Field("app_engine_release", 38, proto.BYTES),
        Field("trace_id", 39, proto.STRING),
    )


class LogModuleVersion(proto.Message):
    FIELDS = (
        Field("module_id", 1, proto.STRING, default="default"),
        Field("version_id", 2, proto.STRING),
        Field("deprecated_module_id_set", 101, proto.BOOL),
        Field("deprecated_version_id_set", 102, proto.BOOL),
    )


class LogReadRequest(proto.Message):
    FIELDS = (
        Field("app_id", 1, proto.STRING, REQUIRED),
        Field("version_id", 2, proto.STRING, REPEATED),
        Field("module_version", 19, proto.MESSAGE, REPEATED, message_type=LogModuleVersion),
        Field("start_time", 3, proto.INT64),
        Field("end_time", 4, proto.INT64),
        Field("offset", 5, proto.MESSAGE, message_type=LogOffset),
        Field("request_id", 6, proto.BYTES, REPEATED),
        Field("minimum_log_level", 7, proto.INT32),
        Field("include_incomplete", 8, proto.BOOL),
        Field("count", 9, proto.INT64),
        Field("include_app_logs", 10, proto.BOOL),
        Field("include_host", 11, proto.BOOL),
        Field("include_all", 12, proto.BOOL),
        Field("cache_iterator", 13, proto.BOOL),
        Field("combined_log_regex", 14, proto.STRING),
        Field("host_regex", 15, proto.STRING),
        Field("replica_index", 16, proto.INT32),
        Field("app_logs_per_request", 17, proto.INT32),
        Field("num_shards", 18, proto.INT32),
    ) + tuple(Field("deprecated_%s_set" % name, number, proto.BOOL) for name, number in (
        ("start_time", 103), ("end_time", 104), ("minimum_log_level", 107), ("count", 109),
        ("combined_log_regex", 114), ("host_regex", 115), ("replica_index", 116),
        ("app_logs_per_request", 117), ("num_shards", 118)))


class LogReadResponse(proto.Message):
    FIELDS = (
        Field("log", 1, proto.MESSAGE, REPEATED, message_type=RequestLog),
        Field("offset", 2, proto.MESSAGE, message_type=LogOffset),
        Field("last_end_time", 3, proto.INT64),
    )


class LogUsageRecord(proto.Message):
    FIELDS = (
        Field("version_id", 1, proto.STRING),
        Field("start_time", 2, proto.INT32),
        Field("end_time", 3, proto.INT32),
        Field("count", 4, proto.INT64),
        Field("total_size", 5, proto.INT64),
        Field("records", 6, proto.INT32),
    )


class LogUsageRequest(proto.Message):
    FIELDS = (
        Field("app_id", 1, proto.STRING, REQUIRED),
        Field("version_id", 2, proto.STRING, REPEATED),
        Field("start_time", 3, proto.INT32),
        Field("end_time", 4, proto.INT32),
        Field("resolution_hours", 5, proto.UINT32, default=1),
        Field("combine_versions", 6, proto.BOOL),
        Field("usage_version", 7, proto.INT32),
        Field("versions_only", 8, proto.BOOL),
        Field("deprecated_resolution_hours_set", 105, proto.BOOL),
        Field("deprecated_usage_version_set", 107, proto.BOOL),
    )


class LogUsageResponse(proto.Message):
    FIELDS = (
        Field("usage", 1, proto.MESSAGE, REPEATED, message_type=LogUsageRecord),
        Field("summary", 2, proto.MESSAGE, message_type=LogUsageRecord),
    )
