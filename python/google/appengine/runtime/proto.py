"""Just enough of the protocol buffer message API for App Engine's API
messages (proto2 wire format), written for gaelic.

A message class lists its fields; instances behave like the protobuf
library's messages for the parts apps and the SDK's modules use: field
attributes with defaults and presence, sub-messages created on first
access, repeated fields, SerializeToString / ParseFromString /
MergeFromString, HasField / ClearField / Clear / CopyFrom / MergeFrom,
IsInitialized, ByteSize, ListFields, equality and a text repr.

    class SystemStat(proto.Message):
        FIELDS = (proto.Field("current", 1, proto.DOUBLE), ...)

Unknown fields are skipped when parsing, groups included; no message here
has a group field.
"""
import struct

# Field types.
INT32, INT64, UINT32, UINT64, SINT64, BOOL, ENUM, DOUBLE, FLOAT, STRING, BYTES, MESSAGE = range(12)
# Labels.
OPTIONAL, REQUIRED, REPEATED = 1, 2, 3

_VARINT_TYPES = (INT32, INT64, UINT32, UINT64, SINT64, BOOL, ENUM)
_WIRE = {DOUBLE: 1, FLOAT: 5, STRING: 2, BYTES: 2, MESSAGE: 2}
_DEFAULTS = {DOUBLE: 0.0, FLOAT: 0.0, STRING: "", BYTES: b"", BOOL: False}
_MASK64 = (1 << 64) - 1


class Error(Exception):
    pass


class DecodeError(Error):
    pass


class EncodeError(Error):
    pass


class Field:
    """One field: name, number, type, label; message_type for MESSAGE
    fields (a class, or a callable returning it for recursive types)."""

    __slots__ = ("name", "number", "type", "label", "message_type", "default")

    def __init__(self, name, number, type, label=OPTIONAL, message_type=None, default=None):
        self.name = name
        self.number = number
        self.type = type
        self.label = label
        self.message_type = message_type
        if default is None and type != MESSAGE:
            default = _DEFAULTS.get(type, 0)
        self.default = default

    def message_class(self):
        t = self.message_type
        return t if isinstance(t, type) else t()

    @property
    def wire_type(self):
        return 0 if self.type in _VARINT_TYPES else _WIRE[self.type]


# ---------------------------------------------------------------- wire format

def _varint(v):
    out = bytearray()
    v &= _MASK64
    while True:
        byte = v & 0x7F
        v >>= 7
        if v:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data, pos, end):
    result = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise DecodeError("truncated or overlong varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & _MASK64, pos
        shift += 7


def _signed(v, bits):
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def _check_scalar(field, value):
    t = field.type
    if t in (INT32, INT64, UINT32, UINT64, SINT64, ENUM):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("%s must be an int, not %s" % (field.name, type(value).__name__))
        lo, hi = {INT32: (-2**31, 2**31 - 1), UINT32: (0, 2**32 - 1),
                  UINT64: (0, 2**64 - 1)}.get(t, (-2**63, 2**63 - 1))
        if not lo <= value <= hi:
            raise ValueError("%s is out of range: %d" % (field.name, value))
        return value
    if t == BOOL:
        if not isinstance(value, (bool, int)):
            raise TypeError("%s must be a bool, not %s" % (field.name, type(value).__name__))
        return bool(value)
    if t in (DOUBLE, FLOAT):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError("%s must be a number, not %s" % (field.name, type(value).__name__))
        return float(value)
    if t == STRING:
        if isinstance(value, bytes):
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError("%s is not valid UTF-8" % field.name) from None
        if not isinstance(value, str):
            raise TypeError("%s must be str, not %s" % (field.name, type(value).__name__))
        return value
    if t == BYTES:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError("%s must be bytes, not %s" % (field.name, type(value).__name__))
        return bytes(value)
    raise TypeError("%s: cannot assign to a message field" % field.name)


def _encode_scalar(field, value):
    t = field.type
    if t == SINT64:
        return _varint((value << 1) ^ (value >> 63))
    if t in _VARINT_TYPES:
        return _varint(int(value))
    if t == DOUBLE:
        return struct.pack("<d", value)
    if t == FLOAT:
        return struct.pack("<f", value)
    data = value.encode("utf-8") if t == STRING else value
    return _varint(len(data)) + data


def _decode_scalar(field, wire, data, pos, end):
    """Returns (value, new pos) for one value of field at pos."""
    t = field.type
    if t in _VARINT_TYPES:
        if wire != 0:
            raise DecodeError("field %s: wire type %d, want varint" % (field.name, wire))
        v, pos = _read_varint(data, pos, end)
        if t in (INT32, ENUM):
            v = _signed(v, 32)  # negative values arrive sign-extended to 64 bits
        elif t == INT64:
            v = _signed(v, 64)
        elif t == UINT32:
            v &= 0xFFFFFFFF
        elif t == SINT64:
            v = (v >> 1) ^ -(v & 1)
        elif t == BOOL:
            v = bool(v)
        return v, pos
    if t in (DOUBLE, FLOAT):
        size, fmt, want = (8, "<d", 1) if t == DOUBLE else (4, "<f", 5)
        if wire != want or pos + size > end:
            raise DecodeError("field %s: bad fixed-size value" % field.name)
        return struct.unpack_from(fmt, data, pos)[0], pos + size
    if wire != 2:
        raise DecodeError("field %s: wire type %d, want length-delimited" % (field.name, wire))
    n, pos = _read_varint(data, pos, end)
    if pos + n > end:
        raise DecodeError("field %s: truncated" % field.name)
    raw = bytes(data[pos:pos + n])
    if t == STRING:
        try:
            return raw.decode("utf-8"), pos + n
        except UnicodeDecodeError:
            raise DecodeError("field %s is not valid UTF-8" % field.name) from None
    return raw, pos + n


# How deep unknown groups may nest, as protobuf's default recursion limit.
_MAX_DEPTH = 100


def _skip(wire, data, pos, end, number=0, depth=0):
    """The position after the value of an unknown field; a group's (wire
    type 3) is everything up to the end tag of its number."""
    if wire == 3:
        if depth >= _MAX_DEPTH:
            raise DecodeError("groups nested too deep")
        while True:
            key, pos = _read_varint(data, pos, end)
            if key >> 3 == 0:
                raise DecodeError("field number 0")
            if key & 7 == 4:
                if key >> 3 != number:
                    raise DecodeError("group %d closed by the end tag of %d" % (number, key >> 3))
                return pos
            pos = _skip(key & 7, data, pos, end, key >> 3, depth + 1)
    if wire == 0:
        return _read_varint(data, pos, end)[1]
    if wire == 1:
        pos += 8
    elif wire == 5:
        pos += 4
    elif wire == 2:
        n, pos = _read_varint(data, pos, end)
        pos += n
    else:
        raise DecodeError("unsupported wire type %d" % wire)
    if pos > end:
        raise DecodeError("truncated field")
    return pos


# ---------------------------------------------------------------- messages

class RepeatedComposite(list):
    """A repeated message field: a list with add(**fields)."""

    __slots__ = ("_cls",)

    def __init__(self, cls):
        super().__init__()
        self._cls = cls

    def add(self, **kwargs):
        m = self._cls(**kwargs)
        self.append(m)
        return m


class Message:
    FIELDS = ()

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        cls._by_name = {f.name: f for f in cls.FIELDS}
        cls._by_number = {f.number: f for f in cls.FIELDS}

    def __init__(self, **kwargs):
        object.__setattr__(self, "_values", {})
        object.__setattr__(self, "_present", set())
        object.__setattr__(self, "_parent", None)
        for name, value in kwargs.items():
            f = self._field(name)
            if f.label == REPEATED:
                getattr(self, name).extend(value)
            elif f.type == MESSAGE:
                getattr(self, name).CopyFrom(value)
            else:
                setattr(self, name, value)

    @classmethod
    def _field(cls, name):
        try:
            return cls._by_name[name]
        except KeyError:
            raise AttributeError("%s has no field %r" % (cls.__name__, name)) from None

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        f = self._field(name)
        values = self._values
        if name in values:
            return values[name]
        if f.label == REPEATED:
            value = RepeatedComposite(f.message_class()) if f.type == MESSAGE else []
        elif f.type == MESSAGE:
            value = f.message_class()()
            object.__setattr__(value, "_parent", (self, name))
        else:
            return f.default
        values[name] = value
        return value

    def __setattr__(self, name, value):
        f = self._field(name)
        if f.label == REPEATED or f.type == MESSAGE:
            raise AttributeError("assignment not allowed to field %r of %s; use CopyFrom, "
                                 "append or add" % (name, type(self).__name__))
        self._values[name] = _check_scalar(f, value)
        self._mark_present(name)

    def _mark_present(self, name):
        msg = self
        while msg is not None:
            msg._present.add(name)
            parent = msg._parent
            if parent is None:
                return
            msg, name = parent

    def _has(self, f):
        value = self._values.get(f.name)
        if f.label == REPEATED:
            return bool(value)
        if f.name in self._present:
            return True
        return f.type == MESSAGE and value is not None and value._has_content()

    def _has_content(self):
        return any(self._has(f) for f in self.FIELDS)

    # ---- the protobuf message API
    def HasField(self, name):
        f = self._field(name)
        if f.label == REPEATED:
            raise ValueError("HasField does not take repeated field %r" % name)
        return self._has(f)

    def ClearField(self, name):
        self._field(name)
        self._values.pop(name, None)
        self._present.discard(name)

    def Clear(self):
        """Empties the message; a sub-message is then present in its
        parent, as in protobuf (so are those CopyFrom, MergeFrom and
        MergeFromString write to, even with nothing)."""
        self._values.clear()
        self._present.clear()
        self.SetInParent()

    def SetInParent(self):
        if self._parent is not None:
            parent, name = self._parent
            parent._mark_present(name)

    def ListFields(self):
        return [(f, getattr(self, f.name)) for f in sorted(self.FIELDS, key=lambda f: f.number)
                if self._has(f)]

    def IsInitialized(self):
        for f in self.FIELDS:
            if f.label == REQUIRED and not self._has(f):
                return False
            if f.type == MESSAGE and self._has(f):
                subs = getattr(self, f.name) if f.label == REPEATED else [getattr(self, f.name)]
                if not all(m.IsInitialized() for m in subs):
                    return False
        return True

    def _missing(self):
        return [f.name for f in self.FIELDS if f.label == REQUIRED and not self._has(f)]

    def SerializeToString(self, **unused):
        if not self.IsInitialized():
            raise EncodeError("%s is missing required fields: %s"
                              % (type(self).__name__, ", ".join(self._missing()) or "(nested)"))
        return self.SerializePartialToString()

    def SerializePartialToString(self, **unused):
        out = []
        for f in sorted(self.FIELDS, key=lambda f: f.number):
            if not self._has(f):
                continue
            key = _varint(f.number << 3 | f.wire_type)
            values = getattr(self, f.name)
            for v in values if f.label == REPEATED else [values]:
                if f.type == MESSAGE:
                    data = v.SerializePartialToString()
                    out.append(key + _varint(len(data)) + data)
                else:
                    out.append(key + _encode_scalar(f, v))
        return b"".join(out)

    def ByteSize(self):
        return len(self.SerializePartialToString())

    def MergeFromString(self, data):
        self.SetInParent()
        data = memoryview(bytes(data))
        end = len(data)
        self._merge(data, 0, end)
        return end

    def _merge(self, data, pos, end):
        while pos < end:
            key, pos = _read_varint(data, pos, end)
            number, wire = key >> 3, key & 7
            if number == 0:
                raise DecodeError("field number 0")
            f = self._by_number.get(number)
            if f is None:
                pos = _skip(wire, data, pos, end, number)
                continue
            if f.type == MESSAGE:
                if wire != 2:
                    raise DecodeError("field %s: wire type %d, want a message" % (f.name, wire))
                n, pos = _read_varint(data, pos, end)
                if pos + n > end:
                    raise DecodeError("field %s: truncated" % f.name)
                if f.label == REPEATED:
                    sub = getattr(self, f.name).add()
                else:
                    sub = getattr(self, f.name)
                    self._mark_present(f.name)
                sub._merge(data, pos, pos + n)
                pos += n
            elif f.label == REPEATED and wire == 2 and f.type not in (STRING, BYTES):
                n, pos = _read_varint(data, pos, end)  # packed
                stop = pos + n
                if stop > end:
                    raise DecodeError("field %s: truncated" % f.name)
                items = getattr(self, f.name)
                while pos < stop:
                    v, pos = _decode_scalar(f, f.wire_type, data, pos, stop)
                    items.append(v)
            else:
                v, pos = _decode_scalar(f, wire, data, pos, end)
                if f.label == REPEATED:
                    getattr(self, f.name).append(v)
                else:
                    self._values[f.name] = v
                    self._mark_present(f.name)
        if pos != end:
            raise DecodeError("truncated message")

    def ParseFromString(self, data):
        self.Clear()
        return self.MergeFromString(data)

    @classmethod
    def FromString(cls, data):
        m = cls()
        m.MergeFromString(data)
        return m

    def MergeFrom(self, other):
        if not isinstance(other, type(self)):
            raise TypeError("MergeFrom expects %s, not %s"
                            % (type(self).__name__, type(other).__name__))
        self.SetInParent()
        for f, value in other.ListFields():
            if f.label == REPEATED:
                mine = getattr(self, f.name)
                for v in value:
                    if f.type == MESSAGE:
                        mine.add().MergeFrom(v)
                    else:
                        mine.append(v)
            elif f.type == MESSAGE:
                getattr(self, f.name).MergeFrom(value)
                self._mark_present(f.name)
            else:
                setattr(self, f.name, value)

    def CopyFrom(self, other):
        if other is self:
            return
        self.Clear()
        self.MergeFrom(other)

    def __eq__(self, other):
        if not isinstance(other, type(self)):
            return NotImplemented
        return self.ListFields() == other.ListFields()

    __hash__ = None

    def __repr__(self):
        parts = []
        for f, value in self.ListFields():
            for v in value if f.label == REPEATED else [value]:
                if f.type == MESSAGE:
                    inner = repr(v)
                    parts.append("%s {%s}" % (f.name, inner[inner.index("(") + 1:-1]))
                else:
                    parts.append("%s: %r" % (f.name, v))
        return "%s(%s)" % (type(self).__name__, " ".join(parts))

    __str__ = __repr__


Message._by_name = {}
Message._by_number = {}
