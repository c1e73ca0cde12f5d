"""App Engine's common wrapper messages (api_base), defined for gaelic from
the field facts in API-MESSAGES.md section 2: VoidProto has no fields, the
others one required field `value` = 1."""
from google.appengine.runtime import proto


class VoidProto(proto.Message):
    FIELDS = ()


def _wrapper(name, type_):
    return type(name, (proto.Message,), {
        "FIELDS": (proto.Field("value", 1, type_, proto.REQUIRED),),
        "__module__": __name__,
        "__qualname__": name,
    })


StringProto = _wrapper("StringProto", proto.STRING)
Integer32Proto = _wrapper("Integer32Proto", proto.INT32)
Integer64Proto = _wrapper("Integer64Proto", proto.INT64)
BoolProto = _wrapper("BoolProto", proto.BOOL)
DoubleProto = _wrapper("DoubleProto", proto.DOUBLE)
BytesProto = _wrapper("BytesProto", proto.BYTES)
