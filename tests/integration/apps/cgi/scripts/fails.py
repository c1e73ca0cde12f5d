print("Content-Type: text/plain")
print("")
print("partial output")
raise RuntimeError("CGI-FAILURE-MARKER")
