"""App Engine's common wrapper messages (api_base), defined for gaelic from
the field facts in API-MESSAGES.md section 2."""
from google.appengine.runtime import proto
from google.appengine.runtime.proto import Field, REQUIRED


class VoidProto(proto.Message):
    FIELDS = ()


class StringProto(proto.Message):
    FIELDS = (Field("value", 1, proto.STRING, REQUIRED),)


class Integer32Proto(proto.Message):
    FIELDS = (Field("value", 1, proto.INT32, REQUIRED),)


class Integer64Proto(proto.Message):
    FIELDS = (Field("value", 1, proto.INT64, REQUIRED),)


class BoolProto(proto.Message):
    FIELDS = (Field("value", 1, proto.BOOL, REQUIRED),)


class DoubleProto(proto.Message):
    FIELDS = (Field("value", 1, proto.DOUBLE, REQUIRED),)


class BytesProto(proto.Message):
    FIELDS = (Field("value", 1, proto.BYTES, REQUIRED),)
