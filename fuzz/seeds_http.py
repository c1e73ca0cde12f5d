"""Writes fuzz_http's seed inputs into the folder given: requests to each
handler of fuzz/static_app with the headers its answers depend on (Range,
If-Range, the conditional requests, Accept-Encoding, X-Forwarded-Proto,
the sign-in cookie) and the sign-in pages' forms, so that the fuzzer
starts from requests that reach those paths. The first byte of an input
sets the size of its reads (fuzz_http.c): 0 feeds it a byte at a time,
16 in 17-byte reads."""
import os
import sys

GZ = "Accept-Encoding: gzip\r\nUser-Agent: gzip\r\n"
COOKIE = 'Cookie: dev_appserver_login="a@b.c:True:123"\r\n'
REQUESTS = [
    "GET /s/page.html HTTP/1.1\r\nHost: a\r\n" + GZ + "\r\n",
    "HEAD /s/page.html HTTP/1.1\r\nHost: a\r\n" + GZ + "If-None-Match: W/\"x\", *\r\n\r\n",
    "GET /s/page.html HTTP/1.1\r\nHost: a\r\nRange: bytes=10-20\r\n\r\n",
    "GET /s/page.html HTTP/1.1\r\nHost: a\r\nRange: bytes=-5\r\nIf-Range: \"x\"\r\n\r\n",
    "GET /s/empty.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=0-\r\n\r\n",
    "GET /s/sub/b.txt HTTP/1.1\r\nHost: a\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
    "If-Unmodified-Since: Sunday, 06-Nov-94 08:49:37 GMT\r\n\r\n",
    "GET /tagged/page.html HTTP/1.1\r\nHost: a\r\nIf-Range: Tue, 01 Jan 2030 00:00:00 GMT\r\n"
    "Range: bytes=1-2\r\n" + GZ + "\r\n",
    "PUT /tagged/sub/b.txt HTTP/1.1\r\nHost: a\r\nIf-Match: \"fixed-1\"\r\nContent-Length: 0\r\n\r\n",
    "GET /typed/page.html?q HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /typed/sub/../x.txt HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /secure/page.html?x=1 HTTP/1.1\r\nHost: a:80\r\n\r\n",
    "POST /never/page.html HTTP/1.1\r\nHost: [::1]:8\r\nX-Forwarded-Proto: http, https\r\n"
    "Content-Length: 0\r\n\r\n",
    "GET /admin/page.html HTTP/1.1\r\nHost: a\r\n" + COOKIE + "\r\n",
    "GET /members/x%C3%A9?y HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /_ah/login?continue=http://a/x&action=Login&email=a@b.c&admin=True HTTP/1.1\r\n"
    "Host: a\r\n\r\n",
    "POST /_ah/login HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    "Content-Length: 33\r\n\r\naction=Logout&continue=%2Fs%2Fa+b",
    "GET /_ah/logout HTTP/1.1\r\nHost: a\r\n" + COOKIE + "\r\n",
    "GET /s/./a/../page.html?%ff HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET http://b:9/s/old.bak HTTP/1.1\r\nHost: a\r\n\r\n",
    # Connection options naming fields around others, for cgi_env's drop.
    "GET /app HTTP/1.1\r\nHost: a\r\nConnection: x-b, , a\r\nA: 1\r\nX-B: 2\r\nX-C: 3\r\n"
    "Connection: x-b\r\nX-B: 4\r\nB: 5\r\n\r\n",
]


def main(folder):
    os.makedirs(folder, exist_ok=True)
    for i, req in enumerate(REQUESTS):
        for step in (0, 16):
            with open(os.path.join(folder, "seed-static-%d-%d" % (i, step)), "wb") as f:
                f.write(bytes([step]) + req.encode("latin-1"))


if __name__ == "__main__":
    main(sys.argv[1])
