"""Writes fuzz_api's seed inputs into the folder given: well-formed API
calls of every method the services offer and LogReadRequests using each
filter, so that the fuzzer starts from inputs that get past the decoders
(field numbers: ../shared/API-MESSAGES.md and src/log_read.c)."""
import os
import sys


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, value):
    if isinstance(value, int):
        return varint(num << 3) + varint(value)
    if isinstance(value, str):
        value = value.encode()
    return varint(num << 3 | 2) + varint(len(value)) + value


def message(*fields):
    return b"".join(field(n, v) for n, v in fields)


def envelope(service, method, request, ticket="t"):
    return message((2, service), (3, method), (4, request), (5, ticket))


def log_line(t, level, text):
    return message((1, t), (2, level), (3, text))


T0 = 1700000000000000
READS = {
    "all": message((1, "fuzzapp"), (2, "1"), (9, 20)),
    "versions": message((1, "fuzzapp"), (2, "1"), (2, "2"), (8, 1), (10, 1), (7, 2)),
    "window": message((1, "fuzzapp"), (2, "1"), (3, T0), (4, T0 + 6000), (9, 3)),
    "offset": message((1, "fuzzapp"), (2, "1"), (5, message((1, "0" * 20))), (9, 2)),
    "ids": message((1, "fuzzapp"), (6, "00000000000000000001"), (10, 1)),
    "module": message((1, "fuzzapp"), (19, message((1, "default"), (2, "1"))), (10, 1)),
}
CALLS = {
    "stats": envelope("system", "GetSystemStats", b""),
    "background": envelope("system", "StartBackgroundRequest", b""),
    "flush": envelope("logservice", "Flush",
                      message((1, message((2, log_line(T0, 1, "hi")),
                                          (2, log_line(T0 + 1, 4, "bye")))))),
    "read": envelope("logservice", "Read", READS["versions"]),
    "status": envelope("logservice", "SetStatus", b""),
    "unknown": envelope("memcache", "Get", b"\x0a\x01k"),
}


def main(folder):
    os.makedirs(folder, exist_ok=True)
    for name, call in CALLS.items():
        with open(os.path.join(folder, "seed-call-" + name), "wb") as f:
            f.write(b"\x00" + call)
    for name, read in READS.items():
        with open(os.path.join(folder, "seed-read-" + name), "wb") as f:
            f.write(b"\x01" + read)


if __name__ == "__main__":
    main(sys.argv[1])
