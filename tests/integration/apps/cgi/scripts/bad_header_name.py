print("X(y): 1")
print("")
print("the script's body")
