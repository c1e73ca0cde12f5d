"""Exceptions of App Engine API calls (API-MESSAGES.md section 5).

Every class derives from Error. An infrastructure failure arrives as a
remote_api RpcError and becomes one of the classes in RPC_ERRORS; a
service's own failure arrives as an ApplicationError with the service's
error code.
"""


class Error(Exception):
    """Base class of every API call exception."""


class RPCFailedError(Error):
    """The call could not be made or answered (and any RpcError code
    without a class of its own)."""


class CallNotFoundError(Error):
    """The service or method does not exist."""


class ArgumentError(Error):
    """The service could not parse the request."""


class DeadlineExceededError(Error):
    """The call did not finish within its deadline. (Not the request
    deadline's google.appengine.runtime.DeadlineExceededError.)"""


class CancelledError(Error):
    """The call was cancelled (CancelApiCalls)."""


class ApplicationError(Error):
    """The service refused the call: application_error is its error code,
    error_detail says why."""

    def __init__(self, application_error, error_detail=""):
        super().__init__(application_error)
        self.application_error = application_error
        self.error_detail = error_detail

    def __str__(self):
        return "ApplicationError: %s %s" % (self.application_error, self.error_detail)


class OverQuotaError(Error):
    """The call needs more quota than is left."""


class RequestTooLargeError(Error):
    """The request is too large for the service."""


class ResponseTooLargeError(Error):
    """The answer is too large to return."""


class CapabilityDisabledError(Error):
    """The service is temporarily disabled."""


class FeatureNotEnabledError(Error):
    """The service needs a feature the app has not enabled."""


class InterruptedError(Error):
    """Waiting for a call was interrupted by an exception from a callback."""

    def __init__(self, exception, rpc):
        super().__init__("The Wait() request was interrupted by an exception from another "
                         "callback: %s" % (exception,))
        self.__exception = exception
        self.__rpc = rpc

    @property
    def rpc(self):
        return self.__rpc

    @property
    def exception(self):
        return self.__exception


class RpcAuthorityError(Error):
    """The RPC authority could not be loaded from the environment."""


# RpcError code -> (class, message); "%s.%s" is service.method.
RPC_ERRORS = {
    0: (RPCFailedError, "The remote RPC to the application server failed for call %s.%s()."),
    1: (CallNotFoundError, "The API package '%s' or call '%s()' was not found."),
    2: (ArgumentError, "There was an error parsing arguments for API call %s.%s()."),
    4: (OverQuotaError, "The API call %s.%s() required more quota than is available."),
    5: (RequestTooLargeError, "The request to API call %s.%s() was too large."),
    6: (CapabilityDisabledError, "The API call %s.%s() is temporarily disabled."),
    7: (FeatureNotEnabledError, "The API call %s.%s() is currently not enabled."),
    9: (ResponseTooLargeError, "The response from API call %s.%s() was too large."),
    10: (CancelledError, "The API call %s.%s() was explicitly cancelled."),
    12: (DeadlineExceededError,
         "The API call %s.%s() took too long to respond and was cancelled."),
}


def rpc_error(code, service, method, detail=""):
    """The exception for an RpcError code of a call to service.method."""
    cls, template = RPC_ERRORS.get(code, RPC_ERRORS[0])
    message = template % (service, method)
    if detail:
        message += " -- Additional details from server: " + detail
    return cls(message)
