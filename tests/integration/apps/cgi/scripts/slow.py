# Prints its token around a pause, and from a thread it starts. A background
# thread printing meanwhile (main.background) must not land in the response.
import os
import threading
import time

import beside

token = os.environ["QUERY_STRING"]
print("Content-Type: text/plain")
print("")
beside.cgi_running += 1
try:
    for i in range(5):
        print("%s-%d" % (token, i))
        time.sleep(0.1)
finally:
    beside.cgi_running -= 1


def child():
    print("%s-thread" % token)


t = threading.Thread(target=child)
t.start()
t.join()
