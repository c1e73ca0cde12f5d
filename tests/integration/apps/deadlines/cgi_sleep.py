# A CGI script that sleeps past its deadline; test_cgi_script serves it from
# a threadsafe: false copy of this app (App Engine had no CGI otherwise).
import time

time.sleep(100)
print("Content-Type: text/plain")
print()
print("woke up")
