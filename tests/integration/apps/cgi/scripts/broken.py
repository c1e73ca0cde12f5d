import no_such_module_for_gaelic_cgi  # noqa: F401

print("Content-Type: text/plain")
print("")
