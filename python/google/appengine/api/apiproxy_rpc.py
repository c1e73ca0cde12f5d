"""The RPC object behind every API call (apiproxy_stub_map.UserRPC uses it).

A stub's CreateRPC() returns one. MakeCall starts the call
(_MakeCallImpl: the channel's RPC sends it at once, runtime/apiproxy.py);
Wait() finishes it (_Call; by default the whole call is made there, through
the stub's MakeSyncCall) and then runs the callback; CheckSuccess() raises
what the call raised. _WaitAny(rpcs), when a subclass has it, blocks until
one of its running RPCs is done and returns its index.
"""
import sys


class RPC:
    IDLE = 0
    RUNNING = 1
    FINISHING = 2

    def __init__(self, package=None, call=None, request=None, response=None, callback=None,
                 deadline=None, stub=None):
        self.package = package
        self.call = call
        self.request = request
        self.response = response
        self.callback = callback
        self.deadline = deadline
        self.stub = stub
        self.cpu_usage_mcycles = 0
        self._state = RPC.IDLE
        self._exception = None
        self._traceback = None

    def Clone(self):
        """A new IDLE RPC with the same stub, deadline and callback."""
        return type(self)(self.package, self.call, self.request, self.response, self.callback,
                          self.deadline, self.stub)

    def MakeCall(self, package=None, call=None, request=None, response=None, callback=None,
                 deadline=None):
        if self._state != RPC.IDLE:
            raise AssertionError("MakeCall on an RPC that is not IDLE (state %d)" % self._state)
        for name, value in (("package", package), ("call", call), ("request", request),
                            ("response", response), ("callback", callback),
                            ("deadline", deadline)):
            if value is not None:
                setattr(self, name, value)
        self._state = RPC.RUNNING
        self._MakeCallImpl()

    def Wait(self):
        if self._state == RPC.IDLE:
            raise AssertionError("Wait on an RPC that has not been made (MakeCall)")
        if self._state == RPC.RUNNING:
            self._WaitImpl()
        return True

    def CheckSuccess(self):
        if self._state == RPC.RUNNING:
            raise AssertionError("CheckSuccess before the call finished; call Wait() first")
        if self._exception is not None:
            raise self._exception.with_traceback(self._traceback)

    @property
    def exception(self):
        return self._exception

    @property
    def state(self):
        return self._state

    _WaitAny = None

    def _MakeCallImpl(self):
        pass

    def _Call(self):
        self.stub.MakeSyncCall(self.package, self.call, self.request, self.response)

    def _WaitImpl(self):
        try:
            self._Call()
        except Exception:
            _, self._exception, self._traceback = sys.exc_info()
        finally:
            self._state = RPC.FINISHING
            if self.callback is not None:
                self.callback()
