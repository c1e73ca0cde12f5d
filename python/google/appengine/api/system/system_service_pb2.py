"""Messages of the `system` API service, defined for gaelic from the field
facts in API-MESSAGES.md section 3 (same names and field numbers as App
Engine's, so the same bytes go over the wire)."""
from google.appengine.runtime import proto
from google.appengine.runtime.proto import Field


class SystemServiceError(proto.Message):
    """Holds the service's ApplicationError codes."""
    FIELDS = ()
    OK = 0
    INTERNAL_ERROR = 1
    BACKEND_REQUIRED = 2
    LIMIT_REACHED = 3


class SystemStat(proto.Message):
    # The numbers are App Engine's, not in declaration order.
    FIELDS = (
        Field("current", 1, proto.DOUBLE),
        Field("average1m", 3, proto.DOUBLE),
        Field("average10m", 4, proto.DOUBLE),
        Field("total", 2, proto.DOUBLE),
        Field("rate1m", 5, proto.DOUBLE),
        Field("rate10m", 6, proto.DOUBLE),
    )


class GetSystemStatsRequest(proto.Message):
    FIELDS = ()


class GetSystemStatsResponse(proto.Message):
    FIELDS = (
        Field("cpu", 1, proto.MESSAGE, message_type=SystemStat),
        Field("memory", 2, proto.MESSAGE, message_type=SystemStat),
    )


class StartBackgroundRequestRequest(proto.Message):
    FIELDS = ()


class StartBackgroundRequestResponse(proto.Message):
    FIELDS = (Field("request_id", 1, proto.STRING),)
