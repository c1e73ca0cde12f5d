"""The default API stub: every service through the instance's channel to
the master (instance/api_call.h), which runs the services in its event loop.

Calls carry the number of the request the calling thread works for, so the
master knows which request a call belongs to; the master's CPU time per call
is added up per request (quota.get_request_api_cpu_usage).
"""
import _gaelic
from google.appengine.api import apiproxy_rpc
from google.appengine.runtime import apiproxy_errors, request_state

_OK, _APPLICATION_ERROR = 0, 1


def make_call(service, method, request, response, deadline=None):
    """Makes one call; fills response (anything with ParseFromString) or
    raises an apiproxy_errors exception."""
    if not isinstance(service, str) or not isinstance(method, str):
        raise TypeError("service and method must be str")
    payload = request.SerializeToString()
    current = request_state.current()
    kind, code, data, cpu_us = _gaelic.api_call(current.id if current else 0, service, method,
                                                payload, deadline)
    if current is not None:
        current.api_cpu_us += cpu_us
    if kind == _OK:
        if response is not None:
            response.ParseFromString(data)
        return
    if kind == _APPLICATION_ERROR:
        raise apiproxy_errors.ApplicationError(code, data)
    raise apiproxy_errors.rpc_error(code, service, method, data)


class ChannelRPC(apiproxy_rpc.RPC):
    def _Call(self):
        make_call(self.package, self.call, self.request, self.response, self.deadline)


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
