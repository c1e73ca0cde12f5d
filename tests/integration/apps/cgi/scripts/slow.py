# Prints its token around a pause, so concurrent requests would interleave
# if stdout were shared.
import os
import threading
import time

token = os.environ["QUERY_STRING"]
print("Content-Type: text/plain")
print("")
for i in range(5):
    print("%s-%d" % (token, i))
    time.sleep(0.1)


def child():
    print("%s-thread" % token)


t = threading.Thread(target=child)
t.start()
t.join()
