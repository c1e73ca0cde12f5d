# A CGI script that sleeps past its deadline.
import time

time.sleep(100)
print("Content-Type: text/plain")
print()
print("woke up")
