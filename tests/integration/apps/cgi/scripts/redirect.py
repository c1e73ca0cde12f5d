print("Location: /counter")
print("")
