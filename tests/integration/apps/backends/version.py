# test_backends.py rewrites this to check that `update` loads new code.
VERSION = "one"
