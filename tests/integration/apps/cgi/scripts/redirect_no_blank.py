print("Status: 301")
print("Location: /counter")
