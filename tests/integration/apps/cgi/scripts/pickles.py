# Pickles an instance of a class the script defines, as an app storing it
# in memcache does: pickle finds the class through sys.modules["__main__"].
import json
import pickle


class Point(object):
    def __init__(self, x):
        self.x = x


def main():
    import __main__
    print("Content-Type: application/json")
    print("")
    print(json.dumps({"x": pickle.loads(pickle.dumps(Point(3))).x,
                      "main_is_script": __main__.main is main}))


if __name__ == "__main__":
    main()
