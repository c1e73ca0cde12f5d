import sys

sys.stdout.write("X-Only: yes\r\n\r\n")
