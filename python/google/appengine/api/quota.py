"""CPU quota figures (API5).

App Engine counts CPU in megacycles. Quota "CPU seconds" are seconds of its
1.2 GHz reference processor: 1 CPU second = 1200 megacycles, whatever the
instance class. The megacycles themselves are CPU time at the instance
class's clock (600 MHz for the default F1, a backend's class clock), as in
cpu_usage() and the request log.
"""
import threading

import _gaelic
from google.appengine.runtime import request_state

_MCYCLES_PER_CPU_SECOND = 1200.0


def megacycles_to_cpu_seconds(mcycles):
    """Megacycles as reference CPU seconds (a float)."""
    return mcycles / _MCYCLES_PER_CPU_SECOND


def cpu_seconds_to_megacycles(cpu_secs):
    """Reference CPU seconds as megacycles (an int)."""
    return int(cpu_secs * _MCYCLES_PER_CPU_SECOND)


def get_request_cpu_usage():
    """Megacycles the current request has used so far (the CPU time of the
    thread serving it at the instance's clock; the request log records the
    same measure when the request ends), from any of the request's threads.
    Outside a request: the calling thread's own."""
    current = request_state.current()
    if (current is not None and current.cpu_origin is not None
            and current.thread_id != threading.get_ident()
            and current in (request_state.running.get(current.thread_id),
                            request_state.background.get(current.thread_id))):
        # Another thread of the request: its worker's (or background
        # thread's) clock is readable while the request runs there.
        clock, mark = current.cpu_origin
        cpu_ns = _gaelic.thread_clock_ns(clock) - mark
    else:
        cpu_ns = _gaelic.request_cpu_ns()
    return int(cpu_ns * _gaelic.cpu_mhz // 1000000000)


def get_request_api_cpu_usage():
    """Megacycles the current request's API calls have used so far: the
    master's CPU time answering them, at the 1.2 GHz reference clock. 0
    outside a request."""
    current = request_state.current()
    if current is None:
        return 0
    return int(current.api_cpu_us * _MCYCLES_PER_CPU_SECOND // 1000000)
