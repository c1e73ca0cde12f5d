"""A cached CGI script: it defines main(), so the runtime executes this file
once per instance and then calls only main(); `count` keeps growing."""
import os

count = 0


def main():
    global count
    count += 1
    print("Content-Type: text/plain")
    print("")
    print("This instance (%s) has served this page %d time(s)."
          % (os.environ.get("INSTANCE_ID", "?"), count))


if __name__ == "__main__":
    main()
