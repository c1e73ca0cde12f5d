"""exit() and quit(), which the site module adds to builtins and App
Engine's runtime had. Instances start without site (its start-up costs a
cold start time), so the runtime adds them itself.

Unlike site's, they leave sys.stdin open: for a CGI script it is the
request body, which the runtime still owns.
"""
import builtins


class _Quitter:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "Use %s() to exit" % self.name

    def __call__(self, code=None):
        raise SystemExit(code)


def install():
    for name in ("exit", "quit"):
        if not hasattr(builtins, name):
            setattr(builtins, name, _Quitter(name))
