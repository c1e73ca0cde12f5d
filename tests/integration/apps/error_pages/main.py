"""Ways for a request to end in a server-generated error: /app/exit and
/app/kill take the instance down mid-request; /app/raise raises,
/app/no_start_response returns without calling start_response;
/app/status?code=N answers N with the app's own body; /app/big?n=N
answers N bytes; /app/sleep?s=N holds the instance; /app/ok."""
import os
import signal
import time
import urllib.parse


def app(environ, start_response):
    path = environ["PATH_INFO"]
    q = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    if path == "/app/exit":
        os._exit(1)
    elif path == "/app/kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif path == "/app/raise":
        raise ValueError("the app failed")
    elif path == "/app/no_start_response":
        return [b"never sent"]
    elif path == "/app/status":
        code = int(q.get("code", "500"))
        start_response("%d App Said So" % code, [("Content-Type", "text/plain")])
        return [b"the app's own error body"]
    elif path == "/app/big":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [b"x" * int(q["n"])]
    elif path == "/app/sleep":
        time.sleep(float(q.get("s", "1")))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
