"""The other Python 3 idiom for a chosen stdout encoding: the text layer
detached from sys.stdout and the binary buffer wrapped again (with
?codecs, by a codecs writer, as Python 3 CGI recipes wrote it)."""
import codecs
import io
import os
import sys

if os.environ["QUERY_STRING"] == "codecs":
    sys.stdout = codecs.getwriter("utf-8")(sys.stdout.detach())
else:
    sys.stdout = io.TextIOWrapper(sys.stdout.detach(), encoding="latin-1")
print("Content-Type: text/plain")
print("")
print("h\u00e9llo")
