"""The default API stub: every service through the instance's channel to
the master (instance/api_call.h), which runs the services in its event loop.

Calls carry the number of the request the calling thread works for, so the
master knows which request a call belongs to; the master's CPU time per call
is added up per request (quota.get_request_api_cpu_usage).
"""
import sys

import _gaelic
from google.appengine.api import apiproxy_rpc
from google.appengine.runtime import apiproxy_errors, request_state

_OK, _APPLICATION_ERROR = 0, 1


def _start(service, method, request, deadline):
    """Sends one call at once: (its request's state, the _gaelic.ApiCall)."""
    if not isinstance(service, str) or not isinstance(method, str):
        raise TypeError("service and method must be str")
    payload = request.SerializeToString()
    current = request_state.current()
    return current, _gaelic.api_start(current.id if current else 0, service, method, payload,
                                      deadline)


def _finish(service, method, current, result, response):
    """Fills response from a call's result or raises what it failed with."""
    kind, code, data, cpu_us = result
    if current is not None:
        current.api_cpu_us += cpu_us
    if kind == _OK:
        if response is not None:
            response.ParseFromString(data)
        return
    if kind == _APPLICATION_ERROR:
        raise apiproxy_errors.ApplicationError(code, data)
    raise apiproxy_errors.rpc_error(code, service, method, data)


def make_call(service, method, request, response, deadline=None):
    """Makes one call; fills response (anything with ParseFromString) or
    raises an apiproxy_errors exception."""
    current, call = _start(service, method, request, deadline)
    _finish(service, method, current, call.wait(), response)


class ChannelRPC(apiproxy_rpc.RPC):
    """As in App Engine, MakeCall sends the call and it runs while the app
    goes on; Wait takes its answer."""

    _started = None
    _start_error = None

    def _MakeCallImpl(self):
        try:
            self._started = _start(self.package, self.call, self.request, self.deadline)
        except Exception as e:
            self._start_error = e  # raised by Wait, as a failed call's would be

    def _Call(self):
        if self._start_error is not None:
            raise self._start_error
        current, call = self._started
        _finish(self.package, self.call, current, call.wait(), self.response)

    def _WaitImpl(self):
        """As App Engine's runtime RPC: an exception that is no Exception
        (the request's DeadlineExceededError, a shutdown hook's
        KeyboardInterrupt) interrupts the wait and propagates with the call
        still running, no callback run: a later Wait takes the call's own
        outcome. Marked finished, the call would read as a success with an
        empty response."""
        try:
            self._Call()
        except Exception:
            _, self._exception, self._traceback = sys.exc_info()
        self._state = apiproxy_rpc.RPC.FINISHING
        if self.callback is not None:
            self.callback()

    @staticmethod
    def _WaitAny(rpcs):
        """The index of the first of rpcs (running ChannelRPCs) whose call
        needs no more waiting."""
        calls = []
        for i, rpc in enumerate(rpcs):
            if rpc._started is None:
                return i  # it failed to start: its Wait raises at once
            calls.append(rpc._started[1])
        return _gaelic.api_wait_any(calls)


class ChannelStub:
    """Answers every service through the channel."""

    def MakeSyncCall(self, service, call, request, response):
        make_call(service, call, request, response)

    def CreateRPC(self):
        return ChannelRPC(stub=self)

    def CancelApiCalls(self):
        """API4: waiting and later calls of this instance raise
        CancelledError."""
        _gaelic.api_cancel_all()


def CancelApiCalls():
    _gaelic.api_cancel_all()
