# exit() and quit(), the site module's builtins, end the script as sys.exit
# does; the query names which one (and so what they print).
import os

which = os.environ.get("QUERY_STRING") or "exit"
print("Content-Type: text/plain")
print("")
print(repr(exit if which == "exit" else quit))
(exit if which == "exit" else quit)(0)
print("not reached")
