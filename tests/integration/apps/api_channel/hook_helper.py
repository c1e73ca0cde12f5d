"""A hook of another module than main's, for /hook_keys."""


def hook(service, call, request, response):
    pass
