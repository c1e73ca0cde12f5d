"""The zygote's bytecode writer (python/google/appengine/runtime/bytecode.py)
on its own, in Debian's Python 3.11: what it leaves in __pycache__ must
never pass for a source it did not compile. The whole path, through the
server, is in test_caching and test_automatic_restart."""
import os
import subprocess
import time

from harness import REPO

PYTHON = "/usr/bin/python3.11"
WRITER = os.path.join(REPO, "python", "google", "appengine", "runtime", "bytecode.py")

# Loads the writer (with a _gaelic that hides nothing) and runs its
# _compile on argv[1], after the test's own set-up lines.
RUN_WRITER = r"""
import importlib.machinery, importlib.util, sys, types
sys.modules["_gaelic"] = types.SimpleNamespace(why_hidden=lambda rel: None)
spec = importlib.util.spec_from_file_location("gaelic_bytecode", sys.argv[2])
writer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(writer)
source = sys.argv[1]
%s
writer._compile(source)
"""

# CPython's compiler patched to save the source again (same size) right
# after it compiled what it read: an editor's second save while the
# writer, at idle priority, compiled.
EDIT_AFTER_COMPILING = r"""
compile_source = importlib.machinery.SourceFileLoader.source_to_code


def edit_after_compiling(self, data, path, *args, **kwargs):
    code = compile_source(self, data, path, *args, **kwargs)
    if path == source:
        with open(source, "w") as f:
            f.write("X = 'two'\n")
    return code


importlib.machinery.SourceFileLoader.source_to_code = edit_after_compiling
"""


def settled_source(app):
    source = os.path.join(app, "mod.py")
    with open(source, "w") as f:
        f.write("X = 'one'\n")
    past = time.time() - 10  # the writer need not wait for its second to pass
    os.utime(source, (past, past))
    return source


def run_writer(source, setup=""):
    r = subprocess.run([PYTHON, "-c", RUN_WRITER % setup, source, WRITER],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def imported_value(app):
    """mod.X as CPython imports it, bytecode included (-B: none written)."""
    r = subprocess.run([PYTHON, "-B", "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                        "import mod; print(mod.X)", app],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_a_settled_source_gets_its_bytecode(tmp_path):
    source = settled_source(str(tmp_path))
    run_writer(source)
    assert os.path.exists(os.path.join(str(tmp_path), "__pycache__", "mod.cpython-311.pyc"))
    assert imported_value(str(tmp_path)) == "one"


def test_a_source_saved_again_while_compiled_gets_no_stale_bytecode(tmp_path):
    # CPython stamps the bytecode with the source's mtime and size as they
    # are after compiling: the old code under the new source's stamp would
    # pass for it.
    source = settled_source(str(tmp_path))
    run_writer(source, EDIT_AFTER_COMPILING)
    with open(source) as f:
        assert f.read() == "X = 'two'\n"
    assert imported_value(str(tmp_path)) == "two"
