# No main(): the whole file runs on every request.
import json
import os
import sys

import runs

runs.n += 1
runs.codes.append(sys._getframe().f_code)
count = globals().get("count", 0) + 1  # always 1: the globals are fresh
print("Content-Type: application/json")
print("")
print(json.dumps({"runs": runs.n, "count": count, "name": __name__,
                  "instance_id": os.environ["INSTANCE_ID"],
                  "query": os.environ.get("QUERY_STRING", ""),
                  "path_translated": os.environ.get("PATH_TRANSLATED"),
                  "same_code": runs.codes[-1] is runs.codes[0]}))
