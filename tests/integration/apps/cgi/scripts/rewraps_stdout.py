"""The Python 3 idiom for a UTF-8 stdout whatever the locale: sys.stdout
replaced by a buffered text wrapper of its binary buffer, never flushed
by the script (the interpreter's exit would); with ?close, closed by it
at its end, which flushes it and ends the output."""
import io
import os
import sys

sys.stdout = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8")
print("Content-Type: text/plain; charset=utf-8")
print("")
print("h\u00e9llo")
if os.environ["QUERY_STRING"] == "close":
    sys.stdout.close()
