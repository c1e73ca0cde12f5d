print("Content-Type: text/plain")
print("this is not a header")
print("")
print("body")
