"""runtime.cpu_usage() and runtime.memory_usage() (API1, API2, API6).

Both ask the `system` service's GetSystemStats, which the master answers
from its own measurements of this instance's process: CPU time at the
instance class's clock in megacycles, resident memory in MB, sampled every
second into 1-minute and 10-minute windows.

Each figure reads both ways: as an attribute (`cpu_usage().total`, the
Python 3 SDK's message field) and as an accessor (`cpu_usage().total()`,
the Python 2.7 API); either way it is a float.
"""
from google.appengine.api import apiproxy_stub_map
from google.appengine.api.system import system_service_pb2


class Figure(float):
    """A float that also returns itself when called."""

    __slots__ = ()

    def __call__(self):
        return float(self)


class SystemStat:
    """One group of figures of GetSystemStatsResponse (cpu or memory)."""

    def __init__(self, stat, names):
        self._names = names
        for name in names:
            setattr(self, name, Figure(getattr(stat, name)))

    def __repr__(self):
        return "SystemStat(%s)" % ", ".join("%s=%r" % (n, float(getattr(self, n)))
                                           for n in self._names)


def _get_system_stats():
    request = system_service_pb2.GetSystemStatsRequest()
    response = system_service_pb2.GetSystemStatsResponse()
    apiproxy_stub_map.MakeSyncCall("system", "GetSystemStats", request, response)
    return response


def cpu_usage():
    """CPU of this instance in megacycles: total(), rate1m() and rate10m()
    (megacycles per second over the last minute and ten minutes)."""
    return SystemStat(_get_system_stats().cpu, ("total", "rate1m", "rate10m"))


def memory_usage():
    """Memory of this instance in MB: current(), average1m(), average10m()."""
    return SystemStat(_get_system_stats().memory, ("current", "average1m", "average10m"))
