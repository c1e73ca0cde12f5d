print("Hello, plain output")
print("second: line")
