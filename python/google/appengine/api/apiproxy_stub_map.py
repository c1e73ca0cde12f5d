"""Where API calls go: a map from service name to the stub that answers it.

`apiproxy` is the instance's map. Its default stub sends every call through
the instance's channel to the master (google.appengine.runtime.apiproxy);
tests and apps may register their own stubs for single services.

    from google.appengine.api import apiproxy_stub_map
    apiproxy_stub_map.MakeSyncCall("system", "GetSystemStats", request, response)
    apiproxy_stub_map.apiproxy.CancelApiCalls()
"""
from google.appengine.runtime import apiproxy as _channel


def _argcount(function):
    code = getattr(function, "__code__", None)
    if code is None:
        code = getattr(getattr(function, "__call__", None), "__code__", None)
        return code.co_argcount - 1 if code is not None else 4
    count = code.co_argcount
    return count - 1 if hasattr(function, "__self__") else count


class ListOfHooks:
    """Functions called before or after each call: hook(service, call,
    request, response), with (rpc) and (rpc, error) too when the hook takes
    five or six arguments."""

    def __init__(self):
        self.__content = []
        self.__keys = set()

    def __len__(self):
        return len(self.__content)

    def __insert(self, index, key, function, service):
        if not callable(function):
            # Refused here, as the SDK refused it: once in the list it
            # would fail every later call of its service.
            raise TypeError("a hook must be callable, not %s" % type(function).__name__)
        # As in the SDK, a key is unique within the hook's module, whatever
        # service it is for: libraries need not know each other's keys.
        unique = (key, getattr(function, "__module__", None))
        if unique in self.__keys:
            return False
        self.__keys.add(unique)
        self.__content.insert(index, (key, function, service, _argcount(function)))
        return True

    def Append(self, key, function, service=None):
        """Adds function last; False when its module already added key."""
        return self.__insert(len(self), key, function, service)

    def Push(self, key, function, service=None):
        """Adds function first; False when its module already added key."""
        return self.__insert(0, key, function, service)

    def Clear(self):
        self.__content = []
        self.__keys = set()

    def Call(self, service, call, request, response, rpc=None, error=None):
        """Runs the hooks for service. After a failed call (error set) only
        the hooks that take the error run, as in the SDK."""
        for _, function, only, argcount in self.__content:
            if only is not None and only != service:
                continue
            if argcount >= 6:
                function(service, call, request, response, rpc, error)
            elif error is not None:
                continue
            elif argcount == 5:
                function(service, call, request, response, rpc)
            else:
                function(service, call, request, response)


class APIProxyStubMap:
    def __init__(self, default_stub=None):
        self.__stubs = {}
        self.__default_stub = default_stub
        self.__precall_hooks = ListOfHooks()
        self.__postcall_hooks = ListOfHooks()

    def SetDefaultStub(self, stub):
        self.__default_stub = stub

    def GetDefaultStub(self):
        return self.__default_stub

    def RegisterStub(self, service, stub):
        if service in self.__stubs:
            raise AssertionError("a stub is already registered for service %r" % service)
        self.__stubs[service] = stub

    def ReplaceStub(self, service, stub):
        self.__stubs[service] = stub

    def GetStub(self, service):
        return self.__stubs.get(service, self.__default_stub)

    def GetPreCallHooks(self):
        return self.__precall_hooks

    def GetPostCallHooks(self):
        return self.__postcall_hooks

    def MakeSyncCall(self, service, call, request, response):
        """Makes the call through an RPC of the stub when it has CreateRPC
        (the hooks then get the RPC), else through the stub's MakeSyncCall;
        returns what that returned (a stub may return its response instead
        of filling the one given)."""
        stub = self.GetStub(service)
        if stub is None:
            raise AssertionError("no stub for service %r" % service)
        if hasattr(stub, "CreateRPC"):
            rpc = stub.CreateRPC()
            self.__precall_hooks.Call(service, call, request, response, rpc)
            try:
                rpc.MakeCall(service, call, request, response)
                rpc.Wait()
                rpc.CheckSuccess()
            except Exception as e:
                self.__postcall_hooks.Call(service, call, request, response, rpc, e)
                raise
            self.__postcall_hooks.Call(service, call, request, response, rpc)
            return None
        self.__precall_hooks.Call(service, call, request, response)
        try:
            returned = stub.MakeSyncCall(service, call, request, response)
        except Exception as e:
            self.__postcall_hooks.Call(service, call, request, response, None, e)
            raise
        self.__postcall_hooks.Call(service, call, request, returned or response)
        return returned

    def CancelApiCalls(self):
        """API4: pending and later calls of this instance raise
        apiproxy_errors.CancelledError."""
        cancel = getattr(self.__default_stub, "CancelApiCalls", None)
        if cancel is not None:
            cancel()


def GetDefaultAPIProxy():
    return APIProxyStubMap(_channel.ChannelStub())


apiproxy = GetDefaultAPIProxy()


def MakeSyncCall(service, call, request, response, stubmap=None):
    """Makes one call and fills response, or raises an apiproxy_errors
    exception."""
    return (stubmap or apiproxy).MakeSyncCall(service, call, request, response)


def CreateRPC(service, stubmap=None):
    """A new RPC object from the stub of service."""
    stub = (stubmap or apiproxy).GetStub(service)
    if stub is None:
        raise AssertionError("no stub for service %r" % service)
    if not hasattr(stub, "CreateRPC"):
        raise AssertionError("the stub for service %r cannot make RPC objects" % service)
    return stub.CreateRPC()


class UserRPC:
    """One API call as the service modules make it: make_call, then wait /
    check_success / get_result (which runs get_result_hook)."""

    IDLE, RUNNING, FINISHING = 0, 1, 2

    def __init__(self, service, deadline=None, callback=None, stubmap=None):
        self.__stubmap = stubmap or apiproxy
        self.__service = service
        self.__rpc = CreateRPC(service, self.__stubmap)
        self.__rpc.deadline = deadline
        self.__rpc.callback = self.__internal_callback
        self.callback = callback
        self.__method = None
        self.__get_result_hook = None
        self.__user_data = None
        self.__postcall_done = False

    def __internal_callback(self):
        self.__call_postcall_hooks()
        if self.callback is not None:
            self.callback()

    def __call_postcall_hooks(self):
        if self.__postcall_done:
            return
        self.__postcall_done = True
        self.__stubmap.GetPostCallHooks().Call(self.__service, self.__method, self.request,
                                               self.response, self.__rpc,
                                               self.__rpc.exception)

    service = property(lambda self: self.__service)
    method = property(lambda self: self.__method)
    deadline = property(lambda self: self.__rpc.deadline)
    request = property(lambda self: self.__rpc.request)
    response = property(lambda self: self.__rpc.response)
    state = property(lambda self: self.__rpc.state)
    get_result_hook = property(lambda self: self.__get_result_hook)
    user_data = property(lambda self: self.__user_data)

    def make_call(self, method, request, response, get_result_hook=None, user_data=None):
        if self.__method is not None:
            raise AssertionError("make_call may be called only once")
        self.__method = method
        self.__get_result_hook = get_result_hook
        self.__user_data = user_data
        self.__stubmap.GetPreCallHooks().Call(self.__service, method, request, response,
                                              self.__rpc)
        self.__rpc.MakeCall(self.__service, method, request, response)

    def wait(self):
        if self.state == self.IDLE:
            raise AssertionError("the call to %s has not been made (make_call)"
                                 % self.__service)
        self.__rpc.Wait()

    def check_success(self):
        self.wait()
        self.__rpc.CheckSuccess()

    def get_result(self):
        if self.__get_result_hook is None:
            self.check_success()
            return None
        return self.__get_result_hook(self)

    @classmethod
    def wait_any(cls, rpcs):
        """Waits for the first of rpcs to finish and returns it, or None
        when none was made. Calls of a stub that cannot wait for several at
        once are taken in order."""
        rpcs = list(rpcs)
        for rpc in rpcs:
            if rpc.state == cls.FINISHING:
                return rpc
        running = [rpc for rpc in rpcs if rpc.state == cls.RUNNING]
        if not running:
            return None
        inner = [rpc.__rpc for rpc in running]
        wait_any = type(inner[0])._WaitAny
        first = running[0]
        if wait_any is not None and all(type(r) is type(inner[0]) for r in inner):
            first = running[wait_any(inner)]
        first.wait()
        return first

    @classmethod
    def wait_all(cls, rpcs):
        for rpc in list(rpcs):
            rpc.wait()
