"""Shared per instance (RT4) by scripts/slow.py and main.background: whether
a CGI request is printing, and how often a background thread printed then."""
cgi_running = 0
printed_during_cgi = 0
