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


# the test apps are not test modules
collect_ignore = ["apps"]
