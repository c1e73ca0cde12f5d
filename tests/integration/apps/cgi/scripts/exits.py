import sys

print("Content-Type: text/plain")
print("")
print("bye")
sys.exit(0)
