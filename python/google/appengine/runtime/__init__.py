"""The request runtime of a gaelic instance.

Apps import DeadlineExceededError from here, as on App Engine. The request
loop itself lives in google.appengine.runtime.dispatch, which the zygote
loads before any app code.
"""


class DeadlineExceededError(BaseException):
    """Raised in a request's thread when it runs past its deadline (RT7).

    A BaseException so that handlers' broad `except Exception:` clauses do
    not swallow it by accident; a handler may still catch it explicitly and
    answer quickly.
    """

    def __str__(self):
        # The runtime raises the bare class: without a default, str() and
        # the last line of a logged traceback would be empty.
        return super().__str__() or "the request ran past its deadline"
