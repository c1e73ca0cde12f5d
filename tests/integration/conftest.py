"""pytest fixtures for the gaelic integration suite; helpers are in harness.py.

  serve(appdir, *flags)   function scope: starts
                          `GAELIC_BIN serve APPDIR --port 0 [flags]`, waits
                          (bounded) for the URL line and returns a Server
                          (.url .port .pid .stderr_text() .stop()); every
                          server is stopped at teardown even if the test fails.
  mserve(appdir, *flags)  the same, shared by one test module.
"""
import os
import signal

import pytest

from harness import GAELIC_BIN, ServerFactory


def _terminated(signum, frame):
    # `timeout` (scripts/run-tests.sh) sends SIGTERM: unwind like ^C so the
    # fixtures stop their servers instead of leaving them running.
    raise KeyboardInterrupt("SIGTERM")


def pytest_configure(config):
    signal.signal(signal.SIGTERM, _terminated)


def pytest_report_header(config):
    return "gaelic binary: %s%s" % (GAELIC_BIN, "" if os.path.exists(GAELIC_BIN) else " (missing)")


@pytest.fixture
def serve(tmp_path_factory):
    """serve(appdir, *flags) -> Server; stopped when the test ends."""
    f = ServerFactory(tmp_path_factory)
    yield f
    f.stop_all()


@pytest.fixture(scope="module")
def mserve(tmp_path_factory):
    """Like serve, but the servers live for the whole test module."""
    f = ServerFactory(tmp_path_factory)
    yield f
    f.stop_all()


# How much of each server's output a failure report shows: the tail, where
# the failure is, without drowning the report.
_REPORT_OUTPUT_CHARS = 6000


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report ends with the output of every server it used,
    in full, so that a failure seen only once (in CI) can still be read:
    assertion messages are cut short by pytest."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    factories = [v for v in getattr(item, "funcargs", {}).values() if isinstance(v, ServerFactory)]
    for f in factories:
        for s in f.servers:
            try:
                text = s.stderr_text()
            except OSError as e:
                text = "(unreadable: %s)" % e
            if len(text) > _REPORT_OUTPUT_CHARS:
                text = "[... %d earlier characters]\n%s" % (
                    len(text) - _REPORT_OUTPUT_CHARS, text[-_REPORT_OUTPUT_CHARS:])
            report.sections.append(("gaelic pid %s output (%s)" % (s.pid, s.logdir), text))


# the test apps are not test modules
collect_ignore = ["apps"]
