# Cached: defines main(), so later requests call only main().
import json
import os

count = 0
executions = globals().get("executions", 0) + 1


def main():
    global count
    count += 1
    print("Content-Type: application/json")
    print("")
    print(json.dumps({"count": count, "executions": executions,
                      "instance_id": os.environ["INSTANCE_ID"], "name": __name__,
                      "path_translated": os.environ.get("PATH_TRANSLATED")}))


if __name__ == "__main__":
    main()
