"""Writes fuzz_api's seed inputs into the folder given: well-formed API
calls of every method the services offer and LogReadRequests using each
filter, so that the fuzzer starts from inputs that get past the decoders.
They are built with the runtime's own message classes (python/), as an
app's calls are; the remote_api envelope has none there (the instance
writes it in C), so it is declared here (../shared/API-MESSAGES.md)."""
import importlib.util
import os
import sys

PYTHON = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python")
sys.path.insert(0, PYTHON)

from google.appengine.runtime import proto  # noqa: E402


def _messages(path):
    """A module of message classes, loaded alone: its package's __init__
    needs the instance's _gaelic module."""
    spec = importlib.util.spec_from_file_location("messages", os.path.join(PYTHON, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


log = _messages("google/appengine/api/logservice/log_service_pb2.py")


class Envelope(proto.Message):
    FIELDS = (
        proto.Field("service_name", 2, proto.STRING, proto.REQUIRED),
        proto.Field("method", 3, proto.STRING, proto.REQUIRED),
        proto.Field("request", 4, proto.BYTES, proto.REQUIRED),
        proto.Field("request_id", 5, proto.STRING),
    )


def call(service, method, request=b""):
    if isinstance(request, proto.Message):
        request = request.SerializeToString()
    return Envelope(service_name=service, method=method, request=request,
                    request_id="t").SerializeToString()


T0 = 1700000000000000
APP = "fuzzapp"  # fuzz_api.c's app id
READS = {
    "all": log.LogReadRequest(app_id=APP, version_id=["1"], count=20),
    "versions": log.LogReadRequest(app_id=APP, version_id=["1", "2"], include_incomplete=True,
                                   include_app_logs=True, minimum_log_level=2),
    "window": log.LogReadRequest(app_id=APP, version_id=["1"], start_time=T0,
                                 end_time=T0 + 6000, count=3),
    "offset": log.LogReadRequest(app_id=APP, version_id=["1"],
                                 offset=log.LogOffset(request_id=b"0" * 20), count=2),
    "ids": log.LogReadRequest(app_id=APP, request_id=[b"00000000000000000001"],
                              include_app_logs=True),
    "module": log.LogReadRequest(app_id=APP, include_app_logs=True, module_version=[
        log.LogModuleVersion(module_id="default", version_id="1")]),
}
LINES = log.UserAppLogGroup(log_line=[
    log.UserAppLogLine(timestamp_usec=T0, level=1, message="hi"),
    log.UserAppLogLine(timestamp_usec=T0 + 1, level=4, message="bye"),
])
CALLS = {
    "stats": call("system", "GetSystemStats"),
    "background": call("system", "StartBackgroundRequest"),
    "flush": call("logservice", "Flush", log.FlushRequest(logs=LINES.SerializeToString())),
    "read": call("logservice", "Read", READS["versions"]),
    "status": call("logservice", "SetStatus", log.SetStatusRequest(status="ok")),
    "unknown": call("memcache", "Get", b"\x0a\x01k"),
}


def main(folder):
    os.makedirs(folder, exist_ok=True)
    for name, data in CALLS.items():
        with open(os.path.join(folder, "seed-call-" + name), "wb") as f:
            f.write(b"\x00" + data)
    for name, read in READS.items():
        with open(os.path.join(folder, "seed-read-" + name), "wb") as f:
            f.write(b"\x01" + read.SerializeToString())


if __name__ == "__main__":
    main(sys.argv[1])
